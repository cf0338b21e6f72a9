from odoo import Command
from odoo.exceptions import AccessError
from odoo.tests import tagged

from .common import KommoCase, KommoCommittedCase, kommo_user


@tagged("post_install", "-at_install")
class TestSyncLog(KommoCase):
    def test_every_exchange_is_one_row_with_its_outcome(self):
        account = self.create_account()
        account.action_test_connection()
        row = self.logs(account, operation="test_connection")
        self.assertEqual(len(row), 1)
        self.assertEqual(
            (row.direction, row.http_method, row.endpoint, row.http_status, row.outcome),
            ("outbound", "GET", "/api/v4/account", 200, "success"),
        )
        self.assertEqual(row.company_id, account.company_id)

    def test_a_failed_exchange_is_explained_without_any_token(self):
        account = self.create_account()
        self.emu.faults.inject("402", path="/api/v4/account")
        account.action_test_connection()
        row = self.logs(account, operation="test_connection")
        self.assertEqual((row.outcome, row.http_status), ("error", 402))
        self.assertTrue(row.error_message)
        for secret in (account.access_token, account.refresh_token, account.client_secret):
            self.assertNotIn(secret, row.error_message)
        self.assertEqual(account.state, "error")
        self.assertEqual(account.last_error, row.error_message)

    def test_a_repair_user_reads_the_log_but_cannot_change_it(self):
        account = self.create_account()
        account.action_test_connection()
        user = kommo_user(self.env)
        row = self.logs(account).with_user(user)
        self.assertEqual(row.operation, "test_connection")
        with self.assertRaises(AccessError):
            row.write({"outcome": "error"})
        with self.assertRaises(AccessError):
            row.unlink()
        with self.assertRaises(AccessError):
            self.env["kommo.sync.log"].with_user(user).create(
                {"account_id": account.id, "operation": "forged"}
            )

    def test_the_log_of_another_company_is_hidden(self):
        account = self.create_account()
        account.action_test_connection()
        other_company = self.env["res.company"].create({"name": "Other workshop"})
        outsider = kommo_user(self.env, login="outsider", company=other_company)
        outsider.company_ids = [Command.set(other_company.ids)]
        logs = self.env["kommo.sync.log"].with_user(outsider).search([])
        self.assertNotIn(account, logs.account_id)


@tagged("post_install", "-at_install")
class TestSyncLogSurvivesRollback(KommoCommittedCase):
    def test_the_log_row_survives_a_rolled_back_business_transaction(self):
        account_id = self.committed_account()

        def call_then_fail(account):
            account.action_test_connection()
            raise RuntimeError("the business transaction fails after the call")

        with self.assertRaises(RuntimeError):
            self.in_worker(account_id, call_then_fail)
        operations = self.in_worker(
            account_id,
            lambda account: (
                account.env["kommo.sync.log"]
                .search([("account_id", "=", account.id)])
                .mapped("operation")
            ),
        )
        self.assertEqual(operations, ["test_connection"])
