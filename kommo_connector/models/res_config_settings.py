from odoo import api, fields, models

from ..const import GROUP_MANAGER, GROUP_REPAIR_USERS, GROUP_USER


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    kommo_account_id = fields.Many2one(
        "kommo.account", compute="_compute_kommo_account_id", groups=GROUP_MANAGER
    )
    kommo_account_state = fields.Selection(
        related="kommo_account_id.state", string="Kommo connection", groups=GROUP_MANAGER
    )
    kommo_account_name = fields.Char(
        related="kommo_account_id.kommo_account_name", groups=GROUP_MANAGER
    )
    kommo_account_host = fields.Char(related="kommo_account_id.host", groups=GROUP_MANAGER)
    kommo_webhook_state = fields.Selection(
        related="kommo_account_id.webhook_state", string="Webhook", groups=GROUP_MANAGER
    )
    kommo_last_push_at = fields.Datetime(
        related="kommo_account_id.last_push_at", groups=GROUP_MANAGER
    )
    kommo_pending_count = fields.Integer(
        related="kommo_account_id.pending_count", groups=GROUP_MANAGER
    )
    kommo_error_count = fields.Integer(related="kommo_account_id.error_count", groups=GROUP_MANAGER)
    group_kommo_user_for_repairs = fields.Boolean(
        "Repair users sync with Kommo",
        implied_group=GROUP_USER,
        group=GROUP_REPAIR_USERS,
        help="Every inventory user (repair technicians) sees the Kommo tab and the Sync Kommo "
        "button of repair orders.",
    )

    @api.depends("company_id")
    def _compute_kommo_account_id(self):
        for settings in self:
            settings.kommo_account_id = self.env["kommo.account"]._kommo_for_company(
                settings.company_id
            )

    def _kommo_ensure_account(self):
        self.ensure_one()
        account = self.kommo_account_id
        if not account:
            account = self.env["kommo.account"].create(
                {
                    "name": self.env._("Kommo (%s)", self.company_id.name),
                    "company_id": self.company_id.id,
                }
            )
        return account

    def action_kommo_open_account(self):
        return self._kommo_account_form(self._kommo_ensure_account())

    def action_kommo_test(self):
        return self.kommo_account_id.action_test_connection()

    def action_kommo_disconnect(self):
        self.kommo_account_id.action_disconnect()
        return {"type": "ir.actions.client", "tag": "reload"}

    def action_kommo_open_errors(self):
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "kommo_connector.action_kommo_lead_binding"
        )
        action["domain"] = [("account_id", "=", self.kommo_account_id.id)]
        action["context"] = {"search_default_filter_error": 1}
        return action

    def action_kommo_connect(self):
        """Start the connection right away when the account is set up, else open it."""
        account = self._kommo_ensure_account()
        ready = account.sudo().client_id and account.sudo().client_secret
        if account.auth_mode == "oauth" and ready:
            return account.action_connect()
        return self._kommo_account_form(account)

    def _kommo_account_form(self, account):
        return {
            "type": "ir.actions.act_window",
            "res_model": "kommo.account",
            "res_id": account.id,
            "view_mode": "form",
            "target": "current",
        }
