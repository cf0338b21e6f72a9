"""Injected failures, matched by HTTP method and path prefix and consumed in injection order.

Kinds: "500", "502" (HTML gateway page), "timeout" (waits ``timeout_delay`` seconds, then 504),
"429", "401", "drop" (connection closed without an answer, request not applied), "403_html",
"402", "lost_response" (request applied for real, then the connection is closed unanswered).
A matched fault answers before rate limiting and authentication (it did not reach Kommo's
application), except "lost_response", which goes through everything.

Besides counted faults, ``inject_random`` makes a fraction of the matching requests fail, each
with a kind drawn at random (seeded, so a run can be repeated): the fault mix of a benchmark.
"""

import random
import threading
from dataclasses import dataclass

FAULT_KINDS = ("500", "502", "timeout", "429", "401", "drop", "403_html", "402", "lost_response")
# The kinds a client gets over by itself (retry, refresh, look-up): no person is needed.
RECOVERABLE_KINDS = ("500", "502", "timeout", "429", "401", "drop", "lost_response")


@dataclass
class Fault:
    kind: str
    remaining: int
    method: str | None = None
    path: str | None = None

    def matches(self, method: str, path: str) -> bool:
        return _matches(self, method, path)


def _matches(target, method: str, path: str) -> bool:
    return (target.method is None or target.method == method.upper()) and (
        target.path is None or path.startswith(target.path)
    )


@dataclass
class RandomFaults:
    rate: float
    kinds: tuple[str, ...]
    rng: random.Random
    method: str | None = None
    path: str | None = None

    def draw(self, method: str, path: str) -> str | None:
        if not _matches(self, method, path) or self.rng.random() >= self.rate:
            return None
        return self.rng.choice(self.kinds)


class FaultInjector:
    def __init__(self, timeout_delay: float = 3.0):
        self.timeout_delay = timeout_delay
        self._faults: list[Fault] = []
        self._random: RandomFaults | None = None
        self._lock = threading.Lock()

    def inject(self, kind: str, count: int = 1, method: str | None = None, path: str | None = None):
        """The next ``count`` requests matching ``method`` / ``path`` prefix fail as ``kind``."""
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; expected one of {FAULT_KINDS}")
        if count < 1:
            raise ValueError("count must be at least 1")
        fault = Fault(kind, count, method.upper() if method else None, path)
        with self._lock:
            self._faults.append(fault)
        return fault

    def inject_random(
        self,
        rate: float,
        kinds=RECOVERABLE_KINDS,
        seed=None,
        method: str | None = None,
        path: str | None = None,
    ) -> RandomFaults | None:
        """From now on each request matching ``method`` / ``path`` prefix fails with
        probability ``rate``, as a kind drawn uniformly from ``kinds``; counted faults
        (``inject``) come first. ``rate`` 0 switches it off. Replaces an earlier call."""
        kinds = tuple(kinds)
        if not 0 <= rate <= 1:
            raise ValueError("rate must be between 0 and 1")
        unknown = [kind for kind in kinds if kind not in FAULT_KINDS]
        if unknown or not kinds:
            raise ValueError(f"unknown fault kinds {unknown!r}; expected some of {FAULT_KINDS}")
        mix = None
        if rate:
            mix = RandomFaults(
                rate, kinds, random.Random(seed), method.upper() if method else None, path
            )
        with self._lock:
            self._random = mix
        return mix

    def take(self, method: str, path: str) -> str | None:
        """The kind of the first pending fault matching this request (consuming one use),
        else of a random fault (``inject_random``), else None."""
        with self._lock:
            for fault in self._faults:
                if fault.matches(method, path):
                    fault.remaining -= 1
                    if fault.remaining <= 0:
                        self._faults.remove(fault)
                    return fault.kind
            return self._random.draw(method, path) if self._random else None

    @property
    def pending(self) -> list[Fault]:
        with self._lock:
            return list(self._faults)

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()
            self._random = None
