"""Kommo ids: "none" is NULL in the database, never 0 (tools/kommo_id.py)."""

import importlib.util
from pathlib import Path

from odoo.tests import tagged

from .common_inbound import KommoInboundCase, webhook_body

MIGRATION = Path(__file__).parents[1] / "migrations" / "1.1.0" / "post-migrate.py"


def run_migration(cr):
    spec = importlib.util.spec_from_file_location("kommo_ids_migration", MIGRATION)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.migrate(cr, "18.0.1.0.0")


@tagged("post_install", "-at_install")
class TestKommoIds(KommoInboundCase):
    def stored(self, binding, column):
        self.env.flush_all()
        self.env.cr.execute(f"SELECT {column} FROM kommo_lead_binding WHERE id = %s", [binding.id])
        return self.env.cr.fetchone()[0]

    def test_a_forgotten_lead_is_null_in_the_database(self):
        account = self.inbound_account()
        _order, binding = self.bound_order(account)
        binding.kommo_lead_id = False
        self.assertIsNone(self.stored(binding, "kommo_lead_id"))
        self.assertFalse(binding.kommo_lead_id)  # an empty cell on screen

    def test_kommo_ids_are_not_summed_in_grouped_lists(self):
        # A grouped list totals the columns that fields_get gives an aggregator (the web client
        # of both series; 18.0's read_group too, which 19.0 deprecates): a count has one, a
        # Kommo id none.
        described = self.env["kommo.lead.binding"].fields_get(
            ["kommo_lead_id", "attempt_count"], ["aggregator"]
        )
        self.assertEqual(described["attempt_count"].get("aggregator"), "sum")
        self.assertFalse(described["kommo_lead_id"].get("aggregator"))

    def test_the_migration_turns_the_zeros_of_older_versions_into_null(self):
        account = self.inbound_account()
        (_order, deleted), (_other, kept) = self.bound_order(account), self.bound_order(account)
        self.env.flush_all()
        self.env.cr.execute(
            "UPDATE kommo_lead_binding SET kommo_lead_id = 0, kommo_status_id = 0 WHERE id = %s",
            [deleted.id],
        )
        run_migration(self.env.cr)
        self.assertIsNone(self.stored(deleted, "kommo_lead_id"))
        self.assertIsNone(self.stored(deleted, "kommo_status_id"))
        self.assertTrue(self.stored(kept, "kommo_lead_id"))
        # The next deleted lead of the account no longer collides with the first one.
        event = self.receive_and_process(account, webhook_body(kept.kommo_lead_id, action="delete"))
        self.assertEqual(event.state, "done")
        self.assertIsNone(self.stored(kept, "kommo_lead_id"))
