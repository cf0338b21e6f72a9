"""/api/v4/contacts: list (with Kommo's query search, phones by digits), get, create, update."""

from .entities import EntityEndpoints
from .store import Store

CONTACTS = EntityEndpoints(
    "contacts", Store.search_contacts, with_key="leads", not_found="Contact not found"
)

ROUTES = CONTACTS.routes()
