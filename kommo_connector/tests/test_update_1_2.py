"""The update from 1.1.0 (migrations/1.2.0): the account form's initial sync block, a view of
its own, showed fields the account no longer has; updating the account form validated it
with that former arch and stopped the update."""

import importlib.util
import json
from pathlib import Path

from odoo.tests import TransactionCase, tagged
from odoo.tools import convert_file, mute_logger
from odoo.tools.convert import ParseError

MIGRATION = Path(__file__).parents[1] / "migrations" / "1.2.0" / "pre-migrate.py"
BLOCK = "kommo_connector.view_kommo_account_form_initial_sync"
# The block as 1.1.0 installed it.
FORMER_ARCH = """<data>
    <notebook position="before">
        <group name="sync_progress" string="Repair orders in Kommo">
            <field name="sync_progress" widget="progressbar"/>
            <field name="synced_count"/>
        </group>
    </notebook>
</data>"""


@tagged("post_install", "-at_install")
class TestUpdateFrom110(TransactionCase):
    def setUp(self):
        super().setUp()
        block = self.env.ref(BLOCK)
        self.env.cr.execute(
            "UPDATE ir_ui_view SET arch_db = %s WHERE id = %s",
            [json.dumps({"en_US": FORMER_ARCH}), block.id],
        )
        self.env.invalidate_all()

    def load(self, filename):
        convert_file(self.env, "kommo_connector", filename, {}, mode="update")

    def migrate(self):
        spec = importlib.util.spec_from_file_location("kommo_update_1_2", MIGRATION)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        module.migrate(self.env.cr, "18.0.1.1.0")
        self.env.invalidate_all()

    def test_without_the_migration_the_account_form_does_not_update(self):
        with (
            self.assertRaisesRegex(ParseError, "sync_progress"),
            mute_logger("odoo.tools.convert", "odoo.addons.base.models.ir_ui_view"),
            self.env.cr.savepoint(),
        ):
            self.load("views/kommo_account_views.xml")

    def test_the_update_removes_the_former_block_and_loads_the_current_one(self):
        self.migrate()
        self.assertFalse(self.env.ref(BLOCK, raise_if_not_found=False))
        self.load("views/kommo_account_views.xml")
        self.load("wizard/kommo_initial_sync_views.xml")
        arch = self.env.ref(BLOCK).arch_db
        self.assertIn("initial_sync_progress", arch)
        self.assertNotIn('sync_progress"', arch.replace("initial_sync_progress", ""))
        form = self.env["kommo.account"].get_view(
            self.env.ref("kommo_connector.view_kommo_account_form").id
        )
        self.assertIn("initial_sync_progress", form["arch"])
