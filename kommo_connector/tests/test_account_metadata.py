from odoo.tests import tagged

from .common import KommoCase


@tagged("post_install", "-at_install")
class TestAccountMetadataButtons(KommoCase):
    def test_refreshing_reads_pipelines_and_fields_and_says_how_many(self):
        account = self.create_account()
        action = account.action_refresh_metadata()
        self.assertIn("Oficina", account.pipeline_ids.mapped("name"))
        self.assertIn(str(len(account.pipeline_ids)), action["params"]["message"])
        self.assertEqual(set(self.logs(account).mapped("operation")), {"discovery"})

    def test_creating_missing_fields_asks_kommo_for_them_once(self):
        account = self.create_account()
        account.action_refresh_metadata()
        action = account.action_create_missing_fields()
        (call,) = self.emu.calls("POST", "/api/v4/leads/custom_fields")
        created = {field["name"] for field in call.json}
        self.assertTrue(created)
        for name in created:
            self.assertIn(name, action["params"]["message"])
        self.assertTrue(self.logs(account, operation="create_fields"))

    def test_creating_missing_fields_twice_creates_nothing_more(self):
        account = self.create_account()
        account.action_refresh_metadata()
        account.action_create_missing_fields()
        self.emu.clear_log()
        account.action_create_missing_fields()
        self.assertFalse(self.emu.calls("POST", "/api/v4/leads/custom_fields"))
