"""What Odoo writes for a Brazilian shop is in Portuguese, whoever triggered it (a cron)."""

from unittest.mock import patch

from odoo.api import Environment
from odoo.tests import tagged
from odoo.tools import mute_logger

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

    def test_a_webhook_summary_is_in_the_readers_language(self):
        account = self.inbound_account()
        _order, binding = self.bound_order(account)
        lead = binding.kommo_lead_id
        event = self.receive(account, webhook_body(lead, self.stage(account, "Em reparo")))
        title = event.with_context(lang="pt_BR").title
        self.assertEqual(title, f"Lead {lead} movido para Em reparo")

    def test_a_mistyped_translation_of_a_summary_falls_back_to_english(self):
        account = self.inbound_account()
        _order, binding = self.bound_order(account)
        lead = binding.kommo_lead_id
        event = self.receive(account, webhook_body(lead, self.stage(account, "Em reparo")))
        translate = Environment._

        def mistyped(env, source, *args, **kwargs):
            text = translate(env, source, *args, **kwargs)
            return text.replace("%(stage)s", "%(etapa)s") if env.lang == "pt_BR" else text

        with (
            patch.object(Environment, "_", mistyped),
            mute_logger("odoo.addons.kommo_connector.tools.webhook_display"),
        ):
            title = event.with_context(lang="pt_BR").title
        self.assertEqual(title, f"Lead {lead} moved to Em reparo")
