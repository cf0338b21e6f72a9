from odoo import api, fields, models
from odoo.exceptions import AccessError
from odoo.tools import plaintext2html

from ..const import GROUP_USER

# Besides the first hop of each mapped path, what the lead shows: its name (reference,
# customer), its stage (state) and the diagnosis note (internal notes).
KOMMO_WATCHED_FIELDS = frozenset({"name", "state", "partner_id", "internal_notes"})


class RepairOrder(models.Model):
    _inherit = "repair.order"

    kommo_lead_binding_ids = fields.One2many(
        "kommo.lead.binding", "repair_id", string="Kommo leads", groups=GROUP_USER
    )
    kommo_sync_state = fields.Selection(
        [
            ("not_synced", "Not in Kommo"),
            ("pending", "Pending"),
            ("synced", "Synced"),
            ("error", "Error"),
            ("kommo_ahead", "Kommo ahead"),
        ],
        string="Kommo",
        compute="_compute_kommo_sync_state",
        store=True,
        index=True,
        compute_sudo=True,
        groups=GROUP_USER,
        help="Kommo ahead: Kommo moved the lead to a stage whose repair state Odoo could "
        "not take, and a person decides.",
    )
    kommo_last_sync = fields.Datetime(
        "Last Kommo sync", compute="_compute_kommo_sync", compute_sudo=True, groups=GROUP_USER
    )
    kommo_last_error = fields.Text(
        "Kommo error", compute="_compute_kommo_sync", compute_sudo=True, groups=GROUP_USER
    )
    kommo_lead_url = fields.Char(
        "Kommo lead", compute="_compute_kommo_sync", compute_sudo=True, groups=GROUP_USER
    )
    kommo_stage_name = fields.Char(
        "Kommo stage", compute="_compute_kommo_sync", compute_sudo=True, groups=GROUP_USER
    )
    kommo_ahead_message = fields.Text(
        "Why Odoo did not follow Kommo", compute="_compute_kommo_ahead_message", groups=GROUP_USER
    )

    @api.depends(
        "kommo_lead_binding_ids.sync_state",
        "kommo_lead_binding_ids.kommo_ahead",
        "kommo_lead_binding_ids.account_id.active",
    )
    def _compute_kommo_sync_state(self):
        for order in self:
            binding = order._kommo_binding()
            if binding.kommo_ahead:
                order.kommo_sync_state = "kommo_ahead"
            else:
                order.kommo_sync_state = binding.sync_state or "not_synced"

    @api.depends(
        "company_id",
        "kommo_lead_binding_ids.last_sync_at",
        "kommo_lead_binding_ids.last_error",
        "kommo_lead_binding_ids.kommo_ahead_reason",
        "kommo_lead_binding_ids.kommo_lead_id",
        "kommo_lead_binding_ids.kommo_stage_id",
    )
    def _compute_kommo_sync(self):
        for order in self:
            binding = order._kommo_binding()
            order.kommo_last_sync = binding.last_sync_at
            order.kommo_last_error = binding.kommo_ahead_reason or binding.last_error
            order.kommo_lead_url = binding.kommo_lead_url
            order.kommo_stage_name = binding.kommo_stage_id.name

    @api.depends("kommo_sync_state", "kommo_stage_name", "kommo_last_error")
    def _compute_kommo_ahead_message(self):
        """The Kommo ahead banner's text: one sentence, in the reader's language."""
        for order in self:
            order.kommo_ahead_message = order.kommo_sync_state == "kommo_ahead" and self.env._(
                "Kommo moved the lead to %(stage)s, but Odoo could not move the repair order "
                "there (%(reason)s). Fix the cause and retry, or change the order's state "
                "yourself.",
                stage=order.kommo_stage_name or self.env._("another stage"),
                reason=(order.kommo_last_error or "").strip().rstrip("."),
            )

    def _kommo_binding(self):
        """The order's binding with its company's active Kommo account (one at most)."""
        self.ensure_one()
        return self.sudo().kommo_lead_binding_ids.filtered(
            lambda binding: binding.account_id.active and binding.company_id == self.company_id
        )[:1]

    # -- marking for the push (no call to Kommo here) -----------------------------------------

    @api.model_create_multi
    def create(self, vals_list):
        orders = super().create(vals_list)
        if not self.env.context.get("kommo_inbound"):
            orders._kommo_mark_pending()
        return orders

    def write(self, vals):
        result = super().write(vals)
        if self and not self.env.context.get("kommo_inbound") and self._kommo_watches(vals):
            if "state" in vals:  # a person decided: the order's state is Odoo's answer
                self._kommo_settle_ahead()
            self._kommo_mark_pending()
        return result

    def _kommo_watches(self, vals):
        """Whether ``vals`` changes what the orders' Kommo leads show."""
        watched = set(KOMMO_WATCHED_FIELDS)
        maps = (
            self.env["kommo.field.map"]
            .sudo()
            .search([("company_id", "in", self.company_id.ids), ("account_id.active", "=", True)])
        )
        watched.update(path.split(".")[0] for path in maps.mapped("odoo_field_path") if path)
        return not watched.isdisjoint(vals)

    def _kommo_tell_responsible(self, summary, message, account):
        """One open activity ``summary`` for the order's responsible, else the account's
        people: what Kommo sync needs from a person stays in their to-do list once."""
        self.ensure_one()
        if self.activity_ids.filtered(lambda activity: activity.summary == summary):
            return
        user = self.user_id
        if not (user.active and not user.share):
            user = account.user_id or account._kommo_people_to_tell()[:1]
        if user:
            self.activity_schedule(
                "mail.mail_activity_data_todo",
                summary=summary,
                note=plaintext2html(message),
                user_id=user.id,
            )

    def _kommo_settle_ahead(self):
        bindings = self.sudo().kommo_lead_binding_ids.filtered("kommo_ahead")
        bindings.write({"kommo_ahead": False, "kommo_ahead_reason": False})

    def _kommo_mark_pending(self):
        """Queue the orders for the push cron (triggered when this transaction commits)."""
        self.env["kommo.lead.binding"].sudo()._kommo_bindings_for(self)._kommo_mark_pending()

    # -- the "Sync Kommo" button --------------------------------------------------------------

    def action_kommo_sync(self):
        """Send the orders to Kommo now and say how it went (never a traceback)."""
        if not self.env.user.has_group(GROUP_USER):
            raise AccessError(self.env._("Only Kommo users can send repair orders to Kommo."))
        self.check_access("read")
        accounts = self.env["kommo.account"].sudo()
        notification = accounts._kommo_notification
        checked = {}  # company -> its account, found once for the whole push
        for company in self.company_id:
            account = accounts._kommo_for_company(company)
            if not account:
                return notification(
                    self.env._("Kommo"),
                    self.env._("%s has no Kommo account.", company.display_name),
                    "warning",
                )
            if not account._kommo_can_push():
                reason = account.last_error or self.env._("the account is not connected")
                return notification(
                    self.env._("Kommo"),
                    self.env._("Kommo can't be reached now: %s", reason),
                    "warning",
                )
            checked[company] = account
        results = self.env["kommo.lead.binding"].sudo()._kommo_push_orders(self, checked)
        if len(self) == 1:
            title, message, kind = self._kommo_sync_message(*results.get(self, ("busy", None)))
            return notification(title, message, kind)
        states = [state for state, _message in results.values()]
        message = self.env._(
            "%(synced)s of %(total)s repair orders are in Kommo; %(errors)s failed.",
            synced=states.count("synced"),
            total=len(self),
            errors=states.count("error"),
        )
        return notification(
            self.env._("Kommo"), message, "warning" if "error" in states else "success"
        )

    def action_open_kommo_lead(self):
        """The smart button: the lead in Kommo, or a first sync when there is none yet."""
        self.ensure_one()
        if not self.kommo_lead_url:
            return self.action_kommo_sync()
        return {"type": "ir.actions.act_url", "url": self.kommo_lead_url, "target": "new"}

    def action_kommo_retry(self):
        """The banner's Retry: follow Kommo's stage again (Kommo ahead), else sync now."""
        self.ensure_one()
        if self.kommo_sync_state != "kommo_ahead":
            return self.action_kommo_sync()
        self.check_access("write")
        binding = self._kommo_binding()
        self.env["kommo.inbound"]._kommo_follow_again(binding)
        self.invalidate_recordset(["kommo_sync_state", "kommo_last_error"])
        if self.kommo_sync_state == "kommo_ahead":
            message, kind = self.kommo_last_error, "warning"
        else:
            message, kind = self.env._("%s follows Kommo's stage now.", self.name), "success"
        return self.env["kommo.account"]._kommo_notification(self.env._("Kommo"), message, kind)

    def _kommo_sync_message(self, state, message):
        self.ensure_one()
        if state == "synced":
            return (
                self.env._("Sent to Kommo"),
                self.env._("%s is up to date in Kommo.", self.name),
                "success",
            )
        if state == "error":
            return self.env._("Kommo refused the repair order"), message, "danger"
        if state == "busy":
            message = self.env._(
                "%s is being sent to Kommo by another process right now; look again in a moment.",
                self.name,
            )
            return self.env._("Kommo"), message, "warning"
        message = message or self.env._(
            "%s changed meanwhile: it will be sent again shortly.", self.name
        )
        return self.env._("Not sent to Kommo yet"), message, "warning"
