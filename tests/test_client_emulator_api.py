"""KommoClient's typed calls against the Kommo emulator, over real HTTP."""

import pytest

from kommo_api.errors import KommoValidationError


def lead_ids(leads):
    return [lead["id"] for lead in leads]


def test_account_is_read(kommo_client, emulator):
    account = kommo_client.get_account()

    assert account["subdomain"] == "acme"
    assert account["id"] == 30000001


def test_more_than_a_page_of_leads_is_read_across_pages(kommo_client, emulator):
    for n in range(260):
        emulator.add_lead(name=f"Order {n}")

    names = [lead["name"] for lead in kommo_client.iter_leads()]

    assert sorted(names) == sorted(f"Order {n}" for n in range(260))
    pages = emulator.calls("GET", "/api/v4/leads")
    assert [call.query["page"] for call in pages] == ["1", "2"]


def test_leads_are_read_lazily(kommo_client, emulator):
    for n in range(12):
        emulator.add_lead(name=f"Order {n}")

    leads = kommo_client.iter_leads(limit=5)
    first_five = [next(leads) for _ in range(5)]

    assert len(first_five) == 5
    assert len(emulator.calls("GET", "/api/v4/leads")) == 1


def test_an_empty_list_is_empty_not_an_error(kommo_client, emulator):
    assert list(kommo_client.iter_leads(query="nothing like this")) == []
    assert emulator.calls("GET", "/api/v4/leads")[0].status == 204


def test_leads_are_filtered_by_update_time(kommo_client, emulator):
    emulator.add_lead(name="old")
    emulator.clock.advance(3600)
    since = emulator.clock.timestamp()
    emulator.add_lead(name="recent")

    recent = list(kommo_client.iter_leads(filter={"updated_at": {"from": since}}))

    assert [lead["name"] for lead in recent] == ["recent"]


def test_leads_are_filtered_by_id(kommo_client, emulator):
    wanted = [emulator.add_lead(name=f"L{n}")["id"] for n in range(3)][:2]

    assert sorted(lead_ids(kommo_client.iter_leads(filter={"id": wanted}))) == sorted(wanted)


def test_creating_120_leads_takes_three_calls_of_at_most_50(kommo_client, emulator):
    created = kommo_client.create_leads([{"name": f"Order {n}"} for n in range(120)])

    assert len(set(lead_ids(created))) == 120
    assert len(emulator.store.leads) == 120
    posts = emulator.calls("POST", "/api/v4/leads")
    assert [len(call.json) for call in posts] == [50, 50, 20]


def test_updating_leads_is_chunked_and_applied(kommo_client, emulator):
    ids = [emulator.add_lead(name=f"Order {n}")["id"] for n in range(60)]

    kommo_client.update_leads([{"id": lead_id, "price": 100} for lead_id in ids])

    assert {emulator.store.leads[lead_id]["price"] for lead_id in ids} == {100}
    assert [len(c.json) for c in emulator.calls("PATCH", "/api/v4/leads")] == [50, 10]


def test_a_lead_is_read_with_its_contacts(kommo_client, emulator):
    contact = emulator.add_contact("Maria Silva", phones=["+5511987654321"])
    lead = emulator.add_lead(name="Order 1", contact_ids=[contact["id"]])

    read = kommo_client.get_lead(lead["id"], with_=["contacts"])

    assert read["name"] == "Order 1"
    assert [c["id"] for c in read["_embedded"]["contacts"]] == [contact["id"]]


def test_a_missing_lead_is_none(kommo_client):
    assert kommo_client.get_lead(999999999) is None


def complex_lead(request_id, phone):
    return {
        "name": f"Order {request_id}",
        "request_id": request_id,
        "_embedded": {
            "contacts": [
                {
                    "first_name": f"Client {request_id}",
                    "custom_fields_values": [
                        {"field_code": "PHONE", "values": [{"enum_code": "WORK", "value": phone}]}
                    ],
                }
            ]
        },
    }


def test_complex_create_maps_created_leads_to_request_ids(kommo_client, emulator):
    result = kommo_client.create_leads_complex(
        [complex_lead("RO-1", "+5511911110001"), complex_lead("RO-2", "+5511911110002")]
    )

    assert set(result) == {"RO-1", "RO-2"}
    for request_id, created in result.items():
        assert emulator.store.leads[created["id"]]["name"] == f"Order {request_id}"
        assert created["contact_id"] in emulator.store.contacts
        assert created["merged"] is False


def test_complex_create_of_60_leads_takes_two_calls(kommo_client, emulator):
    leads = [complex_lead(f"RO-{n}", f"+55119111{n:05d}") for n in range(60)]

    result = kommo_client.create_leads_complex(leads)

    assert len(result) == 60
    assert [len(c.json) for c in emulator.calls("POST", "/api/v4/leads/complex")] == [50, 10]


def test_a_rejected_field_is_reported_for_the_right_lead(kommo_client, emulator):
    leads = [{"name": f"Order {n}"} for n in range(55)]
    leads[52]["custom_fields_values"] = [{"field_id": 987654321, "values": [{"value": "x"}]}]

    with pytest.raises(KommoValidationError) as caught:
        kommo_client.create_leads(leads)

    error = caught.value
    assert len(error.completed) == 50
    assert error.messages_for("52")
    assert error.messages_for("2") == []


def test_a_rejected_complex_lead_is_named_by_its_request_id(kommo_client, emulator):
    leads = [complex_lead("RO-1", "+5511911110001"), complex_lead("RO-2", "+5511911110002")]
    leads[1]["custom_fields_values"] = [{"field_id": 987654321, "values": [{"value": "x"}]}]

    with pytest.raises(KommoValidationError) as caught:
        kommo_client.create_leads_complex(leads)

    assert caught.value.messages_for("RO-2")
    assert caught.value.messages_for("RO-1") == []
    assert emulator.store.leads == {}


def test_contacts_are_found_by_phone_digits(kommo_client, emulator):
    maria = emulator.add_contact("Maria Silva", phones=["+55 (11) 98765-4321"])
    emulator.add_contact("João Souza", phones=["+55 21 3333-4444"])

    found = kommo_client.search_contacts("5511987654321")

    assert [c["id"] for c in found] == [maria["id"]]


def test_contacts_are_created_and_updated(kommo_client, emulator):
    created = kommo_client.create_contacts([{"name": "Ana"}, {"name": "Bia"}])

    kommo_client.update_contacts([{"id": created[0]["id"], "name": "Ana Maria"}])

    assert emulator.store.contacts[created[0]["id"]]["name"] == "Ana Maria"
    assert len(created) == 2


def test_notes_are_added_to_leads_in_one_call(kommo_client, emulator):
    lead = emulator.add_lead(name="Order 1")
    notes = [
        {"entity_id": lead["id"], "note_type": "common", "params": {"text": f"Step {n}"}}
        for n in range(3)
    ]

    added = kommo_client.add_lead_notes(notes)

    assert len(added) == 3
    texts = sorted(n["params"]["text"] for n in emulator.store.notes.values())
    assert texts == ["Step 0", "Step 1", "Step 2"]
    assert len(emulator.calls("POST", "/api/v4/leads/notes")) == 1


def test_the_notes_of_several_leads_are_read_in_one_walk(kommo_client, emulator):
    first, second, other = (emulator.add_lead(name=n)["id"] for n in "ABC")
    kommo_client.add_lead_notes(
        [
            {"entity_id": lead_id, "note_type": "common", "params": {"text": text}}
            for lead_id, text in ((first, "one"), (second, "two"), (other, "elsewhere"))
        ]
    )
    emulator.clear_log()

    notes = list(kommo_client.iter_lead_notes([first, second]))

    assert sorted((n["entity_id"], n["params"]["text"]) for n in notes) == [
        (first, "one"),
        (second, "two"),
    ]
    assert len(emulator.calls("GET", "/api/v4/leads/notes")) == 1


def test_pipelines_come_with_their_statuses(kommo_client):
    pipelines = kommo_client.get_pipelines()

    assert pipelines
    status_ids = {s["id"] for s in pipelines[0]["_embedded"]["statuses"]}
    assert {142, 143} <= status_ids


def test_custom_fields_are_created_and_listed(kommo_client):
    created = kommo_client.create_custom_fields(
        [
            {"name": "Plate", "type": "text"},
            {"name": "Stage", "type": "select", "enums": [{"value": "A"}, {"value": "B"}]},
        ]
    )

    listed = {field["id"]: field for field in kommo_client.iter_custom_fields("leads")}
    assert {f["id"] for f in created} <= set(listed)
    assert [e["value"] for e in listed[created[1]["id"]]["enums"]] == ["A", "B"]


def test_contact_custom_fields_are_listed_separately(kommo_client):
    codes = {field.get("code") for field in kommo_client.iter_custom_fields("contacts")}

    assert "PHONE" in codes


def test_tags_are_created_and_listed(kommo_client):
    kommo_client.create_tags([{"name": "oficina"}, {"name": "urgente"}])

    assert {"oficina", "urgente"} <= {tag["name"] for tag in kommo_client.iter_tags()}


def test_webhooks_are_subscribed_listed_and_unsubscribed(kommo_client, emulator):
    destination = "http://127.0.0.1:9/kommo/webhook/secret"

    kommo_client.subscribe_webhook(destination, ["add_lead", "status_lead"])
    listed = kommo_client.list_webhooks()
    kommo_client.unsubscribe_webhook(destination)

    assert [hook["destination"] for hook in listed] == [destination]
    assert sorted(listed[0]["settings"]) == ["add_lead", "status_lead"]
    assert kommo_client.list_webhooks() == []


def test_every_write_chunk_is_reported_with_its_entity_count(emulator, make_client):
    exchanges = []
    client = make_client(emulator, on_exchange=exchanges.append)

    client.create_leads([{"name": f"Order {n}"} for n in range(120)])

    assert [(e.method, e.status, e.entity_count) for e in exchanges] == [
        ("POST", 200, 50),
        ("POST", 200, 50),
        ("POST", 200, 20),
    ]
    logged_ids = {call.request_id for call in emulator.calls("POST", "/api/v4/leads")}
    assert {e.request_id for e in exchanges} == logged_ids
