from datetime import timedelta

from odoo import fields
from odoo.tests import tagged
from odoo.tools import SQL

from odoo.addons.base.models.ir_autovacuum import is_autovacuum

from .common_inbound import KommoInboundCase, webhook_body


@tagged("post_install", "-at_install")
class TestCleanup(KommoInboundCase):
    """The sync log (Odoo's daily autovacuum) and the webhook deliveries (the daily cleanup
    cron) are kept for the account's retention period."""

    def setUp(self):
        super().setUp()
        self.account = self.create_account(retention_days=30)

    def log_row(self, days_old, account=None):
        account = account or self.account
        row = self.env["kommo.sync.log"].create(
            {"account_id": account.id, "operation": f"{days_old} days old"}
        )
        self.env.flush_all()
        self.env.cr.execute(
            SQL(
                "UPDATE kommo_sync_log SET create_date = %s WHERE id = %s",
                fields.Datetime.now() - timedelta(days=days_old),
                row.id,
            )
        )
        row.invalidate_recordset()
        return row

    def webhook(self, days_old, state, lead_id):
        event = self.receive(self.account, webhook_body(lead_id))
        event.write(
            {"state": state, "received_at": fields.Datetime.now() - timedelta(days=days_old)}
        )
        return event

    def cleanup(self, **kwargs):
        """Both clean-ups, as Odoo runs them each day; how many rows they deleted."""
        return self.env["kommo.sync.log"]._gc_kommo_sync_log(**kwargs) + self.env[
            "kommo.webhook.event"
        ]._cron_cleanup(**kwargs)

    def test_sync_log_rows_older_than_the_retention_are_deleted(self):
        old, recent = self.log_row(31), self.log_row(29)
        self.env["kommo.sync.log"]._gc_kommo_sync_log()
        self.assertFalse(old.exists())
        self.assertTrue(recent.exists())

    def test_old_webhooks_are_deleted_once_applied_or_ignored(self):
        old_done, old_ignored = self.webhook(31, "done", 1), self.webhook(31, "ignored", 2)
        old_pending, old_failed = self.webhook(31, "pending", 3), self.webhook(31, "failed", 4)
        recent_done = self.webhook(29, "done", 5)
        self.env["kommo.webhook.event"]._cron_cleanup()
        self.assertFalse((old_done | old_ignored).exists())
        self.assertEqual(
            (old_pending | old_failed | recent_done).exists(),
            old_pending | old_failed | recent_done,
            "what still needs attention, and what is recent, is kept",
        )

    def test_the_daily_cron_deletes_old_deliveries(self):
        old = self.webhook(31, "done", 7)
        self.env.ref("kommo_connector.ir_cron_kommo_cleanup").method_direct_trigger()
        self.assertFalse(old.exists())

    def test_the_sync_log_is_cleaned_by_odoos_autovacuum(self):
        log_model = type(self.env["kommo.sync.log"])
        self.assertTrue(is_autovacuum(log_model._gc_kommo_sync_log))

    def test_rows_go_in_batches_until_none_is_left(self):
        rows = [self.log_row(40) for _n in range(5)]
        self.assertEqual(self.cleanup(batch_size=2), 5)
        self.assertFalse(any(row.exists() for row in rows))

    def test_a_retention_of_zero_keeps_everything(self):
        self.account.retention_days = 0
        row, event = self.log_row(4000), self.webhook(4000, "done", 6)
        self.cleanup()
        self.assertTrue(row.exists() and event.exists())

    def test_each_account_keeps_rows_for_its_own_retention(self):
        other_company = self.env["res.company"].create({"name": "Other workshop"})
        other = self.create_account(retention_days=60, company_id=other_company.id)
        ours, theirs = self.log_row(45), self.log_row(45, account=other)
        self.cleanup()
        self.assertFalse(ours.exists())
        self.assertTrue(theirs.exists())
