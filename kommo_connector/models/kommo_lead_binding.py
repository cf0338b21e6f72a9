from odoo import _, api, fields, models
from odoo.exceptions import ValidationError
from odoo.tools import SQL

from kommo_api import base_url

from ..const import CRON_PUSH, lead_request_id
from ..tools.compat import Constraint
from ..tools.kommo_id import KommoId


class KommoLeadBinding(models.Model):
    """The Kommo lead of a repair order in one Kommo account, and how its sync stands."""

    _name = "kommo.lead.binding"
    _description = "Kommo lead of a repair order"
    _order = "id desc"
    _rec_name = "repair_id"

    account_id = fields.Many2one(
        "kommo.account", required=True, ondelete="cascade", index=True, readonly=True
    )
    company_id = fields.Many2one(
        related="account_id.company_id", store=True, index=True, readonly=True
    )
    repair_id = fields.Many2one(
        "repair.order", string="Repair order", required=True, ondelete="cascade", index=True
    )
    kommo_lead_id = KommoId("Kommo lead ID", index=True, readonly=True, copy=False)
    kommo_lead_url = fields.Char("Kommo lead", compute="_compute_kommo_lead_url")
    sync_state = fields.Selection(
        [("pending", "Pending"), ("synced", "Synced"), ("error", "Error")],
        string="Sync state",
        required=True,
        default="pending",
        index=True,
        readonly=True,
    )
    last_sync_at = fields.Datetime("Last sync", readonly=True)
    last_error = fields.Text(readonly=True)
    attempt_count = fields.Integer("Failed attempts", readonly=True)
    next_attempt_at = fields.Datetime("Next attempt", readonly=True)
    create_request_id = fields.Char(
        "Request ID",
        readonly=True,
        copy=False,
        help="Sent with the creation of the lead; Kommo's answer names the lead with it.",
    )
    create_sent_at = fields.Datetime(
        "Creation sent",
        readonly=True,
        copy=False,
        help="Set before the lead is created in Kommo and cleared when Kommo's answer is "
        "recorded: set without a lead means the outcome is unknown, so the lead is looked up "
        "in Kommo before it is created again.",
    )
    note_hash = fields.Char(readonly=True, copy=False)
    lead_hash = fields.Char(readonly=True, copy=False)
    kommo_contact_id = KommoId("Kommo contact ID", readonly=True, copy=False)
    kommo_pipeline_id = KommoId("Kommo pipeline ID", readonly=True)
    kommo_status_id = KommoId("Kommo stage ID", readonly=True)
    kommo_stage_id = fields.Many2one(
        "kommo.pipeline.stage",
        string="Kommo stage",
        compute="_compute_kommo_stage_id",
        store=True,
        ondelete="set null",
    )
    kommo_updated_at = fields.Datetime("Updated in Kommo", readonly=True)
    kommo_ahead = fields.Boolean(
        "Kommo ahead",
        readonly=True,
        copy=False,
        help="Kommo moved the lead to a stage whose repair state Odoo could not take: a "
        "person decides (Retry once the cause is fixed, or change the order's state).",
    )
    kommo_ahead_reason = fields.Text("Why Odoo did not follow", readonly=True, copy=False)
    pushed_at = fields.Datetime("Last sent", readonly=True)
    # Bumped by every relevant change of the order: a push marks the binding synced only if
    # no change came in since the data it sent was read.
    revision = fields.Integer(default=1, readonly=True, copy=False)
    claimed_until = fields.Datetime(
        readonly=True, copy=False, help="A worker is sending this order to Kommo until then."
    )

    _account_repair_uniq = Constraint(
        "unique(account_id, repair_id)",
        "A repair order has one Kommo lead per Kommo account.",
    )
    _account_lead_uniq = Constraint(
        "unique(account_id, kommo_lead_id)", "A Kommo lead belongs to one repair order."
    )

    @api.depends("kommo_lead_id", "account_id.host")
    def _compute_kommo_lead_url(self):
        for binding in self:
            host = binding.account_id.host
            binding.kommo_lead_url = (
                f"{base_url(host)}/leads/detail/{binding.kommo_lead_id}"
                if host and binding.kommo_lead_id
                else False
            )

    @api.depends("account_id", "kommo_pipeline_id", "kommo_status_id")
    def _compute_kommo_stage_id(self):
        stages = self.env["kommo.pipeline.stage"].with_context(active_test=False)
        for binding in self:
            binding.kommo_stage_id = (
                stages.search(
                    [
                        ("account_id", "=", binding.account_id.id),
                        ("pipeline_id.kommo_id", "=", binding.kommo_pipeline_id),
                        ("kommo_id", "=", binding.kommo_status_id),
                    ],
                    limit=1,
                )
                if binding.kommo_status_id
                else False
            )

    @api.constrains("account_id", "repair_id")
    def _check_same_company(self):
        for binding in self:
            if binding.account_id.company_id != binding.repair_id.company_id:
                raise ValidationError(
                    _(
                        "The repair order %(order)s belongs to %(company)s: it can only be sent "
                        "to that company's Kommo account.",
                        order=binding.repair_id.display_name,
                        company=binding.repair_id.company_id.display_name,
                    )
                )

    def action_kommo_retry(self):
        """Send these orders again at the next push, forgetting earlier failures."""
        self.check_access("write")
        self._kommo_mark_pending()
        return True

    # -- marking pending ----------------------------------------------------------------------

    @api.model
    def _kommo_bindings_for(self, orders):
        """The bindings of ``orders`` in their company's active Kommo account, created when
        missing (orders of a company without an account get none)."""
        bindings = self.browse()
        for company in orders.company_id:
            account = self.env["kommo.account"]._kommo_for_company(company)
            if not account:
                continue
            account_orders = orders.filtered(
                lambda order, company=company: order.company_id == company
            )
            existing = self.search(
                [("account_id", "=", account.id), ("repair_id", "in", account_orders.ids)]
            )
            missing = account_orders - existing.repair_id
            created = self.create(
                [
                    {
                        "account_id": account.id,
                        "repair_id": order.id,
                        "create_request_id": lead_request_id(order.id),
                    }
                    for order in missing
                ]
            )
            bindings |= existing | created
        return bindings

    def _kommo_mark_pending(self):
        """Ask for a push of these bindings: a change of the order, or a retry.

        The revision is bumped in SQL so concurrent increments add up; a push in flight then
        leaves the binding pending instead of marking it synced with older data.
        """
        if not self:
            return
        self.flush_recordset()
        self.env.cr.execute(
            SQL(
                """UPDATE kommo_lead_binding
                      SET sync_state = 'pending', revision = revision + 1, attempt_count = 0,
                          next_attempt_at = NULL, write_date = now() AT TIME ZONE 'UTC',
                          write_uid = %s
                    WHERE id IN %s""",
                self.env.uid,
                tuple(self.ids),
            )
        )
        self.invalidate_recordset(
            ["sync_state", "revision", "attempt_count", "next_attempt_at", "write_date"]
        )
        self.modified(["sync_state"])  # the orders' stored Kommo state follows
        self._kommo_trigger_push()

    @api.model
    def _kommo_trigger_push(self, at=None):
        """Run the push cron as soon as this transaction is committed (or at ``at``)."""
        cron = self.env.ref(CRON_PUSH, raise_if_not_found=False)
        if cron:
            cron.sudo()._trigger(at)

    # -- pushing ------------------------------------------------------------------------------

    @api.model
    def _cron_push(self, batch_size=None, claim_limit=None, account_ids=None):
        """The push cron: send every pending order of every connected account to Kommo.

        ``batch_size`` (leads per call, at most 50) and ``claim_limit`` (orders taken per
        account and run) default to the system parameters ``kommo_connector.push_batch_size``
        and ``kommo_connector.push_claim_limit``. Returns the number of orders sent.
        """
        return self.env["kommo.push"]._kommo_push_accounts(
            account_ids=account_ids, batch_size=batch_size, claim_limit=claim_limit
        )
