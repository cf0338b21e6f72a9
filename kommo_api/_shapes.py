"""The shapes of Kommo's answers and requests: HAL collections, complex-create results, ids."""

from __future__ import annotations

import email.utils
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timezone
from typing import Any, NamedTuple

from .errors import KommoUnexpectedResponse, excerpt

ENTITY_TYPES = frozenset({"leads", "contacts", "companies", "customers"})


class Page(NamedTuple):
    """One page of a list: its items and whether another page follows. ``not_modified``: Kommo
    answered 304 to ``If-Modified-Since`` (nothing changed since), so there are no items."""

    items: list[dict]
    has_next: bool
    not_modified: bool = False


def unexpected(what: str, payload: Any) -> KommoUnexpectedResponse:
    return KommoUnexpectedResponse(f"Kommo's answer is not {what}: {excerpt(repr(payload))}")


def collection(payload: Any, key: str) -> list[dict]:
    """The items of a HAL collection; an empty answer (204) is an empty collection."""
    if payload is None:
        return []
    if isinstance(payload, Mapping):
        embedded = payload.get("_embedded")
        items = embedded.get(key) if isinstance(embedded, Mapping) else None
        if isinstance(items, list):
            return items
    raise unexpected(f"a collection of {key}", payload)


def as_object(payload: Any, what: str) -> dict:
    if isinstance(payload, dict):
        return payload
    raise unexpected(f"a {what} object", payload)


def has_next(payload: Mapping) -> bool:
    links = payload.get("_links")
    return isinstance(links, Mapping) and bool(links.get("next"))


def complex_results(payload: Any, chunk: list[dict]) -> list[tuple[str, dict]]:
    """``(request_id, {"id", "contact_id", "company_id", "merged", "request_ids"})`` for every
    lead of ``chunk`` that Kommo answered for.

    With duplicate control on, Kommo merges a new lead into an existing open one instead of
    creating it: the answer then carries the existing lead's id, ``merged: true`` and, in
    ``request_id``, every request id merged into it (Kommo's "Complex addition" reference), so
    there may be fewer answers than leads. Each of those request ids gets the result, and
    ``request_ids`` names them all. An answer without request ids is matched by its position,
    which holds only when there are as many answers as leads (nothing was merged).
    """
    if isinstance(payload, Mapping):
        payload = collection(payload, "leads")
    if not isinstance(payload, list):
        raise unexpected("a list of created leads", payload)
    by_position = len(payload) == len(chunk)
    pairs = []
    for position, item in enumerate(payload):
        if not isinstance(item, Mapping):
            raise unexpected("a created lead", item)
        request_ids = _request_ids(item.get("request_id"))
        if not request_ids:
            if not by_position:
                raise unexpected("a merged answer naming its request ids", item)
            request_ids = [str(chunk[position]["request_id"])]  # answers keep the request order
        result = {key: item.get(key) for key in ("id", "contact_id", "company_id")}
        result["merged"] = bool(item.get("merged"))
        result["request_ids"] = request_ids
        pairs.extend(
            (request_id, dict(result, request_ids=list(request_ids))) for request_id in request_ids
        )
    return pairs


def _request_ids(value: Any) -> list[str]:
    values = value if isinstance(value, list) else [value]
    return [str(item) for item in values if isinstance(item, (str, int)) and str(item)]


def link_items(pairs: Iterable, main: bool) -> list[dict]:
    """``POST /api/v4/leads/link`` items for ``(lead_id, contact_id)`` pairs. ``main`` sends
    ``metadata: {"is_main": true}``, the PHP library's spelling (Kommo's answers call the flag
    ``main_contact``)."""
    items = []
    for pair in pairs:
        lead_id, contact_id = pair
        if not all(isinstance(i, int) and not isinstance(i, bool) for i in (lead_id, contact_id)):
            raise ValueError(f"a link needs an integer lead id and contact id, not {pair!r}")
        item = {"entity_id": lead_id, "to_entity_id": contact_id, "to_entity_type": "contacts"}
        if main:
            item["metadata"] = {"is_main": True}
        items.append(item)
    return items


def links_of(payload: Any, _chunk=None) -> list[dict]:
    """The links a link call answers (``_embedded.links``); nothing when Kommo answered 204."""
    embedded = payload.get("_embedded") if isinstance(payload, Mapping) else None
    links = embedded.get("links") if isinstance(embedded, Mapping) else None
    return links if isinstance(links, list) else []


def http_date(moment: int | float | datetime) -> str:
    """An ``If-Modified-Since`` value: unix seconds or a datetime (naive means UTC)."""
    if isinstance(moment, datetime):
        aware = moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
    else:
        aware = datetime.fromtimestamp(moment, timezone.utc)
    return email.utils.format_datetime(aware.astimezone(timezone.utc), usegmt=True)


def positional_ids(chunk: list[dict], offset: int) -> dict[str, str]:
    """Kommo numbers rejected items by their position in the chunk: name them for the caller."""
    own_ids = {str(item.get("request_id")) for item in chunk if item.get("request_id")}
    mapping = {}
    for position, item in enumerate(chunk):
        if str(position) not in own_ids:
            mapping[str(position)] = str(item.get("request_id") or offset + position)
    return mapping


def param_list(params) -> list[tuple[str, Any]]:
    if params is None:
        return []
    if isinstance(params, Mapping):
        return list(params.items())
    return list(params)


def require_ids(items: Sequence[dict], what: str) -> None:
    if not all(isinstance(item.get("id"), int) for item in items):
        raise ValueError(f"every {what} to update needs its integer id")


def checked_entity(entity: str) -> str:
    if entity not in ENTITY_TYPES:
        raise ValueError(f"unknown Kommo entity type {entity!r}")
    return entity
