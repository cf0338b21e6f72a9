import logging
from unittest.mock import patch

from odoo.tests import tagged

from .common_inbound import KommoWebhookHttpCase, webhook_body

CONTROLLER_LOGGER = "odoo.addons.kommo_connector.controllers.webhook"


@tagged("post_install", "-at_install")
class TestWebhookReceiver(KommoWebhookHttpCase):
    """POST /kommo/webhook/<secret>: who may deliver, what is stored, what is answered."""

    def setUp(self):
        super().setUp()
        self.account = self.inbound_account()
        self.novo = self.stage(self.account, "Novo")

    def delivery(self, lead_id=501, **kwargs):
        return webhook_body(lead_id, self.novo, account_id=self.emu.account_id, **kwargs)

    def test_a_delivery_is_stored_raw_and_answered_at_once(self):
        body = self.delivery()
        answer = self.post_delivery(self.account.webhook_url, body)
        self.assertEqual(answer.status_code, 200)
        event = self.events(self.account)
        self.assertEqual(
            (event.state, event.summary, event.event_count), ("pending", "status_lead #501", 1)
        )
        self.assertEqual(event.body, body)
        self.assertEqual(event.remote_addr, "127.0.0.1")
        cron = self.env.ref("kommo_connector.ir_cron_kommo_process_webhooks")
        self.assertTrue(
            self.env["ir.cron.trigger"].search([("cron_id", "=", cron.id)]),
            "processing is triggered at once",
        )

    def test_the_same_delivery_twice_is_stored_once(self):
        body = self.delivery()
        # The same pairs in another order and encoding: still the same delivery.
        reordered = "&".join(reversed(body.split("&"))).replace("%5B", "[").replace("%5D", "]")
        for payload in (body, body, reordered):
            self.assertEqual(self.post_delivery(self.account.webhook_url, payload).status_code, 200)
        self.assertEqual(len(self.events(self.account)), 1)

    def test_the_access_log_hides_the_secret(self):
        with self.assertLogs("werkzeug", logging.INFO) as logs:
            self.post_delivery(self.account.webhook_url, self.delivery())
        access_log = "\n".join(logs.output)
        self.assertIn("POST /kommo/webhook/*** ", access_log)
        self.assertNotIn(self.account.webhook_secret, access_log)

    def test_a_wrong_secret_is_forbidden(self):
        url = f"{self.base_url()}/kommo/webhook/not-the-secret"
        with self.assertLogs(CONTROLLER_LOGGER, "WARNING") as logs:
            answer = self.post_delivery(url, self.delivery())
        self.assertEqual(answer.status_code, 403)
        self.assertFalse(self.events(self.account))
        self.assertNotIn("not-the-secret", "\n".join(logs.output))

    def test_a_delivery_for_another_kommo_account_is_forbidden(self):
        body = webhook_body(501, self.novo, account_id=self.emu.account_id + 1)
        with self.assertLogs(CONTROLLER_LOGGER, "WARNING"):
            answer = self.post_delivery(self.account.webhook_url, body)
        self.assertEqual(answer.status_code, 403)
        self.assertFalse(self.events(self.account))

    def test_garbage_is_a_bad_request(self):
        for garbage in ("hello world", "leads[status][0][id]=abc&account[id]=30000001", "{}"):
            with self.subTest(garbage=garbage), self.assertLogs(CONTROLLER_LOGGER, "WARNING"):
                answer = self.post_delivery(self.account.webhook_url, garbage)
                self.assertEqual(
                    (answer.status_code, answer.text), (400, "Not a Kommo webhook delivery")
                )
        self.assertFalse(self.events(self.account))

    def test_a_body_that_is_not_a_form_is_a_bad_request(self):
        self.env.flush_all()
        with self.assertLogs(CONTROLLER_LOGGER, "WARNING"):
            answer = self.url_open(
                self.account.webhook_url,
                data=b'{"leads": []}',
                headers={"Content-Type": "application/json"},
            )
        self.assertEqual(answer.status_code, 400)

    def test_an_oversized_body_is_a_bad_request(self):
        body = self.delivery() + "&leads[status][0][name]=" + "x" * 1_000_001
        with self.assertLogs(CONTROLLER_LOGGER, "WARNING") as logs:
            answer = self.post_delivery(self.account.webhook_url, body)
        self.assertEqual(answer.status_code, 400)
        self.assertIn("larger than", "\n".join(logs.output))
        self.assertFalse(self.events(self.account))

    def test_an_archived_account_receives_nothing(self):
        url = self.account.webhook_url
        self.account.active = False
        with self.assertLogs(CONTROLLER_LOGGER, "WARNING"):
            self.assertEqual(self.post_delivery(url, self.delivery()).status_code, 403)

    def test_a_failure_to_store_answers_503_for_a_retry_never_500(self):
        events = type(self.env["kommo.webhook.event"])
        with (
            patch.object(events, "_kommo_store", side_effect=RuntimeError("database gone")),
            self.assertLogs(CONTROLLER_LOGGER, "ERROR"),
        ):
            answer = self.post_delivery(self.account.webhook_url, self.delivery())
        self.assertEqual(answer.status_code, 503)
        self.assertNotIn("database gone", answer.text)
