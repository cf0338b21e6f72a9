"""Kommo's duplicate control merging a new lead into an existing open one (``merged: true`` in
the complex create's answer): a lead follows one repair order, never two."""

from odoo.tests import tagged

from .common_push import KommoPushCase


@tagged("post_install", "-at_install")
class TestDuplicateControl(KommoPushCase):
    def setUp(self):
        super().setUp()
        self.emu.duplicate_control = True

    def demo_lead(self, name):
        (lead,) = [lead for lead in self.emu.store.leads.values() if lead["name"] == name]
        return lead

    def test_an_order_merged_into_another_orders_lead_is_stopped_for_a_person(self):
        partner = self.customer("Frota Express", phone="(21) 98888-7777")
        first = self.repair_order(partner)
        self.push()
        lead_id = self.binding(first).kommo_lead_id
        second = self.repair_order(partner)
        leads_before = len(self.emu.store.leads)

        self.push()

        binding = self.binding(second)
        self.assertEqual(binding.sync_state, "error")
        self.assertFalse(binding.kommo_lead_id)
        self.assertIn(f"lead {lead_id}", binding.last_error)
        self.assertIn(first.name, binding.last_error)
        self.assertEqual(self.binding(first).kommo_lead_id, lead_id, "the first keeps its lead")
        self.assertEqual(len(self.emu.store.leads), leads_before, "Kommo created no lead")
        self.assertEqual(second.kommo_sync_state, "error", "the order's banner shows it")
        (log,) = self.logs(self.account, operation="lead_merged")
        self.assertEqual(
            (log.outcome, log.res_id, log.kommo_id), ("error", second.id, str(lead_id))
        )
        self.assertEqual(log.error_message, binding.last_error)
        self.assertTrue(second.activity_ids, "a person is asked to decide")

    def test_of_two_orders_merged_into_a_lead_no_order_has_one_takes_it(self):
        # Maria Silva already has an open lead in Kommo, made by a person ("Troca de óleo").
        kept = self.demo_lead("Troca de óleo")
        partner = self.customer("Maria S.", phone="11 98765-4321")
        first, second = self.repair_order(partner), self.repair_order(partner)

        self.push()

        taken = self.binding(first)
        self.assertEqual(taken.kommo_lead_id, kept["id"])
        self.assertEqual(taken.sync_state, "synced", taken.last_error)
        self.assertTrue(kept["name"].startswith(first.name), "the lead got the order's data")
        self.assertTrue(
            [body for body in first.message_ids.mapped("body") if "duplicate control" in body]
        )
        refused = self.binding(second)
        self.assertEqual(refused.sync_state, "error")
        self.assertFalse(refused.kommo_lead_id)
        self.assertIn(first.name, refused.last_error)

    def test_a_new_customer_merged_into_a_persons_lead_gets_that_leads_contact(self):
        kept = self.demo_lead("Revisão de freios")  # João Pereira's, made by a person
        (joao,) = self.emu.store.lead_contacts[kept["id"]]
        self.account.kommo_contact_count = 50_000  # searched, and not found by the search:
        self.emu.phone_search = "exact"  # his phone is stored as "11 91234-5678"
        contacts_before = len(self.emu.store.contacts)
        order = self.repair_order(self.customer("João P.", phone="(11) 91234-5678"))

        self.push()

        binding = self.binding(order)
        self.assertEqual(binding.sync_state, "synced", binding.last_error)
        self.assertEqual(binding.kommo_lead_id, kept["id"])
        self.assertEqual(self.emu.store.lead_contacts[kept["id"]], [joao])
        self.assertEqual(order.partner_id.sudo().kommo_contact_binding_ids.kommo_contact_id, joao)
        self.assertEqual(len(self.emu.store.contacts), contacts_before, "no duplicate contact")

    def test_without_duplicate_control_every_order_gets_its_own_lead(self):
        self.emu.duplicate_control = False
        partner = self.customer("Maria S.", phone="11 98765-4321")
        orders = self.repair_order(partner) | self.repair_order(partner)
        self.push()
        self.assertEqual(set(self.binding_records(orders).mapped("sync_state")), {"synced"})
        self.assertEqual(len(set(self.binding_records(orders).mapped("kommo_lead_id"))), 2)
