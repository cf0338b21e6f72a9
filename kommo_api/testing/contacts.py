"""Contacts: validation, create / update, the fast bulk path for fixtures, rendering."""

from collections.abc import Iterable

from .book import public_copy
from .cfields import copy_values, merge_values
from .entities import EntityBook

CONTACT_INTS = ("responsible_user_id", "created_by", "updated_by", "created_at", "updated_at")
CONTACT_STRINGS = ("name", "first_name", "last_name")
COPIED_KEYS = ("responsible_user_id", "created_by", "created_at", *CONTACT_STRINGS)


class ContactBook(EntityBook):
    entity = "contacts"
    int_keys = CONTACT_INTS
    string_keys = CONTACT_STRINGS

    def insert(self, plan: dict, source: str) -> dict:
        contact = self._blank(self.clock.timestamp(), plan.get("updated_by"))
        if "updated_at" in plan or "created_at" in plan:
            contact["updated_at"] = plan.get("updated_at", plan.get("created_at"))
        self._apply(contact, plan)
        return self._keep(contact, source)

    def announce_added(self, record: dict) -> None:
        self.notifier.contact_event("add", record)

    def announce_change(self, record: dict, before: dict) -> None:
        self.notifier.contact_event("update", record)

    def _blank(self, now: int, updated_by: int | None = None) -> dict:
        user_id = self.user_id()
        return {
            "id": self.store.next_id("contact"),
            "name": "",
            "first_name": "",
            "last_name": "",
            "responsible_user_id": user_id,
            "group_id": 0,
            "created_by": user_id,
            "updated_by": updated_by if updated_by is not None else user_id,
            "created_at": now,
            "updated_at": now,
            "closest_task_at": None,
            "is_deleted": False,
            "is_unsorted": False,
            "custom_fields_values": None,
            "account_id": self.store.account["id"],
        }

    def _apply(self, contact: dict, plan: dict) -> bool:
        for key in COPIED_KEYS:
            if key in plan:
                contact[key] = plan[key]
        if "name" not in plan and ("first_name" in plan or "last_name" in plan):
            parts = (contact["first_name"], contact["last_name"])
            contact["name"] = " ".join(part for part in parts if part)
        if "custom_fields_values" in plan:
            merged = merge_values(contact["custom_fields_values"], plan["custom_fields_values"])
            contact["custom_fields_values"] = merged
        self.store.index_contact(contact)
        return False

    # fixtures ------------------------------------------------------------------------------
    def add_simple(
        self,
        name: str,
        phones: Iterable[str] = (),
        emails: Iterable[str] = (),
        created_at: int | None = None,
        updated_at: int | None = None,
    ) -> dict:
        """A contact with PHONE/EMAIL values, built without HTTP or validation (fast: used to
        load tens of thousands of contacts). Fires nothing."""
        now = self.clock.timestamp()
        contact = self._blank(created_at if created_at is not None else now)
        contact["updated_at"] = updated_at if updated_at is not None else contact["created_at"]
        contact["name"] = contact["first_name"] = name
        values = [
            cf
            for cf in (self._multitext("PHONE", phones), self._multitext("EMAIL", emails))
            if cf is not None
        ]
        contact["custom_fields_values"] = values or None
        self.store.contacts[contact["id"]] = contact
        self.store.index_contact(contact)
        return contact

    def _multitext(self, code: str, texts: Iterable[str]) -> dict | None:
        texts = [text for text in texts if text]
        field = self.store.field_by_code("contacts", code)
        if not texts or field is None:
            return None
        enum = field["enums"][0]
        return {
            "field_id": field["id"],
            "field_name": field["name"],
            "field_code": code,
            "field_type": field["type"],
            "values": [
                {"value": text, "enum_id": enum["id"], "enum_code": enum["value"]} for text in texts
            ],
        }

    # rendering -----------------------------------------------------------------------------
    def render(self, contact: dict, base: str, with_leads: bool = False) -> dict:
        public = public_copy(contact)
        public["custom_fields_values"] = copy_values(contact["custom_fields_values"])
        public["_links"] = {"self": {"href": f"{base}/api/v4/contacts/{contact['id']}"}}
        embedded: dict = {"tags": [], "companies": []}
        if with_leads:
            embedded["leads"] = [
                {"id": lead_id, "_links": {"self": {"href": f"{base}/api/v4/leads/{lead_id}"}}}
                for lead_id in sorted(self.store.contact_leads.get(contact["id"], ()))
            ]
        public["_embedded"] = embedded
        return public
