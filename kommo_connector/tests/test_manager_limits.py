"""What a Kommo Manager who is not an administrator may and may not do with the connector."""

from odoo.exceptions import AccessError, ValidationError
from odoo.tests import new_test_user, tagged

from .common import KommoCase, kommo_user


@tagged("post_install", "-at_install")
class TestKommoManagerLimits(KommoCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # A repair (stock) user who configures Kommo and is not an administrator.
        cls.manager = new_test_user(
            cls.env,
            login="kommo_manager_not_admin",
            groups="stock.group_stock_user,kommo_connector.group_kommo_manager",
        )
        cls.repair_user = kommo_user(cls.env)

    def map_path_as(self, user, account, path):
        return (
            self.env["kommo.field.map"]
            .with_user(user)
            .create({"account_id": account.id, "odoo_field_path": path})
        )

    def test_a_manager_cannot_map_a_field_of_a_model_they_cannot_read(self):
        account = self.create_account()
        # Login history: only administrators read it.
        self.assertFalse(self.env["res.users.log"].with_user(self.manager).has_access("read"))
        with self.assertRaises(ValidationError):
            self.map_path_as(self.manager, account, "user_id.log_ids.create_date")

    def test_a_manager_maps_a_repair_order_field_they_can_read(self):
        account = self.create_account()
        fmap = self.map_path_as(self.manager, account, "lot_id.name")
        self.assertEqual(fmap.odoo_field_path, "lot_id.name")

    def test_a_manager_cannot_change_a_path_to_a_model_they_cannot_read(self):
        account = self.create_account()
        fmap = self.map_path_as(self.manager, account, "name")
        with self.assertRaises(ValidationError):
            fmap.write({"odoo_field_path": "user_id.log_ids.create_date"})

    def test_a_manager_cannot_point_the_account_to_this_server(self):
        account = self.create_account(connected=False, host="acme.kommo.com")
        with self.assertRaises(ValidationError):
            account.with_user(self.manager).write({"host": "127.0.0.1:9"})

    def test_a_manager_may_set_a_kommo_address(self):
        account = self.create_account(connected=False, host="acme.kommo.com")
        account.with_user(self.manager).write({"host": "other.kommo.com"})
        self.assertEqual(account.host, "other.kommo.com")

    def test_an_administrator_may_point_the_account_to_this_server(self):
        account = self.create_account(connected=False, host="acme.kommo.com")
        account.with_user(self.admin).write({"host": "127.0.0.1:9"})
        self.assertEqual(account.host, "127.0.0.1:9")

    def test_the_company_of_an_account_with_linked_leads_cannot_change(self):
        account = self.create_account()
        product = self.env["product.product"].create({"name": "Fiat Uno 2015", "type": "consu"})
        order = self.env["repair.order"].create({"product_id": product.id})
        if not order.kommo_lead_binding_ids:
            self.env["kommo.lead.binding"].create({"account_id": account.id, "repair_id": order.id})
        other_company = self.env["res.company"].create({"name": "Oficina Norte"})
        with self.assertRaises(ValidationError):
            account.company_id = other_company

    def test_the_company_of_an_account_without_linked_leads_can_change(self):
        account = self.create_account(connected=False)
        other_company = self.env["res.company"].create({"name": "Oficina Norte"})
        account.company_id = other_company
        self.assertEqual(account.company_id, other_company)

    def test_a_manager_cannot_read_the_webhook_url(self):
        account = self.create_account()
        self.assertTrue(account.webhook_url)
        with self.assertRaises(AccessError):
            account.with_user(self.manager).read(["webhook_url"])

    def test_a_manager_opens_the_account_form(self):
        account = self.create_account()
        views = self.env["kommo.account"].with_user(self.manager).get_views([(False, "form")])
        self.assertNotIn("webhook_url", views["views"]["form"]["arch"])
        form_fields = list(views["models"]["kommo.account"]["fields"])
        values = account.with_user(self.manager).read(form_fields)[0]
        self.assertEqual(values["state"], "connected")

    def test_an_administrator_sees_the_webhook_url_on_the_form(self):
        views = self.env["kommo.account"].with_user(self.admin).get_views([(False, "form")])
        self.assertIn("webhook_url", views["views"]["form"]["arch"])

    def test_only_a_manager_sees_send_again_on_the_kommo_leads_list(self):
        def list_arch(user):
            views = self.env["kommo.lead.binding"].with_user(user).get_views([(False, "list")])
            return views["views"]["list"]["arch"]

        self.assertNotIn("action_kommo_retry", list_arch(self.repair_user))
        self.assertIn("action_kommo_retry", list_arch(self.manager))

    def test_a_manager_can_still_register_the_webhook(self):
        account = self.create_account()
        account.with_user(self.manager).action_register_webhook()
        self.assertTrue(account.webhook_registered)
