"""`python -m kommo_api.testing` serves a demo account until it is told to stop."""

import subprocess
import sys
import threading

import requests

from kommo_api.testing import DEMO_CLIENT_ID

STARTUP_TIMEOUT = 20


def read_startup(process):
    """key=value lines up to "Press Ctrl-C"; the process is killed if it never gets there."""
    watchdog = threading.Timer(STARTUP_TIMEOUT, process.kill)
    watchdog.start()
    try:
        values = {}
        for line in process.stdout:
            key, sep, value = line.strip().partition("=")
            if sep:
                values[key] = value
            if line.startswith("Press Ctrl-C"):
                break
        return values
    finally:
        watchdog.cancel()


def test_the_cli_serves_the_demo_account_until_terminated():
    command = [sys.executable, "-m", "kommo_api.testing", "--port", "0", "--seed", "demo"]
    command += ["--redirect-uri", "http://localhost:8069/kommo/oauth/callback"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        startup = read_startup(process)
        headers = {"Authorization": f"Bearer {startup['long_lived_token']}"}
        account = requests.get(startup["url"] + "/api/v4/account", headers=headers, timeout=10)
    finally:
        process.terminate()
        exit_code = process.wait(timeout=10)

    assert account.json()["name"] == "Oficina Demo"
    assert startup["host"] == startup["url"].removeprefix("http://")
    assert startup["client_id"] == DEMO_CLIENT_ID
    assert startup["redirect_uri"] == "http://localhost:8069/kommo/oauth/callback"
    assert exit_code == 0
