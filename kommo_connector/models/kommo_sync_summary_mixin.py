from odoo import fields, models


class KommoSyncSummaryMixin(models.AbstractModel):
    """What the account form and the Settings show of an account's sync: the repair orders
    waiting and failed, the last success and the sync log.

    Inherited by ``kommo.account``. Counted from ``kommo.lead.binding`` and ``kommo.sync.log``
    with grouped reads, whatever the number of accounts shown.
    """

    _name = "kommo.sync.summary.mixin"
    _description = "Kommo sync summary of an account"

    sync_log_count = fields.Integer(compute="_compute_sync_log_count")
    pending_count = fields.Integer("Waiting to be sent", compute="_compute_push_summary")
    error_count = fields.Integer("Failed", compute="_compute_push_summary")
    last_push_at = fields.Datetime("Last sent", compute="_compute_push_summary")

    def _compute_sync_log_count(self):
        counts = dict(
            self.env["kommo.sync.log"]._read_group(
                [("account_id", "in", self.ids)], ["account_id"], ["__count"]
            )
        )
        for account in self:
            account.sync_log_count = counts.get(account, 0)

    def _compute_push_summary(self):
        """What the Settings block shows: orders waiting, failed, and the last success."""
        bindings = self.env["kommo.lead.binding"].sudo()
        counts = {
            (account.id, state): count
            for account, state, count in bindings._read_group(
                [("account_id", "in", self.ids), ("sync_state", "in", ("pending", "error"))],
                ["account_id", "sync_state"],
                ["__count"],
            )
        }
        last = dict(
            bindings._read_group(
                [("account_id", "in", self.ids)], ["account_id"], ["last_sync_at:max"]
            )
        )
        for account in self:
            account.pending_count = counts.get((account.id, "pending"), 0)
            account.error_count = counts.get((account.id, "error"), 0)
            account.last_push_at = last.get(account, False)

    def action_open_sync_log(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "kommo_connector.action_kommo_sync_log"
        )
        action["domain"] = [("account_id", "=", self.id)]
        action["context"] = {"search_default_account_id": self.id}
        return action
