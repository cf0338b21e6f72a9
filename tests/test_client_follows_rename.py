"""A client made before the account was renamed follows its tokens to the new host."""

from datetime import timedelta

import pytest

from kommo_api import MemoryTokenStore, OAuthApp, Tokens


@pytest.fixture
def store(emulator):
    record = emulator.register_app()
    app = OAuthApp(record.client_id, record.client_secret, record.redirect_uri)
    tokens = Tokens.from_token_response(emulator.issue_tokens(record.client_id))
    return MemoryTokenStore(app, emulator.host, tokens)


def test_a_401_refresh_moves_the_client_to_the_renamed_host(emulator, store, make_client):
    """Only a 401 makes the client refresh (a 404 names a missing entity just as well); what
    a renamed account's old host answers is UNCONFIRMED: a 404 there is met at the next
    refresh, when the pair expires (the test below)."""
    client = make_client(emulator, store=store)
    old_host = client.host
    new_host = emulator.rename_subdomain("acme2", old_host_status=401)

    assert client.get_account()["subdomain"] == "acme2"
    assert client.host == new_host != old_host
    assert client.base_url.endswith(new_host)


def test_an_expired_token_refreshed_before_a_call_moves_the_client_too(
    emulator, store, make_client
):
    client = make_client(emulator, store=store)
    new_host = emulator.rename_subdomain("acme2", old_host_status=404)
    tokens = store.get_tokens()
    store._tokens = Tokens(  # an expired pair, as a day later
        tokens.access_token, tokens.refresh_token, tokens.expires_at - timedelta(days=2)
    )

    assert client.get_account()["subdomain"] == "acme2"
    assert client.host == new_host
