"""The customers of a push: their Kommo contact from the binding cache, else found in Kommo
(the contact list remembered from an earlier read and its changes since, ``contact_index``;
else ``contact_matcher``: the contact list or a search per customer, whichever is cheaper),
else created with their first lead.

Several workers push at once (one cron per Odoo server), and a new customer's orders may be
in two of them: only one may create the customer's contact (``hold_new_customers``).
"""

import logging
from datetime import timedelta

import psycopg2.errors

from odoo import fields
from odoo.tools import SQL

from kommo_api import KommoError

from .contact_index import ContactIndex, contact_keys
from .contact_matcher import PAGE_SIZE, ContactMatcher, WantedContact
from .cursors import account_in_own_transaction
from .lead_payload import contact_values, partner_emails, partner_phones
from .push_run import Outcome

_logger = logging.getLogger(__name__)

PARTNER_READ_CHUNK = 1000
# An order whose new customer's contact another order is being created with waits this long.
CONTACT_WAIT_MINUTES = 1


class ContactResolver:
    """The Kommo contacts of the customers of ``run``'s orders: ``contact_ids`` (partner id
    -> Kommo contact id) and ``absent`` (partner ids Kommo has no contact for)."""

    def __init__(self, run):
        self.run = run
        self.account = run.account
        self.region = run.region
        self.index = ContactIndex(run)
        self.contact_ids = {}
        self.absent = set()

    def resolve(self, items):
        """Find the Kommo contact of every customer of ``items`` that has none yet; those
        Kommo does not have are remembered as absent (created with their lead)."""
        partner_ids = {item.partner_id for item in items if item.partner_id}
        partner_ids -= set(self.contact_ids) | self.absent
        if not partner_ids:
            return
        bound, wanted = self.run.in_transaction(self._bound_and_wanted, partner_ids)
        self.contact_ids.update(bound)
        missing = partner_ids - set(bound)
        if not missing:
            return
        wanted = [item for item in wanted if item.phones or item.emails]
        searchable = {item.key for item in wanted}
        self.absent |= missing - searchable
        try:
            found, absent, unresolved = self.index.match(wanted)
            if unresolved:
                result = self._match_in_kommo(unresolved)
                found.update(result.found)
                absent |= result.absent
        except KommoError as error:
            concerned = [item.binding_id for item in items if item.partner_id in searchable]
            self.run.fail(concerned, error)
            return
        self.run.in_transaction(self._bind, found)
        self.contact_ids.update(found)
        self.absent |= absent

    def _bound_and_wanted(self, env, partner_ids):
        """The Kommo contacts bound to these customers, and what the others are looked up by
        (``WantedContact``s), read in one snapshot."""
        bound = env["kommo.contact.binding"]._kommo_contact_ids(self.account, partner_ids)
        return bound, self._wanted_contacts(env, sorted(set(partner_ids) - set(bound)))

    def _bind(self, env, found):
        env["kommo.contact.binding"]._kommo_bind(self.account, found)

    def _match_in_kommo(self, wanted):
        """Look the customers up in Kommo's contact list or by searching (``ContactMatcher``);
        a list read to its end is remembered (``contact_index``)."""
        lister = self.run.client("contact_list")
        pages = []  # the keys of each page read

        def read_page(number):
            # By id (order[id]=asc): contacts created meanwhile land on the last page.
            page = lister.contacts_page(number, limit=PAGE_SIZE)
            pages.append(contact_keys(page.items, self.region))
            return page.items, page.has_next

        matcher = ContactMatcher(
            read_page,
            self.run.client("contact_search").search_contacts,
            self.region,
            known_count=self.account.kommo_contact_count,
        )
        started = fields.Datetime.now()
        result = matcher.match(wanted)
        if result.contact_count is not None:
            self._remember_contact_count(result.contact_count)
        elif result.count_outgrown:
            self._remember_contact_count(0)  # unknown again: the next run probes
        if result.list_complete:
            self.index.remember([pair for keys in pages for pair in keys], started)
        return result

    def hold_new_customers(self, env, binding_ids):
        """The orders of ``binding_ids`` that may be created now, in the transaction that
        stamps their creation; the others wait a minute (not counted as an attempt).

        A customer this run found absent from Kommo gets its contact with its first lead.
        Meanwhile another worker may have created it (then it is bound: it is used), or may
        be creating it: another order of the customer has a creation sent and no answer yet,
        which may hold the contact. The customer's orders are locked (NOWAIT) before they are
        read: orders another transaction holds or changed since this one began mean another
        worker is at this customer right now; its order waits, as for a creation in flight.
        """
        if not binding_ids:
            return binding_ids
        env.cr.execute(
            SQL(
                """SELECT b.id, o.partner_id FROM kommo_lead_binding b
                     JOIN repair_order o ON o.id = b.repair_id WHERE b.id IN %s""",
                tuple(binding_ids),
            )
        )
        partner_of = dict(env.cr.fetchall())
        new = {pid for pid in partner_of.values() if pid and pid not in self.contact_ids}
        busy = self._busy_customers(env, new, binding_ids)
        bound = env["kommo.contact.binding"]._kommo_contact_ids(self.account, new - busy)
        self.learn(bound)
        waiting = [bid for bid in binding_ids if partner_of.get(bid) in busy]
        if waiting:
            later = fields.Datetime.now() + timedelta(minutes=CONTACT_WAIT_MINUTES)
            self.run.finish(
                [Outcome(bid, "release", values={"next_attempt_at": later}) for bid in waiting],
                env,
            )
        return [bid for bid in binding_ids if bid not in waiting]

    def _busy_customers(self, env, partner_ids, binding_ids):
        """The customers of ``partner_ids`` another worker is at: all their orders are locked
        at once; only when one of them is held are they tried one by one, to find which."""
        if not partner_ids:
            return set()
        rows = self._lock_orders_of(env, partner_ids)
        if rows is None:
            if len(partner_ids) == 1:
                return set(partner_ids)
            return set().union(
                *(
                    self._busy_customers(env, {partner_id}, binding_ids)
                    for partner_id in sorted(partner_ids)
                )
            )
        return {
            partner_id
            for partner_id, binding_id, sent in rows
            if sent and binding_id not in binding_ids
        }

    def _lock_orders_of(self, env, partner_ids):
        """Every order of the customers is locked (NOWAIT): of two workers stamping orders of
        one new customer, the later one finds the rows held or changed by the other (None)."""
        try:
            with env.cr.savepoint(flush=False):
                env.cr.execute(
                    SQL(
                        """SELECT o.partner_id, b.id,
                                  b.create_sent_at IS NOT NULL AND b.kommo_lead_id IS NULL
                             FROM kommo_lead_binding b JOIN repair_order o ON o.id = b.repair_id
                            WHERE b.account_id = %s AND o.partner_id IN %s
                         ORDER BY b.id FOR UPDATE OF b NOWAIT""",
                        self.account.id,
                        tuple(partner_ids),
                    ),
                    log_exceptions=False,
                )
                return env.cr.fetchall()
        except (psycopg2.errors.LockNotAvailable, psycopg2.errors.SerializationFailure):
            return None

    def create_contacts(self, items):
        """Customers new to Kommo on existing leads: create their contacts, 50 a call."""
        partner_ids = sorted({item.partner_id for item in items})
        size = self.run.options["batch_size"]
        for start in range(0, len(partner_ids), size):
            chunk = partner_ids[start : start + size]
            payloads = self.run.in_transaction(self._contact_payloads, chunk)
            try:
                created = self.run.client("push_contacts").create_contacts(payloads)
            except KommoError as error:
                concerned = [item.binding_id for item in items if item.partner_id in chunk]
                self.run.fail(concerned, error)
                continue
            found = {
                partner_id: contact.get("id")
                for partner_id, contact in zip(chunk, created, strict=False)
            }
            self.run.in_transaction(self._bind, found)
            self.learn(found)

    def _contact_payloads(self, env, partner_ids):
        return [
            dict(contact_values(partner, self.region), request_id=f"partner-{partner.id}")
            for partner in env["res.partner"].browse(partner_ids)
        ]

    def _wanted_contacts(self, env, partner_ids):
        wanted = []
        for start in range(0, len(partner_ids), PARTNER_READ_CHUNK):
            partners = env["res.partner"].browse(partner_ids[start : start + PARTNER_READ_CHUNK])
            for partner in partners:
                wanted.append(
                    WantedContact(
                        partner.id, partner_phones(partner, self.region), partner_emails(partner)
                    )
                )
            partners.invalidate_recordset()
        return wanted

    def _remember_contact_count(self, count):
        """Keep the exact length of Kommo's contact list (0: unknown) for the next run's
        choice; a lower bound would make the next run read a list it should search."""
        try:
            with account_in_own_transaction(self.account) as account:
                # Another worker saving its count at the same moment is fine: skip ours.
                account.env.cr.execute(
                    SQL(
                        "UPDATE kommo_account SET kommo_contact_count = %s WHERE id = %s",
                        count,
                        account.id,
                    ),
                    log_exceptions=False,
                )
        except psycopg2.Error:
            _logger.info("Kommo account %s: contact count not saved", self.account.id)
        self.account.invalidate_recordset(["kommo_contact_count"])

    def learn(self, found):
        """``{partner id: contact id}`` Kommo now has (bound by the caller)."""
        self.contact_ids.update(found)
        self.absent.difference_update(found)
