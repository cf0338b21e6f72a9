"""The numbers a benchmark prints: lower bounds of a scenario and the report lines."""

from __future__ import annotations

import math
from dataclasses import dataclass

from bench_data import twin_count

CONTACTS_PER_PAGE = 250
ENTITIES_PER_WRITE = 50
TARGET_RATIO = 1.2


@dataclass(frozen=True)
class Bound:
    """The fewest calls a scenario needs, and so its shortest time at ``rate`` calls/s."""

    parts: tuple[tuple[str, int], ...]  # (what, calls)
    rate: float

    @property
    def calls(self) -> int:
        return sum(calls for _what, calls in self.parts)

    @property
    def seconds(self) -> float:
        return self.calls / self.rate

    def describe(self) -> str:
        parts = " + ".join(f"{calls} {what}" for what, calls in self.parts if calls)
        return f"{self.calls} calls / {self.rate:g} per s = {self.seconds:.1f} s ({parts})"


def first_sync_bound(orders: int, customers: int, contacts: int, rate: float) -> Bound:
    """Every customer must be looked up (the cheaper of reading all contacts 250 a page or one
    search per customer), every order created 50 a call, every diagnosis added 50 a call."""
    pages = math.ceil(contacts / CONTACTS_PER_PAGE)
    lookup = ("contact pages", pages) if pages <= customers else ("contact searches", customers)
    writes = math.ceil(orders / ENTITIES_PER_WRITE)
    return Bound((lookup, ("complex creates", writes), ("note batches", writes)), rate)


def update_bound(changed: int, notes_changed: int, rate: float) -> Bound:
    return Bound(
        (
            ("lead PATCHes", math.ceil(changed / ENTITIES_PER_WRITE)),
            ("note batches", math.ceil(notes_changed / ENTITIES_PER_WRITE)),
        ),
        rate,
    )


def mb(kb: int) -> str:
    return f"{kb / 1024:.0f} MB"


def verdict(ok: bool) -> str:
    return "OK" if ok else "FAILED"


class Report:
    """Aligned ``label  value  [verdict]`` lines; remembers whether every check passed."""

    def __init__(self) -> None:
        self.all_ok = True

    def title(self, text: str) -> None:
        print(f"\n== {text} ==", flush=True)

    def line(self, label: str, value: object, indent: int = 2) -> None:
        print(f"{' ' * indent}{label:<{40 - indent}} {value}", flush=True)

    def check(self, label: str, value: object, ok: bool) -> None:
        self.all_ok &= ok
        self.line(label, f"{value!s:<28} {verdict(ok)}", indent=4)

    def calls(self, stats, orders: int) -> None:
        self.line("Kommo calls", stats.total)
        for endpoint, count in stats.by_endpoint.items():
            low, high = stats.spans[endpoint]
            detail = f"sent from {low:.1f} s to {high:.1f} s"
            if endpoint in stats.items:
                fewest, most = stats.items[endpoint]
                detail += f", {fewest}-{most} items a call"
            self.line(endpoint, f"{count:<6} ({detail})", indent=4)
        statuses = ", ".join(f"{status}: {n}" for status, n in sorted(stats.by_status.items()))
        self.line("HTTP statuses", statuses)
        self.line("calls per order", f"{stats.total / orders:.4f}" if orders else "-")
        self.line(
            "most calls within 1 s",
            f"{stats.busiest_second} (Kommo allows 7; first to last call {stats.seconds:.1f} s)",
        )

    def timing(
        self,
        seconds: float,
        bound: Bound,
        floor_ratio: float | None = None,
        target: float | None = TARGET_RATIO,
    ) -> float:
        ratio = seconds / bound.seconds if bound.seconds else float("inf")
        self.line("wall seconds", f"{seconds:.1f}")
        self.line("lower bound", bound.describe())
        met = "met" if target is not None and ratio <= target else "MISSED"
        self.line(
            "wall / bound", f"{ratio:.2f}" + (f" (target <= {target}: {met})" if target else "")
        )
        if floor_ratio is not None:
            self.line(
                "throttle floor",
                f"{bound.seconds * floor_ratio:.1f} s = {floor_ratio:.2f}x bound (the client's "
                f"throttle: {bound.rate:g} calls per {floor_ratio:.2f} s window)",
            )
        return ratio


def first_sync_checks(report: Report, check, orders: int, customers: int) -> None:
    """What Kommo must hold after the first sync (``check``: bench_emulator.SyncCheck): one
    lead per order, linked to its customer's contact; known customers matched, the others
    created once; one note per lead."""
    twins = twin_count(customers)
    report.check("leads in Kommo == N", f"{check.leads} == {orders}", check.leads == orders)
    report.check("orders without a lead", check.orders_without_lead, not check.orders_without_lead)
    report.check(
        "orders with several leads",
        check.orders_with_several_leads,
        not check.orders_with_several_leads,
    )
    report.check(
        "leads not linked to their customer",
        check.leads_without_the_customer_contact,
        not check.leads_without_the_customer_contact,
    )
    report.check(
        "matched == customers in Kommo",
        f"{check.seeded_contacts_linked} == {twins}",
        check.seeded_contacts_linked == twins,
    )
    report.check(
        "contacts created == M - matched",
        f"{check.contacts_created} == {customers - twins}",
        check.contacts_created == customers - twins,
    )
    report.check(
        "phones on several contacts",
        check.phones_on_several_contacts,
        not check.phones_on_several_contacts,
    )
    report.check(
        "notes == N, one per lead",
        f"{check.notes} == {orders}",
        check.notes == orders and not check.leads_with_several_notes,
    )


def odoo_states_check(report: Report, states: dict, orders: int) -> None:
    synced = states.get("synced", 0)
    report.check(
        "Odoo: synced / pending / error",
        f"{synced} / {states.get('pending', 0)} / {states.get('error', 0)}",
        synced == orders and sum(states.values()) == orders,
    )
