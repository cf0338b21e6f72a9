from datetime import timedelta

from odoo import fields
from odoo.exceptions import AccessError, UserError
from odoo.tests import tagged

from .common_push import KommoPushCase


@tagged("post_install", "-at_install")
class TestInitialSync(KommoPushCase):
    """The initial sync wizard: a preview that writes nothing to Kommo, then a queue the push
    cron sends."""

    def setUp(self):
        super().setUp()
        contacts = {c["name"]: c["id"] for c in self.emu.store.contacts.values()}
        # In Kommo by phone (Maria Silva's number, written another way), by e-mail (Carlos
        # Souza's), already linked (João Pereira), and two new ones (one unreachable).
        self.by_phone = self.customer("Maria S.", phone="11 98765-4321")
        self.by_email = self.customer("C. Souza", email="Carlos.Souza@example.net")
        self.bound = self.customer("João P.", phone="11 91234-5678")
        self.new = self.customer("Cliente Novo", phone="11 91234-0000")
        self.no_means = self.customer("Sem Contato")
        self.env["kommo.contact.binding"].sudo()._kommo_bind(
            self.account, {self.bound.id: contacts["João Pereira"]}
        )
        self.open_orders = (
            self.repair_order(self.by_phone, internal_notes="<p>Barulho no freio</p>")
            | self.repair_order(self.by_phone)
            | self.repair_order(self.by_email)
            | self.repair_order(self.new)
            | self.repair_order(self.no_means)
        )
        self.in_kommo = self.repair_order(self.bound)
        self.cancelled = self.repair_order(self.new)
        self.cancelled.action_repair_cancel()
        # Orders from before the shop connected Kommo: no binding; one has its lead already.
        self.binding_records(self.open_orders | self.cancelled).unlink()
        (lead_id, *_others) = self.emu.store.leads
        self.binding(self.in_kommo).write({"kommo_lead_id": lead_id, "sync_state": "synced"})
        self.emu.clear_log()

    def wizard(self, **values):
        return self.env["kommo.initial.sync"].create({"account_id": self.account.id, **values})

    def preview_with_call_limit(self, calls):
        self.env["ir.config_parameter"].sudo().set_param(
            "kommo_connector.initial_sync_preview_calls", str(calls)
        )
        wizard = self.wizard()
        wizard.action_preview()
        return wizard

    def test_the_preview_counts_leads_customers_and_calls(self):
        wizard = self.wizard()
        wizard.action_preview()
        self.assertEqual(wizard.state, "preview")
        self.assertEqual(wizard.order_count, 6, "the open orders, not the cancelled one")
        self.assertEqual(wizard.lead_create_count, 5)
        self.assertEqual(wizard.lead_update_count, 1)
        self.assertEqual(wizard.note_count, 1)
        self.assertEqual(wizard.customer_count, 5)
        self.assertEqual(wizard.customer_bound_count, 1)
        self.assertEqual(wizard.customer_phone_count, 1)
        self.assertEqual(wizard.customer_email_count, 1)
        self.assertEqual(wizard.contact_create_count, 2)
        # 11 searches would be needed: one probe past the end, then the one page of the list.
        self.assertEqual(wizard.lookup_call_count, 2)
        self.assertEqual(len(self.emu.calls("GET", "/api/v4/contacts")), 2)
        # Look-ups, one call of creations, one of updates (then one linking João's contact
        # to his lead, which has none yet), one of notes.
        self.assertEqual(wizard.call_count, 6)
        self.assertEqual(wizard.duration, "1 s")

    def test_the_preview_sums_itself_up_in_one_sentence(self):
        wizard = self.wizard()
        wizard.action_preview()
        self.assertEqual(
            wizard.summary,
            "Leads created in Kommo: 5, updated: 1; contacts created: 2. Calls: 6, taking 1 s "
            "at Kommo's limit of 7 requests a second.",
        )
        self.assertFalse(wizard.preview_note)

    def test_the_time_is_said_in_seconds_minutes_or_hours(self):
        durations = [self.wizard(duration_seconds=s).duration for s in (45, 125, 3725)]
        self.assertEqual(durations, ["45 s", "2 min 5 s", "1 h 2 min"])

    def test_the_preview_writes_nothing_to_kommo_nor_queues_anything(self):
        leads_before = len(self.emu.store.leads)
        self.wizard().action_preview()
        self.assertTrue(self.emu.calls("GET"), "the preview read Kommo")
        self.assertEqual(self.writes_to_kommo(), [])
        self.assertEqual(len(self.emu.store.leads), leads_before)
        self.assertFalse(self.binding_records(self.open_orders))
        self.assertFalse(self.account.kommo_contacts_read_at, "the push's memory is untouched")

    def test_a_preview_after_a_push_uses_the_contact_list_the_push_remembered(self):
        self.repair_order(self.customer("Fernanda", phone="41 99876-5432"))
        self.push()  # reads the short contact list whole and remembers it
        self.assertTrue(self.account.kommo_contacts_read_at)
        self.emu.clear_log()
        wizard = self.wizard(scope="domain", order_domain=f"[('id', 'in', {self.open_orders.ids})]")
        wizard.action_preview()
        self.assertFalse(self.emu.calls(), "matched against the stored list, Kommo not called")
        self.assertEqual(
            (wizard.customer_phone_count, wizard.customer_email_count, wizard.contact_create_count),
            (1, 1, 2),
        )
        # What the push will read: the changes since, then the two contacts found, by id.
        self.assertEqual(wizard.lookup_call_count, 2)

    def test_the_preview_stops_at_its_call_limit_and_says_its_numbers_are_minimums(self):
        wizard = self.preview_with_call_limit(1)
        self.assertEqual(len(self.emu.calls("GET", "/api/v4/contacts")), 1, "the probe only")
        self.assertTrue(wizard.stopped_at_limit)
        self.assertEqual(wizard.customer_unchecked_count, 3, "Maria, Carlos and the new one")
        self.assertEqual((wizard.customer_phone_count, wizard.customer_email_count), (0, 0))
        self.assertEqual(wizard.contact_create_count, 1, "the customer with no phone nor e-mail")
        self.assertEqual(wizard.lookup_call_count, 1)
        self.assertIn("stopped at its limit of calls to Kommo (1).", wizard.preview_note)
        self.assertIn("Customers not looked up: 3.", wizard.preview_note)
        self.assertIn("contacts created: at least 1. Calls: at least 5,", wizard.summary)
        # At least: the look-up so far, then creations, updates, João's link and the notes.
        self.assertEqual(wizard.call_count, 5)

    def test_a_preview_within_its_call_limit_says_nothing_of_it(self):
        wizard = self.preview_with_call_limit(2)
        self.assertFalse(wizard.stopped_at_limit)
        self.assertFalse(wizard.preview_note)
        self.assertEqual((wizard.customer_phone_count, wizard.customer_unchecked_count), (1, 0))

    def test_orders_since_a_date(self):
        old = self.open_orders[:2]
        self.env.cr.execute(
            "UPDATE repair_order SET create_date = %s WHERE id IN %s",
            [fields.Datetime.now() - timedelta(days=40), tuple(old.ids)],
        )
        old.invalidate_recordset(["create_date"])
        since = fields.Date.today() - timedelta(days=30)
        wizard = self.wizard(scope="since", date_from=since)
        wizard.action_preview()
        self.assertEqual(wizard.order_count, 5, "the cancelled order counts, the old ones not")
        self.assertEqual(wizard.customer_phone_count, 0, "Maria's orders are both old")

    def test_orders_matching_a_filter(self):
        wizard = self.wizard(scope="domain", order_domain=f"[('partner_id', '=', {self.new.id})]")
        wizard.action_preview()
        self.assertEqual(wizard.order_count, 2)
        self.assertEqual(wizard.contact_create_count, 1)

    def test_an_unreadable_filter_is_explained(self):
        wizard = self.wizard(scope="domain", order_domain="[('state', '=',")
        with self.assertRaisesRegex(UserError, "The filter cannot be read"):
            wizard.action_preview()

    def test_start_queues_the_orders_and_the_push_cron_creates_their_leads(self):
        wizard = self.wizard()
        wizard.action_preview()
        self.emu.clear_log()
        triggers = self.env["ir.cron.trigger"].search_count([("cron_id", "=", self.push_cron.id)])
        wizard.action_start()
        self.assertEqual(self.emu.calls(), [], "Start sends nothing itself")
        bindings = self.binding_records(self.open_orders | self.in_kommo)
        self.assertEqual(set(bindings.mapped("sync_state")), {"pending"})
        self.assertFalse(self.binding_records(self.cancelled))
        self.assertGreater(
            self.env["ir.cron.trigger"].search_count([("cron_id", "=", self.push_cron.id)]),
            triggers,
            "the push cron is woken",
        )
        self.assertEqual(self.account.pending_count, 6)
        self.push()
        for order in self.open_orders:
            self.assertEqual(len(self.leads_named(order.name)), 1, order.name)
        self.assertEqual(set(bindings.mapped("sync_state")), {"synced"})
        self.assertEqual(len(self.lead_creations()), 1, "five leads in one call")
        maria = next(c for c in self.emu.store.contacts.values() if c["name"] == "Maria Silva")
        self.assertIn(
            maria["id"], self.emu.store.lead_contacts[self.lead_of(self.open_orders[0])["id"]]
        )

    def test_the_preview_s_estimate_is_what_the_push_then_costs(self):
        wizard = self.wizard()
        wizard.action_preview()
        wizard.action_start()
        self.emu.clear_log()
        self.push()
        calls = [f"{call.method} {call.path}" for call in self.emu.calls()]
        self.assertEqual(len(calls), wizard.call_count, calls)

    def test_a_new_customer_with_several_orders_gets_one_contact_and_a_lead_each(self):
        orders = self.open_orders.filtered(lambda order: order.partner_id == self.new)
        orders |= self.repair_order(self.new) | self.repair_order(self.new)
        self.binding_records(orders).unlink()
        self.emu.clear_log()
        wizard = self.wizard(scope="domain", order_domain=f"[('id', 'in', {orders.ids})]")
        wizard.action_preview()
        self.assertEqual(wizard.lead_create_count, 3)
        self.assertEqual((wizard.customer_count, wizard.contact_create_count), (1, 1))
        wizard.action_start()
        self.emu.clear_log()
        self.push()
        calls = [f"{call.method} {call.path}" for call in self.emu.calls()]
        self.assertEqual(len(calls), wizard.call_count, calls)
        # The contact comes with the first lead; the other two link it in a second call.
        self.assertEqual(len(self.lead_creations()), 2)
        contacts = {
            contact["id"]
            for order in orders
            for contact in self.contacts_of(self.lead_of(order)["id"])
        }
        self.assertEqual(len(contacts), 1)

    def test_the_account_shows_the_progress_of_its_initial_sync(self):
        self.wizard().action_start()
        account = self.account
        self.assertTrue(account.initial_sync_at)
        self.assertEqual((account.initial_sync_total, account.initial_sync_pending), (6, 6))
        self.assertEqual(account.initial_sync_progress, 0)
        self.binding_records(self.open_orders[:3]).write({"sync_state": "synced"})
        self.binding_records(self.open_orders[3]).write({"sync_state": "error"})
        account.invalidate_recordset()
        self.assertEqual(
            (account.initial_sync_done, account.initial_sync_pending, account.initial_sync_failed),
            (3, 2, 1),
        )
        self.assertEqual(account.initial_sync_progress, 50)
        # The account form's onchange computes on a copy of the record (a NewId): same numbers.
        copy = account.new(origin=account)
        self.assertEqual((copy.initial_sync_total, copy.initial_sync_done), (6, 3))
        failures = account.action_open_initial_sync_failures()
        self.assertEqual(
            self.env["kommo.lead.binding"].search(failures["domain"]).repair_id,
            self.open_orders[3],
        )

    def test_the_progress_is_the_last_initial_sync_s_only(self):
        other = self.repair_order(self.customer("Fernanda", phone="41 99876-5432"))
        self.binding(other).write({"sync_state": "synced"})  # sent before, by its own
        self.wizard(
            scope="domain", order_domain=f"[('id', 'in', {self.open_orders[:2].ids})]"
        ).action_start()
        self.binding_records(self.open_orders[:2]).write({"sync_state": "synced"})
        self.wizard(
            scope="domain", order_domain=f"[('id', 'in', {self.open_orders[2:].ids})]"
        ).action_start()
        self.account.invalidate_recordset()
        self.assertEqual((self.account.initial_sync_total, self.account.initial_sync_done), (3, 0))
        self.assertEqual(self.account.pending_count, 3, "the account's own count: every order")

    def test_accounts_read_together_show_each_its_own_initial_sync(self):
        company_b = self.env["res.company"].create({"name": "Oficina Filial"})
        self.env.user.company_ids |= company_b
        emu_b = self.start_emulator(subdomain="filial", account_id=30000002)
        account_b = self.connected_account(emu_b, company=company_b)
        customer_b = self.customer("Cliente Filial", phone="11 94444-0002", company_id=company_b.id)
        self.repair_order(customer_b, company=company_b)
        self.wizard().action_start()
        self.env["kommo.initial.sync"].create({"account_id": account_b.id}).action_start()
        company_c = self.env["res.company"].create({"name": "Oficina Nova"})
        emu_c = self.start_emulator(subdomain="nova", account_id=30000003)
        idle = self.connected_account(emu_c, company=company_c)
        accounts = self.account | account_b | idle
        accounts.invalidate_recordset()
        self.assertEqual(accounts.mapped("initial_sync_total"), [6, 1, 0])
        self.assertEqual(accounts.mapped("initial_sync_pending"), [6, 1, 0])

    def test_a_disconnected_account_previews_nothing(self):
        wizard = self.wizard()
        self.account.state = "needs_reconnect"
        with self.assertRaisesRegex(UserError, "Connect the Kommo account"):
            wizard.action_preview()
        self.assertEqual(self.emu.calls(), [])

    def test_only_kommo_managers_use_the_wizard(self):
        user = self.kommo_user()
        with self.assertRaises(AccessError):
            self.env["kommo.initial.sync"].with_user(user).create({"account_id": self.account.id})
