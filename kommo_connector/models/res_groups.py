from odoo import Command, models

from ..tools import compat

PRIVILEGE_XMLID = "kommo_connector.res_groups_privilege_kommo"


class ResGroups(models.Model):
    _inherit = "res.groups"

    def _kommo_file_under(self, category_id):
        """Show these groups as one choice of the user form, under the module category.

        The security data calls this: 18.0 hangs groups on a category, 19.0 on a privilege of
        it, and no field of an XML record is understood by both. The privilege gets an XML id
        of the addon like any of its records: an update keeps it, an uninstall removes it.
        """
        category = self.env["ir.module.category"].browse(category_id)
        if compat.ODOO_MAJOR < 19:
            self.write({"category_id": category.id})
            return
        privilege = self.env["res.groups.privilege"]._load_records(
            [
                {
                    "xml_id": PRIVILEGE_XMLID,
                    "values": {
                        "name": category.name,
                        "description": category.description,
                        "category_id": category.id,
                        "sequence": category.sequence,
                    },
                    "noupdate": False,
                }
            ],
            update=True,
        )
        self.write({"privilege_id": privilege.id})

    def _kommo_restrict(self, model_name, record_ids):
        """Only members of these groups see these menus, actions or views (the field is
        ``groups_id`` on 18.0 and ``group_ids`` on 19.0)."""
        self.env[model_name].browse(record_ids).write(
            {compat.GROUPS_FIELD: [Command.link(group_id) for group_id in self.ids]}
        )
