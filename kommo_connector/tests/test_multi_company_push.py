from odoo.exceptions import ValidationError
from odoo.tests import tagged

from .common_push import KommoPushCase


@tagged("post_install", "-at_install")
class TestMultiCompanyPush(KommoPushCase):
    def setUp(self):
        super().setUp()
        self.company_b = self.env["res.company"].create({"name": "Oficina Filial"})
        self.env.user.company_ids |= self.company_b
        self.emu_b = self.start_emulator(subdomain="filial", account_id=30000002)
        self.account_b = self.connected_account(self.emu_b, company=self.company_b)
        self.order_a = self.repair_order(self.customer("Cliente Matriz", phone="11 94444-0001"))
        self.order_b = self.repair_order(
            self.customer("Cliente Filial", phone="11 94444-0002", company_id=self.company_b.id),
            company=self.company_b,
        )

    def test_each_companys_orders_go_to_its_own_kommo_account(self):
        self.push()
        self.assertEqual(len(self.leads_named(self.order_a.name, self.emu)), 1)
        self.assertEqual(len(self.leads_named(self.order_b.name, self.emu_b)), 1)
        self.assertFalse(self.leads_named(self.order_b.name, self.emu))
        self.assertFalse(self.leads_named(self.order_a.name, self.emu_b))
        self.assertEqual(self.binding(self.order_a).account_id, self.account)
        self.assertEqual(self.binding(self.order_b, self.account_b).account_id, self.account_b)
        self.assertEqual(self.binding(self.order_b, self.account_b).sync_state, "synced")

    def test_each_account_is_called_with_its_own_credentials_only(self):
        self.push()
        for emu in (self.emu, self.emu_b):
            with self.subTest(emu=emu.host):
                self.assertTrue(emu.log)
                self.assertEqual([call for call in emu.log if call.status >= 300], [])

    def test_the_button_syncs_an_order_with_its_companys_account(self):
        self.order_b.with_company(self.company_b).action_kommo_sync()
        self.assertEqual(len(self.leads_named(self.order_b.name, self.emu_b)), 1)
        self.assertFalse(self.emu.calls("POST"), "company A's Kommo is not called")

    def test_an_order_cannot_be_bound_to_another_companys_account(self):
        with self.assertRaisesRegex(
            ValidationError, "can only be sent to that company's Kommo account"
        ):
            self.env["kommo.lead.binding"].create(
                {"account_id": self.account.id, "repair_id": self.order_b.id}
            )
