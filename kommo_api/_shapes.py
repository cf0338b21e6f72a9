"""The shapes of Kommo's answers and requests: HAL collections, complex-create results, ids."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .errors import KommoUnexpectedResponse, excerpt

ENTITY_TYPES = frozenset({"leads", "contacts", "companies", "customers"})


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
    """``(request_id, {"id", "contact_id", "company_id", "merged"})`` for each created lead."""
    if isinstance(payload, Mapping):
        payload = collection(payload, "leads")
    if not isinstance(payload, list):
        raise unexpected("a list of created leads", payload)
    pairs = []
    for position, item in enumerate(payload):
        if not isinstance(item, Mapping):
            raise unexpected("a created lead", item)
        request_id = item.get("request_id")
        if isinstance(request_id, list):
            request_id = request_id[0] if request_id else None
        if request_id is None and position < len(chunk):
            request_id = chunk[position]["request_id"]  # answers keep the order of the request
        result = {key: item.get(key) for key in ("id", "contact_id", "company_id")}
        result["merged"] = bool(item.get("merged"))
        pairs.append((str(request_id), result))
    return pairs


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
