"""Phone numbers as Kommo and Odoo exchange them: E.164 through ``phonenumbers``.

Numbers are read as Brazilians write them by default: ``(11) 98765-4321``,
``+55 11 98765-4321``, with the trunk prefix ``0`` and a carrier code (``0 21 11 98765-4321``,
``0xx11 98765-4321``), or with an extension (``ramal 12`` or ``ext. 12``). E.164 has no room
for an extension, so it is dropped. A number ``phonenumbers`` finds invalid is refused, never
"repaired": the old 8-digit mobile ``(11) 8765-4321`` is not given a guessed ninth digit.
"""

from __future__ import annotations

import re

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat

DEFAULT_REGION = "BR"
# phonenumbers knows "ext", "x", "#"... but not the Portuguese "ramal 12".
_RAMAL_RE = re.compile(r"\bramal\b:?", re.IGNORECASE)
_PARSE_ERRORS = {
    NumberParseException.INVALID_COUNTRY_CODE: "no country code: write it as +<code> <number>",
    NumberParseException.TOO_SHORT_AFTER_IDD: "too short after the international prefix",
    NumberParseException.TOO_SHORT_NSN: "too short",
    NumberParseException.TOO_LONG: "too long",
}


class InvalidPhoneNumber(ValueError):  # noqa: N818 - a public name of kommo_api
    """Not a valid phone number; the message says why."""


def validate_region(region: str | None) -> str | None:
    """The ISO 3166 alpha-2 code upper-cased, if ``phonenumbers`` knows it, else ValueError.

    ``None`` is allowed: only numbers written with their country code (``+..``) then parse.
    """
    if region is None:
        return None
    if not isinstance(region, str) or not region.isascii():
        raise ValueError(f"the phone region must be an ISO 3166 alpha-2 code, not {region!r}")
    code = region.strip().upper()
    if code not in phonenumbers.SUPPORTED_REGIONS:
        raise ValueError(f"unknown phone region {region!r}: use an ISO 3166 alpha-2 code")
    return code


def normalize_phone(raw: str, region: str | None = DEFAULT_REGION) -> str:
    """``raw`` as E.164 (``+5511987654321``), or InvalidPhoneNumber.

    A bad ``region`` is a configuration error and raises a plain ValueError.
    """
    return phonenumbers.format_number(_parse_valid(raw, region), PhoneNumberFormat.E164)


def try_normalize_phone(raw: object, region: str | None = DEFAULT_REGION) -> str | None:
    """Like ``normalize_phone``, but None for a number that is not valid."""
    try:
        return normalize_phone(raw, region)  # type: ignore[arg-type]
    except InvalidPhoneNumber:
        return None


def phone_digits(raw: str | None) -> str:
    """Only the digits of ``raw`` (other scripts' digits become ASCII); ``""`` for None/False
    (Odoo's empty field)."""
    if raw is None or raw is False:
        return ""
    if not isinstance(raw, str):
        raise TypeError(f"phone_digits() takes text, not {type(raw).__name__}")
    return phonenumbers.normalize_digits_only(raw)


def phone_search_keys(e164: str) -> list[str]:
    """The ``query`` strings to search Kommo contacts for this number, in the order to try:
    the E.164 text itself (``+5511987654321``), its national significant number
    (``11987654321``), all its digits (``5511987654321``), then the number as people write it
    internationally (``+55 11 98765-4321``) and nationally (``(11) 98765-4321``).

    How Kommo's search meets phone values is not documented (CONTRACT.md, "Phone search"), so
    the keys hold under both readings. Comparing digits, the first key finds the number
    however it is stored (the national number adds one stored with a trunk prefix). Matching
    only a value written exactly as the query, the E.164 text finds every contact this
    connector created (it stores phones in E.164), and the other keys the ways people and
    other integrations most often store a number.

    Kommo's search may also match a query as a substring, so a hit is a candidate only:
    confirm it by normalising the contact's phone values and comparing them with ``e164``.
    """
    number = _parse_valid(e164, None)
    national = phonenumbers.national_significant_number(number)
    keys = [
        phonenumbers.format_number(number, PhoneNumberFormat.E164),
        national,
        f"{number.country_code}{national}",
        phonenumbers.format_number(number, PhoneNumberFormat.INTERNATIONAL),
        phonenumbers.format_number(number, PhoneNumberFormat.NATIONAL),
    ]
    return list(dict.fromkeys(keys))


def _parse_valid(raw: object, region: str | None) -> phonenumbers.PhoneNumber:
    region = validate_region(region)
    if not isinstance(raw, str):
        raise InvalidPhoneNumber(f"a phone number must be text, not {type(raw).__name__}")
    text = _RAMAL_RE.sub("ext.", raw).strip()
    if not text:
        raise InvalidPhoneNumber("the phone number is empty")
    try:
        number = phonenumbers.parse(text, region)
    except NumberParseException as exc:
        reason = _PARSE_ERRORS.get(exc.error_type, "not a phone number")
        raise InvalidPhoneNumber(f"invalid phone number: {reason}") from None
    if not phonenumbers.is_valid_number(number):
        raise InvalidPhoneNumber(f"not a valid phone number: {_describe(number)}")
    return number


def _describe(number: phonenumbers.PhoneNumber) -> str:
    region = phonenumbers.region_code_for_number(number)
    return f"+{number.country_code} {number.national_number} ({region or 'no known region'})"
