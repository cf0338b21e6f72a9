"""Which hosts may be treated as a Kommo account, their consent pages, and the redirects that
may be followed (kommo_api.hosts, kommo_api._transport)."""

import pytest

from kommo_api._transport import MAX_REDIRECTS, send
from kommo_api.client import KommoClient
from kommo_api.errors import KommoUnexpectedResponse
from kommo_api.hosts import (
    base_url,
    is_loopback,
    normalize_host,
    platform_authorize_url,
    redirect_allowed,
)
from kommo_api.oauth import LongLivedTokenStore, OAuthApp
from kommo_api.throttle import NoThrottle


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("acme.kommo.com", "acme.kommo.com"),
        ("ACME.Kommo.com", "acme.kommo.com"),
        ("https://acme.kommo.com/", "acme.kommo.com"),
        ("https://acme.kommo.com/leads/detail/1?x=1", "acme.kommo.com"),
        ("acme.kommo.com.", "acme.kommo.com"),
        ("  old-shop.amocrm.com ", "old-shop.amocrm.com"),
        ("loja2.amocrm.ru", "loja2.amocrm.ru"),
        ("127.0.0.1:8899", "127.0.0.1:8899"),
        ("http://127.0.0.1:8899/oauth", "127.0.0.1:8899"),
        ("localhost:8899", "localhost:8899"),
        ("localhost", "localhost"),
        ("[::1]:8899", "[::1]:8899"),
    ],
)
def test_accepted_hosts_are_normalised(raw, expected):
    assert normalize_host(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "kommo.com",
        "www.kommo.com",
        "evil.com",
        "acme.kommo.com.evil.com",
        "evilkommo.com",
        "a.b.kommo.com",
        "acme.kommo.com:8443",
        "user@acme.kommo.com",
        "10.0.0.5:8899",
        "127.0.0.1:99999",
        "127.0.0.1:http",
        "[::1",
        "[::1]x",
        "-acme.kommo.com",
        "",
    ],
)
def test_other_hosts_are_refused(raw):
    with pytest.raises(ValueError):
        normalize_host(raw)


def test_a_non_string_host_is_refused():
    with pytest.raises(ValueError):
        normalize_host(None)


def test_kommo_hosts_are_spoken_to_over_https():
    assert base_url("acme.kommo.com") == "https://acme.kommo.com"


def test_the_loopback_emulator_is_spoken_to_over_http():
    assert base_url("127.0.0.1:8899") == "http://127.0.0.1:8899"
    assert base_url("[::1]:8899") == "http://[::1]:8899"


def test_loopback_detection():
    assert is_loopback("127.0.0.1:8899")
    assert is_loopback("localhost")
    assert not is_loopback("acme.kommo.com")


# -- platforms ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("host", "url"),
    [
        ("acme.kommo.com", "https://www.kommo.com/oauth"),
        ("old-shop.amocrm.com", "https://www.kommo.com/oauth"),
        ("loja2.amocrm.ru", "https://www.amocrm.ru/oauth"),
        ("127.0.0.1:8899", "http://127.0.0.1:8899/oauth"),
    ],
)
def test_each_platform_has_its_consent_page(host, url):
    assert platform_authorize_url(host) == url


def test_the_oauth_app_sends_an_amocrm_ru_account_to_amocrms_consent_page():
    app = OAuthApp("cid", "secret", "https://odoo.example/cb")

    assert app.authorize_url_for("s", host="loja2.amocrm.ru").startswith(
        "https://www.amocrm.ru/oauth?client_id=cid&state=s"
    )
    assert app.authorize_url_for("s", host="acme.kommo.com").startswith(
        "https://www.kommo.com/oauth?"
    )


def test_an_explicit_authorize_url_is_kept_whatever_the_host():
    app = OAuthApp("cid", "secret", "https://x/cb", authorize_url="http://127.0.0.1:1/oauth")

    assert app.authorize_url_for("s", host="loja2.amocrm.ru").startswith(
        "http://127.0.0.1:1/oauth?"
    )


# -- redirects ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "target"),
    [
        ("https://acme.amocrm.com/api/v4/account", "https://acme.kommo.com/api/v4/account"),
        ("https://acme.kommo.com/api/v4/leads", "https://acme.kommo.com/api/v4/leads/"),
        ("https://loja.amocrm.ru/api/v4/account", "https://loja.amocrm.ru/api/v4/account?x=1"),
        ("http://127.0.0.1:8899/api/v4/account", "http://127.0.0.1:8899/api/v4/account/"),
    ],
)
def test_redirects_within_kommo_are_allowed(source, target):
    assert redirect_allowed(source, target)


@pytest.mark.parametrize(
    ("source", "target"),
    [
        ("https://acme.amocrm.com/api/v4/account", "https://evil.example/api/v4/account"),
        ("https://acme.amocrm.com/x", "http://acme.kommo.com/x"),
        ("https://acme.amocrm.com/x", "https://acme.kommo.com:8443/x"),
        ("https://acme.amocrm.com/x", "https://www.kommo.com/x"),
        ("https://acme.amocrm.com/x", "https://user:pw@acme.kommo.com/x"),
        ("https://acme.amocrm.com/x", "https://acme.kommo.com.evil.example/x"),
        ("https://acme.amocrm.com/x", "https://loja.amocrm.ru/x"),
        ("http://127.0.0.1:8899/x", "http://127.0.0.1:9999/x"),
        ("http://127.0.0.1:8899/x", "https://acme.kommo.com/x"),
        ("https://acme.kommo.com/x", "/relative-but-resolved-by-the-caller"),
    ],
)
def test_redirects_elsewhere_are_refused(source, target):
    assert not redirect_allowed(source, target)


def moved(location, status=301):
    return {"status": status, "headers": {"Location": location}}


def test_an_amocrm_com_account_is_followed_to_kommo_com_with_its_bearer(scripted):
    scripted.answer(**moved("https://acme.kommo.com/api/v4/account?with=users"))
    scripted.answer(200, {"id": 1, "subdomain": "acme"})
    client = KommoClient("acme.amocrm.com", LongLivedTokenStore("tok"), session=scripted.session,
                         throttle=NoThrottle(), sleep=lambda s: None)  # fmt: skip

    assert client.request("GET", "/api/v4/account", params={"with": "users"})["subdomain"] == "acme"

    _first, second = scripted.sent
    assert second.url == "https://acme.kommo.com/api/v4/account?with=users"
    assert second.headers["Authorization"] == "Bearer tok"


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_a_moved_write_keeps_its_method_and_body(scripted, status):
    scripted.answer(**moved("https://acme.kommo.com/api/v4/leads", status)).answer(200, [])

    send(scripted.session, "POST", "https://acme.amocrm.com/api/v4/leads", json=[{"name": "A"}])

    assert (scripted.sent[1].method, scripted.sent[1].body) == ("POST", b'[{"name": "A"}]')


def test_a_redirect_to_a_foreign_host_is_not_followed(scripted):
    scripted.answer(**moved("https://evil.example/api/v4/account"))
    client = KommoClient("acme.amocrm.com", LongLivedTokenStore("tok"), session=scripted.session,
                         throttle=NoThrottle(), sleep=lambda s: None)  # fmt: skip

    with pytest.raises(KommoUnexpectedResponse):
        client.get_account()

    assert len(scripted.sent) == 1


def test_the_token_endpoint_is_followed_within_kommo_only(scripted):
    scripted.answer(**moved("https://acme.kommo.com/oauth2/access_token", 308))
    scripted.answer(200, {"access_token": "a", "refresh_token": "r", "expires_in": 60})
    app = OAuthApp("cid", "secret", "https://x/cb", session=scripted.session)

    app.exchange_code("acme.amocrm.com", "code")

    assert b'"client_secret": "secret"' in scripted.sent[1].body


def test_redirects_are_followed_a_few_times_only(scripted):
    for n in range(MAX_REDIRECTS + 1):
        scripted.answer(**moved(f"https://acme.kommo.com/hop{n}"))

    response = send(scripted.session, "GET", "https://acme.amocrm.com/start")

    assert response.status_code == 301
    assert len(scripted.sent) == MAX_REDIRECTS + 1


def test_a_redirect_without_a_location_is_returned_as_it_is(scripted):
    scripted.answer(302, "")

    assert send(scripted.session, "GET", "https://acme.kommo.com/x").status_code == 302
