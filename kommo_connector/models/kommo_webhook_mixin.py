import logging
import secrets

from odoo import api, fields, models
from odoo.tools import plaintext2html

from kommo_api import KommoError

from ..const import GROUP_ADMIN, WEBHOOK_EVENTS
from ..controllers.webhook import KommoWebhookController
from ..tools.user_errors import kommo_error_as_user_error

_logger = logging.getLogger(__name__)


def _new_webhook_secret(_records=None):
    return secrets.token_urlsafe(24)


class KommoWebhookMixin(models.AbstractModel):
    """The Kommo account's webhook: Kommo's way back to Odoo.

    Kommo disables a webhook after more than 100 non-2xx answers within 2 hours, tells the
    account's administrators in Kommo, and sends nothing until it is enabled again: lead
    moves made in Kommo then never reach Odoo. So the account watches its webhook as Kommo
    reports it (``GET /api/v4/webhooks``), registers it again when it is missing or disabled,
    and tells the responsible person in Odoo.
    """

    _name = "kommo.webhook.mixin"
    _description = "Kommo webhook of an account"

    # The secret authenticates Kommo's deliveries: administrators only.
    webhook_secret = fields.Char(groups=GROUP_ADMIN, copy=False, default=_new_webhook_secret)
    webhook_url = fields.Char("Webhook URL", compute="_compute_webhook_url", groups=GROUP_ADMIN)
    webhook_registered = fields.Boolean(readonly=True, copy=False, tracking=True)
    webhook_state = fields.Selection(
        [
            ("active", "Active"),
            ("disabled", "Disabled by Kommo"),
            ("missing", "Missing in Kommo"),
        ],
        readonly=True,
        copy=False,
        help="The webhook as Kommo reported it when Odoo last looked.",
    )
    webhook_checked_at = fields.Datetime("Webhook checked", readonly=True, copy=False)

    @api.depends("webhook_secret")
    def _compute_webhook_url(self):
        for account in self:
            secret = account.sudo().webhook_secret
            base = account.get_base_url()
            prefix = KommoWebhookController._webhook_url_prefix
            account.webhook_url = f"{base}{prefix}/{secret}" if secret else False

    def action_register_webhook(self):
        self.ensure_one()
        with kommo_error_as_user_error(self.env._("Kommo refused the webhook: %s")):
            self._kommo_subscribe_webhook()
        return self._kommo_notification(
            self.env._("Kommo webhook"), self.env._("Kommo will now tell Odoo about lead changes.")
        )

    def action_unregister_webhook(self):
        self.ensure_one()
        with kommo_error_as_user_error(self.env._("Kommo refused to remove the webhook: %s")):
            self._kommo_unsubscribe_webhook()
        self._kommo_write_after_calls({"webhook_registered": False, "webhook_state": False})
        return self._kommo_notification(
            self.env._("Kommo webhook"), self.env._("Kommo no longer sends lead changes to Odoo.")
        )

    def action_check_webhook(self):
        """Look at the webhook in Kommo now; register it again if Kommo lost or disabled it."""
        self.ensure_one()
        with kommo_error_as_user_error(self.env._("Could not read the webhooks from Kommo: %s")):
            state = self._kommo_watch_webhook()
        if state == "active":
            message, kind = self.env._("Kommo sends lead changes to Odoo."), "success"
        else:
            label = dict(self._fields["webhook_state"]._description_selection(self.env))[state]
            message = self.env._("Kommo had the webhook %s: Odoo registered it again.", label)
            kind = "warning"
        return self._kommo_notification(self.env._("Kommo webhook"), message, kind)

    @api.model
    def _cron_watch_webhooks(self):
        accounts = self.search([("webhook_registered", "=", True), ("state", "=", "connected")])
        for account in accounts:
            try:
                account._kommo_watch_webhook()
            except KommoError as exc:  # in the sync log; the next run tries again
                _logger.info("Kommo account %s: webhook not checked: %s", account.id, exc)

    def _kommo_subscribe_webhook(self):
        client = self._kommo_client(operation="webhook_register")
        client.subscribe_webhook(self.sudo().webhook_url, WEBHOOK_EVENTS)
        self._kommo_write_after_calls(
            {
                "webhook_registered": True,
                "webhook_state": "active",
                "webhook_checked_at": fields.Datetime.now(),
            }
        )

    def _kommo_unsubscribe_webhook(self):
        client = self._kommo_client(operation="webhook_unregister")
        client.unsubscribe_webhook(self.sudo().webhook_url)

    def _kommo_watch_webhook(self):
        """The webhook's state as Kommo reported it; a missing or disabled one is registered
        again and the responsible person told. Returns that state."""
        self.ensure_one()
        client = self._kommo_client(operation="webhook_check")
        url = self.sudo().webhook_url
        ours = next(
            (hook for hook in client.list_webhooks() if hook.get("destination") == url), None
        )
        state = "missing" if ours is None else ("disabled" if ours.get("disabled") else "active")
        if state == "active":
            self._kommo_write_after_calls(
                {"webhook_state": state, "webhook_checked_at": fields.Datetime.now()}
            )
            return state
        self._kommo_subscribe_webhook()
        self._kommo_tell_webhook_restored(state)
        return state

    def _kommo_tell_webhook_restored(self, state):
        env = self.with_context(lang=self._kommo_lang()).env  # the shop's words
        label = dict(self._fields["webhook_state"]._description_selection(env))[state]
        message = env._(
            'Kommo reported the webhook as "%(state)s": lead changes made in Kommo did not '
            "reach Odoo meanwhile. Odoo registered the webhook again; the reconciliation "
            "reads the leads changed since. If Kommo disabled it, Odoo answered it with "
            "errors: see the webhook events and Odoo's log.",
            state=label,
        )
        self.message_post(body=plaintext2html(message))
        self._kommo_give_todo(env._("Kommo webhook restored"), message)
