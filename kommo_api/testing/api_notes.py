"""Notes of leads and contacts: /api/v4/{leads|contacts}/{id}/notes and the batch /notes."""

from .answers import Issues, hal, is_int, no_content, raise_if_invalid
from .book import request_id_of
from .context import Ctx
from .listing import int_set, paged_answer, record_filter

NOTE_TYPES = {
    "common",
    "call_in",
    "call_out",
    "service_message",
    "extended_service_message",
    "message_cashier",
    "geolocation",
    "sms_in",
    "sms_out",
    "attachment",
    "invoice_paid",
}
TEXT_NOTE_TYPES = {"common", "service_message", "extended_service_message", "sms_in", "sms_out"}


def _records(ctx: Ctx, entity: str) -> dict:
    return ctx.store.leads if entity == "leads" else ctx.store.contacts


def _check_note(ctx: Ctx, entity: str, item, issues: Issues, entity_id: int | None) -> None:
    if not isinstance(item, dict):
        issues.bad_type("", "object")
        return
    if entity_id is None:
        entity_id = item.get("entity_id")
        if entity_id is None:
            issues.blank("entity_id")
        elif not is_int(entity_id) or entity_id not in _records(ctx, entity):
            issues.bad_choice("entity_id")
    elif entity_id not in _records(ctx, entity):
        issues.bad_choice("entity_id")
    if item.get("note_type") not in NOTE_TYPES:
        issues.bad_choice("note_type")
    params = item.get("params")
    if not isinstance(params, dict):
        issues.blank("params")
    elif item.get("note_type") in TEXT_NOTE_TYPES:
        text = params.get("text")
        if not isinstance(text, str) or not text.strip():
            issues.blank("params.text")


def _add_notes(ctx: Ctx, entity: str, entity_id: int | None):
    items = ctx.batch()
    all_issues = [Issues(request_id_of(item, i)) for i, item in enumerate(items)]
    for item, issues in zip(items, all_issues, strict=True):
        _check_note(ctx, entity, item, issues, entity_id)
    raise_if_invalid(all_issues)
    now, user_id = ctx.emu.clock.timestamp(), ctx.store.account["current_user_id"]
    refs = []
    for item, issues in zip(items, all_issues, strict=True):
        note = {
            "id": ctx.store.next_id("note"),
            "entity_id": entity_id if entity_id is not None else item["entity_id"],
            "created_by": user_id,
            "updated_by": user_id,
            "created_at": now,
            "updated_at": now,
            "responsible_user_id": item.get("responsible_user_id", user_id),
            "group_id": 0,
            "note_type": item["note_type"],
            "params": dict(item["params"]),
            "account_id": ctx.store.account["id"],
            "_entity": entity,
        }
        ctx.store.notes[note["id"]] = note
        ref = {"id": note["id"], "entity_id": note["entity_id"], "request_id": issues.request_id}
        ref["_links"] = {"self": {"href": _note_href(ctx, note)}}
        refs.append(ref)
    return hal({"_links": ctx.self_link(), "_embedded": {"notes": refs}})


def _note_href(ctx: Ctx, note: dict) -> str:
    return f"{ctx.base}/api/v4/{note['_entity']}/{note['entity_id']}/notes/{note['id']}"


def _render(ctx: Ctx, note: dict) -> dict:
    public = {key: value for key, value in note.items() if not key.startswith("_")}
    public["params"] = dict(note["params"])
    public["_links"] = {"self": {"href": _note_href(ctx, note)}}
    return public


def _list_notes(ctx: Ctx, entity: str, entity_ids: set[int] | None):
    flt = ctx.params.get("filter") or {}
    notes = [n for n in ctx.store.notes.values() if n["_entity"] == entity]
    if entity_ids is None and isinstance(flt, dict) and "entity_id" in flt:
        entity_ids = int_set(flt["entity_id"], "filter[entity_id]")
    if entity_ids is not None:
        notes = [n for n in notes if n["entity_id"] in entity_ids]
    if isinstance(flt, dict) and "note_type" in flt:
        types = set(flt["note_type"]) if isinstance(flt["note_type"], list) else {flt["note_type"]}
        notes = [n for n in notes if n["note_type"] in types]
    if isinstance(flt, dict):
        matches = record_filter({k: v for k, v in flt.items() if k in ("id", "updated_at")})
        notes = [n for n in notes if matches(n)]
    return paged_answer(ctx.request, ctx.params, notes, "notes", lambda n: _render(ctx, n))


def add_entity_notes(ctx: Ctx, entity: str, entity_id: int):
    return _add_notes(ctx, entity, entity_id)


def add_notes(ctx: Ctx, entity: str):
    return _add_notes(ctx, entity, None)


def list_entity_notes(ctx: Ctx, entity: str, entity_id: int):
    return _list_notes(ctx, entity, {entity_id})


def list_notes(ctx: Ctx, entity: str):
    return _list_notes(ctx, entity, None)


def get_note(ctx: Ctx, entity: str, note_id: int):
    note = ctx.store.notes.get(note_id)
    if note is None or note["_entity"] != entity:
        return no_content()
    return hal(_render(ctx, note))


_ENTITY = "<any(leads, contacts):entity>"
ROUTES = [
    (f"/api/v4/{_ENTITY}/<int:entity_id>/notes", ["POST"], add_entity_notes),
    (f"/api/v4/{_ENTITY}/<int:entity_id>/notes", ["GET"], list_entity_notes),
    (f"/api/v4/{_ENTITY}/notes", ["POST"], add_notes),
    (f"/api/v4/{_ENTITY}/notes", ["GET"], list_notes),
    (f"/api/v4/{_ENTITY}/notes/<int:note_id>", ["GET"], get_note),
]
