"""Kommo's disconnect hook: the signature (kommo_api.disconnect) and the emulator calling it.

Kommo's OAuth 2.0 page, "Hook to disable integration": GET with ``account_id``, ``client_uuid``
and ``signature`` = hex HMAC-SHA256 of ``client_id|account_id`` keyed with the client secret.
"""

import hashlib
import hmac
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from kommo_api import disconnect_signature, verify_disconnect_signature

CLIENT_ID = "6b0c7d2e-5f1a-4c3b-9d8e-0a1b2c3d4e5f"
SECRET = "the-secret-key"
ACCOUNT_ID = 30000001
# Computed by hand, independently of kommo_api: hmac(secret, "client_id|account_id", sha256).
EXPECTED = hmac.new(SECRET.encode(), f"{CLIENT_ID}|{ACCOUNT_ID}".encode(), hashlib.sha256)


def test_the_signature_is_the_hex_hmac_of_client_id_and_account_id():
    assert disconnect_signature(CLIENT_ID, SECRET, ACCOUNT_ID) == EXPECTED.hexdigest()
    assert disconnect_signature(CLIENT_ID, SECRET, str(ACCOUNT_ID)) == EXPECTED.hexdigest()


def test_kommos_signature_is_accepted_whatever_its_case_and_spacing():
    signature = EXPECTED.hexdigest()

    assert verify_disconnect_signature(CLIENT_ID, SECRET, ACCOUNT_ID, signature)
    assert verify_disconnect_signature(CLIENT_ID, SECRET, str(ACCOUNT_ID), f" {signature.upper()} ")


@pytest.mark.parametrize(
    ("client_id", "secret", "account_id", "signature"),
    [
        (CLIENT_ID, "another-secret", ACCOUNT_ID, EXPECTED.hexdigest()),
        (CLIENT_ID, SECRET, ACCOUNT_ID + 1, EXPECTED.hexdigest()),
        ("another-client", SECRET, ACCOUNT_ID, EXPECTED.hexdigest()),
        (CLIENT_ID, SECRET, ACCOUNT_ID, "0" * 64),
        (CLIENT_ID, SECRET, ACCOUNT_ID, "é" * 64),
        (CLIENT_ID, SECRET, ACCOUNT_ID, None),
        (CLIENT_ID, SECRET, ACCOUNT_ID, ""),
        (CLIENT_ID, "", ACCOUNT_ID, EXPECTED.hexdigest()),
        ("", SECRET, ACCOUNT_ID, EXPECTED.hexdigest()),
        (CLIENT_ID, SECRET, None, EXPECTED.hexdigest()),
    ],
)
def test_any_other_signature_is_refused(client_id, secret, account_id, signature):
    assert not verify_disconnect_signature(client_id, secret, account_id, signature)


class HookReceiver:
    """An integration's disconnect hook URL on 127.0.0.1: records each query, answers ``status``."""

    def __init__(self, status=200):
        self.status = status
        self.calls = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                split = urlsplit(self.path)
                query = {k: v[0] for k, v in parse_qs(split.query).items()}
                receiver.calls.append((split.path, query))
                self.send_response(receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/kommo/oauth/disconnect"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    hook = HookReceiver()
    yield hook
    hook.close()


def account_status(emulator, access_token):
    headers = {"Authorization": f"Bearer {access_token}"}
    return requests.get(emulator.url + "/api/v4/account", headers=headers, timeout=5).status_code


def test_removing_the_integration_calls_its_hook_with_kommos_signature(emulator, receiver):
    app = emulator.register_app(disconnect_url=receiver.url)

    assert emulator.disconnect_integration(app.client_id) == 200

    [(path, query)] = receiver.calls
    assert path == "/kommo/oauth/disconnect"
    assert query["client_uuid"] == app.client_id
    assert query["account_id"] == str(emulator.account_id)
    assert verify_disconnect_signature(
        app.client_id, app.client_secret, query["account_id"], query["signature"]
    )


def test_removing_the_integration_revokes_its_tokens_only(emulator, receiver):
    app = emulator.register_app(disconnect_url=receiver.url)
    other = emulator.register_app()
    pair = emulator.issue_tokens(app.client_id)
    others = emulator.issue_tokens(other.client_id)

    emulator.disconnect_integration(app.client_id)

    assert account_status(emulator, pair["access_token"]) == 401
    assert account_status(emulator, others["access_token"]) == 200
    body = {"client_id": app.client_id, "client_secret": app.client_secret,
            "grant_type": "refresh_token", "refresh_token": pair["refresh_token"]}  # fmt: skip
    answer = requests.post(emulator.url + "/oauth2/access_token", json=body, timeout=5)
    assert answer.json()["hint"] == "Token has been revoked"


def test_the_hooks_own_answer_is_reported(emulator):
    hook = HookReceiver(status=500)
    try:
        app = emulator.register_app(disconnect_url=hook.url + "?secret=s1")
        assert emulator.disconnect_integration(app.client_id) == 500
        assert hook.calls[0][1]["secret"] == "s1"
    finally:
        hook.close()


def test_without_a_hook_url_nothing_is_called(emulator):
    app = emulator.register_app()

    assert emulator.disconnect_integration(app.client_id) is None


def test_an_unreachable_hook_is_reported_as_none(emulator):
    app = emulator.register_app(disconnect_url="http://127.0.0.1:9/unreachable")

    assert emulator.disconnect_integration(app.client_id, timeout=1) is None
