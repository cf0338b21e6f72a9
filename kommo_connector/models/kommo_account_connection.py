import logging
import time
from datetime import timedelta, timezone

from odoo import _, api, fields, models
from odoo.exceptions import UserError
from odoo.tools import consteq, plaintext2html
from odoo.tools.misc import hmac

from kommo_api import (
    KommoClient,
    KommoError,
    KommoTokenRevoked,
    LongLivedTokenStore,
    MemoryTokenStore,
    OAuthApp,
    Tokens,
    normalize_host,
    verify_disconnect_signature,
)
from kommo_api.oauth import TOKEN_PATH

from ..const import OAUTH_STATE_SCOPE, TOKEN_MAX_AGE_DAYS
from ..tools import OdooTokenStore, PgThrottle
from ..tools.compat import GROUP_USERS_FIELD

_logger = logging.getLogger(__name__)


def _aware(value):
    """An Odoo (naive UTC) datetime as the tz-aware datetime kommo_api works with."""
    return value.replace(tzinfo=timezone.utc) if value else None


def _naive(value):
    return value.astimezone(timezone.utc).replace(tzinfo=None) if value else False


class KommoAccount(models.Model):
    """Talking to Kommo: the client, the tokens, the OAuth code exchange, revocation."""

    _inherit = "kommo.account"

    # -- the client ----------------------------------------------------------------------

    def _kommo_client(self, operation=None, records=None, token_store=None, host=None):
        """A ``kommo_api.KommoClient`` for this account: tokens from the account row, the
        throttle shared by all workers, and every exchange written to the sync log.

        A token refresh locks and updates the account row in a transaction of its own, or
        in the caller's when the caller holds the row (tools/cursors.py)."""
        self.ensure_one()
        account = self.sudo()
        host = host or account.host
        if not host:
            raise UserError(_("Connect the Kommo account %s first.", account.name))
        log = self.env["kommo.sync.log"]

        def on_exchange(exchange):
            log._kommo_log_exchange(account, exchange, operation=operation, records=records)

        return KommoClient(
            host,
            token_store or OdooTokenStore(account),
            throttle=PgThrottle(self.env.registry),
            on_exchange=on_exchange,
        )

    def _kommo_oauth_app(self):
        account = self.sudo()
        return OAuthApp(
            account.client_id or "",
            account.client_secret or "",
            account.redirect_uri,
            authorize_url=account.authorize_url,
            # A refresh is re-sent when its answer is lost, under the account's row lock:
            # keep each try short.
            timeout=(5, 15),
        )

    # -- tokens -----------------------------------------------------------------------------

    def _kommo_stored_tokens(self):
        """The tokens on the row (``kommo_api.Tokens``), or None when not connected."""
        self.ensure_one()
        account = self.sudo()
        if account.auth_mode == "long_lived":
            if not account.long_lived_token:
                return None
            store = LongLivedTokenStore(account.long_lived_token, _aware(account.token_expires_at))
            return store.get_tokens()
        if not account.access_token:
            return None
        return Tokens(
            access_token=account.access_token,
            refresh_token=account.refresh_token or None,
            # Unknown expiry: treat as expired, so the first call refreshes.
            expires_at=_aware(account.token_expires_at or fields.Datetime.now()),
        )

    def _kommo_token_values(self, tokens):
        return {
            "access_token": tokens.access_token,
            "refresh_token": tokens.refresh_token or False,
            "token_expires_at": _naive(tokens.expires_at),
            "token_obtained_at": fields.Datetime.now(),
        }

    def _kommo_refresh_locked(self, current):
        """Spend the refresh token for a new pair; the caller holds the row lock.

        Returns ``(tokens, None)``, or ``(None, error)`` with the account marked for
        reconnection when Kommo refused: the caller commits first, then raises.
        """
        self.ensure_one()
        started = time.perf_counter()
        try:
            if current is None or not current.refresh_token:
                raise KommoTokenRevoked(
                    _(
                        "Kommo refused the access token and it cannot be renewed "
                        "(a long-lived token expired or was revoked)."
                    )
                )
            fresh = self._kommo_oauth_app().refresh(
                self.host, current.refresh_token, current.api_domain
            )
        except KommoError as exc:
            self._kommo_log_token_call("refresh_token", started, exc)
            if isinstance(exc, KommoTokenRevoked):
                self._kommo_mark_revoked(exc)
            return None, exc
        values = self._kommo_token_values(fresh)
        if fresh.host and fresh.host != self.host:
            # The account was renamed in Kommo: follow it, as the official library does.
            env = self.with_context(lang=self._kommo_lang()).env
            self.message_post(
                body=env._("Kommo moved this account from %(old)s to %(new)s; Odoo follows it.")
                % {"old": self.host, "new": fresh.host}
            )
            values.update(host=fresh.host, kommo_subdomain=fresh.host.split(".")[0])
        self.write(values)
        self._kommo_log_token_call("refresh_token", started)
        return fresh, None

    def _kommo_log_token_call(self, operation, started, error=None):
        self.env["kommo.sync.log"]._kommo_log(
            self,
            operation,
            http_method="POST",
            endpoint=TOKEN_PATH,
            http_status=(error.status if error else 200) or False,
            duration_ms=round((time.perf_counter() - started) * 1000),
            outcome="error" if error else "success",
            error_message=error.message if error else False,
        )

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

    # -- revocation -----------------------------------------------------------------------

    @api.model
    def _kommo_account_for_disconnect(self, client_uuid, kommo_account_id, signature):
        """The account Kommo's disconnect hook is about, when its signature is that account's
        (HMAC-SHA256 of ``client_id|account_id`` keyed with the integration's secret key);
        else an empty recordset."""
        if not (client_uuid and kommo_account_id and signature):
            return self.browse()
        candidates = self.sudo().search(
            [("client_id", "=", client_uuid), ("kommo_account_id", "=", kommo_account_id)]
        )
        return candidates.filtered(
            lambda account: (
                account.client_secret
                and verify_disconnect_signature(
                    account.client_id, account.client_secret, kommo_account_id, signature
                )
            )
        )[:1]

    def _kommo_disconnected_by_kommo(self):
        """The integration was removed from the Kommo account: its tokens are dead and its
        webhook gone. Stop sending and tell a person, who may connect again."""
        self.ensure_one()
        env = self.with_context(lang=self._kommo_lang()).env  # the shop's words
        message = env._(
            "The integration was removed in Kommo (account %s): Odoo stopped sending to Kommo "
            "and forgot the tokens. Connect again to resume.",
            self.kommo_account_name or self.host,
        )
        self.sudo().write(
            {
                "state": "not_connected",
                "last_error": message,
                "access_token": False,
                "refresh_token": False,
                "token_expires_at": False,
                "webhook_registered": False,
                "webhook_state": False,
            }
        )
        self._kommo_ask_for_reconnection(message)

    def _kommo_mark_revoked(self, error):
        """Kommo no longer accepts this connection: stop, and tell a human once."""
        self.ensure_one()
        env = self.with_context(lang=self._kommo_lang()).env  # the shop's words
        message = env._(
            "Kommo no longer accepts this connection (%s). Sending to Kommo is paused until "
            "an administrator clicks Connect again.",
            error.message,
        )
        # Whoever hit the refusal (a repair user's sync, a cron), the account records it.
        account = self.sudo()
        was_flagged = account.state == "needs_reconnect"
        account.write(
            {
                "state": "needs_reconnect",
                "last_error": message,
                "access_token": False,
                "refresh_token": False,
                "token_expires_at": False,
            }
        )
        if not was_flagged:
            account._kommo_ask_for_reconnection(message)

    def _kommo_ask_for_reconnection(self, message):
        todo = self.env.ref("mail.mail_activity_data_todo")
        summary = _("Reconnect Kommo")
        for user in self._kommo_people_to_tell():
            already_asked = self.activity_ids.filtered(
                lambda act, user=user: (
                    act.user_id == user and act.activity_type_id == todo and act.summary == summary
                )
            )
            if not already_asked:
                self.activity_schedule(
                    act_type_xmlid="mail.mail_activity_data_todo",
                    summary=summary,
                    note=plaintext2html(message),
                    user_id=user.id,
                )
        self.message_post(body=message)

    def _kommo_people_to_tell(self):
        if self.user_id.active and not self.user_id.share:
            return self.user_id
        admins = self.env.ref("base.group_system")[GROUP_USERS_FIELD]
        return admins.filtered(
            lambda user: self.company_id in user.company_ids and not user.share and user.active
        )

    def _kommo_record_failure(self, error, connecting=False):
        """Show a failed exchange on the account in plain words.

        A failed connection attempt leaves a working connection alone; otherwise a refused
        token means reconnecting, anything else is an error.
        """
        revoked = isinstance(error, KommoTokenRevoked) or self.state == "needs_reconnect"
        if not connecting and revoked:
            if self.state != "needs_reconnect":  # else the token store said it already
                self._kommo_mark_revoked(error)
            return
        values = {"last_error": error if isinstance(error, str) else error.message}
        if not connecting or self.state != "connected":
            values["state"] = "error"
        self.sudo().write(values)

    def _kommo_oauth_refused(self, error):
        """Kommo sent the administrator back without a code (``error=...``)."""
        self.ensure_one()
        if error == "access_denied":
            message = _(
                "Kommo did not grant access: the authorization was refused (Deny). Click "
                "Connect again and press Allow."
            )
        else:
            message = _("Kommo reported an error during the authorization: %s", error)
        self._kommo_record_failure(message, connecting=True)
        self.message_post(body=message)

    # -- connecting -------------------------------------------------------------------------

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
                _("The address Kommo sent back (%s) is not a Kommo account address.", referer)
            ) from None
        if self.host and normalize_host(self.host) != host:
            raise UserError(
                _(
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
            raise UserError(_("Kommo did not send an authorization code."))
        app = self._kommo_oauth_app()
        started = time.perf_counter()
        try:
            tokens = app.exchange_code(host, code)
        except KommoError as exc:
            self._kommo_log_token_call("connect", started, exc)
            self._kommo_record_failure(exc, connecting=True)
            return False
        self._kommo_log_token_call("connect", started)
        store = MemoryTokenStore(app, host, tokens)
        self.sudo().write({"host": host, **self._kommo_token_values(tokens)})
        return self._kommo_finish_connect(host, store)

    def _kommo_connect_long_lived(self):
        self.ensure_one()
        account = self.sudo()
        if not (account.host and account.long_lived_token):
            raise UserError(_("Fill in the Kommo address and the long-lived token first."))
        store = LongLivedTokenStore(account.long_lived_token, _aware(account.token_expires_at))
        if self._kommo_finish_connect(normalize_host(account.host), store):
            return self._kommo_notification(
                _("Kommo connected"), _("Connected to %s.", self.kommo_account_name)
            )
        return self._kommo_notification(_("Kommo connection failed"), self.last_error, "danger")

    def _kommo_finish_connect(self, host, store):
        """Validate the tokens in ``store`` with /api/v4/account, then discover."""
        client = self._kommo_client(operation="connect", token_store=store, host=host)
        try:
            info = client.get_account()
        except KommoError as exc:
            self._kommo_record_failure(exc, connecting=True)
            return False
        values = self._kommo_info_values(info)
        if values["kommo_account_id"] != self.kommo_account_id:
            # Another Kommo account (or a first connection): its contact list is read anew.
            self.env["kommo.contact.key"].sudo()._kommo_store(self, [])
            values.update(kommo_contacts_read_at=False, kommo_contact_count=0)
        self.write({"state": "connected", "last_error": False, **values})
        tokens = store.get_tokens()
        if self.auth_mode == "oauth" and tokens.access_token != self.sudo().access_token:
            self.sudo().write(self._kommo_token_values(tokens))  # renewed while connecting
        self.message_post(body=_("Connected to the Kommo account %s.", self.kommo_account_name))
        try:
            with self.env.cr.savepoint():
                self._kommo_discover(
                    self._kommo_client(operation="discovery", token_store=store, host=host)
                )
        except KommoError as exc:
            self.last_error = _(
                "Connected, but reading the pipelines and fields failed: %s", exc.message
            )
        return True

    def _kommo_info_values(self, info):
        return {
            "kommo_account_id": info.get("id") or False,
            "kommo_account_name": info.get("name") or False,
            "kommo_subdomain": info.get("subdomain") or False,
        }

    def _kommo_discover(self, client):
        """Read pipelines and fields from Kommo and propose the default maps."""
        self.env["kommo.pipeline"]._kommo_refresh(self, client)
        self.env["kommo.custom.field"]._kommo_refresh(self, client)
        self.env["kommo.field.map"]._kommo_propose_defaults(self)
        self.env["kommo.stage.map"]._kommo_propose_defaults(self)
