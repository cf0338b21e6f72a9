from datetime import timedelta
from urllib.parse import urlsplit

from odoo import api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.tools import plaintext2html

from kommo_api import DEFAULT_PHONE_REGION, is_loopback, normalize_host

from ..const import DEFAULT_RETENTION_DAYS, GROUP_ADMIN
from ..tools.compat import GROUP_USERS_FIELD
from ..tools.cursors import RowsBusy, account_in_own_transaction
from ..tools.kommo_id import KommoId
from ..tools.user_errors import kommo_error_as_user_error


class KommoAccount(models.Model):
    """A company's connection to one Kommo account (OAuth app or long-lived token).

    From its mixins come the credentials, tokens, client and OAuth code flow
    (``kommo.oauth.mixin``), connecting, testing and losing the connection
    (``kommo.connection.mixin``), the webhook (``kommo.webhook.mixin``), the counts the
    form and the Settings show (``kommo.sync.summary.mixin``) and the progress of the
    initial sync (``kommo.initial.sync.mixin``); this model holds the account itself, its
    checks, its maps and the helpers they share.
    """

    _name = "kommo.account"
    _description = "Kommo account"
    _inherit = [
        "mail.thread",
        "mail.activity.mixin",
        "kommo.oauth.mixin",
        "kommo.connection.mixin",
        "kommo.webhook.mixin",
        "kommo.sync.summary.mixin",
        "kommo.initial.sync.mixin",
    ]
    _order = "company_id, name, id"
    _check_company_auto = True

    name = fields.Char(required=True, default="Kommo", tracking=True)
    active = fields.Boolean(default=True, tracking=True)
    company_id = fields.Many2one(
        "res.company", required=True, index=True, default=lambda self: self.env.company
    )
    user_id = fields.Many2one(
        "res.users",
        string="Responsible",
        tracking=True,
        check_company=True,
        help="Told when the connection needs attention; when empty, the company's "
        "administrators are.",
    )
    host = fields.Char(
        "Kommo address",
        tracking=True,
        help="Your Kommo account's address, e.g. acme.kommo.com. Filled in by Kommo when you "
        "connect with OAuth.",
    )
    state = fields.Selection(
        [
            ("not_connected", "Not connected"),
            ("connected", "Connected"),
            ("needs_reconnect", "Needs reconnection"),
            ("error", "Error"),
        ],
        required=True,
        default="not_connected",
        readonly=True,
        copy=False,
        tracking=True,
    )
    last_error = fields.Text(readonly=True, copy=False)
    kommo_account_id = KommoId("Kommo account ID", readonly=True, copy=False)
    kommo_account_name = fields.Char("Kommo account", readonly=True, copy=False)
    kommo_subdomain = fields.Char("Kommo subdomain", readonly=True, copy=False)
    pipeline_id = fields.Many2one(
        "kommo.pipeline",
        string="Pipeline",
        domain="[('account_id', '=', id)]",
        check_company=True,
        help="The Kommo pipeline repair orders are sent to.",
    )
    phone_country_id = fields.Many2one(
        "res.country",
        string="Phone numbers of",
        default=lambda self: self._default_phone_country(),
        help="The country assumed for phone numbers written without an international prefix.",
    )
    phone_region = fields.Char(compute="_compute_phone_region")
    base_url_warning = fields.Char(compute="_compute_base_url_warning")
    connected_message = fields.Char("Connection", compute="_compute_connected_message")
    pipeline_ids = fields.One2many("kommo.pipeline", "account_id", string="Pipelines")
    custom_field_ids = fields.One2many("kommo.custom.field", "account_id", string="Fields")
    field_map_ids = fields.One2many("kommo.field.map", "account_id", string="Field map")
    stage_map_ids = fields.One2many("kommo.stage.map", "account_id", string="Stage map")
    retention_days = fields.Integer(
        "Keep the sync log (days)", default=DEFAULT_RETENTION_DAYS, help="0 keeps it forever."
    )
    kommo_moves_repair_order = fields.Boolean(
        "Kommo moves repair orders",
        help="When a lead changes stage in Kommo, move the repair order to the mapped state.",
    )
    kommo_leads_polled_at = fields.Datetime(
        "Lead changes read until",
        readonly=True,
        copy=False,
        help="When the reconciliation last read the leads changed in Kommo; the next read "
        "starts a little before.",
    )
    kommo_contact_count = fields.Integer(
        "Contacts in Kommo",
        readonly=True,
        copy=False,
        help="How many contacts Kommo held when the push last read the contact list: it "
        "chooses between reading the list and searching customer by customer.",
    )
    kommo_contacts_read_at = fields.Datetime(
        "Contact list read until",
        readonly=True,
        copy=False,
        help="The push read Kommo's whole contact list once and keeps its phones and e-mails; "
        "from then on it reads only the contacts changed since this moment.",
    )

    def _default_phone_country(self):
        """The company's country, else the country of kommo_api's default phone region."""
        return self.env.company.country_id or self.env.ref(f"base.{DEFAULT_PHONE_REGION.lower()}")

    @api.depends("company_id")
    @api.depends_context("company")
    def _compute_base_url_warning(self):
        for account in self:
            account.base_url_warning = self._kommo_base_url_warning(account.get_base_url())

    @api.model
    def _kommo_base_url_warning(self, base_url):
        """Why Kommo may not reach this Odoo at ``base_url`` (web.base.url), or False."""
        parts = urlsplit(base_url)
        if is_loopback(parts.hostname or ""):
            return self.env._(
                "Odoo's address is %s: Kommo cannot reach it, so neither the OAuth redirect "
                "nor the webhook will work. Set the system parameter web.base.url to the "
                "address this Odoo has on the internet.",
                base_url,
            )
        if parts.scheme != "https":
            return self.env._(
                "Odoo's address %s is plain http: tokens and webhook deliveries would travel "
                "unencrypted. Serve Odoo over https and update web.base.url.",
                base_url,
            )
        return False

    @api.depends("kommo_account_name")
    def _compute_connected_message(self):
        for account in self:
            account.connected_message = (
                self.env._("Connected to the Kommo account %s.", account.kommo_account_name)
                if account.kommo_account_name
                else self.env._("Connected to Kommo.")
            )

    @api.depends("phone_country_id")
    def _compute_phone_region(self):
        for account in self:
            account.phone_region = account.phone_country_id.code or DEFAULT_PHONE_REGION

    @api.constrains("active", "company_id")
    def _check_one_active_per_company(self):
        for account in self.filtered("active"):
            others = self.sudo().search_count(
                [("company_id", "=", account.company_id.id), ("id", "!=", account.id)]
            )
            if others:
                raise ValidationError(
                    self.env._(
                        "The company %s already has an active Kommo account: archive it "
                        "before adding another one.",
                        account.company_id.display_name,
                    )
                )

    @api.constrains("host")
    def _check_host(self):
        for account in self.filtered("host"):
            try:
                normalize_host(account.host)
            except ValueError:
                raise ValidationError(
                    self.env._(
                        "%s is not a Kommo address: use your account's address, like "
                        "acme.kommo.com.",
                        account.host,
                    )
                ) from None

    def _kommo_check_host_author(self):
        """A local address would send the tokens and the client secret to any program listening
        on this server: only for the emulator, set up by an administrator.

        Called by create and write, not a constraint: 19.0 runs constraints as superuser.
        """
        if self.env.su or self.env.user.has_group(GROUP_ADMIN):
            return
        for account in self.filtered("host"):
            if is_loopback(account.host):
                raise ValidationError(
                    self.env._(
                        "Only an administrator can point the Kommo account to an address on "
                        "this server (%s).",
                        account.host,
                    )
                )

    @api.model_create_multi
    def create(self, vals_list):
        accounts = super().create(vals_list)
        accounts._kommo_check_host_author()
        return accounts

    def write(self, vals):
        result = super().write(vals)
        if "host" in vals:
            self._kommo_check_host_author()
        return result

    @api.constrains("pipeline_id")
    def _check_pipeline_of_account(self):
        for account in self.filtered("pipeline_id"):
            if account.pipeline_id.account_id != account:
                raise ValidationError(
                    self.env._(
                        "The pipeline %(pipeline)s belongs to another Kommo account: choose one "
                        "of the pipelines read from %(account)s.",
                        pipeline=account.pipeline_id.display_name,
                        account=account.display_name,
                    )
                )

    @api.constrains("company_id")
    def _check_company_keeps_bindings(self):
        bindings = self.env["kommo.lead.binding"].sudo()
        for account in self:
            if bindings.search_count([("account_id", "=", account.id)], limit=1):
                raise ValidationError(
                    self.env._(
                        "The Kommo account %s already linked repair orders to Kommo leads: its "
                        "company can't be changed. Add a new account for the other company.",
                        account.name,
                    )
                )

    @api.onchange("host")
    def _onchange_host(self):
        if self.host:
            try:
                self.host = normalize_host(self.host)
            except ValueError:
                return None  # the constraint explains it on save
        return None

    def action_refresh_metadata(self):
        self.ensure_one()
        client = self._kommo_client(operation="discovery")
        with kommo_error_as_user_error(
            self.env._("Could not read the pipelines and fields from Kommo: %s")
        ):
            self._kommo_discover(client)
        return self._kommo_notification(
            self.env._("Kommo pipelines and fields"),
            self.env._(
                "%(pipelines)s pipelines and %(fields)s fields read from Kommo.",
                pipelines=len(self.pipeline_ids),
                fields=len(self.custom_field_ids),
            ),
        )

    def action_create_missing_fields(self):
        self.ensure_one()
        client = self._kommo_client(operation="create_fields")
        shop = self.with_context(lang=self._kommo_lang())  # the fields are named in its words
        with kommo_error_as_user_error(self.env._("Could not create the fields in Kommo: %s")):
            created = self.env["kommo.field.map"]._kommo_create_missing_fields(shop, client)
        if not created:
            return self._kommo_notification(
                self.env._("Kommo fields"),
                self.env._("Kommo already has every field the map needs."),
            )
        return self._kommo_notification(
            self.env._("Kommo fields"),
            self.env._(
                "Created in Kommo and mapped: %s.",
                ", ".join(created.custom_field_id.mapped("name")),
            ),
        )

    @api.model
    def _kommo_for_company(self, company=None):
        """The active Kommo account of ``company`` (default: the current one), if any."""
        company = company or self.env.company
        return self.search([("company_id", "=", company.id)], limit=1)

    def _kommo_lang(self):
        """The language Odoo writes in for the people of this shop: chatter posts, activity
        notes and event details about the account's sync, and the Kommo fields it creates,
        whoever (a cron, OdooBot) triggered them. The responsible person's, else the
        company's."""
        self.ensure_one()
        return self.user_id.lang or self.company_id.partner_id.lang or self.env.lang

    def _kommo_people_to_tell(self):
        """Who hears about the account's trouble: its responsible, else the company's
        administrators."""
        if self.user_id.active and not self.user_id.share:
            return self.user_id
        admins = self.env.ref(GROUP_ADMIN)[GROUP_USERS_FIELD]
        return admins.filtered(
            lambda user: self.company_id in user.company_ids and not user.share and user.active
        )

    def _kommo_give_todo(self, summary, message):
        """A to-do ``summary`` on the account for each of its people to tell, saying
        ``message``; someone who has it open already is not given a second one."""
        todo = self.env.ref("mail.mail_activity_data_todo")
        for user in self._kommo_people_to_tell():
            asked = self.activity_ids.filtered(
                lambda act, user=user: (
                    act.user_id == user and act.activity_type_id == todo and act.summary == summary
                )
            )
            if not asked:
                self.activity_schedule(
                    act_type_xmlid="mail.mail_activity_data_todo",
                    summary=summary,
                    note=plaintext2html(message),
                    user_id=user.id,
                )

    def _kommo_discover(self, client):
        """Read pipelines and fields from Kommo and propose the default maps."""
        self.env["kommo.pipeline"]._kommo_refresh(self, client)
        self.env["kommo.custom.field"]._kommo_refresh(self, client)
        self.env["kommo.field.map"]._kommo_propose_defaults(self)
        self.env["kommo.stage.map"]._kommo_propose_defaults(self)

    @api.model
    def _kommo_retention_limits(self):
        """``[(account, oldest moment kept)]`` of the accounts that do not keep their sync
        log and webhook deliveries forever (``retention_days`` 0)."""
        accounts = self.sudo().with_context(active_test=False).search([("retention_days", ">", 0)])
        now = fields.Datetime.now()
        return [(account, now - timedelta(days=account.retention_days)) for account in accounts]

    def _kommo_can_push(self):
        """Whether sync jobs may talk to Kommo now: a dead connection must not be hammered."""
        self.ensure_one()
        return self.active and self.state == "connected"

    def _kommo_write_after_calls(self, values):
        """Write ``values`` on the account in a transaction of its own, committed at once, or
        in this one when it holds the row (tools/cursors.py: never wait for the caller).

        A Kommo call of this request may have refreshed the token, which commits the account
        row in a transaction of its own: writing the row in this (older) transaction would fail
        to serialise, and Odoo would replay the request, calling Kommo again. This request's
        snapshot predates that commit, so the values are also put in its cache.
        """
        self.ensure_one()
        self.flush_recordset()
        try:
            with account_in_own_transaction(self) as own_account:
                own_account.write(values)
        except RowsBusy as exc:
            raise UserError(
                self.env._("Another Odoo process is updating this Kommo account; try again.")
            ) from exc
        self.invalidate_recordset(list(values))
        self.sudo()._update_cache(values)

    def _kommo_notification(self, title, message, kind="success"):
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "title": title,
                "message": message,
                "type": kind,
                "sticky": kind == "danger",
                "next": {"type": "ir.actions.client", "tag": "soft_reload"},
            },
        }
