import logging

from werkzeug.exceptions import Forbidden

from odoo import http
from odoo.exceptions import UserError
from odoo.http import request

from ..const import GROUP_ADMIN

_logger = logging.getLogger(__name__)


class KommoController(http.Controller):
    """Kommo's OAuth redirect and its disconnect hook (both given to Kommo with the
    integration: see the account's Documentation tab)."""

    _oauth_callback_url = "/kommo/oauth/callback"
    # Kommo calls it when an administrator removes the integration from the Kommo account.
    _oauth_disconnect_url = "/kommo/oauth/disconnect"

    @http.route(
        _oauth_disconnect_url, type="http", auth="public", methods=["GET"], save_session=False
    )
    def kommo_oauth_disconnect(self, account_id=None, client_uuid=None, signature=None, **_kw):
        """Kommo's disconnect hook: an administrator removed the integration in Kommo.

        Signed, not secret: the signature proves Kommo sent it (tools in kommo_api)."""
        kommo_account_id = int(account_id) if (account_id or "").isdigit() else None
        account = request.env["kommo.account"]._kommo_account_for_disconnect(
            client_uuid, kommo_account_id, signature
        )
        if not account:
            _logger.warning("Kommo disconnect hook refused: unknown account or bad signature")
            raise Forbidden()
        account._kommo_disconnected_by_kommo()
        return request.make_response("OK", headers=[("Content-Type", "text/plain")])

    @http.route(_oauth_callback_url, type="http", auth="user", methods=["GET"])
    def kommo_oauth_callback(self, state=None, code=None, referer=None, error=None, **kwargs):
        """Where Kommo sends the administrator back after Allow (``code``) or Deny."""
        if not request.env.user.has_group(GROUP_ADMIN):
            _logger.warning(
                "Kommo OAuth callback refused: user %s is not an administrator", request.env.uid
            )
            raise Forbidden()
        account = request.env["kommo.account"]._kommo_account_from_state(state)
        if not account:
            _logger.warning("Kommo OAuth callback refused: invalid state")
            raise Forbidden()
        if error:
            account._kommo_oauth_refused(error)
        else:
            try:
                account._kommo_connect_with_code(code, referer)
            except UserError as exc:
                account._kommo_record_failure(exc.args[0], connecting=True)
                account.message_post(body=exc.args[0])
        return request.redirect(f"/odoo/action-kommo_connector.action_kommo_account/{account.id}")
