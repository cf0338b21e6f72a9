"""Kommo OAuth 2.0: the authorize URL, code exchange, refresh, and where tokens live.

Kommo's refresh tokens are single use, with one documented grace (Kommo's OAuth 2.0 page): the
old refresh token "will still be functional and you can use it until you use the new one". So a
refresh whose answer was lost (timeout, dropped connection, 5xx) is sent again with the same
refresh token, a few times, instead of declaring the connection dead. Once a new pair has been
used, the old token is revoked: two workers that each use a different new pair revoke each
other's, so a :class:`TokenStore` still serialises refreshes and hands the winner's tokens to
everyone who asked with the same stale pair.

A renamed account (new subdomain) is followed as the official PHP library does
(AmoCRMOAuth::getAccessTokenByRefreshToken): when a refresh answers 401 or 404, ask Kommo's
shared API domain (the access token's ``api_domain`` claim) for the account's current host and
refresh there.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from typing import Any, Protocol, runtime_checkable
from urllib.parse import urlencode

import requests

from ._transport import Exchange, ReportedAttempt, decode, error_of, send
from .errors import (
    KommoAuthError,
    KommoConnectionError,
    KommoError,
    KommoServerError,
    KommoTimeout,
    KommoTokenRevoked,
    KommoUnexpectedResponse,
    excerpt,
    is_revocation,
    parse_json_body,
    redact,
)
from .hosts import (
    KOMMO_AUTHORIZE_URL,
    base_url,
    host_of_account_domain,
    normalize_host,
    platform_authorize_url,
)

_logger = logging.getLogger(__name__)

TOKEN_PATH = "/oauth2/access_token"  # noqa: S105 - a URL path, not a secret
# On the shared API domain, with the header X-Refresh-Token (official PHP library,
# AmoCRMOAuth::getAccountDomainByRefreshToken).
ACCOUNT_DOMAIN_PATH = "/oauth2/account/current/subdomain"
# The answers of a token call whose outcome is unknown: the refresh may have happened.
LOST_ANSWERS = (KommoTimeout, KommoConnectionError, KommoServerError)
# Long-lived tokens without an `exp` claim are treated as never expiring on our side.
FAR_FUTURE = datetime(9000, 1, 1, tzinfo=timezone.utc)


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


def jwt_claims(token: str) -> dict:
    """The payload of a JWT, decoded without any signature check; {} if it is not a JWT."""
    parts = token.split(".")
    if len(parts) != 3:
        return {}
    payload = parts[1] + "=" * (-len(parts[1]) % 4)
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload.encode("ascii")))
    except (ValueError, binascii.Error, UnicodeError):
        return {}
    return claims if isinstance(claims, dict) else {}


def _exp_of(claims: dict) -> datetime | None:
    exp = claims.get("exp")
    if isinstance(exp, int | float) and not isinstance(exp, bool):
        return datetime.fromtimestamp(exp, timezone.utc)
    return None


@dataclass(frozen=True)
class Tokens:
    access_token: str
    refresh_token: str | None
    expires_at: datetime
    # Kommo's shared API domain (e.g. "api-c.kommo.com"); from the JWT claim when not given.
    api_domain: str | None = None
    # The account host these tokens were obtained at (set by OAuthApp): differs from the host
    # asked when the account was renamed and the refresh followed it.
    host: str | None = None

    def __post_init__(self):
        if self.api_domain is None:
            claim = jwt_claims(self.access_token).get("api_domain")
            object.__setattr__(self, "api_domain", claim if isinstance(claim, str) else None)

    def __repr__(self) -> str:
        refresh = None if self.refresh_token is None else "***"
        return (
            f"Tokens(access_token='***', refresh_token={refresh!r}, "
            f"expires_at={self.expires_at.isoformat()!r}, api_domain={self.api_domain!r}, "
            f"host={self.host!r})"
        )

    def is_expired(self, now: datetime | None = None, leeway: int = 60) -> bool:
        now = now or _utcnow()
        return now >= self.expires_at - timedelta(seconds=leeway)

    @classmethod
    def from_token_response(cls, payload: dict, now: datetime | None = None) -> Tokens:
        """Tokens from Kommo's token answer: ``expires_in`` if given, else the JWT ``exp``."""
        if not isinstance(payload, dict) or not isinstance(payload.get("access_token"), str):
            raise KommoUnexpectedResponse("Kommo's token answer has no access_token")
        access_token = payload["access_token"]
        claims = jwt_claims(access_token)
        expires_in = payload.get("expires_in")
        if isinstance(expires_in, int | float) and not isinstance(expires_in, bool):
            expires_at = (now or _utcnow()) + timedelta(seconds=expires_in)
        else:
            expires_at = _exp_of(claims)
        if expires_at is None:
            raise KommoUnexpectedResponse("Kommo's token answer does not say when it expires")
        refresh_token = payload.get("refresh_token")
        api_domain = payload.get("api_domain") or claims.get("api_domain")
        return cls(
            access_token=access_token,
            refresh_token=refresh_token if isinstance(refresh_token, str) else None,
            expires_at=expires_at,
            api_domain=api_domain if isinstance(api_domain, str) else None,
        )


class OAuthApp:
    """A Kommo integration (client id/secret/redirect URI) that obtains tokens for accounts.

    ``refresh_attempts``: how many times one refresh is sent when its answer is lost.
    ``on_exchange``: called with every HTTP attempt (an :class:`Exchange`, secrets scrubbed
    from its error), as :class:`kommo_api.KommoClient` does.
    """

    def __init__(  # noqa: PLR0917 - positional order is the published contract
        self,
        client_id: str,
        client_secret: str,
        redirect_uri: str,
        authorize_url: str = KOMMO_AUTHORIZE_URL,
        session: requests.Session | None = None,
        timeout=(5, 30),
        *,
        refresh_attempts: int = 3,
        retry_pause: float = 0.5,
        sleep: Callable[[float], Any] = time.sleep,
        on_exchange: Callable[[Exchange], Any] | None = None,
    ):
        self.client_id = client_id
        self._client_secret = client_secret
        self.redirect_uri = redirect_uri
        self.authorize_url = authorize_url or KOMMO_AUTHORIZE_URL
        self.session = session or requests.Session()
        self.timeout = timeout
        self.refresh_attempts = max(1, refresh_attempts)
        self.retry_pause = retry_pause
        self._sleep = sleep
        self.on_exchange = on_exchange

    def __repr__(self) -> str:
        return f"OAuthApp(client_id={self.client_id!r}, redirect_uri={self.redirect_uri!r})"

    def authorize_url_for(self, state: str, mode: str = "post_message", host=None) -> str:
        """The consent page URL. With the account ``host`` and the default authorize URL, the
        platform's own page: amoCRM.ru accounts consent on www.amocrm.ru (their integrations
        live on that platform), Kommo and amoCRM.com accounts on www.kommo.com."""
        base = self.authorize_url
        if host and base == KOMMO_AUTHORIZE_URL:
            base = platform_authorize_url(host)
        query = urlencode({"client_id": self.client_id, "state": state, "mode": mode})
        separator = "&" if "?" in base else "?"
        return f"{base}{separator}{query}"

    def exchange_code(self, host: str, code: str) -> Tokens:
        """Trade an authorization code (single use, short-lived) for a token pair.

        Never sent twice: a code is single use, so after a lost answer a second try could only
        be refused, and the person must go through the consent page again.
        """
        body = {"grant_type": "authorization_code", "code": code}
        try:
            tokens = self._token_call(host, body, secrets=(code,))
        except KommoError as exc:
            if exc.outcome_unknown:
                exc.message += (
                    ": the authorization code may have been spent; connect the account again"
                )
                exc.args = (exc.message,)
            raise
        return replace(tokens, host=normalize_host(host))

    def refresh(self, host: str, refresh_token: str, api_domain: str | None = None) -> Tokens:
        """A new pair for a refresh token; a spent or revoked one raises KommoTokenRevoked.

        A lost answer is retried with the same refresh token (Kommo keeps it valid until the
        new pair is used). With ``api_domain`` (``Tokens.api_domain``) a renamed account is
        followed: the returned tokens' ``host`` names the host they now belong to.
        """
        host = normalize_host(host)
        try:
            tokens = self._refresh_at(host, refresh_token)
        except KommoError as exc:
            moved = self._moved_host(exc, host, refresh_token, api_domain)
            if moved is None:
                raise
            _logger.warning("Kommo account %s moved to %s: refreshing there", host, moved)
            host = moved
            tokens = self._refresh_at(host, refresh_token)
        return replace(tokens, host=host)

    def current_host(self, tokens: Tokens) -> str:
        """The account's current host (``acme.kommo.com``), as Kommo's shared API domain reports
        it for the refresh token: how a renamed account is found without reconnecting."""
        if not (tokens.api_domain and tokens.refresh_token):
            raise KommoError(
                "These Kommo tokens cannot ask for the account's current address "
                "(no api_domain claim or no refresh token): reconnect the account"
            )
        return self._current_host(tokens.api_domain, tokens.refresh_token)

    def _refresh_at(self, host: str, refresh_token: str) -> Tokens:
        body = {"grant_type": "refresh_token", "refresh_token": refresh_token}
        attempt = 1
        while True:
            try:
                return self._token_call(host, body, secrets=(refresh_token,), attempt=attempt)
            except LOST_ANSWERS as exc:
                if attempt >= self.refresh_attempts:
                    raise
                _logger.warning("Kommo refresh on %s lost (%s): sending it again", host, exc)
                self._sleep(self.retry_pause * attempt)
                attempt += 1

    def _moved_host(self, error: KommoError, host, refresh_token, api_domain) -> str | None:
        """The account's new host when ``error`` may mean it was renamed, else None."""
        status = error.status or 0
        if not api_domain or not (status in (401, 404) or 300 <= status < 400):
            return None
        try:
            current = self._current_host(api_domain, refresh_token)
        except (KommoError, ValueError):
            return None
        return current if current != host else None

    def _current_host(self, api_domain: str, refresh_token: str) -> str:
        url = base_url(api_domain) + ACCOUNT_DOMAIN_PATH
        headers = {"X-Refresh-Token": refresh_token, "Accept": "application/json"}
        with ReportedAttempt(self.on_exchange, "GET", url) as reported:
            try:
                reported.response = response = send(
                    self.session, "GET", url, headers=headers, timeout=self.timeout
                )
            except KommoError as exc:
                raise _scrubbed(exc, (refresh_token,)) from exc.__cause__
            if response.status_code >= 300:
                raise _scrubbed(error_of(response), (refresh_token,))
            return host_of_account_domain(decode(response))

    def _token_call(self, host: str, grant: dict, *, secrets: tuple, attempt: int = 1) -> Tokens:
        body = {
            "client_id": self.client_id,
            "client_secret": self._client_secret,
            "redirect_uri": self.redirect_uri,
            **grant,
        }
        secrets = (*secrets, self._client_secret)
        url = base_url(host) + TOKEN_PATH
        with ReportedAttempt(self.on_exchange, "POST", url, attempt=attempt) as reported:
            try:
                reported.response = response = send(
                    self.session, "POST", url, json=body, timeout=self.timeout
                )
            except KommoError as exc:
                _scrubbed(exc, secrets)
                raise
            if response.status_code >= 300:
                raise _scrubbed(self._refusal(response, grant["grant_type"]), secrets)
            payload = decode(response)
            if not isinstance(payload, dict):
                raise KommoUnexpectedResponse(
                    f"Kommo's token answer is not a JSON object: {excerpt(response.content)}",
                    status=response.status_code,
                )
            return Tokens.from_token_response(payload)

    @staticmethod
    def _refusal(response: requests.Response, grant_type: str) -> KommoError:
        status = response.status_code
        if status not in (400, 401):
            return error_of(response)
        is_refresh = grant_type == "refresh_token"
        revoked = is_refresh and (status == 401 or is_revocation(parse_json_body(response.content)))
        what = "refresh token" if is_refresh else "authorization code"
        return (KommoTokenRevoked if revoked else KommoAuthError)(
            f"Kommo refused the {what} ({status}): {excerpt(response.content)}", status=status
        )


def _scrubbed(error: KommoError, secrets) -> KommoError:
    error.message = redact(error.message, secrets)
    error.args = (error.message,)
    return error


@runtime_checkable
class TokenStore(Protocol):
    def get_tokens(self) -> Tokens | None:
        """The current tokens, as stored; never refreshes."""

    def refresh_tokens(self, stale: Tokens | None) -> Tokens:
        """Fresh tokens: the current ones if they differ from ``stale``, else a new pair.

        Serialised; raises KommoTokenRevoked when the refresh token is dead.
        """


class MemoryTokenStore:
    """Tokens of one account kept in this process; refreshes serialised by a lock.

    ``on_refresh`` is called (under the lock) with every new pair so a caller can persist it.
    """

    def __init__(
        self,
        app: OAuthApp,
        host: str,
        tokens: Tokens | None,
        on_refresh: Callable[[Tokens], Any] | None = None,
    ):
        self._app = app
        self._host = host
        self._tokens = tokens
        self._on_refresh = on_refresh
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"MemoryTokenStore(host={self._host!r}, tokens={self._tokens!r})"

    @property
    def host(self) -> str:
        """The account's host; follows a rename found while refreshing."""
        return self._host

    def get_tokens(self) -> Tokens | None:
        return self._tokens

    def refresh_tokens(self, stale: Tokens | None) -> Tokens:
        with self._lock:
            current = self._tokens
            if current is None:
                raise KommoTokenRevoked("The Kommo account is not connected")
            if stale is not None and current.access_token != stale.access_token:
                return current
            if not current.refresh_token:
                raise KommoTokenRevoked("The Kommo tokens cannot be refreshed: reconnect")
            try:
                fresh = self._app.refresh(self._host, current.refresh_token, current.api_domain)
            except KommoTokenRevoked:
                self._tokens = None
                raise
            self._host = fresh.host or self._host
            self._tokens = fresh
            if self._on_refresh is not None:
                self._on_refresh(fresh)
            return fresh


class LongLivedTokenStore:
    """A long-lived token of a private integration: nothing to refresh, reconnect when refused."""

    def __init__(self, token: str, expires_at: datetime | None = None):
        expires_at = expires_at or _exp_of(jwt_claims(token)) or FAR_FUTURE
        self._tokens = Tokens(access_token=token, refresh_token=None, expires_at=expires_at)

    def __repr__(self) -> str:
        return f"LongLivedTokenStore(tokens={self._tokens!r})"

    def get_tokens(self) -> Tokens:
        return self._tokens

    def refresh_tokens(self, stale: Tokens | None) -> Tokens:
        raise KommoTokenRevoked(
            "Kommo refused the long-lived token or it has expired: create a new one"
        )
