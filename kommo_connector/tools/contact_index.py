"""What a push remembers of Kommo's contact list: the phones and e-mails of every contact, as
of the last time the whole list was read (``kommo.contact.key``), kept current by reading
only the contacts changed since.

Kommo restricts the IP of an integration that iterates through all its data
(developers.kommo.com, "Limitations"). The whole list is read only when that costs fewer
calls than searching customer by customer (``contact_matcher``), and once read it is not read
again: the next run asks for the contacts changed since (``filter[updated_at][from]``, which
Kommo's "Contacts list" reference documents, with the ``If-Modified-Since`` header its
"Limitations" page recommends: both readings of the header are fine, CONTRACT.md "Lists"),
usually one call, and matches its customers against the stored keys. A customer no stored
key names is not in Kommo. A contact the keys name is read by id before it is used: a contact
deleted in Kommo leaves no trace in a list of changes.
"""

import logging
from datetime import timedelta

import psycopg2

from odoo import fields

from kommo_api import try_normalize_phone

from .contact_matcher import PAGE_SIZE, contact_values, normalized_email
from .cursors import RowsBusy, account_in_own_transaction
from .datetimes import unix_time

_logger = logging.getLogger(__name__)

# Kommo's clock and Odoo's may differ a little: changes are read from this much before the
# moment the last read started (reading a contact twice is harmless).
CLOCK_MARGIN = timedelta(minutes=5)


def contact_keys(contacts, region):
    """``(contact id, key)`` pairs of ``contacts``: each phone in E.164 and each e-mail
    lower-cased. A phone that is no valid number is left out: no customer's can match it."""
    pairs = []
    for contact in contacts:
        keys = {try_normalize_phone(text, region) for text in contact_values(contact, "PHONE")}
        keys |= {normalized_email(text) for text in contact_values(contact, "EMAIL")}
        pairs.extend((contact["id"], key) for key in sorted(key for key in keys if key))
    return pairs


class ContactIndex:
    """The stored contact list of ``run``'s account, its changes, and its storage."""

    def __init__(self, run):
        self.run = run

    def match(self, wanted):
        """``(found, absent, unresolved)`` of the ``wanted`` customers by the stored contact
        list, after reading what changed in it: ``{key: contact id}``, keys of customers Kommo
        does not have, and the customers to look up in Kommo (no list stored yet, or a stored
        contact that is gone)."""
        run = self.run
        read_until = run.account.kommo_contacts_read_at
        if not read_until or not wanted:
            return {}, set(), wanted
        lister = run.client("contact_list")
        started = fields.Datetime.now()
        changed = self._read_changes(lister, read_until)
        fresh = contact_keys(changed, run.region)
        self.remember(fresh, started, [contact["id"] for contact in changed])
        # The changes count even if they could not be stored (another worker held the account).
        values = {value for item in wanted for value in (*item.phones, *item.emails)}
        holders = run.in_transaction(
            lambda env: env["kommo.contact.key"]._kommo_holders(run.account, values)
        )
        changed_ids = {contact["id"] for contact in changed}
        for key, ids in holders.items():
            holders[key] = [contact_id for contact_id in ids if contact_id not in changed_ids]
        for contact_id, key in fresh:
            if key in values:
                holders.setdefault(key, []).append(contact_id)
        candidates = {}
        for item in wanted:
            # The best key (mobile, then phone, then e-mail), its lowest id: as ContactMatcher.
            held = next((holders[v] for v in (*item.phones, *item.emails) if holders.get(v)), None)
            if held:
                candidates[item.key] = (min(held), item)
        found = self._still_in_kommo(lister, candidates, changed_ids)
        unresolved = [item for item in wanted if item.key in candidates and item.key not in found]
        absent = {item.key for item in wanted if item.key not in candidates}
        return found, absent, unresolved

    def _read_changes(self, lister, since):
        """Every contact changed at or after ``since`` minus the margin, by id."""
        timestamp = unix_time(since - CLOCK_MARGIN)
        contacts, number = [], 1
        while True:
            page = lister.contacts_page(
                number,
                limit=PAGE_SIZE,
                filter={"updated_at": {"from": timestamp}},
                # One second before: under either reading of the header, the filter decides.
                if_modified_since=timestamp - 1,
            )
            contacts.extend(page.items)
            if not page.has_next:
                return contacts
            number += 1

    def _still_in_kommo(self, lister, candidates, checked_ids):
        """``{key: contact id}`` of the candidates Kommo still has with the same phone or
        e-mail (read by id, 250 a call); the keys of the others are forgotten."""
        wanted_ids = sorted({contact_id for contact_id, _item in candidates.values()} - checked_ids)
        current = {}
        for start in range(0, len(wanted_ids), PAGE_SIZE):
            ids = wanted_ids[start : start + PAGE_SIZE]
            page = lister.contacts_page(1, limit=PAGE_SIZE, filter={"id": ids})
            current.update((contact["id"], contact) for contact in page.items)
        found, stale = {}, set()
        for key, (contact_id, item) in candidates.items():
            if contact_id in checked_ids:
                found[key] = contact_id
                continue
            contact = current.get(contact_id)
            held = {key for _id, key in contact_keys([contact], self.run.region)} if contact else ()
            if set(held) & {*item.phones, *item.emails}:
                found[key] = contact_id
            else:
                stale.add(contact_id)
        if stale:
            kept = [current[contact_id] for contact_id in stale if contact_id in current]
            self.remember(contact_keys(kept, self.run.region), None, sorted(stale))
        return found

    def remember(self, keys, read_at, contact_ids=None):
        """Store the keys of contacts read (``contact_ids`` None: the whole list, read from
        ``read_at`` on) and, given ``read_at``, that the list is known from then on."""
        try:
            with (
                account_in_own_transaction(self.run.account) as account,
                account.env.cr.savepoint(),
            ):
                account.env["kommo.contact.key"]._kommo_store(account, keys, contact_ids)
                if read_at:
                    account.kommo_contacts_read_at = read_at
        except (psycopg2.Error, RowsBusy):
            # Another worker is writing the account: this run's reads are used all the same,
            # the next run reads them again.
            _logger.info("Kommo account %s: contact list not stored", self.run.account.id)
        self.run.account.invalidate_recordset(["kommo_contacts_read_at"])
