import logging

from werkzeug.exceptions import Forbidden

from odoo import http
from odoo.exceptions import UserError
from odoo.http import request

from ..const import OAUTH_CALLBACK_ROUTE

_logger = logging.getLogger(__name__)


class KommoController(http.Controller):
    _oauth_callback_url = OAUTH_CALLBACK_ROUTE

    @http.route(_oauth_callback_url, type="http", auth="user", methods=["GET"])
    def kommo_oauth_callback(self, state=None, code=None, referer=None, error=None, **kwargs):
        """Where Kommo sends the administrator back after Allow (``code``) or Deny."""
        if not request.env.user.has_group("base.group_system"):
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
