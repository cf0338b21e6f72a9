#!/usr/bin/env python3
"""Benchmark of the first sync (issue 4, item 7): N repair orders of M customers pushed by the
push cron to a Kommo emulator holding K contacts, with Kommo's 7 requests/s limit on.

Prints the Kommo calls (total and per endpoint), calls per order, wall seconds, the scenario's
lower bound (calls / 7 per s) and the ratio, the peak RSS of the Odoo process and of the
emulator, and checks the result (one lead per order, customers matched not duplicated...).
A second phase changes some orders and pushes again. See bench/README.md.

    .venv/bin/python bench/push_first_sync.py                       # N=10000 M=8000 K=50000
    .venv/bin/python bench/push_first_sync.py --orders 500 --customers 400 --contacts 2500
    .venv/bin/python bench/push_first_sync.py --faults 0.2 --workers 2   # Kommo failing
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass

from bench_data import twin_count
from bench_emulator import EmulatorProcess
from bench_faults import faulty_first_sync
from bench_odoo import (
    BenchOdoo,
    BenchSetupError,
    add_database_options,
    close_odoo,
    drop_database,
    fresh_run_database,
    load_odoo,
    prepared_bench,
    say,
)
from bench_push import RssWatch, binding_states, push_engine_present, push_in_worker
from bench_report import (
    Report,
    first_sync_bound,
    first_sync_checks,
    mb,
    odoo_states_check,
    update_bound,
)
from bench_seed import Seeded, connect_account, modify_orders, seed_orders

from kommo_api import RATE_LIMIT_PERIOD, KommoClient, LongLivedTokenStore, SlidingWindowThrottle


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    size = parser.add_argument_group("scenario")
    size.add_argument("--orders", type=int, default=10_000, help="N repair orders (10000)")
    size.add_argument("--customers", type=int, default=8_000, help="M distinct customers (8000)")
    size.add_argument("--contacts", type=int, default=50_000, help="K Kommo contacts (50000)")
    size.add_argument(
        "--modify",
        type=int,
        help="orders changed for the second push (default: a tenth of --orders; 0: none)",
    )
    size.add_argument("--rate", type=int, default=7, help="Kommo's requests per second (7)")
    size.add_argument("--seed", type=int, default=1, help="random seed of the data (1)")
    faults = parser.add_argument_group("faults (bench_faults.py)")
    faults.add_argument(
        "--faults",
        type=float,
        default=0.0,
        help="fraction of Kommo's API calls that fail, as random recoverable faults (0); "
        "the account connects with OAuth, so a 401 is followed by a refresh",
    )
    faults.add_argument(
        "--workers", type=int, default=1, help="push workers (OS processes) running at once (1)"
    )
    faults.add_argument("--fault-seed", type=int, default=1, help="random seed of the faults (1)")
    faults.add_argument(
        "--claim-limit",
        type=int,
        help="orders a cron run takes (kommo_connector.push_claim_limit; default: the addon's "
        "with one worker, N / workers with several, so that every worker has a share)",
    )
    add_database_options(parser, "the copy <database>_run")
    run = parser.add_argument_group("how")
    run.add_argument("--emulator-port", type=int, default=0, help="0: any free port")
    run.add_argument(
        "--emulator-only",
        action="store_true",
        help="no Odoo: time kommo_api's client reading the K contacts (the paging floor)",
    )
    args = parser.parse_args(argv)
    if not 0 <= args.faults < 1 or args.workers < 1:
        parser.error("--faults must be in [0, 1) and --workers at least 1")
    if args.modify is None:
        args.modify = 0 if args.faults else args.orders // 10
    if args.claim_limit is None and args.workers > 1:
        args.claim_limit = -(-args.orders // args.workers)
    if args.customers > args.orders:
        parser.error("--customers cannot exceed --orders (every customer has an order)")
    if twin_count(args.customers) > args.contacts:
        parser.error("--contacts must hold the half of the customers that Kommo knows")
    return args


@dataclass
class BenchRun:
    """What a phase of the benchmark works with."""

    args: argparse.Namespace
    bench: BenchOdoo
    registry: object  # odoo.modules.registry.Registry
    emu: EmulatorProcess
    seeded: Seeded
    report: Report

    def push(self):
        return push_in_worker(self.bench.tree, self.bench.conf, self.bench.run_db)

    def check(self):
        return self.emu.call(
            "check",
            expected_phones=self.seeded.expected_phones,
            order_field_id=self.seeded.order_field_id,
        )


def emulator(args: argparse.Namespace) -> EmulatorProcess:
    return EmulatorProcess(
        contacts=args.contacts,
        customers=args.customers,
        seed=args.seed,
        rate_limit=args.rate,
        port=args.emulator_port,
    )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        if args.emulator_only:
            return page_contacts_only(args)
        return run_benchmark(args)
    except BenchSetupError as exc:
        say(f"*** benchmark not run: {exc} ***")
        return 2


def run_benchmark(args: argparse.Namespace) -> int:
    bench = prepared_bench(args)
    run_db = fresh_run_database(bench)
    loaded = False
    try:
        with emulator(args) as emu:
            info = emu.call("info")
            registry = load_odoo(bench.tree, bench.conf, run_db)
            loaded = True
            oauth = emu.call("oauth_app") if args.faults else None
            seeded = connect_account(registry, info["host"], info["token"], oauth)
            seed_orders(registry, seeded, args.orders, args.customers, args.seed)
            report = Report()
            print_setup(report, args, info, seeded, run_db)
            if not push_engine_present(registry):
                report.line("push", "the push engine (kommo.lead.binding._cron_push) is missing")
                return 1
            run = BenchRun(args, bench, registry, emu, seeded, report)
            if args.faults or args.workers > 1:
                faulty_first_sync(run)
            else:
                first_sync(run)
            if args.modify:
                second_push(run)
            report.title("verdict: " + ("all checks passed" if report.all_ok else "CHECKS FAILED"))
            return 0 if report.all_ok else 1
    finally:
        if loaded:
            close_odoo(run_db)
        if args.keep_db:
            say(f"kept database {run_db}")
        else:
            drop_database(bench.pg, run_db)


def print_setup(report: Report, args, info: dict, seeded, run_db: str) -> None:
    twins = twin_count(args.customers)
    report.title("Kommo push benchmark")
    report.line(
        "scenario",
        f"N={args.orders} orders, M={args.customers} customers ({twins} already in Kommo, phone "
        f"written in another format), K={args.contacts} Kommo contacts, {args.rate} requests/s",
    )
    report.line("database", f"{run_db} (a fresh copy of {args.database})")
    report.line(
        "Kommo connection",
        "OAuth (a refused access token is refreshed)" if args.faults else "long-lived token",
    )
    report.line(
        "emulator", f"own process, {info['contacts']} contacts in {info['seed_seconds']:.1f} s"
    )
    for what, seconds in seeded.seconds.items():
        report.line(f"seeding: {what}", f"{seconds:.1f} s")
    rate = args.orders / seeded.seconds["repair orders"]
    report.line("seeding speed", f"{rate:.0f} orders/s (ORM, batches of 1000, tracking off)")


def _throttle_floor() -> float:
    from odoo.addons.kommo_connector import const  # noqa: PLC0415 - Odoo is loaded by now

    return (RATE_LIMIT_PERIOD + const.THROTTLE_MARGIN) / RATE_LIMIT_PERIOD


def first_sync(run: BenchRun) -> None:
    report, args, registry, emu = run.report, run.args, run.registry, run.emu
    before = binding_states(registry)
    emu.call("clear_log")
    push = run.push()
    stats = emu.call("calls")
    check = run.check()
    report.title(f"first sync: push cron until nothing is pending ({push.cron_runs} cron runs)")
    report.line("orders pending before", before.get("pending", 0))
    report.calls(stats, args.orders)
    bound = first_sync_bound(args.orders, args.customers, args.contacts, args.rate)
    report.timing(push.seconds, bound, _throttle_floor())
    _before_first_call(report, push, stats)
    report.line(
        "peak RSS Odoo push worker",
        f"{mb(push.peak_rss_kb)} during the push ({mb(push.rss_before_kb)} with the registry "
        f"loaded, before it; worker's lifetime peak {mb(push.peak_rss_kb_overall)})",
    )
    report.line("peak RSS emulator", mb(emu.call("peak_rss_kb")))
    report.line("sync log rows written", push.log_rows)
    report.line("checks", "")
    first_sync_checks(report, check, args.orders, args.customers)
    report.check("429 answers", stats.by_status.get(429, 0), not stats.by_status.get(429))
    odoo_states_check(report, push.states, args.orders)


def _before_first_call(report: Report, push, stats) -> None:
    if stats.first_at is not None:
        idle = stats.first_at - push.started_at
        report.line("before the first call", f"{idle:.1f} s (claiming, reading the customers)")


def second_push(run: BenchRun) -> None:
    report, args, registry, emu = run.report, run.args, run.registry, run.emu
    started = time.monotonic()
    changed, notes_changed = modify_orders(registry, run.seeded, args.modify)
    modify_seconds = time.monotonic() - started
    pending = binding_states(registry).get("pending", 0)
    emu.call("clear_log")
    push = run.push()
    stats = emu.call("calls")
    check = run.check()
    report.title(
        f"second push: {changed} orders got a new plate, {notes_changed} of them a new "
        f"diagnosis ({modify_seconds:.1f} s to change them)"
    )
    report.line("orders pending before", pending)
    report.calls(stats, changed)
    report.timing(push.seconds, update_bound(changed, notes_changed, args.rate))
    _before_first_call(report, push, stats)
    report.line("checks", "")
    report.check(
        "calls per changed order <= 1", f"{stats.total / changed:.3f}", stats.total <= changed
    )
    report.check("no new lead", f"{check.leads} == {args.orders}", check.leads == args.orders)
    report.check(
        "orders with several leads",
        check.orders_with_several_leads,
        not check.orders_with_several_leads,
    )
    expected_notes = args.orders + notes_changed
    report.check(
        "notes == N + changed diagnoses",
        f"{check.notes} == {expected_notes}",
        check.notes == expected_notes,
    )
    odoo_states_check(report, push.states, args.orders)


def page_contacts_only(args: argparse.Namespace) -> int:
    """The emulator alone: kommo_api's client reads every contact, 250 a page, at 7/s."""
    report = Report()
    with emulator(args) as emu:
        info = emu.call("info")
        throttle = SlidingWindowThrottle(max_calls=args.rate)
        client = KommoClient(info["host"], LongLivedTokenStore(info["token"]), throttle=throttle)
        rss = RssWatch()
        rss.reset()
        started = time.monotonic()
        read = sum(1 for _contact in client.iter_contacts(limit=250))
        seconds = time.monotonic() - started
        stats = emu.call("calls")
        report.title(f"emulator alone: kommo_api reads {args.contacts} contacts, 250 a page")
        report.line("contacts read", read)
        report.calls(stats, 0)
        bound = first_sync_bound(0, args.customers, args.contacts, args.rate)
        report.timing(seconds, bound, throttle.window)
        report.line("peak RSS client process", mb(rss.peak_kb()))
        report.line("peak RSS emulator", mb(emu.call("peak_rss_kb")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
