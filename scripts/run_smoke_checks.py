"""What run_smoke.py checks in a started demo: Odoo over JSON-RPC (as its web client calls
it), Kommo over the emulator's REST API (as a Kommo user would look at it)."""

from __future__ import annotations

import contextlib
import html
import re
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

from run_smoke_http import EmulatorApi, OdooRpc, SmokeHttpError, http_status
from run_smoke_process import LOGS, SmokeStepError

DEMO_TAG = "Kommo demo"  # scripts/demo_in_odoo.py tags its Brazilian repair orders so
CREATED_FIELD_ROLES = ("vehicle", "plate", "order_number")
CLOSED_STAGES = (142, 143)  # won / lost: every Kommo pipeline ends with them


def plain_text(value: str | bool) -> str:
    """An Html field's text, whitespace folded (what a note made from it contains)."""
    text = re.sub(r"<[^>]+>", " ", value or "")
    return " ".join(html.unescape(text).split())


def next_stage(statuses: list[dict], current: int) -> int | None:
    """The open stage after ``current`` in the pipeline (as a lead is dragged forward); the
    one before it when ``current`` is the last open one."""
    open_ids = [s["id"] for s in sorted(statuses, key=lambda s: s["sort"])]
    open_ids = [status_id for status_id in open_ids if status_id not in CLOSED_STAGES]
    if current not in open_ids:
        return open_ids[0] if open_ids else None
    at = open_ids.index(current)
    later, earlier = open_ids[at + 1 :], open_ids[:at]
    return (later or earlier[-1:] or [None])[0]


class RunChecks:
    def __init__(self, odoo_url: str, db: str, banner: dict[str, str], token: str) -> None:
        self.odoo_url = odoo_url
        self.db = db
        self.rpc = OdooRpc(odoo_url)
        self.kommo = EmulatorApi(banner["emulator_url"], token)
        self.emulator_host = urlsplit(banner["emulator_url"]).netloc
        self.odoo_port = urlsplit(banner["odoo_url"]).port
        self.odoo_log = LOGS / "demo-odoo.log"
        self.emulator_log = Path(banner["emulator_log"])
        self.company_id: int | None = None
        self.account: dict = {}
        self.field_ids: dict[str, int] = {}

    @contextlib.contextmanager
    def _asking(self, log: Path) -> Iterator[None]:
        """A request that fails fails the step, pointing at the server's log."""
        try:
            yield
        except SmokeHttpError as exc:
            raise SmokeStepError(str(exc), log) from exc

    def _fail(self, why: str, log: Path | None = None) -> SmokeStepError:
        return SmokeStepError(why, log or self.odoo_log)

    # -- Odoo is up -----------------------------------------------------------------------------

    def web_login(self) -> None:
        status = http_status(f"{self.odoo_url}/web/login")
        if status != 200:
            raise self._fail(f"GET {self.odoo_url}/web/login answered {status or 'nothing'}")

    def login(self) -> None:
        with self._asking(self.odoo_log):
            info = self.rpc.login(self.db, "admin", "admin")
        companies = info.get("user_companies") or {}
        self.company_id = companies.get("current_company") or info.get("company_id")

    # -- the Kommo account ----------------------------------------------------------------------

    def account_connected(self) -> None:
        with self._asking(self.odoo_log):
            accounts = self.rpc.search_read(
                "kommo.account",
                [("company_id", "=", self.company_id)],
                ["state", "host", "webhook_registered", "kommo_account_id", "last_error"],
                limit=1,
            )
        if not accounts:
            raise self._fail("the company has no Kommo account")
        account = self.account = accounts[0]
        if account["state"] != "connected":
            why = f"the Kommo account is {account['state']!r} (last error: {account['last_error']})"
            raise self._fail(why)
        if account["host"] != self.emulator_host:
            raise self._fail(f"the Kommo account points at {account['host']}, not the emulator")
        if not account["webhook_registered"]:
            raise self._fail("the Kommo account's webhook_registered is false")
        with self._asking(self.emulator_log):
            kommo_account = self.kommo.get("/api/v4/account")
            hooks = (self.kommo.get("/api/v4/webhooks") or {}).get("_embedded", {})
        if kommo_account["id"] != account["kommo_account_id"]:
            raise self._fail(
                f"Odoo knows Kommo account {account['kommo_account_id']}, the emulator "
                f"is {kommo_account['id']}"
            )
        ours = f":{self.odoo_port}/kommo/webhook/"
        if not any(
            ours in hook["destination"] and "status_lead" in hook["settings"]
            for hook in hooks.get("webhooks", [])
        ):
            raise self._fail(f"no webhook to {ours}... for status_lead in the emulator")

    def fields_created(self) -> None:
        with self._asking(self.odoo_log):
            maps = self.rpc.search_read(
                "kommo.field.map",
                [("account_id", "=", self.account["id"]), ("role", "in", CREATED_FIELD_ROLES)],
                ["role", "custom_field_id"],
            )
            bound = {
                fmap["role"]: fmap["custom_field_id"][0] for fmap in maps if fmap["custom_field_id"]
            }
            missing = [role for role in CREATED_FIELD_ROLES if role not in bound]
            if missing:
                raise self._fail(f"no Kommo field bound for {', '.join(missing)}")
            found = self.rpc.search_read(
                "kommo.custom.field", [("id", "in", list(bound.values()))], ["kommo_id", "name"]
            )
        by_id = {field["id"]: field for field in found}
        for role, field_id in bound.items():
            field = by_id[field_id]
            with self._asking(self.emulator_log):
                in_kommo = self.kommo.get(f"/api/v4/leads/custom_fields/{field['kommo_id']}")
            if not in_kommo:
                raise self._fail(f"the {role} field {field['name']!r} is not in the emulator")
            self.field_ids[role] = field["kommo_id"]

    # -- Sync Kommo ---------------------------------------------------------------------------

    def sync_demo_order(self) -> dict:
        """Press "Sync Kommo" on the first demo order; returns its binding as Odoo reads it."""
        with self._asking(self.odoo_log):
            orders = self.rpc.search_read(
                "repair.order",
                [("tag_ids.name", "=", DEMO_TAG)],
                ["name", "internal_notes"],
                order="id",
                limit=1,
            )
            if not orders:
                raise self._fail(f"no repair order tagged {DEMO_TAG!r}")
            order = orders[0]
            answer = self.rpc.call("repair.order", "action_kommo_sync", [order["id"]])
            shown = (answer or {}).get("params") or {}
            if shown.get("type") != "success":
                raise self._fail(
                    f"Sync Kommo on {order['name']} showed {shown.get('title')!r}: "
                    f"{shown.get('message')!r}"
                )
            bindings = self.rpc.search_read(
                "kommo.lead.binding",
                [("repair_id", "=", order["id"]), ("account_id", "=", self.account["id"])],
                ["kommo_lead_id", "kommo_contact_id", "kommo_pipeline_id", "kommo_status_id"],
            )
        if not bindings or not bindings[0]["kommo_lead_id"]:
            raise self._fail(f"Sync Kommo said success but {order['name']} has no Kommo lead")
        binding = bindings[0]
        self._lead_contact_note_in_kommo(order, binding)
        return binding

    def _lead_contact_note_in_kommo(self, order: dict, binding: dict) -> None:
        lead_id, contact_id = binding["kommo_lead_id"], binding["kommo_contact_id"]
        with self._asking(self.emulator_log):
            lead = self.kommo.get(f"/api/v4/leads/{lead_id}?with=contacts")
            contact = self.kommo.get(f"/api/v4/contacts/{contact_id}") if contact_id else None
            notes = self.kommo.get(f"/api/v4/leads/{lead_id}/notes") or {}
        if not lead:
            raise self._fail(f"lead {lead_id} of {order['name']} is not in the emulator")
        values = {
            value["field_id"]: [item.get("value") for item in value["values"]]
            for value in lead.get("custom_fields_values") or []
        }
        if order["name"] not in values.get(self.field_ids["order_number"], []):
            raise self._fail(f"lead {lead_id} does not carry the order number {order['name']}")
        linked = [ref["id"] for ref in lead["_embedded"].get("contacts", [])]
        if not contact or contact_id not in linked:
            raise self._fail(f"contact {contact_id} of lead {lead_id} is not in the emulator")
        diagnosis = plain_text(order["internal_notes"])
        texts = [
            plain_text(note["params"].get("text"))
            for note in notes.get("_embedded", {}).get("notes", [])
        ]
        if not any(diagnosis in text for text in texts):
            raise self._fail(f"lead {lead_id} has no note with the diagnosis {diagnosis!r}")

    # -- a stage change in Kommo --------------------------------------------------------------

    def stage_change_applied(self, binding: dict, timeout: float) -> None:
        """Move the lead in the emulator; Odoo must store and apply the webhook it sends.

        The new stage differs from the one Odoo knows and comes later than Odoo's push, so
        Odoo cannot take it for an echo of its own change.
        """
        lead_id = binding["kommo_lead_id"]
        with self._asking(self.emulator_log):
            pipeline = self.kommo.get(f"/api/v4/leads/pipelines/{binding['kommo_pipeline_id']}")
            target = next_stage(pipeline["_embedded"]["statuses"], binding["kommo_status_id"])
            if target is None:
                raise self._fail(f"pipeline {pipeline['id']} has no other open stage")
        with self._asking(self.odoo_log):
            before = self.rpc.search_read(
                "kommo.webhook.event", [], ["id"], order="id desc", limit=1
            )
        last_before = before[0]["id"] if before else 0
        with self._asking(self.emulator_log):
            self.kommo.patch(f"/api/v4/leads/{lead_id}", {"status_id": target})
        deadline = time.monotonic() + timeout
        while True:
            with self._asking(self.odoo_log):
                events = self.rpc.search_read(
                    "kommo.webhook.event",
                    [("id", ">", last_before), ("summary", "ilike", f"status_lead #{lead_id}")],
                    ["state", "reason"],
                )
                (now,) = self.rpc.search_read(
                    "kommo.lead.binding", [("id", "=", binding["id"])], ["kommo_status_id"]
                )
            if now["kommo_status_id"] == target and any(e["state"] == "done" for e in events):
                return
            if time.monotonic() > deadline:
                seen = "; ".join(f"{e['state']}: {e['reason']}" for e in events) or "none stored"
                raise self._fail(
                    f"{timeout:.0f} s after moving lead {lead_id} to stage {target} Odoo "
                    f"knows stage {now['kommo_status_id']}; status_lead deliveries: {seen}"
                )
            time.sleep(1)

    # -- the database of a later start --------------------------------------------------------

    def no_lead_bindings(self) -> None:
        """A fresh copy of the pristine database: the first start's sync is not in it."""
        with self._asking(self.odoo_log):
            count = self.rpc.call(
                "kommo.lead.binding", "search_count", [("kommo_lead_id", "!=", False)]
            )
        if count:
            raise self._fail(f"the database is not a fresh copy: {count} lead(s) bound already")

    def create_marker(self, name: str) -> None:
        with self._asking(self.odoo_log):
            self.rpc.call("repair.tags", "create", {"name": name})

    def marker_present(self, name: str) -> None:
        with self._asking(self.odoo_log):
            count = self.rpc.call("repair.tags", "search_count", [("name", "=", name)])
        if not count:
            raise self._fail(f"the repair tag {name!r} made before is gone: data not kept")
