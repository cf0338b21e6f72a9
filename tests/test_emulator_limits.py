"""The emulator enforces Kommo's request limit (7 a second) and blocks abusive accounts."""

import time

from kommo_api.testing import KommoEmulator

ACCOUNT = "/api/v4/account"


def statuses(api, count):
    return [api.get(ACCOUNT).status_code for _ in range(count)]


def test_the_eighth_call_in_a_window_gets_429_with_a_non_json_body(emulator_http):
    # A long window so that a slow machine cannot spread the eight calls over two windows.
    with KommoEmulator(rate_period=30) as emu:
        api = emulator_http(emu)
        assert statuses(api, 7) == [200] * 7

        refused = api.get(ACCOUNT)

    assert refused.status_code == 429
    assert "json" not in refused.headers["Content-Type"]
    assert not refused.text.lstrip().startswith(("{", "["))


def test_the_window_slides(emulator_http):
    with KommoEmulator(rate_period=0.2) as emu:
        api = emulator_http(emu)
        statuses(api, 7)
        time.sleep(0.3)

        assert api.get(ACCOUNT).status_code == 200


def test_refused_calls_are_logged_with_their_status(emulator_http):
    with KommoEmulator(rate_period=30) as emu:
        statuses(emulator_http(emu), 9)

        assert [call.status for call in emu.calls("GET", ACCOUNT)] == [200] * 7 + [429, 429]


def test_repeated_abuse_blocks_the_account_with_an_html_403(emulator_http):
    with KommoEmulator(rate_period=30, block_after=2) as emu:
        api = emulator_http(emu)
        assert statuses(api, 10) == [200] * 7 + [429] * 3

        blocked = api.get(ACCOUNT)

    assert blocked.status_code == 403
    assert blocked.headers["Content-Type"].startswith("text/html")
    assert "<html" in blocked.text.lower()


def test_a_block_ends_after_block_seconds(emulator_http):
    # The block must outlast the next call even on a loaded machine: a second, not less.
    with KommoEmulator(rate_period=30, block_after=1, block_seconds=1) as emu:
        api = emulator_http(emu)
        statuses(api, 9)
        assert api.get(ACCOUNT).status_code == 403
        time.sleep(1.1)

        # The window is still full, so the call is limited again, no longer blocked.
        assert api.get(ACCOUNT).status_code == 429


def test_unblock_lifts_a_block_at_once(emulator_http):
    with KommoEmulator(rate_period=30, block_after=1) as emu:
        api = emulator_http(emu)
        statuses(api, 10)

        emu.unblock()

        assert api.get(ACCOUNT).status_code == 200


def test_no_rate_limit_lets_every_call_through(emulator_http):
    with KommoEmulator(rate_limit=None) as emu:
        assert set(statuses(emulator_http(emu), 20)) == {200}


def test_the_limit_is_measured_on_real_time_not_the_emulator_clock(emulator_http):
    with KommoEmulator(rate_period=30) as emu:
        api = emulator_http(emu)
        statuses(api, 7)
        emu.clock.advance(3600)

        assert api.get(ACCOUNT).status_code == 429
