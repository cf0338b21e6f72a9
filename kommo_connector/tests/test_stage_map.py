from odoo.exceptions import ValidationError
from odoo.tests import Form, tagged

from kommo_api.testing import LOST_STATUS_ID, WON_STATUS_ID

from .common_mapping import KommoMappingCase


@tagged("post_install", "-at_install")
class TestKommoStageMap(KommoMappingCase):
    def stage(self, account, name, pipeline=None):
        pipeline = pipeline or account.pipeline_id
        return pipeline.stage_ids.filtered(lambda stage: stage.name == name)

    def proposed(self, account):
        return {line.repair_state: line.stage_id.name for line in account.stage_map_ids}

    def with_funilaria(self):
        """The demo account plus a second pipeline "Funilaria"."""
        self.emu.add_pipeline("Funilaria", ["Orçamento", "Pintura"])
        account = self.discovered_account()
        return account, account.pipeline_ids.filtered(lambda p: p.name == "Funilaria")

    def test_connecting_proposes_a_stage_for_every_repair_status(self):
        account = self.discovered_account()
        self.assertEqual(
            self.proposed(account),
            {
                "draft": "Novo",
                "confirmed": "Diagnóstico",
                "under_repair": "Em reparo",
                "done": "Venda ganha",
                "cancel": "Venda perdida",
            },
        )

    def test_done_goes_to_won_and_cancelled_to_lost(self):
        account = self.discovered_account()
        self.assertEqual(self.stage_line(account, "done").stage_id.kommo_id, WON_STATUS_ID)
        self.assertEqual(self.stage_line(account, "cancel").stage_id.kommo_id, LOST_STATUS_ID)

    def test_statuses_without_a_fitting_stage_are_left_empty(self):
        account, funilaria = self.with_funilaria()
        account.pipeline_id = funilaria
        self.assertEqual(
            self.proposed(account),
            {
                "draft": "Orçamento",
                "confirmed": "Pintura",
                "under_repair": False,
                "done": "Closed - won",
                "cancel": "Closed - lost",
            },
        )

    def test_proposing_again_keeps_what_the_admin_chose(self):
        account = self.discovered_account()
        self.stage_line(account, "confirmed").stage_id = self.stage(account, "Novo")
        self.stage_line(account, "under_repair").stage_id = False
        account.action_refresh_metadata()
        self.assertEqual(len(account.stage_map_ids), 5)
        self.assertEqual(self.stage_line(account, "confirmed").stage_id.name, "Novo")
        self.assertFalse(self.stage_line(account, "under_repair").stage_id)

    def test_a_stage_deleted_in_kommo_is_proposed_again(self):
        account = self.discovered_account()
        self.stage_line(account, "under_repair").stage_id = self.stage(
            account, "Pronto para retirada"
        )
        kommo_oficina = self.kommo_pipeline("Oficina")
        ready = next(
            s for s in kommo_oficina["statuses"].values() if s["name"] == "Pronto para retirada"
        )
        del kommo_oficina["statuses"][ready["id"]]
        account.action_refresh_metadata()
        self.assertEqual(self.stage_line(account, "under_repair").stage_id.name, "Em reparo")

    def test_a_stage_of_another_pipeline_is_refused(self):
        account, funilaria = self.with_funilaria()
        with self.assertRaisesRegex(ValidationError, "“Pintura” is not in the pipeline “Oficina”"):
            self.stage_line(account, "draft").stage_id = self.stage(account, "Pintura", funilaria)

    def test_choosing_another_pipeline_proposes_its_stages(self):
        account, funilaria = self.with_funilaria()
        self.stage_line(account, "under_repair").stage_id = False
        account.pipeline_id = funilaria
        self.assertEqual(self.stage_line(account, "draft").stage_id.name, "Orçamento")
        self.assertEqual(self.stage_line(account, "done").stage_id.pipeline_id, funilaria)
        self.assertFalse(self.stage_line(account, "under_repair").stage_id)

    def test_the_account_form_shows_the_new_pipeline_proposal_before_saving(self):
        account, funilaria = self.with_funilaria()
        with Form(account) as form:
            form.pipeline_id = funilaria
            with form.stage_map_ids.edit(0) as draft_line:
                self.assertEqual(draft_line.stage_id.name, "Orçamento")
                draft_line.stage_id = self.stage(account, "Pintura", funilaria)
        self.assertEqual(self.stage_line(account, "draft").stage_id.name, "Pintura")
        self.assertEqual(self.stage_line(account, "confirmed").stage_id.name, "Pintura")

    def test_the_stage_of_a_status_is_found_for_sending(self):
        account = self.discovered_account()
        stage_map = self.env["kommo.stage.map"]
        self.assertEqual(
            stage_map._kommo_stage_for_state(account, "under_repair").name, "Em reparo"
        )
        self.stage_line(account, "under_repair").stage_id = False
        self.assertFalse(stage_map._kommo_stage_for_state(account, "under_repair"))

    def test_a_kommo_stage_gives_back_its_repair_status(self):
        account = self.discovered_account()
        oficina = account.pipeline_id
        diagnosis = self.stage(account, "Diagnóstico")
        self.assertEqual(
            self.env["kommo.stage.map"]._repair_state_for_stage(
                account, oficina.kommo_id, diagnosis.kommo_id
            ),
            "confirmed",
        )
        self.assertEqual(
            self.env["kommo.stage.map"]._repair_state_for_stage(account, None, WON_STATUS_ID),
            "done",
        )

    def test_a_stage_shared_by_two_statuses_gives_back_none(self):
        account = self.discovered_account()
        novo = self.stage(account, "Novo")
        self.stage_line(account, "confirmed").stage_id = novo
        self.assertFalse(
            self.env["kommo.stage.map"]._repair_state_for_stage(
                account, account.pipeline_id.kommo_id, novo.kommo_id
            )
        )
        self.assertIn(
            "Another status has the same stage", self.stage_line(account, "draft").kommo_issue
        )

    def test_a_stage_of_another_pipeline_gives_back_none(self):
        account, funilaria = self.with_funilaria()
        self.assertFalse(
            self.env["kommo.stage.map"]._repair_state_for_stage(
                account, funilaria.kommo_id, WON_STATUS_ID
            )
        )
