"""The Kommo emulator of a benchmark, in a process of its own.

Its own process keeps its memory (50,000 contacts, the request log) out of the Odoo process's
peak RSS, and its request handling off the Odoo process's GIL, as with a real, remote Kommo.
The parent talks to it through a pipe: the emulator's request log and store never leave the
child; only counts and checks come back.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import re
import resource
import time
from collections import Counter
from dataclasses import dataclass, field

from bench_data import kommo_contacts

_ID_SEGMENT = re.compile(r"/\d+(?=/|$)")
API_PREFIX = "/api/"  # Kommo's rate limit counts these; token calls are apart


@dataclass
class CallStats:
    """The emulator's log since it was last cleared."""

    total: int
    by_endpoint: dict[str, int]
    by_status: dict[int, int]
    seconds: float  # from the first request's arrival to the last one's
    busiest_second: int  # most API requests that arrived within any 1-second window
    first_at: float | None  # the first request's arrival (time.monotonic(), system-wide)
    spans: dict[str, tuple[float, float]]  # endpoint -> first and last arrival, from first_at
    items: dict[str, tuple[int, int]]  # write endpoint -> fewest and most entities in one call
    faults: dict[str, int] = field(default_factory=dict)  # injected fault kind -> requests
    faults_by_endpoint: dict[str, int] = field(default_factory=dict)
    token_statuses: dict[int, int] = field(default_factory=dict)  # of POST /oauth2/access_token
    # The API calls of the busiest second: (seconds from the first call, endpoint, status, fault)
    busiest_calls: list[tuple] = field(default_factory=list)


@dataclass
class SyncCheck:
    """What the emulator holds after a sync, compared with what Odoo sent."""

    leads: int
    orders_without_lead: int
    orders_with_several_leads: int
    leads_without_the_customer_contact: int
    contacts_created: int
    seeded_contacts_linked: int
    phones_on_several_contacts: int
    notes: int
    leads_with_several_notes: int
    problems: list[str] = field(default_factory=list)


def endpoint_of(entry) -> str:
    """``METHOD /path`` with ids as {id}; a search (``?query=``) is told apart from a list."""
    search = "?query=" if "query" in entry.query else ""
    return f"{entry.method} {_ID_SEGMENT.sub('/{id}', entry.path)}{search}"


def busiest_second(times: list[float]) -> tuple[int, int]:
    """The most of ``times`` (sorted) within any 1-second window, and the window's first."""
    best, first, start = 0, 0, 0
    for end, moment in enumerate(times):
        while moment - times[start] >= 1.0:
            start += 1
        if end - start + 1 > best:
            best, first = end - start + 1, start
    return best, first


# --- the child process ------------------------------------------------------------------------


class _Child:
    def __init__(self, options: dict):
        from kommo_api.testing import KommoEmulator  # noqa: PLC0415 - only in the child

        self.emu = KommoEmulator(rate_limit=options["rate_limit"], port=options["port"])
        started = time.monotonic()
        contacts = kommo_contacts(options["contacts"], options["customers"], options["seed"])
        self.seeded_ids = set(self.emu.add_contacts_bulk(contacts))
        self.seed_seconds = time.monotonic() - started
        self.emu.start()

    def info(self) -> dict:
        return {
            "host": self.emu.host,
            "token": self.emu.issue_long_lived_token(),
            "contacts": len(self.seeded_ids),
            "seed_seconds": self.seed_seconds,
        }

    def oauth_app(self) -> dict:
        """An integration and an authorization code for it, as Kommo's consent page gives."""
        app = self.emu.register_app()
        code = self.emu.issue_auth_code(app.client_id)
        return {"client_id": app.client_id, "client_secret": app.client_secret, "code": code}

    def inject_random(self, rate: float, seed: int) -> None:
        """A ``rate`` of the API calls fail from now on (0: none), as any recoverable kind."""
        self.emu.faults.inject_random(rate, seed=seed, path=API_PREFIX)

    def clear_log(self) -> None:
        self.emu.clear_log()
        self.emu.unblock()

    def calls(self) -> CallStats:
        log = list(self.emu.log)
        times = sorted(entry.time for entry in log)
        first = times[0] if times else None
        spans: dict[str, tuple[float, float]] = {}
        for entry in log:
            endpoint = endpoint_of(entry)
            low, high = spans.get(endpoint, (entry.time, entry.time))
            spans[endpoint] = (min(low, entry.time), max(high, entry.time))
        items: dict[str, tuple[int, int]] = {}
        for entry in log:
            if isinstance(entry.json, list):
                endpoint = endpoint_of(entry)
                low, high = items.get(endpoint, (len(entry.json), len(entry.json)))
                items[endpoint] = (min(low, len(entry.json)), max(high, len(entry.json)))
        faulted = [entry for entry in log if entry.fault]
        api = sorted(
            (entry for entry in log if entry.path.startswith(API_PREFIX)), key=lambda e: e.time
        )
        busiest, start = busiest_second([entry.time for entry in api])
        return CallStats(
            total=len(log),
            by_endpoint=dict(Counter(endpoint_of(entry) for entry in log).most_common()),
            by_status=dict(Counter(entry.status for entry in log)),
            seconds=times[-1] - times[0] if times else 0.0,
            busiest_second=busiest,
            first_at=first,
            spans={key: (low - first, high - first) for key, (low, high) in spans.items()},
            items=items,
            faults=dict(Counter(entry.fault for entry in faulted).most_common()),
            faults_by_endpoint=dict(Counter(endpoint_of(entry) for entry in faulted).most_common()),
            token_statuses=dict(
                Counter(entry.status for entry in log if not entry.path.startswith(API_PREFIX))
            ),
            busiest_calls=[
                (entry.time - first, endpoint_of(entry), entry.status, entry.fault)
                for entry in api[start : start + busiest]
            ],
        )

    def peak_rss_kb(self) -> int:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    def check(self, expected_phones: dict[str, str], order_field_id: int | None) -> SyncCheck:
        """``expected_phones``: order reference -> the customer's phone (E.164)."""
        from kommo_api.phones import try_normalize_phone  # noqa: PLC0415

        store = self.emu.store
        with store.lock:
            contact_phones = {
                cid: {try_normalize_phone(p) for p in _phones(contact)} - {None}
                for cid, contact in store.contacts.items()
            }
            leads_by_order: dict[str, list[int]] = {}
            for lead in store.leads.values():
                ref = _order_ref(lead, order_field_id)
                leads_by_order.setdefault(ref, []).append(lead["id"])
            wrong_contact = 0
            for ref, lead_ids in leads_by_order.items():
                for lead_id in lead_ids:
                    linked = store.lead_contacts.get(lead_id, [])
                    phones = [contact_phones.get(cid, set()) for cid in linked]
                    if len(linked) != 1 or expected_phones.get(ref) not in phones[0]:
                        wrong_contact += 1
            notes_per_lead = Counter(
                note["entity_id"] for note in store.notes.values() if note.get("_entity") == "leads"
            )
            holders = Counter(phone for phones in contact_phones.values() for phone in phones)
            return SyncCheck(
                leads=len(store.leads),
                orders_without_lead=len(set(expected_phones) - set(leads_by_order)),
                orders_with_several_leads=sum(1 for ids in leads_by_order.values() if len(ids) > 1),
                leads_without_the_customer_contact=wrong_contact,
                contacts_created=len(store.contacts) - len(self.seeded_ids),
                seeded_contacts_linked=sum(
                    1 for cid in self.seeded_ids if store.contact_leads.get(cid)
                ),
                phones_on_several_contacts=sum(1 for n in holders.values() if n > 1),
                notes=sum(notes_per_lead.values()),
                leads_with_several_notes=sum(1 for n in notes_per_lead.values() if n > 1),
                problems=[ref for ref in leads_by_order if ref not in expected_phones][:5],
            )


def _phones(contact: dict) -> list[str]:
    return [
        value.get("value", "")
        for cf in contact.get("custom_fields_values") or ()
        if cf.get("field_code") == "PHONE"
        for value in cf.get("values") or ()
    ]


def _order_ref(lead: dict, order_field_id: int | None) -> str:
    for cf in lead.get("custom_fields_values") or ():
        if cf.get("field_id") == order_field_id and cf.get("values"):
            return str(cf["values"][0].get("value"))
    return lead.get("name") or ""


def _serve(conn, options: dict) -> None:
    child = _Child(options)
    try:
        while True:
            command, kwargs = conn.recv()
            if command == "stop":
                break
            try:
                conn.send(("ok", getattr(child, command)(**kwargs)))
            except Exception as exc:  # the parent raises it; the emulator stays up
                conn.send(("error", repr(exc)))
    finally:
        child.emu.stop()
        conn.close()


# --- the parent's handle ----------------------------------------------------------------------


class EmulatorProcess:
    """``with EmulatorProcess(contacts=..., customers=...) as emu: emu.call("calls")``."""

    def __init__(self, *, contacts: int, customers: int, seed: int, rate_limit=7, port=0):
        self.options = {
            "contacts": contacts,
            "customers": customers,
            "seed": seed,
            "rate_limit": rate_limit,
            "port": port,
        }
        self._conn = None
        self._process = None

    def __enter__(self) -> EmulatorProcess:
        context = multiprocessing.get_context("spawn")
        self._conn, child_conn = context.Pipe()
        self._process = context.Process(
            target=_serve, args=(child_conn, self.options), name="kommo-emulator", daemon=True
        )
        self._process.start()
        child_conn.close()
        return self

    def call(self, command: str, **kwargs):
        self._conn.send((command, kwargs))
        status, value = self._conn.recv()
        if status != "ok":
            raise RuntimeError(f"the emulator process failed on {command}: {value}")
        return value

    def __exit__(self, *exc_info) -> None:
        with contextlib.suppress(OSError):  # already gone
            self._conn.send(("stop", {}))
        self._process.join(timeout=10)
        if self._process.is_alive():
            self._process.terminate()
            self._process.join(timeout=5)
