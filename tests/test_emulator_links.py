"""Linking contacts to existing leads: /leads/link and /unlink as Kommo documents them, and an
update's _embedded.contacts ignored or refused (the two readings of Kommo's silence)."""

import pytest

from kommo_api.testing import KommoEmulator

LEADS = "/api/v4/leads"


def contact_ids(emu, lead_id):
    with emu.store.lock:
        return list(emu.store.lead_contacts.get(lead_id, []))


@pytest.fixture
def linked(emulator):
    first = emulator.add_contact("Ana", phones=["+5511911110001"])
    second = emulator.add_contact("Bia", phones=["+5511911110002"])
    lead = emulator.add_lead("Order 1", contact_ids=[first["id"]])
    return lead, first, second


def test_a_batch_link_adds_the_contact_and_answers_the_links(emulator, emulator_api, linked):
    lead, first, second = linked
    item = {"entity_id": lead["id"], "to_entity_id": second["id"], "to_entity_type": "contacts"}

    answer = emulator_api.post(f"{LEADS}/link", json=[item])

    assert answer.status_code == 200, answer.text
    (link,) = answer.json()["_embedded"]["links"]
    assert (link["entity_id"], link["to_entity_id"]) == (lead["id"], second["id"])
    assert link["metadata"] == {"main_contact": False}
    assert contact_ids(emulator, lead["id"]) == [first["id"], second["id"]]


def test_a_link_marked_main_makes_the_contact_the_leads_main_contact(
    emulator, emulator_api, linked
):
    lead, first, second = linked
    item = {"entity_id": lead["id"], "to_entity_id": second["id"], "to_entity_type": "contacts",
            "metadata": {"is_main": True}}  # fmt: skip

    emulator_api.post(f"{LEADS}/link", json=[item])
    read = emulator_api.get(f"{LEADS}/{lead['id']}", params={"with": "contacts"}).json()

    assert [(c["id"], c["is_main"]) for c in read["_embedded"]["contacts"]] == [
        (second["id"], True),
        (first["id"], False),
    ]


def test_linking_touches_the_lead_and_linking_again_does_not(emulator, emulator_api, linked):
    lead, _first, second = linked
    item = {"to_entity_id": second["id"], "to_entity_type": "contacts"}
    emulator.clock.advance(60)
    emulator_api.post(f"{LEADS}/{lead['id']}/link", json=[item])
    linked_at = emulator.store.leads[lead["id"]]["updated_at"]

    emulator.clock.advance(60)
    emulator_api.post(f"{LEADS}/{lead['id']}/link", json=[item])

    assert linked_at >= lead["updated_at"] + 60
    assert emulator.store.leads[lead["id"]]["updated_at"] == linked_at


def test_unlink_answers_204_and_removes_the_link(emulator, emulator_api, linked):
    lead, first, _second = linked
    item = {"entity_id": lead["id"], "to_entity_id": first["id"], "to_entity_type": "contacts"}

    answer = emulator_api.post(f"{LEADS}/unlink", json=[item])

    assert (answer.status_code, answer.content) == (204, b"")
    assert contact_ids(emulator, lead["id"]) == []
    assert emulator_api.get(f"{LEADS}/{lead['id']}/links").status_code == 204


def test_a_company_is_linked_and_listed_with_the_contacts(emulator, emulator_api, linked):
    lead, first, _second = linked
    with emulator.store.lock:
        emulator.store.companies[30000099] = {"id": 30000099, "name": "Oficina"}
    company = {"to_entity_id": 30000099, "to_entity_type": "companies"}

    emulator_api.post(f"{LEADS}/{lead['id']}/link", json=[company])
    links = emulator_api.get(f"{LEADS}/{lead['id']}/links").json()["_embedded"]["links"]
    emulator_api.post(f"{LEADS}/{lead['id']}/unlink", json=[company])

    assert [(link["to_entity_type"], link["to_entity_id"]) for link in links] == [
        ("contacts", first["id"]),
        ("companies", 30000099),
    ]
    assert emulator.store.leads[lead["id"]].get("_company_id") is None


def test_a_batch_with_one_bad_link_links_nothing(emulator, emulator_api, linked):
    lead, first, second = linked
    good = {"entity_id": lead["id"], "to_entity_id": second["id"], "to_entity_type": "contacts"}
    bad = [
        {"to_entity_id": second["id"], "to_entity_type": "contacts"},
        {"entity_id": 1, "to_entity_id": second["id"], "to_entity_type": "contacts"},
        {"entity_id": lead["id"], "to_entity_id": lead["id"], "to_entity_type": "contacts"},
        {"entity_id": lead["id"], "to_entity_id": second["id"], "to_entity_type": "tasks"},
        {"entity_id": lead["id"], "to_entity_id": second["id"], "to_entity_type": "contacts",
         "metadata": "main"},
        "not an object",
    ]  # fmt: skip

    answer = emulator_api.post(f"{LEADS}/link", json=[good, *bad])

    assert answer.status_code == 400
    errors = {e["request_id"]: e["errors"][0]["path"] for e in answer.json()["validation-errors"]}
    assert errors == {"1": "entity_id", "2": "entity_id", "3": "to_entity_id",
                      "4": "to_entity_type", "5": "metadata", "6": ""}  # fmt: skip
    assert contact_ids(emulator, lead["id"]) == [first["id"]]


def test_links_of_a_missing_lead(emulator_api):
    item = {"to_entity_id": 1, "to_entity_type": "contacts"}

    assert emulator_api.post(f"{LEADS}/999/link", json=[item]).status_code == 404
    assert emulator_api.get(f"{LEADS}/999/links").status_code == 204


def test_more_than_50_links_are_refused(emulator_api, linked):
    lead, _first, second = linked
    item = {"entity_id": lead["id"], "to_entity_id": second["id"], "to_entity_type": "contacts"}

    assert emulator_api.post(f"{LEADS}/link", json=[item] * 51).status_code == 400


# an update's _embedded.contacts ---------------------------------------------------------------
def patch_contacts(emulator_api, lead_id, contact_id, one=False):
    body = {"price": 10, "_embedded": {"contacts": [{"id": contact_id}]}}
    if one:
        return emulator_api.patch(f"{LEADS}/{lead_id}", json=body)
    return emulator_api.patch(LEADS, json=[dict(body, id=lead_id)])


@pytest.mark.parametrize("one", [False, True])
def test_by_default_an_update_ignores_embedded_contacts(emulator, emulator_api, linked, one):
    lead, first, second = linked

    answer = patch_contacts(emulator_api, lead["id"], second["id"], one)

    assert answer.status_code == 200, answer.text
    assert emulator.store.leads[lead["id"]]["price"] == 10
    assert contact_ids(emulator, lead["id"]) == [first["id"]]


@pytest.mark.parametrize("one", [False, True])
def test_the_refuse_reading_rejects_an_update_with_embedded_contacts(
    emulator, emulator_api, linked, one
):
    lead, first, second = linked
    emulator.patch_embedded_contacts = "refuse"

    answer = patch_contacts(emulator_api, lead["id"], second["id"], one)

    assert answer.status_code == 400
    (error,) = answer.json()["validation-errors"][0]["errors"]
    assert error["path"] == "_embedded.contacts"
    assert emulator.store.leads[lead["id"]]["price"] == 0
    assert contact_ids(emulator, lead["id"]) == [first["id"]]


def test_a_create_still_links_its_embedded_contacts(emulator, emulator_api, linked):
    _lead, first, _second = linked
    emulator.patch_embedded_contacts = "refuse"

    answer = emulator_api.post(LEADS, json=[{"_embedded": {"contacts": [{"id": first["id"]}]}}])

    (created,) = answer.json()["_embedded"]["leads"]
    assert contact_ids(emulator, created["id"]) == [first["id"]]


def test_readings_are_checked_when_set():
    emu = KommoEmulator(patch_embedded_contacts="refuse")

    assert emu.patch_embedded_contacts == "refuse"
    with pytest.raises(ValueError, match="patch_embedded_contacts"):
        emu.patch_embedded_contacts = "link"
    with pytest.raises(TypeError):
        KommoEmulator(no_such_reading=True)
    with pytest.raises(AttributeError):
        emu.readings.no_such_reading = 1
    assert isinstance(type(emu).phone_search, object)
