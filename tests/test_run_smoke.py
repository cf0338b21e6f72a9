"""The run command's smoke (scripts/run_smoke*.py): its parsing and process helpers, and its
skip without Odoo. The smoke itself needs Odoo: `make test` runs it after the Odoo suite."""

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

SCRIPTS = Path(__file__).resolve().parent.parent / "scripts"
sys.path.insert(0, str(SCRIPTS))

import run_smoke  # noqa: E402
import run_smoke_process  # noqa: E402
from run_smoke_checks import next_stage, plain_text  # noqa: E402
from run_smoke_process import RunCommand, SmokeStepError, alive, descendants  # noqa: E402

BANNER = """\
starting Odoo on http://localhost:8123 (log: /repo/.run/logs/demo-odoo.log)
==============================================================
Odoo:   http://localhost:8123/odoo   login admin / password admin
        database kc_smoke
        the Kommo account: Repairs > Configuration > Kommo Accounts
Kommo:  the emulator at http://127.0.0.1:8124 (log: /repo/.run/logs/demo-emulator.log)
Ctrl-C stops Odoo, the emulator and what else this command started
==============================================================
"""


def run_with_output(text: str, tmp_path: Path) -> RunCommand:
    run = RunCommand("first", [], tmp_path / "smoke.log")
    run.lines = text.splitlines()
    return run


def test_without_odoo_the_smoke_says_skipped_and_passes(monkeypatch, capsys):
    monkeypatch.setattr(run_smoke, "find_odoo_trees", dict)

    assert run_smoke.main([]) == 0
    assert capsys.readouterr().out.strip() == run_smoke.SKIP_NO_ODOO


def test_the_banner_gives_odoo_the_emulator_and_its_log(tmp_path):
    banner = run_with_output(BANNER, tmp_path).banner()

    assert banner == {
        "odoo_url": "http://localhost:8123",
        "emulator_url": "http://127.0.0.1:8124",
        "emulator_log": "/repo/.run/logs/demo-emulator.log",
    }


def test_a_banner_without_the_emulator_fails_the_step(tmp_path):
    text = "\n".join(line for line in BANNER.splitlines() if not line.startswith("Kommo:"))

    with pytest.raises(SmokeStepError, match="no emulator"):
        run_with_output(text, tmp_path).banner()


def test_the_emulator_token_is_read_from_the_emulator_log(tmp_path):
    log = tmp_path / "demo-emulator.log"
    log.write_text("url=http://127.0.0.1:8124\nlong_lived_token=abc.def\n")
    run = run_with_output(BANNER.replace("/repo/.run/logs/demo-emulator.log", str(log)), tmp_path)

    assert run.emulator_token() == "abc.def"


def test_a_start_stuck_while_configuring_points_at_the_configure_log(tmp_path):
    run = run_with_output(
        "starting the Kommo emulator on port 8124\nconfiguring the demo inside Odoo\n"
        "demo: created the missing Kommo fields (vehicle, plate, order number ...)\n",
        tmp_path,
    )

    assert run._phase_log() == run_smoke_process.LOGS / "demo-configure.log"


def test_a_postgresql_found_running_is_not_the_run_commands_own(tmp_path):
    run = run_with_output("PostgreSQL: the local server on the default socket\n", tmp_path)

    assert run._started_postmaster() is None


def test_an_embedded_postgresql_it_started_is_watched_by_its_pid(tmp_path):
    (tmp_path / "postmaster.pid").write_text("4242\n/data\n")
    run = run_with_output(
        f"PostgreSQL: embedded PostgreSQL (pgserver, data in {tmp_path})\n", tmp_path
    )

    assert run._started_postmaster() == 4242


@pytest.mark.skipif(not shutil.which("pg_lsclusters"), reason="Debian's postgresql-common")
def test_a_debian_cluster_it_started_is_watched_by_its_postmaster_pid(tmp_path):
    listing = subprocess.run(
        ["pg_lsclusters", "--no-header"], capture_output=True, text=True, check=True
    ).stdout.split()
    if len(listing) < 6 or not (Path(listing[5]) / "postmaster.pid").exists():
        pytest.skip("no running Debian cluster to read")
    version, name, data = listing[0], listing[1], Path(listing[5])
    run = run_with_output(f"pg_ctlcluster {version} {name} start\n", tmp_path)

    assert run._started_postmaster() == int((data / "postmaster.pid").read_text().split()[0])


def test_the_lead_moves_to_the_next_open_stage():
    statuses = [
        {"id": 143, "sort": 10002},
        {"id": 11, "sort": 10},
        {"id": 12, "sort": 20},
        {"id": 142, "sort": 10001},
        {"id": 13, "sort": 30},
    ]

    assert next_stage(statuses, 11) == 12
    assert next_stage(statuses, 13) == 12  # the last open stage: one back, never won / lost
    assert next_stage(statuses, 142) == 11


def test_a_note_is_compared_with_the_diagnosis_as_text():
    assert plain_text("<p>Troca de pastilhas &amp; discos;\n luz acesa.</p>") == (
        "Troca de pastilhas & discos; luz acesa."
    )
    assert plain_text(False) == ""


@pytest.mark.skipif(not Path("/proc/self").exists(), reason="reads /proc (Linux)")
def test_children_are_found_and_seen_gone():
    sleeper = "import time; time.sleep(30)"
    spawner = f"import subprocess, sys; subprocess.Popen([sys.executable, '-c', {sleeper!r}]); "
    parent = subprocess.Popen([sys.executable, "-c", spawner + sleeper])
    try:
        deadline = time.monotonic() + 10
        while not (children := descendants(parent.pid)) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(children) == 1
        (child,) = children
        assert alive(child)
    finally:
        for pid in (*children, parent.pid):
            os.kill(pid, signal.SIGTERM)
        parent.wait(5)
    deadline = time.monotonic() + 10
    while alive(child) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not alive(child)
