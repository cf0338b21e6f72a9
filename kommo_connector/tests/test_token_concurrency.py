from datetime import timedelta

from odoo import fields
from odoo.tests import tagged

from .common import KommoCommittedCase, run_workers


@tagged("post_install", "-at_install")
class TestTokenRefreshAcrossWorkers(KommoCommittedCase):
    def test_two_workers_with_an_expired_token_refresh_it_exactly_once(self):
        account_id = self.committed_account(
            token_expires_at=fields.Datetime.now() - timedelta(hours=1)
        )
        old_token = self.in_worker(account_id, lambda account: account.access_token)

        def read_kommo_account():
            return self.in_worker(
                account_id, lambda account: account._kommo_client().get_account()["id"]
            )

        results, errors = run_workers(2, read_kommo_account)
        self.assertEqual(errors, [])
        self.assertEqual(results, [self.emu.account_id, self.emu.account_id])
        self.assertEqual(len(self.token_calls("refresh_token")), 1)
        stored = self.in_worker(account_id, lambda account: account.access_token)
        self.assertNotEqual(stored, old_token)

    def test_the_refreshed_tokens_are_committed_before_they_are_used(self):
        account_id = self.committed_account(
            token_expires_at=fields.Datetime.now() - timedelta(hours=1)
        )

        def refresh_then_fail(account):
            account._kommo_client().get_account()
            raise RuntimeError("the business transaction fails after the call")

        with self.assertRaises(RuntimeError):
            self.in_worker(account_id, refresh_then_fail)
        # The single-use refresh token was spent: the new pair must have survived.
        self.assertEqual(
            self.in_worker(account_id, lambda account: account._kommo_client().get_account())["id"],
            self.emu.account_id,
        )
        self.assertEqual(len(self.token_calls("refresh_token")), 1)
