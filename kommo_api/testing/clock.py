"""The emulator's notion of "now", which tests can move (token expiry, record timestamps).

Rate limiting deliberately does not use this clock: Kommo counts requests on real time, and a
test that advances the clock by a day must not make seven quick calls look spread out.
"""

import threading
import time
from collections.abc import Callable


class Clock:
    """Unix time in seconds: real time plus an offset, or a frozen instant.

    ``Clock()`` follows real time; ``advance(s)`` and ``set(ts)`` shift it. ``Clock(start=ts,
    frozen=True)`` stands still at ``ts`` and only moves when told to.
    """

    def __init__(self, start: float | None = None, frozen: bool = False):
        self._lock = threading.Lock()
        self._frozen_at = (time.time() if start is None else float(start)) if frozen else None
        self._offset = 0.0 if start is None or frozen else float(start) - time.time()
        self._listeners: list[Callable[[], object]] = []

    def on_change(self, listener: Callable[[], object]) -> None:
        """``listener()`` is called after every ``advance`` / ``set``: what waits for a moment
        of this clock (a webhook retry) must not sleep through a jump."""
        self._listeners.append(listener)

    def _moved(self) -> None:
        for listener in list(self._listeners):
            listener()

    def now(self) -> float:
        with self._lock:
            if self._frozen_at is not None:
                return self._frozen_at
            return time.time() + self._offset

    def timestamp(self) -> int:
        """Now as whole unix seconds, the resolution Kommo uses for created_at/updated_at."""
        return int(self.now())

    def advance(self, seconds: float) -> float:
        with self._lock:
            if self._frozen_at is not None:
                self._frozen_at += seconds
            else:
                self._offset += seconds
        self._moved()
        return self.now()

    def set(self, timestamp: float) -> None:
        with self._lock:
            if self._frozen_at is not None:
                self._frozen_at = float(timestamp)
            else:
                self._offset = float(timestamp) - time.time()
        self._moved()
