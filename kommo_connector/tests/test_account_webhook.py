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


@tagged("post_install", "-at_install")
class TestWebhookWatch(KommoCase):
    """Kommo disables a webhook after more than 100 non-2xx answers in 2 hours: the account
    watches its webhook as Kommo reports it and registers it again."""

    def registered_account(self):
        account = self.create_account()
        account.action_register_webhook()
        return account

    def our_hook(self, account):
        hooks = self.emu.store.webhooks.values()
        return next(hook for hook in hooks if hook["destination"] == account.webhook_url)

    def watch(self):
        self.env["kommo.account"]._cron_watch_webhooks()

    def restored_notices(self, account):
        return account.activity_ids.filtered(lambda act: act.summary == "Kommo webhook restored")

    def test_an_active_webhook_is_left_alone(self):
        account = self.registered_account()
        self.emu.clear_log()
        self.watch()
        self.assertEqual(account.webhook_state, "active")
        self.assertTrue(account.webhook_checked_at)
        self.assertFalse(self.emu.calls("POST", "/api/v4/webhooks"))
        self.assertFalse(self.restored_notices(account))

    def test_a_webhook_kommo_disabled_is_registered_again_and_the_admin_told(self):
        account = self.registered_account()
        self.our_hook(account)["disabled"] = True
        self.watch()
        self.assertFalse(self.our_hook(account)["disabled"])
        self.assertEqual(account.webhook_state, "active")
        self.assertIn(self.admin, self.restored_notices(account).user_id)
        self.assertIn("Disabled by Kommo", account.message_ids[0].body)

    def test_a_webhook_missing_in_kommo_is_registered_again(self):
        account = self.registered_account()
        self.emu.store.webhooks.clear()
        action = account.action_check_webhook()
        self.assertEqual(action["params"]["type"], "warning")
        self.assertEqual(sorted(self.our_hook(account)["settings"]), sorted(WEBHOOK_EVENTS))
        self.assertTrue(self.restored_notices(account))

    def test_an_account_without_a_registered_webhook_is_not_watched(self):
        account = self.create_account()
        self.watch()
        self.assertFalse(self.emu.calls("GET", "/api/v4/webhooks"))
        self.assertFalse(account.webhook_state)
