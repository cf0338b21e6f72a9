"""Transactions of their own for what must outlive the caller's transaction.

Kommo's refresh tokens are single use and an exchange with Kommo happens whatever becomes of
the Odoo transaction that caused it: new tokens, the revoked state and the sync log are
written in a short transaction of their own and committed at once.

An account created in the caller's still uncommitted transaction is invisible to any other
transaction; it is then written through the caller's cursor (nothing to outlive yet).
"""

import time
from contextlib import contextmanager

import psycopg2.errors

from odoo import SUPERUSER_ID, api
from odoo.tools import SQL

from kommo_api import KommoError

from ..const import TOKEN_LOCK_POLL_SECONDS, TOKEN_LOCK_WAIT_SECONDS


def _row_visible(cr, account_id):
    cr.execute(SQL("SELECT 1 FROM kommo_account WHERE id = %s", account_id))
    return bool(cr.fetchone())


def _sudo_account(cr, account):
    return api.Environment(cr, SUPERUSER_ID, account.env.context)["kommo.account"].browse(
        account.id
    )


@contextmanager
def account_in_own_transaction(account):
    """The account (as superuser) in a new transaction committed on a clean exit."""
    with account.env.registry.cursor() as cr:
        if _row_visible(cr, account.id):
            yield _sudo_account(cr, account)
            return
    yield _sudo_account(account.env.cr, account)


def _try_lock(cr, account_id):
    """True once the row is locked here, False to try again in a new transaction."""
    query = SQL("SELECT id FROM kommo_account WHERE id = %s FOR NO KEY UPDATE NOWAIT", account_id)
    try:
        cr.execute(query, log_exceptions=False)
    except (psycopg2.errors.LockNotAvailable, psycopg2.errors.SerializationFailure):
        # Held by another worker, or changed by one since this transaction's snapshot
        # (REPEATABLE READ): a new transaction will see its commit.
        cr.rollback()
        return False
    return True


@contextmanager
def locked_account(account):
    """The account row locked (FOR NO KEY UPDATE) in a new transaction, committed on exit.

    NO KEY UPDATE serialises the lockers like FOR UPDATE does, without blocking the foreign
    key checks of sync log rows written meanwhile. The caller's transaction must not hold a
    lock on the row (it would wait for itself): after TOKEN_LOCK_WAIT_SECONDS this gives up.
    """
    with account.env.registry.cursor() as cr:
        if _row_visible(cr, account.id):
            deadline = time.monotonic() + TOKEN_LOCK_WAIT_SECONDS
            while not _try_lock(cr, account.id):
                if time.monotonic() > deadline:
                    raise KommoError(
                        "Another Odoo process is renewing the Kommo connection; try again."
                    )
                time.sleep(TOKEN_LOCK_POLL_SECONDS)
            yield _sudo_account(cr, account)
            return
    account.env.cr.execute(
        SQL("SELECT id FROM kommo_account WHERE id = %s FOR NO KEY UPDATE", account.id)
    )
    yield _sudo_account(account.env.cr, account)
