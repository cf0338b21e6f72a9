"""Getting over a lost refresh answer and a renamed account (kommo_api.oauth), scripted and
against the emulator.

Kommo's OAuth 2.0 page: the old refresh token "will still be functional and you can use it until
you use the new one", so a refresh whose answer was lost is sent again with it. A renamed account
is followed as the official PHP library does (AmoCRMOAuth::getAccessTokenByRefreshToken).
"""

import base64
import json
import time

import pytest
import requests

from kommo_api.errors import (
    KommoAuthError,
    KommoConnectionError,
    KommoError,
    KommoNotFound,
    KommoServerError,
    KommoTimeout,
    KommoTokenRevoked,
    KommoUnexpectedResponse,
)
from kommo_api.oauth import MemoryTokenStore, OAuthApp, Tokens, host_of_account_domain

SECRET = "client-secret-value-42"
TOKEN_PATH = "/oauth2/access_token"
DAY = 86400


def make_jwt(**claims):
    def part(data):
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'RS256'})}.{part(claims)}.c2ln"


def token_answer(access="access-1", refresh="refresh-1"):
    return {"token_type": "Bearer", "expires_in": 86400, "access_token": access,
            "refresh_token": refresh}  # fmt: skip


@pytest.fixture
def pauses():
    return []


@pytest.fixture
def app(scripted, pauses):
    return OAuthApp("client-id", SECRET, "https://odoo.example/kommo/callback",
                    session=scripted.session, sleep=pauses.append)  # fmt: skip


@pytest.fixture
def emu_app(emulator):
    record = emulator.register_app()
    return OAuthApp(record.client_id, record.client_secret, record.redirect_uri,
                    timeout=(2.0, 0.5), sleep=lambda seconds: None)  # fmt: skip


def connected_store(emulator, app):
    tokens = Tokens.from_token_response(emulator.issue_tokens(app.client_id))
    return MemoryTokenStore(app, emulator.host, tokens)


def token_statuses(emulator, count=0, wait=3.0):
    """The token calls' statuses, once ``count`` are logged (a "timeout" fault logs its call
    only after it stops waiting, long after the client gave up)."""
    deadline = time.monotonic() + wait
    while len(emulator.calls("POST", TOKEN_PATH)) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    return [call.status for call in emulator.calls("POST", TOKEN_PATH)]


# -- a lost refresh answer ----------------------------------------------------------------------


def test_a_refresh_answered_5xx_is_sent_again_with_the_same_refresh_token(app, scripted, pauses):
    scripted.answer(503, "<html>down</html>").answer(200, token_answer(access="access-2"))

    result = app.refresh("acme.kommo.com", "refresh-1")

    assert [json.loads(sent.body)["refresh_token"] for sent in scripted.sent] == ["refresh-1"] * 2
    assert result.access_token == "access-2"
    assert pauses == [0.5]


@pytest.mark.parametrize(
    "failure", [requests.ReadTimeout("read timed out"), requests.ConnectionError("reset")]
)
def test_a_refresh_whose_answer_was_lost_is_sent_again(app, scripted, failure):
    scripted.fail(failure).answer(200, token_answer(access="access-2"))

    assert app.refresh("acme.kommo.com", "refresh-1").access_token == "access-2"
    assert len(scripted.sent) == 2


def test_a_refresh_lost_every_time_gives_up_after_its_attempts(app, scripted, pauses):
    for _ in range(3):
        scripted.fail(requests.ReadTimeout(f"read timed out for {SECRET}"))

    with pytest.raises(KommoTimeout) as caught:
        app.refresh("acme.kommo.com", "refresh-1")

    assert len(scripted.sent) == 3
    assert pauses == [0.5, 1.0]
    assert not isinstance(caught.value, KommoTokenRevoked)
    assert SECRET not in str(caught.value)


def test_a_refresh_server_error_every_time_is_a_server_error(app, scripted):
    for _ in range(3):
        scripted.answer(503, "<html>down</html>")

    with pytest.raises(KommoServerError):
        app.refresh("acme.kommo.com", "refresh-1")


@pytest.mark.parametrize("fault", ["lost_response", "drop", "timeout", "502"])
def test_a_lost_refresh_against_the_emulator_recovers(emulator, emu_app, make_client, fault):
    store = connected_store(emulator, emu_app)
    client = make_client(emulator, store=store)
    emulator.faults.inject(fault, path=TOKEN_PATH)
    emulator.clock.advance(DAY + 60)

    assert client.get_account()["subdomain"] == "acme"
    statuses = token_statuses(emulator, count=2)
    assert len(statuses) == 2
    assert 200 in statuses


def test_a_refresh_lost_every_time_keeps_the_connection_for_later(emulator, emu_app, make_client):
    store = connected_store(emulator, emu_app)
    client = make_client(emulator, store=store)
    emulator.faults.inject("lost_response", count=3, path=TOKEN_PATH)
    emulator.clock.advance(DAY + 60)

    with pytest.raises(KommoConnectionError):
        client.get_account()

    assert store.get_tokens() is not None
    assert client.get_account()["subdomain"] == "acme"
    assert token_statuses(emulator) == [0, 0, 0, 200]


def test_after_the_recovered_pair_is_used_the_old_refresh_token_is_revoked(emulator, emu_app):
    store = connected_store(emulator, emu_app)
    old = store.get_tokens()
    emulator.faults.inject("lost_response", path=TOKEN_PATH)
    fresh = store.refresh_tokens(old)
    requests.get(emulator.url + "/api/v4/account", timeout=5,
                 headers={"Authorization": f"Bearer {fresh.access_token}"})  # fmt: skip

    with pytest.raises(KommoTokenRevoked):
        emu_app.refresh(emulator.host, old.refresh_token)


# -- a lost code exchange -----------------------------------------------------------------------


def test_a_lost_code_exchange_is_not_sent_again_and_says_to_connect_again(app, scripted):
    scripted.fail(requests.ReadTimeout("read timed out"))

    with pytest.raises(KommoTimeout) as caught:
        app.exchange_code("acme.kommo.com", "the-code")

    assert len(scripted.sent) == 1
    assert "connect the account again" in str(caught.value)


def test_a_code_exchange_that_never_connected_does_not_blame_the_code(app, scripted):
    scripted.fail(requests.ConnectionError("NewConnectionError: Connection refused"))

    with pytest.raises(KommoConnectionError) as caught:
        app.exchange_code("acme.kommo.com", "the-code")

    assert "connect the account again" not in str(caught.value)


def test_a_code_whose_exchange_was_lost_is_spent(emulator, emu_app):
    code = emulator.issue_auth_code(emu_app.client_id)
    emulator.faults.inject("lost_response", path=TOKEN_PATH)
    with pytest.raises(KommoConnectionError):
        emu_app.exchange_code(emulator.host, code)

    with pytest.raises(KommoAuthError):
        emu_app.exchange_code(emulator.host, code)


# -- a renamed account --------------------------------------------------------------------------

API_DOMAIN = "api-c.kommo.com"


def test_tokens_read_the_api_domain_from_the_access_token():
    tokens = Tokens(make_jwt(api_domain=API_DOMAIN), "r", expires_at=None)

    assert tokens.api_domain == API_DOMAIN
    assert Tokens("opaque", "r", expires_at=None).api_domain is None


@pytest.mark.parametrize("status", [401, 404])
def test_a_refresh_refused_at_the_old_host_follows_the_account(app, scripted, status):
    scripted.answer(status, {"title": "Not found", "status": status})
    scripted.answer(200, {"id": 1, "subdomain": "acme2", "domain": "acme2.kommo.com",
                          "top_level_domain": "com"})  # fmt: skip
    scripted.answer(200, token_answer(access="access-2"))

    tokens = app.refresh("acme.kommo.com", "refresh-1", api_domain=API_DOMAIN)

    lookup = scripted.sent[1]
    assert (lookup.method, lookup.url) == (
        "GET",
        f"https://{API_DOMAIN}/oauth2/account/current/subdomain",
    )
    assert lookup.headers["X-Refresh-Token"] == "refresh-1"
    assert "Authorization" not in lookup.headers
    assert scripted.sent[2].url == "https://acme2.kommo.com/oauth2/access_token"
    assert (tokens.access_token, tokens.host) == ("access-2", "acme2.kommo.com")


def test_without_an_api_domain_a_refusal_is_not_looked_into(app, scripted):
    scripted.answer(404, {"title": "Not found"})

    with pytest.raises(KommoNotFound):
        app.refresh("acme.kommo.com", "refresh-1")

    assert len(scripted.sent) == 1


def test_a_revoked_refresh_token_stays_revoked_when_the_lookup_refuses_it(app, scripted):
    scripted.answer(401, {"hint": "Token has been revoked"}).answer(401, {"title": "Unauthorized"})

    with pytest.raises(KommoTokenRevoked):
        app.refresh("acme.kommo.com", "refresh-1", api_domain=API_DOMAIN)


def test_a_lookup_naming_the_same_host_changes_nothing(app, scripted):
    scripted.answer(401, {"hint": "Token has been revoked"})
    scripted.answer(200, {"subdomain": "acme", "domain": "acme.kommo.com"})

    with pytest.raises(KommoTokenRevoked):
        app.refresh("acme.kommo.com", "refresh-1", api_domain=API_DOMAIN)
    assert len(scripted.sent) == 2


@pytest.mark.parametrize(
    ("answer", "host"),
    [
        ({"subdomain": "acme2", "domain": "acme2.kommo.com"}, "acme2.kommo.com"),
        ({"subdomain": "acme2", "domain": "kommo.com"}, "acme2.kommo.com"),  # UNCONFIRMED reading
        ({"subdomain": "loja", "domain": "loja.amocrm.ru"}, "loja.amocrm.ru"),
    ],
)
def test_the_account_domain_answer_is_read_either_way(answer, host):
    assert host_of_account_domain(answer) == host


@pytest.mark.parametrize(
    "answer", [{"subdomain": "x", "domain": "evil.example"}, {"domain": None}, ["a"], None]
)
def test_an_account_domain_answer_naming_no_kommo_host_is_refused(answer):
    with pytest.raises(KommoUnexpectedResponse):
        host_of_account_domain(answer)


def test_current_host_needs_an_api_domain_and_a_refresh_token(app):
    with pytest.raises(KommoError):
        app.current_host(Tokens("opaque", "r", expires_at=None))
    with pytest.raises(KommoError):
        app.current_host(Tokens(make_jwt(api_domain=API_DOMAIN), None, expires_at=None))


def test_current_host_errors_never_quote_the_refresh_token(app, scripted):
    scripted.answer(500, {"detail": "bad token refresh-1"})

    with pytest.raises(KommoServerError) as caught:
        app.current_host(Tokens(make_jwt(api_domain=API_DOMAIN), "refresh-1", expires_at=None))

    assert "refresh-1" not in str(caught.value)


def test_the_emulator_tells_the_current_host_of_a_renamed_account(emulator, emu_app):
    tokens = connected_store(emulator, emu_app).get_tokens()

    new_host = emulator.rename_subdomain("acme2")

    assert new_host != tokens.api_domain
    assert emu_app.current_host(tokens) == new_host


def test_the_emulator_refuses_the_lookup_for_a_spent_refresh_token(emulator, emu_app):
    store = connected_store(emulator, emu_app)
    old = store.get_tokens()
    fresh = store.refresh_tokens(old)
    emu_app.refresh(emulator.host, fresh.refresh_token)  # uses the new pair: the old one is spent

    with pytest.raises(KommoAuthError):
        emu_app.current_host(old)


@pytest.mark.parametrize("old_host_status", [401, 404])
def test_a_store_follows_a_renamed_account(emulator, emu_app, make_client, old_host_status):
    store = connected_store(emulator, emu_app)
    old_host = emulator.host
    new_host = emulator.rename_subdomain("acme2", old_host_status=old_host_status)

    fresh = store.refresh_tokens(store.get_tokens())

    assert fresh.host == store.host == new_host != old_host
    client = make_client(emulator, store=store)
    assert client.host == new_host
    assert client.get_account()["subdomain"] == "acme2"


def test_the_old_host_of_a_renamed_account_answers_as_asked(emulator, emulator_api):
    old = emulator_api.get("/api/v4/account")
    assert old.status_code == 200
    emulator.rename_subdomain("acme2")

    assert emulator_api.get("/api/v4/account").status_code == 404
    assert emulator.calls(path="/api/v4/account")[-1].host != emulator.host


def test_a_rename_needs_a_started_emulator_and_a_known_answer(emulator):
    with pytest.raises(ValueError):
        emulator.rename_subdomain("acme2", old_host_status=302)
