"""The load of the webhook benchmark: C clients at once against one Odoo server, each answer
timed. Odoo-free (standard library only).

Every request opens a connection of its own and closes it (``Connection: close``), as Kommo's
webhook sender and a reverse proxy in front of Odoo do (nginx speaks HTTP/1.0 to its upstream
by default); a prefork Odoo worker serves one connection at a time, so a kept-alive client
would hold a worker between its requests and the numbers would say nothing about production.
"""

from __future__ import annotations

import http.client
import math
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

NOT_SENT = "not sent (time limit)"


@dataclass(frozen=True)
class Call:
    """One HTTP request of a load."""

    method: str
    path: str
    body: bytes | None = None
    headers: tuple[tuple[str, str], ...] = ()


@dataclass
class LoadResult:
    """What C clients got from N requests."""

    planned: int
    seconds: float = 0.0  # from the first request sent to the last answer
    latencies: list[float] = field(default_factory=list)  # seconds, answered requests only
    # HTTP status, or the exception that stood for an answer (timeout, reset...), or NOT_SENT
    outcomes: Counter = field(default_factory=Counter)
    listen_overflows: int | None = None  # TcpExt ListenOverflows during the load
    server_cpu: float | None = None  # CPU seconds the Odoo processes spent during the load
    server_log: object = None  # the server's own account of the requests, when it has one
    by_call: list = field(default_factory=list)  # each call's outcome, None when not sent

    @property
    def answered(self) -> int:
        return len(self.latencies)

    @property
    def rate(self) -> float:
        return self.answered / self.seconds if self.seconds else 0.0

    @staticmethod
    def is_ok(outcome) -> bool:
        return isinstance(outcome, int) and 200 <= outcome < 300

    @property
    def failures(self) -> dict:
        """Everything but a 2xx answer, by status (or by what happened instead)."""
        return {
            outcome: count
            for outcome, count in sorted(self.outcomes.items(), key=str)
            if not self.is_ok(outcome)
        }

    def percentile(self, share: float) -> float:
        """Nearest-rank percentile of the latencies (seconds); ``share`` in (0, 1]."""
        if not self.latencies:
            return math.inf
        ordered = sorted(self.latencies)
        return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def run_load(
    host: str,
    port: int,
    calls: Sequence[Call],
    concurrency: int,
    *,
    timeout: float = 30.0,
    time_limit: float = 300.0,
) -> LoadResult:
    """Send ``calls`` in order with ``concurrency`` client threads, each sending its next call
    as soon as it has its answer. Bounded: a call waits ``timeout`` seconds at most, and no
    call starts after ``time_limit`` seconds (those left are counted NOT_SENT)."""
    result = LoadResult(planned=len(calls), by_call=[None] * len(calls))
    pending = iter(range(len(calls)))
    lock = threading.Lock()
    stop_at = time.monotonic() + time_limit
    halt = threading.Event()  # set when the benchmark is leaving (Ctrl-C, an error)

    def client() -> None:
        latencies, outcomes = [], Counter()
        while time.monotonic() < stop_at and not halt.is_set():
            with lock:
                index = next(pending, None)
            if index is None:
                break
            outcome, seconds = _send(host, port, calls[index], timeout)
            result.by_call[index] = outcome  # one writer per index: no lock needed
            outcomes[outcome] += 1
            if seconds is not None:
                latencies.append(seconds)
        with lock:
            result.latencies += latencies
            result.outcomes.update(outcomes)

    threads = [
        threading.Thread(target=client, name=f"load-client-{n}", daemon=True)
        for n in range(concurrency)
    ]
    overflows_before = listen_overflows()
    started = time.perf_counter()
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            # A call cannot outlive its timeout: joining past stop_at + timeout is waiting
            # for nothing; a daemon thread left behind dies with the benchmark.
            thread.join(max(0.0, stop_at - time.monotonic()) + timeout + 5)
    finally:
        halt.set()  # on Ctrl-C, no new request while the server is being stopped
    result.seconds = time.perf_counter() - started
    with lock:
        result.outcomes[NOT_SENT] += sum(1 for _index in pending)
        if not result.outcomes[NOT_SENT]:
            del result.outcomes[NOT_SENT]
    overflows_after = listen_overflows()
    if overflows_before is not None and overflows_after is not None:
        result.listen_overflows = overflows_after - overflows_before
    return result


def _send(host: str, port: int, call: Call, timeout: float) -> tuple[object, float | None]:
    """``(HTTP status, seconds)``, or ``(what went wrong, None)`` when no answer came."""
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    headers = {**dict(call.headers), "Connection": "close"}
    started = time.perf_counter()
    try:
        conn.request(call.method, call.path, body=call.body, headers=headers)
        response = conn.getresponse()
        response.read()
        return response.status, time.perf_counter() - started
    except (OSError, http.client.HTTPException) as exc:
        return type(exc).__name__, None
    finally:
        conn.close()


def listen_overflows() -> int | None:
    """Linux's count of connections dropped because a listen queue was full (all sockets of
    this network namespace): a prefork Odoo's queue holds 8 x its workers, and a client whose
    connection is dropped tries again after a second."""
    try:
        lines = Path("/proc/net/netstat").read_text().splitlines()
    except OSError:
        return None
    for names, values in zip(lines[::2], lines[1::2], strict=False):
        if names.startswith("TcpExt:"):
            table = dict(zip(names.split()[1:], values.split()[1:], strict=True))
            return int(table["ListenOverflows"]) if "ListenOverflows" in table else None
    return None
