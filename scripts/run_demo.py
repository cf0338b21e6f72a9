#!/usr/bin/env python3
"""Odoo 18 with the addon, a demo database and a Kommo to talk to (``make run``).

By default Kommo is the project's emulator (started here, port 8899), and the company's Kommo
account is already connected to it. With KOMMO_HOST and either KOMMO_LONG_LIVED_TOKEN or
KOMMO_CLIENT_ID + KOMMO_CLIENT_SECRET in the environment it connects to that real Kommo
account instead and starts no emulator. Odoo then runs in the foreground until Ctrl-C, which
stops everything this script started.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from odoo_env import (
    PROJECT_MAJOR,
    REPO,
    RUN_DIR,
    SUITE_EXTRAS,
    SUPPORTED_MAJORS,
    OdooNotFoundError,
    OdooTree,
    demo_tree,
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
    database_exists,
    drop_database,
    module_state,
    start_postgres,
)
from odoo_proc import Services, port_in_use, raise_on_sigterm, run_logged, tail, wait_for_http
from run_demo_kommo import (
    EmulatorInfo,
    KommoSetupError,
    demo_settings,
    kommo_target,
    start_emulator,
)

ADDON = "kommo_connector"
IN_ODOO_SCRIPT = Path(__file__).with_name("demo_in_odoo.py")
LOGS = RUN_DIR / "logs"


class DemoError(Exception):
    """A step of the demo's start-up failed; the message says which and what to do."""


def failed_step(message: str, log: Path) -> DemoError:
    say(f"---- last lines of {log} ----")
    sys.stdout.write(tail(log, 25))
    return DemoError(f"{message}; the whole log: {log}")


@dataclass
class Demo:
    tree: OdooTree
    pg: PgServer
    args: argparse.Namespace
    conf: Path

    @property
    def base_url(self) -> str:
        """What browsers and Kommo use to reach this Odoo (web.base.url)."""
        return (self.args.base_url or f"http://localhost:{self.args.port}").rstrip("/")

    @property
    def local_url(self) -> str:
        host = "127.0.0.1" if self.args.interface in ("", "0.0.0.0") else self.args.interface  # noqa: S104
        return f"http://{host}:{self.args.port}"

    def odoo(self, *args: str, subcommand: str | None = None) -> list[str]:
        # Odoo's CLI wants its subcommand (shell ...) before any option.
        head = [*self.tree.command(), *([subcommand] if subcommand else [])]
        return [*head, "-c", str(self.conf), *args]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=8069, help="Odoo's HTTP port (8069)")
    parser.add_argument("--emulator-port", type=int, default=8899, help="the emulator's (8899)")
    parser.add_argument(
        "--database",
        help="database name (kommo_demo; kommo_demo_19 with Odoo 19: a database is of one series)",
    )
    parser.add_argument(
        "--interface",
        default="127.0.0.1",
        help="address Odoo listens on (127.0.0.1; 0.0.0.0 to reach it from another machine)",
    )
    parser.add_argument(
        "--base-url",
        help="Odoo's public address, for the OAuth redirect URI and the webhook URL (default "
        "http://localhost:PORT; a real Kommo needs an address it can reach for webhooks)",
    )
    parser.add_argument(
        "--postgres",
        choices=MODES,
        default="auto",
        help="which PostgreSQL to use (default: auto, see scripts/odoo_pg.py)",
    )
    parser.add_argument(
        "--fresh",
        action="store_true",
        help="rebuild the demo database from scratch (installs Odoo modules)",
    )
    parser.add_argument(
        "--keep-data",
        action="store_true",
        help="with the emulator, reuse the demo database as last left instead "
        "of a fresh copy (its Kommo ids then refer to a Kommo that is gone)",
    )
    parser.add_argument(
        "--series",
        type=int,
        choices=SUPPORTED_MAJORS,
        help="the Odoo series to run (18 or 19); default: 18.0 when found, else 19.0",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    raise_on_sigterm()
    try:
        target = kommo_target(os.environ)
        tree = demo_tree(find_odoo_trees(), args.series)
        if tree is None:
            raise DemoError(
                f"no Odoo {args.series or 18}.0 found: set ODOO_PATH=/path/to/odoo (or "
                "ODOO19_PATH) or put odoo-bin on PATH (README: Finding Odoo)"
            )
        if args.database is None:
            args.database = (
                "kommo_demo" if tree.major == PROJECT_MAJOR else f"kommo_demo_{tree.major}"
            )
        with Services() as services:
            return run(tree, target, args, services)
    except (
        DemoError,
        KommoSetupError,
        OdooNotFoundError,
        PostgresUnavailableError,
        subprocess.CalledProcessError,
    ) as exc:
        say(f"*** make run failed: {exc} ***")
        return 1
    except KeyboardInterrupt:
        say("stopped")
        return 130


def run(tree: OdooTree, target: dict, args: argparse.Namespace, services: Services) -> int:
    say(f"Odoo {tree.version_label} ({tree.found_by}): {tree.root}")
    for port, what in ((args.port, "Odoo"), (args.emulator_port, "the emulator")):
        if port_in_use(port) and (what == "Odoo" or target["mode"] == "emulator"):
            raise DemoError(
                f"port {port} for {what} is taken (another Odoo or emulator "
                "running?): stop it or pass --port / --emulator-port"
            )
    ensure_odoo_requirements(tree, SUITE_EXTRAS)
    ensure_runner_psycopg2()
    pg = start_postgres(args.postgres)
    services.on_exit("PostgreSQL", pg.shutdown)
    demo = Demo(tree, pg, args, RUN_DIR / "odoo-demo.conf")
    write_odoo_config(
        demo.conf,
        tree,
        {
            **pg.odoo_options(),
            "http_interface": args.interface,
            "http_port": args.port,
            "workers": 0,
            "db_name": args.database,
            "dbfilter": f"^{re.escape(args.database)}$",
            "list_db": False,
            "without_demo": False,
        },
    )

    emulator = None
    if target["mode"] == "emulator":
        emulator = start_emulator(services, args.emulator_port, demo.base_url, LOGS)
        prepare_database_copy(demo)
    else:
        say(f"real Kommo account {target['host']}: no emulator")
        prepare_database(demo, args.database, fresh=args.fresh)
    configure(demo, demo_settings(target, emulator, demo.base_url))
    return serve(demo, services, emulator)


# --- the database -----------------------------------------------------------------------------


def prepare_database(demo: Demo, db: str, fresh: bool = False) -> None:
    """Make ``db`` hold repair + the addon (with demo data), up to date with the sources."""
    if fresh and database_exists(demo.pg, db):
        drop_demo_database(demo.pg, db)
    state = module_state(demo.pg, db, ADDON)
    stamp = addon_stamp(db)
    digest = addon_digest()
    if state == "installed" and stamp.exists() and stamp.read_text() == digest:
        return
    if state == "installed":
        step, what = ["-u", ADDON], f"updating {ADDON} in {db} (its files changed; ~15 s)"
    elif database_exists(demo.pg, db) and state is None:
        raise DemoError(
            f"database {db} exists but is not an Odoo database: drop it or use --database"
        )
    else:
        step = ["-i", f"repair,{ADDON}"]
        what = f"creating {db} with repair + {ADDON} + demo data (once; 1-3 minutes)"
    say(what)
    log = LOGS / "demo-install.log"
    code = run_logged(
        demo.odoo("-d", db, *step, "--stop-after-init"),
        log,
        env=demo.tree.environ(),
        echo=lambda line: " CRITICAL " in line,
        cwd=REPO,
        timeout=1200,
        name="odoo-bin (install)",
    )
    if code != 0 or module_state(demo.pg, db, ADDON) != "installed":
        raise failed_step(f"{what} failed (exit code {code})", log)
    stamp.write_text(digest)


def prepare_database_copy(demo: Demo) -> None:
    """The emulator keeps nothing between runs, so the demo starts from a pristine copy."""
    db = demo.args.database
    pristine = f"{db}_pristine"
    if demo.args.keep_data and module_state(demo.pg, db, ADDON) == "installed":
        prepare_database(demo, db)
        return
    prepare_database(demo, pristine, fresh=demo.args.fresh)
    if database_exists(demo.pg, db):
        drop_demo_database(demo.pg, db)
    clone_database(demo.pg, pristine, db)
    # The copy holds the addon as the pristine does: a later --keep-data start needs no -u.
    shutil.copyfile(addon_stamp(pristine), addon_stamp(db))
    say(f"database {db}: a fresh copy of {pristine}")


def drop_demo_database(pg: PgServer, db: str) -> None:
    """The database, its filestore and its stamp (run_smoke.py drops its own with it too)."""
    drop_database(pg, db)
    addon_stamp(db).unlink(missing_ok=True)


def addon_stamp(db: str) -> Path:
    """The addon_digest() of the sources that ``db`` was last installed or updated from."""
    return RUN_DIR / f"{db}.addon-hash"


def addon_digest() -> str:
    """Changes in the addon's files mean the database needs `-u`."""
    digest = hashlib.sha1(usedforsecurity=False)
    for path in sorted((REPO / ADDON).rglob("*")):
        # tests are not loaded into the database: changing them needs no update
        if path.is_file() and not {"__pycache__", "tests"} & set(path.relative_to(REPO).parts):
            digest.update(str(path.relative_to(REPO)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


# --- configuring and serving ------------------------------------------------------------------


def configure(demo: Demo, settings: dict) -> None:
    """Run demo_in_odoo.py in `odoo-bin shell`; settings (secrets too) travel on stdin only."""
    say("configuring the demo inside Odoo")
    script = IN_ODOO_SCRIPT.read_text(encoding="utf-8")
    payload = f"{script}\nconfigure(env, {settings!r})\n"
    log = LOGS / "demo-configure.log"
    log.unlink(missing_ok=True)
    code = run_logged(
        demo.odoo("-d", demo.args.database, "--log-level", "warn", subcommand="shell"),
        log,
        env=demo.tree.environ(),
        echo=lambda line: line.startswith("demo:"),
        cwd=REPO,
        stdin_text=payload,
        timeout=600,
        name="odoo-bin shell",
    )
    if code != 0:
        raise failed_step("setting up the Kommo account inside Odoo failed", log)


def serve(demo: Demo, services: Services, emulator: EmulatorInfo | None) -> int:
    say(f"starting Odoo on {demo.base_url} (log: {LOGS / 'demo-odoo.log'})")
    log = (LOGS / "demo-odoo.log").open("a", encoding="utf-8")
    odoo = services.start(
        "Odoo",
        demo.odoo("-d", demo.args.database),
        env=demo.tree.environ(),
        cwd=REPO,
        stdout=log,
        stderr=log,
    )
    if not wait_for_http(f"{demo.local_url}/web/login", 180, lambda: odoo.poll() is None):
        raise DemoError(f"Odoo did not start; see {LOGS / 'demo-odoo.log'}")
    banner(demo, emulator)
    while odoo.poll() is None:
        if emulator is not None and emulator.process.poll() is not None:
            raise DemoError(f"the emulator stopped; see {emulator.log}")
        time.sleep(0.5)
    raise DemoError(f"Odoo exited with code {odoo.returncode}; see {LOGS / 'demo-odoo.log'}")


def banner(demo: Demo, emulator: EmulatorInfo | None) -> None:
    lines = [
        f"Odoo:   {demo.base_url}/odoo   login admin / password admin",
        f"        database {demo.args.database}",
        "        the Kommo account: Repairs > Configuration > Kommo Accounts",
    ]
    if emulator is not None:
        lines.append(f"Kommo:  the emulator at {emulator.url} (log: {emulator.log})")
    lines.append(
        "Ctrl-C stops Odoo" + (", the emulator" if emulator else "") + " and what else "
        "this command started"
    )
    width = max(len(line) for line in lines)
    say("=" * width)
    for line in lines:
        say(line)
    say("=" * width)


if __name__ == "__main__":
    sys.exit(main())
