import psycopg2.errors

from odoo import api, fields, models
from odoo.exceptions import ValidationError
from odoo.tools import SQL

from kommo_api import MAX_BATCH_SIZE, base_url

from ..const import CRON_PUSH, PUSH_PARAMETERS, lead_request_id
from ..tools.compat import Constraint, report_cron_progress
from ..tools.kommo_id import KommoId
from ..tools.push_leads import push
from ..tools.push_run import PushRun


class KommoLeadBinding(models.Model):
    """The Kommo lead of a repair order in one Kommo account, and how its sync stands.

    This model owns the push (its cron, the "Sync Kommo" button's entry point): the push's
    queue is its rows (``sync_state``, ``revision``, ``claimed_until``, ``next_attempt_at``),
    marking one pending wakes the cron, and the push claims and settles them. The work itself
    is plain Python in ``tools/push_*.py``: a ``PushRun`` (transactions, claims, outcomes)
    that the contact resolver and the lead writer receive.
    """

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
    initial_sync_at = fields.Datetime(
        "Initial sync",
        readonly=True,
        copy=False,
        index="btree_not_null",
        help="When the initial sync that queued the order started: the account's progress.",
    )
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
        # One search for the whole batch: a push writes the stage of 50 bindings at a time.
        placed = self.filtered("kommo_status_id")
        stages = (
            self.env["kommo.pipeline.stage"]
            .with_context(active_test=False)
            .search(
                [
                    ("account_id", "in", placed.account_id.ids),
                    ("kommo_id", "in", list(set(placed.mapped("kommo_status_id")))),
                ]
            )
        )
        stage_at = {}
        for stage in stages:
            key = (stage.account_id.id, stage.pipeline_id.kommo_id, stage.kommo_id)
            stage_at.setdefault(key, stage)
        for binding in self:
            key = (binding.account_id.id, binding.kommo_pipeline_id, binding.kommo_status_id)
            binding.kommo_stage_id = stage_at.get(key, False)

    @api.constrains("account_id", "repair_id")
    def _check_same_company(self):
        for binding in self:
            if binding.account_id.company_id != binding.repair_id.company_id:
                raise ValidationError(
                    self.env._(
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
            if account:
                company_orders = orders.filtered(lambda order, c=company: order.company_id == c)
                bindings |= self._kommo_bindings_in(account, company_orders)
        return bindings

    @api.model
    def _kommo_bindings_in(self, account, orders):
        """The bindings of ``orders`` (of ``account``'s company) in ``account``, created
        when missing."""
        existing = self.search([("account_id", "=", account.id), ("repair_id", "in", orders.ids)])
        missing = orders - existing.repair_id
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
        return existing | created

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
    def _kommo_push_options(self, **overrides):
        """Batch size, claim limit, attempts and lease: arguments, else system parameters."""
        params = self.env["ir.config_parameter"].sudo()
        options = {}
        for key, (param, default) in PUSH_PARAMETERS.items():
            value = overrides.get(key)
            if value is None:
                try:
                    value = int(params.get_param(param, default))
                except (TypeError, ValueError):
                    value = default
            options[key] = max(1, int(value))
        options["batch_size"] = min(options["batch_size"], MAX_BATCH_SIZE)
        return options

    @api.model
    def _cron_push(self, batch_size=None, claim_limit=None, account_ids=None):
        """The push cron: send every pending order of every connected account (or of
        ``account_ids``) to Kommo, with that account's own credentials.

        ``batch_size`` (leads per call, at most 50) and ``claim_limit`` (orders taken per
        account and run) default to the system parameters ``kommo_connector.push_batch_size``
        and ``kommo_connector.push_claim_limit``. Returns the number of orders sent.
        """
        self.env.flush_all()
        options = self._kommo_push_options(batch_size=batch_size, claim_limit=claim_limit)
        domain = [("state", "=", "connected")]
        if account_ids:
            domain.append(("id", "in", list(account_ids)))
        pushed = remaining = 0
        for account in self.env["kommo.account"].sudo().search(domain):
            if not account._kommo_can_push():
                continue
            run = push(PushRun(self.sudo().env, account, options))
            pushed += run.pushed
            if not run.stopped:
                remaining += run.claimable_count()
        self.env.invalidate_all()
        # Orders left over (claim limit, changes during the run) make the cron run again soon.
        report_cron_progress(self.env, pushed, remaining)
        return pushed

    @api.model
    def _kommo_push_orders(self, orders, accounts):
        """Push ``orders`` now, whatever their state (the "Sync Kommo" button), each with
        its company's account in ``accounts`` (``{company: account}``, as the caller found
        and checked them).

        Returns ``{order: (state, message)}``; state is the binding's sync state, or
        ``busy`` when another worker is pushing the order right now.
        """
        self.env.flush_all()
        options = self._kommo_push_options()
        results = {}
        for company, account in accounts.items():
            company_orders = orders.filtered(lambda order, c=company: order.company_id == c)
            run = PushRun(self.sudo().env, account, options, force=True, records=company_orders)
            results.update(self._kommo_push_run(run, company_orders))
            for order in company_orders:
                results.setdefault(order, ("busy", None))
        self.env.invalidate_all()
        return results

    @api.model
    def _kommo_push_run(self, run, orders):
        """``{order: (state, message)}`` of a push of ``orders`` in ``run``."""
        try:
            # (binding id, order id) pairs: a binding created by the push's own committed
            # transaction is invisible to this one's older snapshot (REPEATABLE READ), so
            # the answer must not be read through this cursor.
            pairs = run.in_transaction(
                lambda env: [
                    (binding.id, binding.repair_id.id)
                    for binding in env["kommo.lead.binding"]._kommo_bindings_in(
                        run.account.with_env(env), orders.with_env(env)
                    )
                ]
            )
            push(run, [binding_id for binding_id, _order_id in pairs])
        except psycopg2.errors.LockNotAvailable:
            return {}
        return {
            orders.browse(order_id): run.results.get(binding_id, ("busy", None))
            for binding_id, order_id in pairs
        }
