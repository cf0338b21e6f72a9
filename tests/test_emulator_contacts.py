"""Contacts search (phones by digits) and the complex lead+contact create, as Kommo does them."""

import pytest

from kommo_api.testing import KommoEmulator

CONTACTS = "/api/v4/contacts"
COMPLEX = "/api/v4/leads/complex"


def found_names(answer):
    if answer.status_code == 204:
        return []
    return [contact["name"] for contact in answer.json()["_embedded"]["contacts"]]


def search(api, query):
    return found_names(api.get(CONTACTS, params={"query": query}))


def phone_values(number):
    return [{"field_code": "PHONE", "values": [{"enum_code": "MOB", "value": number}]}]


def complex_lead(name, contact=None, **extra):
    lead = {"name": name, **extra}
    if contact is not None:
        lead["_embedded"] = {"contacts": [contact]}
    return lead


def errors_of(answer):
    assert answer.status_code == 400, answer.text
    return [error for item in answer.json()["validation-errors"] for error in item["errors"]]


@pytest.fixture
def maria(emulator):
    emulator.add_contact("João", phones=["+55 21 3333-4444"])
    return emulator.add_contact(
        "Maria Silva", phones=["+55 (11) 98765-4321"], emails=["maria@example.com"]
    )


@pytest.mark.parametrize(
    "query", ["11987654321", "+5511987654321", "+55 11 98765-4321", "98765-4321", "987654321"]
)
def test_a_phone_is_found_by_its_digits_whatever_the_format(emulator_api, maria, query):
    assert search(emulator_api, query) == ["Maria Silva"]


def test_a_contact_is_found_by_part_of_its_email_or_name(emulator_api, maria):
    assert search(emulator_api, "maria@example") == ["Maria Silva"]
    assert search(emulator_api, "silva") == ["Maria Silva"]


def test_a_search_without_match_is_204(emulator_api, maria):
    assert emulator_api.get(CONTACTS, params={"query": "11900000000"}).status_code == 204


def test_a_contact_stored_without_country_code_is_found_by_the_full_number(emulator, emulator_api):
    emulator.add_contact("Ana", phones=["(11) 98765-1111"])

    assert search(emulator_api, "+55 11 98765-1111") == ["Ana"]


def test_phone_search_stays_correct_among_many_contacts():
    emu = KommoEmulator()
    emu.add_contacts_bulk((f"C{n}", [f"+55 11 9{n:08d}"], ()) for n in range(5000))

    found = emu.store.search_contacts("11900004321")

    assert [emu.store.contacts[cid]["name"] for cid in found] == ["C4321"]


def test_contacts_are_created_with_phone_values_and_updated(emulator, emulator_api):
    body = [
        {
            "first_name": "Ana",
            "last_name": "Costa",
            "custom_fields_values": phone_values("+5511911112222"),
        }
    ]
    (ref,) = emulator_api.post(CONTACTS, json=body).json()["_embedded"]["contacts"]

    emulator_api.patch(CONTACTS, json=[{"id": ref["id"], "name": "Ana C."}])

    assert emulator.store.contacts[ref["id"]]["name"] == "Ana C."
    assert search(emulator_api, "11911112222") == ["Ana C."]


def test_an_unknown_phone_type_is_refused(emulator_api):
    values = [
        {"field_code": "PHONE", "values": [{"enum_code": "PAGER", "value": "+5511911112222"}]}
    ]

    (error,) = errors_of(
        emulator_api.post(CONTACTS, json=[{"name": "A", "custom_fields_values": values}])
    )

    assert error["path"] == "custom_fields_values.0.values.0.enum_code"


def test_with_leads_embeds_the_contacts_leads(emulator, emulator_api, maria):
    lead = emulator.add_lead(name="Order 1", contact_ids=[maria["id"]])

    read = emulator_api.get(f"{CONTACTS}/{maria['id']}", params={"with": "leads"}).json()

    assert [ref["id"] for ref in read["_embedded"]["leads"]] == [lead["id"]]


def test_complex_create_makes_the_lead_and_its_new_contact(emulator, emulator_api):
    contact = {"first_name": "Ana", "custom_fields_values": phone_values("+5511911112222")}

    answer = emulator_api.post(COMPLEX, json=[complex_lead("Order 1", contact, request_id="RO-1")])

    (created,) = answer.json()
    assert created["request_id"] == ["RO-1"]
    assert created["merged"] is False
    assert emulator.store.lead_contacts[created["id"]] == [created["contact_id"]]
    assert search(emulator_api, "11911112222") == ["Ana"]


def test_complex_create_links_an_existing_contact_by_id(emulator, emulator_api, maria):
    answer = emulator_api.post(COMPLEX, json=[complex_lead("Order 1", {"id": maria["id"]})])

    (created,) = answer.json()
    assert created["contact_id"] == maria["id"]
    assert len(emulator.store.contacts) == 2


def test_complex_create_refuses_two_contacts_for_one_lead(emulator, emulator_api):
    lead = {"name": "A", "_embedded": {"contacts": [{"first_name": "X"}, {"first_name": "Y"}]}}

    (error,) = errors_of(emulator_api.post(COMPLEX, json=[lead]))

    assert error["path"] == "_embedded.contacts"
    assert emulator.store.leads == {}


def test_complex_create_refuses_more_than_40_field_values_per_entity(emulator, emulator_api):
    field_ids = [emulator.add_custom_field("leads", f"F{n}", "text")["id"] for n in range(41)]
    values = [{"field_id": field_id, "values": [{"value": "x"}]} for field_id in field_ids]

    (error,) = errors_of(
        emulator_api.post(COMPLEX, json=[complex_lead("A", custom_fields_values=values)])
    )

    assert error["path"] == "custom_fields_values"


def test_complex_create_refuses_more_than_50_leads(emulator, emulator_api):
    answer = emulator_api.post(COMPLEX, json=[complex_lead(f"L{n}") for n in range(51)])

    assert answer.status_code == 400
    assert emulator.store.leads == {}


def test_complex_create_reports_a_bad_contact_field_under_the_lead(emulator_api):
    contact = {"first_name": "Ana", "custom_fields_values": [{"field_id": 1, "values": []}]}
    batch = [complex_lead("ok"), complex_lead("bad", contact, request_id="RO-2")]

    answer = emulator_api.post(COMPLEX, json=batch)

    (item,) = answer.json()["validation-errors"]
    assert item["request_id"] == "RO-2"
    assert item["errors"][0]["path"] == "_embedded.contacts.0.custom_fields_values.0.field_id"


def test_complex_create_makes_a_company_and_embeds_it(emulator, emulator_api):
    lead = {"name": "Frota", "_embedded": {"companies": [{"name": "Transportes Ltda"}]}}

    (created,) = emulator_api.post(COMPLEX, json=[lead]).json()

    read = emulator_api.get(f"/api/v4/leads/{created['id']}").json()
    assert emulator.store.companies[created["company_id"]]["name"] == "Transportes Ltda"
    assert [c["id"] for c in read["_embedded"]["companies"]] == [created["company_id"]]


def test_a_scan_without_order_under_newest_first_repeats_and_misses(emulator, emulator_api):
    """Why clients name their order: Kommo documents none, and this reading of it punishes a
    page-by-page scan without one while the list grows."""
    emulator.default_order = "newest_first"
    emulator.add_contacts_bulk((f"C{n}", [], []) for n in range(4))
    first = found_names(emulator_api.get(CONTACTS, params={"limit": 2, "page": 1}))
    emulator.add_contact("C4")
    second = found_names(emulator_api.get(CONTACTS, params={"limit": 2, "page": 2}))
    by_id = found_names(emulator_api.get(CONTACTS, params={"limit": 9, "order[id]": "asc"}))

    assert (first, second) == (["C3", "C2"], ["C2", "C1"])
    assert by_id == ["C0", "C1", "C2", "C3", "C4"]


def test_a_contact_a_person_deletes_leaves_its_leads_and_every_list(emulator, emulator_api, maria):
    lead = emulator.add_lead("Order 1", contact_ids=[maria["id"]])

    assert emulator.crm.delete_contact(maria["id"]) is True

    assert emulator_api.get(CONTACTS, params={"filter[id][]": maria["id"]}).status_code == 204
    assert search(emulator_api, "98765-4321") == []
    assert emulator.store.lead_contacts[lead["id"]] == []
    assert maria["id"] not in emulator.store.contact_leads
    assert emulator.crm.delete_contact(maria["id"]) is False
