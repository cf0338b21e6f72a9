#!/usr/bin/env python3
"""Benchmark of the Kommo webhook receiver under a burst (issue 9): N Kommo deliveries, plus a
tenth as many redeliveries, posted by C clients at once to an Odoo server of its own, next to
the same load on Odoo's own /web/manifest.webmanifest; threaded and in prefork. Then checks
over SQL that every delivery is stored exactly once, and times applying them all with the
processing cron. See bench/README.md.

    .venv/bin/python bench/webhook_load.py                     # N=2000, C=50, both modes
    .venv/bin/python bench/webhook_load.py --deliveries 200 --concurrency 20 --reuse
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass

from bench_odoo import (
    BenchOdoo,
    BenchSetupError,
    add_database_options,
    clone_database,
    close_odoo,
    drop_database,
    load_odoo,
    prepared_bench,
    say,
)
from bench_report import Report
from odoo_proc import raise_on_sigterm
from webhook_client import Call, LoadResult, run_load
from webhook_seed import (
    BoundOrders,
    ProcessRun,
    check_stored,
    delivery_bodies,
    event_states,
    moved_bindings,
    process_stored,
    seed_bound_orders,
    with_duplicates,
)
from webhook_server import HOST, OdooServer

from kommo_api.testing import KommoEmulator

MANIFEST = "/web/manifest.webmanifest"
WEBHOOK = "/kommo/webhook"
KOMMO_HEADERS = (
    ("Content-Type", "application/x-www-form-urlencoded"),
    ("User-Agent", "amoCRM-WebHook-client/1.0"),
)
WARM_UP_CALLS = 40  # per route, unmeasured: first requests of a worker load caches
# The targets of issue 9 (printed, not asserted: they depend on the machine).
TARGET_THROUGHPUT_SHARE = 0.8  # webhook answers/s >= 80% of the manifest's
TARGET_P99_RATIO = 1.5  # webhook p99 <= 1.5 x the manifest's
TARGET_P99_SECONDS = 1.0  # and under a second: Kommo waits about 2 s
TARGET_PROCESS_SECONDS_PER_2000 = 60.0


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    load = parser.add_argument_group("load")
    load.add_argument("--deliveries", type=int, default=2000, help="N distinct deliveries (2000)")
    load.add_argument("--duplicates", type=float, default=0.1, help="redeliveries per N (0.1)")
    load.add_argument("--concurrency", type=int, default=50, help="C clients at once (50)")
    load.add_argument(
        "--modes",
        default="threaded,prefork",
        help="threaded (workers = 0) and/or prefork (--workers), comma-separated (both)",
    )
    load.add_argument("--workers", type=int, default=4, help="prefork workers (4)")
    load.add_argument("--db-maxconn", type=int, default=64, help="Odoo's db_maxconn (64)")
    load.add_argument("--seed", type=int, default=1, help="random seed of the data (1)")
    limits = parser.add_argument_group("limits (seconds)")
    limits.add_argument("--request-timeout", type=float, default=30.0, help="per request (30)")
    limits.add_argument("--time-limit", type=float, default=300.0, help="per route load (300)")
    limits.add_argument("--process-limit", type=float, default=600.0, help="processing (600)")
    add_database_options(parser, "copies of it, <database>_webhooks*")
    args = parser.parse_args(argv)
    args.modes = [mode.strip() for mode in args.modes.split(",") if mode.strip()]
    if not args.modes or set(args.modes) - {"threaded", "prefork"}:
        parser.error("--modes takes threaded, prefork or both")
    if args.deliveries < 1 or args.concurrency < 1 or args.workers < 1:
        parser.error("--deliveries, --concurrency and --workers must be at least 1")
    return args


@dataclass
class Scenario:
    """What every mode works with."""

    args: argparse.Namespace
    bench: BenchOdoo
    seeded_db: str
    bound: BoundOrders
    distinct: list[str]  # the N deliveries
    sequence: list[str]  # as posted: with the redeliveries
    report: Report


@dataclass
class ModeRun:
    """One server mode's numbers, for the targets."""

    mode: str
    manifest: LoadResult
    webhook: LoadResult
    processing: ProcessRun | None = None


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    raise_on_sigterm()  # Ctrl-C / SIGTERM unwind through the `with` that stops Odoo
    try:
        return run_benchmark(prepared_bench(args), args)
    except BenchSetupError as exc:
        say(f"*** benchmark not run: {exc} ***")
        return 2
    except KeyboardInterrupt:  # Odoo was stopped and the databases dropped on the way out
        say("*** benchmark interrupted ***")
        return 130


def run_benchmark(bench: BenchOdoo, args: argparse.Namespace) -> int:
    seeded_db = f"{bench.base_db}_webhooks"
    try:
        bound = seed(bench, seeded_db, args)
        distinct = delivery_bodies(bound)
        sequence = with_duplicates(distinct, args.duplicates, args.seed)
        report = Report()
        print_setup(report, args, bound, len(sequence), seeded_db)
        scenario = Scenario(args, bench, seeded_db, bound, distinct, sequence, report)
        runs = [run_mode(scenario, mode) for mode in args.modes]
        print_targets(report, runs, args.deliveries)
        report.title("verdict: " + ("all checks passed" if report.all_ok else "CHECKS FAILED"))
        return 0 if report.all_ok else 1
    finally:
        if not args.keep_db:
            drop_database(bench.pg, seeded_db)


def seed(bench: BenchOdoo, db: str, args: argparse.Namespace) -> BoundOrders:
    """A copy of the addon's database with a connected account and N bound orders; the Kommo
    emulator (in this process) serves only the connection and the pipelines' discovery."""
    drop_database(bench.pg, db)
    clone_database(bench.pg, bench.base_db, db)
    say(f"seeding {args.deliveries} bound repair orders into {db}")
    registry = open_registry(bench, db)
    try:
        with KommoEmulator(seed="demo", rate_limit=None) as emu:
            token = emu.issue_long_lived_token()
            return seed_bound_orders(registry, emu.host, token, args.deliveries, args.seed)
    finally:
        close_odoo(db)  # no connection may stay: the database is the template of each mode's


def open_registry(bench: BenchOdoo, db: str):
    """``db``'s registry in this process. Odoo's configuration can be parsed once a process
    (a second parse_config fails), so only the first database goes through load_odoo."""
    if "odoo.modules.registry" not in sys.modules:
        return load_odoo(bench.tree, bench.conf, db)
    from odoo.modules.registry import Registry  # noqa: PLC0415 - Odoo is loaded by now

    return Registry(db)


def print_setup(report: Report, args, bound: BoundOrders, posts: int, db: str) -> None:
    report.title("Kommo webhook load benchmark")
    report.line(
        "deliveries",
        f"{args.deliveries} distinct status_lead deliveries + {posts - args.deliveries} "
        f"redeliveries interleaved = {posts} POSTs, {args.concurrency} clients at once",
    )
    report.line("each delivery", "moves one bound lead: " + " -> ".join(bound.stage_names))
    report.line("baseline", f"the same {posts} requests on GET {MANIFEST}, same clients")
    report.line("connections", "one per request (Connection: close), as Kommo and a proxy")
    report.line("database", f"each mode on a fresh copy of {db}")
    for what, seconds in bound.seconds.items():
        report.line(f"seeding: {what}", f"{seconds:.1f} s")
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    report.line("machine", f"{os.cpu_count()} cores, load average {load} (before the runs)")


def run_mode(scenario: Scenario, mode: str) -> ModeRun:
    """Both loads on a fresh copy of the seeded database, then the checks and processing."""
    args, bench, report = scenario.args, scenario.bench, scenario.report
    sequence = scenario.sequence
    db = f"{scenario.seeded_db}_{mode}"
    drop_database(bench.pg, db)
    clone_database(bench.pg, scenario.seeded_db, db)
    workers = args.workers if mode == "prefork" else 0
    path = f"{WEBHOOK}/{scenario.bound.secret}"
    try:
        with OdooServer(bench, db, workers, args.db_maxconn) as server:
            report.title(
                f"{server.mode}: {len(sequence)} requests a route, {args.concurrency} clients, "
                f"db_maxconn {args.db_maxconn}, no cron thread"
            )
            if workers > (os.cpu_count() or 1):
                report.line(
                    "note",
                    f"{workers} workers share {os.cpu_count()} cores with the clients and "
                    "PostgreSQL",
                )
            warm_up(server, args.concurrency)
            manifest = timed_load(server, [Call("GET", MANIFEST)] * len(sequence), args)
            posts = [Call("POST", path, body.encode(), KOMMO_HEADERS) for body in sequence]
            webhook = timed_load(server, posts, args)
        run = ModeRun(server.mode, manifest, webhook)
        print_loads(report, run)
        conn = bench.pg.connect(db)
        try:
            check_store(report, conn, scenario, run.webhook)
            run.processing = process(scenario, db, conn)
        finally:
            conn.close()
        return run
    finally:
        if not args.keep_db:
            drop_database(bench.pg, db)


def warm_up(server: OdooServer, concurrency: int) -> None:
    """Unmeasured requests of both routes (the webhook's with an unknown secret, refused with
    403 before anything is stored): a new worker loads its caches on its first requests."""
    refused = Call("POST", f"{WEBHOOK}/warm-up", b"account[id]=1", KOMMO_HEADERS)
    calls = [Call("GET", MANIFEST), refused] * WARM_UP_CALLS
    run_load(HOST, server.port, calls, min(concurrency, 10), timeout=30, time_limit=120)
    if not server.alive():
        raise BenchSetupError(f"Odoo stopped while warming up; see {server.log}")


def timed_load(server: OdooServer, calls: list[Call], args) -> LoadResult:
    cpu_before, log_before = server.cpu_seconds(), server.log_size()
    result = run_load(
        HOST,
        server.port,
        calls,
        args.concurrency,
        timeout=args.request_timeout,
        time_limit=args.time_limit,
    )
    cpu_after = server.cpu_seconds()
    if cpu_before is not None and cpu_after is not None:
        result.server_cpu = cpu_after - cpu_before
    # The route without the secret: the access log masks it.
    route = "/".join(calls[0].path.split("/")[:3])
    result.server_log = server.request_log(log_before, route)
    return result


def print_loads(report: Report, run: ModeRun) -> None:
    report.line("route", "answers/s  p50 ms  p95 ms  p99 ms  non-2xx  Odoo CPU/answer  drops")
    for label, result in ((f"GET {MANIFEST}", run.manifest), (f"POST {WEBHOOK}/***", run.webhook)):
        cpu = f"{1000 * result.server_cpu / result.answered:.1f} ms" if result.server_cpu else "?"
        drops = "?" if result.listen_overflows is None else result.listen_overflows
        report.line(
            label,
            f"{result.rate:9.1f}  {ms(result, 0.5):>6}  {ms(result, 0.95):>6}  "
            f"{ms(result, 0.99):>6}  {sum(result.failures.values()):>7}  {cpu:>15}  {drops:>5}",
        )
        for outcome, count in result.failures.items():
            report.line(f"non-2xx: {outcome}", count, indent=4)
        if result.server_log:
            report.line("Odoo's log", result.server_log.describe(), indent=4)
    report.line(
        "webhook / manifest",
        f"throughput {share(run.webhook.rate, run.manifest.rate)}, "
        f"p99 {share(run.webhook.percentile(0.99), run.manifest.percentile(0.99))}",
    )
    report.line("", "(drops: connections the kernel dropped, its listen queue full)")


def ms(result: LoadResult, quantile: float) -> str:
    value = result.percentile(quantile)
    return f"{1000 * value:.0f}" if value != float("inf") else "-"


def share(value: float, base: float) -> str:
    return f"{value / base:.2f}x" if base and value != float("inf") else "-"


def check_store(report: Report, conn, scenario: Scenario, webhook: LoadResult) -> None:
    distinct = scenario.distinct
    acknowledged = {
        body
        for body, outcome in zip(scenario.sequence, webhook.by_call, strict=True)
        if webhook.is_ok(outcome)
    }
    stored = check_stored(conn, distinct, scenario.bound.lead_ids, acknowledged)
    report.line("checks after the load (SQL)", "")
    report.check(
        "stored rows == distinct deliveries",
        f"{stored.rows} == {len(distinct)}",
        stored.rows == len(distinct),
    )
    report.check(
        "deliveries missing (by fingerprint)",
        stored.missing_fingerprints,
        not stored.missing_fingerprints,
    )
    report.check(
        "... of them answered 2xx (lost)",
        stored.acknowledged_missing,
        not stored.acknowledged_missing,
    )
    report.check("rows that are no delivery", stored.unexpected_rows, not stored.unexpected_rows)
    report.check(
        "leads stored twice / missing",
        f"{stored.leads_stored_twice} / {stored.leads_missing}",
        not (stored.leads_stored_twice or stored.leads_missing),
    )
    report.check("rows by state", stored.states, stored.states == {"pending": len(distinct)})


def process(scenario: Scenario, db: str, conn) -> ProcessRun:
    """The processing cron until nothing is pending, in this process (the server is stopped:
    nothing else works on the database meanwhile)."""
    report, bench, bound, args = scenario.report, scenario.bench, scenario.bound, scenario.args
    registry = open_registry(bench, db)
    try:
        run = process_stored(registry, args.deliveries, args.process_limit)
    finally:
        close_odoo(db)
    states = event_states(conn)
    moved = moved_bindings(conn, bound)
    rate = run.applied / run.seconds if run.seconds else 0.0
    report.line(
        "processing (cron, this process)",
        f"{run.applied} events in {run.seconds:.1f} s ({rate:.0f}/s, {run.cron_runs} cron runs)",
    )
    if run.applied:
        report.line(
            "per event",
            f"{run.queries / run.applied:.0f} queries, {1000 * run.sql_seconds / run.applied:.1f}"
            f" ms in SQL, {1000 * (run.seconds - run.sql_seconds) / run.applied:.1f} ms elsewhere",
            indent=4,
        )
    done = states.get("done", 0)
    report.check("events done", f"{done} of {args.deliveries} {states}", done == args.deliveries)
    report.check(
        f"bindings moved to {bound.stage_names[1]}",
        f"{moved} of {args.deliveries}",
        moved == args.deliveries,
    )
    return run


def print_targets(report: Report, runs: list[ModeRun], deliveries: int) -> None:
    report.title("targets (issue 9; printed, not part of the exit code)")
    limit = TARGET_PROCESS_SECONDS_PER_2000 * deliveries / 2000
    missed = 0
    for run in runs:
        report.line(run.mode, "")
        manifest, webhook = run.manifest, run.webhook
        p99 = webhook.percentile(0.99)
        failures = sum(manifest.failures.values()), sum(webhook.failures.values())
        seconds = run.processing.seconds if run.processing else float("inf")
        for label, value, met in (
            (
                "0 non-2xx (manifest / webhook)",
                f"{failures[0]} / {failures[1]}",
                failures == (0, 0),
            ),
            (
                f"webhook answers/s >= {TARGET_THROUGHPUT_SHARE:.0%} of manifest",
                f"{webhook.rate:.1f} vs {manifest.rate:.1f} ({share(webhook.rate, manifest.rate)})",
                webhook.rate >= TARGET_THROUGHPUT_SHARE * manifest.rate,
            ),
            (
                f"webhook p99 <= {TARGET_P99_RATIO}x manifest p99",
                f"{ms(webhook, 0.99)} vs {ms(manifest, 0.99)} ms",
                p99 <= TARGET_P99_RATIO * manifest.percentile(0.99),
            ),
            (f"webhook p99 < {TARGET_P99_SECONDS:.0f} s", f"{p99:.3f} s", p99 < TARGET_P99_SECONDS),
            (f"processing {deliveries} < {limit:.0f} s", f"{seconds:.1f} s", seconds < limit),
        ):
            missed += not met
            report.line(label, f"{value:<28} {'met' if met else 'MISSED'}", indent=4)
    report.line("targets", "all met" if not missed else f"{missed} MISSED")


if __name__ == "__main__":
    sys.exit(main())
