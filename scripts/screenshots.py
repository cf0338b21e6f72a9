#!/usr/bin/env python3
"""``make screenshots``: the screenshots of the addon's screens, taken in real Odoo 18 with
the Kommo emulator by the tours of the Odoo suite, into kommo_connector/static/description/
(where the README and index.html show them).

A run of the suite's (odoo_suite.py: the same PostgreSQL, Odoo config and scratch database,
created with ``repair`` and ``kommo_connector`` or cloned from ``--template``, dropped at the
end) with Odoo's runner only, on the tests tagged ``kommo_screenshots``
(tests/test_screenshots.py: not part of the suite). Prints the pictures written.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

from odoo_env import (
    REPO,
    SUITE_EXTRAS,
    OdooNotFoundError,
    ensure_browser,
    ensure_odoo_requirements,
    ensure_runner_psycopg2,
    find_odoo_trees,
    say,
)
from odoo_pg import MODES, PostgresUnavailableError, start_postgres
from odoo_proc import Services, raise_on_sigterm, tail
from odoo_suite import ADDON, prepare_run, run_odoo_runner

TAG = "kommo_screenshots"
DESCRIPTION = REPO / ADDON / "static" / "description"
SERIES = 18


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--postgres", choices=MODES, default="auto")
    parser.add_argument(
        "--template", help="clone this database (repair installed) instead of creating one"
    )
    parser.add_argument("--verbose", action="store_true", help="show Odoo's whole log")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    raise_on_sigterm()
    try:
        tree = find_odoo_trees().get(SERIES)
    except OdooNotFoundError as exc:
        tree, reason = None, str(exc)
    else:
        reason = f"no Odoo {SERIES}.0 found"
    if tree is None:
        say(f"*** SCREENSHOTS NOT TAKEN: {reason} ***")
        return 2
    ensure_odoo_requirements(tree, SUITE_EXTRAS)
    ensure_runner_psycopg2()
    ensure_browser()
    started = time.time()
    db = f"kc_screens_{time.strftime('%Y%m%d_%H%M%S')}_{os.getpid()}"
    try:
        with Services() as services:
            pg = start_postgres(args.postgres)
            services.on_exit("PostgreSQL", pg.shutdown)
            run = prepare_run(tree, pg, services, db, template=args.template, verbose=args.verbose)
            odoo_run = run_odoo_runner(run, tags=TAG)
    except PostgresUnavailableError as exc:
        say(f"*** SCREENSHOTS NOT TAKEN: {exc} ***")
        return 1
    pictures = sorted(p for p in DESCRIPTION.glob("*.png") if p.stat().st_mtime >= started)
    for picture in pictures:
        say(f"  {picture.relative_to(REPO)}")
    if not odoo_run.ok or not pictures:
        sys.stdout.write(tail(run.odoo_log))
        say(f"*** SCREENSHOTS FAILED ({odoo_run.summary_line()}); log: {run.odoo_log} ***")
        return 1
    say(f"*** {len(pictures)} screenshots taken ({odoo_run.summary_line()}) ***")
    return 0


if __name__ == "__main__":
    sys.exit(main())
