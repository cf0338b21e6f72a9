from odoo import _, api, fields, models

MANAGER = "kommo_connector.group_kommo_manager"


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    kommo_account_id = fields.Many2one(
        "kommo.account", compute="_compute_kommo_account_id", groups=MANAGER
    )
    kommo_account_state = fields.Selection(
        related="kommo_account_id.state", string="Kommo connection", groups=MANAGER
    )
    kommo_account_name = fields.Char(related="kommo_account_id.kommo_account_name", groups=MANAGER)
    group_kommo_user_for_repairs = fields.Boolean(
        "Repair users sync with Kommo",
        implied_group="kommo_connector.group_kommo_user",
        group="stock.group_stock_user",
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
                {"name": _("Kommo (%s)", self.company_id.name), "company_id": self.company_id.id}
            )
        return account

    def action_kommo_open_account(self):
        return self._kommo_account_form(self._kommo_ensure_account())

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
