from odoo import Command
from odoo.exceptions import AccessError
from odoo.tests import tagged

from ..tools.compat import GROUPS_FIELD
from .common import kommo_user
from .common_inbound import KommoInboundCase, webhook_body


@tagged("post_install", "-at_install")
class TestWebhookAccess(KommoInboundCase):
    def test_a_repair_user_reads_webhooks_but_cannot_process_them_again(self):
        account = self.inbound_account()
        event = self.receive(account, webhook_body(5))
        self.env["kommo.webhook.event"]._cron_process_events()
        as_user = event.with_user(kommo_user(self.env))
        self.assertEqual((as_user.summary, as_user.state), ("status_lead #5", "ignored"))
        with self.assertRaises(AccessError):
            as_user.action_process_again()
        with self.assertRaises(AccessError):
            as_user.unlink()

    def test_a_kommo_manager_processes_webhooks_again(self):
        account = self.inbound_account()
        event = self.receive(account, webhook_body(5))
        manager = kommo_user(self.env, login="kommo_manager")
        manager[GROUPS_FIELD] = [
            Command.link(self.env.ref("kommo_connector.group_kommo_manager").id)
        ]
        event.with_user(manager).action_process_again()
        self.assertEqual(event.state, "ignored")
        self.assertEqual(event.attempts, 1)

    def test_webhooks_of_another_company_are_hidden(self):
        account = self.inbound_account()
        event = self.receive(account, webhook_body(6))
        other_company = self.env["res.company"].create({"name": "Other workshop"})
        outsider = kommo_user(self.env, login="outsider", company=other_company)
        visible = self.env["kommo.webhook.event"].with_user(outsider).search([])
        self.assertNotIn(event, visible)
