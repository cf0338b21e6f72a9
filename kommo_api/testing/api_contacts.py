"""/api/v4/contacts: list (with Kommo's query search), get, create, update.

How a phone-like ``query`` meets stored phone values is not documented: the emulator's
``phone_search`` reading compares digits whatever the format ("digits", the default) or wants
the stored text exactly ("exact"). CONTRACT.md, "Phone search".
"""

from .entities import EntityEndpoints


def _search(ctx, query: str) -> list[int]:
    return ctx.store.search_contacts(query, exact_phones=ctx.emu.phone_search == "exact")


CONTACTS = EntityEndpoints("contacts", _search, with_key="leads", not_found="Contact not found")

ROUTES = CONTACTS.routes()
