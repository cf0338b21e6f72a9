"""Data and checks of the webhook benchmark: N repair orders bound to Kommo leads, the Kommo
deliveries that move those leads, and what Odoo stored and applied.

The orders are seeded as the push benchmark seeds them (bench_seed: through the ORM, the
connector's hooks on), then bound as a push leaves them (``kommo.lead.binding`` with a lead,
pipeline, stage and ``synced``; see kommo_connector/tests/common_inbound.py ``bind``). Leads
need not exist in Kommo: applying a stage move calls no Kommo API.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlencode

from bench_seed import connect_account, environment, seed_orders

from kommo_api import delivery_fingerprint

FIRST_LEAD_ID = 40_000_001  # made-up Kommo lead ids, far from the emulator's own
LEAD_KEY = "leads[status][0][id]"
# A redelivery comes soon after the first one (Kommo retries when its 2 s wait ran out), so
# some arrive while the first is still being stored: the concurrent-duplicate path.
DUPLICATE_WINDOW = 100
PROCESS_MODEL = "kommo.webhook.event"


@dataclass
class BoundOrders:
    """What the deliveries need to pass as Kommo's and to move bound leads."""

    secret: str
    kommo_account_id: int
    subdomain: str
    pipeline_id: int
    from_status: int  # the stage every lead is on
    to_status: int  # the stage every delivery moves its lead to
    stage_names: tuple[str, str]
    lead_ids: list[int]
    known_at: int  # the unix time the bindings know as the leads' last change
    seconds: dict[str, float] = field(default_factory=dict)


def seed_bound_orders(registry, host: str, token: str, count: int, seed: int) -> BoundOrders:
    """A connected account (on the emulator at ``host``) and ``count`` bound repair orders,
    every lead on the pipeline's first stage."""
    seeded = connect_account(registry, host, token)
    seed_orders(registry, seeded, count, max(1, count * 4 // 5), seed)
    started = time.monotonic()
    with registry.cursor() as cr:
        env = environment(cr)
        account = env["kommo.account"].browse(seeded.account_id).sudo()
        stages = account.pipeline_id.stage_ids.filtered(lambda stage: stage.kind == "normal")
        if len(stages) < 2 or not (account.kommo_account_id and account.webhook_secret):
            raise RuntimeError("the account lacks a pipeline of 2 stages, a Kommo id or a secret")
        first, second = stages[0], stages[1]
        known_at = int(time.time()) - 3600
        bindings = env["kommo.lead.binding"].search(
            [("account_id", "=", account.id), ("repair_id", "in", seeded.order_ids)], order="id"
        )
        bindings.write(
            {
                "kommo_pipeline_id": account.pipeline_id.kommo_id,
                "kommo_status_id": first.kommo_id,
                "kommo_updated_at": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(known_at)),
                "sync_state": "synced",
            }
        )
        lead_ids = [FIRST_LEAD_ID + n for n in range(len(bindings))]
        for binding, lead_id in zip(bindings, lead_ids, strict=True):
            binding.kommo_lead_id = lead_id
        bound = BoundOrders(
            secret=account.webhook_secret,
            kommo_account_id=account.kommo_account_id,
            subdomain=account.kommo_subdomain,
            pipeline_id=account.pipeline_id.kommo_id,
            from_status=first.kommo_id,
            to_status=second.kommo_id,
            stage_names=(first.name, second.name),
            lead_ids=lead_ids,
            known_at=known_at,
            seconds={**seeded.seconds},
        )
    bound.seconds["binding orders to leads"] = time.monotonic() - started
    return bound


def delivery_bodies(bound: BoundOrders) -> list[str]:
    """One status_lead delivery per bound lead, as Kommo sends it (form-encoded, the lead's
    item first, then the account), moving the lead to the second stage a minute after what
    Odoo knows."""
    return [
        urlencode(
            [
                (LEAD_KEY, lead_id),
                ("leads[status][0][status_id]", bound.to_status),
                ("leads[status][0][pipeline_id]", bound.pipeline_id),
                ("leads[status][0][old_status_id]", bound.from_status),
                ("leads[status][0][last_modified]", bound.known_at + 60),
                ("account[id]", bound.kommo_account_id),
                ("account[subdomain]", bound.subdomain),
            ]
        )
        for lead_id in bound.lead_ids
    ]


def with_duplicates(bodies: list[str], share: float, seed: int) -> list[str]:
    """``bodies`` in order with ``share`` x as many redeliveries interleaved, each a copy of
    one of the last DUPLICATE_WINDOW deliveries."""
    rng = random.Random(seed)  # noqa: S311 - made-up data, not secrets
    sequence, duplicates = [], 0
    for index, body in enumerate(bodies):
        sequence.append(body)
        while duplicates < round((index + 1) * share):
            sequence.append(bodies[rng.randint(max(0, index - DUPLICATE_WINDOW), index)])
            duplicates += 1
    return sequence


# --- what Odoo did, read over SQL --------------------------------------------------------------


@dataclass
class StoreCheck:
    rows: int
    missing_fingerprints: int  # distinct deliveries not stored
    acknowledged_missing: int  # ... of which Odoo answered one copy with a 2xx: lost
    unexpected_rows: int  # rows that are none of the deliveries
    leads_stored_twice: int
    leads_missing: int
    states: dict[str, int]


def check_stored(
    conn, bodies: list[str], lead_ids: list[int], acknowledged: set[str]
) -> StoreCheck:
    """Every distinct delivery stored exactly once: by fingerprint and by lead.
    ``acknowledged``: the deliveries Odoo answered with a 2xx (at least one copy). A delivery
    without one is Kommo's to send again; one with a 2xx but not stored is lost."""
    expected = {delivery_fingerprint(body) for body in bodies}
    with conn.cursor() as cr:
        cr.execute("SELECT fingerprint, body, state FROM kommo_webhook_event")
        rows = cr.fetchall()
    fingerprints = Counter(fingerprint for fingerprint, _body, _state in rows)
    per_lead = Counter(
        int(lead) for _fp, body, _state in rows for lead in parse_qs(body or "").get(LEAD_KEY, ())
    )
    missing = expected - fingerprints.keys()
    return StoreCheck(
        rows=len(rows),
        missing_fingerprints=len(missing),
        acknowledged_missing=len(missing & {delivery_fingerprint(b) for b in acknowledged}),
        unexpected_rows=sum(n for fp, n in fingerprints.items() if fp not in expected),
        leads_stored_twice=sum(1 for n in per_lead.values() if n > 1),
        leads_missing=len(set(lead_ids) - per_lead.keys()),
        states=dict(Counter(state for _fp, _body, state in rows)),
    )


def moved_bindings(conn, bound: BoundOrders) -> int:
    """Bound leads whose binding now knows the stage their delivery named."""
    with conn.cursor() as cr:
        cr.execute(
            "SELECT count(*) FROM kommo_lead_binding "
            "WHERE kommo_lead_id = ANY(%s) AND kommo_status_id = %s",
            (bound.lead_ids, bound.to_status),
        )
        return cr.fetchone()[0]


def event_states(conn) -> dict[str, int]:
    with conn.cursor() as cr:
        cr.execute("SELECT state, count(*) FROM kommo_webhook_event GROUP BY state")
        return dict(cr.fetchall())


# --- processing ---------------------------------------------------------------------------------


@dataclass
class ProcessRun:
    cron_runs: int
    seconds: float
    applied: int  # deliveries the cron runs handled, whatever their outcome
    queries: int  # SQL queries of this thread, every cursor (commits not counted)
    sql_seconds: float


def process_stored(registry, expected: int, time_limit: float) -> ProcessRun:
    """Run the processing cron as Odoo's cron runner would (a fresh cursor a run) until a run
    finds nothing to do. Bounded: a run handles PROCESS_BATCH_SIZE at most, so twice the runs
    ``expected`` needs is plenty; and no run starts after ``time_limit`` seconds."""
    from odoo.addons.kommo_connector.models.kommo_webhook_event import (  # noqa: PLC0415
        PROCESS_BATCH_SIZE,
    )

    max_runs = 2 * (expected // PROCESS_BATCH_SIZE + 1)
    # Odoo's cursors count their queries on the thread that has these attributes (what its
    # access log reports per request).
    thread = threading.current_thread()
    thread.query_count, thread.query_time = 0, 0.0
    started = time.monotonic()
    runs = applied = 0
    try:
        while runs < max_runs and time.monotonic() - started < time_limit:
            with registry.cursor() as cr:
                done = environment(cr, quiet=False)[PROCESS_MODEL]._cron_process_events()
            runs += 1
            applied += done
            if not done:
                break
        seconds = time.monotonic() - started
        return ProcessRun(runs, seconds, applied, thread.query_count, thread.query_time)
    finally:
        del thread.query_count, thread.query_time
