"""Which Kommo the demo talks to (run_demo.py): the emulator, or a real account from env vars.

The emulator is ``python -m kommo_api.testing`` in a child process; its start-up lines give
its URL, the demo OAuth app's client id / secret and a long-lived token. The OAuth code is
obtained the way a browser would: by answering "Allow" on the emulator's consent page.
"""

from __future__ import annotations

import re
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from subprocess import Popen

from odoo_env import REPO, say
from odoo_proc import Services

from kommo_api import KOMMO_AUTHORIZE_URL

EMULATOR_START_TIMEOUT = 30
# Start-up lines look like "client_id: 1234" or "Client secret = abc"; keys are normalised.
_KEY_VALUE_RE = re.compile(r"^\s*([A-Za-z][\w .-]*?)\s*[:=]\s*(\S+)\s*$")
_KEY_ALIASES = {
    "url": "url",
    "base_url": "url",
    "host": "host",
    "client_id": "client_id",
    "integration_id": "client_id",
    "client_secret": "client_secret",
    "secret": "client_secret",
    "secret_key": "client_secret",
    "long_lived_token": "long_lived_token",
    "token": "long_lived_token",
}


class KommoSetupError(Exception):
    pass


@dataclass
class EmulatorInfo:
    url: str
    host: str
    client_id: str
    client_secret: str = field(repr=False)
    long_lived_token: str | None = field(default=None, repr=False)
    process: Popen | None = field(default=None, repr=False)
    log: Path | None = None


def kommo_target(environ: Mapping[str, str]) -> dict:
    """{"mode": "emulator"} or the real account's settings from KOMMO_* variables."""
    host = environ.get("KOMMO_HOST", "").strip()
    if not host:
        return {"mode": "emulator"}
    token = environ.get("KOMMO_LONG_LIVED_TOKEN", "").strip()
    client_id = environ.get("KOMMO_CLIENT_ID", "").strip()
    secret = environ.get("KOMMO_CLIENT_SECRET", "").strip()
    target = {
        "mode": "real",
        "host": host,
        "authorize_url": environ.get("KOMMO_AUTHORIZE_URL", "").strip(),
    }
    if token:
        return {**target, "auth_mode": "long_lived", "long_lived_token": token}
    if client_id and secret:
        return {**target, "auth_mode": "oauth", "client_id": client_id, "client_secret": secret}
    raise KommoSetupError(
        "KOMMO_HOST is set: also set KOMMO_LONG_LIVED_TOKEN, or "
        "KOMMO_CLIENT_ID and KOMMO_CLIENT_SECRET (README: Running the demo)"
    )


def parse_startup_lines(text: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for line in text.splitlines():
        match = _KEY_VALUE_RE.match(line)
        if match:
            key = re.sub(r"[\s.-]+", "_", match.group(1).strip().lower())
            if key in _KEY_ALIASES:
                found.setdefault(_KEY_ALIASES[key], match.group(2))
    return found


def start_emulator(services: Services, port: int, odoo_base_url: str, logs: Path) -> EmulatorInfo:
    logs.mkdir(parents=True, exist_ok=True)
    log_path = logs / "demo-emulator.log"
    redirect_uri = f"{odoo_base_url}/kommo/oauth/callback"
    cmd = [
        sys.executable,
        "-u",
        "-m",
        "kommo_api.testing",
        "--port",
        str(port),
        "--seed",
        "demo",
        "--redirect-uri",
        redirect_uri,
    ]
    say(f"starting the Kommo emulator on port {port} (log: {log_path})")
    with log_path.open("w", encoding="utf-8") as log:
        proc = services.start("the Kommo emulator", cmd, cwd=REPO, stdout=log, stderr=log)
    deadline = time.monotonic() + EMULATOR_START_TIMEOUT
    while time.monotonic() < deadline:
        found = parse_startup_lines(log_path.read_text(encoding="utf-8", errors="replace"))
        if {"url", "client_id", "client_secret"} <= found.keys():
            url = found["url"].rstrip("/")
            host = found.get("host") or urllib.parse.urlsplit(url).netloc
            return EmulatorInfo(
                url,
                host,
                found["client_id"],
                found["client_secret"],
                found.get("long_lived_token"),
                proc,
                log_path,
            )
        if proc.poll() is not None:
            break
        time.sleep(0.2)
    raise KommoSetupError(
        f"the emulator did not print its url, client_id and client_secret "
        f"(is kommo_api.testing's CLI there?); see {log_path}"
    )


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def authorization_code(emulator: EmulatorInfo, redirect_uri: str) -> tuple[str, str]:
    """Press "Allow" on the emulator's consent page; returns (code, referer)."""
    form = urllib.parse.urlencode(
        {
            "client_id": emulator.client_id,
            "decision": "allow",
            "state": "make-run",
            "redirect_uri": redirect_uri,
        }
    ).encode()
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        opener.open(f"{emulator.url}/oauth/decision", data=form, timeout=10)
    except urllib.error.HTTPError as answer:
        location = answer.headers.get("Location", "")
    else:
        location = ""
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(location).query))
    if "code" not in query:
        raise KommoSetupError(f"the emulator's consent page gave no code (answer: {location!r})")
    return query["code"], query.get("referer") or emulator.host


def demo_settings(target: dict, emulator: EmulatorInfo | None, base_url: str) -> dict:
    """What demo_in_odoo.configure() needs, secrets included (sent on stdin, never printed)."""
    settings = {"base_url": base_url}
    if emulator is not None:
        code, referer = authorization_code(emulator, f"{base_url}/kommo/oauth/callback")
        return {
            **settings,
            "account_name": "Kommo emulator (demo)",
            "host": emulator.host,
            "auth_mode": "oauth",
            "client_id": emulator.client_id,
            "client_secret": emulator.client_secret,
            "authorize_url": f"{emulator.url}/oauth",
            "connect": "oauth_code",
            "code": code,
            "referer": referer,
            "create_fields": True,
            "register_webhook": True,
        }
    settings.update(
        {
            key: target.get(key)
            for key in ("host", "auth_mode", "client_id", "client_secret", "long_lived_token")
        }
    )
    settings["authorize_url"] = target.get("authorize_url") or KOMMO_AUTHORIZE_URL
    settings["account_name"] = f"Kommo ({target['host']})"
    # A real account is only read: creating fields in it and pointing its webhook at a
    # localhost URL are the administrator's decisions (buttons on the account form).
    settings["connect"] = "long_lived" if target["auth_mode"] == "long_lived" else "manual"
    return settings
