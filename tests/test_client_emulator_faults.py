"""KommoClient's retry policy and error mapping against faults injected into the emulator."""

import time

import pytest

from kommo_api.errors import (
    KommoBlocked,
    KommoConnectionError,
    KommoNotFound,
    KommoPaymentRequired,
    KommoRateLimited,
    KommoServerError,
    KommoTimeout,
    KommoTokenExpired,
    KommoUnexpectedResponse,
)
from kommo_api.testing import KommoEmulator
from kommo_api.throttle import NoThrottle

LEADS = "/api/v4/leads"


def statuses(calls):
    return [call.status for call in calls]


def settled_calls(emulator, method, path, kind):
    """The logged calls. The emulator logs a request when it answers, so a timed-out one shows up
    only after the client has given up on it: wait for it first."""
    deadline = time.monotonic() + 5
    while kind == "timeout" and not any(call.fault == "timeout" for call in emulator.log):
        assert time.monotonic() < deadline, "the timed-out request never reached the log"
        time.sleep(0.05)
    return emulator.calls(method, path)


@pytest.mark.parametrize("kind", ["500", "502", "429", "timeout", "drop"])
def test_a_get_is_retried_through_a_transient_fault(kommo_client, emulator, kind):
    emulator.add_lead(name="Order 1")
    emulator.faults.inject(kind, method="GET", path=LEADS)

    assert [lead["name"] for lead in kommo_client.iter_leads()] == ["Order 1"]
    assert len(settled_calls(emulator, "GET", LEADS, kind)) == 2


@pytest.mark.parametrize("kind", ["500", "429", "timeout", "drop"])
def test_a_patch_is_retried_through_a_transient_fault(kommo_client, emulator, kind):
    lead = emulator.add_lead(name="Order 1")
    emulator.faults.inject(kind, method="PATCH", path=LEADS)

    kommo_client.update_leads([{"id": lead["id"], "price": 250}])

    assert emulator.store.leads[lead["id"]]["price"] == 250
    assert len(settled_calls(emulator, "PATCH", LEADS, kind)) == 2


@pytest.mark.parametrize(
    ("kind", "error_class"),
    [
        ("500", KommoServerError),
        ("502", KommoServerError),
        ("429", KommoRateLimited),
        ("timeout", KommoTimeout),
        ("drop", KommoConnectionError),
    ],
)
def test_a_create_is_not_retried_after_a_fault(kommo_client, emulator, kind, error_class):
    emulator.faults.inject(kind, method="POST", path=LEADS)

    with pytest.raises(error_class):
        kommo_client.create_leads([{"name": "Order 1"}])

    assert len(settled_calls(emulator, "POST", LEADS, kind)) == 1


def test_a_create_whose_answer_was_lost_is_reported_as_possibly_done(kommo_client, emulator):
    emulator.faults.inject("lost_response", method="POST", path=LEADS)

    with pytest.raises(KommoConnectionError) as caught:
        kommo_client.create_leads([{"name": "Order 1"}])

    assert caught.value.outcome_unknown
    assert [lead["name"] for lead in emulator.store.leads.values()] == ["Order 1"]
    assert len(emulator.calls("POST", LEADS)) == 1


def test_an_error_names_the_request_id_kommo_gave_it(kommo_client, emulator):
    emulator.faults.inject("500", method="POST", path=LEADS)

    with pytest.raises(KommoServerError) as caught:
        kommo_client.create_leads([{"name": "Order 1"}])

    assert caught.value.request_id == emulator.calls("POST", LEADS)[0].request_id


def test_a_get_gives_up_after_max_retries(kommo_client, emulator):
    emulator.faults.inject("500", count=10, method="GET", path=LEADS)

    with pytest.raises(KommoServerError):
        list(kommo_client.iter_leads())
    assert statuses(emulator.calls("GET", LEADS)) == [500, 500, 500, 500]


def test_a_blocked_account_is_reported_and_not_retried(kommo_client, emulator):
    emulator.faults.inject("403_html", method="GET")

    with pytest.raises(KommoBlocked) as caught:
        kommo_client.get_account()

    assert "<html" not in str(caught.value).lower()
    assert len(emulator.calls("GET")) == 1


def test_a_plan_restriction_is_payment_required(kommo_client, emulator):
    emulator.faults.inject("402", method="POST", path="/api/v4/webhooks")

    with pytest.raises(KommoPaymentRequired):
        kommo_client.subscribe_webhook("http://127.0.0.1:9/hook", ["add_lead"])


def test_hammering_without_a_throttle_gets_the_account_blocked(make_client):
    with KommoEmulator(block_after=3) as emulator:
        client = make_client(emulator, throttle=NoThrottle(), max_retries=0)
        seen = []
        with pytest.raises(KommoBlocked):
            for _ in range(40):
                try:
                    client.get_account()
                except KommoRateLimited as exc:
                    seen.append(exc)

    assert len(seen) > 3


def test_an_unknown_endpoint_is_not_found(kommo_client):
    with pytest.raises(KommoNotFound):
        kommo_client.request("GET", "/api/v4/no_such_thing")


def test_an_html_page_where_json_was_expected_is_unexpected(kommo_client, kommo_app):
    # The emulator's authorize page answers 200 with HTML, as a misrouted Kommo call would.
    params = {"client_id": kommo_app.client_id, "state": "s", "mode": "popup"}
    with pytest.raises(KommoUnexpectedResponse) as caught:
        kommo_client.request("GET", "/oauth", params=params)
    assert caught.value.status == 200


def test_auth_errors_never_quote_the_tokens(kommo_client, emulator):
    emulator.faults.inject("401", count=2, method="GET")

    with pytest.raises(KommoTokenExpired) as caught:
        kommo_client.get_account()

    tokens = kommo_client.token_store.get_tokens()
    for text in (str(caught.value), repr(caught.value)):
        assert tokens.access_token not in text
        assert tokens.refresh_token not in text
