"""Transactions of their own, and the one rule they follow.

A second cursor ("a transaction of its own") is for what must outlive the caller's
transaction or be seen by other workers at once: Kommo's single-use tokens, the throttle's
slots, a sync log row, the account's state and a push's outcomes after Kommo answered. Every
such cursor of the addon is opened here, and follows one rule:

    **A transaction of its own never waits for its caller.**

The caller's transaction may hold the very rows the work writes: it wrote them, locked them,
or created them and has not committed yet. A second transaction that waits for such a row
waits for a commit that can only come after the wait ends: a deadlock between two connections
of one thread, which PostgreSQL cannot see and no timeout ends. So:

1. the rows are taken first, with NOWAIT, in the new transaction;
2. when that fails, the caller's transaction tries the same lock, NOWAIT, in a savepoint: a
   transaction re-takes its own locks at once, so this succeeds exactly when the caller is
   the holder. Then (and when the rows are not visible to a new transaction at all) the work
   runs in the caller's transaction and commits with it;
3. when another worker holds them, this waits for that worker, a bounded time;
4. every new transaction carries a ``lock_timeout``: a wait nobody foresaw fails in seconds
   instead of hanging a request or a cron.
"""

import threading
import time
from contextlib import contextmanager

import psycopg2.errors

from odoo.modules import module
from odoo.tools import SQL

from ..const import OWN_TRANSACTION_LOCK_TIMEOUT, OWN_TRANSACTION_POLL_SECONDS

# Row lock modes, weakest first. KEY SHARE is what a foreign key check takes: enough to insert
# rows that point at an account, without queueing behind the account's writers.
KEY_SHARE = "FOR KEY SHARE"
NO_KEY_UPDATE = "FOR NO KEY UPDATE"

BUSY_ERRORS = (psycopg2.errors.LockNotAvailable, psycopg2.errors.SerializationFailure)


class RowsBusy(Exception):  # noqa: N818 - a state to report, like LockNotAvailable
    """Another worker held the rows for longer than the caller agreed to wait."""


def bound_lock_waits(cr):
    """Make lock waits of ``cr``'s current transaction fail after the rule's timeout."""
    cr.execute(SQL("SET LOCAL lock_timeout = %s", OWN_TRANSACTION_LOCK_TIMEOUT))


@contextmanager
def new_cursor(registry):
    """A cursor on a new transaction, committed on a clean exit, its lock waits bounded.

    For work that touches no row a caller can hold (the throttle's slots); rows a caller may
    hold go through ``own_transaction``. Call ``bound_lock_waits`` again after a commit.
    """
    with registry.cursor() as cr:
        bound_lock_waits(cr)
        yield cr


def _lock(cr, table, ids, lock):
    """Lock the visible rows ``ids`` of ``table`` NOWAIT; returns how many were found."""
    cr.execute(
        SQL(
            "SELECT id FROM %s WHERE id IN %s ORDER BY id %s NOWAIT",
            SQL.identifier(table),
            ids,
            SQL(lock),
        ),
        log_exceptions=False,
    )
    return len(cr.fetchall())


def _caller_holds(cr, table, ids, lock):
    """Whether the transaction of ``cr`` holds a lock on the rows (see the module docstring)."""
    try:
        with cr.savepoint(flush=False):
            _lock(cr, table, ids, lock)
    except BUSY_ERRORS:
        return False
    return True


def _take_rows(env, table, ids, lock, wait):
    """A new cursor holding ``lock`` on the rows, or None when they are the caller's."""
    deadline = time.monotonic() + wait
    cr = env.registry.cursor()
    try:
        while True:
            bound_lock_waits(cr)
            try:
                found = _lock(cr, table, ids, lock)
            except BUSY_ERRORS:
                # Held by someone, or changed since this snapshot (REPEATABLE READ): a new
                # transaction sees the other's commit.
                cr.rollback()
                if _caller_holds(env.cr, table, ids, lock):
                    cr.close()
                    return None
                if time.monotonic() > deadline:
                    raise RowsBusy(f"{table} {list(ids)} held by another worker") from None
                time.sleep(OWN_TRANSACTION_POLL_SECONDS)
                continue
            if found < len(ids):  # created by the caller, not committed yet
                cr.close()
                return None
            return cr
    except BaseException:
        cr.close()
        raise


def held_by_caller(env, table, ids, lock=NO_KEY_UPDATE):
    """Whether a new transaction can't take rows ``ids`` before the caller's ends: they are
    not committed yet, or the caller's transaction holds them. Takes nothing: a probe."""
    try:
        cr = _take_rows(env, table, tuple(ids), lock, wait=0)
    except RowsBusy:
        return False  # another worker's: a new transaction waits for it, not for the caller
    if cr is None:
        return True
    cr.close()
    return False


@contextmanager
def own_transaction(env, table, ids, lock=NO_KEY_UPDATE, wait=5.0):
    """``env`` on a new transaction that holds ``lock`` on rows ``ids`` of ``table``,
    committed on a clean exit; or ``env`` itself when the rows are the caller's: the work
    then commits with the caller (the rule in the module docstring).

    Raises RowsBusy when another worker holds the rows for more than ``wait`` seconds.
    """
    cr = _take_rows(env, table, tuple(ids), lock, wait)
    if cr is None:
        yield env
        return
    with cr:
        yield env(cr=cr)


@contextmanager
def account_in_own_transaction(account, lock=NO_KEY_UPDATE, wait=5.0):
    """The account, as superuser, in a transaction of its own (``own_transaction``)."""
    with own_transaction(account.env, "kommo_account", account.ids, lock, wait) as env:
        yield account.with_env(env).sudo()


def auto_commit():
    """Whether a cron commits after each unit of work: not inside a test's transaction.

    A test runs: Odoo's runner says so in ``current_test`` (18.0 also flags the thread, which
    19.0 no longer does; pytest-odoo flags only the thread on 18.0).
    """
    return not (getattr(threading.current_thread(), "testing", False) or module.current_test)


def unlink_in_batches(records, domain, batch_size):
    """Delete the records of ``records``' model that match ``domain``, ``batch_size`` at a
    time, committing after each batch in a cron (``auto_commit``). Returns how many."""
    commit = auto_commit()
    deleted = 0
    while batch := records.search(domain, limit=batch_size, order="id"):
        batch.unlink()
        deleted += len(batch)
        if commit:
            records.env.cr.commit()  # pylint: disable=invalid-commit
    return deleted
