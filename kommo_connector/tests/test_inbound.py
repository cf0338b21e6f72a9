from datetime import timedelta
from unittest.mock import patch

from odoo import fields
from odoo.tests import tagged

from kommo_api.testing import LOST_STATUS_ID, WON_STATUS_ID

from .common_inbound import KommoInboundCase, webhook_body


@tagged("post_install", "-at_install")
class TestInboundLeadStage(KommoInboundCase):
    """A lead's stage change reported by Kommo, applied to its repair order."""

    def move(self, account, binding, stage_name, **kwargs):
        stage = self.stage(account, stage_name)
        return self.receive_and_process(
            account, webhook_body(binding.kommo_lead_id, stage, **kwargs)
        )

    def test_a_lead_moved_in_kommo_shows_its_new_stage_on_the_order(self):
        account = self.inbound_account()
        order, binding = self.bound_order(account)
        event = self.move(account, binding, "Diagnóstico")
        self.assertEqual(event.state, "done")
        self.assertEqual(binding.kommo_stage_id, self.stage(account, "Diagnóstico"))
        self.assertIn("Diagnóstico", self.kommo_notes(order)[-1])
        self.assertEqual(order.state, "draft", "the option to move orders is off")

    def test_kommo_confirms_a_new_order_when_allowed(self):
        account = self.inbound_account(moves_orders=True)
        order, binding = self.bound_order(account)
        self.move(account, binding, "Diagnóstico")
        self.assertEqual(order.state, "confirmed")
        self.assertIn("from New to Confirmed", self.kommo_notes(order)[-1])

    def test_kommo_takes_a_new_order_through_every_step_to_repaired(self):
        account = self.inbound_account(moves_orders=True)
        order, binding = self.bound_order(account)
        self.move(account, binding, "Venda ganha")
        self.assertEqual(binding.kommo_status_id, WON_STATUS_ID)
        self.assertEqual(order.state, "done")

    def test_kommo_starts_a_confirmed_order(self):
        account = self.inbound_account(moves_orders=True)
        order, binding = self.bound_order(account, "Diagnóstico")
        order.action_validate()
        self.move(account, binding, "Em reparo")
        self.assertEqual(order.state, "under_repair")

    def test_kommo_cancels_an_order_and_sets_it_back_to_new(self):
        account = self.inbound_account(moves_orders=True)
        order, binding = self.bound_order(account)
        self.move(account, binding, "Venda perdida")
        self.assertEqual((order.state, binding.kommo_status_id), ("cancel", LOST_STATUS_ID))
        self.move(account, binding, "Novo")
        self.assertEqual(order.state, "draft")

    def test_an_order_moved_by_kommo_waits_for_a_push_of_its_new_state(self):
        # The push refreshes the lead's status field, on the same stage (test_push_after_kommo).
        account = self.inbound_account(moves_orders=True)
        order, binding = self.bound_order(account)
        self.move(account, binding, "Diagnóstico")
        self.assertEqual(order.state, "confirmed")
        self.assertEqual(binding.sync_state, "pending")

    def test_a_lead_moved_without_moving_its_order_is_not_pushed(self):
        account = self.inbound_account()
        order, binding = self.bound_order(account)
        self.move(account, binding, "Diagnóstico")
        self.assertEqual((order.state, binding.sync_state), ("draft", "synced"))

    def test_a_refused_move_is_posted_and_logged_not_raised(self):
        account = self.inbound_account(moves_orders=True)
        # A stocked product without stock: Odoo asks a person before confirming.
        order, binding = self.bound_order(account, storable=True)
        event = self.move(account, binding, "Diagnóstico")
        self.assertEqual(event.state, "done")
        self.assertEqual(order.state, "draft")
        self.assertEqual(binding.kommo_stage_id.name, "Diagnóstico")
        note = self.kommo_notes(order)[-1]
        self.assertIn("stays New instead of Confirmed", note)
        self.assertIn("stays New instead of Confirmed", event.reason)
        self.assertIn("Insufficient Quantity", note)
        log = self.inbound_logs(account)
        self.assertEqual((log.outcome, log.res_id), ("refused", order.id))
        self.assertIn("Insufficient Quantity", log.error_message)

    def test_a_move_the_repair_buttons_do_not_offer_is_refused(self):
        account = self.inbound_account(moves_orders=True)
        order, binding = self.bound_order(account, "Diagnóstico")
        order.action_validate()
        self.move(account, binding, "Novo")
        self.assertEqual(order.state, "confirmed")
        self.assertIn(
            "no action that takes a repair order from Confirmed to New",
            self.kommo_notes(order)[-1],
        )
        self.assertEqual(self.inbound_logs(account).outcome, "refused")

    def test_a_stage_left_unmapped_moves_only_the_lead(self):
        account = self.inbound_account(moves_orders=True)
        order, binding = self.bound_order(account)
        self.move(account, binding, "Pronto para retirada")
        self.assertEqual(binding.kommo_stage_id.name, "Pronto para retirada")
        self.assertEqual(order.state, "draft")

    def test_the_echo_of_a_stage_odoo_knows_changes_nothing(self):
        account = self.inbound_account(moves_orders=True)
        order, binding = self.bound_order(account, "Diagnóstico")
        notes = self.kommo_notes(order)
        event = self.move(account, binding, "Diagnóstico")
        self.assertEqual(event.state, "ignored")
        self.assertIn("already on this stage", event.reason)
        self.assertEqual(self.kommo_notes(order), notes)
        self.assertEqual(order.state, "draft")

    def test_news_older_than_what_odoo_knows_is_ignored(self):
        account = self.inbound_account()
        _order, binding = self.bound_order(account)
        an_hour_before = self.now_utc() - timedelta(hours=1)
        binding.kommo_updated_at = an_hour_before.replace(tzinfo=None) + timedelta(minutes=30)
        event = self.move(account, binding, "Diagnóstico", modified_at=an_hour_before)
        self.assertEqual(event.state, "ignored")
        self.assertIn("older than what Odoo knows", event.reason)
        self.assertEqual(binding.kommo_stage_id.name, "Novo")

    def test_the_status_and_update_events_of_one_move_apply_once(self):
        account = self.inbound_account()
        order, binding = self.bound_order(account)
        stage, now = self.stage(account, "Diagnóstico"), self.now_utc()
        status, update = self.receive_and_process(
            account,
            webhook_body(binding.kommo_lead_id, stage, action="status", modified_at=now),
            webhook_body(binding.kommo_lead_id, stage, action="update", modified_at=now),
        )
        self.assertEqual((status.state, update.state), ("done", "ignored"))
        self.assertEqual(len([n for n in self.kommo_notes(order) if "Diagnóstico" in n]), 1)

    def test_a_stage_odoo_does_not_know_is_named_by_its_kommo_id(self):
        account = self.inbound_account()
        order, binding = self.bound_order(account)
        pipeline = account.pipeline_id.kommo_id
        self.receive_and_process(account, webhook_body(binding.kommo_lead_id, (pipeline, 999)))
        self.assertEqual(binding.kommo_status_id, 999)
        self.assertIn("Kommo id 999", self.kommo_notes(order)[-1])
        self.assertIn("refresh the pipelines", self.kommo_notes(order)[-1])


@tagged("post_install", "-at_install")
class TestInboundEvents(KommoInboundCase):
    """Events that change nothing are kept with the reason; deleted leads; failures."""

    def test_a_lead_not_linked_to_an_order_is_kept_as_ignored_with_the_reason(self):
        account = self.inbound_account()
        event = self.receive_and_process(
            account, webhook_body(4242, self.stage(account, "Diagnóstico"))
        )
        self.assertEqual(event.state, "ignored")
        self.assertEqual(event.reason, "Lead 4242 is not linked to a repair order.")

    def test_a_lead_created_in_kommo_is_not_imported(self):
        account = self.inbound_account()
        event = self.receive_and_process(
            account, webhook_body(4243, self.stage(account, "Novo"), action="add")
        )
        self.assertEqual(event.state, "ignored")
        self.assertIn("Odoo does not make repair orders from leads", event.reason)

    def test_contact_events_are_kept_as_ignored(self):
        account = self.inbound_account()
        event = self.receive_and_process(
            account, webhook_body(77, action="update", entity="contacts")
        )
        self.assertEqual((event.state, event.summary), ("ignored", "update_contact #77"))
        self.assertIn("does not use events of this kind", event.reason)

    def test_a_lead_deleted_in_kommo_is_forgotten_by_its_order(self):
        account = self.inbound_account()
        order, binding = self.bound_order(account)
        lead_id = binding.kommo_lead_id
        event = self.receive_and_process(account, webhook_body(lead_id, action="delete"))
        self.assertEqual(event.state, "done")
        self.assertFalse(binding.kommo_lead_id)
        self.assertEqual(binding.sync_state, "error")
        self.assertIn(f"lead {lead_id} was deleted in Kommo", binding.last_error)
        self.assertIn(f"lead {lead_id} was deleted in Kommo", self.kommo_notes(order)[-1])

    def test_every_deleted_lead_of_an_account_is_applied_two_then_fifty(self):
        """A lead deleted in Kommo leaves its binding without a lead: NULL, so that the next
        deleted lead of the same account does not collide with it."""
        account = self.inbound_account()
        bindings = self.env["kommo.lead.binding"]
        for _order in range(50):
            bindings |= self.bound_order(account)[1]
        for batch in (bindings[:2], bindings[2:]):
            events = self.receive_and_process(
                account,
                *(webhook_body(binding.kommo_lead_id, action="delete") for binding in batch),
            )
            self.assertEqual(set(events.mapped("state")), {"done"}, events.mapped("reason"))
        self.env.flush_all()
        self.env.cr.execute(
            "SELECT count(*) FROM kommo_lead_binding WHERE id IN %s AND kommo_lead_id IS NULL",
            [tuple(bindings.ids)],
        )
        self.assertEqual(self.env.cr.fetchone()[0], 50)

    def test_a_failing_event_is_retried_then_failed_and_can_be_processed_again(self):
        account = self.inbound_account()
        _order, binding = self.bound_order(account)
        event = self.receive(
            account, webhook_body(binding.kommo_lead_id, self.stage(account, "Em reparo"))
        )
        with (
            patch.object(
                type(self.env["kommo.inbound"]),
                "_apply_lead_state",
                side_effect=RuntimeError("boom"),
            ),
            self.assertLogs("odoo.addons.kommo_connector.models.kommo_webhook_event", "WARNING"),
        ):
            self.env["kommo.webhook.event"]._cron_process_events()
            self.assertEqual((event.state, event.attempts), ("pending", 1))
            for _retry in range(2):
                event.next_attempt_at = fields.Datetime.now() - timedelta(minutes=1)
                self.env["kommo.webhook.event"]._cron_process_events()
        self.assertEqual((event.state, event.attempts), ("failed", 3))
        self.assertIn("boom", event.reason)
        self.assertEqual(binding.kommo_stage_id.name, "Novo")
        event.action_process_again()
        self.assertEqual(event.state, "done")
        self.assertEqual(binding.kommo_stage_id.name, "Em reparo")

    def test_events_are_applied_in_the_order_received(self):
        account = self.inbound_account()
        _order, binding = self.bound_order(account)
        lead = binding.kommo_lead_id
        self.receive_and_process(
            account,
            webhook_body(lead, self.stage(account, "Diagnóstico")),
            webhook_body(lead, self.stage(account, "Em reparo")),
        )
        self.assertEqual(binding.kommo_stage_id.name, "Em reparo")


@tagged("post_install", "-at_install")
class TestInboundCron(KommoInboundCase):
    def test_the_processing_cron_applies_pending_webhooks(self):
        account = self.inbound_account()
        _order, binding = self.bound_order(account)
        event = self.receive(
            account, webhook_body(binding.kommo_lead_id, self.stage(account, "Em reparo"))
        )
        self.env.ref("kommo_connector.ir_cron_kommo_process_webhooks").method_direct_trigger()
        self.assertEqual(event.state, "done")
        self.assertEqual(binding.kommo_stage_id.name, "Em reparo")
