from odoo.tests import tagged

from ..const import WEBHOOK_EVENTS
from .common import KommoCase


@tagged("post_install", "-at_install")
class TestWebhookRegistration(KommoCase):
    def test_the_webhook_url_carries_the_account_secret(self):
        account = self.create_account()
        self.assertEqual(
            account.webhook_url,
            f"http://127.0.0.1:8069/kommo/webhook/{account.webhook_secret}",
        )

    def test_registering_subscribes_our_url_to_lead_events(self):
        account = self.create_account()
        account.action_register_webhook()
        (call,) = self.emu.calls("POST", "/api/v4/webhooks")
        self.assertEqual(call.json["destination"], account.webhook_url)
        self.assertEqual(sorted(call.json["settings"]), sorted(WEBHOOK_EVENTS))
        self.assertTrue(account.webhook_registered)
        self.assertEqual(self.logs(account, operation="webhook_register").outcome, "success")

    def test_unregistering_removes_our_url(self):
        account = self.create_account()
        account.action_register_webhook()
        account.action_unregister_webhook()
        (call,) = self.emu.calls("DELETE", "/api/v4/webhooks")
        self.assertEqual(call.json["destination"], account.webhook_url)
        self.assertFalse(account.webhook_registered)

    def test_disconnecting_forgets_the_tokens_and_the_webhook(self):
        account = self.create_account()
        account.action_register_webhook()
        account.action_disconnect()
        self.assertEqual(account.state, "not_connected")
        self.assertFalse(account.access_token or account.refresh_token)
        self.assertFalse(account.webhook_registered)
        self.assertEqual(len(self.emu.calls("DELETE", "/api/v4/webhooks")), 1)
