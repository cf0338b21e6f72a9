"""The Odoo server of the webhook benchmark: ``odoo-bin`` in a process of its own, on a free
loopback port, with its own config file under .run/, threaded (workers = 0) or prefork.

No cron thread (``max_cron_threads = 0``): the deliveries must stay stored and pending until
the benchmark processes them itself and times that. The server is stopped by the context
manager's exit, so also on an error or Ctrl-C (see odoo_proc.raise_on_sigterm).
"""

from __future__ import annotations

import re
import statistics
import subprocess
from dataclasses import dataclass

from bench_odoo import LOGS, REPO, BenchOdoo, BenchSetupError
from odoo_env import RUN_DIR, write_odoo_config
from odoo_proc import free_port, spawn, stop_process, tail, wait_for_http

HOST = "127.0.0.1"
START_TIMEOUT = 180.0  # seconds for the server to answer /web/health (registry loading)
# Odoo's access log line ends with its own account of the request (odoo.netsvc.PerfFilter):
# queries, seconds in SQL, seconds elsewhere (Python, and waiting for the GIL or the pool).
REQUEST_LINE = re.compile(
    r'"(?P<method>[A-Z]+) (?P<path>\S+) HTTP/[\d.]+" (?P<status>\d{3}) \S+ '
    r"(?P<queries>\d+) (?P<sql>[\d.]+) (?P<other>[\d.]+)"
)


@dataclass
class RequestLog:
    """Medians of Odoo's own account of the requests of one route."""

    requests: int
    queries: float
    sql_ms: float
    other_ms: float

    def describe(self) -> str:
        return (
            f"{self.queries:.0f} queries, {self.sql_ms:.1f} ms in SQL, {self.other_ms:.1f} ms "
            f"elsewhere (medians of {self.requests} requests)"
        )


class OdooServer:
    """``with OdooServer(bench, db, workers=4) as server: server.port``"""

    def __init__(self, bench: BenchOdoo, db: str, workers: int, db_maxconn: int) -> None:
        self.bench, self.db, self.workers, self.db_maxconn = bench, db, workers, db_maxconn
        self.port = 0
        self.log = LOGS / f"{db}-odoo.log"
        self._proc: subprocess.Popen | None = None

    @property
    def mode(self) -> str:
        return f"prefork, {self.workers} workers" if self.workers else "threaded (workers = 0)"

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def __enter__(self) -> OdooServer:
        self.port = free_port(HOST)
        conf = write_odoo_config(
            RUN_DIR / f"{self.db}.conf",
            self.bench.tree,
            {
                **self.bench.pg.odoo_options(),
                "http_interface": HOST,
                "http_port": self.port,
                # prefork starts a gevent process (websockets) on this port: not Odoo's 8072,
                # which another Odoo on the machine may hold
                "gevent_port": free_port(HOST),
                # db_name without dbfilter: Odoo then takes the database from the config;
                # with a dbfilter it lists PostgreSQL's databases on every request without a
                # session cookie (Kommo sends none), one more connection and query each.
                "db_name": self.db,
                "list_db": False,
                "workers": self.workers,
                "max_cron_threads": 0,
                "db_maxconn": self.db_maxconn,
                "without_demo": self.bench.tree.without_demo,
            },
        )
        LOGS.mkdir(parents=True, exist_ok=True)
        with self.log.open("a", encoding="utf-8") as log:
            log.write(f"\n=== {self.mode} on port {self.port}\n")
            log.flush()
            # The child keeps its own copy of the descriptor: closing ours is fine.
            self._proc = spawn(
                [*self.bench.tree.command(), "-c", str(conf)],
                env=self.bench.tree.environ(),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd=REPO,
            )
        try:
            if not wait_for_http(f"{self.url}/web/health", START_TIMEOUT, self.alive):
                raise BenchSetupError(
                    f"Odoo ({self.mode}) did not answer within {START_TIMEOUT:.0f} s; "
                    f"end of {self.log}:\n{tail(self.log, 30)}"
                )
        except BaseException:
            self.stop()
            raise
        return self

    def log_size(self) -> int:
        return self.log.stat().st_size if self.log.exists() else 0

    def request_log(self, since: int, path_prefix: str) -> RequestLog | None:
        """Odoo's account of the requests to ``path_prefix`` logged after offset ``since``."""
        with self.log.open(encoding="utf-8", errors="replace") as log:
            log.seek(since)
            lines = [REQUEST_LINE.search(line) for line in log]
        rows = [
            (int(m["queries"]), float(m["sql"]), float(m["other"]))
            for m in lines
            if m and m["path"].startswith(path_prefix)
        ]
        if not rows:
            return None
        queries, sql, other = zip(*rows, strict=True)
        return RequestLog(
            len(rows),
            statistics.median(queries),
            1000 * statistics.median(sql),
            1000 * statistics.median(other),
        )

    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def cpu_seconds(self) -> float | None:
        """User + system CPU of the server and its workers so far (workers that a prefork
        master replaced meanwhile are not counted)."""
        import psutil  # noqa: PLC0415 - an Odoo requirement, installed with Odoo's

        if not self.alive():
            return None
        try:
            root = psutil.Process(self._proc.pid)
            total = 0.0
            for proc in [root, *root.children(recursive=True)]:
                times = proc.cpu_times()
                total += times.user + times.system
            return total
        except psutil.Error:
            return None

    def stop(self) -> None:
        if self._proc is not None:
            stop_process(self._proc, f"Odoo ({self.mode})")
            self._proc = None

    def __exit__(self, *exc_info) -> None:
        self.stop()
