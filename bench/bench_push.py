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
from dataclasses import dataclass, field
from pathlib import Path

import psycopg2.errors

PUSH_MODEL = "kommo.lead.binding"
PUSH_CRON = "_cron_push"
CLAIM_LIMIT_PARAM = "kommo_connector.push_claim_limit"
STALL_ROUNDS = 2  # cron runs without fewer pending orders before giving up
# With faults: cron runs of a worker that moved nothing (neither it nor another worker), a
# pause apart, before it gives up; and the longest a worker keeps pushing.
FAULT_STALL_ROUNDS = 30
IDLE_PAUSE = 1.0
FAULT_DEADLINE_SECONDS = 3600


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
    pushed: int = 0  # orders the cron runs of this worker reported synced
    made_due: int = 0  # retries made due at once instead of after their backoff (faults)
    sent_again: int = 0  # orders out of attempts sent again with "Send again" (faults)
    crashes: list[str] = field(default_factory=list)  # cron runs that raised: their error


@dataclass(frozen=True)
class Retries:
    """How the cron loop treats orders waiting for a retry: by default as Odoo does (they
    wait for their backoff, so the loop stops); ``skip_backoff`` makes them due at once,
    and sends the orders out of attempts again as a user would ("Send again")."""

    skip_backoff: bool = False
    stall_rounds: int = STALL_ROUNDS
    deadline_seconds: float = FAULT_DEADLINE_SECONDS


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


def set_claim_limit(registry, limit: int | None) -> int:
    """Set the orders a cron run takes (None: keep the addon's); returns the limit in force."""
    from bench_seed import environment  # noqa: PLC0415 - Odoo is loaded by now

    with registry.cursor() as cr:
        env = environment(cr)
        if limit:
            env["ir.config_parameter"].set_param(CLAIM_LIMIT_PARAM, limit)
        return env["kommo.lead.binding"]._kommo_push_options()["claim_limit"]


def make_retries_due(registry, environment) -> tuple[int, int]:
    """The bench's stand-in for time passing, once no order is due (a worker would wait):
    orders waiting for their backoff (1/5/15/60/240 min) are due now, and orders out of
    attempts are sent again through the documented path, the binding's "Send again"
    (``action_kommo_retry``). Returns how many of each; rows a worker holds or changed
    meanwhile are left for the next time."""
    try:
        with registry.cursor() as cr:
            cr.execute(
                """SELECT count(*) FROM kommo_lead_binding
                    WHERE sync_state = 'pending' AND next_attempt_at IS NULL
                      AND (claimed_until IS NULL OR claimed_until < now() AT TIME ZONE 'UTC')"""
            )
            if cr.fetchone()[0]:
                return 0, 0
            cr.execute(
                """UPDATE kommo_lead_binding SET next_attempt_at = NULL
                    WHERE id IN (SELECT id FROM kommo_lead_binding
                                  WHERE sync_state = 'pending' AND next_attempt_at IS NOT NULL
                                    FOR UPDATE SKIP LOCKED)""",
                log_exceptions=False,
            )
            made_due = cr.rowcount
            bindings = environment(cr, quiet=False)[PUSH_MODEL].search(
                [("sync_state", "=", "error"), ("attempt_count", ">", 0)]
            )
            bindings.action_kommo_retry()
            return made_due, len(bindings)
    except (psycopg2.errors.SerializationFailure, psycopg2.errors.LockNotAvailable):
        return 0, 0


def run_push_cron(registry, environment, retries: Retries = Retries(), max_runs=500) -> PushRun:
    """Run the push cron as Odoo's cron runner would (a fresh cursor each run) until no order
    is pending any more, or nothing moves for ``retries.stall_rounds`` runs."""
    rss = RssWatch()
    rss_before = rss.reset()
    log_before = sync_log_rows(registry)
    started = time.monotonic()
    runs = stalled = pushed = made_due = sent_again = 0
    pending, crashes = None, []
    while runs < max_runs and stalled < retries.stall_rounds:
        try:
            with registry.cursor() as cr:
                pushed_now = getattr(environment(cr, quiet=False)[PUSH_MODEL], PUSH_CRON)() or 0
        except Exception as exc:  # Odoo's cron runner logs it and runs the job again later
            traceback.print_exc()
            crashes.append(f"{type(exc).__name__}: {exc}".splitlines()[0])
            pushed_now = 0
        runs += 1
        pushed += pushed_now
        if retries.skip_backoff:
            due, again = make_retries_due(registry, environment)
            made_due, sent_again = made_due + due, sent_again + again
        now_pending = binding_states(registry).get("pending", 0)
        if now_pending == 0 or time.monotonic() - started > retries.deadline_seconds:
            break
        moved = pushed_now or (pending is not None and now_pending < pending)
        stalled = 0 if moved else stalled + 1
        pending = now_pending
        if retries.skip_backoff and not pushed_now:
            time.sleep(IDLE_PAUSE)  # another worker holds the orders, or Kommo failed at once
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
        pushed=pushed,
        made_due=made_due,
        sent_again=sent_again,
        crashes=crashes,
    )


def push_in_worker(tree, conf: Path, db: str) -> PushRun:
    """``run_push_cron`` in a fresh Odoo process (see the module docstring)."""
    (run,) = push_in_workers(tree, conf, db)
    return run


def push_in_workers(
    tree, conf: Path, db: str, workers: int = 1, retries: Retries = Retries()
) -> list[PushRun]:
    """``run_push_cron`` in ``workers`` fresh Odoo processes at once, as that many Odoo
    servers on one database would run the cron; they start pushing together (a barrier
    after each loaded its registry)."""
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(workers)
    started = []
    for number in range(workers):
        receiver, sender = context.Pipe(duplex=False)
        worker = context.Process(
            target=_push_worker,
            args=(sender, tree, conf, db),
            kwargs={"retries": retries, "barrier": barrier},
            name=f"odoo-push-worker-{number + 1}",
        )
        worker.start()
        sender.close()
        started.append((worker, receiver))
    results, failures = [], []
    for worker, receiver in started:
        try:
            status, value = receiver.recv()
        except EOFError:
            status, value = "error", f"the push worker died (exit code {worker.exitcode})"
        finally:
            worker.join()
        (results if status == "ok" else failures).append(value)
    if failures:
        raise RuntimeError("the push failed:\n" + "\n".join(failures))
    return results


def _push_worker(sender, tree, conf: Path, db: str, *, retries: Retries, barrier) -> None:
    from bench_odoo import load_odoo  # noqa: PLC0415 - the worker's own imports
    from bench_seed import environment  # noqa: PLC0415

    try:
        registry = load_odoo(tree, conf, db)
        barrier.wait(timeout=300)
        sender.send(("ok", run_push_cron(registry, environment, retries)))
    except Exception:  # the parent reports it
        barrier.abort()
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
