from odoo import fields, models

from ..tools.compat import Constraint
from ..tools.kommo_id import KommoId


class KommoCustomFieldEnum(models.Model):
    """An option of a Kommo select / multiselect custom field (read-only mirror)."""

    _name = "kommo.custom.field.enum"
    _inherit = ["kommo.discovery.mixin"]
    _description = "Kommo Custom Field Option"
    _order = "field_id, sort, id"
    _rec_name = "value"

    field_id = fields.Many2one(
        "kommo.custom.field", string="Field", required=True, ondelete="cascade", index=True
    )
    account_id = fields.Many2one(
        related="field_id.account_id", string="Kommo Account", store=True, index=True
    )
    company_id = fields.Many2one(related="field_id.company_id", store=True, index=True)
    kommo_id = KommoId(string="Kommo ID", required=True, readonly=True)
    value = fields.Char(required=True, readonly=True)
    sort = fields.Integer(readonly=True)
    active = fields.Boolean(
        default=True, readonly=True, help="Archived when the option was deleted in Kommo."
    )

    _kommo_id_field_uniq = Constraint(
        "unique(field_id, kommo_id)", "A Kommo option is imported only once per field."
    )
