"""Odoo for the benchmarks: the tree and PostgreSQL found as the runners find them
(scripts/odoo_env.py, scripts/odoo_pg.py), the benchmark's databases, and Odoo in-process.

Two databases: ``<name>`` holds repair + kommo_connector and nothing else (built once, reused
with --reuse, updated when the addon's files changed); every run works in a fresh copy of it,
``<name>_run``, so each run starts from the same empty state (the emulator keeps nothing).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "scripts"))

from odoo_env import (  # noqa: E402 - the runners' modules live in scripts/
    RUN_DIR,
    SUITE_EXTRAS,
    OdooTree,
    ensure_odoo_requirements,
    find_odoo,
    say,
    write_odoo_config,
)
from odoo_pg import (  # noqa: E402
    PgServer,
    clone_database,
    drop_database,
    module_state,
    start_postgres,
)
from odoo_proc import run_logged  # noqa: E402
from run_demo import addon_digest  # noqa: E402

ADDON = "kommo_connector"
LOGS = RUN_DIR / "logs"


class BenchSetupError(Exception):
    """Odoo or its database could not be prepared; the message says what to do."""


@dataclass
class BenchOdoo:
    tree: OdooTree
    pg: PgServer
    conf: Path
    base_db: str

    @property
    def run_db(self) -> str:
        return f"{self.base_db}_run"

    @property
    def install_log(self) -> Path:
        return LOGS / f"{self.base_db}-install.log"


def find_bench_odoo(base_db: str, postgres: str) -> BenchOdoo:
    tree = find_odoo()
    if tree is None or tree.version[0] != 18:
        raise BenchSetupError(
            "no Odoo 18 found: set ODOO_PATH=/path/to/odoo-18 or put odoo-bin on PATH"
        )
    ensure_odoo_requirements(tree, SUITE_EXTRAS)  # the same stamp as the Odoo suite
    pg = start_postgres(postgres)
    conf = write_odoo_config(
        RUN_DIR / f"{base_db}.conf",
        tree,
        {
            **pg.odoo_options(),
            "http_interface": "127.0.0.1",
            "max_cron_threads": 0,
            "without_demo": tree.without_demo,
            "list_db": False,
        },
    )
    return BenchOdoo(tree, pg, conf, base_db)


def add_database_options(parser: argparse.ArgumentParser, copies: str) -> None:
    """A benchmark's options for its database and PostgreSQL; ``copies`` says which copies
    of the database the runs work in."""
    group = parser.add_argument_group("database")
    group.add_argument("--database", default="kc_bench", help="repair + the addon (kc_bench)")
    group.add_argument(
        "--reuse",
        action="store_true",
        help="reuse that database if it exists (updated when the addon changed); each run "
        f"still works in {copies}",
    )
    group.add_argument("--template", help="build it from a copy of this database (repair)")
    group.add_argument("--keep-db", action="store_true", help=f"keep {copies} afterwards")
    group.add_argument("--postgres", default="auto", help="see scripts/odoo_pg.py (auto)")


def prepared_bench(args: argparse.Namespace) -> BenchOdoo:
    """Odoo, PostgreSQL and the database named by ``add_database_options``' options, ready."""
    bench = find_bench_odoo(args.database, args.postgres)
    say(ensure_base_database(bench, args.reuse, args.template))
    return bench


def ensure_base_database(bench: BenchOdoo, reuse: bool, template: str | None) -> str:
    """Make ``bench.base_db`` hold repair + the addon up to date; returns what was done."""
    db, pg = bench.base_db, bench.pg
    stamp = RUN_DIR / f"{db}.addon-hash"
    digest = addon_digest()
    installed = module_state(pg, db, ADDON) == "installed"
    if reuse and installed and stamp.exists() and stamp.read_text() == digest:
        return f"reused database {db}"
    started = time.monotonic()
    if reuse and installed:
        _odoo_install(bench, ["-u", ADDON], f"updating {ADDON} in {db} (its files changed)")
    else:
        drop_database(pg, db)
        stamp.unlink(missing_ok=True)
        if template:
            clone_database(pg, template, db)
            _odoo_install(bench, ["-i", ADDON], f"installing {ADDON} into a copy of {template}")
        else:
            modules = f"repair,{ADDON}"
            _odoo_install(bench, ["-i", modules], f"creating {db} with {modules} (1-3 minutes)")
    stamp.write_text(digest)
    return f"prepared database {db} in {time.monotonic() - started:.0f} s"


def _odoo_install(bench: BenchOdoo, step: list[str], what: str) -> None:
    say(what)
    cmd = [
        *bench.tree.command(),
        "-c",
        str(bench.conf),
        "-d",
        bench.base_db,
        *step,
        f"--without-demo={bench.tree.without_demo}",
        "--stop-after-init",
        "--no-http",
    ]
    code = run_logged(
        cmd,
        bench.install_log,
        env=bench.tree.environ(),
        echo=lambda line: " CRITICAL " in line or " ERROR " in line,
        cwd=REPO,
    )
    if code != 0 or module_state(bench.pg, bench.base_db, ADDON) != "installed":
        raise BenchSetupError(f"{what} failed (exit code {code}); see {bench.install_log}")


def fresh_run_database(bench: BenchOdoo) -> str:
    drop_database(bench.pg, bench.run_db)
    clone_database(bench.pg, bench.base_db, bench.run_db)
    return bench.run_db


# --- Odoo in this process ---------------------------------------------------------------------


def load_odoo(tree: OdooTree, conf: Path, db: str, log_level: str = "warn"):
    """Import Odoo from ``tree`` and open ``db``'s registry; returns the registry."""
    # What the official launcher does before anything imports time.
    os.environ["TZ"] = "UTC"
    time.tzset()
    if not tree.on_sys_path and str(tree.root) not in sys.path:
        sys.path.insert(0, str(tree.root))
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))  # kommo_api without an editable install
    import odoo  # noqa: PLC0415 - found at run time
    from odoo.modules.registry import Registry  # noqa: PLC0415

    odoo.tools.config.parse_config(["-c", str(conf), "-d", db, "--log-level", log_level])
    return Registry(db)


def close_odoo(db: str) -> None:
    """Forget the registry and close its connections, so the database can be dropped."""
    import odoo  # noqa: PLC0415
    from odoo.modules.registry import Registry  # noqa: PLC0415

    Registry.delete(db)
    odoo.sql_db.close_db(db)
