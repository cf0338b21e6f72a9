import threading
import time

from odoo import SUPERUSER_ID, api
from odoo.service.model import retrying
from odoo.tests import tagged

from kommo_api import delivery_fingerprint, parse_webhook

from .common import WORKER_TIMEOUT_SECONDS, KommoCommittedCase
from .common_inbound import webhook_body


@tagged("post_install", "-at_install")
class TestWebhookStoreConcurrency(KommoCommittedCase):
    def wait_until_a_worker_waits_for_a_lock(self, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.registry.cursor() as cr:
                cr.execute(
                    "SELECT count(*) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND wait_event_type = 'Lock'"
                )
                if cr.fetchone()[0]:
                    return
            time.sleep(0.01)
        self.fail("the second worker never waited for the first one")

    def test_two_workers_receiving_the_same_delivery_store_it_once(self):
        account_id = self.committed_account()
        body = webhook_body(31926520, (2116, 10216994), account_id=self.emu.account_id)
        delivery, fingerprint = parse_webhook(body), delivery_fingerprint(body)

        def receive(account):
            # As Odoo's HTTP layer runs a request: retried in a new transaction when it
            # fails to serialise.
            events = account.env["kommo.webhook.event"]
            return retrying(
                lambda: events._kommo_receive(account, delivery, body, fingerprint), account.env
            )

        second = {}
        with self.registry.cursor() as first_cr:
            first_env = api.Environment(first_cr, SUPERUSER_ID, {})
            account = first_env["kommo.account"].browse(account_id)
            first = first_env["kommo.webhook.event"]._kommo_store(
                account, delivery, body, fingerprint
            )
            worker = threading.Thread(
                target=lambda: second.update(new=self.in_worker(account_id, receive))
            )
            worker.start()
            # The second worker's insert waits for the first one's outcome; then, under
            # REPEATABLE READ, its transaction fails and a new one stores nothing.
            self.wait_until_a_worker_waits_for_a_lock()
        worker.join(WORKER_TIMEOUT_SECONDS)
        self.assertFalse(worker.is_alive(), "the second worker never finished")
        self.assertTrue(first)
        self.assertIs(second.get("new"), False)
        with self.registry.cursor() as cr:
            events = api.Environment(cr, SUPERUSER_ID, {})["kommo.webhook.event"]
            self.assertEqual(events.search_count([("account_id", "=", account_id)]), 1)
