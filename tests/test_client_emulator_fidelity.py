"""KommoClient against the emulator under each reading of what Kommo leaves open (CONTRACT.md):
links of existing leads, duplicate control, phone search, list order, If-Modified-Since."""

import pytest

from kommo_api import phone_search_keys
from kommo_api.errors import KommoValidationError

E164 = "+5511987654321"


def contact_ids_of(emulator, lead_id):
    with emulator.store.lock:
        return list(emulator.store.lead_contacts.get(lead_id, []))


# links ---------------------------------------------------------------------------------------
def test_link_contacts_gives_existing_leads_their_main_contact(kommo_client, emulator):
    old = emulator.add_contact("Old", phones=["+5511911110001"])
    new = emulator.add_contact("New", phones=["+5511911110002"])
    leads = [emulator.add_lead(f"Order {n}", contact_ids=[old["id"]]) for n in range(60)]

    links = kommo_client.link_contacts([(lead["id"], new["id"]) for lead in leads])

    assert [len(c.json) for c in emulator.calls("POST", "/api/v4/leads/link")] == [50, 10]
    assert len(links) == 60 and links[0]["to_entity_id"] == new["id"]
    assert all(contact_ids_of(emulator, lead["id"]) == [new["id"], old["id"]] for lead in leads)


def test_unlink_contacts_removes_the_links(kommo_client, emulator):
    contact = emulator.add_contact("Ana")
    lead = emulator.add_lead("Order 1", contact_ids=[contact["id"]])

    assert kommo_client.unlink_contacts([(lead["id"], contact["id"])]) is None
    assert contact_ids_of(emulator, lead["id"]) == []


def test_a_link_needs_integer_ids(kommo_client):
    with pytest.raises(ValueError, match="integer"):
        kommo_client.link_contacts([(1, "2")])


def test_a_refused_link_is_named_by_its_position(kommo_client, emulator):
    contact = emulator.add_contact("Ana")
    lead = emulator.add_lead("Order 1")

    with pytest.raises(KommoValidationError) as caught:
        kommo_client.link_contacts([(lead["id"], contact["id"]), (lead["id"], 999)])

    assert caught.value.messages_for("1")
    assert contact_ids_of(emulator, lead["id"]) == []


@pytest.mark.parametrize("reading", ["ignore", "refuse"])
def test_an_update_never_links_a_contact_so_link_contacts_does(kommo_client, emulator, reading):
    emulator.patch_embedded_contacts = reading
    contact = emulator.add_contact("Ana")
    lead = emulator.add_lead("Order 1")

    kommo_client.update_leads([{"id": lead["id"], "price": 5}])
    kommo_client.link_contacts([(lead["id"], contact["id"])])

    assert contact_ids_of(emulator, lead["id"]) == [contact["id"]]


# duplicate control ---------------------------------------------------------------------------
def complex_lead(request_id, phone, **fields):
    contact = {
        "first_name": f"Customer {request_id}",
        "custom_fields_values": [
            {"field_code": "PHONE", "values": [{"enum_code": "WORK", "value": phone}]}
        ],
    }
    return dict(fields, name=f"Order {request_id}", request_id=request_id,
                _embedded={"contacts": [contact]})  # fmt: skip


def test_without_duplicate_control_every_lead_is_created(kommo_client, emulator):
    kommo_client.create_leads_complex([complex_lead("RO-1", E164)])

    result = kommo_client.create_leads_complex([complex_lead("RO-2", E164)])

    assert result["RO-2"]["merged"] is False
    assert len(emulator.store.leads) == 2


def test_duplicates_of_an_open_lead_are_merged_into_it(kommo_client, emulator):
    first = kommo_client.create_leads_complex([complex_lead("RO-1", E164)])["RO-1"]
    emulator.duplicate_control = True

    result = kommo_client.create_leads_complex(
        [
            complex_lead("RO-2", "+55 (11) 98765-4321"),
            complex_lead("RO-3", "+5511911112222"),
            complex_lead("RO-4", E164),
        ]
    )

    assert (result["RO-2"]["id"], result["RO-4"]["id"]) == (first["id"], first["id"])
    assert result["RO-2"]["merged"] and result["RO-2"]["contact_id"] == first["contact_id"]
    assert result["RO-2"]["request_ids"] == result["RO-4"]["request_ids"] == ["RO-2", "RO-4"]
    assert result["RO-3"]["merged"] is False and result["RO-3"]["id"] != first["id"]
    (call,) = emulator.calls("POST", "/api/v4/leads/complex")[1:]
    assert len(call.json) == 3
    assert len(emulator.store.leads) == 2, "merged leads are not created"


def test_leads_of_one_request_are_not_merged_with_each_other(kommo_client, emulator):
    emulator.duplicate_control = True

    result = kommo_client.create_leads_complex(
        [complex_lead("RO-1", E164), complex_lead("RO-2", E164)]
    )

    assert not result["RO-1"]["merged"] and not result["RO-2"]["merged"]
    assert result["RO-1"]["id"] != result["RO-2"]["id"]


def test_closed_leads_and_other_pipelines_are_not_duplicates(kommo_client, emulator):
    other = emulator.add_pipeline("Vendas", ["Novo"])
    won = kommo_client.create_leads_complex([complex_lead("RO-1", E164, status_id=142)])
    emulator.duplicate_control = True

    result = kommo_client.create_leads_complex(
        [complex_lead("RO-2", E164), complex_lead("RO-3", E164, pipeline_id=other["id"])]
    )

    assert result["RO-2"]["id"] != won["RO-1"]["id"]
    assert not result["RO-2"]["merged"] and not result["RO-3"]["merged"]


def test_a_linked_contact_and_an_email_match_too(kommo_client, emulator):
    contact = emulator.add_contact("Ana", emails=["Ana@Example.com"])
    kept = emulator.add_lead("Order 1", contact_ids=[contact["id"]])
    emulator.duplicate_control = True
    by_email = complex_lead("RO-2", "+5511900000000")
    by_email["_embedded"]["contacts"][0]["custom_fields_values"].append(
        {"field_code": "EMAIL", "values": [{"enum_code": "WORK", "value": "ana@example.com"}]}
    )
    by_link = {"request_id": "RO-3", "_embedded": {"contacts": [{"id": contact["id"]}]}}
    bare = {"request_id": "RO-4"}

    result = kommo_client.create_leads_complex([by_email, by_link, bare])

    assert result["RO-2"]["id"] == result["RO-3"]["id"] == kept["id"]
    assert not result["RO-4"]["merged"]


# phone search --------------------------------------------------------------------------------
@pytest.fixture
def stored_e164(emulator):
    return emulator.add_contact("Ana", phones=[E164])["id"]


@pytest.mark.parametrize("query", [E164, "5511987654321", "11987654321", "+55 11 98765-4321"])
def test_the_digits_reading_finds_a_phone_in_any_format(kommo_client, stored_e164, query):
    assert [c["id"] for c in kommo_client.search_contacts(query)] == [stored_e164]


@pytest.mark.parametrize(
    ("query", "found"),
    [(E164, True), ("5511987654321", False), ("11987654321", False), ("+55 11 98765-4321", False)],
)
def test_the_exact_reading_finds_a_phone_only_as_stored(kommo_client, emulator, stored_e164,
                                                        query, found):  # fmt: skip
    emulator.phone_search = "exact"

    assert [c["id"] for c in kommo_client.search_contacts(query)] == ([stored_e164] * found)


@pytest.mark.parametrize("reading", ["digits", "exact"])
def test_the_first_search_key_finds_a_number_stored_in_e164_under_either_reading(
    kommo_client, emulator, stored_e164, reading
):
    emulator.phone_search = reading

    hits = kommo_client.search_contacts(phone_search_keys(E164)[0])

    assert [c["id"] for c in hits] == [stored_e164]


@pytest.mark.parametrize(
    "stored", ["+55 11 98765-4321", "(11) 98765-4321", "5511987654321", "11987654321"]
)
def test_a_search_key_finds_each_common_way_of_writing_it_under_the_exact_reading(
    kommo_client, emulator, stored
):
    emulator.phone_search = "exact"
    contact = emulator.add_contact("Ana", phones=[stored])

    finding = [
        key
        for key in phone_search_keys(E164)
        if contact["id"] in [c["id"] for c in kommo_client.search_contacts(key)]
    ]

    assert finding == [stored]


# list order and If-Modified-Since ------------------------------------------------------------
def test_a_scan_reads_every_contact_once_whatever_the_default_order(kommo_client, emulator):
    emulator.default_order = "newest_first"
    ids = emulator.add_contacts_bulk((f"C{n}", [], []) for n in range(5))
    pages = kommo_client.contacts_page(1, limit=2), kommo_client.contacts_page(2, limit=2)
    emulator.add_contact("Added during the scan")
    last = kommo_client.contacts_page(3, limit=2)

    seen = [c["id"] for page in (*pages, last) for c in page.items]
    assert seen[:5] == ids


def test_without_order_the_newest_first_reading_shows_the_newest_first(emulator, emulator_api):
    emulator.default_order = "newest_first"
    ids = emulator.add_contacts_bulk((f"C{n}", [], []) for n in range(3))

    answer = emulator_api.get("/api/v4/contacts").json()

    assert [c["id"] for c in answer["_embedded"]["contacts"]] == ids[::-1]


@pytest.mark.parametrize(
    ("reading", "before", "after"),
    [("not_modified", [], ["old", "new"]), ("filter", [], ["new"]), ("ignore", ["old"], None)],
)
def test_if_modified_since_under_each_reading(kommo_client, emulator, reading, before, after):
    emulator.if_modified_since = reading
    now = emulator.clock.timestamp()
    emulator.add_contact("old", updated_at=now - 100)

    unchanged = kommo_client.contacts_page(if_modified_since=now - 50)
    emulator.add_contact("new", updated_at=now)
    changed = kommo_client.contacts_page(if_modified_since=now - 50)

    assert [c["name"] for c in unchanged.items] == before
    assert unchanged.not_modified == (reading == "not_modified")
    assert [c["name"] for c in changed.items] == (after or ["old", "new"])


def test_the_poll_reads_leads_updated_since_under_each_reading(kommo_client, emulator):
    now = emulator.clock.timestamp()
    emulator.add_leads_bulk({"name": f"Old {n}", "updated_at": now - 500} for n in range(3))
    emulator.add_leads_bulk({"name": f"New {n}", "updated_at": now - 5 + n} for n in range(5))
    expected = [f"New {n}" for n in range(5)]

    for reading in ("not_modified", "filter", "ignore"):
        emulator.if_modified_since = reading
        leads = kommo_client.iter_leads_updated_since(now - 5, limit=2)
        assert [lead["name"] for lead in leads] == expected, reading
        assert list(kommo_client.iter_leads_updated_since(now + 10)) == [], reading
