import logging
from datetime import timedelta

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL, consteq

from kommo_api import WebhookParseError, parse_webhook

from ..const import CLEANUP_BATCH_SIZE, CRON_PROCESS_WEBHOOKS
from ..tools.compat import Constraint, report_cron_progress
from ..tools.cursors import auto_commit, unlink_in_batches

_logger = logging.getLogger(__name__)

# A failure that may be passing (a lock, a serialisation conflict) is retried by the next
# runs of the cron; after this many attempts the event waits for "Process again".
MAX_ATTEMPTS = 3
# Minutes to wait before the next attempt, per failed attempt: 2 ** attempts (2, 4, ...), so
# a passing failure has time to pass instead of burning the retries in one cron run.
RETRY_BASE_MINUTES = 2
# Events applied per cron run; the cron runs again at once while some are left.
PROCESS_BATCH_SIZE = 200
SUMMARY_MAX_CHARS = 250


class KommoWebhookEvent(models.Model):
    """A webhook delivery from Kommo, stored raw as received, then applied by a cron.

    The controller stores a delivery and answers at once; Kommo retries deliveries it
    believes failed, so the same delivery may come twice: it is stored once per account
    (``fingerprint``, see kommo_api.webhooks.delivery_fingerprint).
    """

    _name = "kommo.webhook.event"
    _description = "Kommo webhook delivery"
    _inherit = ["kommo.webhook.event.display"]
    _order = "received_at desc, id desc"
    _rec_name = "summary"

    account_id = fields.Many2one(
        "kommo.account", required=True, ondelete="cascade", index=True, readonly=True
    )
    company_id = fields.Many2one(
        related="account_id.company_id", store=True, index=True, readonly=True
    )
    received_at = fields.Datetime(
        required=True, default=fields.Datetime.now, index=True, readonly=True
    )
    fingerprint = fields.Char(required=True, readonly=True, copy=False)
    body = fields.Text(readonly=True, help="The form-encoded delivery as Kommo sent it.")
    remote_addr = fields.Char("Sent from", readonly=True)
    summary = fields.Char(
        "Event codes", readonly=True, help="The events of the delivery and their lead ids."
    )
    event_count = fields.Integer("Events", readonly=True)
    state = fields.Selection(
        [
            ("pending", "Pending"),
            ("done", "Done"),
            ("ignored", "Ignored"),
            ("failed", "Failed"),
            ("unreadable", "Unreadable"),
        ],
        required=True,
        default="pending",
        readonly=True,
        index=True,
        copy=False,
    )
    reason = fields.Text(
        "Details",
        readonly=True,
        copy=False,
        help="What Odoo did with each event of the delivery, or why it did nothing.",
    )
    attempts = fields.Integer(readonly=True, copy=False)
    next_attempt_at = fields.Datetime(
        "Next attempt",
        readonly=True,
        copy=False,
        help="A failed delivery is tried again by the cron once this time has passed.",
    )
    processed_at = fields.Datetime(readonly=True, copy=False)

    _fingerprint_account_uniq = Constraint(
        "unique(account_id, fingerprint)",
        "A webhook delivery is stored once per Kommo account.",
    )

    # -- receiving ------------------------------------------------------------------------

    @api.model
    def _kommo_account_for_secret(self, secret):
        """The active account whose webhook URL carries ``secret`` (compared in constant
        time), or an empty recordset. Every delivery of a burst asks: one query reads the
        accounts with what the receiver needs of them (``search_fetch``), nothing more."""
        accounts = self.env["kommo.account"].sudo()
        if not secret:
            return accounts.browse()
        accounts = accounts.search_fetch(
            [("webhook_secret", "!=", False)],
            ["webhook_secret", "kommo_account_id", "kommo_subdomain", "company_id"],
            order="id",
        )
        return accounts.filtered(lambda account: consteq(account.webhook_secret, secret))[:1]

    @api.model
    def _kommo_receive(self, account, delivery, body, fingerprint, remote_addr=None):
        """Store a delivery in the caller's transaction (the webhook request's) and trigger
        its processing. Returns whether it was new.

        One connection per delivery: a burst of deliveries must not need two each, or it
        exhausts Odoo's connection pool. The request commits before Kommo gets its answer.
        Odoo's transactions are REPEATABLE READ: when another worker stores the same
        delivery at the same moment, the insert fails to serialise; run again in a new
        transaction (the webhook controller does so at once, ``odoo.service.model.retrying``
        would too), it sees the other's row and stores nothing.
        """
        stored = self._kommo_store(account, delivery, body, fingerprint, remote_addr)
        if stored:
            self._kommo_trigger_processing()
        return bool(stored)

    @api.model
    def _kommo_receive_unreadable(self, account, body, fingerprint, reason, remote_addr=None):
        """Keep an authenticated delivery the parser does not understand, with the reason;
        Kommo gets 200 all the same. Kommo disables a webhook after more than 100 non-2xx
        answers in 2 hours: a genuine delivery in a format we did not expect must not count
        towards that. "Process again" reads it again (after an update of the parser, say)."""
        return self._kommo_insert(
            account,
            fingerprint,
            body,
            remote_addr,
            summary=self.env._("(unreadable delivery)"),
            state="unreadable",
            reason=reason,
        )

    @api.model
    def _kommo_store(self, account, delivery, body, fingerprint, remote_addr=None):
        """Store a parsed delivery unless the account already has it; returns the new event,
        or an empty recordset for a duplicate."""
        labels = ", ".join(event.label for event in delivery.events)
        if len(labels) > SUMMARY_MAX_CHARS:
            labels = labels[: SUMMARY_MAX_CHARS - 3] + "..."
        return self._kommo_insert(
            account,
            fingerprint,
            body,
            remote_addr,
            summary=labels or self.env._("(no event)"),
            event_count=len(delivery.events),
        )

    @api.model
    def _kommo_insert(self, account, fingerprint, body, remote_addr, **values):
        """INSERT ... ON CONFLICT DO NOTHING: two workers receiving the same delivery at once
        store it once, without an error in the log or an aborted transaction (see
        _kommo_receive). No ORM: the request that stores a delivery does nothing else."""
        values = {"state": "pending", "event_count": 0, "reason": None, **values}
        self.env.cr.execute(
            SQL(
                """
                INSERT INTO kommo_webhook_event (
                    account_id, company_id, received_at, fingerprint, body, remote_addr,
                    summary, event_count, state, reason, attempts,
                    create_uid, create_date, write_uid, write_date
                )
                VALUES (
                    %(account)s, %(company)s, %(now)s, %(fingerprint)s, %(body)s, %(remote)s,
                    %(summary)s, %(count)s, %(state)s, %(reason)s, 0,
                    %(uid)s, %(now)s, %(uid)s, %(now)s
                )
                ON CONFLICT (account_id, fingerprint) DO NOTHING
                RETURNING id
                """,
                account=account.id,
                company=account.company_id.id,
                now=fields.Datetime.now(),
                fingerprint=fingerprint,
                body=body,
                remote=remote_addr,
                summary=values["summary"],
                count=values["event_count"],
                state=values["state"],
                reason=values["reason"],
                uid=self.env.uid,
            ),
            log_exceptions=False,  # a concurrent duplicate is expected, see _kommo_receive
        )
        row = self.env.cr.fetchone()
        return self.browse(row[0] if row else ())

    @api.model
    def _kommo_trigger_processing(self):
        """Wake the processing cron, once per burst rather than once per delivery.

        ``ir.cron._trigger`` creates a trigger row through the ORM and, at commit, borrows a
        second connection (to the ``postgres`` database) for the NOTIFY that wakes the cron
        workers: for every delivery of a burst, that doubled the connections the receiver
        needs and was its largest cost (bench/README.md, webhook_load.py). While a trigger
        that is due is still waiting, the cron has not consumed it yet and will find this
        delivery too: nothing to add. The cron consumes its due triggers when a run ends,
        and its run takes every delivery stored before it looked for the next one (see
        _cron_process_events), as for Odoo's own triggers; its interval is the backstop.
        """
        cron_id = self.env["ir.model.data"]._xmlid_to_res_id(
            CRON_PROCESS_WEBHOOKS, raise_if_not_found=False
        )
        if not cron_id:
            return
        self.env.cr.execute(
            SQL(
                "SELECT 1 FROM ir_cron_trigger WHERE cron_id = %s AND call_at <= %s LIMIT 1",
                cron_id,
                fields.Datetime.now(),
            )
        )
        if not self.env.cr.fetchone():
            self.env["ir.cron"].sudo().browse(cron_id)._trigger()

    # -- processing -----------------------------------------------------------------------

    @api.model
    def _cron_process_events(self, batch_size=PROCESS_BATCH_SIZE):
        """Apply pending deliveries in the order received, each one locked (``FOR UPDATE
        SKIP LOCKED``: a delivery being applied by another worker is left to it) and
        committed on its own in cron mode."""
        commit = auto_commit()
        done, last_id = 0, 0
        while done < batch_size:
            self.env.flush_all()
            self.env.cr.execute(
                SQL(
                    """
                    SELECT id FROM kommo_webhook_event
                     WHERE state = 'pending' AND id > %s
                       AND (next_attempt_at IS NULL
                            OR next_attempt_at <= (now() AT TIME ZONE 'UTC'))
                     ORDER BY id
                     LIMIT 1
                       FOR UPDATE SKIP LOCKED
                    """,
                    last_id,
                )
            )
            row = self.env.cr.fetchone()
            if not row:
                break
            last_id = row[0]
            self.browse(last_id)._kommo_process()
            done += 1
            if commit:
                self.env.cr.commit()  # pylint: disable=invalid-commit
        remaining = self.search_count(
            [
                ("state", "=", "pending"),
                ("id", ">", last_id),
                "|",
                ("next_attempt_at", "=", False),
                ("next_attempt_at", "<=", fields.Datetime.now()),
            ]
        )
        report_cron_progress(self.env, done, remaining)
        return done

    def _kommo_process(self):
        """Apply this delivery's events; the outcome is written on the event, never raised."""
        self.ensure_one()
        attempts = self.attempts + 1
        next_attempt_at = False
        try:
            with self.env.cr.savepoint():
                state, reason = self._kommo_apply_events()
        except WebhookParseError as exc:
            # Kept unreadable when it came, or read by an older parser: nothing to retry.
            state, reason = "unreadable", str(exc)
        except Exception as exc:  # whatever happens, it is recorded on the event
            _logger.warning("Kommo webhook event %s failed", self.id, exc_info=True)
            state = "failed" if attempts >= MAX_ATTEMPTS else "pending"
            if state == "pending":
                next_attempt_at = fields.Datetime.now() + timedelta(
                    minutes=RETRY_BASE_MINUTES**attempts
                )
            reason = self.env._(
                "Attempt %(attempt)s failed: %(error)s", attempt=attempts, error=exc
            )
        self.write(
            {
                "state": state,
                "reason": reason or False,
                "attempts": attempts,
                "next_attempt_at": next_attempt_at,
                "processed_at": fields.Datetime.now(),
            }
        )

    def _kommo_apply_events(self):
        """``(state, details)``: done when at least one event changed something in Odoo."""
        delivery = parse_webhook(self.body or "")
        inbound = self.env["kommo.inbound"]
        results = [
            inbound._apply_webhook_event(self.account_id, event) for event in delivery.events
        ]
        if not results:
            return "ignored", self.env._("The delivery holds no lead or contact event.")
        details = "\n".join(message for _applied, message in results)
        return ("done" if any(applied for applied, _msg in results) else "ignored"), details

    def action_process_again(self):
        """Apply the deliveries again now (after fixing the stage map, say). Deliveries
        already applied are left alone: applying them again could only repeat them."""
        self.check_access("write")
        events = self.filtered(lambda event: event.state != "done")
        if not events:
            raise UserError(
                self.env._(
                    "These deliveries were applied already: only failed, unreadable or "
                    "ignored ones can be processed again."
                )
            )
        for event in events.sudo():
            event.write(
                {"state": "pending", "attempts": 0, "reason": False, "next_attempt_at": False}
            )
            event._kommo_process()
        return True

    # -- housekeeping ---------------------------------------------------------------------

    @api.model
    def _cron_cleanup(self, batch_size=CLEANUP_BATCH_SIZE):
        """Delete applied (done / ignored) deliveries older than their account's retention
        period, ``batch_size`` at a time. (The sync log keeps its own: kommo.sync.log.)"""
        deleted = 0
        for account, limit in self.env["kommo.account"]._kommo_retention_limits():
            domain = [
                ("account_id", "=", account.id),
                ("received_at", "<", limit),
                ("state", "in", ("done", "ignored")),
            ]
            deleted += unlink_in_batches(self.sudo(), domain, batch_size)
        report_cron_progress(self.env, deleted, 0)
        return deleted
