"""KommoClient: Kommo's REST API v4 for one account, through one request entry point.

Every call goes through :meth:`KommoClient.request`: the throttle, the bearer token, the
401-refresh-replay, the retry policy and the error mapping live there and nowhere else.
"""

from __future__ import annotations

import logging
import random as _random
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

import requests

from ._reads import ListReads
from ._shapes import (
    Page,
    as_object,
    checked_entity,
    collection,
    complex_results,
    link_items,
    links_of,
    positional_ids,
    require_ids,
)
from ._transport import (
    IDEMPOTENT_METHODS,
    Exchange,
    ReportedAttempt,
    backoff_delay,
    chunked,
    decode,
    error_of,
    send,
    with_param,
)
from .errors import (
    KommoAuthError,
    KommoError,
    KommoNotFound,
    KommoRateLimited,
    KommoServerError,
    KommoTokenRevoked,
    KommoUnexpectedResponse,
    KommoValidationError,
)
from .hosts import base_url, normalize_host
from .oauth import Tokens, TokenStore
from .throttle import SlidingWindowThrottle, Throttle

__all__ = ["Exchange", "KommoClient", "Page", "default_throttle"]

_logger = logging.getLogger(__name__)

MAX_BATCH_SIZE = 50
RATE_LIMIT_PAUSE = 1.0  # seconds: Kommo's rate window
USER_AGENT = "kommo-connector (+kommo_api)"

_default_throttle: SlidingWindowThrottle | None = None
_default_throttle_lock = threading.Lock()


def default_throttle() -> SlidingWindowThrottle:
    """The process-wide throttle: every client of one account shares its 7 requests/s."""
    global _default_throttle  # noqa: PLW0603 - one lazily built instance per process
    with _default_throttle_lock:
        if _default_throttle is None:
            _default_throttle = SlidingWindowThrottle()
        return _default_throttle


class KommoClient(ListReads):
    """The REST API of one Kommo account (``<sub>.kommo.com``, amoCRM hosts, or the emulator).

    List reads (``iter_leads``, ``iter_leads_updated_since``, ``iter_contacts``,
    ``contacts_page``, ``search_contacts``) live in :mod:`kommo_api._reads`."""

    def __init__(
        self,
        host: str,
        token_store: TokenStore,
        *,
        throttle: Throttle | None = None,
        session: requests.Session | None = None,
        timeout=(5, 30),
        max_retries: int = 3,
        backoff_base: float = 0.5,
        backoff_max: float = 30.0,
        sleep: Callable[[float], Any] = time.sleep,
        random: Callable[[], float] = _random.random,
        on_exchange: Callable[[Exchange], Any] | None = None,
        user_agent: str = USER_AGENT,
    ):
        self.host = normalize_host(host)
        self.base_url = base_url(self.host)
        self.token_store = token_store
        self.throttle = throttle or default_throttle()
        self.session = session or requests.Session()
        self.timeout = timeout
        self.max_retries = max_retries
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.on_exchange = on_exchange
        self.user_agent = user_agent
        self._sleep = sleep
        self._random = random

    def __repr__(self) -> str:
        return f"KommoClient(host={self.host!r})"

    # -- the entry point ------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        params=None,
        json: Any = None,
        idempotent: bool | None = None,
        headers: Mapping[str, str] | None = None,
        not_modified: Any = None,
    ) -> Any:
        """Send one API call and return its decoded JSON (None for 204 / an empty body, and
        ``not_modified`` for a 304 to a conditional read). ``headers`` are added to the call's
        own (they cannot replace the bearer token).

        Idempotent calls (GET, PATCH, PUT, DELETE, or ``idempotent=True``) are retried on
        timeouts, 5xx, 429 and connection errors with exponential backoff and full jitter.
        Anything else (POST creates) is never retried: a create that timed out may have
        happened, so the error goes to the caller. A 401 refreshes the tokens once through the
        token store and replays the call once.
        """
        method = method.upper()
        if idempotent is None:
            idempotent = method in IDEMPOTENT_METHODS
        tokens = self._usable_tokens()
        url = self._url(path)
        refreshed = False
        retries = attempt = 0
        while True:
            attempt += 1
            try:
                return self._attempt(
                    method,
                    url,
                    params=params,
                    body=json,
                    tokens=tokens,
                    attempt=attempt,
                    idempotent=idempotent,
                    extra_headers=headers,
                    not_modified=not_modified,
                )
            except KommoAuthError as exc:
                if refreshed or exc.status != 401:
                    raise
                tokens = self.token_store.refresh_tokens(tokens)
                refreshed = True
                if self._follow(tokens):
                    url = self._url(path)
            except KommoError as exc:
                if not (idempotent and exc.retry_safe and retries < self.max_retries):
                    raise
                self._sleep(self._backoff(retries, exc))
                retries += 1

    def _usable_tokens(self) -> Tokens:
        tokens = self.token_store.get_tokens()
        if tokens is None:
            raise KommoTokenRevoked("The Kommo account is not connected")
        if tokens.is_expired():
            tokens = self.token_store.refresh_tokens(tokens)
            self._follow(tokens)
        return tokens

    def _follow(self, tokens: Tokens) -> bool:
        """Move to the host the refreshed tokens belong to (a renamed account, followed by
        OAuthApp.refresh as the official PHP library does). Returns whether it moved."""
        if not tokens.host or normalize_host(tokens.host) == self.host:
            return False
        _logger.warning("Kommo account %s is now %s", self.host, tokens.host)
        self.host = normalize_host(tokens.host)
        self.base_url = base_url(self.host)
        return True

    def _url(self, path: str) -> str:
        if path.startswith(("http://", "https://")):
            # The bearer token must never travel to another host.
            if not path.startswith(self.base_url + "/"):
                raise ValueError(f"{path!r} is not on {self.base_url}")
            return path
        return self.base_url + "/" + path.lstrip("/")

    def _attempt(
        self, method, url, *, params, body, tokens, attempt, idempotent, extra_headers,
        not_modified,
    ) -> Any:  # fmt: skip
        self.throttle.acquire(self.host)
        headers = {
            **(extra_headers or {}),
            "Authorization": f"Bearer {tokens.access_token}",
            "Accept": "application/hal+json, application/json",
            "User-Agent": self.user_agent,
        }
        with ReportedAttempt(self.on_exchange, method, url, attempt=attempt, body=body) as reported:
            reported.response = response = send(
                self.session, method, url, params=params, json=body,
                headers=headers, timeout=self.timeout,
            )  # fmt: skip
            if response.status_code == 304:
                return not_modified
            if response.status_code >= 300:
                raise self._error_of(response, idempotent)
            reported.payload = decode(response)
            return reported.payload

    @staticmethod
    def _error_of(response: requests.Response, idempotent: bool) -> KommoError:
        if response.status_code < 400:
            return KommoUnexpectedResponse(
                f"Kommo answered with a redirect ({response.status_code})",
                status=response.status_code,
            )
        error = error_of(response)
        if isinstance(error, KommoServerError) and not idempotent:
            error.outcome_unknown = True
        return error

    def _backoff(self, retry_number: int, error: KommoError) -> float:
        delay = backoff_delay(retry_number, self.backoff_base, self.backoff_max, self._random)
        if isinstance(error, KommoRateLimited):
            # Kommo counts per second and sends no Retry-After: a quicker retry is another 429.
            pause = error.retry_after or RATE_LIMIT_PAUSE
            delay = max(delay, min(pause, self.backoff_max))
        return delay

    # -- collections and batches --------------------------------------------------------

    def _write(self, method: str, path: str, items: Sequence[dict], extract, idempotent=None):
        """Send ``items`` in chunks of 50; ``extract(payload, chunk)`` gives a chunk's results.

        On failure the error carries the results of the chunks that succeeded (``completed``)
        and validation issues name the caller's items (their ``request_id`` or list position).
        """
        results: list = []
        for offset, chunk in chunked(items, MAX_BATCH_SIZE):
            try:
                payload = self.request(method, path, json=chunk, idempotent=idempotent)
            except KommoError as exc:
                exc.completed = results
                if isinstance(exc, KommoValidationError):
                    exc.remap_request_ids(positional_ids(chunk, offset))
                raise
            results.extend(extract(payload, chunk))
        return results

    def _writecollection(self, method, path, items, embedded_key) -> list[dict]:
        return self._write(
            method, path, items, lambda payload, _chunk: collection(payload, embedded_key)
        )

    # -- account ----------------------------------------------------------------------------

    def get_account(self, with_=None) -> dict:
        params = [("with", with_param(with_))] if with_ else None
        return as_object(self.request("GET", "/api/v4/account", params=params), "account")

    # -- leads ------------------------------------------------------------------------------

    def get_lead(self, lead_id: int, with_=None) -> dict | None:
        params = [("with", with_param(with_))] if with_ else None
        try:
            payload = self.request("GET", f"/api/v4/leads/{int(lead_id)}", params=params)
        except KommoNotFound:
            return None
        return None if payload is None else as_object(payload, "lead")

    def create_leads(self, leads: Sequence[dict]) -> list[dict]:
        return self._writecollection("POST", "/api/v4/leads", leads, "leads")

    def update_leads(self, leads: Sequence[dict]) -> list[dict]:
        require_ids(leads, "lead")
        return self._writecollection("PATCH", "/api/v4/leads", leads, "leads")

    def create_leads_complex(self, leads: Sequence[dict]) -> dict[str, dict]:
        """Create leads with their contact; the answer keyed by each lead's ``request_id``:
        ``{"id", "contact_id", "company_id", "merged", "request_ids"}``.

        With Kommo's duplicate control on, a lead may be merged into an existing one rather
        than created: its result then has ``merged: True``, the existing lead's id, and in
        ``request_ids`` every request id of the call merged into that lead. A request id Kommo's
        answer does not name is missing from the result (its outcome is unknown).
        If a later chunk fails, the error's ``completed`` holds ``(request_id, result)`` pairs
        of the leads already created.
        """
        request_ids = [lead.get("request_id") for lead in leads]
        if not all(isinstance(rid, str) and rid for rid in request_ids):
            raise ValueError("every lead of a complex create needs a non-empty str request_id")
        if len(set(request_ids)) != len(request_ids):
            raise ValueError("request_id values of a complex create must be unique")
        pairs = self._write("POST", "/api/v4/leads/complex", leads, complex_results)
        return dict(pairs)

    def link_contacts(self, pairs: Iterable[tuple[int, int]], *, main: bool = True) -> list:
        """Link each ``(lead_id, contact_id)``, 50 a call (``POST /api/v4/leads/link``): the
        documented way to give an EXISTING lead a contact. ``_embedded.contacts`` counts on
        create only: an update ignores or refuses it (CONTRACT.md, "Links"). ``main`` makes
        the contact the lead's main contact. Linking twice changes nothing, so a failed call
        is retried. Returns Kommo's links (``to_entity_id``, ``metadata``...)."""
        items = link_items(pairs, main)
        return self._write("POST", "/api/v4/leads/link", items, links_of, idempotent=True)

    def unlink_contacts(self, pairs: Iterable[tuple[int, int]]) -> None:
        """Unlink each ``(lead_id, contact_id)``, 50 a call (``POST /api/v4/leads/unlink``,
        answered 204)."""
        items = link_items(pairs, main=False)
        self._write("POST", "/api/v4/leads/unlink", items, links_of, idempotent=True)

    # -- contacts ---------------------------------------------------------------------------

    def create_contacts(self, contacts: Sequence[dict]) -> list[dict]:
        return self._writecollection("POST", "/api/v4/contacts", contacts, "contacts")

    def update_contacts(self, contacts: Sequence[dict]) -> list[dict]:
        require_ids(contacts, "contact")
        return self._writecollection("PATCH", "/api/v4/contacts", contacts, "contacts")

    # -- notes ------------------------------------------------------------------------------

    def add_lead_notes(self, notes: Sequence[dict]) -> list[dict]:
        """Batch notes: each ``{"entity_id": lead_id, "note_type": "common", "params": {...}}``."""
        return self._writecollection("POST", "/api/v4/leads/notes", notes, "notes")

    # -- pipelines, custom fields, tags -----------------------------------------------------

    def get_pipelines(self) -> list[dict]:
        return collection(self.request("GET", "/api/v4/leads/pipelines"), "pipelines")

    def iter_custom_fields(self, entity: str = "leads") -> Iterator[dict]:
        path = f"/api/v4/{checked_entity(entity)}/custom_fields"
        return self.iter_pages(path, "custom_fields")

    def create_custom_fields(self, fields: Sequence[dict], entity: str = "leads") -> list[dict]:
        path = f"/api/v4/{checked_entity(entity)}/custom_fields"
        return self._writecollection("POST", path, fields, "custom_fields")

    def iter_tags(self, entity: str = "leads") -> Iterator[dict]:
        return self.iter_pages(f"/api/v4/{checked_entity(entity)}/tags", "tags")

    def create_tags(self, tags: Sequence[dict], entity: str = "leads") -> list[dict]:
        return self._writecollection("POST", f"/api/v4/{checked_entity(entity)}/tags", tags, "tags")

    # -- webhooks ---------------------------------------------------------------------------

    def list_webhooks(self, destination: str | None = None) -> list[dict]:
        """The account's webhooks, each with at least ``destination``, ``settings`` (a list)
        and ``disabled``: Kommo disables a webhook after more than 100 invalid answers within
        2 hours and sends it nothing until it is subscribed again. ``destination``: only the
        webhook of that exact URL (``filter[destination]``)."""
        params = [("filter[destination]", destination)] if destination else None
        hooks = collection(self.request("GET", "/api/v4/webhooks", params=params), "webhooks")
        return [
            dict(
                hook,
                destination=hook.get("destination"),
                settings=list(hook.get("settings") or ()),
                disabled=bool(hook.get("disabled")),
            )
            for hook in hooks
        ]

    def subscribe_webhook(self, destination: str, settings: Sequence[str]) -> dict:
        body = {"destination": destination, "settings": list(settings)}
        return as_object(self.request("POST", "/api/v4/webhooks", json=body), "webhook")

    def unsubscribe_webhook(self, destination: str) -> None:
        self.request("DELETE", "/api/v4/webhooks", json={"destination": destination})
