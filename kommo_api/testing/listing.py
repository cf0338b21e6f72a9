"""List endpoints: nested query keys, Kommo's filters and ordering, HAL paging."""

import re
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urlencode

from werkzeug.wrappers import Request, Response

from .answers import ApiError, hal, no_content

MAX_LIMIT = 250
DEFAULT_LIMIT = 50
_BRACKETS = re.compile(r"\[([^\[\]]*)\]")


def _split_key(key: str) -> list[str]:
    head, bracket, _rest = key.partition("[")
    if not bracket:
        return [key]
    return [head, *_BRACKETS.findall(key[len(head) :])]


def nested_params(pairs: Iterable[tuple[str, str]]) -> dict:
    """``filter[id][]=1&filter[id][]=2`` -> ``{"filter": {"id": ["1", "2"]}}``."""
    root: dict = {}
    for key, value in pairs:
        parts = _split_key(key)
        node = root
        for raw_part in parts[:-1]:
            part = raw_part or str(len(node))
            child = node.get(part)
            if not isinstance(child, dict):
                child = node[part] = {}
            node = child
        node[parts[-1] or str(len(node))] = value
    return _lists_from_digit_keys(root)


def _lists_from_digit_keys(node: Any) -> Any:
    if not isinstance(node, dict):
        return node
    items = {key: _lists_from_digit_keys(value) for key, value in node.items()}
    if items and all(key.isdigit() for key in items):
        return [items[key] for key in sorted(items, key=int)]
    return items


def query_params(request: Request) -> dict:
    return nested_params(request.args.items(multi=True))


def to_int(value: Any, name: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ApiError(400, f"Invalid value of {name}") from None


def int_set(value: Any, name: str) -> set[int]:
    """filter[id]=1, filter[id][]=1&filter[id][]=2 and filter[id]=1,2 all mean a set of ids."""
    values = value if isinstance(value, list) else str(value).split(",")
    if any(isinstance(item, (dict, list)) for item in values):
        raise ApiError(400, f"Invalid value of {name}")
    return {to_int(item, name) for item in values if str(item).strip()}


def with_set(params: dict) -> set[str]:
    raw = params.get("with") or ""
    return {part.strip() for part in str(raw).split(",") if part.strip()}


RANGE_KEYS = ("created_at", "updated_at", "closed_at")


def _range_test(spec: Any, name: str) -> Callable[[Any], bool]:
    if isinstance(spec, dict):
        low = to_int(spec["from"], name) if "from" in spec else None
        high = to_int(spec["to"], name) if "to" in spec else None
    else:
        low = high = to_int(spec, name)

    def test(value: Any) -> bool:
        if value is None:
            return False
        return (low is None or value >= low) and (high is None or value <= high)

    return test


def record_filter(spec: Any) -> Callable[[dict], bool]:
    """A predicate for Kommo's ``filter[...]`` on leads or contacts (unknown keys ignored)."""
    if not spec:
        return lambda record: True
    if not isinstance(spec, dict):
        raise ApiError(400, "Invalid filter")
    tests: list[Callable[[dict], bool]] = []
    if "id" in spec:
        ids = int_set(spec["id"], "filter[id]")
        tests.append(lambda record: record["id"] in ids)
    for key in RANGE_KEYS:
        if key in spec:
            value_test = _range_test(spec[key], f"filter[{key}]")
            tests.append(lambda record, key=key, value_test=value_test: value_test(record.get(key)))
    for key in ("responsible_user_id", "pipeline_id"):
        if key in spec:
            wanted = int_set(spec[key], f"filter[{key}]")
            tests.append(lambda record, key=key, wanted=wanted: record.get(key) in wanted)
    if "name" in spec:
        names = set(spec["name"]) if isinstance(spec["name"], list) else {spec["name"]}
        tests.append(lambda record: record.get("name") in names)
    if "statuses" in spec:
        tests.append(_statuses_test(spec["statuses"]))
    return lambda record: all(test(record) for test in tests)


def _statuses_test(spec: Any) -> Callable[[dict], bool]:
    entries = spec if isinstance(spec, list) else [spec]
    pairs = set()
    for entry in entries:
        if not isinstance(entry, dict) or "status_id" not in entry:
            raise ApiError(400, "Invalid filter[statuses]")
        pipeline = entry.get("pipeline_id")
        pairs.add(
            (
                to_int(pipeline, "pipeline_id") if pipeline else None,
                to_int(entry["status_id"], "status_id"),
            )
        )

    def test(record: dict) -> bool:
        status = record.get("status_id")
        return (record.get("pipeline_id"), status) in pairs or (None, status) in pairs

    return test


def ordered(records: list[dict], order: Any, default: str = "id") -> list[dict]:
    """order[updated_at]=desc etc.; ties by id ascending. Without order[...] Kommo documents
    no order: ``default`` "id" (the records' id order) or "newest_first" (a reading that makes
    a scan without order[...] miss and repeat records as the list grows)."""
    if not order:
        return sorted(records, key=lambda r: r["id"], reverse=default == "newest_first")
    if not isinstance(order, dict) or len(order) != 1:
        raise ApiError(400, "Invalid order")
    ((key, direction),) = order.items()
    if key not in ("id", "created_at", "updated_at") or direction not in ("asc", "desc"):
        raise ApiError(400, "Invalid order")
    return sorted(records, key=lambda r: (r.get(key) or 0, r["id"]), reverse=direction == "desc")


def modified_since(request: Request, records: list[dict], reading: str) -> list[dict] | None:
    """The ``If-Modified-Since`` header by the emulator's reading (Kommo recommends the header
    on lists, documents no effect): "not_modified" answers 304 (None here) when no record was
    updated after it, "filter" keeps only the records updated after it, "ignore" does nothing.
    """
    since = request.if_modified_since
    if since is None or reading == "ignore":
        return records
    changed = [record for record in records if (record.get("updated_at") or 0) > since.timestamp()]
    if reading == "filter":
        return changed
    return records if changed else None


def page_window(params: dict) -> tuple[int, int]:
    """Page from 1; limit defaults to 50 and is capped at 250 (Kommo's maximum)."""
    page = to_int(params.get("page", 1), "page")
    limit = to_int(params.get("limit", DEFAULT_LIMIT), "limit")
    if page < 1 or limit < 1:
        raise ApiError(400, "page and limit must be positive")
    return page, min(limit, MAX_LIMIT)


def _href(request: Request, page: int | None) -> dict:
    args = [(k, v) for k, v in request.args.items(multi=True) if page is None or k != "page"]
    if page is not None:
        args.append(("page", str(page)))
    query = urlencode(args)
    return {"href": request.base_url + (f"?{query}" if query else "")}


def paged_answer(
    request: Request,
    params: dict,
    records: list,
    embedded_key: str,
    render: Callable[[Any], dict],
    *,
    total: bool = False,
) -> Response:
    """One HAL page of ``records``; 204 when the page is empty, ``next`` only if more remain."""
    page, limit = page_window(params)
    start = (page - 1) * limit
    chunk = records[start : start + limit]
    if not chunk:
        return no_content()
    links = {"self": _href(request, None)}
    if start + limit < len(records):
        links["next"] = _href(request, page + 1)
    links["first"] = _href(request, 1)
    if page > 1:
        links["prev"] = _href(request, page - 1)
    body: dict = {"_page": page}
    if total:
        body["_total_items"] = len(records)
        body["_page_count"] = -(-len(records) // limit)
    body["_links"] = links
    body["_embedded"] = {embedded_key: [render(item) for item in chunk]}
    return hal(body)
