from datetime import timedelta

from odoo import fields
from odoo.tests import tagged

from ..models.kommo_inbound import RECONCILE_OVERLAP
from ..tools.datetimes import unix_time
from .common import KommoCommittedCase
from .common_inbound import KommoInboundCase


@tagged("post_install", "-at_install")
class TestReconcile(KommoInboundCase):
    """The reconciliation cron reads the leads changed in Kommo since its last poll."""

    def reconcile(self):
        self.env["kommo.inbound"]._cron_reconcile()

    def lead_reads(self):
        return self.emu.calls("GET", "/api/v4/leads")

    def test_reconciliation_heals_a_missed_webhook(self):
        account = self.inbound_account(moves_orders=True)
        order, binding = self.bound_order(account)
        # No webhook is subscribed: Kommo does not tell Odoo about this move.
        self.emu.crm.move_lead(binding.kommo_lead_id, self.stage(account, "Diagnóstico").kommo_id)
        self.reconcile()
        self.assertEqual(binding.kommo_stage_id.name, "Diagnóstico")
        self.assertEqual(order.state, "confirmed")
        self.assertIn("Diagnóstico", self.kommo_notes(order)[-1])
        self.assertEqual(self.inbound_logs(account).operation, "reconcile_stage")

    def test_the_reconciliation_cron_polls_connected_accounts(self):
        account = self.inbound_account()
        self.env.ref("kommo_connector.ir_cron_kommo_reconcile_leads").method_direct_trigger()
        self.assertTrue(account.kommo_leads_polled_at)

    def test_reconciliation_reads_from_the_last_poll_minus_an_overlap(self):
        account = self.inbound_account()
        last_poll = fields.Datetime.now() - timedelta(hours=2)
        account.kommo_leads_polled_at = last_poll
        self.emu.clear_log()
        started = fields.Datetime.now()
        self.reconcile()
        (read,) = self.lead_reads()
        self.assertEqual(
            read.query["filter[updated_at][from]"], str(unix_time(last_poll - RECONCILE_OVERLAP))
        )
        self.assertGreaterEqual(account.kommo_leads_polled_at, started)

    def test_leads_odoo_already_knows_change_nothing(self):
        account = self.inbound_account(moves_orders=True)
        order, binding = self.bound_order(account, "Diagnóstico")
        notes = self.kommo_notes(order)
        self.reconcile()
        self.assertEqual(self.kommo_notes(order), notes)
        self.assertEqual((order.state, binding.kommo_stage_id.name), ("draft", "Diagnóstico"))
        self.assertFalse(self.inbound_logs(account))

    def test_leads_of_other_orders_and_unlinked_leads_are_left_alone(self):
        account = self.inbound_account()
        _order, binding = self.bound_order(account)
        _other_order, other_binding = self.bound_order(account)
        self.emu.add_lead("Walk-in", status_id=self.stage(account, "Em reparo").kommo_id)
        self.emu.crm.move_lead(binding.kommo_lead_id, self.stage(account, "Em reparo").kommo_id)
        self.reconcile()
        self.assertEqual(binding.kommo_stage_id.name, "Em reparo")
        self.assertEqual(other_binding.kommo_stage_id.name, "Novo")
        self.assertEqual(len(self.inbound_logs(account)), 1)

    def test_a_failed_poll_keeps_the_mark_for_the_next_run(self):
        account = self.inbound_account()
        last_poll = fields.Datetime.now() - timedelta(hours=2)
        account.kommo_leads_polled_at = last_poll
        self.emu.faults.inject("402", path="/api/v4/leads")
        with self.assertLogs("odoo.addons.kommo_connector.models.kommo_inbound", "WARNING"):
            self.reconcile()
        self.assertEqual(account.kommo_leads_polled_at, last_poll)
        self.assertEqual(self.logs(account, operation="reconcile").outcome, "error")

    def test_an_account_that_is_not_connected_is_not_polled(self):
        account = self.inbound_account()
        account.state = "needs_reconnect"
        self.emu.clear_log()
        self.reconcile()
        self.assertFalse(self.lead_reads())
        self.assertFalse(account.kommo_leads_polled_at)


@tagged("post_install", "-at_install")
class TestReconcileAcrossWorkers(KommoCommittedCase):
    def test_a_token_renewed_during_the_poll_does_not_lose_the_mark(self):
        expired = fields.Datetime.now() - timedelta(hours=1)
        account_id = self.committed_account(token_expires_at=expired)
        self.in_worker(
            account_id, lambda account: account.env["kommo.inbound"]._reconcile_account(account)
        )
        self.assertEqual(len(self.token_calls("refresh_token")), 1)
        polled_at = self.in_worker(account_id, lambda account: account.kommo_leads_polled_at)
        self.assertTrue(polled_at)
