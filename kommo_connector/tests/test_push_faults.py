from odoo import fields
from odoo.tests import tagged

from ..tools import push_recovery, push_send
from .common_push import KommoPushCase

COMPLEX = "/api/v4/leads/complex"


@tagged("post_install", "-at_install")
class TestPushFaults(KommoPushCase):
    def setUp(self):
        super().setUp()
        self.mechanic = self.kommo_user("mecanico")
        self.order = self.repair_order(
            self.customer("Lucas Rocha", phone="11 96666-5555"), user_id=self.mechanic.id
        )

    def assert_waits_for_a_retry(self, attempts=1):
        binding = self.binding(self.order)
        self.assertEqual(binding.sync_state, "pending")
        self.assertEqual(binding.attempt_count, attempts)
        self.assertGreater(binding.next_attempt_at, fields.Datetime.now())
        self.assertIn("Kommo could not be reached", binding.last_error)

    def retry(self):
        self.make_due(self.order)
        self.push()

    def assert_one_synced_lead(self):
        binding = self.binding(self.order)
        self.assertEqual(binding.sync_state, "synced", binding.last_error)
        (lead,) = self.leads_named(self.order.name)
        self.assertEqual(binding.kommo_lead_id, lead["id"])
        self.assertFalse(binding.create_sent_at)

    def test_a_server_error_on_creation_is_retried_later_without_a_duplicate(self):
        self.emu.faults.inject("500", method="POST", path=COMPLEX)
        self.push()
        self.assert_waits_for_a_retry()
        self.assertFalse(self.leads_named(self.order.name))
        self.retry()
        self.assert_one_synced_lead()

    def test_a_creation_without_an_answer_is_looked_up_before_it_is_sent_again(self):
        self.emu.faults.inject("timeout", method="POST", path=COMPLEX)
        self.push()
        self.assert_waits_for_a_retry()
        self.assertTrue(self.binding(self.order).create_sent_at, "the outcome is unknown")
        self.emu.clear_log()
        self.retry()
        self.assertEqual(
            [call.query.get("query") for call in self.emu.calls("GET", "/api/v4/leads")],
            [self.order.name],
        )
        self.assert_one_synced_lead()

    def test_a_rate_limited_creation_is_sent_again_after_a_pause(self):
        self.emu.faults.inject("429", method="POST", path=COMPLEX)
        self.push()
        self.assertEqual([call.status for call in self.lead_creations()], [429, 200])
        self.assert_one_synced_lead()

    def test_a_creation_still_rate_limited_after_the_pauses_is_sent_again_later(self):
        self.patch(push_send, "RATE_LIMIT_PAUSES", (0.0, 0.0, 0.0))
        self.emu.faults.inject("429", count=4, method="POST", path=COMPLEX)
        self.push()
        self.assert_waits_for_a_retry()
        self.assertFalse(self.binding(self.order).create_sent_at, "a 429 was not applied")
        self.emu.clear_log()
        self.retry()
        self.assertFalse(self.emu.calls("GET", "/api/v4/leads"), "no lookup needed")
        self.assert_one_synced_lead()

    def test_a_creation_whose_answer_was_lost_is_found_not_duplicated(self):
        self.emu.faults.inject("lost_response", method="POST", path=COMPLEX)
        self.push()
        (created,) = self.leads_named(self.order.name)
        self.assert_waits_for_a_retry()
        self.emu.clear_log()
        self.retry()
        self.assertFalse(self.lead_creations())
        self.assert_one_synced_lead()
        self.assertEqual(self.binding(self.order).kommo_lead_id, created["id"])

    def retry_three_creations_whose_answer_was_lost(self):
        """Three orders sent in one creation whose answer was lost; the push runs again.
        Their leads, as Kommo created them."""
        orders = self.order
        for name, phone in (("Ana Lima", "11 95555-1111"), ("Rui Costa", "11 94444-2222")):
            orders |= self.repair_order(self.customer(name, phone=phone))
        self.emu.faults.inject("lost_response", method="POST", path=COMPLEX)
        self.push()
        created = {order: self.leads_named(order.name) for order in orders}
        self.assertEqual([len(leads) for leads in created.values()], [1, 1, 1])
        self.emu.clear_log()
        self.make_due(orders)
        self.push()
        self.assertFalse(self.lead_creations(), "no lead was created twice")
        for order, (lead,) in created.items():
            binding = self.binding(order)
            self.assertEqual(binding.sync_state, "synced", binding.last_error)
            self.assertEqual(binding.kommo_lead_id, lead["id"])
        return [call.query for call in self.emu.calls("GET", "/api/v4/leads")]

    def test_creations_without_an_answer_are_found_in_one_read_of_the_changed_leads(self):
        (lookup,) = self.retry_three_creations_whose_answer_was_lost()
        self.assertNotIn("query", lookup, "not one search per order")

    def test_when_more_leads_changed_the_others_are_looked_up_order_by_order(self):
        self.patch(push_recovery, "LOOKUP_PAGE_LEADS", 1)  # the read stops after 2 leads
        lookups = self.retry_three_creations_whose_answer_was_lost()
        searched = [lookup["query"] for lookup in lookups if "query" in lookup]
        self.assertEqual(len(lookups), 1 + len(searched))
        self.assertTrue(searched, "the read ended early: some orders were searched")

    def test_updates_failing_beyond_the_clients_retries_wait_for_the_next_push(self):
        self.push()
        self.order.internal_notes = "<p>Correia dentada gasta.</p>"
        self.order.priority = "1"
        self.order._action_repair_confirm()
        self.emu.faults.inject("500", count=4, method="PATCH", path="/api/v4/leads")
        self.push()
        self.assert_waits_for_a_retry()
        self.retry()
        self.assert_one_synced_lead()
        lead = self.lead_of(self.order)
        stage = self.env["kommo.stage.map"]._kommo_stage_for_state(self.account, "confirmed")
        self.assertEqual(lead["status_id"], stage.kommo_id)
        self.assertEqual(self.notes_of(lead["id"]), ["Correia dentada gasta."])

    def test_after_the_last_attempt_the_order_is_in_error_and_its_responsible_told_once(self):
        self.env["ir.config_parameter"].set_param("kommo_connector.push_max_attempts", 2)
        self.emu.faults.inject("500", count=4, method="POST", path=COMPLEX)
        self.push()
        self.retry()
        binding = self.binding(self.order)
        self.assertEqual(binding.sync_state, "error")
        self.assertIn("after 2 attempts", binding.last_error)
        activities = self.order.activity_ids.filtered(
            lambda act: act.summary == "Kommo sync failed"
        )
        self.assertEqual(activities.user_id, self.order.user_id)
        binding.action_kommo_retry()
        self.push()
        self.assertEqual(self.binding(self.order).sync_state, "pending")
        self.retry()
        self.assertEqual(self.binding(self.order).sync_state, "error")
        self.assertEqual(
            len(self.order.activity_ids.filtered(lambda act: act.summary == "Kommo sync failed")),
            1,
        )

    def test_without_a_responsible_on_the_order_the_accounts_responsible_is_told(self):
        self.account.user_id = self.kommo_user("gerente")
        self.order.user_id = False
        self.env["ir.config_parameter"].set_param("kommo_connector.push_max_attempts", 1)
        self.emu.faults.inject("500", method="POST", path=COMPLEX)
        self.push()
        self.assertEqual(self.binding(self.order).sync_state, "error")
        self.assertEqual(self.order.activity_ids.user_id, self.account.user_id)

    def test_a_revoked_connection_pauses_the_push_without_counting_attempts(self):
        self.account.sudo().write({"access_token": "revoked", "refresh_token": "revoked"})
        self.push()
        self.assertEqual(self.account.state, "needs_reconnect")
        binding = self.binding(self.order)
        self.assertEqual(binding.sync_state, "pending")
        self.assertEqual(binding.attempt_count, 0)
        self.assertFalse(binding.claimed_until)
        self.emu.clear_log()
        self.push()
        self.assertFalse(self.emu.log, "a disconnected account is not called")
