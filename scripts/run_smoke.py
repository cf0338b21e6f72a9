#!/usr/bin/env python3
"""README's first command, ``make run``, started and checked as a user would (``make test``).

Finds an Odoo 18 (none -> one loud SKIPPED line and exit 0, as odoo_suite.py), then starts
``scripts/run_demo.py`` in the background on free ports with its own database (``kc_smoke``,
so a user's ``kommo_demo`` is untouched) and checks: the ready banner, ``/web/login``, the
company's Kommo account connected to the emulator with its fields and webhook, "Sync Kommo"
on a demo repair order (lead, contact and note in the emulator), a stage change made in Kommo
coming back to Odoo through the webhook, and that Ctrl-C stops Odoo, the emulator and the
PostgreSQL it started. Then a second start (a fresh copy of ``kc_smoke_pristine``) and a
third with ``--keep-data``. One line says which step failed and why; every step is bounded.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import time
from collections.abc import Iterator

from odoo_env import OdooNotFoundError, demo_tree, find_odoo_trees, say
from odoo_pg import MODES, PostgresUnavailableError, database_exists, start_postgres
from odoo_proc import free_port, raise_on_sigterm
from run_demo import drop_demo_database
from run_smoke_checks import RunChecks
from run_smoke_process import LOGS, RunCommand, SmokeStepError

SKIP_NO_ODOO = (
    "*** RUN SMOKE SKIPPED: no Odoo 18 or 19 found "
    "(set ODOO_PATH=/path/to/odoo or ODOO19_PATH, or put odoo-bin on PATH) ***"
)
DATABASE = "kc_smoke"
SMOKE_LOG = LOGS / "run-smoke.log"
# Ctrl-C must leave nothing behind within this many seconds (README: "2-3 s").
STOP_LIMIT = 10
KEEP_DATA_MARKER = "run smoke: kept by --keep-data"


class Steps:
    """Names the step running (for the failure line) and prints how long each one took."""

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline
        self.current = "starting"
        self.timings: dict[str, float] = {}

    def remaining(self, cap: float) -> float:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise SmokeStepError("the smoke's time limit is spent (--timeout)")
        return min(cap, left)

    @contextlib.contextmanager
    def step(self, name: str) -> Iterator[None]:
        self.current = name
        started = time.monotonic()
        yield
        self.timings[name] = time.monotonic() - started
        say(f"run smoke: {name}: ok ({self.timings[name]:.1f} s)")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--timeout",
        type=float,
        default=float(os.environ.get("RUN_SMOKE_TIMEOUT", "900")),
        help="seconds for the whole smoke (default 900, also RUN_SMOKE_TIMEOUT)",
    )
    parser.add_argument(
        "--start-timeout",
        type=float,
        default=480,
        help="seconds the first start may take to its ready banner (default 480: building "
        "the pristine database takes 1-3 minutes); later starts get 180",
    )
    parser.add_argument("--postgres", choices=MODES, default="auto", help="passed to run_demo.py")
    parser.add_argument(
        "--keep-db", action="store_true", help=f"keep the database {DATABASE} afterwards"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    raise_on_sigterm()
    try:
        tree = demo_tree(find_odoo_trees())
    except OdooNotFoundError as exc:
        say(f"*** RUN SMOKE FAILED: finding Odoo: {exc} ***")
        return 2
    if tree is None:
        say(SKIP_NO_ODOO)
        return 0
    started = time.monotonic()
    steps = Steps(started + args.timeout)
    runs: list[RunCommand] = []
    # Last resort: a step stuck where no timeout reaches still ends the smoke in time.
    signal.signal(signal.SIGALRM, _on_alarm)
    signal.alarm(int(args.timeout) + 30)
    SMOKE_LOG.parent.mkdir(parents=True, exist_ok=True)
    SMOKE_LOG.write_text("", encoding="utf-8")
    say(f"run smoke: make run (scripts/run_demo.py) in the background; log: {SMOKE_LOG}")
    failure = None
    try:
        smoke(args, steps, runs)
    except SmokeStepError as exc:
        failure = f"{steps.current}: {exc} (log: {exc.log or SMOKE_LOG})"
    except KeyboardInterrupt:
        failure = f"{steps.current}: interrupted"
    finally:
        signal.alarm(0)
        for run in runs:
            run.stop_leftovers()
        if not args.keep_db:
            _drop_database(args.postgres)
    if failure:  # last, after the clean-up's lines: where CI looks
        say(f"*** RUN SMOKE FAILED: {failure} ***")
        return 1
    first, second = steps.timings["first start"], steps.timings["second start"]
    say(
        f"*** RUN SMOKE PASSED in {time.monotonic() - started:.0f} s "
        f"(first start {first:.0f} s, second start {second:.0f} s) ***"
    )
    return 0


def _on_alarm(_signum, _frame):
    raise SmokeStepError("the smoke's time limit is spent (--timeout): a step hung")


def smoke(args: argparse.Namespace, steps: Steps, runs: list[RunCommand]) -> None:
    odoo_port, emulator_port = _two_free_ports()
    options = [
        "--database",
        DATABASE,
        "--port",
        str(odoo_port),
        "--emulator-port",
        str(emulator_port),
        "--postgres",
        args.postgres,
    ]
    odoo_url = f"http://127.0.0.1:{odoo_port}"

    # 1. The first start: the whole way through, as a user trying the demo would.
    run = RunCommand("first", options, SMOKE_LOG)
    runs.append(run)
    banner = _start(run, steps, "first start", args.start_timeout)
    checks = RunChecks(odoo_url, DATABASE, banner, run.emulator_token())
    with steps.step("first start: /web/login"):
        checks.web_login()
    with steps.step("Kommo account connected to the emulator"):
        checks.login()
        checks.account_connected()
    with steps.step("Kommo fields created"):
        checks.fields_created()
    with steps.step("Sync Kommo: lead, contact and note in the emulator"):
        lead = checks.sync_demo_order()
    with steps.step("a stage change in Kommo comes back through the webhook"):
        checks.stage_change_applied(lead, timeout=steps.remaining(60))
    _stop(run, steps, "first start: Ctrl-C stops everything", (odoo_port, emulator_port))

    # 2. The second start gives the database a fresh copy of its pristine twin.
    run = RunCommand("second", options, SMOKE_LOG)
    runs.append(run)
    _start(run, steps, "second start", 180)
    if f"a fresh copy of {DATABASE}_pristine" not in run.output():
        raise SmokeStepError(f"run_demo.py did not say it copied {DATABASE}_pristine")
    checks = RunChecks(odoo_url, DATABASE, run.banner(), run.emulator_token())
    with steps.step("second start: /web/login, a fresh database"):
        checks.web_login()
        checks.login()
        checks.no_lead_bindings()
        checks.create_marker(KEEP_DATA_MARKER)
    _stop(run, steps, "second start: Ctrl-C stops everything", (odoo_port, emulator_port))

    # 3. --keep-data reuses the database as last left (the marker is still there).
    run = RunCommand("keep-data", [*options, "--keep-data"], SMOKE_LOG)
    runs.append(run)
    _start(run, steps, "--keep-data start", 180)
    checks = RunChecks(odoo_url, DATABASE, run.banner(), run.emulator_token())
    with steps.step("--keep-data start: /web/login, the database as left"):
        checks.web_login()
        checks.login()
        checks.marker_present(KEEP_DATA_MARKER)
    # The kept database knew the previous emulator: it must work with this one all the same.
    with steps.step("--keep-data start: connected, fields created, Sync Kommo"):
        checks.account_connected()
        checks.fields_created()
        checks.sync_demo_order()
    _stop(run, steps, "--keep-data start: Ctrl-C stops everything", (odoo_port, emulator_port))


def _start(run: RunCommand, steps: Steps, name: str, timeout: float) -> dict[str, str]:
    with steps.step(name):
        run.start()
        return run.wait_for_banner(steps.remaining(timeout))


def _stop(run: RunCommand, steps: Steps, name: str, ports: tuple[int, ...]) -> None:
    with steps.step(name):
        run.interrupt_and_check(ports, STOP_LIMIT)


def _two_free_ports() -> tuple[int, int]:
    first = free_port()
    second = free_port()
    while second == first:
        second = free_port()
    return first, second


def _drop_database(postgres_mode: str) -> None:
    """Drop kc_smoke (kc_smoke_pristine stays for the next run, as run_demo keeps its own)."""
    try:
        pg = start_postgres(postgres_mode)
    except PostgresUnavailableError as exc:
        say(f"run smoke: database {DATABASE} not dropped: {exc}")
        return
    try:
        if database_exists(pg, DATABASE):
            drop_demo_database(pg, DATABASE)
            say(f"run smoke: dropped database {DATABASE}")
    except Exception as exc:  # cleanup: say it, never hide the smoke's own verdict
        say(f"run smoke: dropping {DATABASE} failed: {exc}")
    finally:
        pg.shutdown()


if __name__ == "__main__":
    sys.exit(main())
