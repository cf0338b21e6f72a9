"""Finding, or starting, the PostgreSQL server that the runners' Odoo uses.

In order (``mode="auto"``):

1. PG* settings in the environment (PGHOST / PGPORT / PGUSER / PGPASSWORD): used as given;
2. a server answering on the default local socket, as the current user (as root on Debian a
   missing role for that user is created: Odoo refuses to connect as ``postgres``);
3. as root on Debian: the ``postgresql`` package's cluster, started with ``pg_ctlcluster``
   (created with ``pg_createcluster`` when there is none) and stopped again at exit;
4. an embedded server from the ``pgserver`` PyPI package (pip-installed on demand, data in
   ``.run/pgdata``, works without root). Its build lacks ``pg_trgm``, so Odoo logs one
   ERROR line ("extension pg_trgm is not available") and goes on without trigram indexes.

The password never goes into a config file: libpq reads PGPASSWORD from the environment that
Odoo inherits.
"""

from __future__ import annotations

import os
import shutil
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from odoo_env import (
    FILESTORE,
    RUN_DIR,
    current_user,
    ensure_debian_packages,
    is_debian,
    is_root,
    pip_install,
    run_command,
    say,
)

PG_ENV_KEYS = ("PGHOST", "PGPORT", "PGUSER", "PGPASSWORD")
EMBEDDED_ROLE = "odoo"
MODES = ("auto", "env", "local", "debian", "embedded")


class PostgresUnavailableError(Exception):
    pass


@dataclass
class PgServer:
    """Where Odoo finds its PostgreSQL, and how to stop it if we started it."""

    description: str
    host: str | None = None
    port: int | None = None
    user: str | None = None
    stop: Callable[[], None] | None = field(default=None, repr=False)

    def odoo_options(self) -> dict[str, object]:
        return {
            "db_host": self.host or False,
            "db_port": self.port or False,
            "db_user": self.user or False,
            "db_password": False,
        }

    def connect(self, dbname: str = "postgres"):
        import psycopg2  # noqa: PLC0415 - an Odoo requirement, installed just before

        params = {"dbname": dbname, "connect_timeout": 5}
        params.update(
            {k: v for k, v in (("host", self.host), ("port", self.port), ("user", self.user)) if v}
        )
        conn = psycopg2.connect(**params)
        conn.autocommit = True
        return conn

    def shutdown(self) -> None:
        if self.stop is not None:
            say(f"stopping {self.description}")
            stop, self.stop = self.stop, None
            stop()


def pg_env_given(environ: Mapping[str, str]) -> bool:
    return any(environ.get(key) for key in PG_ENV_KEYS)


def start_postgres(mode: str = "auto", environ: Mapping[str, str] | None = None) -> PgServer:
    environ = os.environ if environ is None else environ
    if mode in ("auto", "env") and pg_env_given(environ):
        return _checked(_from_environment(environ))
    if mode == "env":
        raise PostgresUnavailableError("--postgres env: no PGHOST/PGPORT/PGUSER/PGPASSWORD set")
    if mode in ("auto", "local"):
        server = _local_server()
        if server is not None or mode == "local":
            if server is None:
                raise PostgresUnavailableError("no PostgreSQL answers on the default socket")
            return server
    wants_debian = mode in ("auto", "debian") and is_root() and is_debian()
    if wants_debian and not shutil.which("pg_ctlcluster"):
        ensure_debian_packages(["postgresql"], "a PostgreSQL server")
    if wants_debian and shutil.which("pg_ctlcluster"):
        return _checked(_debian_cluster())
    if mode == "debian":
        raise PostgresUnavailableError("--postgres debian needs root and Debian's postgresql")
    return _checked(_embedded_server())


def _checked(server: PgServer) -> PgServer:
    try:
        server.connect().close()
    except Exception as exc:
        server.shutdown()
        detail = " ".join(str(exc).split())  # libpq's message spans lines
        raise PostgresUnavailableError(f"cannot connect to {server.description}: {detail}") from exc
    say(f"PostgreSQL: {server.description}")
    return server


def _from_environment(environ: Mapping[str, str]) -> PgServer:
    port = environ.get("PGPORT")
    return PgServer(
        "the server named by the PG* environment settings",
        host=environ.get("PGHOST") or None,
        port=int(port) if port else None,
        user=environ.get("PGUSER") or None,
    )


def _local_server() -> PgServer | None:
    """A server on the default socket, used as the current OS user."""
    server = PgServer("the local server on the default socket", user=current_user())
    try:
        server.connect().close()
    except Exception as exc:
        text = str(exc)
        if "does not exist" in text and "role" in text and _create_role_as_postgres(None):
            return _checked(server)
        return None
    say(f"PostgreSQL: {server.description}")
    return server


def _create_role_as_postgres(port: int | None) -> bool:
    """As root, create a superuser role named like the current user (Odoo won't use postgres)."""
    if not is_root() or not shutil.which("runuser"):
        return False
    user = current_user()
    port_args = ["--port", str(port)] if port else []
    cmd = ["runuser", "-u", "postgres", "--", "createuser", *port_args, "--superuser", user]
    say(f"creating PostgreSQL superuser role {user!r}")
    return run_command(cmd, check=False).returncode == 0


def _debian_clusters() -> list[list[str]]:
    listing = run_command(["pg_lsclusters", "--no-header"], capture_output=True, text=True)
    return [line.split() for line in listing.stdout.splitlines() if line.strip()]


def pick_cluster(clusters: list[list[str]]) -> list[str]:
    """From `pg_lsclusters` rows (version, name, port, status ...): an online cluster, else
    the newest "main", else the first."""
    online = [row for row in clusters if row[3] == "online"]
    mains = sorted((row for row in clusters if row[1] == "main"), key=lambda row: float(row[0]))
    return (online or mains[-1:] or clusters)[0][:4]


def _debian_cluster() -> PgServer:
    """Start (or create) a Debian cluster; it is stopped again at exit if we started it."""
    clusters = _debian_clusters()
    if not clusters:
        versions = sorted(Path("/usr/lib/postgresql").iterdir(), key=lambda p: int(p.name))
        if not versions:
            raise PostgresUnavailableError("Debian's postgresql is installed without a server")
        say(f"pg_createcluster {versions[-1].name} main")
        run_command(["pg_createcluster", versions[-1].name, "main"])
        clusters = _debian_clusters()
    version, name, port, status = pick_cluster(clusters)
    stop = None
    if status != "online":
        say(f"pg_ctlcluster {version} {name} start")
        run_command(["pg_ctlcluster", version, name, "start"])

        def stop() -> None:
            run_command(["pg_ctlcluster", version, name, "stop"], check=False)

    server = PgServer(
        f"Debian cluster {version}/{name} (port {port})",
        port=int(port),
        user=current_user(),
        stop=stop,
    )
    try:
        server.connect().close()
    except Exception:  # any failure here means "no role yet"; _checked() tries again
        _create_role_as_postgres(int(port))
    return server


def _import_pgserver():
    with warnings.catch_warnings():
        # platformdirs warns that XDG_RUNTIME_DIR is unset (containers, CI): harmless here.
        warnings.simplefilter("ignore")
        import pgserver  # noqa: PLC0415
        from pgserver._commands import POSTGRES_BIN_PATH  # noqa: PLC0415
    return pgserver, POSTGRES_BIN_PATH


def _embedded_server() -> PgServer:
    try:
        pgserver, bin_path = _import_pgserver()
    except ImportError:
        say("pip install pgserver (an embedded PostgreSQL, no root needed)")
        pip_install(["pgserver"])
        pgserver, bin_path = _import_pgserver()

    RUN_DIR.mkdir(exist_ok=True)
    pgdata = RUN_DIR / "pgdata"
    handle = pgserver.get_server(pgdata, cleanup_mode="stop")
    info = handle.get_postmaster_info()
    admin = PgServer("embedded", host=str(info.socket_dir), port=info.port, user="postgres")
    conn = admin.connect()
    with conn.cursor() as cr:
        cr.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (EMBEDDED_ROLE,))
        if not cr.fetchone():
            cr.execute(f'CREATE ROLE "{EMBEDDED_ROLE}" LOGIN SUPERUSER')
    conn.close()

    def stop() -> None:
        handle.cleanup()
        # pgserver keeps the server for other live handles; a crashed earlier run can leave a
        # stale one in its list, so make sure the server we started is really down.
        if (pgdata / "postmaster.pid").exists():
            pg_ctl = str(bin_path / "pg_ctl")
            stop_cmd = [pg_ctl, "-D", str(pgdata), "-m", "fast", "-w", "stop"]
            run_command(stop_cmd, check=False, user=handle.system_user)

    return PgServer(
        f"embedded PostgreSQL (pgserver, data in {pgdata})",
        host=str(info.socket_dir),
        port=info.port,
        user=EMBEDDED_ROLE,
        stop=stop,
    )


# --- databases --------------------------------------------------------------------------------


def database_exists(server: PgServer, name: str) -> bool:
    conn = server.connect()
    try:
        with conn.cursor() as cr:
            cr.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
            return cr.fetchone() is not None
    finally:
        conn.close()


def clone_database(server: PgServer, source: str, target: str) -> None:
    """``target`` as a copy of ``source``, its filestore too: in the runners' data dir, else in
    ODOO_TEMPLATE_DATA_DIR (the data dir of a template made by another Odoo)."""
    conn = server.connect()
    try:
        with conn.cursor() as cr:
            cr.execute(f'CREATE DATABASE "{target}" TEMPLATE "{source}"')
    finally:
        conn.close()
    template_data_dir = os.environ.get("ODOO_TEMPLATE_DATA_DIR")
    other = [Path(template_data_dir) / "filestore"] if template_data_dir else []
    for filestore in (FILESTORE, *other):
        if (filestore / source).is_dir():
            shutil.copytree(filestore / source, FILESTORE / target)
            break


def drop_database(server: PgServer, name: str) -> None:
    """The database, if any, and its filestore in the runners' data dir."""
    conn = server.connect()
    try:
        with conn.cursor() as cr:
            cr.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = %s AND pid <> pg_backend_pid()",
                (name,),
            )
            cr.execute(f'DROP DATABASE IF EXISTS "{name}"')
    finally:
        conn.close()
    shutil.rmtree(FILESTORE / name, ignore_errors=True)


def module_state(server: PgServer, dbname: str, module: str) -> str | None:
    """The module's state in ir_module_module ("installed" ...), None if absent or no Odoo db."""
    import psycopg2  # noqa: PLC0415

    try:
        conn = server.connect(dbname)
    except psycopg2.OperationalError:
        return None
    try:
        with conn.cursor() as cr:
            cr.execute("SELECT state FROM ir_module_module WHERE name = %s", (module,))
            row = cr.fetchone()
            return row[0] if row else None
    except psycopg2.Error:
        return None
    finally:
        conn.close()
