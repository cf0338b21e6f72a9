"""Check a real Kommo account against what kommo_api and its emulator assume.

    python -m kommo_api.check --host acme.kommo.com --token-file token.txt [--write]

The token is a long-lived token of a private integration (``--token``, ``--token-file`` or the
environment variable ``KOMMO_TOKEN``); it is never printed. Read-only by default: the account,
its pipelines, the lead custom fields, one page of contacts, an empty search and the webhooks.
``--write`` also creates a contact (a Brazilian mobile number) and a lead with custom field
values, links them, adds a note and moves the lead to another stage. Kommo's API v4 cannot delete
leads or contacts (the official PHP library has no delete for either), so the check closes its
lead as lost (143) and names both "kommo_connector check - delete me" for a person to delete.

Each step prints one line, ``ok|FAIL step: detail``; the ``reading`` lines say how this account
answered where Kommo's documentation is silent (CONTRACT.md marks those UNCONFIRMED). The exit
code is 1 when a step failed, 2 when the command line is wrong. CI runs it against the emulator
(tests/test_check.py).
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .client import Exchange, KommoClient
from .errors import KommoError, redact
from .hosts import is_loopback, normalize_host
from .oauth import LongLivedTokenStore, jwt_claims

MARK = "kommo_connector check - delete me"
WON, LOST = 142, 143
FIELD_TYPES = ("text", "numeric")


class Skipped(Exception):  # noqa: N818 - a step that could not run, not an error of its own
    """A step that needs what an earlier step failed to give."""


class Check:
    """The steps, in order; each prints its line and keeps what later steps need."""

    def __init__(self, client: KommoClient, out, token: str, search_wait: float = 10.0, sleep=None):
        self.client = client
        self.out = out
        self.token = token
        self.search_wait = search_wait
        self.sleep = sleep or time.sleep
        self.failed = 0
        self.readings: dict[str, str] = {}
        self.exchanges: list[Exchange] = []
        self.pipeline: dict | None = None
        self.fields: list[dict] = []
        self.contact_id: int | None = None
        self.phone: str | None = None
        self.lead_id: int | None = None
        self.sent_values: dict[int, Any] = {}

    # -- running ---------------------------------------------------------------------------

    def step(self, name: str, action: Callable[[], str]) -> bool:
        try:
            detail, ok = action(), True
        except Skipped as exc:
            detail, ok = f"not run: {exc}", False
        except (KommoError, ValueError, LookupError, TypeError) as exc:
            detail, ok = f"{type(exc).__name__}: {exc}", False
        self.failed += not ok
        line = f"{'ok' if ok else 'FAIL'} {name}: {detail}"
        # Kommo's tokens are long; a shorter value is no token, and masking it would garble.
        print(redact(line, [self.token] if len(self.token) >= 8 else []), file=self.out, flush=True)
        return ok

    def run(self, write: bool) -> None:
        """The read-only steps, then (``write``) the writing ones; once the account cannot be
        read, the other steps are reported as not run rather than failing one by one."""
        self.step("token", self.token_claims)
        reachable = self.step("account", self.account)
        steps = [
            ("pipelines", self.pipelines),
            ("lead custom fields", self.lead_fields),
            ("contacts page", self.contacts_page),
            ("empty search", self.empty_search),
            ("webhooks", self.webhooks),
        ]
        if write:
            steps += [
                ("create contact", self.create_contact),
                ("phone search", self.phone_search),
                ("create lead", self.create_lead),
                ("link contact", self.link_contact),
                ("custom field values", self.field_values),
                ("add note", self.add_note),
                ("move stage", self.move_stage),
                ("clean up", self.clean_up),
            ]
        for name, action in steps:
            self.step(name, action if reachable else _unreachable)

    def summary(self) -> None:
        readings = "; ".join(f"{key}={value}" for key, value in self.readings.items())
        self.step("readings", lambda: readings or "none observed")

    # -- read-only steps -------------------------------------------------------------------

    def token_claims(self) -> str:
        claims = jwt_claims(self.token)
        if not claims:
            self.readings["token kind"] = "opaque"
            return "not a JWT (no expiry or api_domain to read)"
        exp = claims.get("exp")
        expires = (
            datetime.fromtimestamp(exp, timezone.utc).date().isoformat()
            if isinstance(exp, int | float)
            else "unknown"
        )
        api_domain = claims.get("api_domain")
        self.readings["api_domain claim"] = api_domain or "absent"
        return f"a JWT, expires {expires}, api_domain {api_domain or 'absent'}"

    def account(self) -> str:
        account = self.client.get_account()
        subdomain = account.get("subdomain")
        note = ""
        first_label = self.client.host.split(".", 1)[0]
        if not is_loopback(self.client.host) and subdomain and subdomain != first_label:
            note = f" (the host says {first_label}: renamed, or reached through a redirect)"
        return f"{account.get('name')!r}, subdomain {subdomain}, id {account.get('id')}{note}"

    def pipelines(self) -> str:
        pipelines = self.client.get_pipelines()
        if not pipelines:
            raise LookupError("the account has no pipeline")
        for pipeline in pipelines:
            ids = {status.get("id") for status in _statuses(pipeline)}
            if not {WON, LOST} <= ids:
                raise LookupError(f"pipeline {pipeline.get('id')} lacks stage 142 or 143")
        self.pipeline = next((p for p in pipelines if p.get("is_main")), pipelines[0])
        stages = len(_open_stages(self.pipeline))
        return (
            f"{len(pipelines)} pipeline(s), each with 142 and 143; main {self.pipeline.get('id')} "
            f"{self.pipeline.get('name')!r} with {stages} open stage(s)"
        )

    def lead_fields(self) -> str:
        self.fields = list(self.client.iter_custom_fields("leads"))
        kinds: dict[str, int] = {}
        for field in self.fields:
            kinds[str(field.get("type"))] = kinds.get(str(field.get("type")), 0) + 1
        listed = ", ".join(f"{count} {kind}" for kind, count in sorted(kinds.items()))
        return f"{len(self.fields)} field(s){': ' + listed if listed else ''}"

    def contacts_page(self) -> str:
        page = self.client.contacts_page(1, limit=5)
        more = ", more pages follow" if page.has_next else ""
        return f"{len(page.items)} contact(s) on the first page of 5{more}"

    def empty_search(self) -> str:
        before = len(self.exchanges)
        self.client.request("GET", "/api/v4/contacts", params={"query": f"kc-{uuid.uuid4().hex}"})
        status = self.exchanges[-1].status if len(self.exchanges) > before else None
        self.readings["empty result"] = str(status)
        return f"a search matching nothing answered {status} (204 No Content expected)"

    def webhooks(self) -> str:
        hooks = self.client.list_webhooks()
        disabled = [hook.get("destination") for hook in hooks if hook.get("disabled")]
        text = f"{len(hooks)} webhook(s)"
        return text + (f", DISABLED: {', '.join(map(str, disabled))}" if disabled else "")

    # -- write steps -----------------------------------------------------------------------

    def create_contact(self) -> str:
        rest = f"{random.randint(0, 99_999_999):08d}"  # noqa: S311 - a test number, not a secret
        self.phone = f"+55 11 9{rest[:4]}-{rest[4:]}"
        contact = {
            "name": MARK,
            "custom_fields_values": [
                {"field_code": "PHONE", "values": [{"value": self.phone, "enum_code": "MOB"}]}
            ],
        }
        (created,) = self.client.create_contacts([contact])
        self.contact_id = int(created["id"])
        return f"contact {self.contact_id} with phone {self.phone!r}"

    def phone_search(self) -> str:
        if self.contact_id is None:
            raise Skipped("no contact was created")
        digits = "".join(ch for ch in self.phone if ch.isdigit())
        queries = {"exact text": self.phone, "all digits": digits, "national": digits[2:]}
        deadline = time.monotonic() + self.search_wait
        while True:
            found = {name: self._finds(query) for name, query in queries.items()}
            if any(found.values()) or time.monotonic() >= deadline:
                break
            self.sleep(1.0)  # Kommo's search index may lag behind a create
        if not any(found.values()):
            raise LookupError(f"no search found the new contact within {self.search_wait:g} s")
        self.readings["phone search"] = "digits" if found["all digits"] else "exact text only"
        return "; ".join(f"{name} {'found' if hit else 'missed'}" for name, hit in found.items())

    def _finds(self, query: str) -> bool:
        return any(c.get("id") == self.contact_id for c in self.client.search_contacts(query))

    def create_lead(self) -> str:
        if self.pipeline is None:
            raise Skipped("no pipeline was read")
        stage = _open_stages(self.pipeline)[0]
        lead = {"name": MARK, "pipeline_id": self.pipeline["id"], "status_id": stage["id"]}
        values = self._field_values()
        if values:
            lead["custom_fields_values"] = values
        (created,) = self.client.create_leads([lead])
        self.lead_id = int(created["id"])
        sent = ", ".join(f"{fid}={value!r}" for fid, value in self.sent_values.items())
        return f"lead {self.lead_id} in stage {stage['id']}" + (
            f" with {sent}" if sent else " (no text or numeric lead field to fill)"
        )

    def _field_values(self) -> list[dict]:
        samples = {"text": "kommo_connector check", "numeric": 42}
        values = []
        for kind in FIELD_TYPES:
            field = next(
                (f for f in self.fields if f.get("type") == kind and not f.get("is_computed")),
                None,
            )
            if field is not None:
                self.sent_values[int(field["id"])] = samples[kind]
                values.append({"field_id": field["id"], "values": [{"value": samples[kind]}]})
        return values

    def link_contact(self) -> str:
        if self.lead_id is None or self.contact_id is None:
            raise Skipped("no lead or no contact was created")
        pair = (self.lead_id, self.contact_id)
        if hasattr(self.client, "link_contacts"):
            self.client.link_contacts([pair])
        else:  # pragma: no cover - a client before link_contacts
            item = {"to_entity_id": self.contact_id, "to_entity_type": "contacts"}
            self.client.request("POST", f"/api/v4/leads/{self.lead_id}/link", json=[item])
        lead = self._lead(with_="contacts")
        linked = [c.get("id") for c in (lead.get("_embedded") or {}).get("contacts") or []]
        if self.contact_id not in linked:
            raise LookupError(f"the lead's contacts are {linked}, not the new contact")
        return f"lead {self.lead_id} now lists contact {self.contact_id}"

    def field_values(self) -> str:
        if self.lead_id is None:
            raise Skipped("no lead was created")
        if not self.sent_values:
            return "nothing sent, nothing to compare"
        read = {
            int(entry["field_id"]): entry["values"][0].get("value")
            for entry in self._lead().get("custom_fields_values") or []
            if entry.get("values")
        }
        seen = []
        for field_id, sent in self.sent_values.items():
            back = read.get(field_id)
            if str(back) != str(sent):
                raise LookupError(f"field {field_id}: sent {sent!r}, read {back!r}")
            seen.append(f"{field_id}: {back!r} ({type(back).__name__})")
            if isinstance(sent, int):
                self.readings["numeric values"] = "strings" if isinstance(back, str) else "numbers"
        return "read back " + ", ".join(seen)

    def add_note(self) -> str:
        if self.lead_id is None:
            raise Skipped("no lead was created")
        note = {"entity_id": self.lead_id, "note_type": "common",
                "params": {"text": f"{MARK}: a note from the check"}}  # fmt: skip
        (created,) = self.client.add_lead_notes([note])
        return f"note {created.get('id')} on lead {self.lead_id}"

    def move_stage(self) -> str:
        if self.lead_id is None:
            raise Skipped("no lead was created")
        stages = _open_stages(self.pipeline)
        if len(stages) < 2:
            return "the pipeline has one open stage only: nothing to move to"
        target = stages[1]["id"]
        self.client.update_leads([{"id": self.lead_id, "status_id": target}])
        status = self._lead().get("status_id")
        if status != target:
            raise LookupError(f"the lead is in stage {status}, not {target}")
        return f"lead {self.lead_id} moved to stage {target}"

    def clean_up(self) -> str:
        if self.lead_id is None and self.contact_id is None:
            raise Skipped("nothing was created")
        if self.lead_id is not None:
            self.client.update_leads([{"id": self.lead_id, "status_id": LOST}])
        made = ", ".join(
            f"{what} {ident}"
            for what, ident in (("lead", self.lead_id), ("contact", self.contact_id))
            if ident is not None
        )
        return (
            f"Kommo's API v4 cannot delete leads or contacts: {made} named {MARK!r} "
            f"(the lead closed as lost, {LOST}); delete them in Kommo"
        )

    def _lead(self, with_=None) -> dict:
        lead = self.client.get_lead(self.lead_id, with_=with_)
        if lead is None:
            raise LookupError(f"lead {self.lead_id} cannot be read back")
        return lead


def _unreachable() -> str:
    raise Skipped("the account could not be read")


def _statuses(pipeline: dict) -> list[dict]:
    return list((pipeline.get("_embedded") or {}).get("statuses") or [])


def _open_stages(pipeline: dict | None) -> list[dict]:
    stages = [s for s in _statuses(pipeline or {}) if s.get("id") not in (WON, LOST)]
    if not stages:
        raise LookupError("the main pipeline has no open stage")
    return sorted(stages, key=lambda s: (s.get("sort", 0), s.get("id", 0)))


def _parser(env) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m kommo_api.check", description=__doc__.split("\n\n")[0]
    )
    add = parser.add_argument
    add("--host", default=env.get("KOMMO_HOST"), help="e.g. acme.kommo.com (KOMMO_HOST)")
    add("--token", help="a long-lived token (prefer --token-file or KOMMO_TOKEN)")
    add("--token-file", type=Path, help="a file holding the long-lived token")
    add("--write", action="store_true", help="also create, link, note and move test records")
    add("--search-wait", type=float, default=10.0, help="seconds for search to find a new contact")
    return parser


def _token(args, env) -> str | None:
    if args.token:
        return args.token.strip()
    if args.token_file:
        return args.token_file.read_text(encoding="utf-8").strip()
    return (env.get("KOMMO_TOKEN") or "").strip() or None


def main(argv=None, out=None, env=None, client_options: dict | None = None) -> int:
    out = out or sys.stdout
    env = os.environ if env is None else env
    parser = _parser(env)
    args = parser.parse_args(argv)
    try:
        host = normalize_host(args.host or "")
        token = _token(args, env)
    except (ValueError, OSError) as exc:
        print(f"FAIL arguments: {exc}", file=out)
        return 2
    if not token:
        print("FAIL arguments: no token (--token, --token-file or KOMMO_TOKEN)", file=out)
        return 2
    check = Check(None, out, token, search_wait=args.search_wait)
    options = {"max_retries": 2, **(client_options or {})}
    check.client = KommoClient(
        host, LongLivedTokenStore(token), on_exchange=check.exchanges.append, **options
    )
    check.run(write=args.write)
    check.summary()
    return 1 if check.failed else 0


if __name__ == "__main__":
    sys.exit(main())
