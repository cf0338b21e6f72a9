from urllib.parse import parse_qs, urlencode, urlsplit

from odoo.tests import HttpCase, new_test_user, tagged

from ..controllers.main import KommoController
from .common import KommoEmulatorMixin


def _state_of(action):
    return parse_qs(urlsplit(action["url"]).query)["state"][0]


@tagged("post_install", "-at_install")
class TestOAuthCallback(KommoEmulatorMixin, HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.start_kommo_emulator(cls.base_url() + KommoController._oauth_callback_url)
        cls.admin = cls.env.ref("base.user_admin")
        # No host yet: Kommo tells which account was connected (``referer``).
        cls.account = cls.env["kommo.account"].create(cls.kommo_account_values(cls.env, host=False))

    def setUp(self):
        super().setUp()
        self.authenticate("admin", "admin")

    def admin_state(self):
        return _state_of(self.account.with_user(self.admin).action_connect())

    def callback(self, **params):
        return self.url_open(
            f"{KommoController._oauth_callback_url}?{urlencode(params)}", allow_redirects=False
        )

    def allow(self, state=None, referer=None):
        return self.callback(
            code=self.emu.issue_auth_code(self.kommo_app.client_id),
            state=state or self.admin_state(),
            referer=referer or self.emu.host,
        )

    def test_connect_sends_the_admin_to_the_kommo_authorize_page(self):
        action = self.account.with_user(self.admin).action_connect()
        url = urlsplit(action["url"])
        query = parse_qs(url.query)
        self.assertEqual(action["type"], "ir.actions.act_url")
        self.assertEqual(f"{url.scheme}://{url.netloc}{url.path}", self.emu.authorize_url)
        self.assertEqual(query["client_id"], [self.kommo_app.client_id])
        self.assertEqual(
            self.env["kommo.account"]
            .with_user(self.admin)
            ._kommo_account_from_state(query["state"][0]),
            self.account,
        )

    def test_allowing_access_connects_the_account_and_reads_it(self):
        response = self.allow()
        self.assertEqual(response.status_code, 303)
        self.assertTrue(response.headers["Location"].endswith(f"/{self.account.id}"))
        self.account.invalidate_recordset()
        self.assertEqual(self.account.state, "connected")
        self.assertEqual(self.account.host, self.emu.host)
        self.assertEqual(self.account.kommo_account_id, self.emu.account_id)
        self.assertEqual(self.account.kommo_account_name, "Oficina Demo")
        self.assertEqual(self.account.kommo_subdomain, "demo")
        self.assertTrue(self.account.access_token and self.account.refresh_token)

    def test_connecting_discovers_pipelines_and_fields(self):
        self.allow()
        self.account.invalidate_recordset()
        self.assertIn("Oficina", self.account.pipeline_ids.mapped("name"))
        self.assertIn("Status da OS", self.account.custom_field_ids.mapped("name"))

    def test_connecting_is_written_to_the_sync_log(self):
        self.allow()
        logs = self.env["kommo.sync.log"].search([("account_id", "=", self.account.id)])
        self.assertIn("connect", logs.mapped("operation"))
        self.assertIn("discovery", logs.mapped("operation"))
        failures = logs.filtered(lambda log: log.outcome != "success")
        self.assertFalse(failures.mapped(lambda log: (log.endpoint, log.error_message)))

    def test_a_forged_state_is_refused_with_403(self):
        response = self.callback(
            code=self.emu.issue_auth_code(self.kommo_app.client_id),
            state=f"{self.account.id}.0123456789abcdef",
            referer=self.emu.host,
        )
        self.assertEqual(response.status_code, 403)
        self.assertEqual(self.account.state, "not_connected")
        self.assertFalse(self.token_calls())

    def test_a_state_issued_to_another_user_is_refused_with_403(self):
        other_admin = new_test_user(self.env, "other_admin", groups="base.group_system")
        state = _state_of(self.account.with_user(other_admin).action_connect())
        self.assertEqual(self.allow(state=state).status_code, 403)
        self.assertFalse(self.token_calls())

    def test_only_an_administrator_may_complete_the_connection(self):
        new_test_user(
            self.env,
            "kommo_manager",
            password="kommo_manager_pw",
            groups="base.group_user,kommo_connector.group_kommo_manager",
        )
        state = self.admin_state()
        self.authenticate("kommo_manager", "kommo_manager_pw")
        self.assertEqual(self.allow(state=state).status_code, 403)
        self.assertFalse(self.token_calls())

    def test_pressing_deny_in_kommo_explains_it_on_the_account(self):
        response = self.callback(error="access_denied", state=self.admin_state())
        self.assertEqual(response.status_code, 303)
        self.account.invalidate_recordset()
        self.assertEqual(self.account.state, "error")
        self.assertIn("refused", self.account.last_error)
        self.assertIn("Allow", self.account.last_error)
        self.assertTrue(
            self.account.message_ids.filtered(lambda msg: self.account.last_error in msg.body)
        )

    def test_a_referer_outside_kommo_is_never_contacted(self):
        self.allow(referer="evil.example.com")
        self.account.invalidate_recordset()
        self.assertNotEqual(self.account.state, "connected")
        self.assertIn("evil.example.com", self.account.last_error)
        self.assertFalse(self.token_calls())

    def test_a_referer_of_another_kommo_account_is_refused(self):
        self.account.host = "other.kommo.com"
        self.allow(referer=self.emu.host)
        self.account.invalidate_recordset()
        self.assertNotEqual(self.account.state, "connected")
        self.assertIn("other.kommo.com", self.account.last_error)
        self.assertFalse(self.token_calls())

    def test_a_spent_code_leaves_the_account_unconnected_with_the_reason(self):
        code = self.emu.issue_auth_code(self.kommo_app.client_id)
        state = self.admin_state()
        self.callback(code=code, state=state, referer=self.emu.host)
        self.account.write({"state": "not_connected", "access_token": False})
        self.callback(code=code, state=state, referer=self.emu.host)
        self.account.invalidate_recordset()
        self.assertEqual(self.account.state, "error")
        self.assertIn("revoked", self.account.last_error)
