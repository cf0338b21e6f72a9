"""What a first sync of chosen repair orders would do in Kommo, found without writing to it.

The customers are looked up the way the push looks them up (``push_contacts``): the binding
cache, then the contact list the push remembered (``kommo.contact.key``), else Kommo itself
through ``ContactMatcher`` (the contact list or a search per customer, whichever is cheaper),
read-only. Each match says what it was found by: a phone or an e-mail.

The preview reads Kommo within a request, so it makes at most ``max_calls`` calls: past them
it stops looking up, and the customers it did not reach count as neither found nor new, so
its numbers are lower bounds (``stopped_at_limit``).
"""

import math
from collections import namedtuple
from dataclasses import dataclass, field, make_dataclass

from kommo_api import RATE_LIMIT_CALLS, RATE_LIMIT_PERIOD, try_normalize_phone

from .batches import creation_calls
from .contact_matcher import (
    PAGE_SIZE,
    ContactMatcher,
    WantedContact,
    WantedIndex,
    contact_values,
)
from .lead_payload import content_hash, diagnosis_text, partner_emails, partner_phones

_Order = namedtuple("_Order", "partner_id")


class CallLimitReached(Exception):  # noqa: N818 - a signal, not an error
    """The preview made the calls it may make: it stops looking customers up."""


@dataclass
class CustomerMatches:
    """``{partner id: "phone" | "email"}`` of the customers Kommo has, the calls spent, and
    the customers not looked up when the preview stopped at its call limit."""

    by: dict = field(default_factory=dict)
    lookups: int = 0
    unchecked: set = field(default_factory=set)
    stopped: bool = False


# The numbers of a preview, as the wizard shows them (read-only fields of the same names).
NUMBERS = (
    ("order_count", "Repair orders chosen"),
    ("lead_create_count", "Leads to create"),
    ("lead_update_count", "Leads to update"),
    ("note_count", "Diagnosis notes"),
    ("customer_count", "Customers"),
    ("customer_bound_count", "Already linked to a Kommo contact"),
    ("customer_phone_count", "Found in Kommo by phone"),
    ("customer_email_count", "Found in Kommo by e-mail"),
    ("contact_create_count", "Contacts to create"),
    ("lookup_call_count", "Contact look-ups"),
    ("call_count", "Kommo calls"),
    ("duration_seconds", "Seconds at least"),
    ("customer_unchecked_count", "Not looked up"),
)
SyncPreview = make_dataclass(
    "SyncPreview",
    [
        *((name, int, field(default=0)) for name, _label in NUMBERS),
        ("stopped_at_limit", bool, field(default=False)),
    ],
)


def calls_for(count, batch_size):
    return math.ceil(count / batch_size) if count else 0


def creation_call_count(partner_ids, known_partner_ids, batch_size):
    """The calls creating the leads of orders of customers ``partner_ids`` (one an order),
    as the push makes them: a customer Kommo has no contact for yet (not in
    ``known_partner_ids``) gets it with its first lead, its other leads go in later calls."""
    known = set(known_partner_ids)
    calls = 0
    orders = [_Order(partner_id) for partner_id in partner_ids]
    for chunk in creation_calls(orders, known, batch_size):
        calls += 1
        known.update(order.partner_id for order in chunk if order.partner_id)
    return calls


def seconds_for(calls):
    """At Kommo's limit (7 requests a second), the time ``calls`` take at least."""
    return math.ceil(calls * RATE_LIMIT_PERIOD / RATE_LIMIT_CALLS)


def preview(env, account, orders, batch_size, max_calls):
    """The ``SyncPreview`` of pushing ``orders`` to ``account`` now, reading Kommo at most
    ``max_calls`` times."""
    bindings = (
        env["kommo.lead.binding"]
        .sudo()
        .search([("account_id", "=", account.id), ("repair_id", "in", orders.ids)])
    )
    binding_of = {binding.repair_id.id: binding for binding in bindings}
    result = SyncPreview(order_count=len(orders))
    created = []  # the customer ids (None: no customer) of the orders whose lead is created
    updated = []  # (binding, customer id) of the orders whose lead is updated
    for order in orders:
        binding = binding_of.get(order.id)
        note = diagnosis_text(order)
        if binding and binding.kommo_lead_id:
            result.lead_update_count += 1
            result.note_count += bool(note) and content_hash(note) != binding.note_hash
            updated.append((binding, order.partner_id.id))
        else:
            result.lead_create_count += 1
            result.note_count += bool(note)
            created.append(order.partner_id.id or None)
    partners = orders.partner_id
    bound = env["kommo.contact.binding"].sudo()._kommo_contact_ids(account, partners.ids)
    unbound = partners.filtered(lambda partner: partner.id not in bound)
    matches = match_customers(account, unbound, max_calls)
    # Customers not looked up count as found: the calls counted are then a lower bound.
    known = set(bound) | set(matches.by) | matches.unchecked
    # An updated lead whose customer's contact is not the one it holds gets it linked (and
    # the one Odoo linked before unlinked) after the update; a customer new to Kommo gets
    # a contact first (push_links, ContactResolver.create_contacts), unless one of its
    # orders is created first (the contact comes with that lead).
    relinked = [
        (binding, partner_id)
        for binding, partner_id in updated
        if partner_id and bound.get(partner_id) != binding.kommo_contact_id
    ]
    new_contacts = {
        partner_id
        for _binding, partner_id in relinked
        if partner_id not in known and partner_id not in created
    }
    unlinked = [binding for binding, _partner_id in relinked if binding.kommo_contact_id]
    found_by = list(matches.by.values())
    result.customer_count = len(partners)
    result.customer_bound_count = len(bound)
    result.customer_phone_count = found_by.count("phone")
    result.customer_email_count = found_by.count("email")
    result.contact_create_count = len(unbound) - len(matches.by) - len(matches.unchecked)
    result.customer_unchecked_count = len(matches.unchecked)
    result.stopped_at_limit = matches.stopped
    result.lookup_call_count = matches.lookups
    # Every kind of write goes batch_size (50) a call; a call creating leads holds one order
    # of each customer new to Kommo, the first with its contact (batches.creation_calls).
    writes = (
        result.lead_update_count,
        result.note_count,
        len(new_contacts),
        len(relinked),
        len(unlinked),
    )
    result.call_count = (
        matches.lookups
        + creation_call_count(created, known, batch_size)
        + sum(calls_for(count, batch_size) for count in writes)
    )
    result.duration_seconds = seconds_for(result.call_count)
    return result


def match_customers(account, partners, max_calls):
    """The ``CustomerMatches`` of ``partners`` (none bound to a Kommo contact yet), making
    at most ``max_calls`` calls to Kommo."""
    region = account.phone_region or None
    wanted = [
        WantedContact(partner.id, partner_phones(partner, region), partner_emails(partner))
        for partner in partners
    ]
    wanted = [item for item in wanted if item.phones or item.emails]
    if not wanted:
        return CustomerMatches()
    if account.kommo_contacts_read_at:
        return _match_stored(account, wanted)
    return _match_in_kommo(account, wanted, region, max_calls)


def _match_stored(account, wanted):
    """By the contact list the push remembered: what the push would call is the changes since
    its last read (one page, usually) and the found contacts, read by id 250 a call."""
    values = {value for item in wanted for value in (*item.phones, *item.emails)}
    holders = account.env["kommo.contact.key"].sudo()._kommo_holders(account, values)
    matches = CustomerMatches()
    for item in wanted:
        key = next((value for value in (*item.phones, *item.emails) if holders.get(value)), None)
        if key:
            matches.by[item.key] = "email" if "@" in key else "phone"
    matches.lookups = 1 + calls_for(len(matches.by), PAGE_SIZE)
    return matches


def _match_in_kommo(account, wanted, region, max_calls):
    """By ``ContactMatcher`` on Kommo itself, reading only: the calls it made are what the
    push will make. Stopped at ``max_calls``: the customers found in what it read so far."""
    client = account._kommo_client(operation="sync_preview")
    seen = {}  # contact id -> contact, to tell what each match was found by
    calls = 0

    def call():
        nonlocal calls
        if calls >= max_calls:
            raise CallLimitReached
        calls += 1

    def read_page(number):
        call()
        page = client.contacts_page(number, limit=PAGE_SIZE)
        seen.update((contact["id"], contact) for contact in page.items)
        return page.items, page.has_next

    def search(query):
        call()
        contacts = client.search_contacts(query)
        seen.update((contact["id"], contact) for contact in contacts)
        return contacts

    matcher = ContactMatcher(read_page, search, region, known_count=account.kommo_contact_count)
    try:
        found = matcher.match(wanted).found
    except CallLimitReached:
        index = WantedIndex(wanted, region)
        index.match_page(seen.values())
        found = index.found()
        unchecked = {item.key for item in wanted} - set(found)
        return _found_by(wanted, found, seen, region, calls, unchecked=unchecked, stopped=True)
    return _found_by(wanted, found, seen, region, calls)


def _found_by(wanted, found, seen, region, calls, **values):
    """The ``CustomerMatches`` of ``found`` (``{key: contact id}``): by phone when the
    contact holds one of the customer's phones, else by e-mail."""
    phones_of = {item.key: set(item.phones) for item in wanted}
    matches = CustomerMatches(lookups=calls, **values)
    for key, contact_id in found.items():
        contact = seen.get(contact_id, {})
        phones = {try_normalize_phone(text, region) for text in contact_values(contact, "PHONE")}
        matches.by[key] = "phone" if phones & phones_of[key] else "email"
    return matches
