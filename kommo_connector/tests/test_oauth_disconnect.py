"""Kommo's disconnect hook: an administrator removed the integration in Kommo."""

import hashlib
import hmac
from urllib.parse import urlencode

from odoo.tests import HttpCase, tagged

from ..controllers.main import KommoController
from .common import KommoEmulatorMixin


def kommo_signature(client_id, client_secret, account_id):
    """As Kommo's OAuth page documents it: hex HMAC-SHA256 of ``client_id|account_id``."""
    message = f"{client_id}|{account_id}".encode()
    return hmac.new(client_secret.encode(), message, hashlib.sha256).hexdigest()


@tagged("post_install", "-at_install")
class TestDisconnectHook(KommoEmulatorMixin, HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.start_kommo_emulator(cls.base_url() + KommoController._oauth_callback_url)

    def setUp(self):
        super().setUp()
        self.account = self.env["kommo.account"].create(
            self.connected_values(self.env, webhook_registered=True)
        )
        self.env.flush_all()

    def hook(self, signature=None, **params):
        params = {
            "account_id": self.emu.account_id,
            "client_uuid": self.kommo_app.client_id,
            **params,
        }
        params["signature"] = signature or kommo_signature(
            params["client_uuid"], self.kommo_app.client_secret, params["account_id"]
        )
        return self.url_open(f"{KommoController._oauth_disconnect_url}?{urlencode(params)}")

    def test_a_signed_disconnect_stops_the_account_and_tells_the_admin(self):
        answer = self.hook()
        self.assertEqual(answer.status_code, 200)
        self.account.invalidate_recordset()
        self.assertEqual(self.account.state, "not_connected")
        self.assertFalse(self.account.access_token or self.account.refresh_token)
        self.assertFalse(self.account.webhook_registered)
        self.assertFalse(self.account._kommo_can_push())
        self.assertIn("removed in Kommo", "".join(self.account.message_ids.mapped("body")))
        self.assertTrue(self.account.activity_ids)

    def test_a_wrong_signature_changes_nothing(self):
        answer = self.hook(signature="0" * 64)
        self.assertEqual(answer.status_code, 403)
        self.account.invalidate_recordset()
        self.assertEqual(self.account.state, "connected")

    def test_a_signature_for_another_kommo_account_changes_nothing(self):
        other = self.emu.account_id + 1
        forged = kommo_signature(self.kommo_app.client_id, self.kommo_app.client_secret, other)
        answer = self.hook(signature=forged)
        self.assertEqual(answer.status_code, 403)
        self.account.invalidate_recordset()
        self.assertEqual(self.account.state, "connected")
