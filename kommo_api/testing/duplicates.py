"""Kommo's duplicate control in ``POST /api/v4/leads/complex`` (reading ``duplicate_control``).

Documented (Kommo's "Complex addition of leads with contact and company" reference): the added
data takes part in duplicate control when the option is on for the integration; new leads are
compared with the leads that existed before the request, never with each other nor existing
leads among themselves; a new lead found to be a duplicate is answered with the existing lead's
id, ``merged: true``, and in ``request_id`` every request id merged into that lead.

Not documented (UNCONFIRMED), chosen after Kommo's support page on duplicate control rules
("match phone numbers / e-mail addresses with leads in your pipeline"): a duplicate is an open
lead (not won or lost) of the same pipeline whose main contact shares a phone number (compared
by digits, as the phone search does) or an e-mail (case-insensitive) with the new lead's
contact. The oldest such lead is kept. A merge changes nothing on it and creates neither the new
lead nor its contact or company.
"""

from .store import CLOSED_STATUS_IDS, Store, digits_of


def _contact_keys(values) -> tuple[set[str], set[str]]:
    phones, emails = set(), set()
    for cf in values or ():
        texts = [str(v.get("value", "")) for v in cf.get("values") or ()]
        if cf.get("field_code") == "PHONE":
            phones |= {digits_of(text) for text in texts if digits_of(text)}
        elif cf.get("field_code") == "EMAIL":
            emails |= {text.strip().lower() for text in texts if text.strip()}
    return phones, emails


def contact_keys(store: Store, contact) -> tuple[set[str], set[str]]:
    """The phone digits and e-mails of a complex lead's contact: ``("link", id)`` or
    ``("new", plan)`` as the complex create plans it."""
    if contact is None:
        return set(), set()
    kind, value = contact
    if kind == "link":
        return _contact_keys(store.contacts[value].get("custom_fields_values"))
    return _contact_keys(value.get("custom_fields_values"))


def _holders(store: Store, phones: set[str], emails: set[str]) -> set[int]:
    found: set[int] = set()
    for phone in phones:
        found |= store.phones.search(phone)
    if emails:
        for contact_id, contact in store.contacts.items():
            if _contact_keys(contact.get("custom_fields_values"))[1] & emails:
                found.add(contact_id)
    return found


def find_duplicate(store: Store, pipeline_id: int, keys, existing: set[int]) -> int | None:
    """The id of the existing open lead of ``pipeline_id`` that a new lead whose contact has
    ``keys`` (phones, emails) duplicates; None when there is none."""
    phones, emails = keys
    if not phones and not emails:
        return None
    candidates = []
    for contact_id in _holders(store, phones, emails):
        for lead_id in store.contact_leads.get(contact_id, ()):
            lead = store.leads.get(lead_id)
            if (
                lead is not None
                and lead_id in existing
                and lead["pipeline_id"] == pipeline_id
                and lead["status_id"] not in CLOSED_STATUS_IDS
                and store.lead_contacts.get(lead_id, [None])[0] == contact_id
            ):
                candidates.append(lead_id)
    return min(candidates, default=None)


def merged_answer(store: Store, lead_id: int) -> dict:
    """The answer item of an existing lead new leads were merged into (request ids added by
    the caller)."""
    lead, contacts = store.leads[lead_id], store.lead_contacts.get(lead_id, [])
    return {
        "id": lead_id,
        "contact_id": contacts[0] if contacts else None,
        "company_id": lead.get("_company_id"),
        "request_id": [],
        "merged": True,
    }
