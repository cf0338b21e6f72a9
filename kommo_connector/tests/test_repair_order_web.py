from odoo.tests import HttpCase, tagged

from .common import KommoEmulatorMixin
from .common_push import KommoPushMixin


@tagged("post_install", "-at_install")
class TestSyncKommoFromTheWebClient(KommoPushMixin, KommoEmulatorMixin, HttpCase):
    """The button as the web client presses it: a JSON-RPC call by a logged-in Kommo user."""

    def setUp(self):
        super().setUp()
        self.user = self.kommo_user("oficina")
        self.authenticate("oficina", "oficinax")

    def press_sync_kommo(self, order):
        return self.make_jsonrpc_request(
            "/web/dataset/call_button",
            {
                "model": "repair.order",
                "method": "action_kommo_sync",
                "args": [[order.id]],
                "kwargs": {"context": {"allowed_company_ids": [order.company_id.id]}},
            },
        )

    def test_the_button_answers_a_notification_and_the_lead_exists(self):
        order = self.repair_order(self.customer("Bruno Dias", phone="11 93333-4444"))
        action = self.press_sync_kommo(order)
        self.assertEqual(action["tag"], "display_notification")
        self.assertEqual(action["params"]["type"], "success", action["params"]["message"])
        self.assertEqual(len(self.leads_named(order.name)), 1)

    def test_a_kommo_failure_is_a_notification_not_an_rpc_error(self):
        self.emu.faults.inject("403_html")
        order = self.repair_order(self.customer("Bruno Dias", phone="11 93333-4444"))
        action = self.press_sync_kommo(order)
        self.assertEqual(action["params"]["type"], "warning")
        self.assertIn("blocked", action["params"]["message"])
        self.assertFalse(self.leads_named(order.name))
