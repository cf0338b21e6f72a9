"""The emulator's leads API behaves as Kommo's: HAL pages, 204, filters, writes and validation."""

import pytest

from kommo_api.testing import Clock, KommoEmulator

LEADS = "/api/v4/leads"


def embedded(answer, key="leads"):
    assert answer.status_code == 200, answer.text
    return answer.json()["_embedded"][key]


def names(answer):
    return [lead["name"] for lead in embedded(answer)]


def validation_errors(answer):
    assert answer.status_code == 400, answer.text
    return answer.json()["validation-errors"]


@pytest.fixture
def status_field(emulator):
    return emulator.add_custom_field("leads", "Status da OS", "select", enums=["Aberta", "Pronta"])


def test_an_empty_list_is_204_without_a_body(emulator_api):
    answer = emulator_api.get(LEADS)

    assert answer.status_code == 204
    assert answer.content == b""


def test_a_list_is_hal_json(emulator, emulator_api):
    emulator.add_lead(name="Order 1")

    answer = emulator_api.get(LEADS)

    assert answer.headers["Content-Type"] == "application/hal+json"
    assert answer.json()["_page"] == 1


def test_every_answer_carries_a_request_id(emulator, emulator_api):
    assert emulator_api.get(LEADS).headers["X-Request-Id"]
    assert emulator_api.get(LEADS, headers={"Authorization": ""}).headers["X-Request-Id"]


def test_pages_hold_up_to_250_leads_with_a_next_link(emulator, emulator_api):
    emulator.add_leads_bulk({"name": f"Order {n}"} for n in range(260))

    first = emulator_api.get(LEADS, params={"limit": 250}).json()
    next_url = first["_links"]["next"]["href"]
    second = emulator_api.get(next_url.removeprefix(emulator.url)).json()

    assert len(first["_embedded"]["leads"]) == 250
    assert len(second["_embedded"]["leads"]) == 10
    assert "next" not in second["_links"]


def test_a_limit_above_250_is_capped(emulator, emulator_api):
    emulator.add_leads_bulk({"name": f"Order {n}"} for n in range(260))

    assert len(embedded(emulator_api.get(LEADS, params={"limit": 1000}))) == 250


def test_the_default_page_holds_50(emulator, emulator_api):
    emulator.add_leads_bulk({"name": f"Order {n}"} for n in range(60))

    assert len(embedded(emulator_api.get(LEADS))) == 50


def test_a_page_past_the_end_is_204(emulator, emulator_api):
    emulator.add_lead(name="Order 1")

    assert emulator_api.get(LEADS, params={"page": 2}).status_code == 204


def test_leads_are_filtered_by_id(emulator, emulator_api):
    ids = emulator.add_leads_bulk({"name": f"L{n}"} for n in range(4))

    answer = emulator_api.get(LEADS, params={"filter[id][]": [ids[0], ids[2]]})

    assert names(answer) == ["L0", "L2"]


def test_leads_are_filtered_by_update_time(emulator, emulator_api):
    emulator.add_lead(name="old")
    emulator.clock.advance(3600)
    since = emulator.clock.timestamp()
    emulator.add_lead(name="recent")

    answer = emulator_api.get(LEADS, params={"filter[updated_at][from]": since})

    assert names(answer) == ["recent"]


def test_leads_are_filtered_by_stage(emulator, emulator_api):
    pipeline = next(iter(emulator.store.pipelines.values()))
    first, second = list(pipeline["statuses"])[:2]
    emulator.add_lead(name="new", status_id=first)
    emulator.add_lead(name="moved", status_id=second)

    params = {"filter[statuses][0][pipeline_id]": pipeline["id"]}
    params["filter[statuses][0][status_id]"] = second

    assert names(emulator_api.get(LEADS, params=params)) == ["moved"]


def test_leads_are_ordered_by_update_time(emulator, emulator_api):
    emulator.add_lead(name="first")
    emulator.clock.advance(10)
    emulator.add_lead(name="second")

    answer = emulator_api.get(LEADS, params={"order[updated_at]": "desc"})

    assert names(answer) == ["second", "first"]


def test_query_finds_leads_by_name_and_field_value(emulator, emulator_api, status_field):
    text_field = emulator.add_custom_field("leads", "Order number", "text")
    emulator.add_lead(name="Troca de óleo")
    values = [{"field_id": text_field["id"], "values": [{"value": "RO-00042"}]}]
    emulator.add_lead(name="Freios", custom_fields_values=values)

    assert names(emulator_api.get(LEADS, params={"query": "óleo"})) == ["Troca de óleo"]
    assert names(emulator_api.get(LEADS, params={"query": "RO-00042"})) == ["Freios"]


def test_with_contacts_embeds_the_linked_contacts(emulator, emulator_api):
    contact = emulator.add_contact("Maria", phones=["+5511987654321"])
    lead = emulator.add_lead(name="Order 1", contact_ids=[contact["id"]])

    answer = emulator_api.get(f"{LEADS}/{lead['id']}", params={"with": "contacts"}).json()

    assert [c["id"] for c in answer["_embedded"]["contacts"]] == [contact["id"]]
    assert "contacts" not in emulator_api.get(f"{LEADS}/{lead['id']}").json()["_embedded"]


def test_a_missing_lead_is_204(emulator_api):
    assert emulator_api.get(f"{LEADS}/123").status_code == 204


def test_created_leads_get_ids_and_clock_timestamps(emulator_http):
    with KommoEmulator(clock=Clock(start=1_700_000_000, frozen=True)) as emu:
        answer = emulator_http(emu).post(LEADS, json=[{"name": "A"}, {"name": "B"}])

        refs = embedded(answer)
        created = [emu.store.leads[ref["id"]] for ref in refs]

    assert [ref["request_id"] for ref in refs] == ["0", "1"]
    assert [lead["name"] for lead in created] == ["A", "B"]
    assert {lead["created_at"] for lead in created} == {1_700_000_000}


def test_a_new_lead_starts_in_the_first_stage_of_the_main_pipeline(emulator, emulator_api):
    (ref,) = embedded(emulator_api.post(LEADS, json=[{"name": "A"}]))

    lead = emulator.store.leads[ref["id"]]
    pipeline = emulator.store.pipelines[lead["pipeline_id"]]
    assert pipeline["is_main"]
    assert lead["status_id"] == next(iter(pipeline["statuses"]))


def test_a_patch_changes_only_the_given_keys_and_advances_updated_at(emulator_http):
    # A frozen clock: on real time the patch could land a second later than the advance.
    with KommoEmulator(clock=Clock(start=1_700_000_000, frozen=True)) as emu:
        lead = emu.add_lead(name="Order 1", price=100)
        emu.clock.advance(60)

        answer = emulator_http(emu).patch(LEADS, json=[{"id": lead["id"], "price": 250}])

        stored = emu.store.leads[lead["id"]]
        assert (stored["name"], stored["price"]) == ("Order 1", 250)
        assert stored["updated_at"] == 1_700_000_060
        assert embedded(answer)[0]["updated_at"] == stored["updated_at"]


def test_a_patch_of_one_lead_by_its_url(emulator, emulator_api):
    lead = emulator.add_lead(name="Order 1")

    answer = emulator_api.patch(f"{LEADS}/{lead['id']}", json={"name": "Order 1b"})

    assert answer.json()["id"] == lead["id"]
    assert emulator.store.leads[lead["id"]]["name"] == "Order 1b"


def test_moving_to_won_closes_the_lead(emulator, emulator_api):
    lead = emulator.add_lead(name="Order 1")

    emulator_api.patch(LEADS, json=[{"id": lead["id"], "status_id": 142}])

    stored = emulator.store.leads[lead["id"]]
    assert stored["status_id"] == 142
    assert stored["closed_at"] is not None


def test_more_than_50_leads_in_one_write_are_refused(emulator, emulator_api):
    answer = emulator_api.post(LEADS, json=[{"name": f"L{n}"} for n in range(51)])

    assert answer.status_code == 400
    assert emulator.store.leads == {}


def test_an_unknown_field_id_is_refused_in_kommos_shape(emulator_api):
    lead = {"name": "A", "custom_fields_values": [{"field_id": 999, "values": [{"value": "x"}]}]}

    answer = emulator_api.post(LEADS, json=[lead])

    assert answer.headers["Content-Type"] == "application/problem+json"
    assert answer.json() == {
        "validation-errors": [
            {
                "request_id": "0",
                "errors": [
                    {
                        "code": "NotSupportedChoice",
                        "path": "custom_fields_values.0.field_id",
                        "detail": "The value you selected is not a valid choice.",
                    }
                ],
            }
        ],
        "title": "Bad Request",
        "type": "https://httpstatus.es/400",
        "status": 400,
        "detail": "Request validation failed",
    }


def test_an_enum_of_another_field_is_refused(emulator, emulator_api, status_field):
    other = emulator.add_custom_field("leads", "Other", "select", enums=["X"])
    values = [{"field_id": status_field["id"], "values": [{"enum_id": other["enums"][0]["id"]}]}]

    answer = emulator_api.post(LEADS, json=[{"name": "A", "custom_fields_values": values}])

    (item,) = validation_errors(answer)
    assert item["errors"][0]["path"] == "custom_fields_values.0.values.0.enum_id"
    assert item["errors"][0]["code"] == "NotSupportedChoice"


def test_a_select_value_may_be_given_by_its_text(emulator, emulator_api, status_field):
    values = [{"field_id": status_field["id"], "values": [{"value": "Pronta"}]}]
    lead = {"name": "A", "custom_fields_values": values}

    (ref,) = embedded(emulator_api.post(LEADS, json=[lead]))

    (stored,) = emulator.store.leads[ref["id"]]["custom_fields_values"]
    assert stored["values"] == [
        {"value": "Pronta", "enum_id": status_field["enums"][1]["id"], "enum_code": None}
    ]


@pytest.mark.parametrize(
    ("lead", "path"),
    [
        ({"name": "A", "price": "250"}, "price"),
        ({"name": 42}, "name"),
        ({"name": "A", "status_id": 1}, "status_id"),
        ({"name": "A", "pipeline_id": 1}, "pipeline_id"),
    ],
)
def test_wrong_types_and_unknown_stages_are_refused(emulator_api, lead, path):
    (item,) = validation_errors(emulator_api.post(LEADS, json=[lead]))

    assert [error["path"] for error in item["errors"]] == [path]


def test_a_number_field_refuses_text(emulator, emulator_api):
    field = emulator.add_custom_field("leads", "Budget", "numeric")
    values = [{"field_id": field["id"], "values": [{"value": "a lot"}]}]

    (item,) = validation_errors(emulator_api.post(LEADS, json=[{"custom_fields_values": values}]))

    assert item["errors"][0]["path"] == "custom_fields_values.0.values.0.value"


def test_one_invalid_lead_rejects_the_whole_batch(emulator, emulator_api):
    batch = [{"name": "good"}, {"name": "bad", "status_id": 1}, {"name": "good too"}]

    errors = validation_errors(emulator_api.post(LEADS, json=batch))

    assert [item["request_id"] for item in errors] == ["1"]
    assert emulator.store.leads == {}


def test_a_patch_without_id_is_refused(emulator_api):
    (item,) = validation_errors(emulator_api.patch(LEADS, json=[{"name": "x"}]))

    assert item["errors"][0]["path"] == "id"


def test_tags_are_created_by_name_on_a_lead(emulator, emulator_api):
    lead = {"name": "A", "_embedded": {"tags": [{"name": "oficina"}]}}

    (ref,) = embedded(emulator_api.post(LEADS, json=[lead]))

    read = emulator_api.get(f"{LEADS}/{ref['id']}").json()
    assert [tag["name"] for tag in read["_embedded"]["tags"]] == ["oficina"]


def test_timestamps_follow_a_clock_that_was_set(emulator):
    emulator.clock.set(1_600_000_000)

    lead = emulator.add_lead(name="Order 1")

    assert 1_600_000_000 <= lead["created_at"] < 1_600_000_060
