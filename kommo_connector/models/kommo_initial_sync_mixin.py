from collections import defaultdict
from datetime import timedelta

from odoo import fields, models


class KommoInitialSyncMixin(models.AbstractModel):
    """The account's last initial sync (the ``kommo.initial.sync`` wizard's Start): when it
    started and how far the push got with the orders it queued, which carry the same moment
    (``kommo.lead.binding.initial_sync_at``). Orders sent before, or by other means, are not
    part of it: the progress is the current sync's."""

    _name = "kommo.initial.sync.mixin"
    _description = "Initial sync of a Kommo account"

    initial_sync_at = fields.Datetime(
        "Initial sync started",
        readonly=True,
        copy=False,
        help="When the last initial sync queued repair orders for Kommo.",
    )
    initial_sync_total = fields.Integer("Repair orders queued", compute="_compute_initial_sync")
    initial_sync_done = fields.Integer("Orders sent", compute="_compute_initial_sync")
    initial_sync_pending = fields.Integer("Orders waiting", compute="_compute_initial_sync")
    initial_sync_failed = fields.Integer("Orders failed", compute="_compute_initial_sync")
    initial_sync_progress = fields.Float("Progress", compute="_compute_initial_sync")

    def _kommo_initial_sync_domain(self):
        self.ensure_one()
        # _origin: the account form's onchange computes on a copy of the record (a NewId).
        return [
            ("account_id", "=", self._origin.id),
            ("initial_sync_at", "=", self.initial_sync_at),
        ]

    def _compute_initial_sync(self):
        """The counts of every account's current sync, in one grouped read."""
        started = self.filtered("initial_sync_at")
        groups = []
        if started:
            # Each account's own domain, joined by OR (prefix form, the same on 18.0 and 19.0).
            domain = ["|"] * (len(started) - 1)
            for account in started:
                domain += ["&", *account._kommo_initial_sync_domain()]
            groups = (
                self.env["kommo.lead.binding"]
                .sudo()
                ._read_group(domain, ["account_id", "sync_state"], ["__count"])
            )
        counts_of = defaultdict(dict)
        for account, state, count in groups:
            counts_of[account.id][state] = count
        for account in self:
            counts = counts_of[account._origin.id]
            total = sum(counts.values())
            account.initial_sync_total = total
            account.initial_sync_done = counts.get("synced", 0)
            account.initial_sync_pending = counts.get("pending", 0)
            account.initial_sync_failed = counts.get("error", 0)
            account.initial_sync_progress = (
                100.0 * account.initial_sync_done / total if total else 0.0
            )

    def _kommo_start_initial_sync(self, bindings):
        """Stamp ``bindings`` (the orders an initial sync queues) and the account with one
        moment: the account's progress counts those orders only."""
        self.ensure_one()
        started = fields.Datetime.now()
        if self.initial_sync_at and started <= self.initial_sync_at:
            # Datetimes are stored to the second: a second sync within the same second
            # would share the stamp, and its progress the first one's orders.
            started = self.initial_sync_at + timedelta(seconds=1)
        bindings.sudo().write({"initial_sync_at": started})
        self.sudo().initial_sync_at = started

    def action_open_initial_sync_failures(self):
        """The orders of the current initial sync that failed, with Kommo's words."""
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "kommo_connector.action_kommo_lead_binding"
        )
        action["name"] = self.env._("Initial sync: failed")
        action["domain"] = [*self._kommo_initial_sync_domain(), ("sync_state", "=", "error")]
        action["context"] = {}
        return action
