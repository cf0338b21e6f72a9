"""/api/v4/leads: list, get, create, update, and the complex create with contact and company."""

from .answers import Issues, hal, raise_if_invalid
from .book import API, request_id_of
from .context import Ctx
from .duplicates import contact_keys, find_duplicate, merged_answer
from .entities import EntityEndpoints

COMPLEX_MAX_VALUES = 40  # custom field values per entity in /leads/complex


LEADS = EntityEndpoints(
    "leads",
    lambda ctx, query: ctx.store.search_leads(query),
    with_key="contacts",
    not_found="Lead not found",
)


# complex -------------------------------------------------------------------------------------
def _single_entry(entries, path: str, issues: Issues) -> dict | None:
    """The one contact / company a complex lead may embed."""
    if not isinstance(entries, list):
        issues.bad_type(path, "array")
        return None
    if len(entries) > 1:
        issues.too_many(path, 1)
    if entries and not isinstance(entries[0], dict):
        issues.bad_type(f"{path}.0", "object")
        return None
    return entries[0] if entries else None


def _linked_or_new(ctx: Ctx, entries, kind: str, issues: Issues):
    """One embedded contact/company: ("link", id), ("new", plan) or None."""
    path = f"_embedded.{kind}"
    entry = _single_entry(entries, path, issues)
    if entry is None:
        return None
    nested = issues.nested(f"{path}.0")
    records = ctx.store.contacts if kind == "contacts" else ctx.store.companies
    if entry.get("id") is not None:
        if entry["id"] in records:
            return ("link", entry["id"])
        nested.bad_choice("id")
        return None
    if kind == "contacts":
        return ("new", ctx.emu.contacts.check(entry, nested, max_values=COMPLEX_MAX_VALUES))
    name = entry.get("name")
    if name is not None and not isinstance(name, str):
        nested.bad_type("name", "string")
    return ("new", {"name": name or ""})


def _plan_complex(ctx: Ctx, item, issues: Issues):
    if not isinstance(item, dict):
        issues.bad_type("", "object")
        return None
    embedded = item.get("_embedded") or {}
    if not isinstance(embedded, dict):
        issues.bad_type("_embedded", "object")
        return None
    lead_item = {key: value for key, value in item.items() if key != "_embedded"}
    if "tags" in embedded:
        lead_item["_embedded"] = {"tags": embedded["tags"]}
    lead_plan = ctx.emu.leads.check(lead_item, issues, max_values=COMPLEX_MAX_VALUES)
    contact = _linked_or_new(ctx, embedded.get("contacts", []), "contacts", issues)
    company = _linked_or_new(ctx, embedded.get("companies", []), "companies", issues)
    return lead_plan, contact, company


def _company_id(ctx: Ctx, company) -> int | None:
    if company is None:
        return None
    if company[0] == "link":
        return company[1]
    now = ctx.emu.clock.timestamp()
    record = {"id": ctx.store.next_id("company"), "name": company[1]["name"]}
    record.update(created_at=now, updated_at=now, account_id=ctx.store.account["id"])
    ctx.store.companies[record["id"]] = record
    return record["id"]


def create_leads_complex(ctx: Ctx):
    """POST /api/v4/leads/complex: at most 50 leads, each with at most one contact and one
    company and at most 40 custom field values per entity; the batch is validated as a whole.
    Contacts given with "id" are linked, others are created. With the ``duplicate_control``
    reading on, a duplicate of an existing open lead is merged into it (``duplicates.py``):
    one answer per existing lead, naming every request id merged into it."""
    items = ctx.batch()
    all_issues = [Issues(request_id_of(item, index)) for index, item in enumerate(items)]
    plans = [
        _plan_complex(ctx, item, issues) for item, issues in zip(items, all_issues, strict=True)
    ]
    raise_if_invalid(all_issues)
    existing = set(ctx.store.leads) if ctx.emu.duplicate_control else set()
    answer, merged = [], {}
    for (lead_plan, contact, company), issues in zip(plans, all_issues, strict=True):
        keys = contact_keys(ctx.store, contact) if existing else (set(), set())
        kept = find_duplicate(ctx.store, lead_plan["pipeline_id"], keys, existing)
        if kept is not None:
            if kept not in merged:
                merged[kept] = merged_answer(ctx.store, kept)
                answer.append(merged[kept])
            merged[kept]["request_id"].append(issues.request_id)
            continue
        answer.append(_create_complex(ctx, lead_plan, contact, company, issues.request_id))
    return hal(answer)


def _create_complex(ctx: Ctx, lead_plan: dict, contact, company, request_id: str) -> dict:
    contact_id = None
    if contact is not None:
        new_contact = contact[0] == "new"
        contact_id = ctx.emu.contacts.insert(contact[1], API)["id"] if new_contact else contact[1]
        lead_plan["contacts"] = [contact_id]
    company_id = _company_id(ctx, company)
    lead = ctx.emu.leads.insert(lead_plan, API)
    if company_id is not None:
        lead["_company_id"] = company_id
    return {
        "id": lead["id"],
        "contact_id": contact_id,
        "company_id": company_id,
        "request_id": [request_id],
        "merged": False,
    }


ROUTES = [
    *LEADS.routes(),
    ("/api/v4/leads/complex", ["POST"], create_leads_complex),
]
