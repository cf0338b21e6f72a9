from datetime import timedelta

from odoo import api, fields, models

from ..tools.log_labels import one_line
from ..tools.webhook_display import delivery_table, delivery_title, lead_ids, read_delivery

# A delivery still pending this long after it came is stuck (processing is triggered as it
# is received): someone should look at it.
STUCK_PENDING_MINUTES = 15


class KommoWebhookEventDisplay(models.AbstractModel):
    """Webhook deliveries as the shop reads them: what happened, to which repair order, what
    needs someone's attention, and the delivery's keys and values. Inherited by
    ``kommo.webhook.event``, whose receiving and processing never need any of it."""

    _name = "kommo.webhook.event.display"
    _description = "Kommo webhook delivery, as people read it"

    title = fields.Char(
        "Summary",
        compute="_compute_title",
        help="What happened in Kommo, with the stage names of the account's pipelines.",
    )
    repair_id = fields.Many2one(
        "repair.order",
        string="Repair Order",
        compute="_compute_title",
        help="The repair order linked to the first lead of the delivery.",
    )
    body_table = fields.Html(
        "Delivery",
        compute="_compute_body_table",
        help="The delivery's keys and values, as Kommo sent them.",
    )
    reason_summary = fields.Char("Details (short)", compute="_compute_reason_summary")
    needs_attention = fields.Boolean(
        compute="_compute_needs_attention",
        search="_search_needs_attention",
        help=f"Failed, unreadable, or pending for more than {STUCK_PENDING_MINUTES} minutes.",
    )
    can_process_again = fields.Boolean(compute="_compute_can_process_again")

    @api.depends("body", "account_id")
    @api.depends_context("lang")
    def _compute_title(self):
        deliveries = {event.id: read_delivery(event.body) for event in self}
        leads_of = {
            event_id: lead_ids(delivery) if delivery else []
            for event_id, delivery in deliveries.items()
        }
        stage_names = self._kommo_stage_names()
        orders = self._kommo_orders_of_leads(
            {lead for leads in leads_of.values() for lead in leads}
        )
        for event in self:
            account_id = event.account_id.id
            event.title = delivery_title(
                self.env, deliveries[event.id], stage_names.get(account_id, {})
            )
            linked = [
                orders[account_id, lead]
                for lead in leads_of[event.id]
                if (account_id, lead) in orders
            ]
            event.repair_id = linked[0] if linked else False

    def _compute_display_name(self):
        for event in self:
            event.display_name = event.title

    def _kommo_stage_names(self):
        """``{account id: {(Kommo pipeline id, Kommo stage id): name}}``."""
        stages = (
            self.env["kommo.pipeline.stage"]
            .sudo()
            .with_context(active_test=False)
            .search([("account_id", "in", self.account_id.ids)])
        )
        names = {}
        for stage in stages:
            key = (stage.pipeline_id.kommo_id, stage.kommo_id)
            names.setdefault(stage.account_id.id, {})[key] = stage.name
        return names

    def _kommo_orders_of_leads(self, leads):
        """``{(account id, lead id): repair order}`` for these leads, in one query."""
        if not leads:
            return {}
        bindings = (
            self.env["kommo.lead.binding"]
            .sudo()
            .search(
                [("account_id", "in", self.account_id.ids), ("kommo_lead_id", "in", list(leads))]
            )
        )
        return {
            (binding.account_id.id, binding.kommo_lead_id): binding.repair_id.sudo(False)
            for binding in bindings
        }

    @api.depends("body")
    @api.depends_context("lang")
    def _compute_body_table(self):
        for event in self:
            event.body_table = delivery_table(self.env, event.body)

    @api.depends("reason")
    def _compute_reason_summary(self):
        for event in self:
            event.reason_summary = one_line(event.reason)

    @api.depends("state", "received_at")
    def _compute_needs_attention(self):
        stuck_before = fields.Datetime.now() - timedelta(minutes=STUCK_PENDING_MINUTES)
        for event in self:
            event.needs_attention = event.state in ("failed", "unreadable") or (
                event.state == "pending" and event.received_at < stuck_before
            )

    def _search_needs_attention(self, operator, value):
        if operator not in ("=", "!="):
            raise NotImplementedError(f"operator {operator!r} on needs_attention")
        stuck_before = fields.Datetime.now() - timedelta(minutes=STUCK_PENDING_MINUTES)
        domain = [
            "|",
            ("state", "in", ("failed", "unreadable")),
            "&",
            ("state", "=", "pending"),
            ("received_at", "<", stuck_before),
        ]
        return domain if (operator == "=") == bool(value) else ["!", *domain]

    @api.depends("state", "reason", "attempts")
    def _compute_can_process_again(self):
        """Where "Process again" can change something: a failure, a delivery Odoo could not
        read, news ignored for a reason one may have fixed since (the stage map, a lead not
        linked yet), a retry waiting for its delay. Not news already applied."""
        for event in self:
            event.can_process_again = (
                event.state in ("failed", "unreadable")
                or (event.state == "ignored" and bool(event.reason))
                or (event.state == "pending" and event.attempts > 0)
            )
