from odoo import Command
from odoo.exceptions import AccessError
from odoo.tests import new_test_user, tagged

from kommo_api.testing import LOST_STATUS_ID, WON_STATUS_ID

from .common_mapping import KommoMappingCase


@tagged("post_install", "-at_install")
class TestKommoDiscovery(KommoMappingCase):
    def test_refresh_imports_the_pipelines_with_their_stages(self):
        account = self.discovered_account()
        oficina = account.pipeline_ids
        self.assertEqual(oficina.mapped("name"), ["Oficina"])
        self.assertEqual(oficina.kommo_id, self.kommo_pipeline("Oficina")["id"])
        self.assertTrue(oficina.is_main)
        self.assertEqual(
            [(stage.name, stage.kind) for stage in oficina.stage_ids],
            [
                ("Novo", "normal"),
                ("Diagnóstico", "normal"),
                ("Em reparo", "normal"),
                ("Pronto para retirada", "normal"),
                ("Venda ganha", "won"),
                ("Venda perdida", "lost"),
            ],
        )
        self.assertEqual(oficina.stage_ids[-2:].mapped("kommo_id"), [WON_STATUS_ID, LOST_STATUS_ID])

    def test_refresh_chooses_the_main_pipeline_for_the_account(self):
        account = self.discovered_account()
        self.assertEqual(account.pipeline_id.name, "Oficina")

    def test_refresh_keeps_the_pipeline_the_admin_chose(self):
        self.emu.add_pipeline("Funilaria", ["Orçamento", "Pintura"])
        account = self.discovered_account()
        funilaria = account.pipeline_ids.filtered(lambda p: p.name == "Funilaria")
        account.pipeline_id = funilaria
        account.action_refresh_metadata()
        self.assertEqual(account.pipeline_id, funilaria)

    def test_refresh_imports_lead_and_contact_fields_with_their_options(self):
        account = self.discovered_account()
        status = self.lead_field(account, "Status da OS")
        self.assertEqual(status.field_type, "select")
        self.assertEqual(status.kommo_id, self.kommo_lead_field("Status da OS")["id"])
        self.assertEqual(
            status.enum_ids.mapped("value"),
            ["Aberta", "Aguardando peças", "Em execução", "Concluída", "Cancelada"],
        )
        self.assertEqual(
            sorted(self.lead_field(account, "Data prevista de entrega").mapped("field_type")),
            ["date"],
        )
        contact_fields = account.custom_field_ids.filtered(lambda f: f.entity_type == "contacts")
        self.assertEqual(sorted(contact_fields.mapped("code")), ["EMAIL", "PHONE", "POSITION"])

    def test_a_second_refresh_renames_what_was_renamed_without_duplicates(self):
        account = self.discovered_account()
        self.kommo_pipeline("Oficina")["name"] = "Oficina Centro"
        kommo_status = self.kommo_lead_field("Status da OS")
        kommo_status["name"] = "Situação da OS"
        kommo_status["enums"][0]["value"] = "Aberta (nova)"
        account.action_refresh_metadata()
        self.assertEqual(account.pipeline_ids.mapped("name"), ["Oficina Centro"])
        self.assertEqual(len(account.pipeline_ids.stage_ids), 6)
        status = self.lead_field(account, "Situação da OS")
        self.assertEqual(status.enum_ids[0].value, "Aberta (nova)")
        self.assertEqual(len(status.enum_ids), 5)
        self.assertFalse(self.lead_field(account, "Status da OS"))

    def test_a_second_refresh_archives_what_was_deleted_in_kommo(self):
        account = self.discovered_account()
        kommo_oficina = self.kommo_pipeline("Oficina")
        ready = next(
            s for s in kommo_oficina["statuses"].values() if s["name"] == "Pronto para retirada"
        )
        del kommo_oficina["statuses"][ready["id"]]
        kommo_status = self.kommo_lead_field("Status da OS")
        del self.emu.store.lead_fields[self.kommo_lead_field("Técnico responsável")["id"]]
        cancelled = kommo_status["enums"].pop()
        account.action_refresh_metadata()

        stages = (
            self.env["kommo.pipeline.stage"]
            .with_context(active_test=False)
            .search([("account_id", "=", account.id)])
        )
        self.assertEqual(len(stages), 6, "nothing is duplicated or deleted")
        self.assertFalse(stages.filtered(lambda s: s.kommo_id == ready["id"]).active)
        self.assertNotIn("Pronto para retirada", account.pipeline_id.stage_ids.mapped("name"))
        self.assertFalse(self.lead_field(account, "Técnico responsável"))
        status = self.lead_field(account, "Status da OS")
        self.assertNotIn(cancelled["value"], status.enum_ids.mapped("value"))
        archived_option = status.with_context(active_test=False).enum_ids.filtered(
            lambda enum: enum.kommo_id == cancelled["id"]
        )
        self.assertFalse(archived_option.active)

    def test_a_mapping_to_a_field_deleted_in_kommo_is_kept_and_flagged(self):
        account = self.discovered_account()
        status_map = self.field_map(account, "order_status")
        del self.emu.store.lead_fields[self.kommo_lead_field("Status da OS")["id"]]
        account.action_refresh_metadata()
        self.assertEqual(status_map.custom_field_id.name, "Status da OS")
        self.assertEqual(
            status_map.kommo_issue, "This field was deleted in Kommo: nothing is sent."
        )

    def test_a_pipeline_archived_in_kommo_is_replaced_by_the_main_one(self):
        self.emu.add_pipeline("Funilaria", ["Orçamento", "Pintura"])
        account = self.discovered_account()
        account.pipeline_id = account.pipeline_ids.filtered(lambda p: p.name == "Funilaria")
        self.kommo_pipeline("Funilaria")["is_archive"] = True
        account.action_refresh_metadata()
        self.assertEqual(account.pipeline_id.name, "Oficina")
        self.assertEqual(account.pipeline_ids.mapped("name"), ["Oficina"])

    def test_refresh_reads_pipelines_and_fields_in_three_calls(self):
        self.discovered_account()
        self.assertEqual(
            sorted(call.path for call in self.emu.log),
            [
                "/api/v4/contacts/custom_fields",
                "/api/v4/leads/custom_fields",
                "/api/v4/leads/pipelines",
            ],
        )

    def test_a_kommo_manager_refreshes_what_he_may_only_read(self):
        account = self.discovered_account()
        manager = new_test_user(
            self.env,
            login="kommo_manager",
            groups="base.group_user,kommo_connector.group_kommo_manager",
        )
        self.kommo_pipeline("Oficina")["name"] = "Oficina Centro"
        account.with_user(manager).action_refresh_metadata()
        pipeline = account.pipeline_id.with_user(manager)
        self.assertEqual(pipeline.name, "Oficina Centro")
        with self.assertRaises(AccessError):
            pipeline.name = "Changed in Odoo"

    def test_users_of_another_company_do_not_see_the_pipelines(self):
        account = self.discovered_account()
        other_company = self.env["res.company"].create({"name": "Other Workshop"})
        outsider = new_test_user(
            self.env,
            login="other_company_user",
            groups="base.group_user,kommo_connector.group_kommo_user",
            company_id=other_company.id,
            company_ids=[Command.set(other_company.ids)],
        )
        self.assertTrue(account.pipeline_ids)
        self.assertFalse(self.env["kommo.pipeline"].with_user(outsider).search([]))
        self.assertFalse(self.env["kommo.field.map"].with_user(outsider).search([]))
