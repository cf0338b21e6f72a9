from odoo import _, api, fields, models
from odoo.exceptions import ValidationError


class KommoFieldMapValue(models.Model):
    """Which option of a Kommo select field an Odoo value becomes."""

    _name = "kommo.field.map.value"
    _description = "Kommo Option Mapping"
    _order = "field_map_id, id"

    field_map_id = fields.Many2one(
        "kommo.field.map", string="Field Mapping", required=True, ondelete="cascade", index=True
    )
    account_id = fields.Many2one(related="field_map_id.account_id", store=True, index=True)
    company_id = fields.Many2one(related="field_map_id.company_id", store=True, index=True)
    custom_field_id = fields.Many2one(related="field_map_id.custom_field_id")
    odoo_value = fields.Char(
        required=True,
        help="The value as Odoo stores it, e.g. draft or done for the repair status.",
    )
    enum_id = fields.Many2one(
        "kommo.custom.field.enum",
        string="Kommo Option",
        ondelete="set null",
        domain="[('field_id', '=', custom_field_id)]",
        help="Empty: the value is not sent.",
    )

    _sql_constraints = [
        (
            "odoo_value_uniq",
            "unique(field_map_id, odoo_value)",
            "Each Odoo value can have only one Kommo option.",
        ),
    ]

    @api.constrains("enum_id", "field_map_id")
    def _check_enum_belongs_to_field(self):
        for line in self.filtered("enum_id"):
            if line.enum_id.field_id != line.field_map_id.custom_field_id:
                raise ValidationError(
                    _(
                        "“%(option)s” is not an option of the Kommo field “%(field)s”.",
                        option=line.enum_id.value,
                        field=line.field_map_id.custom_field_id.name,
                    )
                )
