"""OAuth 2.0 as Kommo runs it: authorize page, code exchange, refresh with its grace, bearer
checks, long-lived tokens, the disconnect hook and the account's current subdomain. Token errors
follow the League OAuth2 server Kommo uses: problem JSON with a ``hint`` (e.g. 401
``{"hint": "Token has been revoked", ...}``).

Refresh, as Kommo's OAuth 2.0 page documents it: a refresh answers a new pair, and the old refresh
token "will still be functional and you can use it until you use the new one". A pair is used
when its access token calls the API or its refresh token is spent on a refresh. Using a new pair
spends the refresh token it came from (401 "Token has been revoked" from then on) and revokes the
other pairs that refresh token produced: of two workers that each refreshed with the same token,
the first to use its pair keeps it (which one Kommo keeps is UNCONFIRMED).

The OLD access token after a refresh is UNCONFIRMED: by default it stops at the refresh, as the
League server does; ``old_access_grace = True`` keeps it until the new pair is used. Clients must
survive both.

Token calls are not counted by the rate limiter (Kommo's limit is about API calls).
"""

import base64
import hashlib
import hmac
import json
import secrets
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from html import escape
from urllib.parse import urlencode

from werkzeug.utils import redirect
from werkzeug.wrappers import Request, Response

from .answers import ApiError, html_page
from .clock import Clock

CODE_TTL = 20 * 60
ACCESS_TTL = 24 * 3600
REFRESH_TTL = 90 * 24 * 3600
GRANT_DETAIL = (
    "The provided authorization grant (e.g., authorization code, resource owner credentials) or "
    "refresh token is invalid, expired, revoked, does not match the redirection URI used in the "
    "authorization request, or was issued to another client."
)


@dataclass(frozen=True)
class OAuthAppRecord:
    client_id: str
    client_secret: str = field(repr=False)
    redirect_uri: str | None = None
    # "Access revoked notification web hook" of the integration's settings (Kommo's docs).
    disconnect_url: str | None = None


@dataclass
class _Code:
    client_id: str
    expires_at: float
    spent: bool = False  # codes work once


@dataclass(eq=False)
class _Pair:
    """An access token and its refresh token (none for a long-lived token)."""

    client_id: str
    access_expires_at: float
    refresh_expires_at: float = 0.0
    parent: "_Pair | None" = None  # the pair whose refresh token produced this one
    children: list = field(default_factory=list)
    used: bool = False
    refresh_spent: bool = False  # a pair produced by this refresh token was used
    access_retired: bool = False
    revoked: bool = False  # the whole pair: lost the race, or the integration was removed


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _oauth_error(status: int, detail: str, hint: str) -> ApiError:
    return ApiError(status, detail, hint=hint)


def hook_signature(client_id: str, client_secret: str, account_id) -> str:
    """The disconnect hook's ``signature``: hex HMAC-SHA256 of ``client_id|account_id`` keyed
    with the client secret (Kommo's OAuth 2.0 page, "Hook to disable integration")."""
    message = f"{client_id}|{account_id}".encode()
    return hmac.new(client_secret.encode(), message, hashlib.sha256).hexdigest()


class OAuthServer:
    def __init__(self, clock: Clock, account: dict, api_domain: Callable[[], str | None]):
        self.clock = clock
        self.account = account
        self.api_domain = api_domain
        self.apps: dict[str, OAuthAppRecord] = {}
        self.old_access_grace = False  # see the module docstring
        self._codes: dict[str, _Code] = {}
        self._access: dict[str, _Pair] = {}
        self._refresh: dict[str, _Pair] = {}
        self._signing_key = secrets.token_bytes(32)
        self._lock = threading.Lock()

    # issuing -------------------------------------------------------------------------------
    def register_app(
        self, redirect_uri=None, client_id=None, client_secret=None, disconnect_url=None
    ) -> OAuthAppRecord:
        app = OAuthAppRecord(
            client_id or str(uuid.uuid4()),
            client_secret or secrets.token_urlsafe(48)[:64],
            redirect_uri,
            disconnect_url,
        )
        with self._lock:
            self.apps[app.client_id] = app
        return app

    def issue_auth_code(self, client_id: str) -> str:
        if client_id not in self.apps:
            raise KeyError("unknown client_id")
        code = secrets.token_urlsafe(96)
        with self._lock:
            self._codes[code] = _Code(client_id, self.clock.now() + CODE_TTL)
        return code

    def issue_tokens(self, client_id: str) -> dict:
        if client_id not in self.apps:
            raise KeyError("unknown client_id")
        with self._lock:
            return self._token_pair(client_id)

    def issue_long_lived_token(self, days: int = 365, client_id: str = "long-lived") -> str:
        expires_at = self.clock.now() + days * 86400
        token = self._jwt(client_id, expires_at)
        with self._lock:
            self._access[token] = _Pair(client_id, expires_at)
        return token

    def _jwt(self, client_id: str, expires_at: float) -> str:
        now = int(self.clock.now())
        header = {"typ": "JWT", "alg": "HS256"}
        claims = {
            "aud": client_id,
            "jti": uuid.uuid4().hex,
            "iat": now,
            "nbf": now,
            "exp": int(expires_at),
            "sub": str(self.account["current_user_id"]),
            "grant_type": "",
            "account_id": self.account["id"],
            "base_domain": "kommo.com",
            "version": 2,
            "scopes": ["crm", "notifications"],
        }
        domain = self.api_domain()
        if domain:
            claims["api_domain"] = domain
        signed = ".".join(_b64(json.dumps(part).encode()) for part in (header, claims))
        signature = hmac.new(self._signing_key, signed.encode("ascii"), hashlib.sha256)
        return f"{signed}.{_b64(signature.digest())}"

    def _token_pair(self, client_id: str, parent: _Pair | None = None) -> dict:
        """Caller holds the lock."""
        now = self.clock.now()
        access = self._jwt(client_id, now + ACCESS_TTL)
        refresh = secrets.token_urlsafe(160)
        pair = _Pair(client_id, now + ACCESS_TTL, now + REFRESH_TTL, parent=parent)
        if parent is not None:
            parent.children.append(pair)
        self._access[access] = self._refresh[refresh] = pair
        return {
            "token_type": "Bearer",
            "expires_in": ACCESS_TTL,
            "access_token": access,
            "refresh_token": refresh,
        }

    @staticmethod
    def _use(pair: _Pair) -> None:
        """The pair was used: the refresh token it came from is spent, its rivals revoked."""
        if pair.used:
            return
        pair.used = True
        parent = pair.parent
        if parent is None:
            return
        parent.refresh_spent = parent.access_retired = True
        for sibling in parent.children:
            if sibling is not pair:
                sibling.revoked = True

    # checking ------------------------------------------------------------------------------
    def authenticate(self, authorization: str | None) -> None:
        """Raises the 401 Kommo answers for a missing, unknown, revoked or expired token."""
        scheme, _, token = (authorization or "").partition(" ")
        with self._lock:
            pair = self._access.get(token.strip()) if scheme.lower() == "bearer" else None
            if pair is None or pair.revoked or pair.access_retired:
                raise ApiError(401, "Invalid or missing access token")
            if pair.access_expires_at <= self.clock.now():
                raise ApiError(401, "Access token expired")
            self._use(pair)

    def _live_refresh(self, token) -> _Pair:
        """Caller holds the lock."""
        invalid = "The refresh token is invalid."
        pair = self._refresh.get(str(token))
        if pair is None:
            raise _oauth_error(401, invalid, "Cannot decrypt the refresh token")
        if pair.revoked or pair.refresh_spent:
            raise _oauth_error(401, invalid, "Token has been revoked")
        if pair.refresh_expires_at <= self.clock.now():
            raise _oauth_error(401, invalid, "Token has expired")
        return pair

    # token endpoint ------------------------------------------------------------------------
    def token_endpoint(self, params: dict) -> dict:
        """POST /oauth2/access_token with JSON or form parameters."""
        client_id = str(params.get("client_id") or "")
        app = self.apps.get(client_id)
        secret = str(params.get("client_secret") or "")
        if app is None or not hmac.compare_digest(secret, app.client_secret):
            raise _oauth_error(401, "Client authentication failed", "Client authentication failed")
        redirect_uri = params.get("redirect_uri")
        if app.redirect_uri and redirect_uri and redirect_uri != app.redirect_uri:
            raise _oauth_error(401, "Client authentication failed", "Redirect URI mismatch")
        grant_type = params.get("grant_type")
        with self._lock:
            if grant_type == "authorization_code":
                return self._exchange_code(app, params.get("code"))
            if grant_type == "refresh_token":
                return self._refresh_pair(app, params.get("refresh_token"))
        raise _oauth_error(
            400,
            "The authorization grant type is not supported by the authorization server.",
            "Check that all required parameters have been provided",
        )

    def _exchange_code(self, app: OAuthAppRecord, code) -> dict:
        if not code:
            raise _oauth_error(
                400, "The request is missing a required parameter", "Check the `code` parameter"
            )
        grant = self._codes.get(str(code))
        if grant is None:
            raise _oauth_error(400, GRANT_DETAIL, "Cannot decrypt the authorization code")
        if grant.spent:
            raise _oauth_error(400, GRANT_DETAIL, "Authorization code has been revoked")
        if grant.expires_at <= self.clock.now():
            raise _oauth_error(400, GRANT_DETAIL, "Authorization code has expired")
        if grant.client_id != app.client_id:
            raise _oauth_error(
                400, GRANT_DETAIL, "Authorization code was not issued to this client"
            )
        grant.spent = True
        return self._token_pair(app.client_id)

    def _refresh_pair(self, app: OAuthAppRecord, token) -> dict:
        if not token:
            raise _oauth_error(
                400,
                "The request is missing a required parameter",
                "Check the `refresh_token` parameter",
            )
        pair = self._live_refresh(token)
        if pair.client_id != app.client_id:
            raise _oauth_error(
                401, "The refresh token is invalid.", "Token is not linked to client"
            )
        self._use(pair)  # spending a refresh token uses its pair
        if not self.old_access_grace:
            pair.access_retired = True
        return self._token_pair(app.client_id, parent=pair)

    # the account's current subdomain (renamed accounts) --------------------------------------
    def account_domain(self, refresh_token: str | None, host: str) -> dict:
        """GET /oauth2/account/current/subdomain with ``X-Refresh-Token`` (official PHP library,
        AmoCRMOAuth::getAccountDomainByRefreshToken; the answer's keys are AccountDomainModel's).
        The 401 for a dead token is UNCONFIRMED."""
        with self._lock:
            self._live_refresh(refresh_token or "")
        return {
            "id": self.account["id"],
            "subdomain": self.account["subdomain"],
            "domain": host,
            "top_level_domain": "com",
        }

    # the integration removed from the account -------------------------------------------------
    def disconnect(self, client_id: str) -> tuple[str | None, dict]:
        """Revoke every token and code of the integration; its hook URL and query."""
        app = self.apps[client_id]
        with self._lock:
            for pair in self._access.values():
                if pair.client_id == client_id:
                    pair.revoked = True
            for code in self._codes.values():
                if code.client_id == client_id:
                    code.spent = True
        account_id = self.account["id"]
        params = {
            "account_id": str(account_id),
            "client_uuid": client_id,
            "signature": hook_signature(client_id, app.client_secret, account_id),
        }
        return app.disconnect_url, params

    # authorize page ------------------------------------------------------------------------
    def authorize_page(self, request: Request) -> Response:
        """GET /oauth?client_id=&state=&mode=: the consent page with Allow and Deny."""
        app = self.apps.get(request.args.get("client_id", ""))
        if app is None:
            return html_page(400, "Integration not found", "Unknown client_id.")
        hidden = "".join(
            f'<input type="hidden" name="{escape(k)}" value="{escape(v)}">'
            for k, v in request.args.items()
        )
        name = escape(self.account["name"])
        page = f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Kommo: grant access</title></head>
<body><h1>Grant access to account {name}?</h1>
<p>Integration {escape(app.client_id)} asks to access your Kommo account.</p>
<form method="post" action="/oauth/decision">{hidden}
<button type="submit" name="decision" value="allow" id="allow">Allow</button>
<button type="submit" name="decision" value="deny" id="deny">Deny</button>
</form></body></html>
"""
        return Response(page, content_type="text/html; charset=utf-8")

    def decision(self, request: Request, host: str) -> Response:
        """Allow -> redirect_uri?code=&state=&referer=<host>&client_id=;
        Deny -> redirect_uri?error=access_denied&state=.

        An app registered without a redirect_uri takes one from the query (emulator extension).
        """
        values = request.values
        app = self.apps.get(values.get("client_id", ""))
        if app is None:
            return html_page(400, "Integration not found", "Unknown client_id.")
        target = app.redirect_uri or values.get("redirect_uri")
        if values.get("decision") == "allow":
            code = self.issue_auth_code(app.client_id)
            answer = {"code": code, "state": values.get("state", ""), "referer": host}
            answer["client_id"] = app.client_id
        else:
            answer = {"error": "access_denied", "state": values.get("state", "")}
        if not target:
            text = "Authorization code: " + escape(answer.get("code", "access denied"))
            return html_page(200, "No redirect URI", text)
        joiner = "&" if "?" in target else "?"
        return redirect(f"{target}{joiner}{urlencode(answer)}", code=302)
