from odoo import api, fields, models

from ..const import GROUP_USER


class ResPartner(models.Model):
    _inherit = "res.partner"

    kommo_contact_binding_ids = fields.One2many(
        "kommo.contact.binding", "partner_id", string="Kommo contacts", groups=GROUP_USER
    )
    kommo_contact_url = fields.Char(
        "Kommo contact",
        compute="_compute_kommo_contact_url",
        compute_sudo=True,
        groups=GROUP_USER,
    )

    @api.depends("kommo_contact_binding_ids.kommo_contact_url")
    @api.depends_context("company")
    def _compute_kommo_contact_url(self):
        account = self.env["kommo.account"]._kommo_for_company(self.env.company)
        for partner in self:
            binding = partner.kommo_contact_binding_ids.filtered(
                lambda binding: binding.account_id == account
            )[:1]
            partner.kommo_contact_url = binding.kommo_contact_url

    def action_open_kommo_contact(self):
        self.ensure_one()
        return {"type": "ir.actions.act_url", "url": self.kommo_contact_url, "target": "new"}
