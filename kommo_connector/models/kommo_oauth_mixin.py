import functools
import logging
from datetime import timedelta

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import consteq
from odoo.tools.misc import hmac

from kommo_api import (
    KOMMO_AUTHORIZE_URL,
    KommoClient,
    KommoError,
    KommoTokenRevoked,
    LongLivedTokenStore,
    MemoryTokenStore,
    OAuthApp,
    Tokens,
    normalize_host,
)

from ..const import GROUP_ADMIN, OAUTH_STATE_SCOPE, TOKEN_MAX_AGE_DAYS
from ..controllers.main import KommoController
from ..tools import OdooTokenStore, PgThrottle
from ..tools.datetimes import aware_utc, naive_utc

_logger = logging.getLogger(__name__)


class KommoOAuthMixin(models.AbstractModel):
    """A Kommo account's credentials and tokens, the client and the OAuth app that use them,
    the token refresh and the OAuth code flow (state, code exchange, refusal).

    Inherited by ``kommo.account``, which holds the account itself (its host, state, maps,
    buttons), as Odoo's ``google.gmail.mixin`` is by the mail servers; making, testing and
    losing the connection is ``kommo.connection.mixin``'s.
    """

    _name = "kommo.oauth.mixin"
    _description = "Kommo credentials and tokens of an account"

    # The secrets and tokens: administrators only (ORM and RPC alike).
    auth_mode = fields.Selection(
        [("oauth", "OAuth app"), ("long_lived", "Long-lived token")],
        string="Authentication",
        required=True,
        default="oauth",
        tracking=True,
    )
    client_id = fields.Char("Integration ID", tracking=True)
    client_secret = fields.Char("Secret key", groups=GROUP_ADMIN, copy=False)
    authorize_url = fields.Char(
        "Authorization page",
        required=True,
        default=KOMMO_AUTHORIZE_URL,
        help="Where Kommo asks the administrator to allow the integration.",
    )
    redirect_uri = fields.Char("Redirect URI", compute="_compute_redirect_uri")
    disconnect_hook_url = fields.Char(
        "Disconnect hook",
        compute="_compute_redirect_uri",
        help="Kommo calls this address when the integration is removed from the Kommo "
        "account: Odoo then stops sending and tells you.",
    )
    access_token = fields.Char(groups=GROUP_ADMIN, copy=False)
    refresh_token = fields.Char(groups=GROUP_ADMIN, copy=False)
    token_expires_at = fields.Datetime("Access token expires", groups=GROUP_ADMIN, copy=False)
    token_obtained_at = fields.Datetime("Tokens obtained", groups=GROUP_ADMIN, copy=False)
    long_lived_token = fields.Char(groups=GROUP_ADMIN, copy=False)

    @api.depends("company_id")  # a dependency: a new account computes it before it is saved
    @api.depends_context("company")
    def _compute_redirect_uri(self):
        for account in self:
            base_url = account.get_base_url()
            account.redirect_uri = base_url + KommoController._oauth_callback_url
            account.disconnect_hook_url = base_url + KommoController._oauth_disconnect_url

    # -- the client ------------------------------------------------------------------------

    def _kommo_client(self, operation=None, records=None, token_store=None, host=None):
        """A ``kommo_api.KommoClient`` for this account: tokens from the account row, the
        throttle shared by all workers, and every exchange written to the sync log.

        A token refresh locks and updates the account row in a transaction of its own, or
        in the caller's when the caller holds the row (tools/cursors.py)."""
        self.ensure_one()
        account = self.sudo()
        host = host or account.host
        if not host:
            raise UserError(self.env._("Connect the Kommo account %s first.", account.name))
        return KommoClient(
            host,
            token_store or OdooTokenStore(account),
            throttle=PgThrottle(self.env.registry),
            on_exchange=self._kommo_exchange_logger(operation, records),
        )

    def _kommo_oauth_app(self, operation=None):
        """A ``kommo_api.OAuthApp`` of this account's integration; its token calls are written
        to the sync log as ``operation``, as the client's calls are."""
        account = self.sudo()
        return OAuthApp(
            account.client_id or "",
            account.client_secret or "",
            account.redirect_uri,
            authorize_url=account.authorize_url,
            # A refresh is re-sent when its answer is lost, under the account's row lock:
            # keep each try short.
            timeout=(5, 15),
            on_exchange=self._kommo_exchange_logger(operation),
        )

    def _kommo_exchange_logger(self, operation, records=None):
        """The ``on_exchange`` of the account's client and OAuth app: a sync log row per HTTP
        attempt, about ``records``."""
        return functools.partial(
            self.env["kommo.sync.log"]._kommo_log_exchange,
            self.sudo(),
            operation=operation,
            records=records,
        )

    # -- tokens ----------------------------------------------------------------------------

    def _kommo_stored_tokens(self):
        """The tokens on the row (``kommo_api.Tokens``), or None when not connected."""
        self.ensure_one()
        account = self.sudo()
        if account.auth_mode == "long_lived":
            if not account.long_lived_token:
                return None
            return account._kommo_long_lived_store().get_tokens()
        if not account.access_token:
            return None
        return Tokens(
            access_token=account.access_token,
            refresh_token=account.refresh_token or None,
            # Unknown expiry: treat as expired, so the first call refreshes.
            expires_at=aware_utc(account.token_expires_at or fields.Datetime.now()),
        )

    def _kommo_long_lived_store(self):
        """The long-lived token on the row as a ``kommo_api`` token store."""
        return LongLivedTokenStore(self.long_lived_token, aware_utc(self.token_expires_at))

    def _kommo_token_values(self, tokens):
        return {
            "access_token": tokens.access_token,
            "refresh_token": tokens.refresh_token or False,
            "token_expires_at": naive_utc(tokens.expires_at),
            "token_obtained_at": fields.Datetime.now(),
        }

    def _kommo_refresh_locked(self, current):
        """Spend the refresh token for a new pair; the caller holds the row lock.

        Returns ``(tokens, None)``, or ``(None, error)`` with the account marked for
        reconnection when Kommo refused: the caller commits first, then raises.
        """
        self.ensure_one()
        try:
            if current is None or not current.refresh_token:
                raise KommoTokenRevoked(
                    self.env._(
                        "Kommo refused the access token and it cannot be renewed "
                        "(a long-lived token expired or was revoked)."
                    )
                )
            fresh = self._kommo_oauth_app("refresh_token").refresh(
                self.host, current.refresh_token, current.api_domain
            )
        except KommoError as exc:
            if isinstance(exc, KommoTokenRevoked):
                self._kommo_mark_revoked(exc)
            return None, exc
        values = self._kommo_token_values(fresh)
        if fresh.host and fresh.host != self.host:
            # The account was renamed in Kommo: follow it, as the official library does.
            env = self.with_context(lang=self._kommo_lang()).env
            self.message_post(
                body=env._(
                    "Kommo moved this account from %(old)s to %(new)s; Odoo follows it.",
                    old=self.host,
                    new=fresh.host,
                )
            )
            values.update(host=fresh.host, kommo_subdomain=fresh.host.split(".")[0])
        self.write(values)
        return fresh, None

    @api.model
    def _cron_refresh_tokens(self):
        """Renew token pairs older than a week: a refresh token unused for 3 months dies."""
        limit = fields.Datetime.now() - timedelta(days=TOKEN_MAX_AGE_DAYS)
        accounts = self.sudo().search(
            [
                ("auth_mode", "=", "oauth"),
                ("state", "=", "connected"),
                ("token_obtained_at", "<", limit),
            ]
        )
        for account in accounts:
            try:
                OdooTokenStore(account).refresh_tokens(account._kommo_stored_tokens())
            except KommoError as exc:
                _logger.warning(
                    "Kommo account %s: proactive token refresh failed: %s", account.id, exc
                )

    # -- the OAuth code flow ---------------------------------------------------------------

    def _kommo_state_signature(self):
        # Bound to the record and the administrator who started the flow (google_gmail does
        # the same for the record): a forged state cannot connect someone else's account.
        return hmac(self.env(su=True), OAUTH_STATE_SCOPE, (self.id, self.env.uid))

    def _kommo_oauth_state(self):
        self.ensure_one()
        return f"{self.id}.{self._kommo_state_signature()}"

    @api.model
    def _kommo_account_from_state(self, state):
        """The account an OAuth ``state`` was issued for, or an empty recordset if forged."""
        record_id, _dot, signature = (state or "").partition(".")
        if not record_id.isdigit() or not signature:
            return self.browse()
        account = self.browse(int(record_id)).exists()
        if not account or not consteq(signature, account._kommo_state_signature()):
            return self.browse()
        return account

    def _kommo_checked_referer(self, referer):
        """The host Kommo sent back, if it is a Kommo host and the one this account uses.

        ``referer`` comes from the browser: without this check a forged one would make Odoo
        send the client secret and the code to any server (SSRF).
        """
        self.ensure_one()
        try:
            host = normalize_host(referer or "")
        except ValueError:
            raise UserError(
                self.env._(
                    "The address Kommo sent back (%s) is not a Kommo account address.", referer
                )
            ) from None
        if self.host and normalize_host(self.host) != host:
            raise UserError(
                self.env._(
                    "This Odoo account is set up for %(expected)s but the authorization came "
                    "from %(received)s. Fix the Kommo address or connect from the right "
                    "Kommo account.",
                    expected=self.host,
                    received=host,
                )
            )
        return host

    def _kommo_connect_with_code(self, code, referer):
        """Finish an OAuth connection: exchange the code, store the tokens, read the account,
        discover pipelines and fields. Returns True when connected; failures after the
        exchange are recorded on the account (the code is spent: no rollback helps)."""
        self.ensure_one()
        host = self._kommo_checked_referer(referer)
        if not code:
            raise UserError(self.env._("Kommo did not send an authorization code."))
        app = self._kommo_oauth_app("connect")
        try:
            tokens = app.exchange_code(host, code)
        except KommoError as exc:
            self._kommo_record_failure(exc, connecting=True)
            return False
        store = MemoryTokenStore(app, host, tokens)
        self.sudo().write({"host": host, **self._kommo_token_values(tokens)})
        return self._kommo_finish_connect(host, store)

    def _kommo_oauth_refused(self, error):
        """Kommo sent the administrator back without a code (``error=...``)."""
        self.ensure_one()
        if error == "access_denied":
            message = self.env._(
                "Kommo did not grant access: the authorization was refused (Deny). Click "
                "Connect again and press Allow."
            )
        else:
            message = self.env._("Kommo reported an error during the authorization: %s", error)
        self._kommo_record_failure(message, connecting=True)
        self.message_post(body=message)
