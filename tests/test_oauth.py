"""Tokens, the OAuth app and the token stores (kommo_api.oauth), over a scripted transport."""

import base64
import json
import threading
import time
from datetime import datetime, timedelta, timezone

import pytest
import requests

from kommo_api import TOKEN_PATH
from kommo_api.errors import (
    KommoAuthError,
    KommoError,
    KommoTokenRevoked,
    KommoUnexpectedResponse,
)
from kommo_api.oauth import (
    LongLivedTokenStore,
    MemoryTokenStore,
    OAuthApp,
    Tokens,
    TokenStore,
    jwt_claims,
)

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)
SECRET = "client-secret-value-42"


def make_jwt(**claims):
    def part(data):
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'RS256'})}.{part(claims)}.c2ln"


def token_answer(access="access-1", refresh="refresh-1", **extra):
    return {
        "token_type": "Bearer",
        "expires_in": 86400,
        "access_token": access,
        "refresh_token": refresh,
        **extra,
    }


def tokens(access="access-0", refresh="refresh-0", expires_at=NOW + timedelta(hours=1)):
    return Tokens(access_token=access, refresh_token=refresh, expires_at=expires_at)


@pytest.fixture
def app(scripted):
    return OAuthApp("client-id", SECRET, "https://odoo.example/kommo/callback",
                    session=scripted.session)  # fmt: skip


# -- Tokens ---------------------------------------------------------------------------------


def test_tokens_expire_after_expires_in():
    result = Tokens.from_token_response(token_answer(), now=NOW)

    assert result.access_token == "access-1"
    assert result.refresh_token == "refresh-1"
    assert result.expires_at == NOW + timedelta(days=1)


def test_tokens_fall_back_to_the_jwt_exp_claim():
    exp = int((NOW + timedelta(hours=5)).timestamp())
    payload = {"access_token": make_jwt(exp=exp, api_domain="api-c.kommo.com")}

    result = Tokens.from_token_response(payload)

    assert result.expires_at == NOW + timedelta(hours=5)
    assert result.refresh_token is None
    assert result.api_domain == "api-c.kommo.com"


def test_api_domain_of_the_answer_wins_over_the_claim():
    payload = token_answer(access=make_jwt(api_domain="claim.kommo.com"), api_domain="b.kommo.com")

    assert Tokens.from_token_response(payload, now=NOW).api_domain == "b.kommo.com"


@pytest.mark.parametrize(
    "payload",
    [
        {"access_token": "opaque-without-expiry"},
        {"access_token": make_jwt(sub="1")},
        {"refresh_token": "only"},
        ["not", "a", "dict"],
    ],
)
def test_token_answers_without_token_or_expiry_are_unexpected(payload):
    with pytest.raises(KommoUnexpectedResponse):
        Tokens.from_token_response(payload)


def test_jwt_claims_of_garbage_are_empty():
    assert jwt_claims("a.b") == {}
    assert jwt_claims("a.!!!.c") == {}
    assert jwt_claims("a." + base64.urlsafe_b64encode(b"[1]").decode() + ".c") == {}


def test_tokens_are_expired_a_minute_early_by_default():
    pair = tokens(expires_at=NOW + timedelta(seconds=30))

    assert pair.is_expired(now=NOW)
    assert not pair.is_expired(now=NOW, leeway=0)
    assert pair.is_expired(now=NOW + timedelta(seconds=30), leeway=0)


def test_tokens_repr_hides_the_token_values():
    text = repr(tokens(access="SECRET-ACCESS", refresh="SECRET-REFRESH"))

    assert "SECRET" not in text
    assert "expires_at" in text


# -- OAuthApp -------------------------------------------------------------------------------


def test_authorize_url_carries_client_id_state_and_mode(app):
    assert app.authorize_url_for("st4te", mode="popup") == (
        "https://www.kommo.com/oauth?client_id=client-id&state=st4te&mode=popup"
    )


def test_authorize_url_keeps_a_query_already_in_the_base():
    app = OAuthApp("cid", SECRET, "https://x/cb", authorize_url="http://127.0.0.1:1/oauth?lang=pt")

    assert app.authorize_url_for("s").startswith("http://127.0.0.1:1/oauth?lang=pt&client_id=cid")


def test_exchange_code_posts_the_grant_to_the_account_host(app, scripted):
    scripted.answer(200, token_answer())

    result = app.exchange_code("acme.kommo.com", "the-code")

    sent = scripted.sent[0]
    assert (sent.method, sent.url) == ("POST", "https://acme.kommo.com/oauth2/access_token")
    assert json.loads(sent.body) == {
        "client_id": "client-id",
        "client_secret": SECRET,
        "redirect_uri": "https://odoo.example/kommo/callback",
        "grant_type": "authorization_code",
        "code": "the-code",
    }
    assert result.access_token == "access-1"


def test_exchange_code_refuses_a_forged_host(app, scripted):
    with pytest.raises(ValueError):
        app.exchange_code("evil.example.com", "the-code")

    assert scripted.sent == []


def test_refresh_sends_the_refresh_grant(app, scripted):
    scripted.answer(200, token_answer(access="access-2", refresh="refresh-2"))

    result = app.refresh("acme.kommo.com", "refresh-1")

    body = json.loads(scripted.sent[0].body)
    assert (body["grant_type"], body["refresh_token"]) == ("refresh_token", "refresh-1")
    assert (result.access_token, result.refresh_token) == ("access-2", "refresh-2")


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (401, {"hint": "Token has been revoked", "title": "Unauthorized", "status": 401}),
        (400, {"error": "invalid_grant", "hint": "Cannot decrypt the refresh token"}),
        (401, "Unauthorized"),
    ],
)
def test_refresh_refused_by_kommo_means_revoked(app, scripted, status, body):
    scripted.answer(status, body)

    with pytest.raises(KommoTokenRevoked):
        app.refresh("acme.kommo.com", "refresh-1")


def test_a_refused_code_is_an_auth_error_not_a_revocation(app, scripted):
    scripted.answer(400, {"hint": "Authorization code has expired", "title": "Bad Request"})

    with pytest.raises(KommoAuthError) as caught:
        app.exchange_code("acme.kommo.com", "old-code")

    assert not isinstance(caught.value, KommoTokenRevoked)
    assert "authorization code" in str(caught.value)


def test_oauth_errors_never_quote_the_secrets(app, scripted):
    scripted.answer(401, {"hint": f"bad secret {SECRET} for refresh-1"})

    with pytest.raises(KommoTokenRevoked) as caught:
        app.refresh("acme.kommo.com", "refresh-1")

    assert SECRET not in str(caught.value)
    assert "refresh-1" not in str(caught.value)


def test_a_client_error_of_the_token_endpoint_is_not_sent_again(app, scripted):
    scripted.answer(403, "<html>blocked</html>")

    with pytest.raises(KommoError):
        app.refresh("acme.kommo.com", "refresh-1")

    assert len(scripted.sent) == 1


@pytest.mark.parametrize("body", ["<html>oops</html>", ["a", "list"]])
def test_token_endpoint_answering_something_odd_is_unexpected(app, scripted, body):
    scripted.answer(200, body)

    with pytest.raises(KommoUnexpectedResponse):
        app.exchange_code("acme.kommo.com", "the-code")


def test_oauth_app_repr_hides_the_secret(app):
    assert SECRET not in repr(app)


# -- what the app reports (on_exchange, as KommoClient) --------------------------------------


@pytest.fixture
def reporting_app(scripted):
    exchanges = []
    app = OAuthApp("client-id", SECRET, "https://odoo.example/kommo/callback",
                   session=scripted.session, on_exchange=exchanges.append,
                   sleep=lambda _seconds: None)  # fmt: skip
    return app, exchanges


def test_a_token_call_is_reported_to_on_exchange(reporting_app, scripted):
    app, exchanges = reporting_app
    scripted.answer(200, token_answer())

    app.exchange_code("acme.kommo.com", "the-code")

    [exchange] = exchanges
    assert (exchange.method, exchange.path, exchange.status) == ("POST", TOKEN_PATH, 200)
    assert (exchange.error, exchange.attempt, exchange.entity_count) == (None, 1, None)
    assert exchange.duration_ms >= 0


def test_a_refused_refresh_is_reported_without_the_secrets(reporting_app, scripted):
    app, exchanges = reporting_app
    scripted.answer(401, {"hint": f"bad secret {SECRET} for refresh-1"})

    with pytest.raises(KommoTokenRevoked):
        app.refresh("acme.kommo.com", "refresh-1")

    [exchange] = exchanges
    assert exchange.status == 401
    assert isinstance(exchange.error, KommoTokenRevoked)
    assert SECRET not in exchange.error.message
    assert "refresh-1" not in exchange.error.message


def test_each_try_of_a_lost_refresh_is_reported(reporting_app, scripted):
    app, exchanges = reporting_app
    scripted.fail(requests.ReadTimeout("read timed out"))
    scripted.answer(200, token_answer())

    app.refresh("acme.kommo.com", "refresh-1")

    assert [(exchange.attempt, exchange.status) for exchange in exchanges] == [(1, None), (2, 200)]
    assert exchanges[0].error.outcome_unknown


def test_a_broken_on_exchange_does_not_fail_the_token_call(scripted):
    def broken(_exchange):
        raise RuntimeError("the log is down")

    app = OAuthApp("client-id", SECRET, "https://odoo.example/kommo/callback",
                   session=scripted.session, on_exchange=broken)  # fmt: skip
    scripted.answer(200, token_answer())

    assert app.exchange_code("acme.kommo.com", "the-code").access_token == "access-1"


# -- token stores ---------------------------------------------------------------------------


class CountingApp:
    """An OAuthApp stand-in that hands out numbered pairs, optionally slowly."""

    def __init__(self, gate=None):
        self.calls = []
        self.gate = gate

    def refresh(self, host, refresh_token, api_domain=None):
        self.calls.append(refresh_token)
        if self.gate:
            self.gate.wait(5)
        n = len(self.calls)
        return tokens(access=f"access-{n}", refresh=f"refresh-{n}")


def test_memory_store_is_a_token_store():
    assert isinstance(MemoryTokenStore(CountingApp(), "acme.kommo.com", tokens()), TokenStore)
    assert isinstance(LongLivedTokenStore("tok"), TokenStore)


def test_get_tokens_never_refreshes():
    app = CountingApp()
    expired = tokens(expires_at=NOW - timedelta(days=1))
    store = MemoryTokenStore(app, "acme.kommo.com", expired)

    assert store.get_tokens() is expired
    assert app.calls == []


def test_refresh_uses_the_current_refresh_token_and_keeps_the_new_pair():
    app = CountingApp()
    persisted = []
    store = MemoryTokenStore(app, "acme.kommo.com", tokens(), on_refresh=persisted.append)

    fresh = store.refresh_tokens(store.get_tokens())

    assert app.calls == ["refresh-0"]
    assert store.get_tokens() == fresh == persisted[0]
    assert fresh.access_token == "access-1"


def test_refresh_with_a_stale_pair_returns_what_someone_else_already_got():
    app = CountingApp()
    stale = tokens()
    store = MemoryTokenStore(app, "acme.kommo.com", stale)
    first = store.refresh_tokens(stale)

    second = store.refresh_tokens(stale)

    assert second == first
    assert len(app.calls) == 1


def test_concurrent_refreshes_of_one_stale_pair_refresh_once():
    gate = threading.Event()
    app = CountingApp(gate=gate)
    stale = tokens()
    store = MemoryTokenStore(app, "acme.kommo.com", stale)
    results = []
    started = threading.Barrier(6)

    def refresh():
        started.wait()
        results.append(store.refresh_tokens(stale))

    threads = [threading.Thread(target=refresh) for _ in range(5)]
    for thread in threads:
        thread.start()
    started.wait()
    time.sleep(0.05)  # let every thread reach the store before the first refresh completes
    gate.set()
    for thread in threads:
        thread.join()

    assert len(app.calls) == 1
    assert {r.access_token for r in results} == {"access-1"}


def test_a_revoked_refresh_disconnects_the_store():
    class RevokingApp:
        def refresh(self, host, refresh_token, api_domain=None):
            raise KommoTokenRevoked()

    store = MemoryTokenStore(RevokingApp(), "acme.kommo.com", tokens())

    with pytest.raises(KommoTokenRevoked):
        store.refresh_tokens(store.get_tokens())
    assert store.get_tokens() is None
    with pytest.raises(KommoTokenRevoked):
        store.refresh_tokens(None)


def test_tokens_without_a_refresh_token_cannot_be_refreshed():
    store = MemoryTokenStore(CountingApp(), "acme.kommo.com", tokens(refresh=None))

    with pytest.raises(KommoTokenRevoked):
        store.refresh_tokens(None)


def test_memory_store_repr_hides_tokens():
    store = MemoryTokenStore(CountingApp(), "acme.kommo.com", tokens(access="SECRET-A"))

    assert "SECRET-A" not in repr(store)


def test_long_lived_token_expires_with_its_jwt():
    exp = int((NOW + timedelta(days=365)).timestamp())
    store = LongLivedTokenStore(make_jwt(exp=exp))

    assert store.get_tokens().expires_at == NOW + timedelta(days=365)
    assert store.get_tokens().refresh_token is None
    assert "eyJ" not in repr(store)


def test_long_lived_token_with_an_explicit_expiry():
    store = LongLivedTokenStore("opaque", expires_at=NOW)

    assert store.get_tokens().expires_at == NOW


def test_opaque_long_lived_token_does_not_expire_on_our_side():
    assert not LongLivedTokenStore("opaque").get_tokens().is_expired()


def test_long_lived_token_cannot_be_refreshed():
    store = LongLivedTokenStore("opaque")

    with pytest.raises(KommoTokenRevoked):
        store.refresh_tokens(store.get_tokens())
