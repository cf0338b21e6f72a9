"""Driving the connector's push cron in this process, and what Odoo can tell about it."""

from __future__ import annotations

import resource
import time
from dataclasses import dataclass
from pathlib import Path

PUSH_MODEL = "kommo.lead.binding"
PUSH_CRON = "_cron_push"
STALL_ROUNDS = 2  # cron runs without fewer pending orders before giving up


@dataclass
class PushRun:
    cron_runs: int
    seconds: float
    states: dict[str, int]  # binding sync_state -> count after the push
    log_rows: int  # kommo.sync.log rows written during the push
    peak_rss_kb: int  # of this process during the push
    peak_rss_kb_overall: int  # of this process since it started


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
    rss.reset()
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
        seconds=seconds,
        states=binding_states(registry),
        log_rows=sync_log_rows(registry) - log_before,
        peak_rss_kb=rss.peak_kb(),
        peak_rss_kb_overall=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
    )


class RssWatch:
    """This process's peak RSS from a point on: Linux resets VmHWM on writing 5 to
    /proc/self/clear_refs; elsewhere the peak since the start (getrusage) is all there is."""

    STATUS = Path("/proc/self/status")
    CLEAR_REFS = Path("/proc/self/clear_refs")

    def __init__(self) -> None:
        self.resettable = False

    def reset(self) -> None:
        try:
            self.CLEAR_REFS.write_text("5")
            self.resettable = True
        except OSError:
            self.resettable = False

    def peak_kb(self) -> int:
        if self.resettable:
            for line in self.STATUS.read_text().splitlines():
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
