"""Links of a lead to contacts and companies, the documented way to link an existing lead.

``POST /api/v4/leads/link`` and ``/unlink`` take a batch whose items name their lead in
``entity_id``; ``POST /api/v4/leads/{id}/link`` and ``/unlink`` take items for that one lead;
``GET /api/v4/leads/{id}/links`` lists them. Sources: Kommo's "Linking entities" and "Linked
entities list" references, and the official PHP library (``LinkMethodsTrait``: ``link`` reads
``_embedded.links`` from the answer, ``unlink`` expects 204 No Content; ``Links`` service:
``{entity}/link`` and ``{entity}/unlink`` with ``entity_id`` in each item; contacts carry
``metadata: {"is_main": true}``). The docs name the flag ``main_contact`` in answers; both
spellings are read. A batch is validated as a whole (at most 50 items), as every write.
"""

from .answers import ApiError, Issues, hal, is_int, no_content, raise_if_invalid
from .book import API, request_id_of
from .context import Ctx

LINKABLE = ("contacts", "companies")


def _main_flag(metadata) -> bool:
    if not isinstance(metadata, dict):
        return False
    return bool(metadata.get("is_main", metadata.get("main_contact", False)))


def _check_link(ctx: Ctx, item, issues: Issues, lead_id: int | None) -> tuple | None:
    """``(lead_id, kind, target_id, main)`` for a valid item; problems go to ``issues``."""
    if not isinstance(item, dict):
        issues.bad_type("", "object")
        return None
    if lead_id is None:
        lead_id = item.get("entity_id")
        if lead_id is None:
            issues.blank("entity_id")
        elif not is_int(lead_id) or lead_id not in ctx.store.leads:
            issues.bad_choice("entity_id")
    kind, target = item.get("to_entity_type"), item.get("to_entity_id")
    if kind not in LINKABLE:
        issues.bad_choice("to_entity_type")
    else:
        records = ctx.store.contacts if kind == "contacts" else ctx.store.companies
        if not is_int(target) or target not in records:
            issues.bad_choice("to_entity_id")
    metadata = item.get("metadata")
    if metadata is not None and not isinstance(metadata, dict):
        issues.bad_type("metadata", "object")
    return None if issues else (lead_id, kind, target, _main_flag(metadata))


def render_link(lead_id: int, kind: str, target: int, main: bool) -> dict:
    """The answer's shape for one link (``entity_*`` keys as the PHP library reads them)."""
    metadata = {"main_contact": main} if kind == "contacts" else None
    return {
        "entity_id": lead_id,
        "entity_type": "leads",
        "to_entity_id": target,
        "to_entity_type": kind,
        "metadata": metadata,
    }


def _change(ctx: Ctx, lead_id: int | None, unlink: bool):
    if lead_id is not None and lead_id not in ctx.store.leads:
        raise ApiError(404, "Lead not found")
    items = ctx.batch()
    all_issues = [Issues(request_id_of(item, i)) for i, item in enumerate(items)]
    links = [
        _check_link(ctx, item, issues, lead_id)
        for item, issues in zip(items, all_issues, strict=True)
    ]
    raise_if_invalid(all_issues)
    by_lead: dict[int, list[tuple]] = {}
    for owner, kind, target, main in links:
        by_lead.setdefault(owner, []).append((kind, target, main))
    for owner, changes in by_lead.items():
        ctx.emu.leads.change_links(ctx.store.leads[owner], changes, unlink, API)
    if unlink:
        return no_content()
    rendered = [render_link(*link) for link in links]
    body = {"_total_items": len(rendered), "_links": ctx.self_link()}
    body["_embedded"] = {"links": rendered}
    return hal(body)


def link_batch(ctx: Ctx):
    return _change(ctx, None, unlink=False)


def unlink_batch(ctx: Ctx):
    return _change(ctx, None, unlink=True)


def link_one(ctx: Ctx, lead_id: int):
    return _change(ctx, lead_id, unlink=False)


def unlink_one(ctx: Ctx, lead_id: int):
    return _change(ctx, lead_id, unlink=True)


def list_links(ctx: Ctx, lead_id: int):
    """A lead's contacts (the first is the main one) and company; 204 when it has none."""
    lead = ctx.store.leads.get(lead_id)
    if lead is None:
        return no_content()
    contacts = ctx.store.lead_contacts.get(lead_id, [])
    links = [render_link(lead_id, "contacts", cid, i == 0) for i, cid in enumerate(contacts)]
    if lead.get("_company_id") is not None:
        links.append(render_link(lead_id, "companies", lead["_company_id"], False))
    if not links:
        return no_content()
    body = {"_total_items": len(links), "_links": ctx.self_link(), "_embedded": {"links": links}}
    return hal(body)


ROUTES = [
    ("/api/v4/leads/link", ["POST"], link_batch),
    ("/api/v4/leads/unlink", ["POST"], unlink_batch),
    ("/api/v4/leads/<int:lead_id>/link", ["POST"], link_one),
    ("/api/v4/leads/<int:lead_id>/unlink", ["POST"], unlink_one),
    ("/api/v4/leads/<int:lead_id>/links", ["GET"], list_links),
]
