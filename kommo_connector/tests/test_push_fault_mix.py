"""Kommo failing while two push workers run (what bench/push_first_sync.py --faults 0.2
--workers 2 found): a new customer's orders in two workers give Kommo one contact, and a note
whose answer was lost is not added twice."""

from odoo import SUPERUSER_ID, api, fields
from odoo.tests import tagged

from kommo_api import try_normalize_phone

from ..tools import push_send
from ..tools.push_contacts import ContactResolver
from ..tools.push_leads import LeadWriter, push
from ..tools.push_run import PushRun
from .common import KommoCommittedCase
from .common_push import KommoPushCase

COMPLEX = "/api/v4/leads/complex"
NOTES = "/api/v4/leads/notes"
PHONE = "+55 11 97777-1234"


@tagged("post_install", "-at_install")
class TestNewCustomerInTwoWorkers(KommoPushCase):
    """Each worker is a push of its own claimed orders; they run in the test's transaction,
    one step after the other, in the order the race takes."""

    def setUp(self):
        super().setUp()
        self.customer_ = self.customer("Marta Nova", phone=PHONE)
        self.first = self.repair_order(self.customer_)
        self.second = self.repair_order(self.customer_)

    def worker(self):
        options = self.env["kommo.lead.binding"]._kommo_push_options()
        return PushRun(self.env, self.account, options, own_transactions=False)

    def late_worker_found_her_absent(self):
        """A worker claimed the second order and found no contact of hers in Kommo."""
        late = self.worker()
        items = late.claim([self.binding(self.second).id])
        contacts = ContactResolver(late)
        contacts.resolve(items)
        self.assertIn(self.customer_.id, contacts.absent)
        return LeadWriter(late, contacts), items

    def finish(self, leads, items):
        leads.push_creates(items)
        leads.notes.flush(everything=True)
        leads.run.release()
        self.env.invalidate_all()

    def her_contacts(self):
        wanted = try_normalize_phone(PHONE)
        return [
            contact["id"]
            for contact in self.emu.store.contacts.values()
            for field in contact.get("custom_fields_values") or ()
            if field.get("field_code") == "PHONE"
            and any(try_normalize_phone(value["value"]) == wanted for value in field["values"])
        ]

    def assert_one_contact_for_both_leads(self):
        (contact_id,) = self.her_contacts()
        for order in self.first | self.second:
            binding = self.binding(order)
            self.assertEqual(binding.sync_state, "synced", binding.last_error)
            self.assertEqual(self.emu.store.lead_contacts[binding.kommo_lead_id], [contact_id])

    def test_a_contact_another_worker_created_meanwhile_is_linked_not_created_again(self):
        late, items = self.late_worker_found_her_absent()
        push(self.worker(), [self.binding(self.first).id])
        self.assertEqual(len(self.her_contacts()), 1)

        self.finish(late, items)

        self.assert_one_contact_for_both_leads()

    def test_an_order_waits_while_another_order_of_its_new_customer_has_no_answer(self):
        late, items = self.late_worker_found_her_absent()
        self.emu.faults.inject("lost_response", method="POST", path=COMPLEX)
        push(self.worker(), [self.binding(self.first).id])
        self.assertEqual(len(self.her_contacts()), 1, "Kommo created her contact")
        self.emu.clear_log()

        self.finish(late, items)

        self.assertFalse(self.lead_creations(), "her contact may come with the first order")
        waiting = self.binding(self.second)
        self.assertEqual(waiting.sync_state, "pending")
        self.assertEqual(waiting.attempt_count, 0, "waiting is not a failed attempt")
        self.assertGreater(waiting.next_attempt_at, fields.Datetime.now())
        self.make_due(self.first | self.second)
        self.push()
        self.assert_one_contact_for_both_leads()


@tagged("post_install", "-at_install")
class TestCustomerBoundByTwoWorkers(KommoCommittedCase):
    def test_a_customer_another_worker_binds_at_the_same_moment_keeps_its_binding(self):
        account_id = self.committed_account()
        with self.registry.cursor() as cr:
            partner_id = (
                api.Environment(cr, SUPERUSER_ID, {})["res.partner"]
                .create({"name": "Marta Nova", "phone": PHONE})
                .id
            )
        self.addCleanup(
            self.in_worker, account_id, lambda a: a.env["res.partner"].browse(partner_id).unlink()
        )
        attempts = []

        def bind(env, contact_id):
            attempts.append(contact_id)
            account = env["kommo.account"].browse(account_id)
            if len(attempts) == 1:
                env.cr.execute("SELECT 1")  # this transaction's snapshot is taken
                self.in_worker(
                    account_id,
                    lambda other: other.env["kommo.contact.binding"]._kommo_bind(
                        other, {partner_id: 111}
                    ),
                )
            env["kommo.contact.binding"]._kommo_bind(account, {partner_id: contact_id})

        def push_binds(account):
            options = account.env["kommo.lead.binding"]._kommo_push_options()
            run = PushRun(account.env, account, options)
            run.in_transaction(bind, 222)

        with self.assertNoLogs("odoo.sql_db", "ERROR"):  # a quiet collision, no failed INSERT
            self.in_worker(account_id, push_binds)

        self.assertEqual(attempts, [222, 222], "the collision was tried again")
        bound = self.in_worker(
            account_id,
            lambda account: account.env["kommo.contact.binding"]._kommo_contact_ids(
                account, [partner_id]
            ),
        )
        self.assertEqual(bound, {partner_id: 111})


@tagged("post_install", "-at_install")
class TestNoteWithoutAnswer(KommoPushCase):
    def setUp(self):
        super().setUp()
        self.order = self.repair_order(
            self.customer("Lucas Rocha", phone=PHONE), internal_notes="<p>Freio rangendo.</p>"
        )

    def push_again(self):
        self.emu.clear_log()
        self.make_due(self.order)
        self.push()
        binding = self.binding(self.order)
        self.assertEqual(binding.sync_state, "synced", binding.last_error)
        return self.notes_of(binding.kommo_lead_id)

    def test_a_note_whose_answer_was_lost_is_found_not_added_twice(self):
        self.emu.faults.inject("lost_response", method="POST", path=NOTES)
        self.push()
        self.assertEqual(self.binding(self.order).sync_state, "pending")

        self.assertEqual(self.push_again(), ["Freio rangendo."])
        self.assertFalse(self.emu.calls("POST", NOTES), "Kommo had it: not sent again")
        self.assertEqual(len(self.emu.calls("GET", NOTES)), 1)

    def test_a_note_kommo_never_got_is_sent_after_the_look_up(self):
        self.emu.faults.inject("drop", method="POST", path=NOTES)
        self.push()

        self.assertEqual(self.push_again(), ["Freio rangendo."])
        self.assertEqual(len(self.emu.calls("POST", NOTES)), 1)

    def test_a_note_that_failed_for_sure_is_sent_again_without_a_look_up(self):
        self.emu.faults.inject("429", count=4, method="POST", path=NOTES)
        self.patch(push_send, "RATE_LIMIT_PAUSES", (0.0, 0.0, 0.0))
        self.push()

        self.assertEqual(self.push_again(), ["Freio rangendo."])
        self.assertFalse(self.emu.calls("GET", NOTES))


@tagged("post_install", "-at_install")
class TestFreshTokenRefused(KommoPushCase):
    def test_a_token_refused_right_after_its_refresh_makes_the_orders_wait_not_the_account(self):
        order = self.repair_order(self.customer("Lucas Rocha", phone=PHONE))
        self.emu.faults.inject("401", count=2, method="POST", path=COMPLEX)
        self.push()

        self.assertEqual(len(self.token_calls("refresh_token")), 1, "the refresh worked")
        self.assertEqual(self.account.state, "connected")
        binding = self.binding(order)
        self.assertEqual((binding.sync_state, binding.attempt_count), ("pending", 1))
        self.make_due(order)
        self.push()
        self.assertEqual(self.binding(order).sync_state, "synced")
