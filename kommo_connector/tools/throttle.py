"""A throttle shared by every Odoo worker and cron of one database (kommo_api's Throttle)."""

import logging
import time

from odoo.tools import SQL

from kommo_api import RATE_LIMIT_CALLS, RATE_LIMIT_PERIOD

from ..const import THROTTLE_MARGIN
from .cursors import bound_lock_waits, new_cursor

_logger = logging.getLogger(__name__)

# First key of the two-key advisory lock: keeps our locks apart from other modules' locks.
ADVISORY_LOCK_NAMESPACE = 0x4B4F4D  # "KOM"
# A slot that aged more than this share of the margin before its worker got it back (the
# reservation's own commit and unlock were slow: a loaded machine) is left unused and another
# one is taken, at most this many times: the request must leave close to its slot's time.
SLOT_FRESHNESS_SHARE = 0.5
STALE_SLOTS_MAX = 3


class PgThrottle:
    """At most ``max_calls`` requests in any window of ``period`` seconds, per account.

    Every worker records its sends in ``kommo_rate_slot`` under an advisory lock per account,
    with the database clock, so all processes share one log and one clock. Waiting happens
    outside any transaction: a sleeping worker holds neither the lock nor a connection.
    """

    def __init__(
        self,
        registry,
        max_calls=RATE_LIMIT_CALLS,
        period=RATE_LIMIT_PERIOD,
        margin=THROTTLE_MARGIN,
        sleep=time.sleep,
    ):
        if max_calls < 1 or period <= 0 or margin < 0:
            raise ValueError("max_calls must be >= 1, period > 0 and margin >= 0")
        self._registry = registry
        self.max_calls = max_calls
        self.window = period + margin
        self.fresh_for = margin * SLOT_FRESHNESS_SHARE
        self._sleep = sleep

    def __repr__(self):
        return f"PgThrottle(max_calls={self.max_calls}, window={self.window})"

    def acquire(self, key):
        stale = 0
        while True:
            wait, aged = self._try_reserve(key)
            if wait > 0:
                self._sleep(wait)
            elif not self.fresh_for or aged <= self.fresh_for or stale >= STALE_SLOTS_MAX:
                return
            else:
                # The slot stays recorded, unused: the window only gets stricter.
                _logger.debug("Kommo throttle: a slot of %s aged %.3f s, taking another", key, aged)
                stale += 1

    def _try_reserve(self, key):
        """Record a send for ``key`` and return ``(0, its age)``, its age being how long ago
        its time was read; or return how long to wait first, and 0."""
        lock_key = SQL("%s, hashtext(%s)", ADVISORY_LOCK_NAMESPACE, key)
        # The lock and the slots are only ever taken here, never by a caller's transaction:
        # a plain new cursor (its lock waits bounded) is safe.
        with new_cursor(self._registry) as cr:
            cr.execute(SQL("SELECT pg_advisory_lock(%s)", lock_key))
            try:
                # Odoo's transactions are REPEATABLE READ: the snapshot of the transaction
                # that waited for the lock predates the previous holder's commit. Start a
                # new one, now that the lock is held, to see every recorded send.
                cr.commit()  # pylint: disable=invalid-commit
                bound_lock_waits(cr)
                # The send follows the commit: not waiting for the disk keeps the time between
                # the slot's clock and the request short (a slot lost in a crash costs nothing).
                cr.execute(SQL("SET LOCAL synchronous_commit TO off"))
                read_at = time.monotonic()
                wait = self._reserve(cr, key)
                cr.commit()  # pylint: disable=invalid-commit
            except Exception:
                cr.rollback()
                raise
            finally:
                cr.execute(SQL("SELECT pg_advisory_unlock(%s)", lock_key))
        return wait, (0.0 if wait > 0 else time.monotonic() - read_at)

    def _reserve(self, cr, key):
        cr.execute(SQL("SELECT extract(epoch FROM clock_timestamp())::float8"))
        now = cr.fetchone()[0]
        cr.execute(
            SQL(
                "DELETE FROM kommo_rate_slot WHERE key = %s AND sent_at <= %s",
                key,
                now - self.window,
            )
        )
        cr.execute(SQL("SELECT count(*), min(sent_at) FROM kommo_rate_slot WHERE key = %s", key))
        count, oldest = cr.fetchone()
        if count < self.max_calls:
            cr.execute(SQL("INSERT INTO kommo_rate_slot (key, sent_at) VALUES (%s, %s)", key, now))
            return 0.0
        # The floor keeps a worker from spinning on a rounding-sized remainder; the ceiling
        # keeps a clock step backwards from parking it.
        return min(max(oldest + self.window - now, 1e-3), self.window)
