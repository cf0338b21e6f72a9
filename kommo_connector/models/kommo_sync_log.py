import logging

from odoo import api, fields, models

from ..tools.cursors import KEY_SHARE, account_in_own_transaction

_logger = logging.getLogger(__name__)


class KommoSyncLog(models.Model):
    """One row per exchange with Kommo: what was sent or received, and how it went."""

    _name = "kommo.sync.log"
    _description = "Kommo sync log"
    _order = "create_date desc, id desc"
    _rec_name = "operation"

    account_id = fields.Many2one(
        "kommo.account", required=True, ondelete="cascade", index=True, readonly=True
    )
    company_id = fields.Many2one(
        related="account_id.company_id", store=True, index=True, readonly=True
    )
    direction = fields.Selection(
        [("outbound", "Odoo to Kommo"), ("inbound", "Kommo to Odoo")],
        required=True,
        default="outbound",
        readonly=True,
    )
    operation = fields.Char(required=True, readonly=True, index=True)
    res_model = fields.Char("Record model", readonly=True)
    res_id = fields.Many2oneReference("Record ID", model_field="res_model", readonly=True)
    record_ref = fields.Reference(
        selection="_selection_record_ref", string="Record", compute="_compute_record_ref"
    )
    kommo_id = fields.Char("Kommo ID", readonly=True, index=True)
    http_method = fields.Char("Method", readonly=True)
    endpoint = fields.Char(readonly=True)
    http_status = fields.Integer("HTTP status", readonly=True)
    duration_ms = fields.Integer("Duration (ms)", readonly=True)
    attempt = fields.Integer(readonly=True, default=1)
    entity_count = fields.Integer("Entities", readonly=True)
    outcome = fields.Selection(
        [("success", "Success"), ("error", "Error"), ("skipped", "Skipped")],
        required=True,
        default="success",
        readonly=True,
        index=True,
    )
    error_message = fields.Text("Error", readonly=True)
    request_id = fields.Char("Request ID", readonly=True)

    @api.model
    def _selection_record_ref(self):
        return [(model.model, model.name) for model in self.env["ir.model"].sudo().search([])]

    @api.depends("res_model", "res_id")
    def _compute_record_ref(self):
        for log in self:
            if log.res_model in self.env and log.res_id:
                log.record_ref = f"{log.res_model},{log.res_id}"
            else:
                log.record_ref = False

    @api.model
    def _kommo_log_exchange(self, account, exchange, operation=None, records=None, kommo_id=None):
        """Record one HTTP exchange of ``kommo_api`` (an ``Exchange``) for ``account``."""
        error = exchange.error
        return self._kommo_log(
            account,
            operation=operation or "api_call",
            records=records,
            kommo_id=kommo_id,
            http_method=exchange.method,
            endpoint=exchange.path,
            http_status=exchange.status or False,
            duration_ms=exchange.duration_ms,
            attempt=exchange.attempt,
            entity_count=exchange.entity_count or False,
            outcome="error" if error else "success",
            error_message=error.message if error else False,
            request_id=exchange.request_id or (error.request_id if error else None) or False,
        )

    @api.model
    def _kommo_log(self, account, operation, records=None, **values):
        """Write a log row in a transaction of its own, so it survives a rollback of the
        caller's transaction: the exchange with Kommo happened either way.

        ``values`` are field values; ``records`` names the Odoo record the exchange was about.
        Never raises: a broken log must not turn a good exchange into a failure.
        """
        values.update(account_id=account.id, operation=operation)
        if records is not None and len(records) == 1:
            values.update(res_model=records._name, res_id=records.id)
        elif records is not None and records:
            values["res_model"] = records._name
        try:
            # KEY SHARE, what the row's foreign key check takes: logging never queues behind
            # the account's writers (a token refresh holds the row during its call).
            with account_in_own_transaction(account, lock=KEY_SHARE) as own_account:
                return own_account.env["kommo.sync.log"].create(values).id
        except Exception:
            _logger.exception("Could not write the Kommo sync log row for %s", operation)
            return False
