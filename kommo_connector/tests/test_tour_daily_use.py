"""The shop's daily use in a browser (kommo_daily_use_tour.js): the initial sync wizard from
the account, the bulk sync from the repair list, the failed-sync banner and its Retry."""

from odoo.tests import HttpCase, tagged

from .common import KommoEmulatorMixin
from .common_push import KommoPushMixin

REPAIR_ORDERS = "/odoo/action-repair.action_repair_order_tree"


@tagged("post_install", "-at_install")
class TestDailyUseTour(KommoPushMixin, KommoEmulatorMixin, HttpCase):
    def orders_before_kommo(self):
        """Three open orders from before the shop connected Kommo (no binding): two of Maria,
        whom Kommo has by phone, one of a customer new to Kommo."""
        maria = self.customer("Maria S.", phone="11 98765-4321")
        orders = (
            self.repair_order(maria)
            | self.repair_order(maria)
            | self.repair_order(self.customer("Cliente Novo", phone="11 91234-0000"))
        )
        self.binding_records(orders).unlink()
        return orders

    def test_the_initial_sync_wizard(self):
        self.account.kommo_account_name = "Oficina Demo"  # as a connection reads it
        orders = self.orders_before_kommo()
        self.emu.clear_log()
        self.start_tour(
            f"/odoo/action-kommo_connector.action_kommo_account/{self.account.id}",
            "kommo_connector_initial_sync",
            login="admin",
        )
        self.assertEqual(self.writes_to_kommo(), [], "nothing written to Kommo by the browser")
        bindings = self.binding_records(orders)
        self.assertEqual(bindings.mapped("sync_state"), ["pending"] * 3)
        self.push()  # the cron Start woke
        self.assertEqual(bindings.mapped("sync_state"), ["synced"] * 3)
        self.assertEqual(len(self.lead_creations()), 1)

    def test_the_bulk_sync_from_the_repair_list(self):
        orders = self.orders_before_kommo()
        self.start_tour(REPAIR_ORDERS, "kommo_connector_bulk_sync", login="admin")
        for order in orders:
            self.assertEqual(len(self.leads_named(order.name)), 1, order.name)
            self.assertEqual(order.kommo_sync_state, "synced")

    def test_the_failed_sync_banner_and_its_retry(self):
        order = self.repair_order(self.customer("Bruno Dias", phone="11 93333-4444"))
        self.binding(order).write(
            {
                "sync_state": "error",
                "attempt_count": 3,
                "last_error": "Kommo refused the lead: Plate: the value is too long.",
            }
        )
        self.start_tour(
            f"{REPAIR_ORDERS}/{order.id}", "kommo_connector_failed_banner", login="admin"
        )
        self.assertEqual(len(self.leads_named(order.name)), 1)
        self.assertEqual(self.binding(order).sync_state, "synced")
