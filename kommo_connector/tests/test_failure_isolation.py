from datetime import timedelta
from unittest.mock import patch

from odoo import fields
from odoo.tests import tagged

from ..tools.push_run import PushRun
from .common_inbound import KommoInboundCase, webhook_body

INBOUND_LOGGER = "odoo.addons.kommo_connector.models.kommo_inbound"
EVENT_LOGGER = "odoo.addons.kommo_connector.models.kommo_webhook_event"
MARKUP_ERROR = "<b>x</b> & y"


@tagged("post_install", "-at_install")
class TestReconcileSurvivesFailures(KommoInboundCase):
    """A lead or an account that cannot be reconciled leaves the others to be applied."""

    def setUp(self):
        super().setUp()
        self.inbound = self.env["kommo.inbound"]
        self.original_apply = type(self.inbound)._apply_lead_state

    def move_in_kommo(self, account, binding, stage_name):
        self.emu.crm.move_lead(binding.kommo_lead_id, self.stage(account, stage_name).kommo_id)

    def test_a_lead_that_cannot_be_applied_does_not_stop_the_others(self):
        account = self.inbound_account()
        _broken_order, broken = self.bound_order(account)
        _order, healthy = self.bound_order(account)
        self.move_in_kommo(account, broken, "Em reparo")
        self.move_in_kommo(account, healthy, "Em reparo")

        def apply_or_fail(binding, *args):
            if binding.kommo_lead_id == broken.kommo_lead_id:
                raise RuntimeError("lead exploded")
            return self.original_apply(self.inbound, binding, *args)

        with (
            patch.object(type(self.inbound), "_apply_lead_state", side_effect=apply_or_fail),
            self.assertLogs(INBOUND_LOGGER, "WARNING"),
        ):
            self.inbound._cron_reconcile()
        self.assertEqual(healthy.kommo_stage_id.name, "Em reparo")
        self.assertEqual(broken.kommo_stage_id.name, "Novo")
        failed = self.inbound_logs(account).filtered(lambda log: log.outcome == "error")
        self.assertEqual(failed.kommo_id, str(broken.kommo_lead_id))
        self.assertIn("lead exploded", failed.error_message)
        self.assertTrue(account.kommo_leads_polled_at)

    def test_an_account_that_breaks_does_not_starve_the_others(self):
        other_company = self.env["res.company"].create({"name": "Oficina Filial"})
        broken_account = self.inbound_account(company_id=other_company.id)
        account = self.inbound_account()
        _order, binding = self.bound_order(account)
        self.move_in_kommo(account, binding, "Em reparo")
        original_reconcile = type(self.inbound)._reconcile_account

        def reconcile_or_fail(reconciled):
            if reconciled == broken_account:
                raise RuntimeError("account exploded")
            return original_reconcile(self.inbound, reconciled)

        with (
            patch.object(type(self.inbound), "_reconcile_account", side_effect=reconcile_or_fail),
            self.assertLogs(INBOUND_LOGGER, "ERROR"),
        ):
            self.inbound._cron_reconcile()
        self.assertEqual(binding.kommo_stage_id.name, "Em reparo")
        self.assertTrue(account.kommo_leads_polled_at)
        self.assertFalse(broken_account.kommo_leads_polled_at)
        failure = self.logs(broken_account, operation="reconcile")
        self.assertEqual(failure.outcome, "error")
        self.assertIn("account exploded", failure.error_message)


@tagged("post_install", "-at_install")
class TestWebhookRetryDelay(KommoInboundCase):
    """A failed delivery waits longer after each attempt before the cron tries it again."""

    def failing_event(self):
        account = self.inbound_account()
        _order, binding = self.bound_order(account)
        event = self.receive(
            account, webhook_body(binding.kommo_lead_id, self.stage(account, "Em reparo"))
        )
        return event, binding

    def process_failing(self):
        with (
            patch.object(
                type(self.env["kommo.inbound"]),
                "_apply_lead_state",
                side_effect=RuntimeError("boom"),
            ),
            self.assertLogs(EVENT_LOGGER, "WARNING"),
        ):
            self.env["kommo.webhook.event"]._cron_process_events()

    def test_a_failed_event_is_not_retried_by_the_next_run_before_its_delay(self):
        event, binding = self.failing_event()
        self.process_failing()
        self.assertEqual((event.state, event.attempts), ("pending", 1))
        self.assertGreater(event.next_attempt_at, fields.Datetime.now() + timedelta(minutes=1))
        self.env["kommo.webhook.event"]._cron_process_events()
        self.assertEqual((event.state, event.attempts), ("pending", 1))
        self.assertEqual(binding.kommo_stage_id.name, "Novo")

    def test_a_failed_event_is_retried_once_its_delay_has_passed(self):
        event, binding = self.failing_event()
        self.process_failing()
        event.next_attempt_at = fields.Datetime.now() - timedelta(minutes=1)
        self.env["kommo.webhook.event"]._cron_process_events()
        self.assertEqual((event.state, event.attempts), ("done", 2))
        self.assertFalse(event.next_attempt_at)
        self.assertEqual(binding.kommo_stage_id.name, "Em reparo")

    def test_the_delay_grows_with_each_failed_attempt(self):
        event, _binding = self.failing_event()
        self.process_failing()
        first_delay = event.next_attempt_at - event.processed_at
        event.next_attempt_at = fields.Datetime.now() - timedelta(minutes=1)
        self.process_failing()
        self.assertEqual(event.attempts, 2)
        self.assertGreater(event.next_attempt_at - event.processed_at, first_delay)

    def test_process_again_clears_the_delay(self):
        event, binding = self.failing_event()
        self.process_failing()
        event.action_process_again()
        self.assertEqual(event.state, "done")
        self.assertFalse(event.next_attempt_at)
        self.assertEqual(binding.kommo_stage_id.name, "Em reparo")


@tagged("post_install", "-at_install")
class TestActivityNotesAreEscaped(KommoInboundCase):
    """Kommo's words reach activity notes as text, never as markup."""

    def assert_escaped(self, activity):
        self.assertEqual(len(activity), 1)
        self.assertIn("&lt;b&gt;x&lt;/b&gt; &amp; y", activity.note)
        self.assertNotIn("<b>", activity.note)

    def test_a_sync_failure_activity_shows_the_error_as_text(self):
        account = self.inbound_account()
        order, binding = self.bound_order(account)
        PushRun(self.env, account, options=None)._tell_responsible(binding, MARKUP_ERROR)
        self.assert_escaped(
            order.activity_ids.filtered(lambda act: act.summary == "Kommo sync failed")
        )

    def test_a_reconnection_activity_shows_the_error_as_text(self):
        account = self.inbound_account(user_id=self.env.ref("base.user_admin").id)
        account._kommo_ask_for_reconnection(MARKUP_ERROR)
        self.assert_escaped(
            account.activity_ids.filtered(lambda act: act.summary == "Reconnect Kommo")
        )
