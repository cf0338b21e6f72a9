import itertools
from datetime import datetime, timezone

from odoo.exceptions import ValidationError
from odoo.tests import tagged

from .common_mapping import KommoMappingCase


@tagged("post_install", "-at_install")
class TestKommoFieldMapPaths(KommoMappingCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.account = cls.env["kommo.account"].create(cls.connected_values(cls.env))
        cls.kommo_ids = itertools.count(1)

    def map_path(self, path, kommo_field=None):
        return self.env["kommo.field.map"].create(
            {
                "account_id": self.account.id,
                "odoo_field_path": path,
                "custom_field_id": kommo_field.id if kommo_field else False,
            }
        )

    def kommo_field(self, name, field_type):
        return self.env["kommo.custom.field"].create(
            {
                "account_id": self.account.id,
                "entity_type": "leads",
                "kommo_id": next(self.kommo_ids),
                "name": name,
                "field_type": field_type,
            }
        )

    def test_paths_to_values_of_the_order_and_its_links_are_accepted(self):
        for path in ("lot_id.name", "product_id.display_name", "name", "state"):
            with self.subTest(path=path):
                self.assertEqual(self.map_path(path).odoo_field_path, path)

    def test_a_path_with_an_unknown_field_names_it(self):
        with self.assertRaisesRegex(ValidationError, "“plate” is not a field of Lot/Serial"):
            self.map_path("lot_id.plate")

    def test_a_path_cannot_follow_a_value_that_is_not_a_link(self):
        with self.assertRaisesRegex(ValidationError, "“name” is not a link to another record"):
            self.map_path("name.size")

    def test_a_path_must_not_end_on_a_link(self):
        with self.assertRaisesRegex(ValidationError, "“lot_id.display_name”"):
            self.map_path("lot_id")

    def test_a_path_to_data_kommo_cannot_hold_is_refused(self):
        with self.assertRaisesRegex(ValidationError, "“repair_properties” holds data"):
            self.map_path("repair_properties")

    def test_an_empty_hop_is_refused(self):
        with self.assertRaisesRegex(ValidationError, "Enter the repair order field"):
            self.map_path("lot_id..name")

    def test_a_text_value_cannot_go_into_a_numeric_kommo_field(self):
        mileage = self.kommo_field("Quilometragem", "numeric")
        with self.assertRaisesRegex(ValidationError, "“Quilometragem” is of type numeric"):
            self.map_path("name", mileage)

    def test_a_kommo_field_is_mapped_only_once(self):
        notes = self.kommo_field("Observações", "textarea")
        self.map_path("name", notes)
        with self.assertRaisesRegex(ValidationError, "mapped twice"):
            self.map_path("lot_id.name", notes)

    def test_a_role_other_than_other_is_held_by_one_mapping(self):
        self.env["kommo.field.map"].create(
            {"account_id": self.account.id, "role": "plate", "odoo_field_path": "lot_id.name"}
        )
        with self.assertRaisesRegex(ValidationError, "role “Plate”"):
            self.env["kommo.field.map"].create(
                {"account_id": self.account.id, "role": "plate", "odoo_field_path": "name"}
            )


@tagged("post_install", "-at_install")
class TestKommoFieldMapDefaults(KommoMappingCase):
    def test_connecting_proposes_the_four_role_mappings(self):
        account = self.discovered_account()
        self.assertEqual(
            [(fmap.role, fmap.odoo_field_path) for fmap in account.field_map_ids],
            [
                ("vehicle", "product_id.display_name"),
                ("plate", "lot_id.name"),
                ("order_number", "name"),
                ("order_status", "state"),
            ],
        )

    def test_existing_kommo_fields_are_found_by_name_whatever_the_case_and_accents(self):
        self.emu.add_custom_field("leads", name="VEICULO", type="text")
        self.emu.add_custom_field("leads", name="license plate", type="text")
        account = self.discovered_account()
        self.assertEqual(self.field_map(account, "vehicle").custom_field_id.name, "VEICULO")
        self.assertEqual(self.field_map(account, "plate").custom_field_id.name, "license plate")
        self.assertEqual(
            self.field_map(account, "order_status").custom_field_id.name, "Status da OS"
        )
        self.assertFalse(self.field_map(account, "order_number").custom_field_id)

    def test_a_kommo_field_of_the_wrong_type_is_not_proposed(self):
        self.emu.add_custom_field("leads", name="Placa", type="numeric")
        account = self.discovered_account()
        self.assertFalse(self.field_map(account, "plate").custom_field_id)

    def test_proposing_again_keeps_what_the_admin_set(self):
        account = self.discovered_account()
        plate = self.field_map(account, "plate")
        plate.odoo_field_path = "lot_id.display_name"
        self.field_map(account, "order_status").custom_field_id = False
        account.action_refresh_metadata()
        self.assertEqual(len(account.field_map_ids), 4)
        self.assertEqual(plate.odoo_field_path, "lot_id.display_name")
        self.assertFalse(self.field_map(account, "order_status").custom_field_id)

    def test_a_status_sent_to_a_select_field_gets_one_option_line_per_repair_status(self):
        account = self.discovered_account()
        status_map = self.field_map(account, "order_status")
        self.assertEqual(
            status_map.value_map_ids.mapped("odoo_value"),
            ["draft", "confirmed", "under_repair", "done", "cancel"],
        )
        # The demo account's options are named unlike Odoo's statuses: the admin picks them.
        self.assertFalse(status_map.value_map_ids.enum_id)
        self.assertEqual(status_map.kommo_issue, "No value has a Kommo option: nothing is sent.")

    def test_option_lines_match_kommo_options_named_like_the_statuses(self):
        self.emu.add_custom_field(
            "leads", name="Order status", type="select", enums=["new", "Repaired", "Cancelled"]
        )
        del self.emu.store.lead_fields[self.kommo_lead_field("Status da OS")["id"]]
        account = self.discovered_account()
        lines = self.field_map(account, "order_status").value_map_ids
        self.assertEqual(
            {line.odoo_value: line.enum_id.value for line in lines if line.enum_id},
            {"draft": "new", "done": "Repaired", "cancel": "Cancelled"},
        )

    def test_an_option_of_another_field_is_refused(self):
        account = self.discovered_account()
        self.emu.add_custom_field("leads", name="Cor", type="select", enums=["Azul"])
        account.action_refresh_metadata()
        blue = self.lead_field(account, "Cor").enum_ids
        line = self.field_map(account, "order_status").value_map_ids[0]
        with self.assertRaisesRegex(ValidationError, "“Azul” is not an option"):
            line.enum_id = blue


@tagged("post_install", "-at_install")
class TestKommoCreateMissingFields(KommoMappingCase):
    def test_the_missing_fields_are_created_in_one_call_and_mapped(self):
        account = self.discovered_account()
        account.action_create_missing_fields()
        (creation,) = self.kommo_field_creations()
        self.assertEqual(
            [(field["name"], field["type"]) for field in creation.json],
            [("Vehicle", "text"), ("Plate", "text"), ("Order number", "text")],
        )
        for role, name in (
            ("vehicle", "Vehicle"),
            ("plate", "Plate"),
            ("order_number", "Order number"),
        ):
            with self.subTest(role=role):
                self.assertEqual(
                    self.field_map(account, role).custom_field_id.kommo_id,
                    self.kommo_lead_field(name)["id"],
                )
        self.assertEqual(
            self.field_map(account, "order_status").custom_field_id.name, "Status da OS"
        )

    def test_creating_the_missing_fields_twice_creates_nothing_more(self):
        account = self.discovered_account()
        account.action_create_missing_fields()
        fields_in_kommo = len(self.emu.store.lead_fields)
        account.action_create_missing_fields()
        self.assertEqual(len(self.kommo_field_creations()), 1)
        self.assertEqual(len(self.emu.store.lead_fields), fields_in_kommo)

    def test_a_missing_status_field_is_created_as_a_select_of_the_repair_statuses(self):
        del self.emu.store.lead_fields[self.kommo_lead_field("Status da OS")["id"]]
        account = self.discovered_account()
        account.action_create_missing_fields()
        kommo_status = self.kommo_lead_field("Order status")
        self.assertEqual(kommo_status["type"], "select")
        self.assertEqual(
            [enum["value"] for enum in kommo_status["enums"]],
            ["New", "Confirmed", "Under Repair", "Repaired", "Cancelled"],
        )
        lines = self.field_map(account, "order_status").value_map_ids
        self.assertEqual(
            {line.odoo_value: line.enum_id.kommo_id for line in lines},
            {
                state: enum["id"]
                for state, enum in zip(
                    ["draft", "confirmed", "under_repair", "done", "cancel"],
                    kommo_status["enums"],
                    strict=True,
                )
            },
        )

    def test_a_field_added_in_kommo_meanwhile_is_mapped_rather_than_created(self):
        account = self.discovered_account()
        self.emu.add_custom_field("leads", name="Placa", type="text")
        account.action_refresh_metadata()
        account.action_create_missing_fields()
        (creation,) = self.kommo_field_creations()
        self.assertNotIn("Plate", [field["name"] for field in creation.json])
        self.assertEqual(self.field_map(account, "plate").custom_field_id.name, "Placa")


@tagged("post_install", "-at_install")
class TestKommoFieldValues(KommoMappingCase):
    def mapped_account(self):
        """The demo account with the role fields created and "draft" mapped to "Aberta"."""
        account = self.discovered_account()
        account.action_create_missing_fields()
        status_map = self.field_map(account, "order_status")
        status_map.value_map_ids.filtered(
            lambda line: line.odoo_value == "draft"
        ).enum_id = status_map.custom_field_id.enum_ids.filtered(
            lambda enum: enum.value == "Aberta"
        )
        return account

    def kommo_id(self, name):
        return self.kommo_lead_field(name)["id"]

    def test_a_repair_order_gives_the_custom_field_values_of_its_lead(self):
        account = self.mapped_account()
        order = self.repair_order(vehicle="Fiat Uno 2015", plate="ABC1D23")
        aberta = self.kommo_lead_field("Status da OS")["enums"][0]
        self.assertEqual(
            account.field_map_ids._kommo_values(order),
            [
                {"field_id": self.kommo_id("Vehicle"), "values": [{"value": "Fiat Uno 2015"}]},
                {"field_id": self.kommo_id("Plate"), "values": [{"value": "ABC1D23"}]},
                {"field_id": self.kommo_id("Order number"), "values": [{"value": order.name}]},
                {"field_id": self.kommo_id("Status da OS"), "values": [{"enum_id": aberta["id"]}]},
            ],
        )

    def test_the_company_account_maps_are_used_when_none_are_given(self):
        account = self.mapped_account()
        order = self.repair_order()
        self.assertEqual(
            self.env["kommo.field.map"]._kommo_values(order),
            account.field_map_ids._kommo_values(order),
        )

    def test_empty_values_and_unmapped_options_are_left_out(self):
        account = self.mapped_account()
        order = self.repair_order(plate=None)
        order.action_repair_cancel()
        sent = [entry["field_id"] for entry in account.field_map_ids._kommo_values(order)]
        self.assertEqual(sent, [self.kommo_id("Vehicle"), self.kommo_id("Order number")])

    def test_numbers_dates_and_checkboxes_take_kommo_formats(self):
        self.emu.add_custom_field("leads", name="Quantidade", type="numeric")
        self.emu.add_custom_field("leads", name="Agendado para", type="date_time")
        self.emu.add_custom_field("leads", name="Garantia", type="checkbox")
        account = self.discovered_account()
        for name, path in (
            ("Quantidade", "product_qty"),
            ("Agendado para", "schedule_date"),
            ("Garantia", "under_warranty"),
        ):
            self.env["kommo.field.map"].create(
                {
                    "account_id": account.id,
                    "odoo_field_path": path,
                    "custom_field_id": self.lead_field(account, name).id,
                }
            )
        order = self.repair_order(schedule_date=datetime(2026, 3, 2, 14, 30))
        order.product_qty = 2.0
        values = {
            entry["field_id"]: entry["values"]
            for entry in account.field_map_ids._kommo_values(order)
        }
        moment = datetime(2026, 3, 2, 14, 30, tzinfo=timezone.utc).timestamp()
        self.assertEqual(values[self.kommo_id("Quantidade")], [{"value": 2.0}])
        self.assertEqual(values[self.kommo_id("Agendado para")], [{"value": int(moment)}])
        self.assertEqual(values[self.kommo_id("Garantia")], [{"value": False}])

    def test_kommo_accepts_the_values_on_a_new_lead(self):
        account = self.mapped_account()
        order = self.repair_order(vehicle="VW Gol 2019", plate="XYZ9K87")
        client = account._kommo_client(operation="push_leads")
        (lead,) = client.create_leads(
            [
                {
                    "name": order.name,
                    "custom_fields_values": account.field_map_ids._kommo_values(order),
                }
            ]
        )
        stored = self.emu.store.leads[lead["id"]]["custom_fields_values"]
        self.assertEqual(
            {entry["field_name"]: entry["values"][0]["value"] for entry in stored},
            {
                "Vehicle": "VW Gol 2019",
                "Plate": "XYZ9K87",
                "Order number": order.name,
                "Status da OS": "Aberta",
            },
        )
