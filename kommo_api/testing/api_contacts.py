"""/api/v4/contacts: list (with Kommo's query search, phones by digits), get, create, update."""

from .answers import ApiError, hal, no_content
from .book import API, request_id_of
from .context import Ctx
from .listing import ordered, paged_answer, record_filter


def list_contacts(ctx: Ctx):
    store, params = ctx.store, ctx.params
    if params.get("query"):
        records = [store.contacts[i] for i in store.search_contacts(str(params["query"]))]
    else:
        records = list(store.contacts.values())
    if params.get("filter"):
        matches = record_filter(params["filter"])
        records = [record for record in records if matches(record)]
    records = ordered(records, params.get("order"))
    with_leads = "leads" in ctx.with_
    return paged_answer(
        ctx.request,
        params,
        records,
        "contacts",
        lambda contact: ctx.emu.contacts.render(contact, ctx.base, with_leads),
    )


def get_contact(ctx: Ctx, contact_id: int):
    contact = ctx.store.contacts.get(contact_id)
    if contact is None:
        return no_content()
    return hal(ctx.emu.contacts.render(contact, ctx.base, "leads" in ctx.with_))


def _ref(ctx: Ctx, contact: dict, **extra) -> dict:
    href = f"{ctx.base}/api/v4/contacts/{contact['id']}"
    return {"id": contact["id"], **extra, "_links": {"self": {"href": href}}}


def create_contacts(ctx: Ctx):
    items = ctx.batch()
    contacts = ctx.emu.contacts.create(items, API)
    refs = [
        _ref(ctx, contact, request_id=request_id_of(item, index))
        for index, (item, contact) in enumerate(zip(items, contacts, strict=True))
    ]
    return hal({"_links": ctx.self_link(), "_embedded": {"contacts": refs}})


def update_contacts(ctx: Ctx):
    items = ctx.batch()
    contacts = ctx.emu.contacts.update(items, API)
    refs = [
        _ref(ctx, contact, updated_at=contact["updated_at"], request_id=request_id_of(item, i))
        for i, (item, contact) in enumerate(zip(items, contacts, strict=True))
    ]
    return hal({"_links": ctx.self_link(), "_embedded": {"contacts": refs}})


def update_contact(ctx: Ctx, contact_id: int):
    body = ctx.object_body()
    if contact_id not in ctx.store.contacts:
        raise ApiError(404, "Contact not found")
    (contact,) = ctx.emu.contacts.update([dict(body, id=contact_id)], API)
    return hal(_ref(ctx, contact, updated_at=contact["updated_at"]))


ROUTES = [
    ("/api/v4/contacts", ["GET"], list_contacts),
    ("/api/v4/contacts", ["POST"], create_contacts),
    ("/api/v4/contacts", ["PATCH"], update_contacts),
    ("/api/v4/contacts/<int:contact_id>", ["GET"], get_contact),
    ("/api/v4/contacts/<int:contact_id>", ["PATCH"], update_contact),
]
