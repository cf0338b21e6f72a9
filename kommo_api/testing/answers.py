"""Kommo's answer shapes: HAL JSON, problem+json errors, validation-errors, HTML/text pages."""

import json
from http import HTTPStatus
from typing import Any

from werkzeug.wrappers import Response

HAL_JSON = "application/hal+json"
PROBLEM_JSON = "application/problem+json"

NOT_BLANK = "NotBlank"
INVALID_TYPE = "InvalidType"  # code chosen by the emulator; Kommo's exact code is unconfirmed
NOT_SUPPORTED_CHOICE = "NotSupportedChoice"  # seen in real Kommo answers
TOO_MANY = "Count"  # code chosen by the emulator for collection size limits

CHOICE_DETAIL = "The value you selected is not a valid choice."
BLANK_DETAIL = "This value should not be blank."


def dump_json(payload: Any) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def status_title(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def hal(payload: Any, status: int = 200) -> Response:
    return Response(dump_json(payload), status=status, content_type=HAL_JSON)


def no_content() -> Response:
    return Response(status=204)


def problem(status: int, detail: str, **extra: Any) -> Response:
    body = dict(extra)
    body.update(
        {
            "title": status_title(status),
            "type": f"https://httpstatus.es/{status}",
            "status": status,
            "detail": detail,
        }
    )
    return Response(dump_json(body), status=status, content_type=PROBLEM_JSON)


def html_page(status: int, title: str, text: str) -> Response:
    page = (
        f"<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>{title}</title></head>"
        f"<body><h1>{title}</h1><p>{text}</p></body></html>\n"
    )
    return Response(page, status=status, content_type="text/html; charset=utf-8")


def plain_text(status: int, text: str) -> Response:
    return Response(text, status=status, content_type="text/plain; charset=utf-8")


class ApiError(Exception):
    """Raised by handlers to answer with a problem+json error."""

    def __init__(self, status: int, detail: str, **extra: Any):
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.extra = extra

    def response(self) -> Response:
        return problem(self.status, self.detail, **self.extra)


class RequestValidationError(ApiError):
    """Kommo's 400 "Request validation failed" with per-item ``validation-errors``."""

    def __init__(self, items: list[dict]):
        super().__init__(400, "Request validation failed", **{"validation-errors": items})
        self.items = items


class Issues:
    """Validation errors of one item of a batch, reported under that item's ``request_id``."""

    def __init__(self, request_id: str, prefix: str = ""):
        self.request_id = request_id
        self.prefix = prefix
        self.errors: list[dict] = []

    def nested(self, prefix: str) -> "Issues":
        """A view that writes into the same list with a longer path prefix."""
        view = Issues(self.request_id, self._path(prefix))
        view.errors = self.errors
        return view

    def _path(self, path: str) -> str:
        return f"{self.prefix}.{path}" if self.prefix and path else (self.prefix or path)

    def add(self, code: str, path: str, detail: str) -> None:
        self.errors.append({"code": code, "path": self._path(path), "detail": detail})

    def blank(self, path: str) -> None:
        self.add(NOT_BLANK, path, BLANK_DETAIL)

    def bad_type(self, path: str, expected: str) -> None:
        self.add(INVALID_TYPE, path, f"This value should be of type {expected}.")

    def bad_choice(self, path: str) -> None:
        self.add(NOT_SUPPORTED_CHOICE, path, CHOICE_DETAIL)

    def too_many(self, path: str, limit: int) -> None:
        self.add(TOO_MANY, path, f"This collection should contain {limit} elements or less.")

    def __bool__(self) -> bool:
        return bool(self.errors)


def raise_if_invalid(all_issues: list[Issues]) -> None:
    """Kommo validates a batch as a whole: one bad item rejects the entire request."""
    items = [{"request_id": i.request_id, "errors": i.errors} for i in all_issues if i.errors]
    if items:
        raise RequestValidationError(items)


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
