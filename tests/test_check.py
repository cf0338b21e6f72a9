"""``python -m kommo_api.check`` against the emulator: read-only, --write, failures, secrecy."""

import io
import os
import subprocess
import sys

import pytest

from kommo_api.check import LOST, MARK, main
from kommo_api.testing import KommoEmulator

FAST = {"client_options": {"max_retries": 0, "sleep": lambda seconds: None}}


def run(*argv, **kwargs):
    out = io.StringIO()
    code = main(list(argv), out=out, env={}, **{**FAST, **kwargs})
    return code, out.getvalue().splitlines()


def by_step(lines):
    return {line.split(":", 1)[0].split(" ", 1)[1]: line for line in lines}


@pytest.fixture
def token_file(emulator, tmp_path):
    path = tmp_path / "token.txt"
    path.write_text(emulator.issue_long_lived_token() + "\n", encoding="utf-8")
    return str(path)


@pytest.fixture
def fields(emulator):
    return (emulator.add_custom_field("leads", "Placa", "text"),
            emulator.add_custom_field("leads", "Km", "numeric"))  # fmt: skip


def test_the_read_only_check_passes_on_the_emulator(emulator, token_file):
    code, lines = run("--host", emulator.host, "--token-file", token_file)

    assert code == 0, lines
    steps = by_step(lines)
    assert list(steps) == ["token", "account", "pipelines", "lead custom fields", "contacts page",
                           "empty search", "webhooks", "readings"]  # fmt: skip
    assert all(line.startswith("ok ") for line in lines)
    assert "subdomain acme" in steps["account"]
    assert "empty result=204" in steps["readings"]
    assert f"api_domain claim={emulator.host}" in steps["readings"]
    assert [call.method for call in emulator.log] == ["GET"] * 6


def test_the_write_check_creates_links_notes_moves_and_closes(emulator, token_file, fields):
    code, lines = run("--host", emulator.host, "--token-file", token_file, "--write",
                      "--search-wait", "0")  # fmt: skip

    assert code == 0, lines
    steps = by_step(lines)
    assert "phone search=digits" in steps["readings"]
    assert "numeric values=" in steps["readings"]
    assert "cannot delete" in steps["clean up"]
    (lead,) = [lead for lead in emulator.store.leads.values() if lead["name"] == MARK]
    assert lead["status_id"] == LOST
    (contact,) = [c for c in emulator.store.contacts.values() if c["name"] == MARK]
    assert contact["id"] in emulator.store.lead_contacts[lead["id"]]
    assert [c.path for c in emulator.calls("POST") if c.path.endswith("notes")]


def test_the_check_reports_an_exact_only_phone_search():
    with KommoEmulator(phone_search="exact") as emu:
        token = emu.issue_long_lived_token()
        code, lines = run("--host", emu.host, "--token", token, "--write", "--search-wait", "0")

    assert code == 0, lines
    assert "phone search=exact text only" in by_step(lines)["readings"]
    assert "all digits missed" in by_step(lines)["phone search"]


def test_a_refused_token_fails_every_step_without_showing_it(emulator):
    code, lines = run("--host", emulator.host, "--token", "not-a-valid-token-" + "x" * 60,
                      "--write", "--search-wait", "0")  # fmt: skip

    assert code == 1
    steps = by_step(lines)
    assert steps["account"].startswith("FAIL account: KommoTokenRevoked")
    assert steps["phone search"] == "FAIL phone search: not run: the account could not be read"
    assert len(emulator.log) == 1
    assert all("not-a-valid-token" not in line for line in lines)


@pytest.mark.parametrize(
    "argv",
    [[], ["--host", "evil.example", "--token", "t"], ["--host", "acme.kommo.com"],
     ["--host", "acme.kommo.com", "--token-file", "/nonexistent/token"]],
)  # fmt: skip
def test_a_wrong_command_line_exits_2(argv):
    code, lines = run(*argv)

    assert code == 2
    assert lines[0].startswith("FAIL arguments:")


def test_the_command_runs_as_a_module_with_the_token_from_the_environment(emulator):
    token = emulator.issue_long_lived_token()
    env = {**os.environ, "KOMMO_TOKEN": token}

    done = subprocess.run(
        [sys.executable, "-m", "kommo_api.check", "--host", emulator.host],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip

    assert done.returncode == 0, done.stdout + done.stderr
    assert "ok account:" in done.stdout
    assert token not in done.stdout + done.stderr
