"""Tokens against the emulator: 401-refresh-replay, single-use refresh tokens, expiry, throttle."""

import threading
from datetime import datetime, timedelta, timezone

import pytest
from freezegun import freeze_time

from kommo_api.client import KommoClient
from kommo_api.errors import KommoAuthError, KommoTokenExpired, KommoTokenRevoked
from kommo_api.oauth import LongLivedTokenStore, MemoryTokenStore, Tokens
from kommo_api.throttle import SlidingWindowThrottle

TOKEN_PATH = "/oauth2/access_token"
DAY = 86400


def call_log(emulator):
    return [(call.method, call.path, call.status) for call in emulator.log]


def busiest_window(times, period):
    times = sorted(times)
    return max(sum(1 for t in times[i:] if t < start + period) for i, start in enumerate(times))


def test_a_401_refreshes_the_tokens_and_replays_the_call(kommo_client, emulator):
    emulator.clock.advance(DAY + 60)  # the server now considers the access token expired

    assert kommo_client.get_account()["subdomain"] == "acme"
    assert call_log(emulator) == [
        ("GET", "/api/v4/account", 401),
        ("POST", TOKEN_PATH, 200),
        ("GET", "/api/v4/account", 200),
    ]


def test_the_refreshed_pair_is_kept_for_later_calls(kommo_client, emulator):
    before = kommo_client.token_store.get_tokens()
    emulator.clock.advance(DAY + 60)
    kommo_client.get_account()

    kommo_client.get_account()

    assert kommo_client.token_store.get_tokens().access_token != before.access_token
    assert len(emulator.calls("POST", TOKEN_PATH)) == 1


def test_a_second_401_after_refreshing_is_raised(kommo_client, emulator):
    emulator.faults.inject("401", count=2, method="GET")

    with pytest.raises(KommoTokenExpired):
        kommo_client.get_account()
    assert len(emulator.calls("POST", TOKEN_PATH)) == 1


def test_a_reused_refresh_token_means_the_connection_is_revoked(emulator, kommo_app, make_client):
    # Two workers that each kept a copy of the same pair: the second refresh reuses a spent token.
    pair = Tokens.from_token_response(emulator.issue_tokens(kommo_app.client_id))
    first = make_client(emulator, store=MemoryTokenStore(kommo_app, emulator.host, pair))
    second = make_client(emulator, store=MemoryTokenStore(kommo_app, emulator.host, pair))
    emulator.clock.advance(DAY + 60)
    first.get_account()

    with pytest.raises(KommoTokenRevoked):
        second.get_account()
    assert statuses_of(emulator.calls("POST", TOKEN_PATH)) == [200, 401]


def statuses_of(calls):
    return [call.status for call in calls]


def test_threads_hitting_an_expired_token_refresh_it_once(kommo_client, emulator):
    emulator.clock.advance(DAY + 60)
    errors = []

    def work():
        try:
            for _ in range(2):
                kommo_client.get_account()
        except Exception as exc:  # collected and asserted on below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert len(emulator.calls("POST", TOKEN_PATH)) == 1


def test_tokens_past_their_expiry_are_refreshed_before_the_call(kommo_client, emulator):
    expires_at = kommo_client.token_store.get_tokens().expires_at

    with freeze_time(expires_at + timedelta(minutes=5), tick=True):
        kommo_client.get_account()

    assert call_log(emulator) == [("POST", TOKEN_PATH, 200), ("GET", "/api/v4/account", 200)]


def test_tokens_close_to_expiry_are_still_used_without_refreshing(kommo_client, emulator):
    expires_at = kommo_client.token_store.get_tokens().expires_at

    with freeze_time(expires_at - timedelta(minutes=5), tick=True):
        kommo_client.get_account()

    assert call_log(emulator) == [("GET", "/api/v4/account", 200)]


def test_a_code_is_exchanged_for_working_tokens(emulator, kommo_app, make_client):
    code = emulator.issue_auth_code(kommo_app.client_id)

    pair = kommo_app.exchange_code(emulator.host, code)

    client = make_client(emulator, store=MemoryTokenStore(kommo_app, emulator.host, pair))
    assert client.get_account()["subdomain"] == "acme"
    assert pair.expires_at > datetime.now(timezone.utc)


def test_an_authorization_code_works_once(emulator, kommo_app):
    code = emulator.issue_auth_code(kommo_app.client_id)
    kommo_app.exchange_code(emulator.host, code)

    with pytest.raises(KommoAuthError):
        kommo_app.exchange_code(emulator.host, code)


def test_a_long_lived_token_is_used_as_is(emulator, make_client):
    client = make_client(emulator, store=LongLivedTokenStore(emulator.issue_long_lived_token()))

    assert client.get_account()["subdomain"] == "acme"


def test_a_refused_long_lived_token_means_reconnect(emulator, make_client):
    client = make_client(emulator, store=LongLivedTokenStore("not-a-valid-token"))

    with pytest.raises(KommoTokenRevoked):
        client.get_account()
    assert len(emulator.calls("GET", "/api/v4/account")) == 1


def test_three_threads_never_put_more_than_seven_calls_in_one_second(emulator, make_client):
    # A read timeout far above an answer's time even on a loaded machine: a call retried
    # after a timeout would be counted twice by the emulator.
    client = make_client(emulator, throttle=SlidingWindowThrottle(), timeout=(2.0, 10.0))

    def work():
        for _ in range(10):
            client.get_account()

    threads = [threading.Thread(target=work) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    calls = emulator.calls("GET", "/api/v4/account")
    assert len(calls) == 30
    assert 429 not in statuses_of(calls)
    assert busiest_window([call.time for call in calls], 1.0) <= 7


def test_clients_of_one_account_share_the_default_throttle(emulator, kommo_app):
    def fresh_client():
        pair = Tokens.from_token_response(emulator.issue_tokens(kommo_app.client_id))
        store = MemoryTokenStore(kommo_app, emulator.host, pair)
        return KommoClient(emulator.host, store, timeout=(2, 2))

    clients = [fresh_client() for _ in range(2)]
    for _ in range(8):
        for client in clients:
            client.get_account()

    calls = emulator.calls("GET", "/api/v4/account")
    assert 429 not in statuses_of(calls)
    assert busiest_window([call.time for call in calls], 1.0) <= 7
