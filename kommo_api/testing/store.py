"""The emulated account's data: dicts of records by id plus the indexes that keep lookups cheap.

Everything here is guarded by ``Store.lock`` (an RLock): the HTTP handlers, the CRM user and the
test helpers all take it around a whole operation, so a batch is applied atomically.
"""

import itertools
import re
import threading
from collections import defaultdict
from collections.abc import Iterable

WON_STATUS_ID = 142
LOST_STATUS_ID = 143
CLOSED_STATUS_IDS = (WON_STATUS_ID, LOST_STATUS_ID)

# Distinct id ranges per kind make a lead id passed where a contact id belongs fail loudly.
ID_STARTS = {
    "lead": 10_000_001,
    "contact": 20_000_001,
    "company": 30_000_001,
    "note": 40_000_001,
    "pipeline": 5_000_001,
    "status": 50_000_001,
    "field": 600_001,
    "enum": 700_001,
    "tag": 80_001,
    "webhook": 1,
}

# Digits compared at the end of phone numbers: long enough to be selective, short enough that
# "+55 (11) 98765-4321" and "11987654321" share the key.
PHONE_KEY_DIGITS = 8
_NON_DIGITS = re.compile(r"[^0-9]")
_PHONE_LIKE = re.compile(r"^[0-9\s()+\-./]+$")


def digits_of(text: str) -> str:
    return _NON_DIGITS.sub("", text)


class PhoneIndex:
    """Contacts by the trailing digits of their phone numbers (and by their stored text)."""

    def __init__(self) -> None:
        self._by_tail: dict[str, set[int]] = defaultdict(set)
        self._digits: dict[int, list[str]] = {}
        self._by_text: dict[str, set[int]] = defaultdict(set)
        self._texts: dict[int, list[str]] = {}

    def put(self, contact_id: int, numbers: Iterable[str]) -> None:
        self.remove(contact_id)
        numbers = [number.strip() for number in numbers if number and number.strip()]
        self._texts[contact_id] = numbers
        for number in numbers:
            self._by_text[number].add(contact_id)
        digits = [d for d in (digits_of(n) for n in numbers) if d]
        if not digits:
            return
        self._digits[contact_id] = digits
        for number in digits:
            self._by_tail[number[-PHONE_KEY_DIGITS:]].add(contact_id)

    def remove(self, contact_id: int) -> None:
        for number in self._digits.pop(contact_id, ()):
            holders = self._by_tail.get(number[-PHONE_KEY_DIGITS:])
            if holders is not None:
                holders.discard(contact_id)
        for number in self._texts.pop(contact_id, ()):
            self._by_text[number].discard(contact_id)

    def exact(self, text: str) -> set[int]:
        """Contacts holding a phone value written exactly as ``text``."""
        return set(self._by_text.get(text.strip(), ()))

    def search(self, query_digits: str) -> set[int]:
        """Full numbers match when one number's digits end with the other's (country code or
        area code may be missing on either side); short digit strings match anywhere."""
        if len(query_digits) < PHONE_KEY_DIGITS:
            return {
                cid for cid, nums in self._digits.items() if any(query_digits in n for n in nums)
            }
        found = set()
        for cid in self._by_tail.get(query_digits[-PHONE_KEY_DIGITS:], ()):
            for number in self._digits[cid]:
                if number.endswith(query_digits) or query_digits.endswith(number):
                    found.add(cid)
        return found


class Store:
    def __init__(self, account: dict):
        self.lock = threading.RLock()
        self.account = account
        self.leads: dict[int, dict] = {}
        self.contacts: dict[int, dict] = {}
        self.companies: dict[int, dict] = {}
        self.notes: dict[int, dict] = {}
        self.pipelines: dict[int, dict] = {}
        self.lead_fields: dict[int, dict] = {}
        self.contact_fields: dict[int, dict] = {}
        self.tags: dict[int, dict] = {}
        self.webhooks: dict[int, dict] = {}
        self.lead_contacts: dict[int, list[int]] = {}
        self.contact_leads: dict[int, set[int]] = defaultdict(set)
        self.phones = PhoneIndex()
        self._contact_text: dict[int, str] = {}
        self._lead_text: dict[int, str] = {}
        self._ids = {kind: itertools.count(start) for kind, start in ID_STARTS.items()}

    def next_id(self, kind: str) -> int:
        return next(self._ids[kind])

    # custom fields -------------------------------------------------------------------------
    def fields(self, entity: str) -> dict[int, dict]:
        return self.lead_fields if entity == "leads" else self.contact_fields

    def field_by_code(self, entity: str, code: str) -> dict | None:
        for field in self.fields(entity).values():
            if field.get("code") == code:
                return field
        return None

    # pipelines -----------------------------------------------------------------------------
    def main_pipeline(self) -> dict:
        for pipeline in self.pipelines.values():
            if pipeline["is_main"]:
                return pipeline
        return next(iter(self.pipelines.values()))

    def status(self, pipeline_id: int, status_id: int) -> dict | None:
        pipeline = self.pipelines.get(pipeline_id)
        return pipeline["statuses"].get(status_id) if pipeline else None

    @staticmethod
    def first_open_status(pipeline: dict) -> int:
        return next(sid for sid in pipeline["statuses"] if sid not in CLOSED_STATUS_IDS)

    # tags ----------------------------------------------------------------------------------
    def tag_named(self, name: str, color: str | None = None) -> dict:
        for tag in self.tags.values():
            if tag["name"] == name:
                return tag
        tag = {"id": self.next_id("tag"), "name": name, "color": color}
        self.tags[tag["id"]] = tag
        return tag

    # links ---------------------------------------------------------------------------------
    def link(self, lead_id: int, contact_id: int, main: bool = False) -> None:
        """The first contact of a lead is its main contact; ``main`` puts this one first."""
        contacts = self.lead_contacts.setdefault(lead_id, [])
        if main and contact_id in contacts:
            contacts.remove(contact_id)
        if contact_id not in contacts:
            contacts.insert(0 if main else len(contacts), contact_id)
        self.contact_leads[contact_id].add(lead_id)

    def unlink(self, lead_id: int, contact_id: int) -> None:
        contacts = self.lead_contacts.get(lead_id, [])
        if contact_id in contacts:
            contacts.remove(contact_id)
        self.contact_leads[contact_id].discard(lead_id)

    def set_lead_contacts(self, lead_id: int, contact_ids: list[int]) -> None:
        for contact_id in self.lead_contacts.pop(lead_id, []):
            self.contact_leads[contact_id].discard(lead_id)
        for contact_id in contact_ids:
            self.link(lead_id, contact_id)

    def forget_lead(self, lead_id: int) -> dict | None:
        self.set_lead_contacts(lead_id, [])
        self._lead_text.pop(lead_id, None)
        return self.leads.pop(lead_id, None)

    def forget_contact(self, contact_id: int) -> dict | None:
        for lead_id in list(self.contact_leads.get(contact_id, ())):
            self.unlink(lead_id, contact_id)
        self.contact_leads.pop(contact_id, None)
        self.phones.remove(contact_id)
        self._contact_text.pop(contact_id, None)
        return self.contacts.pop(contact_id, None)

    # search --------------------------------------------------------------------------------
    def index_contact(self, contact: dict) -> None:
        phones, texts = [], [contact.get("name") or "", contact.get("first_name") or ""]
        texts.append(contact.get("last_name") or "")
        for cf in contact.get("custom_fields_values") or ():
            values = [str(v.get("value", "")) for v in cf.get("values") or ()]
            (phones if cf.get("field_code") == "PHONE" else texts).extend(values)
        self.phones.put(contact["id"], phones)
        self._contact_text[contact["id"]] = "\n".join(texts).lower()

    def index_lead(self, lead: dict) -> None:
        texts = [lead.get("name") or ""]
        for cf in lead.get("custom_fields_values") or ():
            texts.extend(str(v.get("value", "")) for v in cf.get("values") or ())
        self._lead_text[lead["id"]] = "\n".join(texts).lower()

    def search_contacts(self, query: str, exact_phones: bool = False) -> list[int]:
        """Kommo's ``query``: a substring of name/email/other values; for a phone-like query the
        digits are compared with the digits of stored phone numbers, whatever their format, or,
        with ``exact_phones``, the query must be a stored phone value as written."""
        needle = query.strip().lower()
        found = {cid for cid, text in self._contact_text.items() if needle in text}
        digits = digits_of(needle)
        if exact_phones:
            found |= self.phones.exact(query)
        elif _PHONE_LIKE.match(needle) and len(digits) >= 3:
            found |= self.phones.search(digits)
        return sorted(found)

    def search_leads(self, query: str) -> list[int]:
        needle = query.strip().lower()
        found = {lid for lid, text in self._lead_text.items() if needle in text}
        if needle.isdigit() and int(needle) in self.leads:
            found.add(int(needle))
        return sorted(found)
