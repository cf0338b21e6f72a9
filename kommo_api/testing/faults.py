"""Injected failures, matched by HTTP method and path prefix and consumed in injection order.

Kinds: "500", "502" (HTML gateway page), "timeout" (waits ``timeout_delay`` seconds, then 504),
"429", "401", "drop" (connection closed without an answer, request not applied), "403_html",
"402", "lost_response" (request applied for real, then the connection is closed unanswered).
A matched fault answers before rate limiting and authentication (it did not reach Kommo's
application), except "lost_response", which goes through everything.
"""

import threading
from dataclasses import dataclass

FAULT_KINDS = ("500", "502", "timeout", "429", "401", "drop", "403_html", "402", "lost_response")


@dataclass
class Fault:
    kind: str
    remaining: int
    method: str | None = None
    path: str | None = None

    def matches(self, method: str, path: str) -> bool:
        return (self.method is None or self.method == method.upper()) and (
            self.path is None or path.startswith(self.path)
        )


class FaultInjector:
    def __init__(self, timeout_delay: float = 3.0):
        self.timeout_delay = timeout_delay
        self._faults: list[Fault] = []
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

    def take(self, method: str, path: str) -> str | None:
        """The kind of the first pending fault matching this request (consuming one use)."""
        with self._lock:
            for fault in self._faults:
                if fault.matches(method, path):
                    fault.remaining -= 1
                    if fault.remaining <= 0:
                        self._faults.remove(fault)
                    return fault.kind
        return None

    @property
    def pending(self) -> list[Fault]:
        with self._lock:
            return list(self._faults)

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()
