import threading

from odoo import SUPERUSER_ID, api
from odoo.tests import tagged

from kommo_api import delivery_fingerprint, parse_webhook

from .common import KommoCommittedCase
from .common_inbound import webhook_body


@tagged("post_install", "-at_install")
class TestWebhookStoreConcurrency(KommoCommittedCase):
    def test_two_workers_receiving_the_same_delivery_store_it_once(self):
        account_id = self.committed_account()
        body = webhook_body(31926520, (2116, 10216994), account_id=self.emu.account_id)

        def store(account):
            events = account.env["kommo.webhook.event"]
            return events._kommo_store(
                account, parse_webhook(body), body, delivery_fingerprint(body)
            ).ids

        with self.registry.cursor() as first_cr:
            first_env = api.Environment(first_cr, SUPERUSER_ID, {})
            first = store(first_env["kommo.account"].browse(account_id))
            # The second worker inserts while the first has not committed: it must wait for
            # the first one's outcome instead of storing a second copy or failing.
            second = {}
            worker = threading.Thread(
                target=lambda: second.update(ids=self.in_worker(account_id, store))
            )
            worker.start()
        worker.join()
        self.assertEqual(len(first), 1)
        self.assertEqual(second["ids"], [])
        with self.registry.cursor() as cr:
            events = api.Environment(cr, SUPERUSER_ID, {})["kommo.webhook.event"]
            self.assertEqual(events.search_count([("account_id", "=", account_id)]), 1)
