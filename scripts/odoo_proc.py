"""Child processes for the runners: logged runs, background services, clean shutdown.

Every child gets its own session, so a Ctrl-C reaches only the runner, which then stops the
children itself, newest first (Odoo before the emulator before PostgreSQL).
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO

from odoo_env import say

TIMED_OUT = 124  # the exit code of coreutils' timeout
SECOND_SIGINT_AFTER = 3.0  # seconds; Odoo's graceful shutdown takes 1-2 s here
# An Odoo log record starts "2025-01-31 12:00:00,123 4242 INFO db logger: message"; the lines
# that follow it without that prefix (tracebacks) belong to it.
ODOO_RECORD_RE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ \d+ (\w+) ")


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def raise_on_sigterm() -> None:
    """Turn SIGTERM (and SIGHUP) into SystemExit so the `finally` blocks stop the children.

    SIGINT gets Python's KeyboardInterrupt handler explicitly: a command started in the
    background by a script inherits SIGINT as ignored, and so would every child it starts.
    """

    def handler(signum, _frame):
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, handler)
    if hasattr(signal, "SIGHUP"):
        signal.signal(signal.SIGHUP, handler)


def spawn(cmd: Sequence[str], env: Mapping[str, str] | None = None, **kwargs) -> subprocess.Popen:
    return subprocess.Popen(  # noqa: S603 - argument lists built by the runners, no shell
        list(cmd), env=None if env is None else dict(env), start_new_session=True, **kwargs
    )


def stop_process(proc: subprocess.Popen, name: str, grace: float = 20.0) -> None:
    """SIGINT (Odoo's graceful shutdown), SIGINT again, then SIGTERM, then SIGKILL, to the
    child's group.

    The second SIGINT comes after SECOND_SIGINT_AFTER seconds: Odoo's threaded server (make
    run) acts on a signal in its main thread, which sleeps up to a minute between checks, and
    now and then the first SIGINT is acted on only when another signal arrives (seen with
    Odoo 18: the server then stopped 20 s late, at the SIGTERM). The second one wakes it, or,
    when the first was seen, forces the shutdown, as a second Ctrl-C does ("Hit CTRL-C again").
    """
    if proc.poll() is not None:
        return
    say(f"stopping {name} (pid {proc.pid})")
    steps = (
        (signal.SIGINT, SECOND_SIGINT_AFTER),
        (signal.SIGINT, grace),
        (signal.SIGTERM, 5.0),
        (signal.SIGKILL, 5.0),
    )
    for sig, wait in steps:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        try:
            proc.wait(wait)
            return
        except subprocess.TimeoutExpired:
            continue


class Services:
    """Background children started by a runner, stopped in reverse order on exit."""

    def __init__(self) -> None:
        self._children: list[tuple[str, subprocess.Popen]] = []
        self._cleanups: list[tuple[str, Callable[[], None]]] = []

    def start(self, name: str, cmd: Sequence[str], **kwargs) -> subprocess.Popen:
        proc = spawn(cmd, **kwargs)
        self._children.append((name, proc))
        return proc

    def on_exit(self, name: str, cleanup: Callable[[], None]) -> None:
        self._cleanups.append((name, cleanup))

    def stop_all(self) -> None:
        while self._children:
            name, proc = self._children.pop()
            stop_process(proc, name)
        while self._cleanups:
            name, cleanup = self._cleanups.pop()
            try:
                cleanup()
            except Exception as exc:  # one failed cleanup must not keep the others from running
                say(f"cleanup of {name} failed: {exc}")

    def __enter__(self) -> Services:
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop_all()


class OdooLogEcho:
    """Decides which lines of an Odoo log reach the console (the whole log goes to a file).

    Shows warnings and errors, the addon's own test lines and the test summary, each with its
    continuation lines (tracebacks); ``verbose`` shows everything.
    """

    LEVELS = ("WARNING", "ERROR", "CRITICAL")
    LOGGERS = ("odoo.addons.kommo_connector", "odoo.tests.result", "odoo.tests.stats")

    def __init__(self, verbose: bool = False) -> None:
        self.verbose = verbose
        self._showing = False

    def __call__(self, line: str) -> bool:
        if self.verbose:
            return True
        record = ODOO_RECORD_RE.match(line)
        if record is None:
            return self._showing
        self._showing = record.group(1) in self.LEVELS or any(
            f" {name}" in line for name in self.LOGGERS
        )
        return self._showing


def run_logged(
    cmd: Sequence[str],
    log_path: Path,
    *,
    env: Mapping[str, str] | None = None,
    echo: Callable[[str], bool] = lambda _line: True,
    cwd: Path | None = None,
    stdin_text: str | None = None,
    timeout: float | None = None,
    name: str = "the command",
) -> int:
    """Run ``cmd`` to completion, its output appended to ``log_path`` and filtered to stdout.

    ``stdin_text`` is written to the child's stdin (kept small: it is sent before reading).
    After ``timeout`` seconds the child is stopped and TIMED_OUT returned: a hung test must
    not hold CI until its own time limit.
    """
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("a", encoding="utf-8") as log:
        log.write(f"\n$ {' '.join(cmd)}\n")
        log.flush()
        proc = spawn(
            cmd,
            env=env,
            cwd=cwd,
            stdin=subprocess.DEVNULL if stdin_text is None else subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
            bufsize=1,
        )
        expired = threading.Event()
        watchdog = threading.Timer(timeout or 0, lambda: (expired.set(), stop_process(proc, name)))
        watchdog.daemon = True
        if timeout:
            watchdog.start()
        try:
            if stdin_text is not None:
                proc.stdin.write(stdin_text)
                proc.stdin.close()
            _pump(proc.stdout, log, echo)
            code = proc.wait()
        finally:
            watchdog.cancel()
            stop_process(proc, name)
    if expired.is_set():
        say(f"*** {name} did not finish within {timeout:.0f} s: stopped ***")
        return TIMED_OUT
    return code


def _pump(stream: IO[str], log: IO[str], echo: Callable[[str], bool]) -> None:
    for line in stream:
        log.write(line)
        if echo(line):
            sys.stdout.write(line)
            sys.stdout.flush()


def tail(path: Path, lines: int = 60) -> str:
    with path.open(encoding="utf-8", errors="replace") as handle:
        return "".join(deque(handle, maxlen=lines))


def wait_for_http(url: str, timeout: float, alive: Callable[[], bool]) -> bool:
    """Poll ``url`` until it answers (any HTTP status) or ``alive()`` turns false."""
    import urllib.error  # noqa: PLC0415
    import urllib.request  # noqa: PLC0415

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and alive():
        try:
            with urllib.request.urlopen(url, timeout=5):  # noqa: S310 - loopback URL we built
                return True
        except urllib.error.HTTPError:
            return True
        except OSError:
            time.sleep(0.5)
    return False


@contextlib.contextmanager
def timed(label: str) -> Iterator[None]:
    start = time.monotonic()
    try:
        yield
    finally:
        say(f"{label}: {time.monotonic() - start:.0f} s")
