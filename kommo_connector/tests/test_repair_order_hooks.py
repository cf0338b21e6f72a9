from odoo.tests import tagged

from .common_push import KommoPushCase


@tagged("post_install", "-at_install")
class TestRepairOrderMarksPending(KommoPushCase):
    def setUp(self):
        super().setUp()
        self.order = self.repair_order(self.customer("Rita Gomes", phone="11 95555-1212"))
        self.push()
        self.assertEqual(self.binding(self.order).sync_state, "synced")
        self.emu.clear_log()

    def push_triggers(self):
        return self.env["ir.cron.trigger"].search_count([("cron_id", "=", self.push_cron.id)])

    def test_a_new_order_is_pending_and_the_push_cron_triggered_without_calling_kommo(self):
        triggers = self.push_triggers()
        order = self.repair_order(self.customer())
        self.assertEqual(self.binding(order).sync_state, "pending")
        self.assertEqual(order.kommo_sync_state, "pending")
        self.assertGreater(self.push_triggers(), triggers)
        self.assertFalse(self.emu.log)

    def test_changes_to_what_the_lead_shows_mark_the_order_pending(self):
        other = self.customer("Outro Cliente")
        changes = {
            "state": {"state": "confirmed"},
            "customer": {"partner_id": other.id},
            "diagnosis": {"internal_notes": "<p>Vazamento de óleo.</p>"},
            "mapped field": {"lot_id": self.repair_order(plate=True).lot_id.id},
        }
        for what, values in changes.items():
            with self.subTest(what):
                self.binding(self.order).write({"sync_state": "synced"})
                triggers = self.push_triggers()
                self.order.write(values)
                self.assertEqual(self.binding(self.order).sync_state, "pending")
                self.assertGreater(self.push_triggers(), triggers)
        self.assertFalse(self.emu.log, "marking pending never calls Kommo")

    def test_other_changes_leave_the_order_synced(self):
        triggers = self.push_triggers()
        self.order.write({"priority": "1", "under_warranty": True})
        self.assertEqual(self.binding(self.order).sync_state, "synced")
        self.assertEqual(self.push_triggers(), triggers)
        self.assertFalse(self.emu.log)

    def test_changes_coming_from_kommo_do_not_mark_the_order_pending(self):
        self.order.with_context(kommo_inbound=True).write({"state": "confirmed"})
        self.assertEqual(self.binding(self.order).sync_state, "synced")

    def test_a_change_during_a_push_leaves_the_order_pending_for_the_next_one(self):
        binding = self.binding(self.order)
        self.order.internal_notes = "<p>Primeira versão.</p>"
        pushed_revision = binding.revision

        def user_saves_meanwhile(*args, **kwargs):
            self.order.internal_notes = "<p>Segunda versão.</p>"
            self.env.flush_all()
            return original(*args, **kwargs)

        client_class = type(self.account._kommo_client())
        original = client_class.add_lead_notes
        self.patch(client_class, "add_lead_notes", user_saves_meanwhile)
        self.push()
        binding = self.binding(self.order)
        self.assertGreater(binding.revision, pushed_revision)
        self.assertEqual(binding.sync_state, "pending")

    def test_orders_of_a_company_without_kommo_account_are_not_synced(self):
        company = self.env["res.company"].create({"name": "Oficina sem Kommo"})
        self.env.user.company_ids |= company
        order = self.repair_order(self.customer(company_id=company.id), company=company)
        self.assertEqual(order.kommo_sync_state, "not_synced")
        self.assertFalse(order.sudo().kommo_lead_binding_ids)
