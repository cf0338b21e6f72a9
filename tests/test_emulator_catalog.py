"""Account, pipelines, custom fields, tags, notes and webhook subscriptions in the emulator."""

import pytest

from kommo_api.testing import KommoEmulator

FIELDS = "/api/v4/leads/custom_fields"
WEBHOOKS = "/api/v4/webhooks"
HOOK = "http://127.0.0.1:9/kommo/webhook/s3cr3t"


def embedded(answer, key):
    assert answer.status_code in (200, 201), answer.text
    return answer.json()["_embedded"][key]


def errors_of(answer):
    assert answer.status_code == 400, answer.text
    return [error for item in answer.json()["validation-errors"] for error in item["errors"]]


def test_the_account_is_the_emulated_one(emulator, emulator_api):
    account = emulator_api.get("/api/v4/account").json()

    assert (account["id"], account["subdomain"]) == (30000001, "acme")
    assert account["current_user_id"]


def test_every_pipeline_has_the_won_and_lost_stages(emulator, emulator_api):
    emulator.add_pipeline("Garantia", ["Aberto", "Em análise"])

    pipelines = embedded(emulator_api.get("/api/v4/leads/pipelines"), "pipelines")

    assert len(pipelines) == 2
    for pipeline in pipelines:
        status_ids = [status["id"] for status in pipeline["_embedded"]["statuses"]]
        assert status_ids[-2:] == [142, 143]


def test_a_missing_pipeline_is_404(emulator_api):
    assert emulator_api.get("/api/v4/leads/pipelines/1").status_code == 404


def test_a_select_field_is_created_with_enum_ids(emulator_api):
    spec = {"name": "Status da OS", "type": "select", "enums": [{"value": "A"}, {"value": "B"}]}

    (created,) = embedded(emulator_api.post(FIELDS, json=[spec]), "custom_fields")

    listed = embedded(emulator_api.get(FIELDS), "custom_fields")
    assert created["id"] in [field["id"] for field in listed]
    assert [enum["value"] for enum in created["enums"]] == ["A", "B"]
    assert all(isinstance(enum["id"], int) for enum in created["enums"])


@pytest.mark.parametrize(
    ("spec", "path"),
    [
        ({"name": "Stage", "type": "select"}, "enums"),
        ({"name": "Plate", "type": "plate"}, "type"),
        ({"type": "text"}, "name"),
    ],
)
def test_an_incomplete_field_is_refused(emulator_api, spec, path):
    (error,) = errors_of(emulator_api.post(FIELDS, json=[spec]))

    assert error["path"] == path


def test_contacts_have_phone_and_email_multitext_fields(emulator_api):
    fields = embedded(emulator_api.get("/api/v4/contacts/custom_fields"), "custom_fields")

    by_code = {field["code"]: field for field in fields}
    assert by_code["PHONE"]["type"] == by_code["EMAIL"]["type"] == "multitext"
    assert "MOB" in [enum["value"] for enum in by_code["PHONE"]["enums"]]


def test_the_demo_account_has_the_repair_shop_pipeline_and_no_vehicle_fields():
    emu = KommoEmulator(seed="demo")

    (pipeline,) = emu.store.pipelines.values()
    stages = [status["name"] for status in pipeline["statuses"].values()]
    field_names = {field["name"] for field in emu.store.lead_fields.values()}
    assert pipeline["name"] == "Oficina"
    assert stages[:4] == ["Novo", "Diagnóstico", "Em reparo", "Pronto para retirada"]
    assert "Status da OS" in field_names
    assert not {"Vehicle", "Plate", "Order number"} & field_names
    assert emu.store.account["name"] == "Oficina Demo"


def test_tags_are_created_and_listed(emulator_api):
    embedded(emulator_api.post("/api/v4/leads/tags", json=[{"name": "urgente"}]), "tags")

    tags = embedded(emulator_api.get("/api/v4/leads/tags"), "tags")

    assert [tag["name"] for tag in tags] == ["urgente"]


def test_notes_are_added_to_one_lead_and_in_a_batch(emulator, emulator_api):
    lead = emulator.add_lead(name="Order 1")
    note = {"note_type": "common", "params": {"text": "Peças chegaram"}}

    emulator_api.post(f"/api/v4/leads/{lead['id']}/notes", json=[note])
    emulator_api.post("/api/v4/leads/notes", json=[dict(note, entity_id=lead["id"])])

    notes = embedded(emulator_api.get(f"/api/v4/leads/{lead['id']}/notes"), "notes")
    assert [n["params"]["text"] for n in notes] == ["Peças chegaram"] * 2
    assert {n["entity_id"] for n in notes} == {lead["id"]}


def test_a_note_for_an_unknown_lead_is_refused(emulator_api):
    note = {"entity_id": 1, "note_type": "common", "params": {"text": "x"}}

    (error,) = errors_of(emulator_api.post("/api/v4/leads/notes", json=[note]))

    assert error["path"] == "entity_id"


def test_a_webhook_is_subscribed_listed_and_unsubscribed(emulator_api):
    emulator_api.post(WEBHOOKS, json={"destination": HOOK, "settings": ["status_lead"]})
    listed = embedded(emulator_api.get(WEBHOOKS), "webhooks")

    emulator_api.delete(WEBHOOKS, json={"destination": HOOK})

    assert [(hook["destination"], hook["settings"]) for hook in listed] == [(HOOK, ["status_lead"])]
    assert emulator_api.get(WEBHOOKS).status_code == 204


def test_subscribing_again_replaces_the_settings(emulator, emulator_api):
    emulator_api.post(WEBHOOKS, json={"destination": HOOK, "settings": ["add_lead"]})
    emulator_api.post(WEBHOOKS, json={"destination": HOOK, "settings": ["update_lead"]})

    assert [hook["settings"] for hook in emulator.store.webhooks.values()] == [["update_lead"]]


@pytest.mark.parametrize(
    ("body", "path"),
    [
        ({"destination": HOOK, "settings": ["lead_moved"]}, "settings"),
        ({"destination": "ftp://x/y", "settings": ["add_lead"]}, "destination"),
        ({"destination": HOOK}, "settings"),
    ],
)
def test_a_bad_subscription_is_refused(emulator_api, body, path):
    (error,) = errors_of(emulator_api.post(WEBHOOKS, json=body))

    assert error["path"] == path


def test_an_unknown_path_is_a_json_404(emulator_api):
    answer = emulator_api.get("/api/v4/vehicles")

    assert answer.status_code == 404
    assert answer.json()["status"] == 404
