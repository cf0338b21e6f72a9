"""Client-side rate limiting: Kommo allows 7 requests per second and blocks accounts that keep
hitting 429, so we never rely on 429 as the throttle.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import Protocol, runtime_checkable

# Kommo's limit per account (Kommo's "Limits" page).
RATE_LIMIT_CALLS = 7
RATE_LIMIT_PERIOD = 1.0


@runtime_checkable
class Throttle(Protocol):
    def acquire(self, key: str) -> None:
        """Block until one request may be sent for account ``key``."""


class SlidingWindowThrottle:
    """At most ``max_calls`` requests in any window of ``period`` seconds, per key.

    A token bucket with a burst of 7 would let 13 requests through in one second (7 at the end
    of one refill and 6 more); a sliding log of send times does not. ``margin`` widens the
    window so that network jitter does not make the server see one request too many.
    """

    def __init__(
        self,
        max_calls: int = RATE_LIMIT_CALLS,
        period: float = RATE_LIMIT_PERIOD,
        margin: float = 0.05,
        clock=time.monotonic,
        sleep=time.sleep,
    ):
        if max_calls < 1 or period <= 0 or margin < 0:
            raise ValueError("max_calls must be >= 1, period > 0 and margin >= 0")
        self.max_calls = max_calls
        self.window = period + margin
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._sent: dict[str, deque[float]] = {}

    def acquire(self, key: str) -> None:
        while True:
            wait = self._try_acquire(key)
            if wait <= 0:
                return
            # Sleep outside the lock so other accounts (and the wake-up check) are not held up.
            self._sleep(wait)

    def _try_acquire(self, key: str) -> float:
        """Record a send and return 0, or return how long to wait before trying again."""
        with self._lock:
            now = self._clock()
            sent = self._sent.setdefault(key, deque())
            while sent and sent[0] <= now - self.window:
                sent.popleft()
            if len(sent) < self.max_calls:
                sent.append(now)
                return 0.0
            # The floor keeps a fake clock from spinning on a rounding-sized remainder.
            return max(sent[0] + self.window - now, 1e-4)


class NoThrottle:
    """A throttle that never waits (tests, or a caller that throttles elsewhere)."""

    def acquire(self, key: str) -> None:
        return None
