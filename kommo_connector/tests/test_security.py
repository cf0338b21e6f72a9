from odoo.exceptions import AccessError
from odoo.tests import HttpCase, JsonRpcException, TransactionCase, new_test_user, tagged

from .common import kommo_user

SECRET_FIELDS = [
    "client_secret",
    "access_token",
    "refresh_token",
    "long_lived_token",
    "webhook_secret",
    "token_expires_at",
]


def _account(env):
    return env["kommo.account"].create(
        {
            "name": "Kommo",
            "host": "acme.kommo.com",
            "client_id": "client",
            "client_secret": "the-client-secret",
            "access_token": "the-access-token",
            "refresh_token": "the-refresh-token",
            "long_lived_token": "the-long-lived-token",
        }
    )


@tagged("post_install", "-at_install")
class TestSecretsAreAdminOnly(TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.account = _account(cls.env)
        cls.repair_user = kommo_user(cls.env)
        cls.manager = new_test_user(
            cls.env,
            "kommo_manager",
            groups="base.group_user,kommo_connector.group_kommo_manager",
        )

    def test_a_repair_user_reads_the_connection_state(self):
        account = self.account.with_user(self.repair_user)
        self.assertEqual(account.read(["state", "host"])[0]["host"], "acme.kommo.com")

    def test_a_repair_user_cannot_read_any_secret(self):
        account = self.account.with_user(self.repair_user)
        for field in SECRET_FIELDS:
            with self.subTest(field=field), self.assertRaises(AccessError):
                account.read([field])

    def test_the_account_form_of_a_repair_user_holds_no_secret_field(self):
        views = (
            self.env["kommo.account"]
            .with_user(self.repair_user)
            .get_views([(False, "form"), (False, "list")])
        )
        form = views["views"]["form"]["arch"]
        self.assertIn('name="state"', form)
        for field in SECRET_FIELDS:
            self.assertNotIn(f'name="{field}"', form)

    def test_a_kommo_manager_who_is_not_an_admin_cannot_read_secrets_either(self):
        with self.assertRaises(AccessError):
            self.account.with_user(self.manager).read(["access_token"])

    def test_a_repair_user_cannot_change_the_account(self):
        with self.assertRaises(AccessError):
            self.account.with_user(self.repair_user).write({"host": "evil.kommo.com"})

    def test_administrators_are_kommo_managers(self):
        admin = self.env.ref("base.user_admin")
        self.assertTrue(admin.has_group("kommo_connector.group_kommo_manager"))
        self.assertTrue(admin.has_group("kommo_connector.group_kommo_user"))

    def test_the_secrets_are_not_copied(self):
        copy = self.account.copy({"active": False})
        self.assertFalse(copy.client_secret or copy.access_token or copy.refresh_token)
        self.assertNotEqual(copy.webhook_secret, self.account.webhook_secret)

    def test_an_account_of_another_company_is_invisible(self):
        other_company = self.env["res.company"].create({"name": "Other workshop"})
        outsider = kommo_user(self.env, login="outsider", company=other_company)
        self.assertFalse(self.env["kommo.account"].with_user(outsider).search([]))


@tagged("post_install", "-at_install")
class TestSecretsOverRpc(HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.account = _account(cls.env)
        user = kommo_user(cls.env)
        user.password = "repair-user-pw"

    def call_kw(self, method, args, kwargs=None):
        return self.make_jsonrpc_request(
            "/web/dataset/call_kw",
            {"model": "kommo.account", "method": method, "args": args, "kwargs": kwargs or {}},
        )

    def test_a_repair_user_asking_for_a_token_over_rpc_is_refused(self):
        self.authenticate("kommo_repair_user", "repair-user-pw")
        for field in ("access_token", "client_secret", "refresh_token"):
            with self.subTest(field=field), self.assertRaises(JsonRpcException) as refused:
                self.call_kw("read", [[self.account.id], [field]])
            self.assertIn("AccessError", str(refused.exception))

    def test_a_repair_user_reading_everything_over_rpc_gets_no_secret(self):
        self.authenticate("kommo_repair_user", "repair-user-pw")
        (values,) = self.call_kw("read", [[self.account.id]])
        self.assertEqual(values["host"], "acme.kommo.com")
        self.assertFalse(set(SECRET_FIELDS) & set(values))
        self.assertNotIn("the-access-token", str(values))
