"""Shared pytest fixtures for the Odoo-free tests of kommo_api."""

import json as _json
import threading

import pytest
import requests
from client_scripted import LATER, FakeStore
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict

from kommo_api.client import KommoClient
from kommo_api.oauth import MemoryTokenStore, OAuthApp, Tokens
from kommo_api.testing import KommoEmulator
from kommo_api.throttle import NoThrottle, SlidingWindowThrottle

# The emulator's "timeout" fault answers after EMULATOR_TIMEOUT_DELAY; clients give up sooner.
EMULATOR_TIMEOUT_DELAY = 1.0
CLIENT_TIMEOUT = (2.0, 0.5)


class ScriptedAdapter(BaseAdapter):
    """A requests transport that plays back scripted answers and records what was sent."""

    def __init__(self):
        super().__init__()
        self.script = []
        self.sent = []

    def answer(self, status=200, body=None, headers=None):
        if isinstance(body, dict | list):
            body = _json.dumps(body)
            headers = {"Content-Type": "application/hal+json", **(headers or {})}
        self.script.append((status, body, headers or {}))
        return self

    def fail(self, exception):
        self.script.append(exception)
        return self

    def send(self, request, **kwargs):
        self.sent.append(request)
        step = self.script.pop(0)
        if isinstance(step, Exception):
            raise step
        status, body, headers = step
        response = requests.Response()
        response.status_code = status
        response._content = body.encode() if isinstance(body, str) else (body or b"")
        response.headers = CaseInsensitiveDict(headers)
        response.url = request.url
        response.request = request
        return response

    def close(self):
        pass


@pytest.fixture
def scripted():
    """A ScriptedAdapter mounted on its own requests.Session (``scripted.session``)."""
    adapter = ScriptedAdapter()
    session = requests.Session()
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    adapter.session = session
    return adapter


@pytest.fixture(scope="session")
def _emulator_stoppers():
    """Emulators stop in the background (werkzeug's shutdown waits out a 0.5 s poll); the
    session waits for all of them at its end."""
    stoppers = []
    yield stoppers
    for stopper in stoppers:
        stopper.join(timeout=10)


@pytest.fixture
def emulator(_emulator_stoppers):
    """A started Kommo emulator (account "acme"), stopped after the test."""
    emu = KommoEmulator(timeout_delay=EMULATOR_TIMEOUT_DELAY).start()
    yield emu
    stopper = threading.Thread(target=emu.stop, name="stop-kommo-emulator")
    stopper.start()
    _emulator_stoppers.append(stopper)


@pytest.fixture
def kommo_app(emulator):
    """An OAuthApp registered with the emulator."""
    record = emulator.register_app()
    return OAuthApp(record.client_id, record.client_secret, record.redirect_uri,
                    authorize_url=emulator.authorize_url)  # fmt: skip


@pytest.fixture
def make_client():
    """``make_client(emu, store=None, **client_kwargs)``: a KommoClient connected to ``emu``.

    Without a store, a fresh OAuth app and token pair in a MemoryTokenStore. Retries do not
    sleep; each client has its own throttle.
    """

    def connect(emu, store=None, **kwargs):
        if store is None:
            record = emu.register_app()
            app = OAuthApp(record.client_id, record.client_secret, record.redirect_uri)
            tokens = Tokens.from_token_response(emu.issue_tokens(record.client_id))
            store = MemoryTokenStore(app, emu.host, tokens)
        kwargs.setdefault("throttle", SlidingWindowThrottle())
        kwargs.setdefault("timeout", CLIENT_TIMEOUT)
        kwargs.setdefault("sleep", lambda seconds: None)
        return KommoClient(emu.host, store, **kwargs)

    return connect


@pytest.fixture
def kommo_client(emulator, kommo_app, make_client):
    """A KommoClient connected to ``emulator`` through a MemoryTokenStore."""
    tokens = Tokens.from_token_response(emulator.issue_tokens(kommo_app.client_id))
    return make_client(emulator, store=MemoryTokenStore(kommo_app, emulator.host, tokens))


class _EmulatorSession(requests.Session):
    """Plain HTTP to an emulator: paths relative to its url, a long-lived bearer token."""

    def __init__(self, emu, token=None):
        super().__init__()
        self.base_url = emu.url
        self.headers["Authorization"] = f"Bearer {token or emu.issue_long_lived_token()}"

    def request(self, method, url, *args, **kwargs):
        kwargs.setdefault("timeout", 10)
        return super().request(method, self.base_url + url, *args, **kwargs)


@pytest.fixture
def emulator_http():
    """``emulator_http(emu, token=None)``: a requests.Session speaking to ``emu`` (paths only)."""
    sessions = []

    def connect(emu, token=None):
        sessions.append(_EmulatorSession(emu, token))
        return sessions[-1]

    yield connect
    for session in sessions:
        session.close()


@pytest.fixture
def emulator_api(emulator, emulator_http):
    """A requests.Session speaking to the ``emulator`` fixture (paths only, long-lived token)."""
    return emulator_http(emulator)


# A KommoClient over the scripted transport (helpers in client_scripted.py) ------------------
@pytest.fixture
def store():
    return FakeStore(Tokens("access-1", "r", LATER))


@pytest.fixture
def sleeps():
    return []


@pytest.fixture
def exchanges():
    return []


@pytest.fixture
def client(scripted, store, sleeps, exchanges):
    """A KommoClient of acme.kommo.com on ``scripted``: no throttle, sleeps and exchanges
    recorded, backoff jitter fixed at its maximum."""
    return KommoClient(
        "acme.kommo.com",
        store,
        throttle=NoThrottle(),
        session=scripted.session,
        sleep=sleeps.append,
        random=lambda: 1.0,
        on_exchange=exchanges.append,
    )
