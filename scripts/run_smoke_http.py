"""What run_smoke.py talks to: Odoo as its web client does, and the emulator as Kommo's API.

Plain urllib, no proxy: both servers are on the loopback interface, and a CI proxy from the
environment (HTTP_PROXY) must not see these requests. Every request is bounded by a timeout.
"""

from __future__ import annotations

import http.cookiejar
import itertools
import json
import time
import urllib.error
import urllib.request
from typing import Any

# The emulator allows 7 requests a second to the account, shared with Odoo's own calls; a
# 429 is Kommo telling us to wait, not a failure.
RATE_LIMITED_RETRIES = 5


class SmokeHttpError(Exception):
    """A request failed; the message says which request and what came back."""


def http_status(url: str, timeout: float = 30) -> int:
    """The status a browser gets for ``url`` (redirects followed), 0 when nothing answers."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=timeout) as answer:
            return answer.status
    except urllib.error.HTTPError as answer:
        return answer.code
    except OSError:
        return 0


class OdooRpc:
    """JSON-RPC with a session cookie: /web/session/authenticate, then call_kw."""

    def __init__(self, url: str, timeout: float = 120) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout
        self._ids = itertools.count(1)
        self._opener = urllib.request.build_opener(
            urllib.request.ProxyHandler({}),
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()),
        )

    def _post(self, path: str, params: dict) -> Any:
        body = {"jsonrpc": "2.0", "method": "call", "id": next(self._ids), "params": params}
        request = urllib.request.Request(  # noqa: S310 - a loopback URL built by the smoke
            self.url + path,
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
        )
        try:
            with self._opener.open(request, timeout=self.timeout) as answer:
                reply = json.load(answer)
        except (OSError, ValueError) as exc:
            raise SmokeHttpError(f"POST {path}: {exc}") from exc
        if reply.get("error"):
            error = reply["error"]
            detail = (error.get("data") or {}).get("message") or error.get("message")
            raise SmokeHttpError(f"POST {path}: Odoo answered an error: {detail}")
        return reply.get("result")

    def login(self, db: str, login: str, password: str) -> dict:
        info = self._post(
            "/web/session/authenticate", {"db": db, "login": login, "password": password}
        )
        if not info or not info.get("uid"):
            raise SmokeHttpError(f"logging in as {login} to {db} gave no user")
        return info

    def call(self, model: str, method: str, *args: Any, **kwargs: Any) -> Any:
        params = {"model": model, "method": method, "args": list(args), "kwargs": kwargs}
        return self._post(f"/web/dataset/call_kw/{model}/{method}", params)

    def search_read(self, model: str, domain: list, fields: list[str], **kwargs: Any) -> list:
        return self.call(model, "search_read", domain, fields, **kwargs)


class EmulatorApi:
    """Kommo's REST API v4 on the emulator, with the long-lived token it printed at start."""

    def __init__(self, url: str, token: str, timeout: float = 30) -> None:
        self.url = url.rstrip("/")
        self._token = token
        self.timeout = timeout
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def get(self, path: str) -> Any:
        """The answer's JSON; None for Kommo's 204 (no such entity)."""
        return self._request("GET", path)

    def patch(self, path: str, body: dict) -> Any:
        return self._request("PATCH", path, body)

    def _request(self, method: str, path: str, body: dict | None = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        for attempt in range(RATE_LIMITED_RETRIES + 1):
            request = urllib.request.Request(  # noqa: S310 - the emulator's loopback URL
                self.url + path,
                data=data,
                method=method,
                headers={
                    "Authorization": f"Bearer {self._token}",
                    "Content-Type": "application/json",
                },
            )
            try:
                with self._opener.open(request, timeout=self.timeout) as answer:
                    text = answer.read()
                    return json.loads(text) if answer.status != 204 and text else None
            except urllib.error.HTTPError as answer:
                if answer.code == 429 and attempt < RATE_LIMITED_RETRIES:
                    time.sleep(1)
                    continue
                detail = answer.read()[:300].decode(errors="replace")
                raise SmokeHttpError(f"{method} {path}: HTTP {answer.code} {detail}") from None
            except (OSError, ValueError) as exc:
                raise SmokeHttpError(f"{method} {path}: {exc}") from exc
        raise AssertionError("unreachable")  # the loop returns or raises
