import logging

from odoo import api, fields, models

from kommo_api import KommoNotFound, KommoValidationError, base_url

from ..const import CLEANUP_BATCH_SIZE
from ..tools.cursors import KEY_SHARE, account_in_own_transaction, unlink_in_batches
from ..tools.log_labels import one_line, operation_codes, operation_label
from ..tools.optional_integer import OptionalInteger

_logger = logging.getLogger(__name__)

# Kommo answered and refused what was sent: the data must change, not the connection.
REFUSALS = (KommoValidationError, KommoNotFound)
# The Kommo page of a record the log is about: the record's model -> Kommo's entity, and the
# binding model, its field naming the record and its Kommo id.
KOMMO_ENTITIES = {
    "repair.order": ("leads", "kommo.lead.binding", "repair_id", "kommo_lead_id"),
    "res.partner": ("contacts", "kommo.contact.binding", "partner_id", "kommo_contact_id"),
}


def exchange_outcome(error):
    """success, refused (Kommo said no to the record) or error (the exchange failed)."""
    if error is None:
        return "success"
    return "refused" if isinstance(error, REFUSALS) else "error"


def kommo_id_text(kommo_id):
    """A Kommo id as the log keeps it: its digits, or False for none (never "0")."""
    text = str(kommo_id or "").strip()
    return text if text not in ("", "0", "False", "None") else False


class KommoSyncLog(models.Model):
    """One row per exchange with Kommo: what was sent or received, and how it went."""

    _name = "kommo.sync.log"
    _description = "Kommo sync log"
    _order = "create_date desc, id desc"

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
    operation = fields.Char("Operation code", required=True, readonly=True, index=True)
    operation_label = fields.Char(
        "Operation", compute="_compute_operation_label", search="_search_operation_label"
    )
    res_model = fields.Char("Record model", readonly=True)
    res_id = fields.Many2oneReference("Record ID", model_field="res_model", readonly=True)
    record_ref = fields.Reference(
        selection="_selection_record_ref", string="Record", compute="_compute_record_ref"
    )
    kommo_id = fields.Char("Kommo ID", readonly=True, index=True)
    kommo_url = fields.Char(
        "In Kommo", compute="_compute_kommo_url", help="The lead or contact's page in Kommo."
    )
    http_method = fields.Char("Method", readonly=True)
    endpoint = fields.Char(readonly=True)
    http_status = OptionalInteger("HTTP status", readonly=True, zero_is_none=True, aggregator=None)
    duration_ms = OptionalInteger("Duration (ms)", readonly=True)
    attempt = fields.Integer(readonly=True, default=1)
    entity_count = OptionalInteger("Entities", readonly=True)
    outcome = fields.Selection(
        [
            ("success", "Success"),
            ("refused", "Refused"),
            ("error", "Failed"),
            ("skipped", "Skipped"),
        ],
        required=True,
        default="success",
        readonly=True,
        index=True,
        help="Refused: Kommo answered and refused the record; the data must change (a "
        "field's value, a deleted lead). Failed: the exchange itself did not work (network, "
        "Kommo unavailable, access).",
    )
    error_message = fields.Text("Error", readonly=True)
    error_summary = fields.Char("Error (short)", compute="_compute_error_summary")
    request_id = fields.Char("Request ID", readonly=True)

    @api.model
    def _selection_record_ref(self):
        return [(model.model, model.name) for model in self.env["ir.model"].sudo().search([])]

    @api.depends("operation")
    @api.depends_context("lang")
    def _compute_operation_label(self):
        for log in self:
            log.operation_label = operation_label(self.env, log.operation)

    @api.depends("operation_label")
    def _compute_display_name(self):
        for log in self:
            log.display_name = log.operation_label

    def _search_operation_label(self, operator, value):
        """Search by the label in the user's language, or by the code itself."""
        negate = operator in ("not ilike", "!=")
        if operator not in ("ilike", "=", "not ilike", "!=") or not isinstance(value, str):
            raise NotImplementedError(f"operator {operator!r} on the operation label")
        exact = operator in ("=", "!=")
        domain = [
            "|",
            ("operation", "in", operation_codes(self.env, value, exact=exact)),
            ("operation", "=" if exact else "ilike", value),
        ]
        return ["!", *domain] if negate else domain

    @api.depends("error_message")
    def _compute_error_summary(self):
        for log in self:
            log.error_summary = one_line(log.error_message)

    @api.depends("res_model", "res_id", "kommo_id", "direction", "account_id.host")
    def _compute_kommo_url(self):
        bound = self._kommo_bound_ids()
        for log in self:
            entity = KOMMO_ENTITIES.get(log.res_model, ("leads",))[0]
            kommo_id = log.kommo_id or bound.get((log.res_model, log.account_id.id, log.res_id))
            if log.res_model not in KOMMO_ENTITIES and log.direction != "inbound":
                kommo_id = None  # an outbound call about no lead or contact
            host = log.account_id.host
            log.kommo_url = (
                f"{base_url(host)}/{entity}/detail/{kommo_id}" if host and kommo_id else False
            )

    def _kommo_bound_ids(self):
        """``{(model, account id, record id): Kommo id}`` of the records these rows are about,
        read with one query per model."""
        bound = {}
        for model, (_entity, binding_model, record_field, id_field) in KOMMO_ENTITIES.items():
            rows = self.filtered(lambda log, m=model: log.res_model == m and log.res_id)
            if not rows:
                continue
            bindings = (
                self.env[binding_model]
                .sudo()
                .search(
                    [
                        ("account_id", "in", rows.account_id.ids),
                        (record_field, "in", rows.mapped("res_id")),
                    ]
                )
            )
            for binding in bindings:
                key = (model, binding.account_id.id, binding[record_field].id)
                bound[key] = binding[id_field] or None
        return bound

    @api.depends("res_model", "res_id")
    def _compute_record_ref(self):
        for log in self:
            if log.res_model in self.env and log.res_id:
                log.record_ref = f"{log.res_model},{log.res_id}"
            else:
                log.record_ref = False

    def action_open_record(self):
        """Open the record the row is about (the list shows its name, not a link)."""
        self.ensure_one()
        record = self.record_ref
        if not record:
            return False
        return {
            "type": "ir.actions.act_window",
            "res_model": record._name,
            "res_id": record.id,
            "view_mode": "form",
            "views": [(False, "form")],
            "target": "current",
        }

    @api.autovacuum
    def _gc_kommo_sync_log(self, batch_size=CLEANUP_BATCH_SIZE):
        """Delete rows older than their account's retention period, ``batch_size`` at a time
        (Odoo's daily autovacuum)."""
        deleted = 0
        for account, limit in self.env["kommo.account"]._kommo_retention_limits():
            domain = [("account_id", "=", account.id), ("create_date", "<", limit)]
            deleted += unlink_in_batches(self.sudo(), domain, batch_size)
        return deleted

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
            outcome=exchange_outcome(error),
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
        values = self._kommo_log_values(account, operation, records, values)
        try:
            # KEY SHARE, what the row's foreign key check takes: logging never queues behind
            # the account's writers (a token refresh holds the row during its call).
            with account_in_own_transaction(account, lock=KEY_SHARE) as own_account:
                return own_account.env["kommo.sync.log"].create(values).id
        except Exception:
            _logger.exception("Could not write the Kommo sync log row for %s", operation)
            return False

    @api.model
    def _kommo_log_with_caller(self, account, operation, records=None, **values):
        """Write a log row in the caller's transaction: for what Odoo itself did (a change
        Kommo's news made), which is undone with the row when the transaction rolls back.
        No second connection, which a cron applying a burst of webhooks would pay per event."""
        values = self._kommo_log_values(account, operation, records, values)
        return self.sudo().create(values).id

    @api.model
    def _kommo_log_values(self, account, operation, records, values):
        values = dict(values, account_id=account.id, operation=operation)
        values["kommo_id"] = kommo_id_text(values.get("kommo_id"))
        if records is not None and len(records) == 1:
            values.update(res_model=records._name, res_id=records.id)
        elif records is not None and records:
            values["res_model"] = records._name
        return values
