from odoo.exceptions import AccessError
from odoo.tests import new_test_user, tagged

from .common_push import KommoPushCase


@tagged("post_install", "-at_install")
class TestSyncKommoButton(KommoPushCase):
    def setUp(self):
        super().setUp()
        self.user = self.kommo_user()
        self.partner = self.customer(
            "Pedro Alves", phone="(11) 97777-1234", email="pedro@example.com"
        )

    def stage_for(self, state):
        return self.env["kommo.stage.map"]._kommo_stage_for_state(self.account, state)

    def status_option(self, state):
        status_map = self.field_map(self.account, "order_status")
        return status_map.value_map_ids.filtered(lambda line: line.odoo_value == state).enum_id

    def sync(self, order):
        result = order.with_user(self.user).action_kommo_sync()
        self.env.invalidate_all()
        return result["params"]

    def test_the_button_creates_the_lead_with_the_mapped_values(self):
        order = self.repair_order(self.partner)
        notice = self.sync(order)
        self.assertEqual(notice["type"], "success", notice["message"])
        lead = self.lead_of(order)
        self.assertEqual(lead["name"], f"{order.name} - Pedro Alves - Fiat Uno 2015")
        account = self.account
        self.assertEqual(
            self.lead_value(lead, self.kommo_field_id(account, "order_number")), [order.name]
        )
        self.assertEqual(
            self.lead_value(lead, self.kommo_field_id(account, "plate")), [order.lot_id.name]
        )
        self.assertEqual(
            self.lead_value(lead, self.kommo_field_id(account, "vehicle")), ["Fiat Uno 2015"]
        )
        self.assertEqual(
            self.lead_value(lead, self.kommo_field_id(account, "order_status")),
            [self.status_option("draft").kommo_id],
        )
        stage = self.stage_for("draft")
        self.assertEqual(
            (lead["pipeline_id"], lead["status_id"]), (stage.pipeline_id.kommo_id, stage.kommo_id)
        )

    def test_the_button_creates_the_customer_as_the_lead_contact(self):
        order = self.repair_order(self.partner)
        self.sync(order)
        lead = self.lead_of(order)
        (contact,) = self.contacts_of(lead["id"])
        self.assertEqual(contact["name"], "Pedro Alves")
        values = {
            entry["field_code"]: [value["value"] for value in entry["values"]]
            for entry in contact["custom_fields_values"]
        }
        self.assertEqual(values, {"PHONE": ["+5511977771234"], "EMAIL": ["pedro@example.com"]})
        self.assertTrue(
            self.partner.with_user(self.user).kommo_contact_url.endswith(
                f"/contacts/detail/{contact['id']}"
            )
        )

    def test_the_button_adds_the_diagnosis_as_a_note(self):
        order = self.repair_order(
            self.partner,
            internal_notes="<p>Barulho no freio dianteiro.</p><p>Trocar pastilhas.</p>",
        )
        self.sync(order)
        self.assertEqual(
            self.notes_of(self.lead_of(order)["id"]),
            ["Barulho no freio dianteiro.\nTrocar pastilhas."],
        )

    def test_the_order_form_shows_the_lead_its_stage_and_the_sync(self):
        order = self.repair_order(self.partner)
        self.sync(order)
        lead = self.lead_of(order)
        order = order.with_user(self.user)
        self.assertEqual(order.kommo_sync_state, "synced")
        self.assertTrue(order.kommo_last_sync)
        self.assertFalse(order.kommo_last_error)
        self.assertEqual(order.kommo_lead_url, f"{self.emu.url}/leads/detail/{lead['id']}")
        self.assertEqual(order.kommo_stage_name, self.stage_for("draft").name)

    def test_pressing_again_updates_the_same_lead(self):
        order = self.repair_order(self.partner)
        self.sync(order)
        self.emu.clear_log()
        order.partner_id.name = "Pedro Alves Jr."
        notice = self.sync(order)
        self.assertEqual(notice["type"], "success", notice["message"])
        self.assertEqual(len(self.leads_named(order.name)), 1)
        self.assertFalse(self.lead_creations())
        self.assertEqual(len(self.emu.calls("PATCH", "/api/v4/leads")), 1)
        self.assertEqual(
            self.lead_of(order)["name"], f"{order.name} - Pedro Alves Jr. - Fiat Uno 2015"
        )

    def test_an_unchanged_diagnosis_is_not_noted_twice_and_a_changed_one_is(self):
        order = self.repair_order(self.partner, internal_notes="<p>Óleo vencido.</p>")
        self.sync(order)
        self.sync(order)
        order.internal_notes = "<p>Óleo vencido. Filtro entupido.</p>"
        self.sync(order)
        self.assertEqual(
            self.notes_of(self.lead_of(order)["id"]),
            ["Óleo vencido.", "Óleo vencido. Filtro entupido."],
        )

    def test_confirming_starting_and_ending_the_repair_moves_the_lead(self):
        order = self.repair_order(self.partner)
        self.push()
        steps = [
            ("confirmed", order._action_repair_confirm),
            ("under_repair", order.action_repair_start),
            ("done", order.action_repair_end),
        ]
        for state, action in steps:
            with self.subTest(state=state):
                action()
                self.assertEqual(order.state, state)
                self.push()
                lead = self.lead_of(order)
                self.assertEqual(lead["status_id"], self.stage_for(state).kommo_id)
                self.assertEqual(
                    self.lead_value(lead, self.kommo_field_id(self.account, "order_status")),
                    [self.status_option(state).kommo_id],
                )
                self.assertEqual(
                    order.with_user(self.user).kommo_stage_name, self.stage_for(state).name
                )

    def test_a_refused_lead_is_reported_in_plain_words_without_a_traceback(self):
        status_map = self.field_map(self.account, "order_status")
        gone = self.env["kommo.custom.field.enum"].create(
            {"field_id": status_map.custom_field_id.id, "kommo_id": 999999, "value": "Apagada"}
        )
        status_map.value_map_ids.filtered(lambda line: line.odoo_value == "draft").enum_id = gone
        order = self.repair_order(self.partner)
        notice = self.sync(order)
        self.assertEqual(notice["type"], "danger")
        self.assertIn("“Status da OS”", notice["message"])
        self.assertIn("not a valid choice", notice["message"])
        self.assertEqual(order.with_user(self.user).kommo_sync_state, "error")
        self.assertEqual(order.with_user(self.user).kommo_last_error, notice["message"])
        self.assertFalse(self.leads_named(order.name))

    def test_the_button_says_when_the_account_is_not_connected(self):
        self.account.write({"state": "needs_reconnect", "last_error": "Reconnect Kommo."})
        order = self.repair_order(self.partner)
        notice = self.sync(order)
        self.assertEqual(notice["type"], "warning")
        self.assertIn("Reconnect Kommo.", notice["message"])
        self.assertFalse(self.emu.log)

    def repair_only_user(self):
        """A repair user of a shop that turned "Repair users sync with Kommo" off."""
        settings = self.env["res.config.settings"].create({})
        settings.group_kommo_user_for_repairs = False
        settings.execute()
        return new_test_user(self.env, login="repair_only", groups="stock.group_stock_user")

    def form_arch(self, user):
        views = self.env["repair.order"].with_user(user).get_views([(False, "form")])
        return views["views"]["form"]["arch"]

    def test_only_kommo_users_may_press_the_button(self):
        order = self.repair_order(self.partner)
        with self.assertRaises(AccessError):
            order.with_user(self.repair_only_user()).action_kommo_sync()
        self.assertFalse(self.emu.log)

    def test_the_form_shows_the_button_and_the_kommo_tab_to_kommo_users_only(self):
        kommo_form = self.form_arch(self.user)
        self.assertIn('name="action_kommo_sync"', kommo_form)
        self.assertIn('name="kommo_sync_state"', kommo_form)
        repair_form = self.form_arch(self.repair_only_user())
        self.assertNotIn("action_kommo_sync", repair_form)
        self.assertNotIn("kommo_sync_state", repair_form)
