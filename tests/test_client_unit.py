"""KommoClient's request policy over a scripted transport: what the emulator cannot easily show."""

import json
from datetime import datetime, timedelta, timezone

import pytest
import requests
from client_scripted import RecordingThrottle, leads_page, query_of
from urllib3.exceptions import ReadTimeoutError

from kommo_api.client import KommoClient, default_throttle
from kommo_api.errors import (
    KommoConnectionError,
    KommoNotFound,
    KommoRateLimited,
    KommoServerError,
    KommoTimeout,
    KommoTokenExpired,
    KommoTokenRevoked,
    KommoUnexpectedResponse,
    KommoValidationError,
)
from kommo_api.oauth import Tokens
from kommo_api.throttle import NoThrottle


def test_a_get_sends_the_bearer_and_returns_the_json(client, scripted):
    scripted.answer(200, {"id": 7, "name": "Acme"})

    assert client.get_account() == {"id": 7, "name": "Acme"}
    sent = scripted.sent[0]
    assert sent.url == "https://acme.kommo.com/api/v4/account"
    assert sent.headers["Authorization"] == "Bearer access-1"
    assert "kommo-connector" in sent.headers["User-Agent"]


def test_every_attempt_passes_the_throttle_for_the_account(scripted, store):
    throttle = RecordingThrottle()
    client = KommoClient("acme.kommo.com", store, throttle=throttle, session=scripted.session,
                         sleep=lambda s: None)  # fmt: skip
    scripted.answer(500, "").answer(200, {"id": 1})

    client.get_account()

    assert throttle.keys == ["acme.kommo.com", "acme.kommo.com"]


def test_clients_share_one_process_wide_throttle_by_default(store):
    first = KommoClient("acme.kommo.com", store)
    second = KommoClient("acme.kommo.com", store)

    assert first.throttle is second.throttle is default_throttle()


@pytest.mark.parametrize(("status", "body"), [(204, None), (200, ""), (200, "  \n")])
def test_an_empty_answer_is_none(client, scripted, status, body):
    scripted.answer(status, body)

    assert client.request("GET", "/api/v4/leads") is None


def test_a_2xx_body_that_is_not_json_is_unexpected(client, scripted):
    scripted.answer(200, "<html>maintenance</html>", {"Content-Type": "text/html"})

    with pytest.raises(KommoUnexpectedResponse) as caught:
        client.request("GET", "/api/v4/leads")
    assert "maintenance" in str(caught.value)


def test_a_redirect_is_not_followed(client, scripted):
    scripted.answer(301, "", {"Location": "https://elsewhere.example/"})

    with pytest.raises(KommoUnexpectedResponse):
        client.request("GET", "/api/v4/leads")
    assert len(scripted.sent) == 1


def test_the_bearer_never_goes_to_another_host(client, scripted):
    with pytest.raises(ValueError):
        client.request("GET", "https://evil.example/api/v4/leads")
    assert scripted.sent == []


def test_a_full_url_on_the_account_host_is_accepted(client, scripted):
    scripted.answer(200, {"ok": True})

    assert client.request("GET", "https://acme.kommo.com/api/v4/account") == {"ok": True}


def test_gets_back_off_exponentially_with_full_jitter(client, scripted, sleeps):
    scripted.answer(500, "").answer(502, "").answer(503, "").answer(200, {"id": 1})

    assert client.get_account() == {"id": 1}
    assert sleeps == [0.5, 1.0, 2.0]


def test_backoff_is_a_random_fraction_of_the_cap(scripted, store):
    sleeps = []
    client = KommoClient("acme.kommo.com", store, throttle=NoThrottle(), session=scripted.session,
                         sleep=sleeps.append, random=lambda: 0.25, backoff_base=1.0,
                         backoff_max=1.5)  # fmt: skip
    scripted.answer(500, "").answer(500, "").answer(200, {})

    client.get_account()

    assert sleeps == [0.25, 0.375]


def test_retries_stop_after_max_retries(client, scripted):
    for _ in range(4):
        scripted.answer(500, "")

    with pytest.raises(KommoServerError):
        client.get_account()
    assert len(scripted.sent) == 4


def test_a_429_retry_waits_at_least_retry_after(client, scripted, sleeps):
    scripted.answer(429, "Too Many Requests", {"Retry-After": "7"}).answer(200, {})

    client.get_account()

    assert sleeps == [7.0]


def test_a_429_retry_waits_out_kommos_one_second_window(client, scripted, sleeps):
    scripted.answer(429, "Too Many Requests").answer(200, {})

    client.get_account()

    assert sleeps == [1.0]


def test_timeouts_and_dropped_connections_of_a_get_are_retried(client, scripted):
    scripted.fail(requests.ReadTimeout("slow")).fail(requests.ConnectionError("reset"))
    scripted.answer(200, {"id": 1})

    assert client.get_account() == {"id": 1}


def test_a_read_timeout_while_streaming_the_body_is_a_timeout(client, scripted):
    scripted.fail(requests.ConnectionError(ReadTimeoutError(None, "/", "read timed out")))
    scripted.answer(200, {})

    client.get_account()
    assert len(scripted.sent) == 2


@pytest.mark.parametrize(
    ("failure", "error_class"),
    [
        ((500, ""), KommoServerError),
        ((429, "slow down"), KommoRateLimited),
        (requests.ReadTimeout("slow"), KommoTimeout),
        (requests.ConnectionError("reset by peer"), KommoConnectionError),
    ],
)
def test_a_post_create_is_never_retried(client, scripted, failure, error_class):
    if isinstance(failure, Exception):
        scripted.fail(failure)
    else:
        scripted.answer(*failure)

    with pytest.raises(error_class):
        client.create_leads([{"name": "Order 1"}])
    assert len(scripted.sent) == 1


def test_a_create_that_failed_after_sending_has_an_unknown_outcome(client, scripted):
    scripted.fail(requests.ReadTimeout("slow"))

    with pytest.raises(KommoTimeout) as caught:
        client.create_leads([{"name": "Order 1"}])
    assert caught.value.outcome_unknown


def test_a_create_answered_with_a_5xx_has_an_unknown_outcome(client, scripted):
    scripted.answer(500, "")

    with pytest.raises(KommoServerError) as caught:
        client.create_leads([{"name": "Order 1"}])
    assert caught.value.outcome_unknown


def test_a_refused_connection_is_known_not_to_have_sent_anything(client, scripted):
    scripted.fail(requests.ConnectionError("NewConnectionError: Connection refused"))

    with pytest.raises(KommoConnectionError) as caught:
        client.create_leads([{"name": "Order 1"}])
    assert not caught.value.outcome_unknown


def test_a_connect_timeout_is_a_timeout(client, scripted):
    scripted.fail(requests.ConnectTimeout("no route"))

    with pytest.raises(KommoTimeout) as caught:
        client.create_leads([{"name": "Order 1"}])
    assert not caught.value.outcome_unknown


def test_other_request_failures_are_connection_errors(client, scripted):
    scripted.fail(requests.exceptions.ChunkedEncodingError("truncated"))

    with pytest.raises(KommoConnectionError):
        client.create_leads([{"name": "Order 1"}])


def test_a_post_marked_idempotent_is_retried(client, scripted):
    scripted.answer(500, "").answer(200, {"ok": True})

    assert client.request("POST", "/api/v4/leads/search", json={}, idempotent=True) == {"ok": True}


def test_a_401_refreshes_once_and_replays_with_the_new_token(client, scripted, store):
    scripted.answer(401, {"title": "Unauthorized"}).answer(200, {"id": 1})

    assert client.get_account() == {"id": 1}
    assert store.refreshes == 1
    assert scripted.sent[1].headers["Authorization"] == "Bearer access-2"


def test_a_second_401_is_raised(client, scripted, store):
    scripted.answer(401, {"title": "Unauthorized"}).answer(401, {"title": "Unauthorized"})

    with pytest.raises(KommoTokenExpired):
        client.get_account()
    assert store.refreshes == 1


def test_a_401_on_a_create_is_replayed_once(client, scripted):
    scripted.answer(401, {"title": "Unauthorized"})
    scripted.answer(200, {"_embedded": {"leads": [{"id": 5}]}})

    assert client.create_leads([{"name": "x"}]) == [{"id": 5}]


def test_expired_tokens_are_refreshed_before_sending(client, scripted, store):
    store.tokens = Tokens("old", "r", datetime.now(timezone.utc) - timedelta(seconds=1))
    scripted.answer(200, {})

    client.get_account()

    assert store.refreshes == 1
    assert scripted.sent[0].headers["Authorization"] == "Bearer access-2"


def test_a_store_without_tokens_means_not_connected(client, scripted, store):
    store.tokens = None

    with pytest.raises(KommoTokenRevoked):
        client.get_account()
    assert scripted.sent == []


def test_every_attempt_is_reported_as_an_exchange(client, scripted, exchanges):
    scripted.answer(503, "", {"X-Request-Id": "req-1"})
    scripted.answer(200, {"_embedded": {"leads": [{"id": 1}, {"id": 2}]}})

    client.update_leads([{"id": 1, "price": 1}, {"id": 2, "price": 2}])

    assert [(e.method, e.path, e.status, e.attempt) for e in exchanges] == [
        ("PATCH", "/api/v4/leads", 503, 1),
        ("PATCH", "/api/v4/leads", 200, 2),
    ]
    assert isinstance(exchanges[0].error, KommoServerError)
    assert exchanges[0].request_id == "req-1"
    assert exchanges[1].error is None
    assert {e.entity_count for e in exchanges} == {2}
    assert all(e.duration_ms >= 0 for e in exchanges)


def test_an_exchange_without_an_answer_has_no_status(client, scripted, exchanges):
    scripted.fail(requests.ConnectionError("reset")).answer(200, leads_page([1], next_page=False))

    list(client.iter_leads())

    assert exchanges[0].status is None
    assert isinstance(exchanges[0].error, KommoConnectionError)
    assert exchanges[1].entity_count == 1


def test_a_failing_exchange_callback_does_not_fail_the_call(scripted, store):
    def broken(exchange):
        raise RuntimeError("sync log table is gone")

    client = KommoClient("acme.kommo.com", store, throttle=NoThrottle(), session=scripted.session,
                         on_exchange=broken)  # fmt: skip
    scripted.answer(200, {"id": 1})

    assert client.get_account() == {"id": 1}


def test_a_missing_lead_is_none(client, scripted):
    scripted.answer(404, {"title": "Not Found"}).answer(204, None)

    assert client.get_lead(404404) is None
    assert client.get_lead(204204) is None


def test_a_validation_error_in_a_later_chunk_keeps_what_was_created(client, scripted):
    scripted.answer(200, {"_embedded": {"leads": [{"id": i} for i in range(50)]}})
    body = {"validation-errors": [{"request_id": "2", "errors": [{"code": "X", "path": "price"}]}]}
    scripted.answer(400, body)

    with pytest.raises(KommoValidationError) as caught:
        client.create_leads([{"name": f"Order {i}"} for i in range(60)])

    assert len(caught.value.completed) == 50
    assert caught.value.messages_for("52") == ["price: X"]


def test_complex_create_maps_answers_back_by_request_id(client, scripted):
    scripted.answer(200, [
        {"id": 11, "contact_id": 21, "company_id": None, "request_id": ["order-b"], "merged": True},
        {"id": 10, "contact_id": 20, "company_id": None, "request_id": ["order-a"]},
    ])  # fmt: skip

    result = client.create_leads_complex([
        {"name": "A", "request_id": "order-a"}, {"name": "B", "request_id": "order-b"},
    ])  # fmt: skip

    assert result == {
        "order-a": {"id": 10, "contact_id": 20, "company_id": None, "merged": False,
                    "request_ids": ["order-a"]},
        "order-b": {"id": 11, "contact_id": 21, "company_id": None, "merged": True,
                    "request_ids": ["order-b"]},
    }  # fmt: skip


def test_leads_merged_into_one_existing_lead_all_get_its_result(client, scripted):
    scripted.answer(200, [
        {"id": 7, "contact_id": 70, "company_id": None, "request_id": ["b", "c"], "merged": True},
        {"id": 8, "contact_id": 80, "company_id": None, "request_id": ["a"], "merged": False},
    ])  # fmt: skip

    result = client.create_leads_complex([{"request_id": r} for r in ("a", "b", "c")])

    assert (result["b"]["id"], result["c"]["id"], result["a"]["id"]) == (7, 7, 8)
    assert result["b"]["merged"] and not result["a"]["merged"]
    assert result["b"]["request_ids"] == result["c"]["request_ids"] == ["b", "c"]
    result["b"]["request_ids"].append("x")
    assert result["c"]["request_ids"] == ["b", "c"], "each request id has its own result"


def test_a_merged_answer_without_request_ids_cannot_be_matched(client, scripted):
    scripted.answer(200, [{"id": 7, "merged": True}])

    with pytest.raises(KommoUnexpectedResponse):
        client.create_leads_complex([{"request_id": "a"}, {"request_id": "b"}])


def test_complex_answers_without_request_ids_keep_the_request_order(client, scripted):
    scripted.answer(200, [{"id": 10}, {"id": 11, "request_id": []}])

    result = client.create_leads_complex([{"request_id": "a"}, {"request_id": "b"}])

    assert (result["a"]["id"], result["b"]["id"]) == (10, 11)


@pytest.mark.parametrize("answer", [{"id": 1}, [1, 2], '"created"'])
def test_a_complex_answer_of_the_wrong_shape_is_unexpected(client, scripted, answer):
    scripted.answer(200, answer)

    with pytest.raises(KommoUnexpectedResponse):
        client.create_leads_complex([{"request_id": "a"}])


def test_complex_validation_issues_name_the_callers_request_ids(client, scripted):
    body = {"validation-errors": [{"request_id": "1", "errors": [{"code": "X", "path": "name"}]}]}
    scripted.answer(400, body)

    with pytest.raises(KommoValidationError) as caught:
        client.create_leads_complex([{"request_id": "order-a"}, {"request_id": "order-b"}])
    assert caught.value.messages_for("order-b") == ["name: X"]


@pytest.mark.parametrize(
    "leads",
    [[{"name": "no id"}], [{"request_id": ""}], [{"request_id": 5}],
     [{"request_id": "a"}, {"request_id": "a"}]],
)  # fmt: skip
def test_complex_create_needs_unique_request_ids(client, scripted, leads):
    with pytest.raises(ValueError):
        client.create_leads_complex(leads)
    assert scripted.sent == []


def test_updates_need_the_ids(client):
    with pytest.raises(ValueError):
        client.update_leads([{"name": "no id"}])
    with pytest.raises(ValueError):
        client.update_contacts([{"id": "12"}])


def test_an_unknown_entity_type_is_refused(client):
    with pytest.raises(ValueError):
        client.iter_custom_fields("../account")


def test_an_account_answer_that_is_not_an_object_is_unexpected(client, scripted):
    scripted.answer(200, [1, 2])

    with pytest.raises(KommoUnexpectedResponse):
        client.get_account(with_="amojo_id")
    assert ("with", "amojo_id") in query_of(scripted.sent[0])


def test_not_found_on_other_calls_is_raised(client, scripted):
    scripted.answer(404, {"title": "Not Found"})

    with pytest.raises(KommoNotFound):
        client.request("GET", "/api/v4/nowhere")


def test_webhook_unsubscribe_sends_the_destination(client, scripted):
    scripted.answer(204, None)

    client.unsubscribe_webhook("https://odoo.example/kommo/webhook/abc")

    sent = scripted.sent[0]
    assert sent.method == "DELETE"
    assert json.loads(sent.body) == {"destination": "https://odoo.example/kommo/webhook/abc"}


def test_client_repr_names_the_host_only(client):
    assert repr(client) == "KommoClient(host='acme.kommo.com')"
