from odoo.tests import tagged

from .common_inbound import KommoWebhookHttpCase, odoo_time


@tagged("post_install", "-at_install")
class TestWebhookFlow(KommoWebhookHttpCase):
    """A salesperson works in Kommo; Kommo's webhooks reach Odoo over HTTP; the processing
    cron applies them to the repair orders."""

    def kommo_does(self, change, *args, **kwargs):
        """Run a change in Kommo and wait for its webhooks; the new delivery attempts."""
        self.env.flush_all()
        before = len(self.emu.deliveries)
        change(*args, **kwargs)
        return self.wait_for_kommo()[before:]

    def test_moving_the_lead_in_kommo_updates_the_order(self):
        account = self.subscribed_account()
        order, binding = self.bound_order(account)
        diagnostico = self.stage(account, "Diagnóstico")
        deliveries = self.kommo_does(
            self.emu.crm.move_lead, binding.kommo_lead_id, diagnostico.kommo_id
        )
        self.assertEqual(
            [(delivery.event, delivery.status) for delivery in deliveries],
            [("status_lead", 200), ("update_lead", 200)],
        )
        self.process_webhooks()
        self.assertEqual(binding.kommo_stage_id, diagnostico)
        self.assertIn("Diagnóstico", self.kommo_notes(order)[-1])
        self.assertEqual(order.state, "draft", "the option to move orders is off")
        self.assertEqual(self.events(account).mapped("state"), ["done", "ignored"])

    def test_moving_the_lead_in_kommo_confirms_the_order_when_allowed(self):
        account = self.subscribed_account(moves_orders=True)
        order, binding = self.bound_order(account)
        em_reparo = self.stage(account, "Em reparo")
        self.kommo_does(self.emu.crm.move_lead, binding.kommo_lead_id, em_reparo.kommo_id)
        self.process_webhooks()
        self.assertEqual(order.state, "under_repair")
        self.assertIn("from New to Under Repair", self.kommo_notes(order)[-1])

    def test_a_delivery_received_twice_is_applied_once(self):
        account = self.subscribed_account(moves_orders=True)
        order, binding = self.bound_order(account)
        diagnostico = self.stage(account, "Diagnóstico")
        status_lead, _update = self.kommo_does(
            self.emu.crm.move_lead, binding.kommo_lead_id, diagnostico.kommo_id
        )
        # Kommo sends it again (it believed the first answer was lost).
        again = self.post_delivery(status_lead.destination, status_lead.body)
        self.assertEqual(again.status_code, 200)
        self.process_webhooks()
        self.assertEqual(len(self.events(account)), 2)
        moves = [note for note in self.kommo_notes(order) if "Diagnóstico" in note]
        self.assertEqual(len(moves), 1)
        self.assertEqual(order.state, "confirmed")

    def test_the_echo_of_our_own_push_is_ignored(self):
        account = self.subscribed_account(moves_orders=True)
        order, binding = self.bound_order(account)
        em_reparo = self.stage(account, "Em reparo")
        notes = self.kommo_notes(order)

        lead = {"id": binding.kommo_lead_id, "status_id": em_reparo.kommo_id}
        answers = []
        # What the push engine does: update the lead, then record what Kommo answered.
        deliveries = self.kommo_does(
            lambda: answers.extend(account._kommo_client().update_leads([lead]))
        )
        binding.write(
            {
                "kommo_status_id": em_reparo.kommo_id,
                "kommo_updated_at": odoo_time(answers[0]["updated_at"]),
            }
        )
        self.assertEqual(len(deliveries), 2, "Kommo reports API changes too")
        self.process_webhooks()
        events = self.events(account)
        self.assertEqual(events.mapped("state"), ["ignored", "ignored"])
        self.assertIn("already on this stage", events[0].reason)
        self.assertEqual(self.kommo_notes(order), notes)
        self.assertEqual(order.state, "draft")

    def test_a_lead_not_linked_to_an_order_is_ignored_with_the_reason(self):
        account = self.subscribed_account()
        novo, diagnostico = self.stage(account, "Novo"), self.stage(account, "Diagnóstico")
        lead = self.emu.add_lead("Walk-in", pipeline_id=novo.pipeline_id.kommo_id)
        self.kommo_does(self.emu.crm.move_lead, lead["id"], diagnostico.kommo_id)
        self.process_webhooks()
        events = self.events(account)
        self.assertEqual(events.mapped("state"), ["ignored", "ignored"])
        self.assertEqual(events[0].reason, f"Lead {lead['id']} is not linked to a repair order.")

    def test_a_lead_deleted_in_kommo_is_forgotten_by_its_order(self):
        account = self.subscribed_account()
        order, binding = self.bound_order(account)
        lead_id = binding.kommo_lead_id
        self.kommo_does(self.emu.crm.delete_lead, lead_id)
        self.process_webhooks()
        self.assertFalse(binding.kommo_lead_id)
        self.assertIn(f"lead {lead_id} was deleted in Kommo", self.kommo_notes(order)[-1])
