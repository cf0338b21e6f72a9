from odoo import api, fields, models

from ..tools.compat import Constraint
from ..tools.kommo_id import KommoId


class KommoCustomField(models.Model):
    """A custom field of Kommo leads or contacts (read-only mirror)."""

    _name = "kommo.custom.field"
    _inherit = ["kommo.discovery.mixin"]
    _description = "Kommo Custom Field"
    _order = "account_id, entity_type, sort, id"

    account_id = fields.Many2one(
        "kommo.account", string="Kommo Account", required=True, ondelete="cascade", index=True
    )
    company_id = fields.Many2one(related="account_id.company_id", store=True, index=True)
    entity_type = fields.Selection(
        [("leads", "Leads"), ("contacts", "Contacts")], required=True, readonly=True
    )
    kommo_id = KommoId(string="Kommo ID", required=True, readonly=True)
    name = fields.Char(required=True, readonly=True)
    code = fields.Char(readonly=True, help="Kommo's field code, e.g. PHONE or EMAIL.")
    # Kommo keeps adding field types, so they are kept as Kommo spells them.
    field_type = fields.Char(
        string="Type", readonly=True, help="Kommo's field type: text, numeric, select, date..."
    )
    sort = fields.Integer(readonly=True)
    enum_ids = fields.One2many("kommo.custom.field.enum", "field_id", string="Options")
    active = fields.Boolean(
        default=True, readonly=True, help="Archived when the field was deleted in Kommo."
    )

    _kommo_id_account_entity_uniq = Constraint(
        "unique(account_id, entity_type, kommo_id)",
        "A Kommo custom field is imported only once per account.",
    )

    @api.model
    def _kommo_refresh(self, account, client):
        """Mirror the custom fields of Kommo leads and contacts, with their options."""
        field_model = self.sudo().with_context(active_test=False)
        enum_model = self.env["kommo.custom.field.enum"].sudo().with_context(active_test=False)
        mirrored = field_model.browse()
        for entity_type in ("leads", "contacts"):
            items = list(client.iter_custom_fields(entity_type))
            existing = field_model.search(
                [("account_id", "=", account.id), ("entity_type", "=", entity_type)]
            )
            records = field_model._kommo_upsert(
                existing,
                items,
                lambda item, entity_type=entity_type: {
                    "account_id": account.id,
                    "entity_type": entity_type,
                    "kommo_id": item["id"],
                    "name": item.get("name") or str(item["id"]),
                    "code": item.get("code") or False,
                    "field_type": item.get("type") or False,
                    "sort": item.get("sort") or 0,
                },
            )
            by_kommo_id = {record.kommo_id: record for record in records}
            for item in items:
                field = by_kommo_id[item["id"]]
                enum_model._kommo_upsert(
                    field.enum_ids,
                    item.get("enums") or [],
                    lambda enum, field=field: {
                        "field_id": field.id,
                        "kommo_id": enum["id"],
                        "value": enum.get("value") or str(enum["id"]),
                        "sort": enum.get("sort") or 0,
                    },
                )
            mirrored |= records
        return mirrored.with_env(self.env)
