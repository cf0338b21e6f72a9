"""Finding the Kommo contacts of Odoo customers: by normalised phone (mobile, then phone),
then by e-mail.

Two ways, chosen per run by the calls each needs:

* searching customer by customer: ``GET /contacts?query=`` with each search key of each
  phone (``phone_search_keys``) and then the e-mail, until a hit is confirmed;
* reading the whole contact list, 250 a page, against a compact index of only the wanted
  phones and e-mails (memory: the index, plus one page).

With the exact length of the list (known from the last complete read) the cheaper way is
chosen up front. Without it, one probe decides: page S + 1 of the list, S being the pages
that cost as many calls as the searches still needed. Kommo answers an empty page (204) when
the list is shorter: it is read; a page back means searching is cheaper (that page's
contacts are matched too). Either way the cost is the cheaper way's plus one call. A list
that outgrew its known length is probed the same way once the known pages are read.

Kommo's search matches substrings, so every hit is confirmed by normalising the contact's own
PHONE values with the account's phone region.
"""

import math
import re
from dataclasses import dataclass, field

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
    pages_read: int = 0  # calls to the list, the probe included
    searches: int = 0
    list_complete: bool = False  # every page was read: who was not found is not in Kommo
    contact_count: int | None = None  # the list's exact length, when this run saw its end
    count_outgrown: bool = False  # the list is longer than the length this run was given


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


class WantedIndex:
    """The wanted phones (by their last digits) and e-mails, and the best hit of each
    customer so far; ``searches_left``: what searching the customers not found would cost."""

    def __init__(self, wanted, region):
        self.region = region
        self.by_tail, self.by_email = {}, {}
        for item in wanted:
            for rank, phone in enumerate(item.phones):
                self.by_tail.setdefault(_tail(phone), []).append((item.key, rank, phone))
            for rank, email in enumerate(item.emails, start=len(item.phones)):
                self.by_email.setdefault(email, []).append((item.key, rank))
        self.wanted = wanted
        self.cost = {item.key: item.search_cost for item in wanted}
        self.searches_left = sum(self.cost.values())
        self.best = {}  # key -> (rank, contact id)

    def match_page(self, contacts):
        for contact in contacts:
            for key, rank in self._hits(contact):
                if key not in self.best:
                    self.searches_left -= self.cost[key]
                if key not in self.best or (rank, contact["id"]) < self.best[key]:
                    self.best[key] = (rank, contact["id"])

    def _hits(self, contact):
        for value in contact_values(contact, "PHONE"):
            candidates = self.by_tail.get(_tail(value))
            if candidates and (e164 := try_normalize_phone(value, self.region)):
                yield from ((key, rank) for key, rank, phone in candidates if phone == e164)
        for value in contact_values(contact, "EMAIL"):
            yield from self.by_email.get(normalized_email(value), ())

    def found(self):
        return {key: contact_id for key, (_rank, contact_id) in self.best.items()}

    def unresolved(self):
        return [item for item in self.wanted if item.key not in self.best]


class ContactMatcher:
    """``read_page(number)`` returns ``(contacts, more)``: page ``number`` (from 1) of Kommo's
    contact list, empty past its end, and whether another page follows; ``search(query)``
    returns the contacts Kommo finds for ``query``. ``known_count``: the list's exact length
    when the last complete read learnt it (None or 0: unknown)."""

    def __init__(self, read_page, search, region, known_count=None, page_size=PAGE_SIZE):
        self.read_page = read_page
        self.search = search
        self.region = region
        self.known_count = known_count or None
        self.page_size = page_size

    def match(self, wanted):
        result = MatchResult()
        wanted = [item for item in wanted if item.phones or item.emails]
        if not wanted:
            return result
        index = WantedIndex(wanted, self.region)
        self._read_list(index, result)
        result.found.update(index.found())
        if result.list_complete:
            result.absent.update(item.key for item in index.unresolved())
        else:
            for item in index.unresolved():
                self._search_one(item, result)
        return result

    # -- reading the list ---------------------------------------------------------------------

    def _read_list(self, index, result):
        """Match the pages of the list that cost fewer calls than searching."""
        page = 0
        if self.known_count is not None:
            known_pages = max(1, math.ceil(self.known_count / self.page_size))
            while page < known_pages:
                if known_pages - page > index.searches_left:
                    return  # the rest is cheaper to search (or nobody is left to find)
                page += 1
                if not self._read_next(page, index, result):
                    return
            result.count_outgrown = True
        if index.searches_left <= 0:
            return
        probe = page + index.searches_left + 1
        if self._read(probe, index, result, probing=True):
            return  # the list goes on that far: the rest is searched
        while index.searches_left > 0 and self._read_next(page + 1, index, result):
            page += 1

    def _read_next(self, number, index, result):
        """Read page ``number`` in turn (every page before it was read); whether more follow."""
        more = self._read(number, index, result)
        result.list_complete = not more
        return more

    def _read(self, number, index, result, probing=False):
        """Match page ``number``; whether the list goes on after it (for a probe: whether the
        page holds contacts). The list's length is learnt at its last page."""
        contacts, more = self.read_page(number)
        result.pages_read += 1
        index.match_page(contacts)
        more = more and bool(contacts)
        if not more and (contacts or not probing):
            result.contact_count = (number - 1) * self.page_size + len(contacts)
        return bool(contacts) if probing else more

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
