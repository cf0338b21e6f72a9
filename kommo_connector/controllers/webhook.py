import hashlib
import logging
import re
from urllib.parse import urlencode

from odoo import http
from odoo.http import request
from odoo.service.model import PG_CONCURRENCY_EXCEPTIONS_TO_RETRY

from kommo_api import (
    MAX_BODY_BYTES,
    WebhookDelivery,
    WebhookParseError,
    delivery_fingerprint,
    parse_webhook,
)

_logger = logging.getLogger(__name__)

# An unreadable delivery is kept up to this many characters: enough to see what came.
UNREADABLE_KEPT_CHARS = 100_000
# Transactions tried in the request to store a delivery that others store at the same moment.
STORE_ATTEMPTS = 3


class KommoWebhookController(http.Controller):
    """Receives Kommo's webhook deliveries: authenticate, store, answer at once.

    Kommo does not sign deliveries: the secret in the URL says which Odoo account they are
    for, and the account named in the body must be that account's Kommo account. Applying
    the events is left to a cron (``kommo.webhook.event._cron_process_events``), so Kommo
    gets its answer fast and a slow or failing repair action never makes it retry.
    """

    _webhook_url_prefix = "/kommo/webhook"
    _webhook_url = f"{_webhook_url_prefix}/<string:secret>"

    @http.route(
        _webhook_url,
        type="http",
        auth="public",
        methods=["POST"],
        csrf=False,
        save_session=False,
    )
    def kommo_webhook(self, secret, **_form):
        try:
            return self._kommo_receive_now(secret)
        except Exception:
            # Never a 500 with a traceback: Kommo retries a 503 later, and the log says why.
            _logger.exception("Kommo webhook: the delivery could not be stored")
            request.env.cr.rollback()
            return self._kommo_answer(503, "Try again later")

    def _kommo_receive_now(self, secret):
        """Store the delivery, and store it again at once in a new transaction when another
        worker is storing the same one this very instant: under REPEATABLE READ the second
        insert fails to serialise, and the new transaction sees the other's row and stores
        nothing (kommo.webhook.event._kommo_receive). Odoo's own ``retrying``
        (odoo/service/model.py) does not do this for us: ``kommo_webhook`` turns every error
        into a 503, so the error never reaches it, and were it let through, ``retrying``
        would sleep up to 2 s (then 4 s) before the next try, about all the time Kommo waits
        for an answer. Either way Kommo would get a 503 or no answer in time, and more than
        100 of those within 2 hours make it disable the webhook."""
        for attempt in range(1, STORE_ATTEMPTS + 1):
            try:
                return self._kommo_receive(secret)
            except PG_CONCURRENCY_EXCEPTIONS_TO_RETRY:
                if attempt == STORE_ATTEMPTS:
                    raise
                request.env.cr.rollback()
                request.env.reset()
        return None

    def _kommo_receive(self, secret):
        events = request.env["kommo.webhook.event"].sudo()
        account = events._kommo_account_for_secret(secret)
        remote_addr = request.httprequest.remote_addr
        if not account:
            _logger.warning("Kommo webhook from %s refused: unknown secret", remote_addr)
            return self._kommo_answer(403, "Forbidden")
        text = self._kommo_body_text()
        try:
            if (request.httprequest.content_length or 0) > MAX_BODY_BYTES:
                raise WebhookParseError(f"the body is larger than {MAX_BODY_BYTES} bytes")
            delivery = parse_webhook(text)
        except WebhookParseError as exc:
            delivery, error = WebhookDelivery(*self._kommo_named_account(), events=()), exc
        else:
            error = None
        if self._kommo_names_another_account(delivery, account):
            _logger.warning(
                "Kommo webhook for account %s from %s refused: it names another Kommo account",
                account.id,
                remote_addr,
            )
            return self._kommo_answer(403, "Forbidden")
        if error is None:
            fingerprint = delivery_fingerprint(text)
            events._kommo_receive(account, delivery, text, fingerprint, remote_addr)
        else:
            fingerprint = hashlib.sha256(text.encode()).hexdigest()
            _logger.warning(
                "Kommo webhook for account %s from %s kept as unreadable: %s",
                account.id,
                remote_addr,
                error,
            )
            events._kommo_receive_unreadable(
                account, text[:UNREADABLE_KEPT_CHARS], fingerprint, str(error), remote_addr
            )
        return self._kommo_answer(200, "OK")

    def _kommo_names_another_account(self, delivery, account):
        """Whether the delivery is for another Kommo account. Its account id decides when both
        sides know it (a subdomain changes when the account is renamed in Kommo); of an
        unreadable delivery, only what can be read is compared."""
        if delivery.account_id is not None and account.kommo_account_id:
            return delivery.account_id != account.kommo_account_id
        if delivery.account_id is None and delivery.subdomain is None:
            return False
        return not delivery.is_for_account(
            account.kommo_account_id or None, account.kommo_subdomain or None
        )

    def _kommo_body_text(self):
        """The delivery as form-encoded text: the form Odoo already decoded (Kommo sends
        form-encoded bodies), else the raw body, undecodable bytes replaced."""
        http_request = request.httprequest
        if http_request.form:
            return urlencode(list(http_request.form.items(multi=True)))
        if (http_request.content_length or 0) > MAX_BODY_BYTES:
            return ""  # not read
        return http_request.get_data().decode("utf-8", errors="replace")

    def _kommo_named_account(self):
        """``(account id, subdomain)`` as far as they can be read from an unreadable delivery:
        only a delivery that clearly names another account is refused."""
        form = request.httprequest.form
        account_id = form.get("account[id]", "").strip()
        subdomain = form.get("account[subdomain]", "").strip()
        return (int(account_id) if account_id.isdigit() else None), (subdomain or None)

    def _kommo_answer(self, status, text):
        return request.make_response(
            text, headers=[("Content-Type", "text/plain; charset=utf-8")], status=status
        )


class HideWebhookSecret(logging.Filter):
    """Masks the secret of webhook URLs in the access log: werkzeug logs every request's
    path, and the secret is what authenticates Kommo."""

    secret_in_path = re.compile(
        rf"({re.escape(KommoWebhookController._webhook_url_prefix)}/)[^\s/?#\"']+"
    )

    def filter(self, record):
        if isinstance(record.args, tuple):
            record.args = tuple(
                self.secret_in_path.sub(r"\1***", arg) if isinstance(arg, str) else arg
                for arg in record.args
            )
        return True


logging.getLogger("werkzeug").addFilter(HideWebhookSecret())
