"""OAuth 2.0 as Kommo runs it: authorize page, code exchange, single-use refresh tokens, bearer
checks, long-lived tokens. Token errors follow the League OAuth2 server Kommo uses: problem
JSON with a ``hint`` (e.g. 401 ``{"hint": "Token has been revoked", ...}``).

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


@dataclass
class _Grant:
    client_id: str
    expires_at: float
    spent: bool = False  # codes and refresh tokens work once
    partner: str | None = None  # the refresh token of an access token and vice versa


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _oauth_error(status: int, detail: str, hint: str) -> ApiError:
    return ApiError(status, detail, hint=hint)


class OAuthServer:
    def __init__(self, clock: Clock, account: dict, api_domain: Callable[[], str | None]):
        self.clock = clock
        self.account = account
        self.api_domain = api_domain
        self.apps: dict[str, OAuthAppRecord] = {}
        self._codes: dict[str, _Grant] = {}
        self._access: dict[str, _Grant] = {}
        self._refresh: dict[str, _Grant] = {}
        self._signing_key = secrets.token_bytes(32)
        self._lock = threading.Lock()

    # issuing -------------------------------------------------------------------------------
    def register_app(self, redirect_uri=None, client_id=None, client_secret=None) -> OAuthAppRecord:
        app = OAuthAppRecord(
            client_id or str(uuid.uuid4()),
            client_secret or secrets.token_urlsafe(48)[:64],
            redirect_uri,
        )
        with self._lock:
            self.apps[app.client_id] = app
        return app

    def issue_auth_code(self, client_id: str) -> str:
        if client_id not in self.apps:
            raise KeyError("unknown client_id")
        code = secrets.token_urlsafe(96)
        with self._lock:
            self._codes[code] = _Grant(client_id, self.clock.now() + CODE_TTL)
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
            self._access[token] = _Grant(client_id, expires_at)
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

    def _token_pair(self, client_id: str) -> dict:
        """Caller holds the lock."""
        now = self.clock.now()
        access = self._jwt(client_id, now + ACCESS_TTL)
        refresh = secrets.token_urlsafe(160)
        self._access[access] = _Grant(client_id, now + ACCESS_TTL, partner=refresh)
        self._refresh[refresh] = _Grant(client_id, now + REFRESH_TTL, partner=access)
        return {
            "token_type": "Bearer",
            "expires_in": ACCESS_TTL,
            "access_token": access,
            "refresh_token": refresh,
        }

    # checking ------------------------------------------------------------------------------
    def authenticate(self, authorization: str | None) -> None:
        """Raises the 401 Kommo answers for a missing, unknown, revoked or expired token."""
        scheme, _, token = (authorization or "").partition(" ")
        with self._lock:
            grant = self._access.get(token.strip()) if scheme.lower() == "bearer" else None
            if grant is None or grant.spent:
                raise ApiError(401, "Invalid or missing access token")
            if grant.expires_at <= self.clock.now():
                raise ApiError(401, "Access token expired")

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
        invalid = "The refresh token is invalid."
        if not token:
            raise _oauth_error(
                400,
                "The request is missing a required parameter",
                "Check the `refresh_token` parameter",
            )
        grant = self._refresh.get(str(token))
        if grant is None:
            raise _oauth_error(401, invalid, "Cannot decrypt the refresh token")
        if grant.client_id != app.client_id:
            raise _oauth_error(401, invalid, "Token is not linked to client")
        if grant.spent:
            raise _oauth_error(401, invalid, "Token has been revoked")
        if grant.expires_at <= self.clock.now():
            raise _oauth_error(401, invalid, "Token has expired")
        # Refreshing revokes the old pair: the old access token stops working too.
        grant.spent = True
        old_access = self._access.get(grant.partner or "")
        if old_access is not None:
            old_access.spent = True
        return self._token_pair(app.client_id)

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
