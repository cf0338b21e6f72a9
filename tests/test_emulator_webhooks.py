"""Webhook deliveries: Kommo's form payloads, posted to subscribers, retried after failures."""

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl

import pytest

from kommo_api.testing import KommoEmulator

QUICK_RETRIES = (0.05, 0.05)


class Receiver:
    """A local HTTP endpoint that records deliveries and answers with scripted statuses."""

    def __init__(self):
        self.received = []  # (headers, decoded form as a dict)
        self.statuses = []  # answers to give, in order; 200 once exhausted
        self.delay = 0.0  # seconds before answering
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/kommo/webhook/s3cr3t"
        threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()

    def _handler(self):
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"])).decode()
                receiver.received.append((dict(self.headers), dict(parse_qsl(body))))
                time.sleep(receiver.delay)
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                if 300 <= status < 400:
                    self.send_header("Location", receiver.url)  # following it would be a 200
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        return Handler

    def forms(self):
        return [form for _headers, form in self.received]

    def close(self):
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def receiver():
    receiver = Receiver()
    yield receiver
    receiver.close()


def subscribe(emu, emulator_http, destination, *events):
    answer = emulator_http(emu).post(
        "/api/v4/webhooks", json={"destination": destination, "settings": list(events)}
    )
    assert answer.status_code == 201, answer.text


def stages(emu):
    pipeline = emu.store.main_pipeline()
    return pipeline["id"], list(pipeline["statuses"])


def test_a_stage_move_posts_kommos_status_lead_form(emulator, emulator_http, receiver):
    subscribe(emulator, emulator_http, receiver.url, "status_lead")
    pipeline_id, (first, second, *_) = stages(emulator)
    lead = emulator.add_lead(name="Order 1", price=1000, status_id=first)

    emulator.crm.move_lead(lead["id"], second)

    assert emulator.wait_for_deliveries(1)
    ((headers, form),) = receiver.received
    assert headers["User-Agent"] == "amoCRM-WebHook-client/1.0"
    assert headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert form["leads[status][0][id]"] == str(lead["id"])
    assert form["leads[status][0][status_id]"] == str(second)
    assert form["leads[status][0][old_status_id]"] == str(first)
    assert form["leads[status][0][pipeline_id]"] == str(pipeline_id)
    assert form["leads[status][0][price]"] == "1000"
    assert form["account[subdomain]"] == "acme"
    assert form["account[id]"] == str(emulator.account_id)
    assert "leads[status][0][old_pipeline_id]" not in form


def test_a_move_to_another_pipeline_names_the_old_pipeline(emulator, emulator_http, receiver):
    subscribe(emulator, emulator_http, receiver.url, "status_lead")
    old_pipeline_id, _ = stages(emulator)
    other = emulator.add_pipeline("Garantia", ["Aberto"])
    lead = emulator.add_lead(name="Order 1")

    emulator.crm.move_lead(lead["id"], other["_embedded"]["statuses"][0]["id"], other["id"])

    assert emulator.wait_for_deliveries(1)
    (form,) = receiver.forms()
    assert form["leads[status][0][pipeline_id]"] == str(other["id"])
    assert form["leads[status][0][old_pipeline_id]"] == str(old_pipeline_id)


def test_a_select_value_is_sent_with_its_enum(emulator, emulator_http, receiver):
    subscribe(emulator, emulator_http, receiver.url, "update_lead")
    field = emulator.add_custom_field("leads", "Status da OS", "select", enums=["Aberta", "Pronta"])
    lead = emulator.add_lead(name="Order 1")

    emulator.crm.update_lead(lead["id"], custom_fields={field["id"]: field["enums"][1]["id"]})

    assert emulator.wait_for_deliveries(1)
    (form,) = receiver.forms()
    assert form["leads[update][0][custom_fields][0][id]"] == str(field["id"])
    assert form["leads[update][0][custom_fields][0][values][0][value]"] == "Pronta"
    assert form["leads[update][0][custom_fields][0][values][0][enum]"] == str(
        field["enums"][1]["id"]
    )


def test_only_subscribed_events_are_delivered(emulator, emulator_http, receiver):
    subscribe(emulator, emulator_http, receiver.url, "add_lead", "delete_lead")
    _, (_first, second, *_) = stages(emulator)
    lead = emulator.crm.add_lead("Order 1")

    emulator.crm.move_lead(lead["id"], second)
    emulator.crm.delete_lead(lead["id"])

    assert emulator.wait_for_deliveries(None)
    added, deleted = receiver.forms()
    assert added["leads[add][0][id]"] == str(lead["id"])
    assert deleted["leads[delete][0][id]"] == str(lead["id"])


def test_fixture_helpers_announce_nothing(emulator, emulator_http, receiver):
    subscribe(emulator, emulator_http, receiver.url, "add_lead", "add_contact")

    emulator.add_lead(name="Order 1")
    emulator.add_contact("Maria")

    assert emulator.wait_for_deliveries(None)
    assert receiver.received == []


def test_changes_made_through_the_api_come_back_as_echoes(emulator, emulator_http, receiver):
    subscribe(emulator, emulator_http, receiver.url, "update_lead")
    lead = emulator.add_lead(name="Order 1")

    emulator_http(emulator).patch("/api/v4/leads", json=[{"id": lead["id"], "price": 300}])

    assert emulator.wait_for_deliveries(1)
    (form,) = receiver.forms()
    assert form["leads[update][0][price]"] == "300"


def test_api_echoes_can_be_switched_off(emulator_http, receiver):
    with KommoEmulator(api_changes_fire_webhooks=False) as emu:
        subscribe(emu, emulator_http, receiver.url, "update_lead")
        lead = emu.add_lead(name="Order 1")
        emulator_http(emu).patch("/api/v4/leads", json=[{"id": lead["id"], "price": 300}])
        emu.crm.update_lead(lead["id"], name="Order 1 (by a user)")

        assert emu.wait_for_deliveries(None)

    (form,) = receiver.forms()
    assert form["leads[update][0][name]"] == "Order 1 (by a user)"


def test_a_failed_delivery_is_retried(emulator_http, receiver):
    receiver.statuses = [500]
    with KommoEmulator(webhook_retry_delays=QUICK_RETRIES) as emu:
        subscribe(emu, emulator_http, receiver.url, "add_lead")
        emu.crm.add_lead("Order 1")

        assert emu.wait_for_deliveries(2)

    assert [attempt.status for attempt in emu.deliveries] == [500, 200]
    first, second = receiver.forms()
    assert first == second


def test_delivery_gives_up_after_the_last_retry(emulator_http, receiver):
    receiver.statuses = [503] * 10
    with KommoEmulator(webhook_retry_delays=QUICK_RETRIES) as emu:
        subscribe(emu, emulator_http, receiver.url, "add_lead")
        emu.crm.add_lead("Order 1")

        assert emu.wait_for_deliveries(None)

    assert [(a.attempt, a.status, a.gave_up) for a in emu.deliveries] == [
        (1, 503, False),
        (2, 503, False),
        (3, 503, True),
    ]


def test_an_unreachable_destination_is_recorded_as_a_connection_failure(emulator_http, receiver):
    with KommoEmulator(webhook_retry_delays=()) as emu:
        receiver.close()  # nothing listens there any more
        subscribe(emu, emulator_http, receiver.url, "add_lead")
        emu.crm.add_lead("Order 1")

        assert emu.wait_for_deliveries(1)

    (attempt,) = emu.deliveries
    assert attempt.status is None
    assert attempt.error
    assert attempt.gave_up


# Kommo's lifecycle of a failing webhook ------------------------------------------------------
def hooks(emu, emulator_http):
    return emulator_http(emu).get("/api/v4/webhooks").json()["_embedded"]["webhooks"]


def test_retries_wait_on_the_emulators_clock_not_the_tests(emulator_http, receiver):
    receiver.statuses = [500]
    with KommoEmulator() as emu:
        subscribe(emu, emulator_http, receiver.url, "add_lead")
        emu.crm.add_lead("Order 1")
        assert emu.wait_for_deliveries(None, timeout=5), "a retry minutes away is not waited for"
        assert [a.status for a in emu.deliveries] == [500]

        emu.clock.advance(60)

        assert emu.wait_for_deliveries(2, timeout=5)
    assert [(a.attempt, a.status) for a in emu.deliveries] == [(1, 500), (2, 200)]


def test_the_default_ladder_is_four_retries_within_about_an_hour():
    with KommoEmulator() as emu:
        assert emu.deliverer.retry_delays == (60, 300, 900, 2400)
        assert emu.deliverer.timeout == 2.0


def test_a_redirect_is_an_invalid_answer_and_not_followed(emulator_http, receiver):
    receiver.statuses = [302]
    with KommoEmulator(webhook_retry_delays=()) as emu:
        subscribe(emu, emulator_http, receiver.url, "add_lead")
        emu.crm.add_lead("Order 1")
        assert emu.wait_for_deliveries(None)

    ((attempt,), received) = emu.deliveries, receiver.received
    assert (attempt.status, attempt.ok, attempt.gave_up, len(received)) == (302, False, True, 1)


def test_an_answer_slower_than_the_receiver_timeout_is_invalid(emulator_http, receiver):
    receiver.delay = 0.5
    with KommoEmulator(webhook_retry_delays=(), webhook_timeout=0.2) as emu:
        subscribe(emu, emulator_http, receiver.url, "add_lead")
        emu.crm.add_lead("Order 1")
        assert emu.wait_for_deliveries(1)

    (attempt,) = emu.deliveries
    assert (attempt.status, attempt.ok) == (None, False)
    assert "timed out" in attempt.error


def test_more_than_100_invalid_answers_disable_the_webhook_until_subscribed_again(
    emulator_http, receiver
):
    receiver.statuses = [500] * 101
    with KommoEmulator(webhook_retry_delays=(), rate_limit=None) as emu:
        subscribe(emu, emulator_http, receiver.url, "add_lead")
        for n in range(100):
            emu.crm.add_lead(f"Order {n}")
        assert emu.wait_for_deliveries(100)
        assert hooks(emu, emulator_http)[0]["disabled"] is False

        emu.crm.add_lead("Order 100")
        assert emu.wait_for_deliveries(101)
        (hook,) = hooks(emu, emulator_http)
        emu.crm.add_lead("Not delivered")
        assert emu.wait_for_deliveries(None)
        delivered_while_disabled = len(emu.deliveries) - 101

        subscribe(emu, emulator_http, receiver.url, "add_lead")
        emu.crm.add_lead("Delivered again")
        assert emu.wait_for_deliveries(102)

    assert hook["disabled"] is True
    assert [notice["destination"] for notice in emu.webhook_health.admin_notices] == [receiver.url]
    assert delivered_while_disabled == 0
    assert (emu.deliveries[-1].status, receiver.forms()[-1]["leads[add][0][name]"]) == (
        200,
        "Delivered again",
    )


def test_only_invalid_answers_of_the_last_2_hours_count(emulator_http, receiver):
    receiver.statuses = [500] * 7
    with KommoEmulator(webhook_retry_delays=()) as emu:
        emu.webhook_health.limit = 3
        subscribe(emu, emulator_http, receiver.url, "add_lead")
        for n in range(3):
            emu.crm.add_lead(f"Order {n}")
        assert emu.wait_for_deliveries(3)
        emu.clock.advance(2 * 3600)
        emu.crm.add_lead("Order 3")
        assert emu.wait_for_deliveries(4)
        assert hooks(emu, emulator_http)[0]["disabled"] is False

        for n in range(4, 7):
            emu.crm.add_lead(f"Order {n}")
        assert emu.wait_for_deliveries(7)
        assert hooks(emu, emulator_http)[0]["disabled"] is True


def test_a_disabled_webhook_gets_no_more_retries(emulator_http, receiver):
    receiver.statuses = [500, 500]
    with KommoEmulator() as emu:
        emu.webhook_health.limit = 1
        subscribe(emu, emulator_http, receiver.url, "add_lead")
        emu.crm.add_lead("Order 1")
        emu.crm.add_lead("Order 2")
        assert emu.wait_for_deliveries(2)

        emu.clock.advance(4 * 3600)

        assert emu.wait_for_deliveries(None)
    assert [a.attempt for a in emu.deliveries] == [1, 1]
    assert len(receiver.received) == 2
