"""Driving the connector's push cron, in an Odoo worker process of its own, and what Odoo can
tell about it.

The worker is a fresh process that loads the registry and runs the cron, as an Odoo cron
worker does: its peak RSS is the push's (plus the registry's), not what seeding 10,000 orders
left in the benchmark's own process.
"""

from __future__ import annotations

import multiprocessing
import resource
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

PUSH_MODEL = "kommo.lead.binding"
PUSH_CRON = "_cron_push"
STALL_ROUNDS = 2  # cron runs without fewer pending orders before giving up


@dataclass
class PushRun:
    cron_runs: int
    started_at: float  # time.monotonic() (system-wide on Linux: comparable across processes)
    seconds: float
    states: dict[str, int]  # binding sync_state -> count after the push
    log_rows: int  # kommo.sync.log rows written during the push
    rss_before_kb: int  # of the worker with the registry loaded, before the push
    peak_rss_kb: int  # of the worker during the push
    peak_rss_kb_overall: int  # of the worker over its life (registry loading included)


def push_engine_present(registry) -> bool:
    return PUSH_MODEL in registry and hasattr(registry[PUSH_MODEL], PUSH_CRON)


def binding_states(registry) -> dict[str, int]:
    with registry.cursor() as cr:
        cr.execute("SELECT sync_state, count(*) FROM kommo_lead_binding GROUP BY sync_state")
        return dict(cr.fetchall())


def sync_log_rows(registry) -> int:
    with registry.cursor() as cr:
        cr.execute("SELECT count(*) FROM kommo_sync_log")
        return cr.fetchone()[0]


def run_push_cron(registry, environment, max_runs: int = 100) -> PushRun:
    """Run the push cron as Odoo's cron runner would (a fresh cursor each run) until no order
    is pending any more, or the pending count stops falling (retries waiting for later)."""
    rss = RssWatch()
    rss_before = rss.reset()
    log_before = sync_log_rows(registry)
    started = time.monotonic()
    runs, stalled, pending = 0, 0, None
    while runs < max_runs and stalled < STALL_ROUNDS:
        with registry.cursor() as cr:
            getattr(environment(cr, quiet=False)[PUSH_MODEL], PUSH_CRON)()
        runs += 1
        now_pending = binding_states(registry).get("pending", 0)
        if now_pending == 0:
            break
        stalled = stalled + 1 if pending is not None and now_pending >= pending else 0
        pending = now_pending
    seconds = time.monotonic() - started
    return PushRun(
        cron_runs=runs,
        started_at=started,
        seconds=seconds,
        states=binding_states(registry),
        log_rows=sync_log_rows(registry) - log_before,
        rss_before_kb=rss_before,
        peak_rss_kb=rss.peak_kb(),
        peak_rss_kb_overall=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
    )


def push_in_worker(tree, conf: Path, db: str) -> PushRun:
    """``run_push_cron`` in a fresh Odoo process (see the module docstring)."""
    context = multiprocessing.get_context("spawn")
    receiver, sender = context.Pipe(duplex=False)
    worker = context.Process(
        target=_push_worker, args=(sender, tree, conf, db), name="odoo-push-worker"
    )
    worker.start()
    sender.close()
    try:
        status, value = receiver.recv()
    except EOFError:
        status, value = "error", f"the push worker died (exit code {worker.exitcode})"
    finally:
        worker.join()
    if status != "ok":
        raise RuntimeError(f"the push failed:\n{value}")
    return value


def _push_worker(sender, tree, conf: Path, db: str) -> None:
    from bench_odoo import load_odoo  # noqa: PLC0415 - the worker's own imports
    from bench_seed import environment  # noqa: PLC0415

    try:
        registry = load_odoo(tree, conf, db)
        sender.send(("ok", run_push_cron(registry, environment)))
    except Exception:  # the parent reports it
        sender.send(("error", traceback.format_exc()))
    finally:
        sender.close()


class RssWatch:
    """This process's peak RSS from a point on: Linux resets VmHWM on writing 5 to
    /proc/self/clear_refs; elsewhere the peak since the start (getrusage) is all there is."""

    STATUS = Path("/proc/self/status")
    CLEAR_REFS = Path("/proc/self/clear_refs")

    def __init__(self) -> None:
        self.resettable = False

    def reset(self) -> int:
        """Start watching; returns the RSS now (KB)."""
        try:
            self.CLEAR_REFS.write_text("5")
            self.resettable = True
        except OSError:
            self.resettable = False
        return self._status("VmRSS:") or resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    def peak_kb(self) -> int:
        peak = self._status("VmHWM:") if self.resettable else None
        return peak or resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    def _status(self, key: str) -> int | None:
        try:
            lines = self.STATUS.read_text().splitlines()
        except OSError:
            return None
        for line in lines:
            if line.startswith(key):
                return int(line.split()[1])
        return None
