"""The run command (scripts/run_demo.py) in the background for run_smoke.py.

It is started the way ``make run`` starts it (this interpreter, the repository as working
folder) in a process group of its own, and stopped the way a user stops it: SIGINT to that
group, as Ctrl-C in a terminal. run_demo.py puts each of its children (Odoo, the emulator) in
a session of its own, so the smoke notes their PIDs while they run to see that they are gone
afterwards, and stops any it finds left (by PID only) when the smoke ends.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from odoo_env import REPO, RUN_DIR, run_command, say
from odoo_proc import port_in_use
from run_demo_kommo import parse_startup_lines

LOGS = RUN_DIR / "logs"
RUN_DEMO = REPO / "scripts" / "run_demo.py"
BANNER_LAST_LINE = "Ctrl-C stops Odoo"
ODOO_LINE_RE = re.compile(r"^Odoo:\s+(?P<url>\S+)/odoo\s", re.M)
EMULATOR_LINE_RE = re.compile(r"^Kommo:\s+the emulator at (?P<url>\S+) \(log: (?P<log>.+)\)$", re.M)
# How run_demo.py (odoo_pg.py) says it started a PostgreSQL; one it found running is not its own.
PG_DEBIAN_START_RE = re.compile(r"^pg_ctlcluster (\S+) (\S+) start$", re.M)
PG_EMBEDDED_RE = re.compile(r"^PostgreSQL: embedded PostgreSQL \(pgserver, data in (.+)\)$", re.M)
# The log of run_demo.py that tells more when a start stops after a line starting so.
PHASE_LOGS = (
    ("starting the Kommo emulator", "demo-emulator.log"),
    ("creating ", "demo-install.log"),
    ("updating ", "demo-install.log"),
    ("configuring the demo", "demo-configure.log"),
    ("demo:", "demo-configure.log"),
    ("starting Odoo", "demo-odoo.log"),
)
INTERRUPTED = 130  # run_demo.py's exit code after Ctrl-C


class SmokeStepError(Exception):
    """A step failed: the message says why, ``log`` where to read more."""

    def __init__(self, why: str, log: Path | None = None) -> None:
        super().__init__(why)
        self.log = log


class RunCommand:
    """One start of the run command, its output and what it started."""

    def __init__(self, label: str, options: list[str], log: Path) -> None:
        self.label = label
        self.options = options
        self.log = log
        self.proc: subprocess.Popen | None = None
        self.lines: list[str] = []
        self.watched: dict[int, str] = {}  # pid -> what it is, noted at the banner
        self.postmaster: int | None = None
        self._reader: threading.Thread | None = None

    # -- starting ----------------------------------------------------------------------------

    def start(self) -> None:
        # A developer's KOMMO_* settings would point the smoke at a real Kommo account.
        env = {key: value for key, value in os.environ.items() if not key.startswith("KOMMO_")}
        env["PYTHONUNBUFFERED"] = "1"
        cmd = [sys.executable, str(RUN_DEMO), *self.options]
        with self.log.open("a", encoding="utf-8") as log:
            log.write(f"\n$ {' '.join(cmd)}    # {self.label} start\n")
        say(f"run smoke: {self.label} start: {' '.join(cmd[1:])}")
        self.proc = subprocess.Popen(  # noqa: S603 - our own script, no shell
            cmd,
            cwd=REPO,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
            bufsize=1,
            start_new_session=True,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        with self.log.open("a", encoding="utf-8") as log:
            for line in self.proc.stdout:
                log.write(line)
                log.flush()
                self.lines.append(line.rstrip("\n"))
                say(f"  | {line.rstrip()}")

    def output(self) -> str:
        return "\n".join(list(self.lines))

    def wait_for_banner(self, timeout: float) -> dict[str, str]:
        deadline = time.monotonic() + timeout
        while not any(BANNER_LAST_LINE in line for line in list(self.lines)):
            if self.proc.poll() is not None:
                self._reader.join(5)  # its last words
                raise SmokeStepError(
                    f"run_demo.py exited with code {self.proc.returncode} before its ready "
                    f"banner; last output: {self._last_line()!r}",
                    self._phase_log(),
                )
            if time.monotonic() > deadline:
                raise SmokeStepError(
                    f"no ready banner within {timeout:.0f} s; last output: {self._last_line()!r}",
                    self._phase_log(),
                )
            time.sleep(0.2)
        self.watched = {pid: _describe(pid) for pid in descendants(self.proc.pid)}
        self.postmaster = self._started_postmaster()
        if self.postmaster:
            self.watched[self.postmaster] = f"PostgreSQL (pid {self.postmaster})"
        return self.banner()

    def banner(self) -> dict[str, str]:
        text = self.output()
        odoo, emulator = ODOO_LINE_RE.search(text), EMULATOR_LINE_RE.search(text)
        if not odoo or not emulator:
            raise SmokeStepError("the ready banner names no Odoo URL or no emulator", self.log)
        return {
            "odoo_url": odoo["url"],
            "emulator_url": emulator["url"],
            "emulator_log": emulator["log"],
        }

    def emulator_token(self) -> str:
        """The long-lived token the emulator printed at start (in run_demo.py's log of it)."""
        log = Path(self.banner()["emulator_log"])
        token = parse_startup_lines(log.read_text(encoding="utf-8")).get("long_lived_token")
        if not token:
            raise SmokeStepError("the emulator printed no long-lived token", log)
        return token

    def _last_line(self) -> str:
        lines = [line for line in list(self.lines) if line.strip()]
        return lines[-1] if lines else "(none)"

    def _phase_log(self) -> Path:
        for line in reversed(list(self.lines)):
            for start, name in PHASE_LOGS:
                if line.startswith(start):
                    return LOGS / name
        return self.log

    def _started_postmaster(self) -> int | None:
        """The PID of the PostgreSQL this start started, None when it found one running."""
        text = self.output()
        if match := PG_DEBIAN_START_RE.search(text):
            listing = run_command(
                ["pg_lsclusters", "--no-header"], check=False, capture_output=True, text=True
            )
            rows = [row.split() for row in listing.stdout.splitlines()]
            data = next((Path(row[5]) for row in rows if row[:2] == list(match.groups())), None)
        elif match := PG_EMBEDDED_RE.search(text):
            data = Path(match[1])
        else:
            return None
        with contextlib.suppress(OSError, ValueError, IndexError, TypeError):
            return int((data / "postmaster.pid").read_text().split()[0])
        raise SmokeStepError(f"run_demo.py started PostgreSQL, but its PID is not in {data}")

    # -- stopping ----------------------------------------------------------------------------

    def interrupt_and_check(self, ports: tuple[int, ...], limit: float) -> None:
        """Ctrl-C, then everything it started must be gone and its ports free within ``limit``."""
        os.killpg(self.proc.pid, signal.SIGINT)
        deadline = time.monotonic() + limit
        while left := self._left_behind(ports):
            if time.monotonic() > deadline:
                raise SmokeStepError(
                    f"{limit:.0f} s after Ctrl-C still running: {', '.join(left)}", self.log
                )
            time.sleep(0.2)
        self._reader.join(5)
        if self.proc.returncode != INTERRUPTED:
            raise SmokeStepError(
                f"run_demo.py ended with code {self.proc.returncode} after Ctrl-C "
                f"(expected {INTERRUPTED}); last output: {self._last_line()!r}",
                self.log,
            )

    def _left_behind(self, ports: tuple[int, ...]) -> list[str]:
        left = [] if self.proc.poll() is not None else [f"run_demo.py (pid {self.proc.pid})"]
        left += [what for pid, what in self.watched.items() if alive(pid)]
        left += [f"something on port {port}" for port in ports if port_in_use(port)]
        return left

    def stop_leftovers(self) -> None:
        """After a failure: stop what this start left running, by the PIDs noted."""
        if self.proc is not None and self.proc.poll() is None:
            _signal_group(self.proc.pid, signal.SIGINT)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                _signal_group(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        children = [pid for pid in self.watched if pid != self.postmaster and alive(pid)]
        for pid in children:
            say(f"run smoke: stopping what was left: {self.watched[pid]}")
            _signal_group(pid, signal.SIGTERM)
        _wait_gone(children, 10, then=signal.SIGKILL)
        if self.postmaster and alive(self.postmaster):
            say(f"run smoke: stopping the PostgreSQL run_demo.py left (pid {self.postmaster})")
            # SIGINT is PostgreSQL's "fast" shutdown: clients are disconnected, data is safe.
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.postmaster, signal.SIGINT)
            _wait_gone([self.postmaster], 20)


# -- processes -----------------------------------------------------------------------------------


def descendants(pid: int) -> set[int]:
    """Children, grandchildren ... of ``pid`` (Linux /proc; empty elsewhere)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").glob("[0-9]*"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            # /proc/PID/stat: "pid (command) state ppid ..."; the command may hold spaces.
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            children.setdefault(ppid, []).append(int(entry.name))
    found: set[int] = set()
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), ()):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def alive(pid: int) -> bool:
    """Running (a zombie, dead but not yet reaped by its parent, counts as gone)."""
    if Path("/proc/self").exists():
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            return False
        return state != "Z"
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _describe(pid: int) -> str:
    try:
        args = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return f"pid {pid}"
    text = " ".join(arg.decode(errors="replace") for arg in args if arg)
    if "kommo_api.testing" in text:
        return f"the Kommo emulator (pid {pid})"
    if "odoo" in text:
        return f"Odoo (pid {pid})"
    return f"{text[:60]} (pid {pid})"


def _signal_group(pid: int, sig: signal.Signals) -> None:
    """Signal the group that ``pid`` leads (run_demo.py starts each child as a session
    leader); just the process when it leads none."""
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)
    except PermissionError:
        pass


def _wait_gone(pids: list[int], seconds: float, then: signal.Signals | None = None) -> None:
    deadline = time.monotonic() + seconds
    while any(alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.2)
    for pid in pids:
        if then is not None and alive(pid):
            _signal_group(pid, then)
