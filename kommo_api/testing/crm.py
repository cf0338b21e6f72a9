"""A person working in Kommo's UI: every change fires the subscribed webhooks.

Invalid changes raise ``RequestValidationError`` (the same checks as the REST API).
"""

from .book import CRM
from .cfields import simple_values


class CrmUser:
    def __init__(self, emu):
        self._emu = emu

    def _render(self, lead: dict) -> dict:
        return self._emu.leads.render(lead, self._emu.base_url, with_contacts=True)

    def _lead_item(self, changes: dict, custom_fields: dict | None) -> dict:
        item = {key: value for key, value in changes.items() if value is not None}
        if custom_fields:
            values = simple_values(self._emu.store, "leads", custom_fields)
            item["custom_fields_values"] = item.get("custom_fields_values", []) + values
        return item

    def move_lead(self, lead_id: int, status_id: int, pipeline_id: int | None = None) -> dict:
        """Drags the lead to another stage (and pipeline): status_lead + update_lead."""
        return self.update_lead(lead_id, status_id=status_id, pipeline_id=pipeline_id)

    def update_lead(self, lead_id: int, custom_fields: dict | None = None, **changes) -> dict:
        """``changes``: name, price, status_id, pipeline_id, responsible_user_id,
        custom_fields_values (Kommo's list); ``custom_fields``: ``{field_id: value or enum id
        or None}``. Fires update_lead (and status_lead when the stage changes)."""
        item = self._lead_item(changes, custom_fields)
        with self._emu.store.lock:
            (lead,) = self._emu.leads.update([dict(item, id=lead_id)], CRM)
            return self._render(lead)

    def add_lead(
        self,
        name: str = "",
        *,
        price: int | None = None,
        pipeline_id: int | None = None,
        status_id: int | None = None,
        custom_fields: dict | None = None,
        contact_id: int | None = None,
        **extra,
    ) -> dict:
        """Creates a lead by hand: add_lead."""
        changes = dict(extra, name=name, price=price, pipeline_id=pipeline_id, status_id=status_id)
        item = self._lead_item(changes, custom_fields)
        if contact_id is not None:
            item["_embedded"] = {"contacts": [{"id": contact_id}]}
        with self._emu.store.lock:
            (lead,) = self._emu.leads.create([item], CRM)
            return self._render(lead)

    def delete_lead(self, lead_id: int) -> bool:
        """Deletes the lead: delete_lead. False when there was no such lead."""
        with self._emu.store.lock:
            return self._emu.leads.delete(lead_id, CRM) is not None

    def delete_contact(self, contact_id: int) -> bool:
        """Deletes the contact (Kommo's UI can, API v4 cannot): it leaves its leads and every
        list, a list of changes included; fires delete_contact. False when there was none."""
        with self._emu.store.lock:
            contact = self._emu.store.forget_contact(contact_id)
            if contact is not None:
                self._emu.notifier.contact_event("delete", contact)
            return contact is not None

    def update_contact(self, contact_id: int, **changes) -> dict:
        """name, first_name, last_name, custom_fields_values: update_contact."""
        with self._emu.store.lock:
            item = dict(changes, id=contact_id)
            (contact,) = self._emu.contacts.update([item], CRM)
            return self._emu.contacts.render(contact, self._emu.base_url)
