"""Plain helpers for kommo.field.map: repair order field paths and Kommo value formats.

Kept apart from the model so that the path rules and the formatting rules read on their own.
"""

import unicodedata
from datetime import datetime, time

from odoo import fields
from odoo.tools import html2plaintext
from odoo.tools.translate import LazyTranslate

from .datetimes import unix_time

_lt = LazyTranslate(__name__)

# Kommo field types grouped by the value they take.
KOMMO_TEXT_TYPES = ("text", "textarea", "url")
KOMMO_NUMBER_TYPES = ("numeric", "price", "monetary")
KOMMO_DATE_TYPES = ("date", "date_time", "birthday")
KOMMO_ENUM_TYPES = ("select", "multiselect", "radiobutton")
KOMMO_SUPPORTED_TYPES = (
    KOMMO_TEXT_TYPES + KOMMO_NUMBER_TYPES + KOMMO_DATE_TYPES + KOMMO_ENUM_TYPES + ("checkbox",)
)

# A module-level table has no env: _lt (LazyTranslate) is Odoo's way, translated later with
# env._(term). pylint-odoo 9.3 counts _lt as _ in prefer-env-translation (10.0 no longer does).
# pylint: disable=prefer-env-translation
# How the field map names Kommo's field types (Kommo spells them as codes).
KOMMO_TYPE_LABELS = {
    "text": _lt("Text"),
    "textarea": _lt("Long text"),
    "url": _lt("Web address"),
    "numeric": _lt("Number"),
    "price": _lt("Price"),
    "monetary": _lt("Amount"),
    "date": _lt("Date"),
    "date_time": _lt("Date and time"),
    "birthday": _lt("Birthday"),
    "select": _lt("List (one option)"),
    "multiselect": _lt("List (several options)"),
    "radiobutton": _lt("Radio buttons"),
    "checkbox": _lt("Checkbox"),
}
# pylint: enable=prefer-env-translation

# Odoo field types a path may end on, and which of them each Kommo type accepts.
ODOO_LEAF_TYPES = (
    "char",
    "text",
    "html",
    "integer",
    "float",
    "monetary",
    "boolean",
    "date",
    "datetime",
    "selection",
)
ODOO_TYPES_FOR_KOMMO = {
    **dict.fromkeys(KOMMO_TEXT_TYPES + KOMMO_ENUM_TYPES, ODOO_LEAF_TYPES),
    **dict.fromkeys(KOMMO_NUMBER_TYPES, ("integer", "float", "monetary")),
    **dict.fromkeys(KOMMO_DATE_TYPES, ("date", "datetime")),
    "checkbox": ("boolean",),
}


def normalize_label(text):
    """Case-, accent- and spacing-insensitive form of a name, for matching by name."""
    decomposed = unicodedata.normalize("NFKD", str(text or ""))
    stripped = "".join(char for char in decomposed if not unicodedata.combining(char))
    return " ".join(stripped.casefold().split())


def resolve_path(model, path):
    """The fields along a dotted ``path`` starting at ``model``.

    :return: (list of fields, None) when the path is valid, else ([], message in plain words)
    """
    env = model.env
    hops = (path or "").strip().split(".")
    if not all(hops):
        return [], env._("Enter the repair order field to send, for example “lot_id.name”.")
    chain = []
    for position, hop in enumerate(hops):
        field = model._fields.get(hop)
        is_last = position == len(hops) - 1
        if field is None:
            problem = env._(
                "“%(hop)s” is not a field of %(model)s.", hop=hop, model=model._description
            )
        elif field.groups:
            problem = env._("“%(hop)s” is a restricted field and can't be sent to Kommo.", hop=hop)
        elif not is_last and not field.relational:
            problem = env._(
                "“%(hop)s” is not a link to another record, so nothing can follow it.", hop=hop
            )
        elif is_last and field.relational:
            problem = env._(
                "“%(hop)s” is a link to another record: name the value to send, for example "
                "“%(hop)s.display_name”.",
                hop=hop,
            )
        elif is_last and field.type not in ODOO_LEAF_TYPES:
            problem = env._("“%(hop)s” holds data that can't be sent to Kommo.", hop=hop)
        else:
            problem = None
        if problem:
            return [], env._(
                "The field path “%(path)s” is not valid: %(problem)s", path=path, problem=problem
            )
        chain.append(field)
        if field.relational:
            model = model.env[field.comodel_name]
    return chain, None


def path_label(chain, env):
    """A path as people read it: its fields' labels, e.g. "Product > Display Name"."""
    return " > ".join(field._description_string(env) for field in chain)


def kommo_type_label(kommo_type, env):
    """Kommo's field type in words; a type the connector does not know stays as Kommo says."""
    label = KOMMO_TYPE_LABELS.get(kommo_type)
    return env._(label) if label else kommo_type or False


def selection_labels(field, env):
    """The labels of a selection field, keyed by value: the label in ``env``'s language
    first, then the other installed languages' (a shop may name its Kommo options in either).
    """
    langs = [env.lang or "en_US"]
    langs += [lang for lang, _name in env["res.lang"].get_installed() if lang not in langs]
    labels = {value: [] for value in field.get_values(env)}
    for lang in langs:
        for value, label in field._description_selection(env(context={"lang": lang})):
            if label not in labels.setdefault(value, []):
                labels[value].append(label)
    return labels


def format_text(field, values, env):
    """Kommo text value: the readable form of the values, joined."""
    if field.type == "selection":
        labels = dict(field._description_selection(env))
        values = [labels.get(value, value) for value in values]
    elif field.type == "boolean":
        values = [env._("Yes") if value else env._("No") for value in values]
    elif field.type == "html":
        values = [html2plaintext(value) for value in values if value]
    elif field.type == "datetime":
        values = [fields.Datetime.to_string(value) for value in values if value]
    elif field.type == "date":
        values = [fields.Date.to_string(value) for value in values if value]
    texts = [str(value).strip() for value in values if value not in (False, None)]
    text = ", ".join(text for text in texts if text)
    return [{"value": text}] if text else []


def format_number(values):
    numbers = [value for value in values if isinstance(value, int | float)]
    return [{"value": numbers[0]}] if numbers else []


def format_date(values):
    """Kommo date value: a unix timestamp (a date counts from midnight UTC)."""
    moments = [value for value in values if value]
    if not moments:
        return []
    moment = moments[0]
    if not isinstance(moment, datetime):
        moment = datetime.combine(moment, time.min)
    return [{"value": unix_time(moment)}]


def format_checkbox(values):
    return [{"value": bool(values[0])}] if values else []


def format_value(kommo_type, field, values, env):
    """Kommo ``values`` entries of a non-enum Kommo field for the leaf ``values``."""
    if kommo_type in KOMMO_NUMBER_TYPES:
        return format_number(values)
    if kommo_type in KOMMO_DATE_TYPES:
        return format_date(values)
    if kommo_type == "checkbox":
        return format_checkbox(values)
    return format_text(field, values, env)
