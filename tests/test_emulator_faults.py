"""Injected faults: each kind fails the way Kommo (or the network) does, then goes away."""

import pytest
import requests

from kommo_api.testing.faults import RECOVERABLE_KINDS

ACCOUNT = "/api/v4/account"
LEADS = "/api/v4/leads"


@pytest.mark.parametrize(
    ("kind", "status", "content_type"),
    [
        ("500", 500, "application/problem+json"),
        ("502", 502, "text/html"),
        ("429", 429, "text/plain"),
        ("401", 401, "application/problem+json"),
        ("403_html", 403, "text/html"),
        ("402", 402, "application/problem+json"),
    ],
)
def test_an_answering_fault_answers_once(emulator, emulator_api, kind, status, content_type):
    emulator.faults.inject(kind)

    failed = emulator_api.get(ACCOUNT)

    assert failed.status_code == status
    assert failed.headers["Content-Type"].startswith(content_type)
    assert emulator_api.get(ACCOUNT).status_code == 200


def test_a_fault_matches_its_method_and_path_prefix(emulator, emulator_api):
    emulator.faults.inject("500", method="POST", path=LEADS)

    assert emulator_api.get(LEADS).status_code == 204
    assert emulator_api.post(ACCOUNT, json={}).status_code == 405
    assert emulator_api.post(f"{LEADS}/complex", json=[{"name": "A"}]).status_code == 500


def test_faults_are_used_in_order_and_count(emulator, emulator_api):
    emulator.faults.inject("500")
    emulator.faults.inject("502", count=2)

    codes = [emulator_api.get(ACCOUNT).status_code for _ in range(4)]

    assert codes == [500, 502, 502, 200]
    assert emulator.faults.pending == []


def test_a_timeout_keeps_the_caller_waiting_past_its_read_timeout(emulator, emulator_api):
    emulator.faults.timeout_delay = 0.5
    emulator.faults.inject("timeout")

    with pytest.raises(requests.exceptions.ReadTimeout):
        emulator_api.get(ACCOUNT, timeout=(2, 0.1))


def test_a_patient_caller_gets_a_504_after_a_timeout(emulator, emulator_api):
    emulator.faults.timeout_delay = 0.2
    emulator.faults.inject("timeout")

    assert emulator_api.get(ACCOUNT).status_code == 504


def test_a_dropped_connection_answers_nothing_and_applies_nothing(emulator, emulator_api):
    emulator.faults.inject("drop", method="POST")

    with pytest.raises(requests.exceptions.ConnectionError):
        emulator_api.post(LEADS, json=[{"name": "Order 1"}])

    assert emulator.store.leads == {}
    (call,) = emulator.calls("POST", LEADS)
    assert (call.status, call.fault) == (0, "drop")


def test_a_lost_response_applies_the_request_but_answers_nothing(emulator, emulator_api):
    emulator.faults.inject("lost_response", method="POST")

    with pytest.raises(requests.exceptions.ConnectionError):
        emulator_api.post(LEADS, json=[{"name": "Order 1"}])

    assert [lead["name"] for lead in emulator.store.leads.values()] == ["Order 1"]
    (call,) = emulator.calls("POST", LEADS)
    assert (call.status, call.fault) == (0, "lost_response")


def test_an_unknown_fault_kind_is_refused(emulator):
    with pytest.raises(ValueError, match="unknown fault kind"):
        emulator.faults.inject("503")


def test_the_log_keeps_what_was_sent_and_hides_tokens_from_repr(emulator, emulator_api):
    emulator_api.post(LEADS, json=[{"name": "Order 1"}], params={"with": "contacts"})

    (call,) = emulator.calls("POST", LEADS)
    assert call.json == [{"name": "Order 1"}]
    assert call.query == {"with": "contacts"}
    assert call.status == 200
    assert call.headers["Authorization"].startswith("Bearer ")
    assert call.headers["Authorization"].split()[1] not in repr(call)


def test_clear_log_forgets_earlier_calls(emulator, emulator_api):
    emulator_api.get(ACCOUNT)

    emulator.clear_log()

    assert emulator.log == []


def test_random_faults_fail_about_the_rate_with_the_kinds_asked(emulator):
    emulator.faults.inject_random(0.5, kinds=("500", "502"), seed=7)

    kinds = [emulator.faults.take("GET", ACCOUNT) for _ in range(200)]

    assert set(kinds) == {None, "500", "502"}
    assert 70 <= kinds.count(None) <= 130


def test_a_random_fault_answers_as_its_kind_and_is_logged(emulator, emulator_api):
    emulator.faults.inject_random(1.0, kinds=("502",), seed=1)

    assert emulator_api.get(ACCOUNT).status_code == 502
    assert [call.fault for call in emulator.log] == ["502"]


def test_random_faults_with_one_seed_repeat_the_same_draws(emulator):
    def draws():
        emulator.faults.inject_random(0.3, seed=42)
        return [emulator.faults.take("GET", LEADS) for _ in range(60)]

    first = draws()

    assert draws() == first
    assert {kind for kind in first if kind} <= set(RECOVERABLE_KINDS)


def test_random_faults_spare_other_paths_and_follow_counted_faults(emulator, emulator_api):
    emulator.faults.inject("402", path=ACCOUNT)
    emulator.faults.inject_random(1.0, kinds=("500",), method="GET", path=LEADS)

    assert emulator_api.get(ACCOUNT).status_code == 402
    assert emulator_api.get(ACCOUNT).status_code == 200
    assert emulator_api.post(LEADS, json=[{"name": "A"}]).status_code == 200
    assert emulator_api.get(LEADS).status_code == 500


def test_random_faults_stop_at_rate_zero_and_on_clear(emulator, emulator_api):
    emulator.faults.inject_random(1.0, kinds=("502",))
    assert emulator_api.get(ACCOUNT).status_code == 502

    assert emulator.faults.inject_random(0) is None
    assert emulator_api.get(ACCOUNT).status_code == 200

    emulator.faults.inject_random(1.0, kinds=("502",))
    emulator.faults.clear()
    assert emulator_api.get(ACCOUNT).status_code == 200


@pytest.mark.parametrize(
    ("rate", "kinds"), [(1.5, ("500",)), (-0.1, ("500",)), (0.2, ("503",)), (0.2, ())]
)
def test_a_random_fault_mix_is_checked(emulator, rate, kinds):
    with pytest.raises(ValueError):
        emulator.faults.inject_random(rate, kinds=kinds)
