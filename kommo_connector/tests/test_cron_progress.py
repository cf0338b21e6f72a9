"""The crons tell Odoo what they did and what is left the same way on 18.0 and 19.0
(tools/compat.py, report_cron_progress), and commit nothing outside a cron run."""

from unittest.mock import patch

from odoo.tests import TransactionCase, tagged

from ..tools.compat import report_cron_progress


@tagged("post_install", "-at_install")
class TestCronProgress(TransactionCase):
    def test_a_cron_run_records_what_was_done_and_what_is_left(self):
        cron = self.env.ref("kommo_connector.ir_cron_kommo_cleanup")
        cron, progress = cron.with_context(cron_id=cron.id)._add_progress()
        # 19.0 commits here, as its runner does right after the cron method returns; the
        # test's transaction stays the test's.
        with patch.object(self.env.cr, "commit"):
            report_cron_progress(cron.env, 7, 3)
        self.assertEqual((progress.done, progress.remaining), (7, 3))

    def test_outside_a_cron_run_nothing_is_recorded_or_committed(self):
        progress_count = self.env["ir.cron.progress"].search_count([])
        with patch.object(self.env.cr, "commit", side_effect=AssertionError("committed")):
            report_cron_progress(self.env, 7, 3)
        self.assertEqual(self.env["ir.cron.progress"].search_count([]), progress_count)
