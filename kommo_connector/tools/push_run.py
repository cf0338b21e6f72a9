"""One push of one Kommo account: claiming pending orders, contacts, and writing outcomes.

No transaction is open while Kommo is called. Each step runs in a short transaction of its
own, committed at once: the claim (``FOR UPDATE SKIP LOCKED`` + a lease, so two workers never
push the same order and a crashed worker's claim expires), the reading of a batch (with
``create_sent_at`` stamped before a creation is sent), and the recording of each answer. When
the orders are not committed yet (created in the caller's own transaction), everything runs
in the caller's transaction instead.

The run is the ledger the other parts of a push receive (composition, no mixins): the
customers' contacts are found by ``push_contacts.ContactResolver``, the leads written by
``push_leads.LeadWriter`` (with ``push_links`` and ``push_notes``), every batch sent through
``push_send.send_batch``.
"""

import time
from collections import namedtuple
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta

import psycopg2.errors

from odoo import SUPERUSER_ID, api, fields
from odoo.tools import SQL

from kommo_api import (
    KommoAuthError,
    KommoBlocked,
    KommoForbidden,
    KommoPaymentRequired,
    KommoTokenExpired,
    KommoTokenRevoked,
)

from .cursors import account_in_own_transaction, held_by_caller, new_cursor
from .token_store import OdooTokenStore

TRANSACTION_ATTEMPTS = 4
# Delays between attempts after a transient failure (minutes), the last one repeating.
RETRY_DELAYS_MINUTES = (1, 5, 15, 60, 240)
# A claim lasts the lease plus this much per order claimed.
LEASE_SECONDS_PER_ORDER = 0.2

WorkItem = namedtuple("WorkItem", "binding_id lead_id unknown_create partner_id")


@dataclass(frozen=True)
class Outcome:
    """What became of one claimed order. ``kind``: ``synced``, ``error``, ``retry``, ``hold``
    (stays pending, with the message), ``release`` (nothing but the claim) or ``progress``
    (the values only: the order is still being pushed)."""

    binding_id: int
    kind: str
    message: str | None = None
    values: dict = field(default_factory=dict)


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
    """The ledger of one push of ``account``: its transactions, the orders it claimed, what
    became of them. The parts of the push (contacts, leads, links, notes) receive it.

    ``records``: the orders of a push of chosen orders ("Sync Kommo"); only such a push
    reports back (``results``), the cron's keeps its memory flat. ``own_transactions``: None
    decides it here, False runs every step in the caller's transaction.
    """

    def __init__(self, env, account, options, *, force=False, records=None, own_transactions=None):
        self.env = env
        self.account = account.with_env(env).sudo()
        self.options = options
        self.force = force
        self.records = records
        if own_transactions is None:
            own_transactions = records is None or not self._held_by_caller(records)
        self.own_transactions = own_transactions
        self.region = self.account.phone_region or None
        self._token_store = OdooTokenStore(self.account)
        self._clients = {}
        self._field_names = None
        self.revisions = {}  # binding id -> revision of the data sent
        self.open = set()  # claimed binding ids still without an outcome
        self.results = {}  # binding id -> (sync state, message)
        self.pushed = 0
        self.stopped = False

    def _held_by_caller(self, orders):
        """Whether the caller's open transaction created or changed these orders or their
        bindings: the push then runs in it (tools/cursors.py)."""
        bindings = self.env["kommo.lead.binding"].search([("repair_id", "in", orders.ids)])
        return held_by_caller(self.env, "repair_order", orders.ids) or bool(
            bindings and held_by_caller(self.env, "kommo_lead_binding", bindings.ids)
        )

    def client(self, operation):
        if operation not in self._clients:
            self._clients[operation] = self.account._kommo_client(
                operation=operation, records=self.records, token_store=self._token_store
            )
        return self._clients[operation]

    def field_names(self):
        """``{Kommo field id: name}`` of the account's custom fields (refusals name them)."""
        if self._field_names is None:
            fields_ = self.account.custom_field_ids
            self._field_names = {field_.kommo_id: field_.name for field_ in fields_}
        return self._field_names

    def still_open(self, items):
        """The items (with a ``binding_id``) this run has no outcome for yet."""
        return [item for item in items if item.binding_id in self.open]

    # -- transactions -------------------------------------------------------------------------

    @contextmanager
    def _transaction(self):
        if not self.own_transactions:
            yield self.env
            self.env.flush_all()
            return
        # The orders are not the caller's (the constructor decided so); a lock another
        # worker holds too long ends the wait (lock_timeout) and the attempt.
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
                Outcome(bid, outcome, error.message, dict(values, **values_of.get(bid, {})))
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
        """Write the ``Outcome``s of orders still open, in ``env`` (the transaction that
        read what was sent) or in a transaction of their own."""
        outcomes = [outcome for outcome in outcomes if outcome.binding_id in self.open]
        if not outcomes:
            return
        if env is None:
            self.in_transaction(self._write_outcomes, outcomes)
        else:
            self._write_outcomes(env, outcomes)
        self.open.difference_update(
            outcome.binding_id for outcome in outcomes if outcome.kind != "progress"
        )

    def release(self):
        self.finish([Outcome(binding_id, "release") for binding_id in self.open])

    def _write_outcomes(self, env, outcomes):
        ids = tuple(outcome.binding_id for outcome in outcomes)
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
        # Records that prefetch together: each write reads the binding's order (what depends
        # on it), one query for all of them rather than one per binding.
        binding_of = {binding.id: binding for binding in bindings.browse(list(current))}
        changed_meanwhile = False
        for outcome in outcomes:
            if outcome.binding_id not in current:
                continue  # the order was deleted meanwhile
            revision, attempts = current[outcome.binding_id]
            changed = revision != self.revisions.get(outcome.binding_id, revision)
            changed_meanwhile |= changed and outcome.kind in ("synced", "error")
            binding = binding_of[outcome.binding_id]
            if outcome.kind == "progress":
                binding.write(outcome.values)
                continue
            vals = dict(outcome.values, claimed_until=False, **self._outcome_values(outcome))
            if outcome.kind == "retry":
                vals.update(self._retry_values(attempts + 1, outcome.message))
            if changed and vals.get("sync_state") in ("synced", "error"):
                vals["sync_state"] = "pending"  # newer data waits for the next push
            binding.write(vals)
            if vals.get("sync_state") == "error":
                self._tell_responsible(binding, vals["last_error"])
            if outcome.kind != "release" and self.records is not None:
                # Only a push of chosen orders reports back (memory stays flat in the cron).
                message = vals.get("last_error") or outcome.message
                self.results[outcome.binding_id] = (binding.sync_state, message)
            if outcome.kind == "synced":
                self.pushed += 1
        if changed_meanwhile:
            bindings._kommo_trigger_push()

    @staticmethod
    def _outcome_values(outcome):
        """The binding's values of a final outcome (a retry's: ``_retry_values``)."""
        if outcome.kind == "hold":
            return {"last_error": outcome.message}
        if outcome.kind not in ("synced", "error"):
            return {}
        values = {
            "sync_state": outcome.kind,
            "last_error": outcome.message if outcome.kind == "error" else False,
            "attempt_count": 0,
            "next_attempt_at": False,
        }
        if outcome.kind == "synced":
            values["last_sync_at"] = fields.Datetime.now()
        return values

    def _retry_values(self, attempts, message):
        if attempts >= self.options["max_attempts"]:
            return {
                "sync_state": "error",
                "attempt_count": attempts,
                "next_attempt_at": False,
                "last_error": self.env._(
                    "Kommo could not be reached after %(attempts)s attempts: %(error)s",
                    attempts=attempts,
                    error=message,
                ),
            }
        return {
            "attempt_count": attempts,
            "next_attempt_at": fields.Datetime.now() + retry_delay(attempts),
            "last_error": self.env._(
                "Kommo could not be reached (attempt %(attempts)s, trying again later): %(error)s",
                attempts=attempts,
                error=message,
            ),
        }

    def _tell_responsible(self, binding, message):
        """One activity for the order's responsible (else the account's) until it is done."""
        binding.repair_id._kommo_tell_responsible(
            self.env._("Kommo sync failed"), message, self.account.with_env(binding.env)
        )
