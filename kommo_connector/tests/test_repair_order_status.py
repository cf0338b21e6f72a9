"""The order's Kommo state where people work: stored, filtered, flagged when Kommo is ahead."""

from odoo.tests import new_test_user, tagged

from ..tools.compat import GROUPS_FIELD
from .common_inbound import KommoInboundCase, webhook_body


@tagged("post_install", "-at_install")
class TestKommoAhead(KommoInboundCase):
    """Kommo moved a lead, Odoo refused the repair order's move: a person decides."""

    def refused_move(self):
        account = self.inbound_account(moves_orders=True)
        # A stocked product without stock: Odoo asks a person before confirming.
        order, binding = self.bound_order(account, storable=True)
        self.receive_and_process(
            account, webhook_body(binding.kommo_lead_id, self.stage(account, "Diagnóstico"))
        )
        return account, order, binding

    def ahead_activities(self, order):
        return order.activity_ids.filtered(lambda act: act.summary == "Kommo is ahead of Odoo")

    def test_a_refused_move_flags_the_order_and_asks_its_responsible_once(self):
        _account, order, binding = self.refused_move()
        self.assertEqual(order.kommo_sync_state, "kommo_ahead")
        self.assertIn("Insufficient Quantity", order.kommo_last_error)
        self.assertRegex(
            order.kommo_ahead_message,
            r"^Kommo moved the lead to Diagnóstico, but Odoo could not move the repair order "
            r"there \(.*Insufficient Quantity.*\)\. Fix the cause and retry",
        )
        self.assertEqual(len(self.ahead_activities(order)), 1)
        self.assertEqual(
            self.env["repair.order"].search([("kommo_sync_state", "=", "kommo_ahead")]), order
        )
        # Kommo says it again (the reconciliation, another webhook): still one activity.
        binding.kommo_status_id = self.stage(binding.account_id, "Novo").kommo_id
        self.receive_and_process(
            binding.account_id,
            webhook_body(binding.kommo_lead_id, self.stage(binding.account_id, "Diagnóstico")),
        )
        self.assertEqual(len(self.ahead_activities(order)), 1)

    def test_retry_follows_kommo_once_the_cause_is_fixed(self):
        _account, order, _binding = self.refused_move()
        self.env["stock.quant"]._update_available_quantity(order.product_id, order.location_id, 1)
        notice = order.action_kommo_retry()
        self.assertEqual(notice["params"]["type"], "success")
        self.assertEqual(order.state, "confirmed")
        self.assertEqual(order.kommo_sync_state, "pending", "the lead's state field follows")

    def test_retry_before_the_cause_is_fixed_says_why(self):
        _account, order, _binding = self.refused_move()
        notice = order.action_kommo_retry()
        self.assertEqual(notice["params"]["type"], "warning")
        self.assertIn("Insufficient Quantity", notice["params"]["message"])
        self.assertEqual(order.kommo_sync_state, "kommo_ahead")

    def test_a_person_changing_the_state_settles_it(self):
        _account, order, _binding = self.refused_move()
        order.action_repair_cancel()
        self.assertEqual(order.kommo_sync_state, "pending", "Odoo's state goes to Kommo")


@tagged("post_install", "-at_install")
class TestKommoStateInLists(KommoInboundCase):
    def test_the_state_is_stored_for_filters_and_grouping(self):
        account = self.inbound_account()
        _synced, binding = self.bound_order(account)
        pending = self.new_order()
        groups = dict(
            self.env["repair.order"]._read_group(
                [("id", "in", (binding.repair_id | pending).ids)], ["kommo_sync_state"], ["__count"]
            )
        )
        self.assertEqual(groups, {"synced": 1, "pending": 1})

    def test_an_order_of_a_company_without_kommo_is_not_in_kommo(self):
        order = self.new_order()
        self.assertEqual(order.kommo_sync_state, "not_synced")

    def test_the_list_and_form_action_menus_offer_sync_with_kommo(self):
        action = self.env.ref("kommo_connector.action_server_repair_order_kommo_sync")
        self.assertEqual(action.binding_model_id.model, "repair.order")
        self.assertEqual(action.binding_view_types, "list,form")
        self.assertIn(self.env.ref("kommo_connector.group_kommo_user"), action[GROUPS_FIELD])

    def test_sync_with_kommo_from_the_list_sends_the_selected_orders(self):
        self.inbound_account()
        orders = self.new_order() | self.new_order()
        action = self.env.ref("kommo_connector.action_server_repair_order_kommo_sync")
        notice = action.with_context(
            active_model="repair.order", active_ids=orders.ids, active_id=orders[0].id
        ).run()
        self.assertEqual(
            notice["params"]["message"], "2 of 2 repair orders are in Kommo; 0 failed."
        )
        self.assertEqual(set(orders.mapped("kommo_sync_state")), {"synced"})

    def test_repair_technicians_are_kommo_users_out_of_the_box(self):
        technician = new_test_user(self.env, login="tech", groups="stock.group_stock_user")
        self.assertTrue(technician.has_group("kommo_connector.group_kommo_user"))
        settings = self.env["res.config.settings"].create({})
        self.assertTrue(settings.group_kommo_user_for_repairs)
