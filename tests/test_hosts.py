"""Which hosts may be treated as a Kommo account (kommo_api.hosts)."""

import pytest

from kommo_api.hosts import base_url, is_loopback, normalize_host


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
