import contextlib

from odoo import api, models
from odoo.exceptions import UserError

from kommo_api import KommoError, KommoTokenRevoked, normalize_host, verify_disconnect_signature


class KommoConnectionMixin(models.AbstractModel):
    """A Kommo account's connection as the shop sees it: made (Connect, with a long-lived
    token or after the OAuth code exchange of ``kommo.oauth.mixin``), tested, ended by an
    administrator, or lost (Kommo removed the integration, refused the tokens, or an
    exchange failed); each change is put on the account in plain words, and a lost
    connection is told to a person.

    Inherited by ``kommo.account``, whose ``state`` and ``last_error`` it moves.
    """

    _name = "kommo.connection.mixin"
    _description = "Kommo connection of an account"

    # -- the buttons -----------------------------------------------------------------------

    def action_connect(self):
        self.ensure_one()
        if self.auth_mode == "long_lived":
            return self._kommo_connect_long_lived()
        if not (self.client_id and self.sudo().client_secret):
            raise UserError(
                self.env._(
                    "Fill in the integration ID and secret key of your Kommo integration "
                    "first (see the Documentation tab)."
                )
            )
        return {
            "type": "ir.actions.act_url",
            "url": self._kommo_oauth_app().authorize_url_for(
                self._kommo_oauth_state(), host=self.host or None
            ),
            "target": "self",
        }

    def action_test_connection(self):
        self.ensure_one()
        try:
            info = self._kommo_client(operation="test_connection").get_account()
        except KommoError as exc:
            self._kommo_record_failure(exc)
            return self._kommo_notification(
                self.env._("Kommo connection failed"), self.last_error, "danger"
            )
        self._kommo_write_after_calls(
            {"state": "connected", "last_error": False, **self._kommo_info_values(info)}
        )
        return self._kommo_notification(
            self.env._("Kommo connection works"),
            self.env._("Connected to the Kommo account %s.", self.kommo_account_name),
        )

    def action_disconnect(self):
        for account in self:
            if account.webhook_registered and account.state == "connected":
                # A failure is in the sync log; Kommo drops hooks that keep failing anyway.
                with contextlib.suppress(KommoError):
                    account._kommo_unsubscribe_webhook()
            account._kommo_forget_tokens(
                "not_connected",
                token_obtained_at=False,
                webhook_registered=False,
                webhook_state=False,
            )
            account.message_post(body=self.env._("Disconnected from Kommo."))
        return True

    # -- connecting ------------------------------------------------------------------------

    def _kommo_connect_long_lived(self):
        self.ensure_one()
        account = self.sudo()
        if not (account.host and account.long_lived_token):
            raise UserError(self.env._("Fill in the Kommo address and the long-lived token first."))
        store = account._kommo_long_lived_store()
        if self._kommo_finish_connect(normalize_host(account.host), store):
            return self._kommo_notification(
                self.env._("Kommo connected"),
                self.env._("Connected to %s.", self.kommo_account_name),
            )
        return self._kommo_notification(
            self.env._("Kommo connection failed"), self.last_error, "danger"
        )

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
        self.message_post(
            body=self.env._("Connected to the Kommo account %s.", self.kommo_account_name)
        )
        try:
            with self.env.cr.savepoint():
                self._kommo_discover(
                    self._kommo_client(operation="discovery", token_store=store, host=host)
                )
        except KommoError as exc:
            self.last_error = self.env._(
                "Connected, but reading the pipelines and fields failed: %s", exc.message
            )
        return True

    def _kommo_info_values(self, info):
        return {
            "kommo_account_id": info.get("id") or False,
            "kommo_account_name": info.get("name") or False,
            "kommo_subdomain": info.get("subdomain") or False,
        }

    # -- losing the connection -------------------------------------------------------------

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
        self._kommo_forget_tokens(
            "not_connected", message, webhook_registered=False, webhook_state=False
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
        account._kommo_forget_tokens("needs_reconnect", message)
        if not was_flagged:
            account._kommo_ask_for_reconnection(message)

    def _kommo_forget_tokens(self, state, message=False, **values):
        """Drop the tokens (dead, or given up) and put the account in ``state``, saying why."""
        self.sudo().write(
            {
                "state": state,
                "last_error": message,
                "access_token": False,
                "refresh_token": False,
                "token_expires_at": False,
                **values,
            }
        )

    def _kommo_ask_for_reconnection(self, message):
        self._kommo_give_todo(self.env._("Reconnect Kommo"), message)
        self.message_post(body=message)

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
