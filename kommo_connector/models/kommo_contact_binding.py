from odoo import api, fields, models
from odoo.tools import SQL

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
        """Remember ``{partner_id: kommo_contact_id}``; a partner bound meanwhile keeps its own.

        Two push workers may bind one customer at the same moment: the row the other worker
        inserted first wins, quietly (``ON CONFLICT DO NOTHING``, no failed INSERT in the
        log). One committed after this transaction's snapshot is a serialization failure
        under REPEATABLE READ, retried by the caller (``PushRun.in_transaction``), which then
        sees it.
        """
        known = self._kommo_contact_ids(account, contact_ids_by_partner)
        rows = [
            SQL(
                "(%s, %s, %s, %s, %s, %s, %s, %s)",
                account.id,
                account.company_id.id,
                partner_id,
                contact_id,
                self.env.uid,
                SQL("now() AT TIME ZONE 'UTC'"),
                self.env.uid,
                SQL("now() AT TIME ZONE 'UTC'"),
            )
            for partner_id, contact_id in contact_ids_by_partner.items()
            if partner_id not in known and contact_id
        ]
        if not rows:
            return
        self.env.cr.execute(
            SQL(
                """INSERT INTO kommo_contact_binding (account_id, company_id, partner_id,
                       kommo_contact_id, create_uid, create_date, write_uid, write_date)
                   VALUES %s ON CONFLICT (account_id, partner_id) DO NOTHING""",
                SQL(", ").join(rows),
            ),
            log_exceptions=False,  # a serialization failure is retried by the caller
        )
        self.invalidate_model()
        self.env["res.partner"].invalidate_model(["kommo_contact_binding_ids", "kommo_contact_url"])
