"""The HTTP plumbing shared by the client and the OAuth app: one attempt, its outcome, backoff.

Private: the public surface is :class:`kommo_api.client.KommoClient` and
:class:`kommo_api.oauth.OAuthApp`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests
from urllib3.exceptions import ReadTimeoutError

from .errors import (
    KommoConnectionError,
    KommoError,
    KommoTimeout,
    KommoUnexpectedResponse,
    error_for_response,
    excerpt,
)
from .hosts import redirect_allowed

_logger = logging.getLogger(__name__)

# Kommo does not document a request id header; these are the usual spellings.
REQUEST_ID_HEADERS = ("X-Request-Id", "X-Amo-Request-Id", "X-Trace-Id")
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "PATCH", "DELETE"})
# A moved account (amocrm.com -> kommo.com) keeps the request: method, body and headers.
REDIRECT_STATUSES = frozenset({301, 302, 307, 308})
MAX_REDIRECTS = 3


@dataclass
class Exchange:
    """One HTTP attempt, as handed to ``on_exchange`` (the Odoo side writes its sync log)."""

    method: str
    path: str
    status: int | None
    duration_ms: int
    error: KommoError | None
    request_id: str | None
    attempt: int
    entity_count: int | None


class ReportedAttempt:
    """Times one HTTP attempt and hands it to ``on_exchange`` as an :class:`Exchange` when it
    ends, however it ends: the client's calls and the OAuth app's token calls are reported
    the same way. The caller sets ``response`` (and ``payload``, once decoded) as it goes;
    a :class:`KommoError` raised inside is the exchange's error.
    """

    def __init__(
        self,
        on_exchange: Callable[[Exchange], Any] | None,
        method: str,
        url: str,
        *,
        attempt: int = 1,
        body: Any = None,
    ):
        self.on_exchange = on_exchange
        self.method = method
        self.url = url
        self.attempt = attempt
        self.body = body
        self.response: requests.Response | None = None
        self.payload: Any = None
        self._started = 0.0

    def __enter__(self) -> ReportedAttempt:
        self._started = time.perf_counter()
        return self

    def __exit__(self, _type, error, _traceback) -> None:
        if self.on_exchange is None:
            return
        response = self.response
        exchange = Exchange(
            method=self.method,
            path=urlsplit(self.url).path,
            status=None if response is None else response.status_code,
            duration_ms=round((time.perf_counter() - self._started) * 1000),
            error=error if isinstance(error, KommoError) else None,
            request_id=None if response is None else request_id_of(response),
            attempt=self.attempt,
            entity_count=entity_count(self.body if self.body is not None else self.payload),
        )
        try:
            self.on_exchange(exchange)
        except Exception:
            # A broken sync log must not turn a good API call into a failure.
            _logger.exception(
                "on_exchange callback failed for %s %s", exchange.method, exchange.path
            )


def send(session: requests.Session, method: str, url: str, **kwargs) -> requests.Response:
    """One HTTP attempt; transport failures come out as Kommo errors, answers as they are.

    A timed-out or dropped request may have been applied by the server, so the error is
    marked ``outcome_unknown`` unless the connection was never made.

    Redirects are followed by hand, at most MAX_REDIRECTS, and only where
    :func:`kommo_api.hosts.redirect_allowed` says (Kommo's own domains): requests' own
    following would drop the bearer token on the host change and turn a POST into a GET,
    and must never carry the token or the client secret to a foreign host. Any other
    redirect is returned as it is (the caller reports it).
    """
    for _hop in range(MAX_REDIRECTS):
        response = _send_once(session, method, url, **kwargs)
        target = _redirect_target(response, url)
        if target is None:
            return response
        _logger.info("Kommo redirected %s to %s", url.split("?", 1)[0], target.split("?", 1)[0])
        response.close()
        # The Location is the whole new address, query included.
        kwargs.pop("params", None)
        url = target
    return _send_once(session, method, url, **kwargs)


def _redirect_target(response: requests.Response, url: str) -> str | None:
    location = response.headers.get("Location")
    if response.status_code not in REDIRECT_STATUSES or not location:
        return None
    target = urljoin(url, location)
    return target if redirect_allowed(url, target) else None


def _send_once(session: requests.Session, method: str, url: str, **kwargs) -> requests.Response:
    try:
        return session.request(method, url, allow_redirects=False, **kwargs)
    except requests.ConnectTimeout as exc:
        raise KommoTimeout(f"Kommo did not accept the connection in time ({_reason(exc)})") from exc
    except requests.Timeout as exc:
        raise KommoTimeout(
            f"Kommo did not answer in time ({_reason(exc)})", outcome_unknown=True
        ) from exc
    except requests.ConnectionError as exc:
        if _is_read_timeout(exc):
            raise KommoTimeout(
                f"Kommo did not answer in time ({_reason(exc)})", outcome_unknown=True
            ) from exc
        never_sent = _never_connected(exc)
        raise KommoConnectionError(
            f"Could not reach Kommo ({_reason(exc)})", outcome_unknown=not never_sent
        ) from exc
    except requests.RequestException as exc:
        raise KommoConnectionError(
            f"Request to Kommo failed ({_reason(exc)})", outcome_unknown=True
        ) from exc


def _reason(exc: Exception) -> str:
    # The exception text may quote the URL; it never holds the bearer (a header), but keep it short.
    return excerpt(f"{type(exc).__name__}: {exc}", limit=160)


def _is_read_timeout(exc: BaseException) -> bool:
    return any(isinstance(arg, ReadTimeoutError) for arg in exc.args)


def _never_connected(exc: BaseException) -> bool:
    """Whether the failure happened before the request could reach the server."""
    text = repr(exc)
    return "NewConnectionError" in text or "Connection refused" in text


def request_id_of(response: requests.Response) -> str | None:
    for header in REQUEST_ID_HEADERS:
        value = response.headers.get(header)
        if value:
            return value[:100]
    return None


def error_of(response: requests.Response) -> KommoError:
    return error_for_response(
        response.status_code,
        response.content,
        content_type=response.headers.get("Content-Type"),
        request_id=request_id_of(response),
        retry_after=response.headers.get("Retry-After"),
    )


def decode(response: requests.Response) -> Any:
    """The JSON of a 2xx answer; None for 204 / an empty body; else KommoUnexpectedResponse."""
    if response.status_code == 204 or not response.content.strip():
        return None
    try:
        return response.json()
    except ValueError:
        raise KommoUnexpectedResponse(
            f"Kommo answered {response.status_code} with a body that is not JSON: "
            f"{excerpt(response.content)}",
            status=response.status_code,
            request_id=request_id_of(response),
        ) from None


def backoff_delay(retry_number: int, base: float, cap: float, random_unit) -> float:
    """Exponential backoff with full jitter: uniform in [0, min(cap, base * 2**n)]."""
    return random_unit() * min(cap, base * (2**retry_number))


def entity_count(payload: Any) -> int | None:
    """How many entities a request or answer body carries (a list, or a HAL collection)."""
    if isinstance(payload, list):
        return len(payload)
    if isinstance(payload, Mapping):
        embedded = payload.get("_embedded")
        if isinstance(embedded, Mapping):
            for value in embedded.values():
                if isinstance(value, list):
                    return len(value)
    return None


def flatten_params(prefix: str, value: Any) -> Iterator[tuple[str, Any]]:
    """Kommo's bracketed query keys: ``{"updated_at": {"from": 1}}`` -> ``[updated_at][from]``.

    Lists become repeated ``key[]`` parameters.
    """
    if isinstance(value, Mapping):
        for key, inner in value.items():
            yield from flatten_params(f"{prefix}[{key}]", inner)
    elif isinstance(value, list | tuple | set | frozenset):
        for item in value:
            yield f"{prefix}[]", item
    else:
        yield prefix, value


def with_param(with_: str | Sequence[str] | None) -> str | None:
    if with_ is None or isinstance(with_, str):
        return with_
    return ",".join(with_)


def chunked(items: Sequence, size: int) -> Iterator[tuple[int, list]]:
    """``(offset, chunk)`` pairs covering ``items`` in order."""
    for offset in range(0, len(items), size):
        yield offset, list(items[offset : offset + size])
