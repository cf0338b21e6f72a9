"""The customers of a push: their Kommo contact from the binding cache, else found in Kommo
(``contact_matcher``: the contact list or a search per customer, whichever is cheaper), else
created with their first lead."""

import logging

import psycopg2.errors

from odoo import _
from odoo.tools import SQL

from kommo_api import KommoError, KommoUnexpectedResponse

from .contact_matcher import PAGE_SIZE, ContactMatcher, WantedContact
from .cursors import account_in_own_transaction
from .lead_payload import partner_emails, partner_phones

_logger = logging.getLogger(__name__)

PARTNER_READ_CHUNK = 1000
CONTACTS_PATH = "/api/v4/contacts"


class PushContacts:
    """Mixed into a ``PushRun``: fills its ``contact_ids`` and ``absent``."""

    def resolve_contacts(self, items):
        """Find the Kommo contact of every customer of ``items`` that has none yet; those
        Kommo does not have are remembered as absent (created with their lead)."""
        partner_ids = {item.partner_id for item in items if item.partner_id}
        partner_ids -= set(self.contact_ids) | self.absent
        if not partner_ids:
            return
        bound = self.in_transaction(
            lambda env: env["kommo.contact.binding"]._kommo_contact_ids(self.account, partner_ids)
        )
        self.contact_ids.update(bound)
        missing = partner_ids - set(bound)
        if not missing:
            return
        wanted = self.in_transaction(self._wanted_contacts, sorted(missing))
        searchable = {item.key for item in wanted if item.phones or item.emails}
        self.absent |= missing - searchable
        lister, searcher = self.client("contact_list"), self.client("contact_search")
        matcher = ContactMatcher(
            lambda number: self._contact_page(lister, number),
            searcher.search_contacts,
            self.region,
            known_count=self.account.kommo_contact_count,
        )
        try:
            result = matcher.match(wanted)
        except KommoError as error:
            concerned = [item.binding_id for item in items if item.partner_id in searchable]
            self.fail(concerned, error)
            return
        self.in_transaction(
            lambda env: env["kommo.contact.binding"]._kommo_bind(self.account, result.found)
        )
        self.contact_ids.update(result.found)
        self.absent |= result.absent
        if result.contact_count is not None:
            self._remember_contact_count(result.contact_count)
        elif result.count_outgrown:
            self._remember_contact_count(0)  # unknown again: the next run probes

    def _contact_page(self, client, number):
        """Page ``number`` of Kommo's contact list: ``(contacts, whether another page follows)``.

        ``KommoClient.iter_contacts`` always starts at page 1: the probe of the list-or-search
        choice asks for a page further on through the client's ``request``.
        """
        payload = client.request(
            "GET", CONTACTS_PATH, params=[("page", number), ("limit", PAGE_SIZE)]
        )
        if payload is None:
            return [], False  # 204: past the end of the list
        embedded = payload.get("_embedded") if isinstance(payload, dict) else None
        contacts = embedded.get("contacts") if isinstance(embedded, dict) else None
        if not isinstance(contacts, list):
            raise KommoUnexpectedResponse(_("Kommo's answer is not a page of contacts."))
        links = payload.get("_links")
        return contacts, isinstance(links, dict) and bool(links.get("next"))

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
