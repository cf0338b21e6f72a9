#!/usr/bin/env python3
"""``make screenshots``: the screenshots of the addon's screens, taken in real Odoo 18 with
the Kommo emulator by the tours of the Odoo suite, into kommo_connector/static/description/
(where the README and index.html show them).

Starts PostgreSQL as the suite does (odoo_suite.py), creates a scratch database with
``repair`` and ``kommo_connector`` (or clones ``--template``), runs
``odoo-bin --test-tags kommo_screenshots`` (tests/test_screenshots.py: not part of the suite)
and drops the database. Prints the pictures written.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

from odoo_env import (
    REPO,
    RUN_DIR,
    SUITE_EXTRAS,
    OdooNotFoundError,
    ensure_browser,
    ensure_odoo_requirements,
    ensure_runner_psycopg2,
    find_odoo_trees,
    say,
    write_odoo_config,
)
from odoo_pg import MODES, PostgresUnavailableError, clone_database, drop_database, start_postgres
from odoo_proc import OdooLogEcho, Services, free_port, raise_on_sigterm, run_logged, tail
from odoo_suite import ADDON, parse_odoo_log

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
    conf = RUN_DIR / f"{db}.conf"
    log = RUN_DIR / "logs" / f"{db}-odoo-bin.log"
    try:
        with Services() as services:
            pg = start_postgres(args.postgres)
            services.on_exit("PostgreSQL", pg.shutdown)
            write_odoo_config(
                conf,
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
            services.on_exit(f"database {db}", lambda: (drop_database(pg, db), conf.unlink()))
            if args.template:
                clone_database(pg, args.template, db)
            modules = ADDON if args.template else f"repair,{ADDON}"
            say(f"odoo-bin: installing {modules} into {db}, then the tours tagged {TAG}")
            cmd = [
                *tree.command(),
                *("-c", str(conf), "-d", db, "-i", modules),
                f"--without-demo={tree.without_demo}",
                *("--test-enable", "--test-tags", TAG, "--stop-after-init"),
            ]
            code = run_logged(
                cmd, log, env=tree.environ(), echo=OdooLogEcho(args.verbose), cwd=REPO
            )
    except PostgresUnavailableError as exc:
        say(f"*** SCREENSHOTS NOT TAKEN: {exc} ***")
        return 1
    run = parse_odoo_log(log.read_text(encoding="utf-8", errors="replace"), code, True)
    pictures = sorted(p for p in DESCRIPTION.glob("*.png") if p.stat().st_mtime >= started)
    for picture in pictures:
        say(f"  {picture.relative_to(REPO)}")
    if not run.ok or not pictures:
        sys.stdout.write(tail(log))
        say(f"*** SCREENSHOTS FAILED ({run.summary_line()}); log: {log} ***")
        return 1
    say(f"*** {len(pictures)} screenshots taken ({run.summary_line()}) ***")
    return 0


if __name__ == "__main__":
    sys.exit(main())
