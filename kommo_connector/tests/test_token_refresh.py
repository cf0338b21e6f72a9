import unittest
from datetime import timedelta

from odoo import fields
from odoo.tests import tagged

from kommo_api import TOKEN_PATH, KommoClient, KommoTokenRevoked, MemoryTokenStore, OAuthApp

from .common import KommoCase, kommo_user


@tagged("post_install", "-at_install")
class TestTokenRefresh(KommoCase):
    def test_test_connection_reads_the_kommo_account(self):
        account = self.create_account()
        action = account.action_test_connection()
        self.assertEqual(action["params"]["type"], "success")
        self.assertEqual(account.kommo_account_name, "Oficina Demo")
        self.assertEqual(account.state, "connected")

    def test_a_401_refreshes_the_tokens_once_and_replays_the_call(self):
        account = self.create_account()
        old_token = account.access_token
        self.emu.faults.inject("401", path="/api/v4/account")
        action = account.action_test_connection()
        self.assertEqual(action["params"]["type"], "success")
        self.assertEqual(len(self.token_calls("refresh_token")), 1)
        self.assertEqual(len(self.emu.calls("GET", "/api/v4/account")), 2)
        account.invalidate_recordset()
        self.assertNotEqual(account.access_token, old_token)
        refresh_log = self.logs(account, operation="refresh_token")
        self.assertEqual(
            (refresh_log.http_method, refresh_log.endpoint, refresh_log.http_status),
            ("POST", TOKEN_PATH, 200),
        )
        self.assertEqual(refresh_log.outcome, "success")

    def test_an_expired_token_is_refreshed_before_it_is_used(self):
        account = self.create_account(token_expires_at=fields.Datetime.now() - timedelta(hours=1))
        account.action_test_connection()
        self.assertEqual(len(self.token_calls("refresh_token")), 1)
        self.assertEqual([call.status for call in self.emu.calls("GET", "/api/v4/account")], [200])

    def spend_refresh_token(self, account):
        """Another client refreshed with our refresh token and used the new pair: Kommo
        refuses the old refresh token from then on (until the new pair is used, it would
        still work: Kommo's OAuth 2.0 page)."""
        app = OAuthApp(self.kommo_app.client_id, self.kommo_app.client_secret, account.redirect_uri)
        fresh = app.refresh(self.emu.host, account.refresh_token)
        KommoClient(self.emu.host, MemoryTokenStore(app, self.emu.host, fresh)).get_account()

    def test_a_revoked_refresh_token_asks_for_reconnection(self):
        account = self.create_account(token_expires_at=fields.Datetime.now() - timedelta(hours=1))
        self.spend_refresh_token(account)
        action = account.action_test_connection()
        self.assertEqual(action["params"]["type"], "danger")
        self.assertEqual(account.state, "needs_reconnect")
        self.assertIn("Connect again", account.last_error)
        self.assertFalse(account.access_token or account.refresh_token)
        self.assertFalse(account._kommo_can_push())

    def test_a_revoked_connection_is_told_to_the_administrators_once(self):
        account = self.create_account(token_expires_at=fields.Datetime.now() - timedelta(hours=1))
        self.spend_refresh_token(account)
        account.action_test_connection()
        account.action_test_connection()
        activities = account.activity_ids.filtered(lambda act: act.summary == "Reconnect Kommo")
        self.assertIn(self.admin, activities.user_id)
        self.assertEqual(len(activities), len(activities.user_id))
        notices = account.message_ids.filtered(lambda msg: "no longer accepts" in msg.body)
        self.assertEqual(len(notices), 1)

    def test_the_responsible_user_is_told_instead_of_the_administrators(self):
        responsible = self.env.ref("base.user_admin")
        account = self.create_account(
            user_id=responsible.id, token_expires_at=fields.Datetime.now() - timedelta(hours=1)
        )
        self.spend_refresh_token(account)
        account.action_test_connection()
        self.assertEqual(
            account.activity_ids.filtered(lambda act: act.summary == "Reconnect Kommo").user_id,
            responsible,
        )

    def test_a_repair_users_sync_that_meets_a_revoked_connection_flags_it(self):
        account = self.create_account(token_expires_at=fields.Datetime.now() - timedelta(hours=1))
        self.spend_refresh_token(account)
        client = account.with_user(kommo_user(self.env))._kommo_client(operation="push_leads")
        # Odoo's assertRaises rolls back to a savepoint, undoing what the connector committed
        # in its own transaction (here nested in the test's): unittest's keeps it.
        with unittest.TestCase.assertRaises(self, KommoTokenRevoked):
            client.get_account()
        account.invalidate_recordset()
        self.assertEqual(account.state, "needs_reconnect")
        self.assertIn(self.admin, account.activity_ids.user_id)

    def test_a_revoked_connection_stops_calling_kommo(self):
        account = self.create_account(token_expires_at=fields.Datetime.now() - timedelta(hours=1))
        self.spend_refresh_token(account)
        account.action_test_connection()
        self.emu.clear_log()
        account.action_test_connection()
        self.assertFalse(self.emu.log)
        self.assertEqual(account.state, "needs_reconnect")

    def test_the_cron_renews_token_pairs_older_than_a_week(self):
        week_ago = fields.Datetime.now() - timedelta(days=8)
        old = self.create_account(token_obtained_at=week_ago)
        old_refresh_token = old.refresh_token
        self.env["kommo.account"]._cron_refresh_tokens()
        self.assertEqual(len(self.token_calls("refresh_token")), 1)
        old.invalidate_recordset()
        self.assertNotEqual(old.refresh_token, old_refresh_token)
        self.assertGreater(old.token_obtained_at, week_ago)

    def test_the_cron_leaves_recent_token_pairs_alone(self):
        self.create_account()
        self.env["kommo.account"]._cron_refresh_tokens()
        self.assertFalse(self.token_calls("refresh_token"))


@tagged("post_install", "-at_install")
class TestLongLivedToken(KommoCase):
    def create_long_lived(self, token):
        return self.create_account(connected=False, auth_mode="long_lived", long_lived_token=token)

    def test_connecting_with_a_long_lived_token_validates_it_with_kommo(self):
        account = self.create_long_lived(self.emu.issue_long_lived_token(days=30))
        action = account.action_connect()
        self.assertEqual(action["params"]["type"], "success")
        self.assertEqual(account.state, "connected")
        self.assertEqual(account.kommo_account_id, self.emu.account_id)
        self.assertTrue(account.pipeline_ids)

    def test_a_long_lived_token_kommo_refuses_is_not_connected(self):
        account = self.create_long_lived("not-a-token")
        action = account.action_connect()
        self.assertEqual(action["params"]["type"], "danger")
        self.assertEqual(account.state, "error")
        self.assertIn("long-lived token", account.last_error)
        self.assertFalse(self.token_calls())

    def test_a_long_lived_token_refused_later_asks_for_reconnection(self):
        account = self.create_long_lived(self.emu.issue_long_lived_token(days=30))
        account.action_connect()
        self.emu.faults.inject("401", path="/api/v4/account")
        account.action_test_connection()
        self.assertEqual(account.state, "needs_reconnect")
        self.assertFalse(self.token_calls())


@tagged("post_install", "-at_install")
class TestRenamedKommoAccount(KommoCase):
    """A Kommo account renamed (new subdomain) is followed, not disconnected."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # The rename moves the class's emulator: a fresh one for this class alone.
        cls.start_kommo_emulator("http://127.0.0.1:8069/kommo/oauth/callback")

    def test_the_account_follows_kommo_to_its_new_address(self):
        account = self.create_account(token_expires_at=fields.Datetime.now() - timedelta(hours=1))
        old_host = account.host
        new_host = self.emu.rename_subdomain("oficina2")
        action = account.action_test_connection()
        self.assertEqual(action["params"]["type"], "success")
        self.assertEqual((account.host, account.state), (new_host, "connected"))
        self.assertNotEqual(new_host, old_host)
        self.assertIn(new_host, "".join(account.message_ids.mapped("body")))
