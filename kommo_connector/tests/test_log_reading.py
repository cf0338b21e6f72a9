"""The sync log and the webhook deliveries as the shop reads them: words instead of codes,
links to the order and to Kommo, refusals apart from failures, nothing shown as 0 that did
not happen, and the webhooks that need someone first."""

from datetime import timedelta

from odoo import fields
from odoo.exceptions import UserError
from odoo.tests import tagged

from kommo_api import KommoServerError, KommoValidationError, base_url, delivery_fingerprint

from .common_inbound import KommoInboundCase, webhook_body


class LogReadingCase(KommoInboundCase):
    def log_row(self, account, operation="push_leads", **values):
        return self.env["kommo.sync.log"].browse(
            self.env["kommo.sync.log"]._kommo_log(account, operation, **values)
        )

    def column(self, table, column, record):
        self.env.flush_all()
        self.env.cr.execute(f"SELECT {column} FROM {table} WHERE id = %s", [record.id])
        return self.env.cr.fetchone()[0]

    def lead_url(self, account, lead_id):
        return f"{base_url(account.host)}/leads/detail/{lead_id}"


@tagged("post_install", "-at_install")
class TestSyncLogReading(LogReadingCase):
    def test_operations_read_in_plain_words(self):
        account = self.create_account()
        notes = self.log_row(account, "push_notes")
        self.assertEqual(notes.operation_label, "Send diagnosis notes")
        self.assertEqual(notes.display_name, "Send diagnosis notes")
        self.assertEqual(
            self.log_row(account, "webhook_stage").operation_label,
            "Apply a stage change from Kommo",
        )
        self.assertEqual(self.log_row(account, "made_up_later").operation_label, "made_up_later")

    def test_the_log_is_searched_by_the_words_it_shows(self):
        account = self.create_account()
        notes = self.log_row(account, "push_notes")
        self.log_row(account, "push_leads")
        logs = self.env["kommo.sync.log"]
        self.assertEqual(logs.search([("operation_label", "ilike", "diagnosis")]), notes)
        self.assertEqual(logs.search([("operation_label", "ilike", "push_notes")]), notes)

    def test_a_row_links_to_its_order_and_to_the_lead_in_kommo(self):
        account = self.inbound_account(moves_orders=True)
        order, binding = self.bound_order(account)
        self.receive_and_process(
            account, webhook_body(binding.kommo_lead_id, self.stage(account, "Diagnóstico"))
        )
        row = self.inbound_logs(account)
        self.assertEqual(row.operation_label, "Apply a stage change from Kommo")
        self.assertEqual(row.record_ref, order)
        self.assertEqual(row.kommo_url, self.lead_url(account, binding.kommo_lead_id))
        opened = row.action_open_record()
        self.assertEqual((opened["res_model"], opened["res_id"]), ("repair.order", order.id))

    def test_a_call_about_an_order_links_to_its_lead(self):
        account = self.inbound_account()
        order, binding = self.bound_order(account)
        client = account._kommo_client(operation="push_notes", records=order)
        client.add_lead_notes(
            [{"entity_id": binding.kommo_lead_id, "note_type": "common", "params": {"text": "x"}}]
        )
        row = self.logs(account, operation="push_notes")
        self.assertEqual(row.kommo_url, self.lead_url(account, binding.kommo_lead_id))

    def test_a_call_about_no_lead_has_no_kommo_link(self):
        account = self.create_account()
        account.action_test_connection()
        self.assertFalse(self.logs(account, operation="test_connection").kommo_url)

    def test_kommo_refusing_a_record_is_told_apart_from_a_failed_exchange(self):
        account = self.create_account()
        client = account._kommo_client(operation="push_leads")
        unknown_field = {"field_id": 999_999_999, "values": [{"value": "x"}]}
        self.emu.faults.inject("500", method="POST", path="/api/v4/leads")
        # Not in assertRaises: its savepoint would roll the log rows back.
        raised = []
        for lead in ({"name": "OS 2"}, {"name": "OS 1", "custom_fields_values": [unknown_field]}):
            try:
                client.create_leads([lead])
            except (KommoServerError, KommoValidationError) as exc:
                raised.append(type(exc))
        self.assertEqual(raised, [KommoServerError, KommoValidationError])
        failed, refused = self.logs(account, operation="push_leads").sorted("id")
        self.assertEqual((refused.outcome, refused.http_status), ("refused", 400))
        self.assertEqual((failed.outcome, failed.http_status), ("error", 500))

    def test_news_from_kommo_shows_no_http_status_duration_or_zero_id(self):
        account = self.create_account()
        row = self.log_row(account, "webhook_stage", direction="inbound", kommo_id="0")
        self.assertEqual(
            row.read(["http_status", "duration_ms", "entity_count", "kommo_id"])[0],
            {
                "id": row.id,
                "http_status": False,
                "duration_ms": False,
                "entity_count": False,
                "kommo_id": False,
            },
        )
        self.assertIsNone(self.column("kommo_sync_log", "http_status", row))

    def test_an_exchange_without_answer_has_no_http_status(self):
        account = self.create_account()
        row = self.log_row(account, http_status=False, duration_ms=0, outcome="error")
        self.assertIsNone(self.column("kommo_sync_log", "http_status", row))
        self.assertEqual(self.column("kommo_sync_log", "duration_ms", row), 0, "measured: 0 ms")
        self.assertFalse(self.logs(account, http_status=False) - row)

    def test_the_list_shows_the_first_line_of_a_long_error(self):
        account = self.create_account()
        error = "Kommo refused the lead: " + "x" * 200 + "\nsecond line"
        row = self.log_row(account, outcome="refused", error_message=error)
        self.assertEqual(len(row.error_summary), 90)
        self.assertTrue(row.error_summary.startswith("Kommo refused the lead: xxx"))
        self.assertTrue(row.error_summary.endswith("…"))
        self.assertEqual(row.error_message, error, "the form shows all of it")


@tagged("post_install", "-at_install")
class TestWebhookEventReading(LogReadingCase):
    def test_a_delivery_reads_as_what_happened_to_the_lead(self):
        account = self.inbound_account()
        order, binding = self.bound_order(account)
        lead = binding.kommo_lead_id
        event = self.receive(account, webhook_body(lead, self.stage(account, "Em reparo")))
        self.assertEqual(event.title, f"Lead {lead} moved to Em reparo")
        self.assertEqual(event.display_name, event.title)
        self.assertEqual(event.repair_id, order)

    def test_a_stage_odoo_has_not_read_yet_is_named_by_its_id(self):
        account = self.inbound_account()
        event = self.receive(account, webhook_body(4242, (1, 777)))
        self.assertEqual(event.title, "Lead 4242 moved to stage 777")
        self.assertFalse(event.repair_id)

    def test_contacts_and_many_events_read_in_words(self):
        account = self.inbound_account()
        contact = self.receive(account, webhook_body(77, action="update", entity="contacts"))
        self.assertEqual(contact.title, "Contact 77 changed")
        body = "&".join(
            [f"leads[delete][{index}][id]={index + 1}" for index in range(5)]
            + ["account[id]=30000001"]
        )
        many = self.receive(account, body)
        self.assertEqual(many.title, "Lead 1 deleted; Lead 2 deleted; Lead 3 deleted; and 2 more")

    def test_an_unreadable_delivery_says_so(self):
        account = self.inbound_account()
        body = "not a delivery <b>"
        event = self.env["kommo.webhook.event"]._kommo_receive_unreadable(
            account, body, delivery_fingerprint("x=1"), "no account section"
        )
        self.assertEqual(event.title, "Unreadable delivery")
        self.assertIn("not a delivery &lt;b&gt;", event.body_table)

    def test_the_delivery_is_shown_as_its_keys_and_values_escaped(self):
        account = self.inbound_account()
        event = self.receive(
            account, webhook_body(4242, (1, 777)) + "&leads[status][0][name]=%3Cscript%3Ex"
        )
        table = str(event.body_table)
        self.assertIn(
            '<td class="text-nowrap"><code>leads[status][0][id]</code></td><td>4242</td>', table
        )
        self.assertIn("<td>&lt;script&gt;x</td>", table)
        self.assertNotIn("<script>", table)

    def test_webhooks_open_on_what_needs_attention(self):
        account = self.inbound_account()
        events = self.env["kommo.webhook.event"]
        done, ignored, failed, fresh, stuck = (
            self.receive(account, webhook_body(lead)) for lead in range(901, 906)
        )
        done.state, ignored.state, failed.state = "done", "ignored", "failed"
        stuck.received_at = fields.Datetime.now() - timedelta(minutes=20)
        unreadable = events._kommo_receive_unreadable(
            account, "garbage", delivery_fingerprint("y=2"), "not form-encoded"
        )
        attention = events.search([("account_id", "=", account.id), ("needs_attention", "=", True)])
        self.assertEqual(attention, failed | stuck | unreadable)
        self.assertEqual(
            events.search([("account_id", "=", account.id), ("needs_attention", "=", False)]),
            done | ignored | fresh,
        )
        action = self.env.ref("kommo_connector.action_kommo_webhook_event")
        self.assertIn("search_default_filter_needs_attention", action.context)

    def test_process_again_is_offered_where_it_can_change_something(self):
        account = self.inbound_account()
        event = self.receive(account, webhook_body(4242))
        cases = {
            ("failed", "boom"): True,
            ("unreadable", "not form-encoded"): True,
            ("ignored", "Lead 4242 is not linked to a repair order."): True,
            ("done", "Kommo moved the repair order from New to Confirmed."): False,
            ("pending", False): False,
        }
        for (state, reason), offered in cases.items():
            with self.subTest(state=state):
                event.write({"state": state, "reason": reason})
                self.assertEqual(event.can_process_again, offered)

    def test_a_done_delivery_is_not_processed_again(self):
        account = self.inbound_account()
        _order, binding = self.bound_order(account)
        event = self.receive_and_process(
            account, webhook_body(binding.kommo_lead_id, self.stage(account, "Diagnóstico"))
        )
        self.assertEqual(event.state, "done")
        with self.assertRaisesRegex(UserError, "applied already"):
            event.action_process_again()
        self.assertEqual(event.attempts, 1)
