from odoo.tests import tagged

from .common_push import KommoPushCase

COMPLEX = "/api/v4/leads/complex"
NOTES = "/api/v4/leads/notes"
RATE_LIMIT = 7


@tagged("post_install", "-at_install")
class TestPushBatches(KommoPushCase):
    def orders(self, count, **values):
        orders = self.env["repair.order"]
        for index in range(count):
            partner = self.customer(
                f"Cliente {index:03d}", phone=f"+55 11 9{index:04d}-{index:04d}"
            )
            orders |= self.repair_order(partner, plate=False, **values)
        return orders

    def busiest_second(self):
        """The most calls the emulator received in any window of one second."""
        times = sorted(call.time for call in self.emu.log)
        return max(
            (sum(1 for other in times[i:] if other - start < 1.0) for i, start in enumerate(times)),
            default=0,
        )

    def entities_sent(self, path):
        return [len(call.json) for call in self.emu.calls("POST", path)]

    def test_200_orders_go_50_a_call_within_kommos_rate_limit(self):
        orders = self.orders(200, internal_notes="<p>Revisão dos 10.000 km.</p>")
        self.push()
        self.assertEqual(self.entities_sent(COMPLEX), [50, 50, 50, 50])
        self.assertEqual(self.entities_sent(NOTES), [50, 50, 50, 50])
        pages = [call.query["page"] for call in self.emu.calls("GET", "/api/v4/contacts")]
        # 200 new customers cost 1,000 searches: a probe past them, then the demo's one page.
        self.assertEqual(pages, ["1001", "1"])
        self.assertEqual(len(self.emu.log), 10)
        self.assertLessEqual(self.busiest_second(), RATE_LIMIT)
        self.assertEqual(set(self.binding_records(orders).mapped("sync_state")), {"synced"})
        for order in orders:
            self.assertEqual(len(self.leads_named(order.name)), 1)

    def test_one_refused_lead_leaves_the_other_49_synced(self):
        status_map = self.field_map(self.account, "order_status")
        gone = self.env["kommo.custom.field.enum"].create(
            {"field_id": status_map.custom_field_id.id, "kommo_id": 999999, "value": "Apagada"}
        )
        status_map.value_map_ids.filtered(lambda line: line.odoo_value == "cancel").enum_id = gone
        orders = self.orders(50)
        refused = orders[17]
        refused.action_repair_cancel()
        self.push()
        bindings = self.binding_records(orders - refused)
        self.assertEqual(set(bindings.mapped("sync_state")), {"synced"})
        self.assertEqual(len(bindings.mapped("kommo_lead_id")), 49)
        binding = self.binding(refused)
        self.assertEqual(binding.sync_state, "error")
        self.assertIn("“Status da OS”", binding.last_error)
        self.assertFalse(self.leads_named(refused.name))
        self.assertEqual(self.entities_sent(COMPLEX), [50, 49])

    def test_a_new_customer_with_several_orders_becomes_one_contact(self):
        partner = self.customer("Frota Express", phone="(21) 98888-7777")
        orders = (
            self.repair_order(partner) | self.repair_order(partner) | self.repair_order(partner)
        )
        self.push()
        contact_ids = {tuple(self.emu.store.lead_contacts[self.lead_of(o)["id"]]) for o in orders}
        self.assertEqual(len(contact_ids), 1)
        self.assertEqual(self.entities_sent(COMPLEX), [1, 2])
        (first, second) = self.emu.calls("POST", COMPLEX)
        (contact_id,) = contact_ids.pop()
        self.assertNotIn("id", first.json[0]["_embedded"]["contacts"][0])
        self.assertEqual(
            [lead["_embedded"]["contacts"] for lead in second.json], [[{"id": contact_id}]] * 2
        )

    def test_the_second_orders_of_new_customers_do_not_cost_an_extra_call(self):
        singles = self.orders(50)
        pairs = self.env["repair.order"]
        for index in range(5):
            partner = self.customer(f"Frota {index}", phone=f"+55 21 9{index:04d}-1234")
            pairs |= self.repair_order(partner, plate=False) | self.repair_order(
                partner, plate=False
            )
        self.push()
        self.assertEqual(self.entities_sent(COMPLEX), [50, 10])
        self.assertEqual(
            set(self.binding_records(singles | pairs).mapped("sync_state")), {"synced"}
        )
        for first, second in zip(pairs[::2], pairs[1::2], strict=True):
            self.assertEqual(
                self.contacts_of(self.lead_of(first)["id"]),
                self.contacts_of(self.lead_of(second)["id"]),
            )

    def test_later_changes_cost_at_most_one_call_per_order_batched(self):
        orders = self.orders(60)
        self.push()
        self.emu.clear_log()
        for order in orders:
            order.internal_notes = f"<p>Diagnóstico de {order.name}</p>"
        self.push()
        self.assertEqual(self.entities_sent(NOTES), [50, 10])
        self.assertFalse(self.emu.calls("PATCH"), "nothing else of the leads changed")
        self.emu.clear_log()
        orders._action_repair_confirm()
        self.push()
        self.assertEqual([len(call.json) for call in self.emu.calls("PATCH")], [50, 10])
        self.assertEqual(len(self.emu.log), 2)

    def test_batch_size_and_claim_limit_can_be_set_by_the_caller(self):
        orders = self.orders(12)
        self.push(batch_size=5, claim_limit=8)
        self.assertEqual(self.entities_sent(COMPLEX), [5, 3])
        self.assertEqual(
            sorted(self.binding_records(orders).mapped("sync_state")),
            ["pending"] * 4 + ["synced"] * 8,
        )
        self.push(batch_size=5)
        self.assertEqual(set(self.binding_records(orders).mapped("sync_state")), {"synced"})
