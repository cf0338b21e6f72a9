"""Kommo OAuth 2.0: the authorize URL, code exchange, refresh, and where tokens live.

Kommo's refresh tokens are single use: two refreshes racing burn the pair and lose the
connection. A :class:`TokenStore` therefore serialises refreshes and hands the winner's tokens
to everyone who asked with the same stale pair.
"""

from __future__ import annotations

import base64
import binascii
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Protocol, runtime_checkable
from urllib.parse import urlencode

import requests

from ._transport import decode, error_of, send
from .errors import (
    KommoAuthError,
    KommoError,
    KommoTokenRevoked,
    KommoUnexpectedResponse,
    excerpt,
    is_revocation,
    parse_json_body,
    redact,
)
from .hosts import base_url

KOMMO_AUTHORIZE_URL = "https://www.kommo.com/oauth"
TOKEN_PATH = "/oauth2/access_token"  # noqa: S105 - a URL path, not a secret
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
    api_domain: str | None = None

    def __repr__(self) -> str:
        refresh = None if self.refresh_token is None else "***"
        return (
            f"Tokens(access_token='***', refresh_token={refresh!r}, "
            f"expires_at={self.expires_at.isoformat()!r}, api_domain={self.api_domain!r})"
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
    """A Kommo integration (client id/secret/redirect URI) that obtains tokens for accounts."""

    def __init__(  # noqa: PLR0917 - positional order is the published contract
        self,
        client_id: str,
        client_secret: str,
        redirect_uri: str,
        authorize_url: str = KOMMO_AUTHORIZE_URL,
        session: requests.Session | None = None,
        timeout=(5, 30),
    ):
        self.client_id = client_id
        self._client_secret = client_secret
        self.redirect_uri = redirect_uri
        self.authorize_url = authorize_url
        self.session = session or requests.Session()
        self.timeout = timeout

    def __repr__(self) -> str:
        return f"OAuthApp(client_id={self.client_id!r}, redirect_uri={self.redirect_uri!r})"

    def authorize_url_for(self, state: str, mode: str = "post_message") -> str:
        query = urlencode({"client_id": self.client_id, "state": state, "mode": mode})
        separator = "&" if "?" in self.authorize_url else "?"
        return f"{self.authorize_url}{separator}{query}"

    def exchange_code(self, host: str, code: str) -> Tokens:
        """Trade an authorization code (single use, short-lived) for a token pair."""
        body = {"grant_type": "authorization_code", "code": code}
        return self._token_call(host, body, secrets=(code,))

    def refresh(self, host: str, refresh_token: str) -> Tokens:
        """A new pair for a refresh token; a spent or revoked one raises KommoTokenRevoked."""
        body = {"grant_type": "refresh_token", "refresh_token": refresh_token}
        return self._token_call(host, body, secrets=(refresh_token,))

    def _token_call(self, host: str, grant: dict, *, secrets: tuple) -> Tokens:
        body = {
            "client_id": self.client_id,
            "client_secret": self._client_secret,
            "redirect_uri": self.redirect_uri,
            **grant,
        }
        secrets = (*secrets, self._client_secret)
        # Never retried: a refresh that timed out may have consumed the single-use token.
        try:
            response = send(
                self.session, "POST", base_url(host) + TOKEN_PATH, json=body, timeout=self.timeout
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
                fresh = self._app.refresh(self._host, current.refresh_token)
            except KommoTokenRevoked:
                self._tokens = None
                raise
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
