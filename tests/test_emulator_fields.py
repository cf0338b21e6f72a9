"""Custom field values on leads: each field type accepts and stores what Kommo does."""

import pytest

LEADS = "/api/v4/leads"


def create_with(api, field_id, values):
    lead = {"name": "Order 1", "custom_fields_values": [{"field_id": field_id, "values": values}]}
    return api.post(LEADS, json=[lead])


def stored_values(emulator, answer):
    assert answer.status_code == 200, answer.text
    (ref,) = answer.json()["_embedded"]["leads"]
    (field,) = emulator.store.leads[ref["id"]]["custom_fields_values"]
    return [value["value"] for value in field["values"]]


def error_paths(answer):
    assert answer.status_code == 400, answer.text
    (item,) = answer.json()["validation-errors"]
    return [error["path"] for error in item["errors"]]


@pytest.mark.parametrize(
    ("field_type", "given", "stored"),
    [
        ("text", "RO-0042", "RO-0042"),
        ("textarea", "line 1\nline 2", "line 1\nline 2"),
        ("numeric", 12.5, "12.5"),
        ("numeric", "42", "42"),
        ("checkbox", True, True),
        ("date", 1_700_000_000, 1_700_000_000),
        ("date", "2024-01-02T00:00:00+00:00", 1_704_153_600),
        ("url", "https://example.com/os/42", "https://example.com/os/42"),
    ],
)
def test_a_value_is_stored_as_kommo_answers_it(emulator, emulator_api, field_type, given, stored):
    field = emulator.add_custom_field("leads", "F", field_type)

    answer = create_with(emulator_api, field["id"], [{"value": given}])

    assert stored_values(emulator, answer) == [stored]


@pytest.mark.parametrize(
    ("field_type", "given"),
    [("numeric", "a lot"), ("checkbox", "yes"), ("date", "tomorrow"), ("text", {"a": 1})],
)
def test_a_value_of_the_wrong_type_is_refused(emulator, emulator_api, field_type, given):
    field = emulator.add_custom_field("leads", "F", field_type)

    answer = create_with(emulator_api, field["id"], [{"value": given}])

    assert error_paths(answer) == ["custom_fields_values.0.values.0.value"]


def test_a_multiselect_keeps_several_choices(emulator, emulator_api):
    field = emulator.add_custom_field("leads", "Serviços", "multiselect", enums=["Óleo", "Freio"])
    choices = [{"enum_id": enum["id"]} for enum in field["enums"]]

    answer = create_with(emulator_api, field["id"], choices)

    assert stored_values(emulator, answer) == ["Óleo", "Freio"]


def test_a_select_takes_a_single_choice(emulator, emulator_api):
    field = emulator.add_custom_field("leads", "Status", "select", enums=["A", "B"])
    choices = [{"enum_id": enum["id"]} for enum in field["enums"]]

    answer = create_with(emulator_api, field["id"], choices)

    assert error_paths(answer) == ["custom_fields_values.0.values"]


def test_an_unknown_select_text_is_refused(emulator, emulator_api):
    field = emulator.add_custom_field("leads", "Status", "select", enums=["A", "B"])

    answer = create_with(emulator_api, field["id"], [{"value": "C"}])

    assert error_paths(answer) == ["custom_fields_values.0.values.0.value"]


def test_a_field_is_addressed_by_its_code(emulator, emulator_api):
    emulator.add_custom_field("leads", "Order number", "text", code="ORDER_REF")
    lead = {"custom_fields_values": [{"field_code": "ORDER_REF", "values": [{"value": "RO-7"}]}]}

    answer = emulator_api.post(LEADS, json=[lead])

    assert stored_values(emulator, answer) == ["RO-7"]


def test_a_patch_replaces_named_fields_and_keeps_the_others(emulator, emulator_api):
    plate = emulator.add_custom_field("leads", "Plate", "text")
    notes = emulator.add_custom_field("leads", "Notes", "text")
    lead = emulator.add_lead(
        name="Order 1",
        custom_fields_values=[
            {"field_id": plate["id"], "values": [{"value": "ABC1D23"}]},
            {"field_id": notes["id"], "values": [{"value": "urgent"}]},
        ],
    )
    change = [{"field_id": plate["id"], "values": [{"value": "XYZ9K87"}]}]

    emulator_api.patch(LEADS, json=[{"id": lead["id"], "custom_fields_values": change}])

    values = {
        cf["field_name"]: cf["values"][0]["value"]
        for cf in emulator.store.leads[lead["id"]]["custom_fields_values"]
    }
    assert values == {"Plate": "XYZ9K87", "Notes": "urgent"}


def test_null_values_clear_a_field(emulator, emulator_api):
    plate = emulator.add_custom_field("leads", "Plate", "text")
    values = [{"field_id": plate["id"], "values": [{"value": "ABC1D23"}]}]
    lead = emulator.add_lead(name="Order 1", custom_fields_values=values)
    clear = [{"field_id": plate["id"], "values": None}]

    emulator_api.patch(LEADS, json=[{"id": lead["id"], "custom_fields_values": clear}])

    assert emulator.store.leads[lead["id"]]["custom_fields_values"] is None
