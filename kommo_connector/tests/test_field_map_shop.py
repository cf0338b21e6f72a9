"""The field mapping as a shop sets it up: fields picked, not typed; labels, not codes; Kommo
options proposed by name in the shop's Portuguese, with a report of what matched."""

from lxml import etree

from odoo.tests import tagged

from ..tools.field_path import normalize_label
from .common_mapping import KommoMappingCase


@tagged("post_install", "-at_install")
class TestFieldMapPicker(KommoMappingCase):
    def test_the_repair_order_field_is_picked_with_odoos_field_picker(self):
        for view_type in ("list", "form"):
            with self.subTest(view=view_type):
                arch = self.env["kommo.field.map"].get_view(view_type=view_type)["arch"]
                (path,) = etree.fromstring(arch).xpath("//field[@name='odoo_field_path']")
                # Odoo's picker, under the addon's name (static/src/js/kommo_field_path.js)
                self.assertEqual(path.get("widget"), "kommo_field_path")
                self.assertIn("'model': 'odoo_model'", path.get("options"))
        account = self.discovered_account()
        self.assertEqual(set(account.field_map_ids.mapped("odoo_model")), {"repair.order"})

    def test_a_picked_path_reads_as_the_labels_of_its_fields(self):
        account = self.discovered_account()
        self.assertEqual(
            account.field_map_ids.mapped("odoo_field_label"),
            [
                "Product to Repair > Display Name",
                "Lot/Serial > Lot/Serial Number",
                "Repair Reference",
                "Status",
            ],
        )
        plate = self.field_map(account, "plate")
        # What the picker writes for Lot/Serial > Internal Reference:
        plate.odoo_field_path = "lot_id.ref"
        self.assertEqual(plate.odoo_field_label, "Lot/Serial > Internal Reference")

    def test_the_kommo_field_type_is_named_in_words(self):
        account = self.discovered_account()
        status_map = self.field_map(account, "order_status")
        self.assertEqual(status_map.custom_field_type, "List (one option)")
        self.emu.add_custom_field("leads", name="Observações", type="textarea")
        account.action_refresh_metadata()
        notes = self.env["kommo.field.map"].create(
            {
                "account_id": account.id,
                "odoo_field_path": "internal_notes",
                "custom_field_id": self.lead_field(account, "Observações").id,
            }
        )
        self.assertEqual(notes.custom_field_type, "Long text")

    def test_option_lines_show_the_statuses_as_people_read_them(self):
        account = self.discovered_account()
        status_map = self.field_map(account, "order_status")
        self.assertTrue(status_map.odoo_field_is_selection)
        self.assertEqual(
            status_map.value_map_ids.mapped("odoo_value_label"),
            ["New", "Confirmed", "Under Repair", "Repaired", "Cancelled"],
        )


@tagged("post_install", "-at_install")
class TestProposeOptions(KommoMappingCase):
    """A Brazilian shop: Odoo speaks Portuguese too, Kommo's options are typed by its
    salespeople. The admin who presses the button reads Odoo in English."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env["res.lang"]._activate_lang("pt_BR")
        cls.env["ir.module.module"]._load_module_terms(["repair"], ["pt_BR"])
        # The labels cached in Portuguese must not outlive the rolled back translations.
        cls.addClassCleanup(cls.registry.clear_cache)

    def rename_kommo_options(self, account, field_name, names):
        """The shop renames the options of a Kommo field; Odoo reads them again."""
        kommo_field = self.kommo_lead_field(field_name)
        for option, name in zip(kommo_field["enums"], names, strict=True):
            option["value"] = name
        account.action_refresh_metadata()

    def options(self, field_map):
        return {line.odoo_value: line.enum_id.value for line in field_map.value_map_ids}

    def test_propose_matches_the_statuses_by_their_portuguese_names_whatever_the_case(self):
        account = self.discovered_account()
        status_map = self.field_map(account, "order_status")
        self.assertFalse(status_map.value_map_ids.enum_id, "Aberta, Concluída...: no match")
        self.rename_kommo_options(
            account, "Status da OS", ["NOVO", "confirmado", "Em Reparo", "reparado", "Cancelada"]
        )
        action = status_map.action_propose_value_lines()
        self.assertEqual(
            self.options(status_map),
            {
                "draft": "NOVO",
                "confirmed": "confirmado",
                "under_repair": "Em Reparo",
                "done": "reparado",
                "cancel": False,
            },
        )
        report = action["params"]
        self.assertEqual(report["type"], "warning")
        self.assertEqual(
            report["message"],
            "Matched by name: New → NOVO, Confirmed → confirmado, Under Repair → Em Reparo, "
            "Repaired → reparado. No Kommo option is named like Cancelled: pick their "
            "options yourself.",
        )
        # The dialog stays open on the lines it filled.
        self.assertEqual(
            (report["next"]["res_model"], report["next"]["res_id"], report["next"]["target"]),
            ("kommo.field.map", status_map.id, "new"),
        )

    def test_propose_ignores_accents(self):
        self.assertEqual(normalize_label("Concluída"), normalize_label("concluida"))
        self.emu.add_custom_field("leads", name="Peças", type="select", enums=["a", "b", "c"])
        account = self.discovered_account()
        parts_map = self.env["kommo.field.map"].create(
            {
                "account_id": account.id,
                "odoo_field_path": "parts_availability_state",
                "custom_field_id": self.lead_field(account, "Peças").id,
            }
        )
        self.rename_kommo_options(account, "Peças", ["DISPONIVEL", "esperado", "Em falta"])
        action = parts_map.action_propose_value_lines()
        self.assertEqual(
            self.options(parts_map),
            {"available": "DISPONIVEL", "expected": "esperado", "late": False},
        )
        self.assertIn("Available → DISPONIVEL", action["params"]["message"])
        self.assertIn("named like Late", action["params"]["message"])

    def test_options_the_admin_chose_are_kept_and_reported(self):
        account = self.discovered_account()
        status_map = self.field_map(account, "order_status")
        kommo_options = status_map.custom_field_id.enum_ids
        draft = status_map.value_map_ids.filtered(lambda line: line.odoo_value == "draft")
        draft.enum_id = kommo_options.filtered(lambda option: option.value == "Aberta")
        self.rename_kommo_options(
            account, "Status da OS", ["Aberta", "Confirmado", "Em reparo", "Reparado", "Cancelado"]
        )
        action = status_map.action_propose_value_lines()
        self.assertEqual(self.options(status_map)["draft"], "Aberta")
        self.assertEqual(action["params"]["type"], "success")
        self.assertIn("Kept as you set them: New → Aberta.", action["params"]["message"])

    def test_a_field_without_fixed_values_is_reported_not_guessed(self):
        account = self.discovered_account()
        status_map = self.field_map(account, "order_status")
        status_map.odoo_field_path = "name"
        status_map.value_map_ids.unlink()
        action = status_map.action_propose_value_lines()
        self.assertFalse(status_map.value_map_ids)
        self.assertEqual(action["params"]["type"], "warning")
        self.assertIn("“Repair Reference” has no fixed list", action["params"]["message"])
