# ruff: noqa: N818 -- the exception names are the package's public API (kommo_api.__all__)
"""One exception tree for everything Kommo can answer, and the mapping from an HTTP answer to it.

Every error carries a ``message`` that is safe to show a user: bodies are truncated and anything
that looks like a token is masked, because Kommo's answers are quoted in logs and chatter.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass

BODY_EXCERPT_CHARS = 300
MASK = "***"

# A JWT (Kommo's access tokens are JWTs) or a long opaque token-like run of characters.
_TOKEN_LIKE = re.compile(r"eyJ[\w-]+\.[\w-]+\.[\w-]*|\b[A-Za-z0-9_\-]{64,}\b")
_WHITESPACE = re.compile(r"\s+")


def redact(text: str, secrets: Iterable[str | None] = ()) -> str:
    """``text`` with the given secret values and anything token-like replaced by a mask."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, MASK)
    return _TOKEN_LIKE.sub(MASK, text)


def excerpt(body: bytes | str | None, limit: int = BODY_EXCERPT_CHARS) -> str:
    """A one-line, truncated, redacted rendering of a response body for a message."""
    if body is None:
        return ""
    if isinstance(body, bytes):
        body = body.decode("utf-8", errors="replace")
    text = _WHITESPACE.sub(" ", redact(body)).strip()
    if len(text) > limit:
        text = text[:limit] + "…"
    return text


class KommoError(Exception):
    """Base of every error raised by :mod:`kommo_api`.

    ``retry_safe`` says whether sending the same request again cannot do harm by itself; for a
    create whose outcome is unknown (``outcome_unknown``) the caller must look before retrying.
    ``completed`` holds the results of the chunks of a batch write that succeeded before this
    error, so a caller can record what was created.
    """

    retry_safe = False
    default_message = "Kommo request failed"

    def __init__(
        self,
        message: str | None = None,
        *,
        status: int | None = None,
        request_id: str | None = None,
        outcome_unknown: bool = False,
    ):
        self.message = redact(message or self.default_message)
        self.status = status
        self.request_id = request_id
        self.outcome_unknown = outcome_unknown
        self.completed: list = []
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"{type(self).__name__}(status={self.status!r}, message={self.message!r})"


class KommoAuthError(KommoError):
    default_message = "Kommo refused the credentials"


class KommoTokenExpired(KommoAuthError):
    default_message = "The Kommo access token has expired or is invalid"


class KommoTokenRevoked(KommoAuthError):
    default_message = "The Kommo connection was revoked: reconnect the account"


class KommoForbidden(KommoError):
    default_message = "Kommo refused the request (forbidden)"


class KommoBlocked(KommoForbidden):
    default_message = "Kommo has blocked the account's API access (too many requests)"


class KommoPaymentRequired(KommoError):
    default_message = "Kommo refused the request: the account's plan does not allow it"


class KommoNotFound(KommoError):
    default_message = "Kommo has no such record"


class KommoRateLimited(KommoError):
    retry_safe = True
    default_message = "Kommo rate limit exceeded (429)"

    def __init__(self, message: str | None = None, *, retry_after: float | None = None, **kw):
        super().__init__(message, **kw)
        self.retry_after = retry_after


@dataclass(frozen=True)
class ValidationIssue:
    """One entry of Kommo's ``validation-errors``; ``request_id`` names the rejected item."""

    request_id: str | None
    code: str | None
    path: str | None
    detail: str | None

    @property
    def text(self) -> str:
        what = self.detail or self.code or "invalid"
        if self.code and self.detail and self.code not in self.detail:
            what = f"{self.detail} ({self.code})"
        return f"{self.path}: {what}" if self.path else what


class KommoValidationError(KommoError):
    default_message = "Kommo rejected the request as invalid"

    def __init__(self, message: str | None = None, *, issues=(), **kw):
        self.issues: list[ValidationIssue] = list(issues)
        super().__init__(message, **kw)
        self._summary = self.message
        self._refresh_message()

    def messages_for(self, request_id) -> list[str]:
        """Readable messages about the item sent with ``request_id``."""
        wanted = str(request_id)
        return [issue.text for issue in self.issues if issue.request_id == wanted]

    def remap_request_ids(self, mapping: dict[str, str]) -> None:
        """Rename the issues' ``request_id`` (chunk positions -> the caller's own ids)."""
        self.issues = [
            ValidationIssue(mapping.get(i.request_id, i.request_id), i.code, i.path, i.detail)
            for i in self.issues
        ]
        self._refresh_message()

    def _refresh_message(self) -> None:
        if not self.issues:
            return
        details = "; ".join(f"[{i.request_id}] {i.text}" for i in self.issues[:10])
        more = f"; and {len(self.issues) - 10} more" if len(self.issues) > 10 else ""
        self.message = redact(f"{self._summary}: {details}{more}")
        self.args = (self.message,)


class KommoServerError(KommoError):
    retry_safe = True
    default_message = "Kommo had an internal error"


class KommoTimeout(KommoError):
    retry_safe = True
    default_message = "Kommo did not answer in time"


class KommoConnectionError(KommoError):
    retry_safe = True
    default_message = "Could not reach Kommo"


class KommoUnexpectedResponse(KommoError):
    default_message = "Kommo answered with an unexpected body"


def parse_json_body(body: bytes | str | None):
    """The decoded JSON body, or None when it is empty or not JSON."""
    if not body:
        return None
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None


def looks_like_html(body: bytes | str | None, content_type: str | None) -> bool:
    if content_type and "html" in content_type.lower():
        return True
    if not body:
        return False
    head = body[:200].lstrip().lower()
    if isinstance(head, bytes):
        head = head.decode("ascii", errors="ignore")
    return head.startswith(("<!doctype html", "<html"))


def is_revocation(payload) -> bool:
    """Whether an auth error body says the (refresh) token is dead rather than just expired."""
    if not isinstance(payload, dict):
        return False
    hint = " ".join(str(payload.get(key, "")) for key in ("hint", "detail", "message", "title"))
    return payload.get("error") == "invalid_grant" or "revoked" in hint.lower()


def validation_issues(payload) -> list[ValidationIssue]:
    """Kommo's ``validation-errors`` list flattened into issues (tolerating odd shapes)."""
    if not isinstance(payload, dict):
        return []
    issues = []
    for entry in payload.get("validation-errors") or []:
        if not isinstance(entry, dict):
            continue
        request_id = entry.get("request_id")
        request_id = None if request_id is None else str(request_id)
        for error in entry.get("errors") or []:
            if isinstance(error, dict):
                issues.append(
                    ValidationIssue(
                        request_id=request_id,
                        code=_opt_str(error.get("code")),
                        path=_opt_str(error.get("path")),
                        detail=_opt_str(error.get("detail")),
                    )
                )
    return issues


def _opt_str(value) -> str | None:
    return None if value is None else str(value)


_STATUS_CLASSES = {
    401: KommoTokenExpired,
    402: KommoPaymentRequired,
    403: KommoForbidden,
    404: KommoNotFound,
    429: KommoRateLimited,
}


def error_for_response(
    status: int,
    body: bytes | str | None,
    *,
    content_type: str | None = None,
    request_id: str | None = None,
    retry_after: str | None = None,
) -> KommoError:
    """The exception for a non-2xx answer (the caller raises it)."""
    payload = parse_json_body(body)
    quoted = excerpt(_problem_text(payload) if payload is not None else body)
    kw = {"status": status, "request_id": request_id}
    if status == 403 and looks_like_html(body, content_type):
        return KommoBlocked(f"{KommoBlocked.default_message} (HTTP 403)", **kw)
    if status in (400, 422):
        issues = validation_issues(payload)
        return KommoValidationError(
            _with_quote(f"Kommo rejected the request ({status})", quoted), issues=issues, **kw
        )
    if status == 401 and is_revocation(payload):
        return KommoTokenRevoked(_with_quote(KommoTokenRevoked.default_message, quoted), **kw)
    if status == 429:
        return KommoRateLimited(retry_after=_seconds(retry_after), **kw)
    if status >= 500:
        return KommoServerError(
            _with_quote(f"Kommo had an internal error ({status})", quoted), **kw
        )
    error_class = _STATUS_CLASSES.get(status, KommoError)
    return error_class(_with_quote(f"{error_class.default_message} ({status})", quoted), **kw)


def _problem_text(payload) -> str:
    """The human part of a problem+json body, else the JSON itself."""
    if isinstance(payload, dict):
        parts = [str(payload[k]) for k in ("title", "detail", "hint") if payload.get(k)]
        if parts:
            return ": ".join(dict.fromkeys(parts))
    return json.dumps(payload, ensure_ascii=False)


def _with_quote(message: str, quoted: str) -> str:
    return f"{message}: {quoted}" if quoted else message


def _seconds(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None
