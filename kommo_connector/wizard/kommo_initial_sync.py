import dataclasses

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools.safe_eval import datetime as safe_datetime
from odoo.tools.safe_eval import dateutil, safe_eval

from ..const import INITIAL_SYNC_PREVIEW_CALLS
from ..tools import sync_preview
from ..tools.user_errors import kommo_error_as_user_error

OPEN_REPAIR_STATES = ("draft", "confirmed", "under_repair")
PREVIEW_NUMBERS = [name for name, _label in sync_preview.NUMBERS]


class KommoInitialSync(models.TransientModel):
    """Send many repair orders to Kommo at once, after seeing what that does there.

    The preview reads Kommo (the customers' contacts) and writes nothing to it; Start only
    queues the orders for the push cron, which sends them in the background: the account
    shows how far it got.
    """

    _name = "kommo.initial.sync"
    _description = "Kommo initial sync"

    account_id = fields.Many2one("kommo.account", required=True, readonly=True, ondelete="cascade")
    company_id = fields.Many2one(related="account_id.company_id")
    scope = fields.Selection(
        [
            ("open", "All open repair orders"),
            ("since", "Repair orders created since a date"),
            ("domain", "Repair orders matching a filter"),
        ],
        string="Repair orders",
        required=True,
        default="open",
    )
    date_from = fields.Date("Created since")
    order_domain = fields.Char("Filter", default="[]")
    state = fields.Selection(
        [("choose", "Choose"), ("preview", "Preview")], default="choose", required=True
    )
    # The preview's numbers (sync_preview.NUMBERS): read-only, cleared when the choice changes.
    vars().update(
        {name: fields.Integer(label, readonly=True) for name, label in sync_preview.NUMBERS}
    )
    stopped_at_limit = fields.Boolean("Stopped at the call limit", readonly=True)
    duration = fields.Char("Time at 7 requests/s", compute="_compute_duration")
    summary = fields.Char("What Kommo gets", compute="_compute_summary")
    preview_note = fields.Text("About this preview", compute="_compute_preview_note")

    @api.depends("duration_seconds")
    def _compute_duration(self):
        for wizard in self:
            minutes, seconds = divmod(wizard.duration_seconds, 60)
            hours, minutes = divmod(minutes, 60)
            if hours:
                wizard.duration = self.env._(
                    "%(hours)s h %(minutes)s min", hours=hours, minutes=minutes
                )
            elif minutes:
                wizard.duration = self.env._(
                    "%(minutes)s min %(seconds)s s", minutes=minutes, seconds=seconds
                )
            else:
                wizard.duration = self.env._("%s s", seconds)

    @api.depends(
        "stopped_at_limit",
        "lead_create_count",
        "lead_update_count",
        "contact_create_count",
        "call_count",
        "duration",
    )
    def _compute_summary(self):
        """The preview in one sentence, its numbers minimums when it stopped at its limit."""
        for wizard in self:
            values = {
                "created": wizard.lead_create_count,
                "updated": wizard.lead_update_count,
                "contacts": wizard.contact_create_count,
                "calls": wizard.call_count,
                "duration": wizard.duration,
            }
            if wizard.stopped_at_limit:
                wizard.summary = self.env._(
                    "Leads created in Kommo: %(created)s, updated: %(updated)s; contacts "
                    "created: at least %(contacts)s. Calls: at least %(calls)s, taking at least "
                    "%(duration)s at Kommo's limit of 7 requests a second.",
                    **values,
                )
            else:
                wizard.summary = self.env._(
                    "Leads created in Kommo: %(created)s, updated: %(updated)s; contacts "
                    "created: %(contacts)s. Calls: %(calls)s, taking %(duration)s at Kommo's "
                    "limit of 7 requests a second.",
                    **values,
                )

    @api.depends("stopped_at_limit", "lookup_call_count", "customer_unchecked_count")
    def _compute_preview_note(self):
        for wizard in self:
            wizard.preview_note = wizard.stopped_at_limit and self.env._(
                "The preview stopped at its limit of calls to Kommo (%(calls)s). Customers not "
                "looked up: %(customers)s. So the customers found, the contacts to create, the "
                "calls and the time are minimums. The sync itself looks every customer up. An "
                "administrator sets the limit in the system parameter %(parameter)s.",
                calls=wizard.lookup_call_count,
                customers=wizard.customer_unchecked_count,
                parameter=INITIAL_SYNC_PREVIEW_CALLS[0],
            )

    @api.onchange("scope", "date_from", "order_domain")
    def _onchange_choice(self):
        """Numbers of another choice would mislead: preview again."""
        self.state = "choose"

    def _kommo_orders(self):
        """The chosen repair orders of the account's company that the user may read."""
        self.ensure_one()
        domain = [("company_id", "=", self.account_id.company_id.id)]
        if self.scope == "open":
            domain.append(("state", "in", OPEN_REPAIR_STATES))
        elif self.scope == "since":
            if not self.date_from:
                raise UserError(self.env._("Choose the date from which repair orders are sent."))
            domain.append(("create_date", ">=", fields.Datetime.to_datetime(self.date_from)))
        else:
            domain += self._kommo_custom_domain()
        return self.env["repair.order"].search(domain)

    def _kommo_custom_domain(self):
        context = {
            "uid": self.env.uid,
            "datetime": safe_datetime,
            "relativedelta": dateutil.relativedelta.relativedelta,
            "context_today": safe_datetime.datetime.now,
        }
        try:
            domain = safe_eval(self.order_domain or "[]", context)
        except Exception as exc:  # the filter is the user's: say it is wrong, no traceback
            raise UserError(self.env._("The filter cannot be read: %s", exc)) from exc
        if not isinstance(domain, list | tuple):
            raise UserError(self.env._("The filter cannot be read: %s", self.order_domain))
        return list(domain)

    def _kommo_check_account(self):
        if not self.account_id._kommo_can_push():
            raise UserError(
                self.env._(
                    "Connect the Kommo account %s before sending repair orders.",
                    self.account_id.name,
                )
            )

    def action_preview(self):
        """Count what the sync would do in Kommo; nothing is written to Kommo."""
        self.ensure_one()
        self._kommo_check_account()
        orders = self._kommo_orders()
        batch_size = self.env["kommo.lead.binding"]._kommo_push_options()["batch_size"]
        with kommo_error_as_user_error(self.env._("Could not look the customers up in Kommo: %s")):
            result = sync_preview.preview(
                self.env, self.account_id.sudo(), orders, batch_size, self._kommo_call_limit()
            )
        self.write({"state": "preview", **dataclasses.asdict(result)})
        return self._kommo_reopen()

    def _kommo_call_limit(self):
        """The calls the preview may make to Kommo (INITIAL_SYNC_PREVIEW_CALLS)."""
        param, default = INITIAL_SYNC_PREVIEW_CALLS
        try:
            return max(1, int(self.env["ir.config_parameter"].sudo().get_param(param, default)))
        except (TypeError, ValueError):
            return default

    def action_back(self):
        self.ensure_one()
        self.write(
            dict.fromkeys(PREVIEW_NUMBERS, 0) | {"state": "choose", "stopped_at_limit": False}
        )
        return self._kommo_reopen()

    def action_start(self):
        """Queue the chosen orders for the push cron and wake it: nothing is sent here."""
        self.ensure_one()
        self._kommo_check_account()
        account = self.account_id
        orders = self._kommo_orders()
        if not orders:
            raise UserError(self.env._("No repair order matches your choice."))
        bindings = self.env["kommo.lead.binding"].sudo()._kommo_bindings_in(account, orders)
        account._kommo_start_initial_sync(bindings)
        bindings._kommo_mark_pending()
        message = self.env._(
            "Repair orders queued for Kommo: %(count)s. They are sent in the background; the "
            "account shows the progress.",
            count=len(orders),
        )
        account.message_post(body=message)
        notification = account._kommo_notification(self.env._("Initial sync started"), message)
        notification["params"]["next"] = {"type": "ir.actions.act_window_close"}
        return notification

    def _kommo_reopen(self):
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Initial sync"),
            "res_model": self._name,
            "res_id": self.id,
            "view_mode": "form",
            "target": "new",
        }
