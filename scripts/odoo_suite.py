#!/usr/bin/env python3
"""The addon's Odoo suite, run by both of Odoo's test runners (``make test-odoo``).

Finds the Odoo trees of the series the addon supports, 18.0 and 19.0 (see odoo_env.py; a
series not found -> one loud SKIPPED line for it; none at all -> exit 0), and for each one:
installs what it needs (Odoo's requirements into that series' interpreter, pytest-odoo,
Debian packages when root), finds or starts PostgreSQL, creates a fresh database with
``repair`` and ``kommo_connector`` (no demo data), then runs the addon's tests with
``odoo-bin --test-enable --test-tags /kommo_connector`` and with pytest-odoo. The databases
are dropped at the end unless KEEP_DB=1. Config and logs live in .run/ (gitignored). The last
lines are one result line per series.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from odoo_env import (
    REPO,
    RUN_DIR,
    SUITE_EXTRAS,
    SUPPORTED_MAJORS,
    OdooNotFoundError,
    OdooTree,
    ensure_browser,
    ensure_odoo_requirements,
    ensure_runner_psycopg2,
    find_odoo_trees,
    say,
    write_odoo_config,
)
from odoo_pg import (
    MODES,
    PgServer,
    PostgresUnavailableError,
    clone_database,
    drop_database,
    module_state,
    start_postgres,
)
from odoo_proc import OdooLogEcho, Services, free_port, raise_on_sigterm, run_logged, tail

ADDON = "kommo_connector"
ADDON_TESTS = REPO / ADDON / "tests"
SKIP_NO_ODOO = (
    "*** ODOO SUITE SKIPPED: no Odoo 18 or 19 found "
    "(set ODOO_PATH=/path/to/odoo, ODOO19_PATH=/path/to/odoo-19, or put odoo-bin on PATH) ***"
)
LOGS_KEPT = 10
PYTEST_NO_TESTS = 5
PYTEST_NO_PATH = 4

SUMMARY_RE = re.compile(r"(\d+) failed, (\d+) error\(s\) of (\d+) tests when loading database")
# Test results are logged by the test modules' loggers (odoo.addons.<module>.tests...).
FAILED_TEST_RE = re.compile(r" (?:ERROR|CRITICAL) \S+ odoo\.addons\.[\w.]+: (?:FAIL|ERROR): ")
SKIPPED_TEST_RE = re.compile(r" INFO \S+ odoo\.addons\.[\w.]+: skipped ")
STARTED_TEST_RE = re.compile(r" INFO \S+ odoo\.addons\.[\w.]+: Starting ")


@dataclass
class OdooRun:
    """What Odoo's own runner did, read from its log."""

    exit_code: int
    tests: int
    failed: int
    skipped: int
    installed: bool

    @property
    def passed(self) -> int:
        return max(self.tests - self.failed - self.skipped, 0)

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and self.failed == 0 and self.installed

    def summary_line(self, label: str = "odoo-bin") -> str:
        skipped = f", {self.skipped} skipped" if self.skipped else ""
        return f"{label}: {self.passed} passed, {self.failed} failed{skipped}"


def parse_odoo_log(text: str, exit_code: int, installed: bool) -> OdooRun:
    failed_lines = len(FAILED_TEST_RE.findall(text))
    skipped = len(SKIPPED_TEST_RE.findall(text))
    summaries = SUMMARY_RE.findall(text)
    if summaries:
        failures, errors, tests = (int(n) for n in summaries[-1])
        failed = max(failures + errors, failed_lines)
    else:  # stopped before Odoo's summary (crash, timeout): count what the log shows
        tests = max(len(STARTED_TEST_RE.findall(text)), failed_lines)
        # the test that was running when the process died never reported: it failed
        failed = failed_lines + (1 if exit_code != 0 and tests > failed_lines else 0)
    return OdooRun(exit_code, tests, failed, skipped, installed)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--postgres",
        choices=MODES,
        default="auto",
        help="which PostgreSQL to use (default: auto, see odoo_pg.py)",
    )
    parser.add_argument(
        "--keep-db",
        action="store_true",
        default=os.environ.get("KEEP_DB") == "1",
        help="keep the test database afterwards (also KEEP_DB=1)",
    )
    parser.add_argument(
        "--template",
        help="clone this database (with its filestore) instead of creating one "
        "from scratch: faster for local iterations",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=float(os.environ.get("ODOO_SUITE_TIMEOUT", "1800")),
        help="seconds each runner may take before it is stopped and failed "
        "(default 1800, also ODOO_SUITE_TIMEOUT)",
    )
    parser.add_argument(
        "--series",
        type=int,
        action="append",
        choices=SUPPORTED_MAJORS,
        help="run only this Odoo series (18 or 19; repeatable); default: every series found",
    )
    parser.add_argument("--verbose", action="store_true", help="show Odoo's whole log")
    return parser.parse_args(argv)


def skip_line(major: int) -> str:
    return (
        f"*** ODOO {major}.0 SUITE SKIPPED: no Odoo {major}.0 found "
        f"(set ODOO{major}_PATH=/path/to/odoo-{major}, or ODOO_PATH) ***"
    )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    raise_on_sigterm()
    try:
        trees = find_odoo_trees()
    except OdooNotFoundError as exc:
        say(f"*** ODOO SUITE FAILED: {exc} ***")
        return 2
    for major, tree in trees.items():
        if major not in SUPPORTED_MAJORS:
            say(
                f"*** Odoo {tree.version_label} at {tree.root} ({tree.found_by}) is not a series "
                f"the addon supports ({', '.join(f'{m}.0' for m in SUPPORTED_MAJORS)}): "
                "not run ***"
            )
    wanted = args.series or list(SUPPORTED_MAJORS)
    to_run = [trees[major] for major in wanted if major in trees]
    if not to_run:
        say(SKIP_NO_ODOO)
        return 0
    skipped = [major for major in wanted if major not in trees]
    started = time.monotonic()
    verdicts: list[str] = []
    results: list[str] = []
    # Before PostgreSQL: this runner talks to it with psycopg2, one of Odoo's requirements.
    for tree in to_run:
        ensure_odoo_requirements(tree, SUITE_EXTRAS)
    ensure_runner_psycopg2()
    try:
        with Services() as services:
            pg = start_postgres(args.postgres)
            services.on_exit("PostgreSQL", pg.shutdown)
            for tree in to_run:
                say(f"== Odoo {tree.version_label} ({tree.found_by}): {tree.root}")
                summary: list[str] = []
                ok = run_suite(tree, pg, args, services, summary)
                verdicts.append(f"{tree.version_label} {'passed' if ok else 'FAILED'}")
                results.extend(summary)
    except (PostgresUnavailableError, subprocess.CalledProcessError) as exc:
        say(f"*** ODOO SUITE FAILED: {exc} ***")
        return 1
    for major in skipped:
        say(skip_line(major))
        verdicts.append(f"{major}.0 skipped")
    ok = all(not verdict.endswith("FAILED") for verdict in verdicts)
    verdict = "PASSED" if ok else "FAILED"
    say(
        f"*** ODOO SUITE {verdict} in {time.monotonic() - started:.0f} s: {', '.join(verdicts)} ***"
    )
    for line in results:  # last, where CI looks for the closing count lines
        say(line)
    return 0 if ok else 1


@dataclass
class SuiteRun:
    """One run of the suite: where Odoo is, its database and config, and the log."""

    tree: OdooTree
    pg: PgServer
    db: str
    conf: Path
    verbose: bool = False
    from_template: bool = False
    timeout: float | None = None

    @property
    def odoo_log(self) -> Path:
        return RUN_DIR / "logs" / f"{self.db}-odoo-bin.log"

    @property
    def pytest_log(self) -> Path:
        return RUN_DIR / "logs" / f"{self.db}-pytest.log"


def run_suite(
    tree: OdooTree, pg: PgServer, args: argparse.Namespace, services: Services, summary: list[str]
) -> bool:
    """Run both runners; ``summary`` receives the series' count line for the closing output."""
    ensure_browser()

    db = f"kc_suite_{tree.major}_{time.strftime('%Y%m%d_%H%M%S')}_{os.getpid()}"
    _prune_logs(RUN_DIR / "logs")
    run = prepare_run(
        tree,
        pg,
        services,
        db,
        template=args.template,
        keep=args.keep_db,
        verbose=args.verbose,
        timeout=args.timeout,
    )
    say(f"logs: {run.odoo_log} and {run.pytest_log.name}")
    odoo_run = run_odoo_runner(run)
    if not odoo_run.ok:
        # The console showed only warnings and test lines: the log's end tells the rest.
        _print_tail(run.odoo_log)
    say(odoo_run.summary_line())
    summary.append(odoo_run.summary_line(f"odoo-{tree.version_label}"))
    if not odoo_run.installed:
        say(f"*** {ADDON} is not installed in {db}: pytest-odoo not run ***")
        return False
    return _verdict(odoo_run, run_pytest_odoo(run))


def prepare_run(
    tree: OdooTree,
    pg: PgServer,
    services: Services,
    db: str,
    *,
    template: str | None = None,
    keep: bool = False,
    verbose: bool = False,
    timeout: float | None = None,
) -> SuiteRun:
    """A test run of ``tree`` on the database ``db``: its Odoo config (HTTP on a free loopback
    port for the tours, no cron threads, no demo data, no database list), the database cloned
    from ``template`` when given (else Odoo's ``-i`` creates it), dropped with its config when
    ``services`` stop unless ``keep``. Shared by the suite and ``make screenshots``."""
    conf = RUN_DIR / f"{db}.conf"
    run = SuiteRun(
        tree, pg, db, conf, verbose=verbose, from_template=bool(template), timeout=timeout
    )
    write_odoo_config(
        run.conf,
        tree,
        {
            **pg.odoo_options(),
            "http_interface": "127.0.0.1",
            "http_port": free_port(),
            "max_cron_threads": 0,
            "without_demo": tree.without_demo,
            "list_db": False,
        },
    )
    if keep:
        say(f"KEEP_DB: database {db} and {run.conf} are kept")
    else:
        services.on_exit(f"database {db}", lambda: _drop(run))
    if template:
        say(f"cloning database {template} into {db}")
        clone_database(pg, template, db)
    return run


def run_odoo_runner(run: SuiteRun, tags: str = f"/{ADDON}") -> OdooRun:
    """Odoo's own runner on ``run``: installs the addon (with ``repair`` unless the database
    is a template's copy) and runs the tests selected by ``tags``."""
    modules = ADDON if run.from_template else f"repair,{ADDON}"
    say(
        f"odoo-bin: installing {modules} into {run.db} and running the tests tagged {tags} "
        "(a fresh database takes 1-3 minutes)"
    )
    cmd = [
        *run.tree.command(),
        "-c",
        str(run.conf),
        "-d",
        run.db,
        "-i",
        modules,
        f"--without-demo={run.tree.without_demo}",
        "--test-enable",
        "--test-tags",
        tags,
        "--stop-after-init",
    ]
    code = run_logged(
        cmd,
        run.odoo_log,
        env=run.tree.environ(),
        echo=OdooLogEcho(run.verbose),
        cwd=REPO,
        timeout=run.timeout,
        name="odoo-bin",
    )
    text = run.odoo_log.read_text(encoding="utf-8", errors="replace")
    installed = module_state(run.pg, run.db, ADDON) == "installed"
    return parse_odoo_log(text, code, installed)


def run_pytest_odoo(run: SuiteRun) -> int:
    if not ADDON_TESTS.is_dir():
        say(f"pytest-odoo: {ADDON_TESTS.relative_to(REPO)} does not exist")
        return PYTEST_NO_TESTS
    say("pytest-odoo:")
    cmd = [
        run.tree.python,
        "-m",
        "pytest",
        f"--odoo-config={run.conf}",
        f"--odoo-database={run.db}",
        "--odoo-http",
        "-p",
        "no:cacheprovider",
        str(ADDON_TESTS.relative_to(REPO)),
    ]
    code = run_logged(
        cmd, run.pytest_log, env=run.tree.environ(), cwd=REPO, timeout=run.timeout, name="pytest"
    )
    return PYTEST_NO_TESTS if code == PYTEST_NO_PATH else code


def _verdict(odoo_run: OdooRun, pytest_code: int) -> bool:
    if pytest_code == PYTEST_NO_TESTS and odoo_run.tests == 0:
        say(
            f"*** ODOO SUITE: {ADDON} HAS NO TESTS YET (odoo-bin ran 0, pytest-odoo collected 0)"
            " -- counted as a failure ***"
        )
        return False
    if pytest_code == PYTEST_NO_TESTS:
        say(
            f"*** pytest-odoo collected no tests although odoo-bin ran {odoo_run.tests}: "
            "check the test file names (test_*.py) ***"
        )
    elif odoo_run.tests == 0:
        say(
            f"*** odoo-bin ran no tests although pytest-odoo found some: is every test module "
            f"imported in {ADDON}/tests/__init__.py? ***"
        )
        return False
    pytest_ok = pytest_code in (0, PYTEST_NO_TESTS)
    if not odoo_run.ok:
        say(f"odoo-bin runner failed (exit code {odoo_run.exit_code})")
    if not pytest_ok:
        say(f"pytest-odoo failed (exit code {pytest_code})")
    return odoo_run.ok and pytest_ok


def _drop(run: SuiteRun) -> None:
    drop_database(run.pg, run.db)
    run.conf.unlink(missing_ok=True)
    say(f"dropped database {run.db}")


def _prune_logs(folder: Path) -> None:
    logs = sorted(folder.glob("kc_suite_*.log")) if folder.is_dir() else []
    for old in logs[: -2 * LOGS_KEPT]:
        old.unlink()


def _print_tail(log_path: Path) -> None:
    say(f"---- last lines of {log_path} ----")
    sys.stdout.write(tail(log_path))
    say("---- end of log ----")


if __name__ == "__main__":
    sys.exit(main())
