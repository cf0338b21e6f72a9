"""Setting the account up the first time, as an administrator meets it."""

from odoo.tests import Form, tagged

from .common import KommoCase


@tagged("post_install", "-at_install")
class TestAccountSetup(KommoCase):
    def set_base_url(self, url):
        self.env["ir.config_parameter"].set_param("web.base.url", url)

    def test_a_new_account_shows_its_redirect_uri_before_it_is_saved(self):
        self.set_base_url("https://oficina.example.com")
        form = Form(self.env["kommo.account"])
        self.assertEqual(form.redirect_uri, "https://oficina.example.com/kommo/oauth/callback")
        self.assertEqual(
            form.disconnect_hook_url, "https://oficina.example.com/kommo/oauth/disconnect"
        )
        self.assertFalse(form.base_url_warning)

    def test_an_address_kommo_cannot_reach_is_warned_about(self):
        account = self.create_account(connected=False)
        for url, words in (
            ("http://localhost:8069", "Kommo cannot reach it"),
            ("http://oficina.example.com", "plain http"),
        ):
            self.set_base_url(url)
            account.invalidate_recordset(["base_url_warning"])
            self.assertIn(words, account.base_url_warning)

    def test_the_connected_banner_is_one_sentence(self):
        account = self.create_account()
        account.kommo_account_name = "Oficina Demo"
        self.assertEqual(account.connected_message, "Connected to the Kommo account Oficina Demo.")
        account.kommo_account_name = False
        self.assertEqual(account.connected_message, "Connected to Kommo.")

    def test_phone_numbers_default_to_the_companys_country(self):
        self.env.company.country_id = self.env.ref("base.pt")
        account = self.env["kommo.account"].create({"name": "Kommo"})
        self.assertEqual(account.phone_country_id, self.env.ref("base.pt"))
        self.assertEqual(account.phone_region, "PT")

    def test_the_settings_block_shows_what_waits_and_what_failed(self):
        account = self.create_account()
        order = self.env["repair.order"].create(
            {"product_id": self.env["product.product"].create({"name": "Gol"}).id}
        )
        binding = self.env["kommo.lead.binding"].search([("repair_id", "=", order.id)])
        self.assertEqual((account.pending_count, account.error_count), (1, 0))
        binding.write({"sync_state": "error"})
        account.invalidate_recordset(["pending_count", "error_count"])
        settings = self.env["res.config.settings"].create({})
        self.assertEqual((settings.kommo_pending_count, settings.kommo_error_count), (0, 1))
        self.assertEqual(settings.kommo_account_host, self.emu.host)
