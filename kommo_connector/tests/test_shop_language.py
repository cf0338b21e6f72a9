"""What Odoo writes for a Brazilian shop is in Portuguese, whoever triggered it (a cron)."""

from odoo.tests import tagged

from .common_inbound import KommoInboundCase, webhook_body


@tagged("post_install", "-at_install")
class TestShopLanguage(KommoInboundCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env["res.lang"]._activate_lang("pt_BR")
        cls.env["ir.module.module"]._load_module_terms(["kommo_connector"], ["pt_BR"])
        cls.env.company.partner_id.lang = "pt_BR"

    def test_the_chatter_of_a_lead_moved_in_kommo_is_in_the_shops_language(self):
        account = self.inbound_account()
        order, binding = self.bound_order(account)
        # The processing cron runs as OdooBot, in English.
        self.receive_and_process(
            account.with_context(lang="en_US"),
            webhook_body(binding.kommo_lead_id, self.stage(account, "Diagnóstico")),
        )
        self.assertIn("o lead foi movido para", self.kommo_notes(order)[-1])

    def test_the_kommo_fields_odoo_creates_are_named_in_the_shops_language(self):
        account = self.inbound_account()
        account.with_context(lang="en_US").action_create_missing_fields()
        names = account.field_map_ids.custom_field_id.mapped("name")
        self.assertIn("Veículo", names)
        self.assertIn("Placa", names)
