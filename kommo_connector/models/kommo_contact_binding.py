from odoo import api, fields, models

from kommo_api import base_url

from ..tools.compat import Constraint
from ..tools.kommo_id import KommoId


class KommoContactBinding(models.Model):
    """The Kommo contact a customer (res.partner) is in one Kommo account."""

    _name = "kommo.contact.binding"
    _description = "Kommo contact of a customer"
    _order = "id desc"
    _rec_name = "partner_id"

    account_id = fields.Many2one(
        "kommo.account", required=True, ondelete="cascade", index=True, readonly=True
    )
    company_id = fields.Many2one(
        related="account_id.company_id", store=True, index=True, readonly=True
    )
    partner_id = fields.Many2one(
        "res.partner", string="Customer", required=True, ondelete="cascade", index=True
    )
    kommo_contact_id = KommoId("Kommo contact ID", required=True, index=True)
    kommo_contact_url = fields.Char("Kommo contact", compute="_compute_kommo_contact_url")

    _account_partner_uniq = Constraint(
        "unique(account_id, partner_id)",
        "A customer is bound to one Kommo contact per Kommo account.",
    )

    @api.depends("kommo_contact_id", "account_id.host")
    def _compute_kommo_contact_url(self):
        for binding in self:
            host = binding.account_id.host
            binding.kommo_contact_url = (
                f"{base_url(host)}/contacts/detail/{binding.kommo_contact_id}"
                if host and binding.kommo_contact_id
                else False
            )

    @api.model
    def _kommo_contact_ids(self, account, partner_ids):
        """``{partner_id: kommo_contact_id}`` of the given partners already bound in ``account``."""
        if not partner_ids:
            return {}
        bindings = self.search_fetch(
            [("account_id", "=", account.id), ("partner_id", "in", list(partner_ids))],
            ["partner_id", "kommo_contact_id"],
        )
        return {binding.partner_id.id: binding.kommo_contact_id for binding in bindings}

    @api.model
    def _kommo_bind(self, account, contact_ids_by_partner):
        """Remember ``{partner_id: kommo_contact_id}``; a partner bound meanwhile keeps its own."""
        known = self._kommo_contact_ids(account, contact_ids_by_partner)
        self.create(
            [
                {"account_id": account.id, "partner_id": partner_id, "kommo_contact_id": contact_id}
                for partner_id, contact_id in contact_ids_by_partner.items()
                if partner_id not in known and contact_id
            ]
        )
