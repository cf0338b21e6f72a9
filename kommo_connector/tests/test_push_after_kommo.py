from odoo.tests import tagged

from kommo_api import delivery_fingerprint, parse_webhook

from .common_push import STATUS_OPTIONS, KommoPushCase

LEAD_EVENTS = ["status_lead", "update_lead", "delete_lead"]


@tagged("post_install", "-at_install")
class TestPushAfterKommoChanges(KommoPushCase):
    """What the push sends after Kommo changed a lead: Kommo's webhooks are taken from the
    emulator's deliveries and processed as the webhook controller and cron do."""

    def start_emulator(self, **options):
        # Deliveries go to a path of the emulator that refuses them: no retries wanted.
        return super().start_emulator(webhook_retry_delays=(), **options)

    def setUp(self):
        super().setUp()
        sink = f"{self.emu.url}/webhook-sink"
        self.account._kommo_client().subscribe_webhook(sink, LEAD_EVENTS)
        self.emu.clear_log()
        self.scooter = self.env["product.product"].create({"name": "Scooter", "type": "consu"})

    def kommo_does(self, change, *args):
        """Run ``change`` and wait for the webhooks Kommo sends about it; those deliveries."""
        self.env.flush_all()
        before = len(self.emu.deliveries)
        change(*args)
        self.assertTrue(self.emu.wait_for_deliveries(timeout=10), "Kommo's deliveries hang")
        return self.emu.deliveries[before:]

    def api_calls(self):
        """The calls Kommo received (not the deliveries the emulator refused)."""
        return [call for call in self.emu.log if call.path.startswith("/api/")]

    def process(self, deliveries):
        """Store the deliveries as the webhook controller does and run the processing cron."""
        events = self.env["kommo.webhook.event"]
        for delivery in deliveries:
            body = delivery.body
            events |= events._kommo_store(
                self.account, parse_webhook(body), body, delivery_fingerprint(body)
            )
        events._cron_process_events()
        self.env.invalidate_all()
        return events

    def pushed_order(self):
        order = self.repair_order(
            self.customer("Maria S.", phone="11 98765-4321"),
            plate=False,
            product_id=self.scooter.id,
        )
        self.push()
        return order

    def status_option(self, state):
        field = self.field_map(self.account, "order_status").custom_field_id
        option = field.enum_ids.filtered(lambda option: option.value == STATUS_OPTIONS[state])
        return field.kommo_id, option.kommo_id

    def test_an_order_moved_by_kommo_refreshes_its_status_field_on_kommos_stage(self):
        self.account.kommo_moves_repair_order = True
        order = self.pushed_order()
        binding = self.binding(order)
        lead_id = binding.kommo_lead_id
        diagnosis = self.env["kommo.stage.map"]._kommo_stage_for_state(self.account, "confirmed")
        self.process(self.kommo_does(self.emu.crm.move_lead, lead_id, diagnosis.kommo_id))
        self.assertEqual(order.state, "confirmed")
        self.assertEqual(binding.sync_state, "pending")
        self.emu.clear_log()

        echo = self.kommo_does(self.push)

        (call,) = self.api_calls()
        self.assertEqual((call.method, call.path), ("PATCH", "/api/v4/leads"))
        self.assertEqual([lead["status_id"] for lead in call.json], [diagnosis.kommo_id])
        lead = self.emu.store.leads[lead_id]
        self.assertEqual(lead["status_id"], diagnosis.kommo_id)
        field_id, confirmed_option = self.status_option("confirmed")
        self.assertEqual(self.lead_value(lead, field_id), [confirmed_option])
        messages = len(order.message_ids)
        self.assertEqual([delivery.event for delivery in echo], ["update_lead"])
        self.assertEqual(self.process(echo).mapped("state"), ["ignored"])
        self.assertEqual((order.state, binding.sync_state), ("confirmed", "synced"))
        self.assertEqual(len(order.message_ids), messages)
        self.emu.clear_log()
        self.push()
        self.assertFalse(self.api_calls(), "nothing changed since: nothing is sent")

    def test_a_lead_moved_to_a_stage_two_states_share_stays_there(self):
        self.account.kommo_moves_repair_order = True
        lines = {line.repair_state: line for line in self.account.stage_map_ids}
        diagnosis = lines["confirmed"].stage_id
        lines["under_repair"].stage_id = diagnosis
        order = self.pushed_order()
        binding = self.binding(order)
        self.process(
            self.kommo_does(self.emu.crm.move_lead, binding.kommo_lead_id, diagnosis.kommo_id)
        )
        self.assertEqual((order.state, binding.sync_state), ("draft", "synced"))
        self.emu.clear_log()
        self.push()
        self.assertFalse(self.api_calls())
        self.assertEqual(
            self.emu.store.leads[binding.kommo_lead_id]["status_id"], diagnosis.kommo_id
        )

    def test_a_lead_deleted_in_kommo_is_created_again_by_sync_kommo(self):
        order = self.pushed_order()
        binding = self.binding(order)
        deleted_id = binding.kommo_lead_id
        contact_ids = self.emu.store.lead_contacts[deleted_id]
        self.process(self.kommo_does(self.emu.crm.delete_lead, deleted_id))
        self.assertEqual((binding.kommo_lead_id, binding.sync_state), (0, "error"))

        action = order.with_user(self.kommo_user()).action_kommo_sync()
        self.env.invalidate_all()

        self.assertEqual(action["params"]["type"], "success", action["params"]["message"])
        (lead,) = self.leads_named(order.name)
        self.assertNotEqual(lead["id"], deleted_id)
        self.assertEqual((binding.kommo_lead_id, binding.sync_state), (lead["id"], "synced"))
        self.assertEqual(self.emu.store.lead_contacts[lead["id"]], contact_ids, "same contact")

    def test_a_lead_deleted_in_kommo_is_created_again_at_the_orders_next_change(self):
        order = self.pushed_order()
        binding = self.binding(order)
        deleted_id = binding.kommo_lead_id
        self.process(self.kommo_does(self.emu.crm.delete_lead, deleted_id))
        order.internal_notes = "<p>Freio dianteiro gasto.</p>"
        self.push()
        (lead,) = self.leads_named(order.name)
        self.assertNotEqual(lead["id"], deleted_id)
        self.assertEqual(binding.kommo_lead_id, lead["id"])
        self.assertEqual(self.notes_of(lead["id"]), ["Freio dianteiro gasto."])
