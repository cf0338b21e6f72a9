from odoo.exceptions import ValidationError
from odoo.tests import TransactionCase, tagged


@tagged("post_install", "-at_install")
class TestKommoAccountRules(TransactionCase):
    def test_a_company_has_at_most_one_active_account(self):
        self.env["kommo.account"].create({"name": "First"})
        with self.assertRaises(ValidationError):
            self.env["kommo.account"].create({"name": "Second"})

    def test_an_archived_account_does_not_block_a_new_one(self):
        self.env["kommo.account"].create({"name": "Old", "active": False})
        account = self.env["kommo.account"].create({"name": "New"})
        self.assertTrue(account.active)

    def test_a_host_that_is_not_kommo_is_refused(self):
        with self.assertRaises(ValidationError):
            self.env["kommo.account"].create({"name": "Evil", "host": "evil.example.com"})

    def test_redirect_uri_is_built_from_the_public_base_url(self):
        self.env["ir.config_parameter"].set_param("web.base.url", "https://odoo.example.com")
        account = self.env["kommo.account"].create({"name": "Kommo"})
        self.assertEqual(account.redirect_uri, "https://odoo.example.com/kommo/oauth/callback")

    def test_each_account_gets_its_own_webhook_secret(self):
        first = self.env["kommo.account"].create({"name": "First"})
        second = self.env["kommo.account"].create({"name": "Second", "active": False})
        self.assertTrue(first.webhook_secret)
        self.assertNotEqual(first.webhook_secret, second.webhook_secret)
        self.assertIn(first.webhook_secret, first.webhook_url)
