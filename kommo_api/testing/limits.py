"""Kommo's request limit: at most ``limit`` API calls per ``period`` seconds (sliding window) per
account -> 429; more than ``block_after`` 429s within ``block_window`` seconds -> the account is
blocked and every API call answers 403 (HTML) for ``block_seconds``.

Measured on real monotonic time, never on the emulator's injectable clock. Only accepted calls
fill the window, so exactly ``limit`` calls succeed in any window of ``period`` seconds.
"""

import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable

OK, LIMITED, BLOCKED = "ok", "limited", "blocked"


class RateLimiter:
    def __init__(
        self,
        limit: int | None = 7,
        *,
        period: float = 1.0,
        block_after: int | None = 20,
        block_seconds: float = 60.0,
        block_window: float = 60.0,
        monotonic: Callable[[], float] = time.monotonic,
    ):
        self.limit = limit  # None: no limit (and so no blocking)
        self.period = period
        self.block_after = block_after  # None: never block
        self.block_seconds = block_seconds
        self.block_window = block_window
        self._monotonic = monotonic
        self._accepted: dict[str, deque] = defaultdict(deque)
        self._rejected: dict[str, deque] = defaultdict(deque)
        self._blocked_until: dict[str, float] = {}
        self._lock = threading.Lock()

    def check(self, key: str) -> str:
        """Counts one call for account ``key``: "ok", "limited" (429) or "blocked" (403)."""
        now = self._monotonic()
        with self._lock:
            if self._blocked_until.get(key, 0.0) > now:
                return BLOCKED
            if self.limit is None:
                return OK
            accepted = self._accepted[key]
            while accepted and accepted[0] <= now - self.period:
                accepted.popleft()
            if len(accepted) < self.limit:
                accepted.append(now)
                return OK
            self._note_rejection(key, now)
            return LIMITED

    def _note_rejection(self, key: str, now: float) -> None:
        rejected = self._rejected[key]
        rejected.append(now)
        while rejected and rejected[0] <= now - self.block_window:
            rejected.popleft()
        if self.block_after is not None and len(rejected) > self.block_after:
            self._blocked_until[key] = now + self.block_seconds
            rejected.clear()

    def is_blocked(self, key: str) -> bool:
        with self._lock:
            return self._blocked_until.get(key, 0.0) > self._monotonic()

    def reset(self) -> None:
        """Forgets every window, 429 and block (e.g. between test phases)."""
        with self._lock:
            self._accepted.clear()
            self._rejected.clear()
            self._blocked_until.clear()
