"""Kommo webhook deliveries: form-encoded nested keys -> typed events.

Kommo POSTs form-encoded bodies with PHP-style nested keys (``leads[status][0][id]=1``,
``account[subdomain]=acme``), unsigned: the receiver authenticates with a secret in its URL and
``WebhookDelivery.is_for_account``, and deduplicates with ``delivery_fingerprint``. Events:

* ``leads[add|update|status|delete]`` and ``contacts[add|update|delete]`` items are typed events;
  their ``id`` is required; ids (entity, account, pipeline, stage, field, option) must be
  positive whole numbers.
* Other actions of a known entity (``leads[restore]``, ``companies[add]``, ``tasks[update]``...)
  become ``EventType.OTHER`` events (``entity``/``action`` say which) when their items carry an
  ``id``; items without one (``leads[note]``) yield no event.
* Sections of unknown entities (``unsorted``, ``talk``...) yield no event. All of the body
  stays in ``WebhookDelivery.raw``, and each event's own item in ``WebhookEvent.raw``.

Garbage raises ``WebhookParseError``, whatever the input, and nothing else: not form-encoded,
invalid UTF-8, oversized, too many keys, too deep, malformed brackets, a key given twice or as
both value and section, no account, no known entity, non-numeric ids.

Tolerated as PHP (Kommo's language) reads them: ``[]`` in a key appends a new item
(``custom_fields[][id]=1``), and a custom field's ``values`` given as one object
(``[values][value]=text``) instead of a numbered list, as some of Kommo's documented examples
show.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from enum import Enum
from typing import Any
from urllib.parse import parse_qsl

MAX_BODY_BYTES = 1_000_000
# 50 leads x 40 custom fields x a few keys each is the largest delivery Kommo's limits allow.
MAX_KEYS = 20_000
# Kommo's deepest key is leads[update][0][custom_fields][0][values][0][enum]: 7 brackets.
MAX_KEY_DEPTH = 10
KNOWN_ENTITIES = ("leads", "contacts", "companies", "customers", "tasks")

_KEY_RE = re.compile(r"([^\[\]]+)((?:\[[^\[\]]*\])*)")
_SEGMENT_RE = re.compile(r"\[([^\[\]]*)\]")
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")
# Up to 9 digits, no leading zero: only canonical indexes become list positions.
_INDEX_RE = re.compile(r"0|[1-9][0-9]{0,8}")
_WHOLE_NUMBER_RE = re.compile(r"[0-9]{1,18}")
# Kommo's ids (entities, accounts, pipelines, stages, fields, options) start at 1.
_ID_RE = re.compile(r"[1-9][0-9]{0,17}")
_DECIMAL_RE = re.compile(r"-?[0-9]{1,15}(?:\.[0-9]{1,15})?")
# 11 digits reach year 5138: far from datetime's limits, so no overflow to handle.
_TIMESTAMP_RE = re.compile(r"[0-9]{1,11}")


class WebhookParseError(ValueError):
    """The body is not a Kommo webhook delivery; the message says why (never echoes a value)."""


class EventType(str, Enum):
    LEAD_ADDED = "add_lead"
    LEAD_UPDATED = "update_lead"
    LEAD_STATUS_CHANGED = "status_lead"
    LEAD_DELETED = "delete_lead"
    CONTACT_ADDED = "add_contact"
    CONTACT_UPDATED = "update_contact"
    CONTACT_DELETED = "delete_contact"
    OTHER = "other"


_EVENT_TYPES = {
    ("leads", "add"): EventType.LEAD_ADDED,
    ("leads", "update"): EventType.LEAD_UPDATED,
    ("leads", "status"): EventType.LEAD_STATUS_CHANGED,
    ("leads", "delete"): EventType.LEAD_DELETED,
    ("contacts", "add"): EventType.CONTACT_ADDED,
    ("contacts", "update"): EventType.CONTACT_UPDATED,
    ("contacts", "delete"): EventType.CONTACT_DELETED,
}


@dataclass(frozen=True)
class FieldValue:
    """One value of a custom field: its text and, for select fields, the enum id."""

    value: str | None
    enum_id: int | None = None


@dataclass(frozen=True)
class CustomFieldValue:
    """A custom field as a webhook reports it (``custom_fields[i]``)."""

    field_id: int
    name: str | None = None
    code: str | None = None
    values: tuple[FieldValue, ...] = ()

    @property
    def value(self) -> str | None:
        """The first value's text: what a single-valued field holds."""
        return self.values[0].value if self.values else None

    @property
    def enum_ids(self) -> tuple[int, ...]:
        """The selected enum ids (select / multiselect fields)."""
        return tuple(item.enum_id for item in self.values if item.enum_id is not None)


@dataclass(frozen=True)
class WebhookEvent:
    type: EventType
    entity_id: int
    status_id: int | None = None
    old_status_id: int | None = None
    pipeline_id: int | None = None
    old_pipeline_id: int | None = None
    price: float | None = None
    name: str | None = None
    responsible_user_id: int | None = None
    modified_at: datetime | None = None
    custom_fields: tuple[CustomFieldValue, ...] = ()
    raw: Mapping[str, Any] = field(default_factory=dict, hash=False, repr=False)
    # What the section was called (says which, for EventType.OTHER).
    entity: str = ""
    action: str = ""
    created_at: datetime | None = None

    def custom_field(self, field_id: int) -> CustomFieldValue | None:
        return next((cf for cf in self.custom_fields if cf.field_id == field_id), None)

    @property
    def label(self) -> str:
        """The event as a short code: ``status_lead #123``; an event of a kind the parser
        does not type is named by its section, ``add_tasks #7``."""
        if self.type is EventType.OTHER:
            return f"{self.action}_{self.entity} #{self.entity_id}"
        return f"{self.type.value} #{self.entity_id}"


@dataclass(frozen=True)
class WebhookDelivery:
    account_id: int | None
    subdomain: str | None
    events: tuple[WebhookEvent, ...]
    raw: Mapping[str, Any] = field(default_factory=dict, hash=False, repr=False)

    def is_for_account(self, account_id: int | None = None, subdomain: str | None = None) -> bool:
        """True when the delivery names this account: every identifier known on both sides
        must agree, and at least one must have been compared."""
        pairs = [(account_id, self.account_id)]
        if subdomain is not None and self.subdomain is not None:
            pairs.append((subdomain.strip().lower(), self.subdomain.lower()))
        known = [(ours, theirs) for ours, theirs in pairs if None not in (ours, theirs)]
        return bool(known) and all(ours == theirs for ours, theirs in known)


def parse_webhook(
    body: bytes | str | Mapping, max_bytes: int = MAX_BODY_BYTES, max_keys: int = MAX_KEYS
) -> WebhookDelivery:
    """Parse a delivery: the raw body (bytes or str) or an already-decoded form (a werkzeug
    ``MultiDict`` such as ``request.form``, a dict of flat keys, or ``parse_form``'s output)."""
    tree = parse_form(body, max_bytes=max_bytes, max_keys=max_keys)
    account = tree.get("account")
    if not isinstance(account, dict):
        raise WebhookParseError("no account section (account[id] / account[subdomain])")
    account_id = _kommo_id(account, "id", "account")
    subdomain = _scalar(account, "subdomain", "account")
    if account_id is None and subdomain is None:
        raise WebhookParseError("the account section has neither account[id] nor a subdomain")
    entities = [name for name in tree if name in KNOWN_ENTITIES]
    if not entities:
        raise WebhookParseError(f"no known entity section (one of {', '.join(KNOWN_ENTITIES)})")
    events = []
    for entity in entities:
        actions = tree[entity]
        if not isinstance(actions, dict):
            raise WebhookParseError(f"{entity} must hold actions, as in {entity}[add][0][id]")
        for action, items in actions.items():
            where = f"{entity}[{_excerpt(action, 40)}]"
            for index, item in enumerate(_numbered_items(items, where, "[id]")):
                event = _event(entity, action, item, f"{where}[{index}]")
                if event is not None:
                    events.append(event)
    return WebhookDelivery(account_id, subdomain, tuple(events), raw=tree)


def parse_form(
    body: bytes | str | Mapping, max_bytes: int = MAX_BODY_BYTES, max_keys: int = MAX_KEYS
) -> dict:
    """Decode a form body into nested dicts; items numbered ``[0]``, ``[1]``... become lists
    ordered by their number (gaps close up)."""
    tree: dict = {}
    for key, value in _form_pairs(body, max_bytes, max_keys):
        _insert(tree, _split_key(key), value, key)
    return {name: _listify(child) for name, child in tree.items()}


def delivery_fingerprint(
    body: bytes | str | Mapping, max_bytes: int = MAX_BODY_BYTES, max_keys: int = MAX_KEYS
) -> str:
    """A sha256 hex digest of the decoded key/value pairs, sorted: equal for the same delivery
    however its keys are ordered or percent-encoded, and for ``request.form`` vs the raw body.
    It only needs a decodable form, so it can be taken before ``parse_webhook``."""
    pairs = sorted(_form_pairs(body, max_bytes, max_keys))
    canonical = json.dumps(pairs, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


# --- decoding -------------------------------------------------------------------------------


def _form_pairs(body: Any, max_bytes: int, max_keys: int) -> list[tuple[str, str]]:
    if isinstance(body, Mapping):
        pairs = _mapping_pairs(body, max_keys)
        _check_size(len(_utf8("&".join(f"{k}={v}" for k, v in pairs))), max_bytes)
        return pairs
    if isinstance(body, (bytes, bytearray, memoryview)):
        data = bytes(body)
        _check_size(len(data), max_bytes)
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise WebhookParseError("the body is not valid UTF-8") from None
    elif isinstance(body, str):
        _check_size(len(body), max_bytes)  # cheap first: a character is at least a byte
        _check_size(len(_utf8(body)), max_bytes)
        text = body
    else:
        raise WebhookParseError(f"unsupported body type {type(body).__name__}")
    text = text.strip()
    if not text:
        raise WebhookParseError("the body is empty")
    if text.count("&") >= max_keys:
        raise WebhookParseError(f"too many keys (more than {max_keys})")
    try:
        return parse_qsl(
            text, keep_blank_values=True, strict_parsing=True, encoding="utf-8", errors="strict"
        )
    except UnicodeDecodeError:
        raise WebhookParseError("a percent-encoded value is not valid UTF-8") from None
    except ValueError:
        raise WebhookParseError("not form-encoded: every field must be key=value") from None


def _check_size(size: int, max_bytes: int) -> None:
    if size > max_bytes:
        raise WebhookParseError(f"the body is larger than {max_bytes} bytes")


def _utf8(text: str) -> bytes:
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        raise WebhookParseError("the body holds text that is not valid Unicode") from None


def _mapping_pairs(form: Mapping, max_keys: int) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    # werkzeug's MultiDict keeps repeated keys; getlist returns them all.
    getlist = getattr(form, "getlist", None)
    for key in form:
        if not isinstance(key, str):
            raise WebhookParseError(f"form keys must be text, not {type(key).__name__}")
        for value in getlist(key) if callable(getlist) else [form[key]]:
            _flatten(key, value, pairs, max_keys)
    return pairs


def _flatten(key: str, value: Any, pairs: list[tuple[str, str]], max_keys: int) -> None:
    if key.count("[") > MAX_KEY_DEPTH:
        raise WebhookParseError(f"keys nest deeper than {MAX_KEY_DEPTH} levels")
    if isinstance(value, Mapping):
        children = list(value.items())
    elif isinstance(value, (list, tuple)):
        children = list(enumerate(value))
    else:
        pairs.append((key, _scalar_text(value)))
        if len(pairs) > max_keys:
            raise WebhookParseError(f"too many keys (more than {max_keys})")
        return
    for name, child in children:
        if isinstance(name, bool) or not isinstance(name, (str, int)):
            raise WebhookParseError(f"form keys must be text, not {type(name).__name__}")
        _flatten(f"{key}[{name}]", child, pairs, max_keys)


def _scalar_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            raise WebhookParseError("a form value is not valid UTF-8") from None
    raise WebhookParseError(f"form values must be text, not {type(value).__name__}")


def _split_key(key: str) -> list[str]:
    match = _KEY_RE.fullmatch(key)
    if match is None or _CONTROL_RE.search(key):
        raise WebhookParseError(f"malformed key {_excerpt(key)!r}")
    segments = [match.group(1), *_SEGMENT_RE.findall(match.group(2))]
    if len(segments) - 1 > MAX_KEY_DEPTH:
        raise WebhookParseError(f"keys nest deeper than {MAX_KEY_DEPTH} levels")
    return segments


def _insert(tree: dict, segments: list[str], value: str, key: str) -> None:
    node = tree
    for position in range(len(segments)):
        if segments[position] == "":  # PHP's "append": one past the highest number there
            numbers = [int(name) for name in node if _INDEX_RE.fullmatch(name)]
            segments[position] = str(max(numbers) + 1 if numbers else 0)
        if position == len(segments) - 1:
            break
        node = node.setdefault(segments[position], {})
        if not isinstance(node, dict):
            raise WebhookParseError(f"key {_excerpt(key)!r} extends a key that holds a value")
    if segments[-1] in node:
        raise WebhookParseError(f"key {_excerpt(key)!r} is given twice or also holds sub-keys")
    node[segments[-1]] = value


def _listify(node: Any) -> Any:
    if not isinstance(node, dict):
        return node
    if all(_INDEX_RE.fullmatch(name) for name in node):
        return [_listify(node[name]) for name in sorted(node, key=int)]
    return {name: _listify(child) for name, child in node.items()}


def _excerpt(text: str, limit: int = 60) -> str:
    """Attacker-controlled text shortened for an error message."""
    return text if len(text) <= limit else text[:limit] + "..."


# --- events ---------------------------------------------------------------------------------


def _event(entity: str, action: str, item: dict, where: str) -> WebhookEvent | None:
    event_type = _EVENT_TYPES.get((entity, action), EventType.OTHER)
    entity_id = _kommo_id(item, "id", where)
    if entity_id is None:
        if event_type is EventType.OTHER:
            return None
        raise WebhookParseError(f"{where} has no id")
    return WebhookEvent(
        type=event_type,
        entity_id=entity_id,
        status_id=_kommo_id(item, "status_id", where),
        old_status_id=_kommo_id(item, "old_status_id", where),
        pipeline_id=_kommo_id(item, "pipeline_id", where),
        old_pipeline_id=_kommo_id(item, "old_pipeline_id", where),
        price=_decimal(item, "price", where),
        name=_text(item, "name", where),
        responsible_user_id=_whole_number(item, "responsible_user_id", where),
        modified_at=_timestamp(item, ("last_modified", "updated_at"), where),
        custom_fields=_custom_fields(item, where),
        raw=item,
        entity=entity,
        action=action,
        created_at=_timestamp(item, ("created_at", "date_create"), where),
    )


def _custom_fields(item: dict, where: str) -> tuple[CustomFieldValue, ...]:
    where = f"{where}[custom_fields]"
    fields = []
    for index, entry in enumerate(_numbered_items(item.get("custom_fields", []), where, "[id]")):
        field_where = f"{where}[{index}]"
        field_id = _kommo_id(entry, "id", field_where)
        if field_id is not None:  # a value without its field cannot be mapped to anything
            name, code = _text(entry, "name", field_where), _text(entry, "code", field_where)
            fields.append(CustomFieldValue(field_id, name, code, _field_values(entry, field_where)))
    return tuple(fields)


def _field_values(entry: dict, where: str) -> tuple[FieldValue, ...]:
    where = f"{where}[values]"
    values = entry.get("values", [])
    if isinstance(values, dict):  # one value given as an object: [values][value]=text
        values = [values]
    if isinstance(values, list):  # values[0]=text is short for values[0][value]=text
        values = [{"value": value} if isinstance(value, str) else value for value in values]
    return tuple(
        FieldValue(
            _text(value, "value", f"{where}[{n}]"), _kommo_id(value, "enum", f"{where}[{n}]")
        )
        for n, value in enumerate(_numbered_items(values, where, "[value]"))
    )


def _numbered_items(value: Any, where: str, example: str) -> list[dict]:
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise WebhookParseError(f"{where} must hold numbered items, as in {where}[0]{example}")
    return value


def _scalar(node: Mapping, key: str, where: str) -> str | None:
    """The value at ``key`` stripped, or None when absent or blank."""
    value = node.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise WebhookParseError(f"{where}[{key}] must be a single value")
    return value.strip() or None


def _matching(node: Mapping, key: str, where: str, pattern: re.Pattern, kind: str) -> str | None:
    value = _scalar(node, key, where)
    if value is not None and not pattern.fullmatch(value):
        raise WebhookParseError(f"{where}[{key}] must be {kind}")
    return value


def _whole_number(node: Mapping, key: str, where: str) -> int | None:
    value = _matching(node, key, where, _WHOLE_NUMBER_RE, "a whole number")
    return None if value is None else int(value)


def _kommo_id(node: Mapping, key: str, where: str) -> int | None:
    """A Kommo id: a positive whole number (0 is nobody's id, not "none")."""
    value = _matching(node, key, where, _ID_RE, "a whole number above 0 (a Kommo id)")
    return None if value is None else int(value)


def _decimal(node: Mapping, key: str, where: str) -> float | None:
    value = _matching(node, key, where, _DECIMAL_RE, "a number")
    return None if value is None else float(value)


def _timestamp(node: Mapping, keys: tuple[str, ...], where: str) -> datetime | None:
    for key in keys:
        value = _matching(node, key, where, _TIMESTAMP_RE, "a Unix timestamp")
        if value is not None:
            return datetime.fromtimestamp(int(value), tz=timezone.utc)
    return None


def _text(node: Mapping, key: str, where: str) -> str | None:
    value = node.get(key)
    if value is not None and not isinstance(value, str):
        raise WebhookParseError(f"{where}[{key}] must be a single value")
    return value
