"""What a repair order looks like in Kommo: the lead, its contact and the diagnosis note."""

import hashlib
import json
import re

from odoo.tools import html2plaintext

from kommo_api import try_normalize_phone

from . import compat
from .contact_matcher import normalized_email
from .field_path import KOMMO_SUPPORTED_TYPES

LEAD_NAME_SEPARATOR = " - "
LEAD_NAME_MAX = 255
_CUSTOM_VALUE_PATH = re.compile(r"custom_fields_values\.(\d+)")
# The kind of each of the partner's phone fields in Kommo's PHONE field.
PHONE_ENUM = {"mobile": "MOB", "phone": "WORK"}


def lead_name(order):
    """Order reference, customer and vehicle: the reference first, so the lead is found by it."""
    parts = (order.name, order.partner_id.name, order.product_id.display_name)
    return LEAD_NAME_SEPARATOR.join(part for part in parts if part)[:LEAD_NAME_MAX]


def names_order(lead, reference, order_number_field_ids=()):
    """Whether the Kommo ``lead`` carries the order ``reference`` (its name starts with it, or
    the mapped order number field holds it)."""
    name = lead.get("name") or ""
    if name == reference or name.startswith(reference + LEAD_NAME_SEPARATOR):
        return True
    return any(
        entry.get("field_id") in order_number_field_ids
        and any(value.get("value") == reference for value in entry.get("values") or ())
        for entry in lead.get("custom_fields_values") or ()
    )


def lead_values(order, stage, field_maps, pipeline=None, creating=True):
    """The lead fields sent for ``order``: name, stage (when mapped) and custom fields.

    On a creation without a mapped stage the lead goes to the first stage of the account's
    ``pipeline``; on an update it stays where it is. Mapped fields without a value are
    cleared on an update (the order lost the value) and left out of a creation.
    """
    values = {"name": lead_name(order)}
    if stage:
        values["pipeline_id"] = stage.pipeline_id.kommo_id
        values["status_id"] = stage.kommo_id
    elif creating and pipeline:
        values["pipeline_id"] = pipeline.kommo_id
    custom = field_maps._kommo_values(order)
    if not creating:
        sent = {entry["field_id"] for entry in custom}
        writable = field_maps.custom_field_id.filtered(
            lambda field: field.active and field.field_type in KOMMO_SUPPORTED_TYPES
        )
        custom += [
            {"field_id": kommo_id, "values": None}
            for kommo_id in writable.mapped("kommo_id")
            if kommo_id not in sent
        ]
    if custom:
        values["custom_fields_values"] = custom
    return values


def partner_phones(partner, region):
    """The partner's phones in E.164 (mobile first), those that are valid numbers."""
    phones = []
    for raw in compat.partner_phones(partner):
        phone = try_normalize_phone(raw, region) if raw else None
        if phone and phone not in phones:
            phones.append(phone)
    return tuple(phones)


def partner_emails(partner):
    email = normalized_email(partner.email)
    return (email,) if email else ()


def contact_values(partner, region):
    """A new Kommo contact for ``partner``: name, phones (E.164 when valid) and e-mail."""
    custom = []
    phones = [
        {"value": try_normalize_phone(raw, region) or raw.strip(), "enum_code": PHONE_ENUM[name]}
        for name in compat.PARTNER_PHONE_FIELDS
        if (raw := partner[name]) and raw.strip()
    ]
    if phones:
        custom.append({"field_code": "PHONE", "values": phones})
    if partner.email and partner.email.strip():
        custom.append(
            {
                "field_code": "EMAIL",
                "values": [{"value": partner.email.strip(), "enum_code": "WORK"}],
            }
        )
    values = {"name": partner.name or partner.display_name}
    if custom:
        values["custom_fields_values"] = custom
    return values


def diagnosis_text(order):
    """The order's internal notes as plain text ("" when empty)."""
    if not order.internal_notes:
        return ""
    return html2plaintext(order.internal_notes).strip()


def content_hash(value):
    """A short fingerprint of what was sent, to skip sending the same thing again."""
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def explain_issues(payload, issues, field_names):
    """Kommo's validation issues about ``payload`` in plain words, naming custom fields."""
    texts = []
    for issue in issues:
        text = issue.text
        match = _CUSTOM_VALUE_PATH.match(issue.path or "")
        entries = payload.get("custom_fields_values") or ()
        if match and int(match.group(1)) < len(entries):
            field_id = entries[int(match.group(1))].get("field_id")
            name = field_names.get(field_id, str(field_id))
            text = f"“{name}”: {issue.detail or issue.code or text}"
        texts.append(text)
    return "; ".join(dict.fromkeys(texts))
