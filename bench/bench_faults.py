"""The first sync with Kommo failing (issue 9, item 6): a fraction of the API calls fail, each
as one of the faults a client must get over by itself (500, 502, a timeout answered 504, 429,
401 with a good refresh, a dropped connection, an answer lost after Kommo applied the write),
while one or several push workers run the cron until nothing is pending.

Orders that failed wait for their backoff (1/5/15/60/240 min) in production; the bench makes
them due again after each cron run (``bench_push.make_retries_due``) and says how often.
"""

from __future__ import annotations

from bench_push import (
    FAULT_STALL_ROUNDS,
    Retries,
    binding_states,
    push_in_workers,
    set_claim_limit,
    sync_log_rows,
)
from bench_report import Report, first_sync_bound, first_sync_checks, odoo_states_check

# After a creation without an answer, the push looks its leads up: a search per order by its
# reference, or one read of the leads changed since (the bench runs no reconciliation).
SEARCH = "GET /api/v4/leads?query="
SCAN = "GET /api/v4/leads"
REFRESH_CALL = "POST /oauth2/access_token"


def faulty_first_sync(run) -> None:
    """``run``: push_first_sync.BenchRun. Prints the calls, what the faults cost, the fault
    kinds injected and the checks."""
    report, args, emu = run.report, run.args, run.emu
    before = binding_states(run.registry)
    log_before = sync_log_rows(run.registry)
    claim_limit = set_claim_limit(run.registry, args.claim_limit)
    emu.call("clear_log")
    emu.call("inject_random", rate=args.faults, seed=args.fault_seed)
    try:
        pushes = push_in_workers(
            run.bench.tree,
            run.bench.conf,
            run.bench.run_db,
            workers=args.workers,
            retries=Retries(skip_backoff=True, stall_rounds=FAULT_STALL_ROUNDS),
        )
    finally:
        emu.call("inject_random", rate=0, seed=0)
    stats = emu.call("calls")
    check = run.check()
    workers = (
        "one push worker (an Odoo process of its own)"
        if args.workers == 1
        else f"{args.workers} push workers at once (Odoo processes of their own)"
    )
    report.title(
        f"first sync, {args.faults:.0%} of Kommo's API calls failing, {workers}, "
        f"push cron until nothing is pending"
    )
    report.line("orders pending before", before.get("pending", 0))
    report.line("orders a cron run takes", f"{claim_limit} (kommo_connector.push_claim_limit)")
    _workers(report, pushes)
    report.calls(stats, args.orders)
    bound = first_sync_bound(args.orders, args.customers, args.contacts, args.rate)
    _faults(report, stats, bound)
    report.timing(max(push.seconds for push in pushes), bound, target=None)
    report.line("sync log rows written", sync_log_rows(run.registry) - log_before)
    report.line("checks", "")
    first_sync_checks(report, check, args.orders, args.customers)
    real_429 = stats.by_status.get(429, 0) - stats.faults.get("429", 0)
    report.check("429 answers not injected", real_429, not real_429)
    report.check("most API calls within 1 s <= 7", stats.busiest_second, stats.busiest_second <= 7)
    if stats.busiest_second > 7:
        for moment, endpoint, status, fault in stats.busiest_calls:
            report.line(f"{moment:.3f} s", f"{endpoint} {status} {fault or ''}", indent=6)
    failed_refreshes = sum(n for status, n in stats.token_statuses.items() if status != 200)
    report.check("token refreshes refused", failed_refreshes, not failed_refreshes)
    crashes = [crash for push in pushes for crash in push.crashes]
    first = f" (the first: {crashes[0]})" if crashes else ""
    report.check("cron runs that raised", f"{len(crashes)}{first}", not crashes)
    odoo_states_check(report, binding_states(run.registry), args.orders)


def _workers(report: Report, pushes) -> None:
    for number, push in enumerate(pushes, 1):
        report.line(
            f"push worker {number}",
            f"{push.cron_runs} cron runs, {push.pushed} orders synced, {push.seconds:.1f} s",
        )
    made_due = sum(push.made_due for push in pushes)
    sent_again = sum(push.sent_again for push in pushes)
    report.line(
        "retries made due at once",
        f"{made_due} (no waiting for the 1/5/15/60/240 min backoff: when no order is due, "
        f"the bench sets next_attempt_at = NULL in SQL)",
    )
    report.line(
        "sent again after the last attempt",
        f"{sent_again} (orders in error after 5 attempts, through the binding's "
        f"'Send again', action_kommo_retry)",
    )


def _faults(report: Report, stats, bound) -> None:
    injected = sum(stats.faults.values())
    api_calls = stats.total - stats.by_endpoint.get(REFRESH_CALL, 0)
    kinds = ", ".join(f"{kind}: {count}" for kind, count in stats.faults.items())
    report.line("faults injected", f"{injected} of {api_calls} API calls ({kinds or 'none'})")
    for endpoint, count in stats.faults_by_endpoint.items():
        report.line(endpoint, count, indent=4)
    refreshes = ", ".join(f"{status}: {n}" for status, n in sorted(stats.token_statuses.items()))
    report.line(
        "token refreshes",
        f"{stats.by_endpoint.get(REFRESH_CALL, 0)} ({refreshes or 'none'}); "
        f"401 injected: {stats.faults.get('401', 0)}",
    )
    extra = api_calls - bound.calls
    searches, scans = (
        stats.by_endpoint.get(endpoint, 0) - stats.faults_by_endpoint.get(endpoint, 0)
        for endpoint in (SEARCH, SCAN)
    )
    report.line(
        "extra calls the faults cost",
        f"{extra} API calls over the {bound.calls} of the lower bound: {injected} failed, "
        f"{searches + scans} answered lookups of leads after a creation without an answer "
        f"({searches} searches by order reference, {scans} reads of the leads changed since), "
        f"{extra - injected - searches - scans} other calls sent or read again",
    )
