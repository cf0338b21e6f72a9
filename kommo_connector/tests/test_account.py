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


@tagged("post_install", "-at_install")
class TestKommoSettings(TransactionCase):
    def settings(self):
        return self.env["res.config.settings"].create({})

    def test_open_account_creates_the_companys_account_once(self):
        first = self.settings().action_kommo_open_account()
        second = self.settings().action_kommo_open_account()
        account = self.env["kommo.account"].browse(first["res_id"])
        self.assertEqual(account.company_id, self.env.company)
        self.assertEqual(second["res_id"], account.id)

    def test_connect_opens_the_form_while_the_integration_is_not_filled_in(self):
        action = self.settings().action_kommo_connect()
        self.assertEqual((action["res_model"], action["view_mode"]), ("kommo.account", "form"))

    def test_connect_goes_to_kommo_once_the_integration_is_filled_in(self):
        self.env["kommo.account"].create(
            {"name": "Kommo", "client_id": "integration", "client_secret": "secret"}
        )
        action = self.settings().action_kommo_connect()
        self.assertEqual(action["type"], "ir.actions.act_url")
        self.assertTrue(action["url"].startswith("https://www.kommo.com/oauth?"))

    def test_the_settings_show_the_state_of_the_companys_account(self):
        self.env["kommo.account"].create({"name": "Kommo"})
        self.assertEqual(self.settings().kommo_account_state, "not_connected")
