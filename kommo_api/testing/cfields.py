"""Custom fields: definitions (``/custom_fields``) and the ``custom_fields_values`` of records."""

from datetime import datetime
from typing import Any

from .answers import Issues, is_int
from .store import Store

CHOICE_TYPES = {"select", "multiselect", "radiobutton"}
SINGLE_VALUE_TYPES = {"select", "radiobutton"}
TEXT_TYPES = {"text", "textarea", "url", "streetaddress"}
NUMBER_TYPES = {"numeric", "price", "monetary"}
DATE_TYPES = {"date", "date_time", "birthday"}
FIELD_TYPES = (
    CHOICE_TYPES
    | TEXT_TYPES
    | NUMBER_TYPES
    | DATE_TYPES
    | {"checkbox", "multitext", "smart_address", "legal_entity", "tracking_data", "file"}
)


# definitions ---------------------------------------------------------------------------------
def check_field_spec(store: Store, entity: str, spec: Any, issues: Issues) -> None:
    if not isinstance(spec, dict):
        issues.bad_type("", "object")
        return
    name = spec.get("name")
    if not isinstance(name, str) or not name.strip():
        issues.blank("name")
    if spec.get("type") not in FIELD_TYPES:
        issues.bad_choice("type")
    code = spec.get("code")
    if code is not None and (not isinstance(code, str) or store.field_by_code(entity, code)):
        issues.bad_choice("code")
    enums = spec.get("enums")
    if spec.get("type") in CHOICE_TYPES | {"multitext"}:
        if not isinstance(enums, list) or not enums:
            issues.blank("enums")
            return
        for index, enum in enumerate(enums):
            value = enum.get("value") if isinstance(enum, dict) else None
            if not isinstance(value, str) or not value.strip():
                issues.blank(f"enums.{index}.value")


def create_field(store: Store, entity: str, spec: dict) -> dict:
    """Adds a field from an already checked spec."""
    fields = store.fields(entity)
    field_id = store.next_id("field")
    enums = None
    if spec.get("type") in CHOICE_TYPES | {"multitext"}:
        enums = [
            {"id": store.next_id("enum"), "value": e["value"], "sort": e.get("sort", (i + 1) * 10)}
            for i, e in enumerate(spec["enums"])
        ]
    field = {
        "id": field_id,
        "name": spec["name"],
        "type": spec["type"],
        "account_id": store.account["id"],
        "code": spec.get("code"),
        "sort": spec.get("sort", 500 + len(fields)),
        "is_api_only": bool(spec.get("is_api_only", False)),
        "enums": enums,
        "group_id": spec.get("group_id"),
        "required_statuses": [],
        "is_deletable": not spec.get("is_predefined", False),
        "is_predefined": bool(spec.get("is_predefined", False)),
        "entity_type": entity,
        "remind": None,
        "settings": None,
    }
    fields[field_id] = field
    return field


def render_field(field: dict, base: str) -> dict:
    public = dict(field)
    public["enums"] = [dict(e) for e in field["enums"]] if field["enums"] is not None else None
    href = f"{base}/api/v4/{field['entity_type']}/custom_fields/{field['id']}"
    public["_links"] = {"self": {"href": href}}
    return public


# values --------------------------------------------------------------------------------------
def check_values(
    store: Store, entity: str, items: Any, issues: Issues, max_values: int | None = None
) -> list[dict]:
    """Validates ``custom_fields_values`` and returns them normalised (``values`` None = clear)."""
    issues = issues.nested("custom_fields_values")
    if not isinstance(items, list):
        issues.bad_type("", "array")
        return []
    if max_values is not None and len(items) > max_values:
        issues.too_many("", max_values)
    normalized = []
    for index, item in enumerate(items):
        entry = _check_entry(store, entity, item, issues.nested(str(index)))
        if entry is not None:
            normalized.append(entry)
    return normalized


def _find_field(store: Store, entity: str, item: dict, issues: Issues) -> dict | None:
    if item.get("field_id") is not None:
        field = store.fields(entity).get(item["field_id"]) if is_int(item["field_id"]) else None
        if field is None:
            issues.bad_choice("field_id")
        return field
    if item.get("field_code") is not None:
        field = store.field_by_code(entity, str(item["field_code"]))
        if field is None:
            issues.bad_choice("field_code")
        return field
    issues.blank("field_id")
    return None


def _check_entry(store: Store, entity: str, item: Any, issues: Issues) -> dict | None:
    if not isinstance(item, dict):
        issues.bad_type("", "object")
        return None
    field = _find_field(store, entity, item, issues)
    if field is None:
        return None
    raw_values = item.get("values")
    values = None
    if raw_values is not None:
        if not isinstance(raw_values, list):
            issues.bad_type("values", "array")
            return None
        if field["type"] in SINGLE_VALUE_TYPES and len(raw_values) > 1:
            issues.too_many("values", 1)
        checked = [
            _check_value(field, raw, issues.nested(f"values.{i}"))
            for i, raw in enumerate(raw_values)
        ]
        values = [value for value in checked if value is not None] or None
    return {
        "field_id": field["id"],
        "field_name": field["name"],
        "field_code": field.get("code"),
        "field_type": field["type"],
        "values": values,
    }


def _enum(field: dict, key: str, wanted: Any) -> dict | None:
    return next((e for e in field["enums"] or () if e[key] == wanted), None)


def _check_choice(field: dict, raw: dict, issues: Issues) -> dict | None:
    if raw.get("enum_id") is not None:
        enum = _enum(field, "id", raw["enum_id"]) if is_int(raw["enum_id"]) else None
        path = "enum_id"
    elif raw.get("value") is not None:
        enum, path = _enum(field, "value", raw["value"]), "value"
    else:
        issues.blank("value")
        return None
    if enum is None:
        issues.bad_choice(path)
        return None
    return {"value": enum["value"], "enum_id": enum["id"], "enum_code": None}


def _check_multitext(field: dict, raw: dict, issues: Issues) -> dict | None:
    value = raw.get("value")
    if not isinstance(value, str) or not value.strip():
        if value is None or value == "":
            issues.blank("value")
        else:
            issues.bad_type("value", "string")
        return None
    if raw.get("enum_id") is not None:
        enum, path = _enum(field, "id", raw["enum_id"]), "enum_id"
    elif raw.get("enum_code") is not None:
        enum, path = _enum(field, "value", str(raw["enum_code"]).upper()), "enum_code"
    else:
        enum, path = (field["enums"] or [None])[0], "enum_code"
    if enum is None:
        issues.bad_choice(path)
        return None
    return {"value": value.strip(), "enum_id": enum["id"], "enum_code": enum["value"]}


def _check_value(field: dict, raw: Any, issues: Issues) -> dict | None:
    if not isinstance(raw, dict):
        issues.bad_type("", "object")
        return None
    kind = field["type"]
    if kind in CHOICE_TYPES:
        return _check_choice(field, raw, issues)
    if kind == "multitext":
        return _check_multitext(field, raw, issues)
    value = raw.get("value")
    if value is None or value == "":
        issues.blank("value")
        return None
    converted = _convert_scalar(kind, value)
    if converted is None:
        issues.bad_type("value", _EXPECTED.get(kind, "string"))
        return None
    return {"value": converted}


_EXPECTED = {"numeric": "numeric", "price": "numeric", "monetary": "numeric", "checkbox": "bool"}
_EXPECTED.update(dict.fromkeys(DATE_TYPES, "int (unix timestamp)"))


def _convert_scalar(kind: str, value: Any) -> Any:
    """The stored form of a scalar value, or None when Kommo would reject its type."""
    if isinstance(value, bool):
        return value if kind == "checkbox" else None
    if kind == "checkbox":
        return None
    if kind in NUMBER_TYPES:
        # Kommo answers numeric values as strings.
        return _number_text(value)
    if kind in DATE_TYPES:
        return _timestamp(value)
    if isinstance(value, (dict, list)):
        return None
    return str(value) if isinstance(value, (int, float)) else value


def _number_text(value: Any) -> str | None:
    if is_int(value) or isinstance(value, float):
        return str(value)
    if isinstance(value, str):
        try:
            float(value)
        except ValueError:
            return None
        return value.strip()
    return None


def _timestamp(value: Any) -> int | None:
    if is_int(value):
        return value
    if isinstance(value, str):
        if value.strip().lstrip("-").isdigit():
            return int(value)
        try:
            return int(datetime.fromisoformat(value.strip()).timestamp())
        except ValueError:
            return None
    return None


def merge_values(existing: list[dict] | None, updates: list[dict]) -> list[dict] | None:
    """Fields named in ``updates`` are replaced (or cleared); the others keep their values."""
    merged = {cf["field_id"]: cf for cf in existing or ()}
    for update in updates:
        if update["values"] is None:
            merged.pop(update["field_id"], None)
        else:
            merged[update["field_id"]] = update
    return list(merged.values()) or None


def copy_values(values: list[dict] | None) -> list[dict] | None:
    if values is None:
        return None
    return [dict(cf, values=[dict(v) for v in cf["values"]]) for cf in values]


def simple_values(store: Store, entity: str, mapping: dict) -> list[dict]:
    """``{field_id: value}`` (an enum id, an enum text, a list for multiselect, None to clear)
    -> ``custom_fields_values`` items, as the CRM user's shortcut."""
    items = []
    for field_id, value in mapping.items():
        field = store.fields(entity).get(field_id)
        if value is None:
            items.append({"field_id": field_id, "values": None})
            continue
        choices = value if isinstance(value, (list, tuple)) else [value]
        if field and field["type"] in CHOICE_TYPES:
            values = [{"enum_id": v} if is_int(v) else {"value": v} for v in choices]
        else:
            values = [{"value": v} for v in choices]
        items.append({"field_id": field_id, "values": values})
    return items
