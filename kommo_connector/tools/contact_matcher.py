"""Finding the Kommo contacts of Odoo customers: by normalised phone (mobile, then phone),
then by e-mail.

Two ways, chosen per run by the calls each needs:

* searching customer by customer: ``GET /contacts?query=`` with each search key of each
  phone (``phone_search_keys``) and then the e-mail, until a hit is confirmed;
* reading the whole contact list, 250 a page, against a compact index of only the wanted
  phones and e-mails (memory: the index, plus one page).

With an estimate of the list's length (from a previous read) the cheaper way is chosen up
front; without one, or once the list outgrows it, the list is read while the pages read so far
are fewer than the searches still needed, and the rest is searched (a ski-rental rule: at most
about twice the cheaper way's calls).

Kommo's search matches substrings, so every hit is confirmed by normalising the contact's own
PHONE values with the account's phone region.
"""

import math
import re
from dataclasses import dataclass, field
from itertools import islice

from kommo_api import phone_search_keys, try_normalize_phone

PAGE_SIZE = 250
# Phones are compared on their last digits before the (slower) full normalisation.
TAIL_DIGITS = 8
_NON_DIGITS = re.compile(r"\D")


@dataclass(frozen=True)
class WantedContact:
    """A customer to find: ``phones`` in E.164, most wanted first; ``emails`` lower-cased."""

    key: int
    phones: tuple = ()
    emails: tuple = ()

    def search_queries(self):
        """``(query, rank, value)`` in the order they are tried; lower rank = better match."""
        queries = []
        for rank, phone in enumerate(self.phones):
            queries.extend((query, rank, phone) for query in phone_search_keys(phone))
        offset = len(self.phones)
        queries.extend((email, offset + rank, email) for rank, email in enumerate(self.emails))
        return queries

    @property
    def search_cost(self):
        """The searches needed at most (all of them when the customer is not in Kommo)."""
        return len(self.search_queries())


@dataclass
class MatchResult:
    found: dict = field(default_factory=dict)  # key -> Kommo contact id
    absent: set = field(default_factory=set)  # keys not in Kommo
    pages_read: int = 0
    searches: int = 0
    contacts_seen: int = 0
    list_complete: bool = False


def normalized_email(value):
    text = (value or "").strip().lower()
    return text if "@" in text else None


def contact_values(contact, code):
    """The texts of a Kommo contact's multitext field ``code`` (PHONE / EMAIL)."""
    for entry in contact.get("custom_fields_values") or ():
        if entry.get("field_code") == code:
            for value in entry.get("values") or ():
                if isinstance(value.get("value"), str):
                    yield value["value"]


class ContactMatcher:
    """``list_contacts()`` iterates over all Kommo contacts (lazily, page by page);
    ``search(query)`` returns the contacts Kommo finds for ``query``."""

    def __init__(self, list_contacts, search, region, estimated_count=None, page_size=PAGE_SIZE):
        self.list_contacts = list_contacts
        self.search = search
        self.region = region
        self.estimated_count = estimated_count or None
        self.page_size = page_size

    def match(self, wanted):
        result = MatchResult()
        wanted = [item for item in wanted if item.phones or item.emails]
        if not wanted:
            return result
        unresolved = self._read_list(wanted, result)
        if result.list_complete:
            result.absent.update(item.key for item in unresolved)
        else:
            for item in unresolved:
                self._search_one(item, result)
        return result

    # -- reading the list ---------------------------------------------------------------------

    def _keep_reading(self, pages_read, searches_left):
        if searches_left <= 0:
            return False
        estimated_pages = math.ceil((self.estimated_count or 0) / self.page_size)
        if pages_read < estimated_pages:
            pages_left = estimated_pages - pages_read
        else:
            # No estimate, or the list outgrew it: assume as many pages again as read so far.
            pages_left = max(pages_read, 1)
        return pages_left <= searches_left

    def _read_list(self, wanted, result):
        """Match pages of the list while that is cheaper; return what is still unresolved."""
        by_tail, by_email = {}, {}
        for item in wanted:
            for rank, phone in enumerate(item.phones):
                by_tail.setdefault(_tail(phone), []).append((item.key, rank, phone))
            for rank, email in enumerate(item.emails, start=len(item.phones)):
                by_email.setdefault(email, []).append((item.key, rank))
        best = {}  # key -> (rank, contact id)
        cost = {item.key: item.search_cost for item in wanted}
        searches_left = sum(cost.values())
        contacts = None
        while self._keep_reading(result.pages_read, searches_left):
            contacts = contacts if contacts is not None else iter(self.list_contacts())
            page = list(islice(contacts, self.page_size))
            if page:
                result.pages_read += 1
                result.contacts_seen += len(page)
            for contact in page:
                for key, rank in self._index_hits(contact, by_tail, by_email):
                    if key not in best:
                        searches_left -= cost[key]
                    if key not in best or (rank, contact["id"]) < best[key]:
                        best[key] = (rank, contact["id"])
            if len(page) < self.page_size:
                result.list_complete = True
                break
        result.found.update({key: contact_id for key, (_rank, contact_id) in best.items()})
        return [item for item in wanted if item.key not in best]

    def _index_hits(self, contact, by_tail, by_email):
        for value in contact_values(contact, "PHONE"):
            candidates = by_tail.get(_tail(value))
            if candidates and (e164 := try_normalize_phone(value, self.region)):
                yield from ((key, rank) for key, rank, phone in candidates if phone == e164)
        for value in contact_values(contact, "EMAIL"):
            yield from by_email.get(normalized_email(value), ())

    # -- searching ----------------------------------------------------------------------------

    def _search_one(self, item, result):
        for query, _rank, value in item.search_queries():
            result.searches += 1
            confirmed = [
                contact["id"]
                for contact in self.search(query) or ()
                if self._confirms(contact, value)
            ]
            if confirmed:
                result.found[item.key] = min(confirmed)
                return
        result.absent.add(item.key)

    def _confirms(self, contact, value):
        if "@" in value:
            return any(normalized_email(text) == value for text in contact_values(contact, "EMAIL"))
        return any(
            try_normalize_phone(text, self.region) == value
            for text in contact_values(contact, "PHONE")
        )


def _tail(phone):
    return _NON_DIGITS.sub("", phone)[-TAIL_DIGITS:]
