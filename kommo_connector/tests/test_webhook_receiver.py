import logging
from unittest.mock import patch
from urllib.parse import parse_qsl

from odoo.tests import tagged

from kommo_api import parse_webhook

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

    def test_a_burst_wakes_the_cron_once_and_a_later_delivery_again(self):
        cron = self.env.ref("kommo_connector.ir_cron_kommo_process_webhooks")
        triggers = self.env["ir.cron.trigger"]
        triggers.search([("cron_id", "=", cron.id)]).unlink()
        for lead_id in (601, 602, 603):
            answer = self.post_delivery(self.account.webhook_url, self.delivery(lead_id))
            self.assertEqual(answer.status_code, 200)
        self.assertEqual(len(self.events(self.account)), 3)
        self.assertEqual(triggers.search_count([("cron_id", "=", cron.id)]), 1)
        # The cron consumed it (a run ended): the next delivery wakes it again.
        triggers.search([("cron_id", "=", cron.id)]).unlink()
        self.post_delivery(self.account.webhook_url, self.delivery(604))
        self.assertEqual(triggers.search_count([("cron_id", "=", cron.id)]), 1)

    def test_storing_a_delivery_of_a_burst_costs_three_queries(self):
        """What the receiver asks of the database for each delivery of a burst: the account
        with what it needs of it, the insert, and whether the cron is already woken."""
        events = self.env["kommo.webhook.event"].sudo()
        secret = self.account.webhook_secret
        bodies = [self.delivery(lead_id) for lead_id in (701, 702)]
        first, second = ((parse_webhook(body), body) for body in bodies)
        events._kommo_receive(self._receiving(secret), first[0], first[1], "fp-701")
        self.env.flush_all()
        self.env.invalidate_all()
        with self.assertQueryCount(3):
            account = self._receiving(secret)
            self.assertEqual(account, self.account)
            # What the controller compares with the delivery's account.
            self.assertEqual(account.kommo_account_id, self.emu.account_id)
            self.assertEqual(account.kommo_subdomain, self.account.kommo_subdomain)
            self.assertTrue(events._kommo_receive(account, second[0], second[1], "fp-702"))

    def _receiving(self, secret):
        return self.env["kommo.webhook.event"].sudo()._kommo_account_for_secret(secret)

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

    def unreadable_events(self):
        return self.events(self.account).filtered(lambda event: event.state == "unreadable")

    def test_an_authenticated_delivery_the_parser_does_not_understand_is_kept_and_answered_200(
        self,
    ):
        """Kommo disables a webhook after more than 100 non-2xx answers in 2 hours: a genuine
        delivery in a format we did not expect must not count towards that."""
        garbage = ("hello world", "leads[status][0][id]=abc&account[id]=30000001", "{}")
        for body in garbage:
            with self.subTest(body=body), self.assertLogs(CONTROLLER_LOGGER, "WARNING"):
                answer = self.post_delivery(self.account.webhook_url, body)
                self.assertEqual((answer.status_code, answer.text), (200, "OK"))
        kept = self.unreadable_events()
        # Odoo decoded each form: what is kept is the same form, encoded again.
        self.assertEqual(
            sorted(parse_qsl(body, keep_blank_values=True) for body in kept.mapped("body")),
            sorted(parse_qsl(body, keep_blank_values=True) for body in garbage),
        )
        self.assertIn("must be a whole number", "\n".join(kept.mapped("reason")))
        self.process_webhooks()
        self.assertEqual(set(self.unreadable_events().mapped("state")), {"unreadable"})

    def test_a_delivery_naming_lead_0_or_below_touches_nothing(self):
        order, binding = self.bound_order(self.account)
        deleted = webhook_body(
            binding.kommo_lead_id, action="delete", account_id=self.emu.account_id
        )
        self.post_delivery(self.account.webhook_url, deleted)
        self.process_webhooks()
        self.assertFalse(binding.kommo_lead_id)  # the order whose lead is gone has none
        won = self.stage(self.account, "Novo").pipeline_id.stage_ids.filtered(
            lambda stage: stage.kommo_id == 142
        )
        for lead_id in (0, -1):
            body = webhook_body(lead_id, won, account_id=self.emu.account_id)
            with self.assertLogs(CONTROLLER_LOGGER, "WARNING"):
                self.assertEqual(
                    self.post_delivery(self.account.webhook_url, body).status_code, 200
                )
        self.process_webhooks()
        self.assertEqual(len(self.unreadable_events()), 2)
        self.assertFalse(binding.kommo_status_id)
        self.assertEqual(order.state, "draft")

    def test_a_delivery_of_the_account_renamed_in_kommo_is_taken_by_its_id(self):
        body = self.delivery(subdomain="oficina-nova")
        self.assertEqual(self.post_delivery(self.account.webhook_url, body).status_code, 200)
        self.assertEqual(len(self.events(self.account)), 1)

    def test_an_unreadable_delivery_naming_another_kommo_account_is_forbidden(self):
        body = "leads[status][0][id]=abc&account[id]=99999999"
        with self.assertLogs(CONTROLLER_LOGGER, "WARNING"):
            answer = self.post_delivery(self.account.webhook_url, body)
        self.assertEqual(answer.status_code, 403)
        self.assertFalse(self.events(self.account))

    def test_a_body_that_is_not_a_form_is_kept_as_unreadable(self):
        self.env.flush_all()
        with self.assertLogs(CONTROLLER_LOGGER, "WARNING"):
            answer = self.url_open(
                self.account.webhook_url,
                data=b'{"leads": []}',
                headers={"Content-Type": "application/json"},
            )
        self.assertEqual(answer.status_code, 200)
        self.assertEqual(self.unreadable_events().body, '{"leads": []}')

    def test_an_oversized_body_is_kept_shortened_as_unreadable(self):
        body = self.delivery() + "&leads[status][0][name]=" + "x" * 1_000_001
        with self.assertLogs(CONTROLLER_LOGGER, "WARNING"):
            answer = self.post_delivery(self.account.webhook_url, body)
        self.assertEqual(answer.status_code, 200)
        event = self.unreadable_events()
        self.assertIn("larger than", event.reason)
        self.assertLess(len(event.body), 200_000)

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
