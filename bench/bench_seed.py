"""Filling the benchmark's Odoo database: the Kommo account, customers, vehicles, repair orders.

Everything goes through the ORM, so the connector's create/write hooks mark the orders for the
push exactly as in production; one transaction per batch of ``BATCH`` records keeps the
memory flat. Chatter tracking and creation messages are switched off: they are not what is
measured and would double the time.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from bench_data import (
    VEHICLES,
    batches,
    diagnosis,
    e164_phone,
    odoo_phone,
    order_customers,
    person_name,
    plate,
)

BATCH = 1000
QUIET = {
    "tracking_disable": True,
    "mail_create_nolog": True,
    "mail_notrack": True,
    "mail_create_nosubscribe": True,
}


@dataclass
class Seeded:
    """What is in Odoo after seeding (ids and refs the checks need)."""

    account_id: int
    order_field_id: int | None = None  # the Kommo field holding the order number
    order_ids: list[int] = field(default_factory=list)
    expected_phones: dict[str, str] = field(default_factory=dict)  # order ref -> E.164
    seconds: dict[str, float] = field(default_factory=dict)


def environment(cr, quiet: bool = True):
    """A superuser environment; ``quiet`` switches chatter tracking off (seeding only: the
    push runs with the plain context Odoo's cron runner gives)."""
    from odoo import SUPERUSER_ID, api  # noqa: PLC0415 - Odoo is imported at run time

    return api.Environment(cr, SUPERUSER_ID, dict(QUIET) if quiet else {})


def connect_account(registry, host: str, token: str, oauth: dict | None = None) -> Seeded:
    """The company's account on the emulator, connected (pipelines and fields read), the
    missing fields created: the field map as a shop would have it. With a long-lived token,
    or with ``oauth`` (``client_id``, ``client_secret`` and an authorization ``code``): the
    OAuth connection, whose access token is refreshed when Kommo refuses it."""
    started = time.monotonic()
    with registry.cursor() as cr:
        env = environment(cr)
        # A Brazilian shop: phone numbers written without +55 are Brazilian.
        env.company.country_id = env.ref("base.br")
        values = {"name": "Kommo bench", "company_id": env.company.id, "host": host}
        if oauth:
            values.update(
                auth_mode="oauth",
                client_id=oauth["client_id"],
                client_secret=oauth["client_secret"],
                authorize_url=f"http://{host}/oauth",
            )
        else:
            values.update(auth_mode="long_lived", long_lived_token=token)
        account = env["kommo.account"].create(values)
        cr.commit()  # the token store reads the account in its own transaction
        if oauth:
            account._kommo_connect_with_code(oauth["code"], host)
        else:
            account.action_connect()
        if account.state != "connected":
            raise RuntimeError(f"the account did not connect: {account.last_error}")
        account.action_create_missing_fields()
        number_map = account.field_map_ids.filtered(lambda fmap: fmap.role == "order_number")
        seeded = Seeded(account.id, number_map.custom_field_id.kommo_id or None)
    seeded.seconds["connect account"] = time.monotonic() - started
    return seeded


def seed_orders(registry, seeded: Seeded, orders: int, customers: int, seed: int) -> None:
    """``customers`` partners with Brazilian mobiles (phone or mobile field), one vehicle
    model each order picks from, a plate (lot) per order and ``orders`` repair orders with a
    diagnosis in their internal notes."""
    started = time.monotonic()
    partner_ids = []
    for chunk in batches(customers, BATCH):
        with registry.cursor() as cr:
            partner_ids += _create_customers(environment(cr), chunk)
    seeded.seconds["customers"] = time.monotonic() - started

    started = time.monotonic()
    with registry.cursor() as cr:
        product_ids = _create_vehicles(environment(cr))
    customer_of = order_customers(orders, customers, seed)
    for chunk in batches(orders, BATCH):
        with registry.cursor() as cr:
            env = environment(cr)
            vehicles = [product_ids[i % len(product_ids)] for i in chunk]
            lots = env["stock.lot"].create(
                [
                    {"name": plate(i), "product_id": vehicle, "company_id": env.company.id}
                    for i, vehicle in zip(chunk, vehicles, strict=True)
                ]
            )
            repairs = env["repair.order"].create(
                [
                    {
                        "partner_id": partner_ids[customer_of[i]],
                        "product_id": vehicle,
                        "lot_id": lot.id,
                        "internal_notes": diagnosis(i),
                    }
                    for i, vehicle, lot in zip(chunk, vehicles, lots, strict=True)
                ]
            )
            seeded.order_ids += repairs.ids
            for i, name in zip(chunk, repairs.mapped("name"), strict=True):
                seeded.expected_phones[name] = e164_phone(customer_of[i])
    seeded.seconds["repair orders"] = time.monotonic() - started


def _create_customers(env, chunk: range) -> list[int]:
    brazil = env.ref("base.br")
    # Half keep the number in "phone", half in "mobile": the matcher must read both.
    return (
        env["res.partner"]
        .create(
            [
                {
                    "name": person_name(i),
                    "country_id": brazil.id,
                    "phone" if i % 4 < 2 else "mobile": odoo_phone(i),
                }
                for i in chunk
            ]
        )
        .ids
    )


def _create_vehicles(env) -> list[int]:
    products = env["product.product"].create(
        [
            {"name": name, "type": "consu", "is_storable": True, "tracking": "serial"}
            for name in VEHICLES
        ]
    )
    return products.ids


def modify_orders(registry, seeded: Seeded, count: int) -> tuple[int, int]:
    """Give ``count`` orders a new plate, and half of them a new diagnosis too (a returning
    car): what a day of work changes. Returns (orders changed, diagnoses changed)."""
    order_ids = seeded.order_ids[:count]
    notes_changed = 0
    for chunk in batches(len(order_ids), BATCH):
        with registry.cursor() as cr:
            env = environment(cr)
            repairs = env["repair.order"].browse([order_ids[i] for i in chunk])
            lots = env["stock.lot"].create(
                [
                    {"name": plate(i, 1), "product_id": repair.product_id.id}
                    for i, repair in zip(chunk, repairs, strict=True)
                ]
            )
            for i, repair, lot in zip(chunk, repairs, lots, strict=True):
                values = {"lot_id": lot.id}
                if i % 2 == 0:
                    values["internal_notes"] = diagnosis(i, 1)
                    notes_changed += 1
                repair.write(values)
    return len(order_ids), notes_changed
