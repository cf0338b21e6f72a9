from datetime import timedelta

from odoo import Command, fields
from odoo.exceptions import UserError, ValidationError
from odoo.tests import TransactionCase, new_test_user, tagged

from .common import KommoCommittedCase


@tagged("post_install", "-at_install")
class TestAccountWritesAfterKommoCalls(KommoCommittedCase):
    def test_registering_the_webhook_with_an_expired_token_calls_kommo_once(self):
        account_id = self.committed_account(
            token_expires_at=fields.Datetime.now() - timedelta(hours=1)
        )
        self.in_worker(account_id, lambda account: account.action_register_webhook())
        self.assertEqual(len(self.token_calls("refresh_token")), 1)
        self.assertEqual(len(self.emu.calls("POST", "/api/v4/webhooks")), 1)
        self.assertTrue(self.in_worker(account_id, lambda account: account.webhook_registered))

    def test_testing_the_connection_with_an_expired_token_records_the_kommo_account(self):
        account_id = self.committed_account(
            token_expires_at=fields.Datetime.now() - timedelta(hours=1),
            kommo_account_name=False,
        )
        self.in_worker(account_id, lambda account: account.action_test_connection())
        self.assertEqual(len(self.emu.calls("GET", "/api/v4/account")), 1)
        self.assertTrue(self.in_worker(account_id, lambda account: account.kommo_account_name))


@tagged("post_install", "-at_install")
class TestAccountCompanyConsistency(TransactionCase):
    def pipeline_of(self, account):
        return self.env["kommo.pipeline"].create(
            {"account_id": account.id, "kommo_id": 1, "name": "Funil de vendas"}
        )

    def test_the_pipeline_of_another_account_is_refused(self):
        archived = self.env["kommo.account"].create({"name": "Old", "active": False})
        account = self.env["kommo.account"].create({"name": "New"})
        with self.assertRaises(ValidationError):
            account.pipeline_id = self.pipeline_of(archived)

    def test_the_accounts_own_pipeline_is_accepted(self):
        account = self.env["kommo.account"].create({"name": "Kommo"})
        pipeline = self.pipeline_of(account)
        account.pipeline_id = pipeline
        self.assertEqual(account.pipeline_id, pipeline)

    def test_a_responsible_without_access_to_the_company_is_refused(self):
        other_company = self.env["res.company"].create({"name": "Oficina Filial"})
        outsider = new_test_user(
            self.env,
            login="kommo_outsider",
            company_id=other_company.id,
            company_ids=[Command.set(other_company.ids)],
        )
        account = self.env["kommo.account"].create({"name": "Kommo"})
        with self.assertRaises(UserError):
            account.user_id = outsider
