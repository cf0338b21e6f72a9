"""The one rule of transactions of their own (tools/cursors.py): never wait for the caller.

These tests run on real cursors (KommoCommittedCase): the caller is a worker's transaction
(``self.caller()``), "another worker" a second cursor, and every new cursor gets a short
lock_timeout, so a regression fails in seconds instead of hanging the suite.
"""

import threading
import time
from contextlib import contextmanager
from unittest.mock import patch

from odoo import SUPERUSER_ID, api
from odoo.modules.registry import Registry
from odoo.tests import tagged

from kommo_api import delivery_fingerprint, parse_webhook

from ..tools.cursors import KEY_SHARE, RowsBusy, held_by_caller, own_transaction
from .common import WORKER_TIMEOUT_SECONDS, KommoCommittedCase
from .common_inbound import webhook_body

# Longer than any wait the rule allows (5 s), far shorter than a hang.
REGRESSION_LOCK_TIMEOUT = "10s"


class OwnTransactionMixin:
    def setUp(self):
        super().setUp()
        # Any lock wait of this test's cursors ends with an error.
        original_cursor = Registry.cursor

        def bounded_cursor(registry, *args, **kwargs):
            cr = original_cursor(registry, *args, **kwargs)
            cr.execute(f"SET LOCAL lock_timeout = '{REGRESSION_LOCK_TIMEOUT}'")
            return cr

        bound = patch.object(Registry, "cursor", bounded_cursor)
        bound.start()
        self.addCleanup(bound.stop)

    @contextmanager
    def caller(self):
        """A worker's transaction (it sees what was committed before it started), rolled back
        at the end: only what the rule commits on its own stays."""
        with self.registry.cursor() as cr:
            try:
                yield api.Environment(cr, SUPERUSER_ID, {})
            finally:
                cr.rollback()

    def committed_name(self, account_id):
        with self.registry.cursor() as cr:
            cr.execute("SELECT name FROM kommo_account WHERE id = %s", [account_id])
            return cr.fetchone()[0]

    @contextmanager
    def held_by_another_worker(self, account_id):
        """The account row locked by another transaction while the block runs."""
        with self.registry.cursor() as cr:
            cr.execute("SELECT id FROM kommo_account WHERE id = %s FOR NO KEY UPDATE", [account_id])
            yield
            cr.rollback()


@tagged("post_install", "-at_install")
class TestOwnTransactionRule(OwnTransactionMixin, KommoCommittedCase):
    def test_rows_nobody_holds_are_written_in_a_committed_transaction_of_their_own(self):
        account_id = self.committed_account()
        with (
            self.caller() as caller,
            own_transaction(caller, "kommo_account", [account_id]) as env,
        ):
            self.assertIsNot(env.cr, caller.cr)
            env["kommo.account"].browse(account_id).name = "Written on its own"
        # the caller rolled back
        self.assertEqual(self.committed_name(account_id), "Written on its own")

    def test_rows_the_caller_wrote_are_written_in_the_callers_transaction(self):
        account_id = self.committed_account()
        with self.caller() as caller:
            caller["kommo.account"].browse(account_id).name = "Changed by the caller"
            caller.flush_all()
            started = time.monotonic()
            with own_transaction(caller, "kommo_account", [account_id]) as env:
                self.assertIs(env.cr, caller.cr)
                env["kommo.account"].browse(account_id).kommo_subdomain = "caller"
            self.assertLess(time.monotonic() - started, 1, "it waited for its own caller")
            self.assertTrue(held_by_caller(caller, "kommo_account", [account_id]))

    def test_rows_the_caller_created_are_written_in_the_callers_transaction(self):
        with self.caller() as caller:
            account = caller["kommo.account"].create(self.connected_values(caller))
            with own_transaction(caller, "kommo_account", account.ids) as env:
                self.assertIs(env.cr, caller.cr)
            self.assertTrue(held_by_caller(caller, "kommo_account", account.ids))

    def test_a_key_share_lock_does_not_queue_behind_the_callers_write(self):
        account_id = self.committed_account()
        with self.caller() as caller:
            caller["kommo.account"].browse(account_id).name = "Changed by the caller"
            caller.flush_all()
            with own_transaction(caller, "kommo_account", [account_id], lock=KEY_SHARE) as env:
                self.assertIsNot(env.cr, caller.cr)

    def test_rows_another_worker_holds_are_waited_for_then_reported_busy(self):
        account_id = self.committed_account()
        with self.caller() as caller:
            self.assertFalse(held_by_caller(caller, "kommo_account", [account_id]))
            with self.held_by_another_worker(account_id):
                self.assertFalse(held_by_caller(caller, "kommo_account", [account_id]))
                started = time.monotonic()
                with (
                    self.assertRaises(RowsBusy),
                    own_transaction(caller, "kommo_account", [account_id], wait=0.3),
                ):
                    self.fail("the rows were taken from another worker")
                self.assertLess(time.monotonic() - started, 3)

    def test_a_worker_that_releases_the_rows_in_time_lets_the_work_through(self):
        account_id = self.committed_account()
        locked, release = threading.Event(), threading.Event()

        def other_worker():
            with self.held_by_another_worker(account_id):
                locked.set()
                release.wait(WORKER_TIMEOUT_SECONDS)

        worker = threading.Thread(target=other_worker, daemon=True)
        worker.start()
        locked.wait(WORKER_TIMEOUT_SECONDS)
        threading.Timer(0.3, release.set).start()
        with (
            self.caller() as caller,
            own_transaction(caller, "kommo_account", [account_id], wait=5) as env,
        ):
            self.assertIsNot(env.cr, caller.cr)
            env["kommo.account"].browse(account_id).name = "After the other worker"
        worker.join(WORKER_TIMEOUT_SECONDS)
        self.assertEqual(self.committed_name(account_id), "After the other worker")


@tagged("post_install", "-at_install")
class TestEverythingInOneTransaction(OwnTransactionMixin, KommoCommittedCase):
    """What `make run`'s set-up does, and what any server-side code may do: write the account
    and then use it, all in one transaction. Nothing may wait for that transaction."""

    def test_connect_configure_push_and_apply_a_webhook_in_one_transaction(self):
        account_id = self.committed_account(
            state="not_connected",
            access_token=False,
            refresh_token=False,
            token_expires_at=False,
            token_obtained_at=False,
        )
        with self.caller() as env:
            self.connect_configure_push_and_apply(env, env["kommo.account"].browse(account_id))
        # What the account's own transactions committed meanwhile is there for other workers.
        with self.registry.cursor() as cr:
            logs = api.Environment(cr, SUPERUSER_ID, {})["kommo.sync.log"].search(
                [("account_id", "=", account_id)]
            )
            self.assertIn("webhook_register", logs.mapped("operation"))

    def connect_configure_push_and_apply(self, env, account):
        account.write({"name": "Oficina (edited in this transaction)"})
        env.flush_all()  # this transaction now holds the account row

        code = self.emu.issue_auth_code(self.kommo_app.client_id)
        account._kommo_connect_with_code(code, self.emu.host)
        self.assertEqual(account.state, "connected", account.last_error)
        account.action_refresh_metadata()
        self.assertTrue(account.pipeline_ids)
        account.action_create_missing_fields()
        account.action_register_webhook()
        self.assertTrue(account.webhook_registered)
        self.assertEqual(len(self.emu.store.webhooks), 1)
        account.action_unregister_webhook()
        self.assertFalse(account.webhook_registered)
        self.assertFalse(self.emu.store.webhooks)
        action = account.action_test_connection()
        self.assertEqual(action["params"]["type"], "success")

        partner = env["res.partner"].create({"name": "Ana Lima", "phone": "+5511912345678"})
        product = env["product.product"].create({"name": "Fiat Uno 2015"})
        order = env["repair.order"].create({"partner_id": partner.id, "product_id": product.id})
        order.action_kommo_sync()
        binding = env["kommo.lead.binding"].search([("repair_id", "=", order.id)])
        self.assertEqual(binding.sync_state, "synced", binding.last_error)
        self.assertIn(binding.kommo_lead_id, self.emu.store.leads)

        won = account.pipeline_id.stage_ids.filtered(lambda stage: stage.kommo_id == 142)
        body = webhook_body(
            binding.kommo_lead_id, won, account_id=self.emu.account_id, subdomain=self.emu.subdomain
        )
        events = env["kommo.webhook.event"]
        self.assertTrue(
            events._kommo_receive(account, parse_webhook(body), body, delivery_fingerprint(body))
        )
        events._cron_process_events()
        self.assertEqual(events.search([("account_id", "=", account.id)]).state, "done")
        self.assertEqual(binding.kommo_status_id, 142)
