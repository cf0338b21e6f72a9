from odoo import _, api, fields, models
from odoo.exceptions import AccessError

KOMMO_USER_GROUP = "kommo_connector.group_kommo_user"
# Besides the first hop of each mapped path, what the lead shows: its name (reference,
# customer), its stage (state) and the diagnosis note (internal notes).
KOMMO_WATCHED_FIELDS = frozenset({"name", "state", "partner_id", "internal_notes"})


class RepairOrder(models.Model):
    _inherit = "repair.order"

    kommo_lead_binding_ids = fields.One2many(
        "kommo.lead.binding", "repair_id", string="Kommo leads", groups=KOMMO_USER_GROUP
    )
    kommo_sync_state = fields.Selection(
        [
            ("not_synced", "Not synced"),
            ("pending", "Pending"),
            ("synced", "Synced"),
            ("error", "Error"),
        ],
        string="Kommo sync",
        compute="_compute_kommo_sync",
        search="_search_kommo_sync_state",
        compute_sudo=True,
        groups=KOMMO_USER_GROUP,
    )
    kommo_last_sync = fields.Datetime(
        "Last Kommo sync", compute="_compute_kommo_sync", compute_sudo=True, groups=KOMMO_USER_GROUP
    )
    kommo_last_error = fields.Text(
        "Kommo error", compute="_compute_kommo_sync", compute_sudo=True, groups=KOMMO_USER_GROUP
    )
    kommo_lead_url = fields.Char(
        "Kommo lead", compute="_compute_kommo_sync", compute_sudo=True, groups=KOMMO_USER_GROUP
    )
    kommo_stage_name = fields.Char(
        "Kommo stage", compute="_compute_kommo_sync", compute_sudo=True, groups=KOMMO_USER_GROUP
    )

    @api.depends(
        "company_id",
        "kommo_lead_binding_ids.sync_state",
        "kommo_lead_binding_ids.last_sync_at",
        "kommo_lead_binding_ids.last_error",
        "kommo_lead_binding_ids.kommo_lead_id",
        "kommo_lead_binding_ids.kommo_stage_id",
    )
    def _compute_kommo_sync(self):
        accounts = {}
        for order in self:
            company = order.company_id
            if company not in accounts:
                accounts[company] = self.env["kommo.account"]._kommo_for_company(company)
            binding = order.kommo_lead_binding_ids.filtered(
                lambda binding, account=accounts[company]: binding.account_id == account
            )[:1]
            order.kommo_sync_state = binding.sync_state or "not_synced"
            order.kommo_last_sync = binding.last_sync_at
            order.kommo_last_error = binding.last_error
            order.kommo_lead_url = binding.kommo_lead_url
            order.kommo_stage_name = binding.kommo_stage_id.name

    def _search_kommo_sync_state(self, operator, value):
        if operator not in ("=", "!=", "in", "not in"):
            raise NotImplementedError(_("Unsupported search on the Kommo sync state."))
        states = {value} if isinstance(value, str) else set(value or ())
        bound_states = list(states - {"not_synced"})
        domain = [("kommo_lead_binding_ids.sync_state", "in", bound_states)]
        if "not_synced" in states:
            domain = ["|", ("kommo_lead_binding_ids", "=", False), *domain]
        return domain if operator in ("=", "in") else ["!", *domain]

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

    def _kommo_mark_pending(self):
        """Queue the orders for the push cron (triggered when this transaction commits)."""
        self.env["kommo.lead.binding"].sudo()._kommo_bindings_for(self)._kommo_mark_pending()

    # -- the "Sync Kommo" button --------------------------------------------------------------

    def action_kommo_sync(self):
        """Send the orders to Kommo now and say how it went (never a traceback)."""
        if not self.env.user.has_group(KOMMO_USER_GROUP):
            raise AccessError(_("Only Kommo users can send repair orders to Kommo."))
        self.check_access("read")
        accounts = self.env["kommo.account"].sudo()
        notification = accounts._kommo_notification
        for company in self.company_id:
            account = accounts._kommo_for_company(company)
            if not account:
                return notification(
                    _("Kommo"), _("%s has no Kommo account.", company.display_name), "warning"
                )
            if not account._kommo_can_push():
                reason = account.last_error or _("the account is not connected")
                return notification(
                    _("Kommo"), _("Kommo can't be reached now: %s", reason), "warning"
                )
        results = self.env["kommo.push"].sudo()._kommo_push_orders(self)
        if len(self) == 1:
            title, message, kind = self._kommo_sync_message(*results.get(self, ("busy", None)))
            return notification(title, message, kind)
        states = [state for state, _message in results.values()]
        message = _(
            "%(synced)s of %(total)s repair orders are in Kommo; %(errors)s failed.",
            synced=states.count("synced"),
            total=len(self),
            errors=states.count("error"),
        )
        return notification(_("Kommo"), message, "warning" if "error" in states else "success")

    def action_open_kommo_lead(self):
        self.ensure_one()
        return {"type": "ir.actions.act_url", "url": self.kommo_lead_url, "target": "new"}

    def _kommo_sync_message(self, state, message):
        self.ensure_one()
        if state == "synced":
            return _("Sent to Kommo"), _("%s is up to date in Kommo.", self.name), "success"
        if state == "error":
            return _("Kommo refused the repair order"), message, "danger"
        if state == "busy":
            message = _(
                "%s is being sent to Kommo by another process right now; look again in a moment.",
                self.name,
            )
            return _("Kommo"), message, "warning"
        message = message or _("%s changed meanwhile: it will be sent again shortly.", self.name)
        return _("Not sent to Kommo yet"), message, "warning"
