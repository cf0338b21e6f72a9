"""One push of one Kommo account: claiming pending orders, contacts, and writing outcomes.

No transaction is open while Kommo is called. Each step runs in a short transaction of its
own, committed at once: the claim (``FOR UPDATE SKIP LOCKED`` + a lease, so two workers never
push the same order and a crashed worker's claim expires), the reading of a batch (with
``create_sent_at`` stamped before a creation is sent), and the recording of each answer. When
the orders are not committed yet (created in the caller's own transaction), everything runs
in the caller's transaction instead.

The customers are found in ``push_contacts.py``, the leads and notes sent in
``push_leads.py``.
"""

import time
from collections import namedtuple
from contextlib import contextmanager
from datetime import timedelta

import psycopg2.errors

from odoo import SUPERUSER_ID, _, api, fields
from odoo.tools import SQL

from kommo_api import (
    KommoAuthError,
    KommoBlocked,
    KommoForbidden,
    KommoPaymentRequired,
    KommoTokenExpired,
    KommoTokenRevoked,
)

from .cursors import account_in_own_transaction, new_cursor
from .token_store import OdooTokenStore

TRANSACTION_ATTEMPTS = 4
# Delays between attempts after a transient failure (minutes), the last one repeating.
RETRY_DELAYS_MINUTES = (1, 5, 15, 60, 240)
# A claim lasts the lease plus this much per order claimed.
LEASE_SECONDS_PER_ORDER = 0.2

WorkItem = namedtuple("WorkItem", "binding_id lead_id unknown_create partner_id")


class RunStopped(Exception):  # noqa: N818 - a signal, not an error
    """Kommo cannot take more now: the remaining orders wait for the next run."""


def failure_kind(error):
    """``account`` (the connection itself is refused), ``transient`` (try again later) or
    ``permanent`` (this request will keep failing)."""
    if isinstance(error, KommoTokenExpired):
        # Kommo refused the token the client had just refreshed (a refresh that fails raises
        # its own error): the connection works, this call did not.
        return "transient"
    if isinstance(error, KommoAuthError | KommoPaymentRequired) or (
        isinstance(error, KommoForbidden) and not isinstance(error, KommoBlocked)
    ):
        return "account"
    if error.retry_safe or error.outcome_unknown or isinstance(error, KommoBlocked):
        return "transient"
    return "permanent"


def retry_delay(attempt):
    minutes = RETRY_DELAYS_MINUTES[min(attempt, len(RETRY_DELAYS_MINUTES)) - 1]
    return timedelta(minutes=minutes)


class PushRun:
    """The state of one push of ``account``: claimed orders, contacts found, outcomes."""

    def __init__(self, env, account, options, force=False, records=None):
        self.env = env
        self.account = account.with_env(env).sudo()
        self.options = options
        self.force = force
        self.records = records
        self.own_transactions = True
        self.region = self.account.phone_region or None
        self._token_store = OdooTokenStore(self.account)
        self._clients = {}
        self.contact_ids = {}  # partner id -> Kommo contact id
        self.absent = set()  # partner ids Kommo has no contact for
        self.revisions = {}  # binding id -> revision of the data sent
        self.open = set()  # claimed binding ids still without an outcome
        self.results = {}  # binding id -> (sync state, message)
        self.notes = []  # notes waiting to be sent (the lead is done)
        self.adopted = []  # binding ids whose order took a lead Kommo merged its new one into
        self.pushed = 0
        self.stopped = False

    def client(self, operation):
        if operation not in self._clients:
            self._clients[operation] = self.account._kommo_client(
                operation=operation, records=self.records, token_store=self._token_store
            )
        return self._clients[operation]

    # -- transactions -------------------------------------------------------------------------

    @contextmanager
    def _transaction(self):
        if not self.own_transactions:
            yield self.env
            self.env.flush_all()
            return
        # The orders are not the caller's (kommo.push decided so with held_by_caller); a lock
        # another worker holds too long ends the wait (lock_timeout) and the attempt.
        with new_cursor(self.env.registry) as cr:
            yield api.Environment(cr, SUPERUSER_ID, dict(self.env.context))

    def in_transaction(self, work, *args):
        """``work(env, *args)`` in a short transaction of its own, retried when it collides
        with a concurrent one (e.g. a user saving the same order, or another worker binding
        the same customer: the retry sees its binding and keeps it)."""
        for attempt in range(1, TRANSACTION_ATTEMPTS + 1):
            try:
                with self._transaction() as env:
                    return work(env, *args)
            except (
                psycopg2.errors.SerializationFailure,
                psycopg2.errors.DeadlockDetected,
                psycopg2.errors.LockNotAvailable,
                psycopg2.errors.UniqueViolation,
            ):
                if not self.own_transactions or attempt == TRANSACTION_ATTEMPTS:
                    raise
                time.sleep(0.05 * attempt)
        return None

    # -- claiming -----------------------------------------------------------------------------

    def claim(self, binding_ids=None):
        """Lock and lease the orders to push (the given ones, or the account's pending ones)."""
        if binding_ids is not None and not binding_ids:
            return []
        limit = len(binding_ids) if binding_ids else self.options["claim_limit"]
        items = self.in_transaction(self._claim, binding_ids, limit)
        self.open.update(item.binding_id for item in items)
        return items

    def _claim(self, env, binding_ids, limit):
        env.flush_all()
        now = fields.Datetime.now()
        conditions = [
            SQL("account_id = %s", self.account.id),
            SQL("(claimed_until IS NULL OR claimed_until < %s)", now),
        ]
        if binding_ids:
            conditions.append(SQL("id IN %s", tuple(binding_ids)))
        else:
            conditions.append(SQL("sync_state = 'pending'"))
            conditions.append(SQL("(next_attempt_at IS NULL OR next_attempt_at <= %s)", now))
        env.cr.execute(
            SQL(
                "SELECT id FROM kommo_lead_binding WHERE %s ORDER BY id LIMIT %s"
                " FOR UPDATE SKIP LOCKED",
                SQL(" AND ").join(conditions),
                limit,
            ),
            log_exceptions=False,  # a collision is retried (in_transaction)
        )
        ids = tuple(row[0] for row in env.cr.fetchall())
        if not ids:
            return []
        lease = self.options["lease_seconds"] + len(ids) * LEASE_SECONDS_PER_ORDER
        env.cr.execute(
            SQL(
                "UPDATE kommo_lead_binding SET claimed_until = %s WHERE id IN %s",
                now + timedelta(seconds=lease),
                ids,
            )
        )
        env["kommo.lead.binding"].invalidate_model(["claimed_until"])
        env.cr.execute(
            SQL(
                """SELECT b.id, b.kommo_lead_id, b.create_sent_at IS NOT NULL, o.partner_id
                     FROM kommo_lead_binding b JOIN repair_order o ON o.id = b.repair_id
                    WHERE b.id IN %s ORDER BY b.id""",
                ids,
            )
        )
        return [WorkItem(*row) for row in env.cr.fetchall()]

    def claimable_count(self):
        def count(env):
            env.cr.execute(
                SQL(
                    """SELECT count(*) FROM kommo_lead_binding
                        WHERE account_id = %s AND sync_state = 'pending'
                          AND (next_attempt_at IS NULL OR next_attempt_at <= %s)
                          AND (claimed_until IS NULL OR claimed_until < %s)""",
                    self.account.id,
                    fields.Datetime.now(),
                    fields.Datetime.now(),
                )
            )
            return env.cr.fetchone()[0]

        return self.in_transaction(count)

    # -- outcomes -----------------------------------------------------------------------------

    def fail(self, binding_ids, error, keep_create_sent=False, values_of=None):
        """Record ``error`` for these orders (with ``values_of[binding_id]`` when given); stop
        the run when Kommo can't take more now."""
        kind = failure_kind(error)
        values = {} if keep_create_sent or error.outcome_unknown else {"create_sent_at": False}
        outcome = {"account": "hold", "transient": "retry", "permanent": "error"}[kind]
        values_of = values_of or {}
        self.finish(
            [
                (bid, outcome, error.message, dict(values, **values_of.get(bid, {})))
                for bid in binding_ids
            ]
        )
        if kind == "account":
            self._account_refused(error)
        if kind != "permanent":
            raise RunStopped(error.message)

    def _account_refused(self, error):
        if isinstance(error, KommoTokenRevoked):
            return  # the token store has already asked for a reconnection
        with account_in_own_transaction(self.account) as account:
            account._kommo_record_failure(error)

    def finish(self, outcomes, env=None):
        """Write ``(binding_id, outcome, message, values)`` outcomes: synced, error, retry,
        hold (stays pending, with the message), release (nothing but the claim) or progress
        (the values only: the order is still being pushed)."""
        outcomes = [outcome for outcome in outcomes if outcome[0] in self.open]
        if not outcomes:
            return
        if env is None:
            self.in_transaction(self._write_outcomes, outcomes)
        else:
            self._write_outcomes(env, outcomes)
        self.open.difference_update(outcome[0] for outcome in outcomes if outcome[1] != "progress")

    def release(self):
        self.finish([(binding_id, "release", None, {}) for binding_id in self.open])

    def _write_outcomes(self, env, outcomes):
        ids = tuple(outcome[0] for outcome in outcomes)
        env.flush_all()
        env.cr.execute(
            SQL(
                "SELECT id, revision, attempt_count FROM kommo_lead_binding WHERE id IN %s"
                " ORDER BY id FOR UPDATE",
                ids,
            ),
            log_exceptions=False,  # a collision is retried (in_transaction)
        )
        current = {row[0]: row[1:] for row in env.cr.fetchall()}
        bindings = env["kommo.lead.binding"]
        bindings.invalidate_model(["revision", "attempt_count"])
        changed_meanwhile = False
        for binding_id, outcome, message, values in outcomes:
            if binding_id not in current:
                continue  # the order was deleted meanwhile
            revision, attempts = current[binding_id]
            changed = revision != self.revisions.get(binding_id, revision)
            changed_meanwhile |= changed and outcome in ("synced", "error")
            if outcome == "progress":
                bindings.browse(binding_id).write(values)
                continue
            vals = dict(values, claimed_until=False, **self._outcome_values(outcome, message))
            if outcome == "retry":
                vals.update(self._retry_values(attempts + 1, message))
            if changed and vals.get("sync_state") in ("synced", "error"):
                vals["sync_state"] = "pending"  # newer data waits for the next push
            binding = bindings.browse(binding_id)
            binding.write(vals)
            if vals.get("sync_state") == "error":
                self._tell_responsible(binding, vals["last_error"])
            if outcome != "release" and self.records is not None:
                # Only a push of chosen orders reports back (memory stays flat in the cron).
                self.results[binding_id] = (binding.sync_state, vals.get("last_error") or message)
            if outcome == "synced":
                self.pushed += 1
        if changed_meanwhile:
            bindings._kommo_trigger_push()

    def _outcome_values(self, outcome, message):
        if outcome == "synced":
            return {
                "sync_state": "synced",
                "last_error": False,
                "attempt_count": 0,
                "next_attempt_at": False,
                "last_sync_at": fields.Datetime.now(),
            }
        if outcome == "error":
            return {
                "sync_state": "error",
                "last_error": message,
                "attempt_count": 0,
                "next_attempt_at": False,
            }
        if outcome == "hold":
            return {"last_error": message}
        return {}

    def _retry_values(self, attempts, message):
        if attempts >= self.options["max_attempts"]:
            return {
                "sync_state": "error",
                "attempt_count": attempts,
                "next_attempt_at": False,
                "last_error": _(
                    "Kommo could not be reached after %(attempts)s attempts: %(error)s",
                    attempts=attempts,
                    error=message,
                ),
            }
        return {
            "attempt_count": attempts,
            "next_attempt_at": fields.Datetime.now() + retry_delay(attempts),
            "last_error": _(
                "Kommo could not be reached (attempt %(attempts)s, trying again later): %(error)s",
                attempts=attempts,
                error=message,
            ),
        }

    def _tell_responsible(self, binding, message):
        """One activity for the order's responsible (else the account's) until it is done."""
        binding.repair_id._kommo_tell_responsible(
            _("Kommo sync failed"), message, self.account.with_env(binding.env)
        )
