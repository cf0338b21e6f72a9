"""The benchmark's made-up data, deterministic and Odoo-free (the emulator process uses it too).

Customer ``i`` has a Brazilian mobile number, unique per customer. Every other customer (even
``i``) also exists in Kommo, with the same number written in Kommo's usual international format
instead of Odoo's national one: ``(11) 98765-4321`` in Odoo, ``+55 11 987654321`` in Kommo.
The other Kommo contacts have numbers no customer has.
"""

from __future__ import annotations

import random
from collections.abc import Iterator

# Real Brazilian area codes (DDD), so every number is a valid mobile number for phonenumbers.
AREA_CODES = (11, 21, 31, 41, 51, 61, 71, 81, 85, 91, 19, 27, 48, 62, 92)
# 7919 is prime, so i -> i * 7919 mod 10**8 is a bijection: numbers never repeat.
_SPREAD, _OFFSET, _SUBSCRIBERS = 7919, 12_345, 100_000_000
FIRST_NAMES = ("Ana", "Bruno", "Carla", "Diego", "Elisa", "Fábio", "Gabriela", "Heitor", "Iara")
LAST_NAMES = ("Silva", "Souza", "Oliveira", "Santos", "Pereira", "Lima", "Costa", "Almeida")
VEHICLES = (
    "Fiat Argo 1.0",
    "Fiat Strada 1.3",
    "VW Gol 1.6",
    "VW Polo 1.0 TSI",
    "Chevrolet Onix 1.0",
    "Chevrolet S10 2.8",
    "Hyundai HB20 1.0",
    "Toyota Corolla 2.0",
    "Honda Civic 2.0",
    "Renault Kwid 1.0",
    "Jeep Renegade 1.3",
    "Ford Ranger 3.2",
)
SYMPTOMS = (
    "barulho na suspensão dianteira ao passar em lombadas",
    "luz do ABS acesa e pedal de freio baixo",
    "ar-condicionado sem gelar",
    "motor falhando em marcha lenta",
    "vazamento de óleo no cárter",
    "embreagem patinando em subidas",
    "bateria descarregando durante a noite",
)
PLATE_LETTERS = "ABCDEFGHJKLMNPRSTUVWXYZ"


def mobile_of(index: int) -> tuple[int, str]:
    """(area code, 9-digit mobile number) of customer or Kommo contact ``index``."""
    subscriber = (index * _SPREAD + _OFFSET) % _SUBSCRIBERS
    return AREA_CODES[index % len(AREA_CODES)], f"9{subscriber:08d}"


def odoo_phone(index: int) -> str:
    area, number = mobile_of(index)
    return f"({area}) {number[:5]}-{number[5:]}"


def kommo_phone(index: int) -> str:
    area, number = mobile_of(index)
    return f"+55 {area} {number}"


def e164_phone(index: int) -> str:
    area, number = mobile_of(index)
    return f"+55{area}{number}"


def person_name(index: int) -> str:
    first = FIRST_NAMES[index % len(FIRST_NAMES)]
    last = LAST_NAMES[(index // len(FIRST_NAMES)) % len(LAST_NAMES)]
    return f"{first} {last} {index:05d}"


def has_kommo_twin(customer: int) -> bool:
    return customer % 2 == 0


def twin_count(customers: int) -> int:
    return sum(1 for customer in range(customers) if has_kommo_twin(customer))


def kommo_contacts(contacts: int, customers: int, seed: int) -> list[tuple[str, list[str], list]]:
    """The ``contacts`` Kommo contacts as ``(name, phones, emails)``, the customers' twins
    spread among strangers (in the order Kommo lists them, so the twins are on every page)."""
    twins = [customer for customer in range(customers) if has_kommo_twin(customer)]
    if len(twins) > contacts:
        raise ValueError(f"{contacts} Kommo contacts cannot hold {len(twins)} known customers")
    strangers = range(customers, customers + contacts - len(twins))
    indexes = [*twins, *strangers]
    random.Random(seed).shuffle(indexes)  # noqa: S311 - made-up data, not secrets
    return [(person_name(index), [kommo_phone(index)], []) for index in indexes]


def order_customers(orders: int, customers: int, seed: int) -> list[int]:
    """The customer of each order: every customer once, the other orders to random ones (so
    some customers have several orders, as in a real shop)."""
    if customers > orders:
        raise ValueError("there must be at least one order per customer")
    rng = random.Random(seed)  # noqa: S311 - made-up data, not secrets
    extra = [rng.randrange(customers) for _ in range(orders - customers)]
    chosen = [*range(customers), *extra]
    rng.shuffle(chosen)
    return chosen


def plate(index: int, generation: int = 0) -> str:
    """A Mercosur plate (ABC1D23), unique per (index, generation) below 10**6 orders."""
    value = index + generation * 1_000_000
    chars = []
    for kind in "LLLDLDD"[::-1]:  # mixed radix, least significant position last
        radix = len(PLATE_LETTERS) if kind == "L" else 10
        value, digit = divmod(value, radix)
        chars.append(PLATE_LETTERS[digit] if kind == "L" else str(digit))
    return "".join(reversed(chars))


def diagnosis(index: int, generation: int = 0) -> str:
    symptom = SYMPTOMS[(index + generation) % len(SYMPTOMS)]
    visit = "Retorno" if generation else "Entrada"
    return f"<p>{visit}: {symptom}. Verificar e orçar antes de executar (OS {index}).</p>"


def batches(count: int, size: int) -> Iterator[range]:
    for start in range(0, count, size):
        yield range(start, min(start + size, count))
