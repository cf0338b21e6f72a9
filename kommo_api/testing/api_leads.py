"""/api/v4/leads: list, get, create, update, and the complex create with contact and company."""

from .answers import ApiError, Issues, hal, no_content, raise_if_invalid
from .book import API, request_id_of
from .context import Ctx
from .listing import ordered, paged_answer, record_filter

COMPLEX_MAX_VALUES = 40  # custom field values per entity in /leads/complex


def list_leads(ctx: Ctx):
    store, params = ctx.store, ctx.params
    if params.get("query"):
        records = [store.leads[i] for i in store.search_leads(str(params["query"]))]
    else:
        records = list(store.leads.values())
    if params.get("filter"):
        matches = record_filter(params["filter"])
        records = [record for record in records if matches(record)]
    records = ordered(records, params.get("order"))
    with_contacts = "contacts" in ctx.with_
    return paged_answer(
        ctx.request,
        params,
        records,
        "leads",
        lambda lead: ctx.emu.leads.render(lead, ctx.base, with_contacts),
    )


def get_lead(ctx: Ctx, lead_id: int):
    lead = ctx.store.leads.get(lead_id)
    if lead is None:
        # Kommo answers a missing (or deleted) entity with 204, not 404.
        return no_content()
    return hal(ctx.emu.leads.render(lead, ctx.base, "contacts" in ctx.with_))


def _entity_ref(ctx: Ctx, lead: dict, **extra) -> dict:
    href = f"{ctx.base}/api/v4/leads/{lead['id']}"
    return {"id": lead["id"], **extra, "_links": {"self": {"href": href}}}


def create_leads(ctx: Ctx):
    items = ctx.batch()
    leads = ctx.emu.leads.create(items, API)
    refs = [
        _entity_ref(ctx, lead, request_id=request_id_of(item, index))
        for index, (item, lead) in enumerate(zip(items, leads, strict=True))
    ]
    return hal({"_links": ctx.self_link(), "_embedded": {"leads": refs}})


def update_leads(ctx: Ctx):
    items = ctx.batch()
    leads = ctx.emu.leads.update(items, API)
    refs = [
        _entity_ref(ctx, lead, updated_at=lead["updated_at"], request_id=request_id_of(item, i))
        for i, (item, lead) in enumerate(zip(items, leads, strict=True))
    ]
    return hal({"_links": ctx.self_link(), "_embedded": {"leads": refs}})


def update_lead(ctx: Ctx, lead_id: int):
    body = ctx.object_body()
    if lead_id not in ctx.store.leads:
        raise ApiError(404, "Lead not found")
    (lead,) = ctx.emu.leads.update([dict(body, id=lead_id)], API)
    return hal(_entity_ref(ctx, lead, updated_at=lead["updated_at"]))


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
    Contacts given with "id" are linked, others are created. Nothing is ever merged."""
    items = ctx.batch()
    all_issues = [Issues(request_id_of(item, index)) for index, item in enumerate(items)]
    plans = [
        _plan_complex(ctx, item, issues) for item, issues in zip(items, all_issues, strict=True)
    ]
    raise_if_invalid(all_issues)
    answer = []
    for (lead_plan, contact, company), issues in zip(plans, all_issues, strict=True):
        contact_id = None
        if contact is not None:
            new_contact = contact[0] == "new"
            contact_id = (
                ctx.emu.contacts.insert(contact[1], API)["id"] if new_contact else contact[1]
            )
            lead_plan["contacts"] = [contact_id]
        company_id = _company_id(ctx, company)
        lead = ctx.emu.leads.insert(lead_plan, API)
        if company_id is not None:
            lead["_company_id"] = company_id
        answer.append(
            {
                "id": lead["id"],
                "contact_id": contact_id,
                "company_id": company_id,
                "request_id": [issues.request_id],
                "merged": False,
            }
        )
    return hal(answer)


ROUTES = [
    ("/api/v4/leads", ["GET"], list_leads),
    ("/api/v4/leads", ["POST"], create_leads),
    ("/api/v4/leads", ["PATCH"], update_leads),
    ("/api/v4/leads/<int:lead_id>", ["GET"], get_lead),
    ("/api/v4/leads/<int:lead_id>", ["PATCH"], update_lead),
    ("/api/v4/leads/complex", ["POST"], create_leads_complex),
]
