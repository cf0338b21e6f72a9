"""How KommoClient reads lists: explicit order, pages that end on 204 or a short page, and
``If-Modified-Since``.

Kommo documents no default order for a list, and "uncontrolled iteration through all data"
gets an IP restricted (developers.kommo.com "Limitations"), so every scan names its order:
``order[id]=asc`` for whole lists (new records land on the last page, never shift a page
already read) and ``order[updated_at]=asc`` for the reconciliation poll. The same page
recommends ``If-Modified-Since`` on lists of leads and contacts without saying what it does;
either reading works here: a 304 is "nothing changed" (no items), a list filtered by it is a list.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime

from ._shapes import Page, collection, has_next, http_date, param_list
from ._transport import flatten_params, with_param

MAX_PAGE_SIZE = 250
BY_ID = {"id": "asc"}
NOT_MODIFIED = object()  # what ``request`` returns for a 304


def _version(lead: dict) -> tuple:
    """A lead as of one change: updated again, it is another version, read again."""
    return (lead.get("id"), lead.get("updated_at"))


class ListReads:
    """Mixed into :class:`~kommo_api.client.KommoClient` (which provides ``request``)."""

    def read_page(
        self,
        path: str,
        embedded_key: str,
        page: int = 1,
        *,
        params=None,
        limit: int = MAX_PAGE_SIZE,
        if_modified_since: int | float | datetime | None = None,
    ) -> Page:
        """Page ``page`` (from 1) of a HAL collection. Another page follows only if Kommo
        links one and this page is full: a short page is the last, whatever the links say."""
        page_size = max(1, min(limit, MAX_PAGE_SIZE))
        headers = None
        if if_modified_since is not None:
            headers = {"If-Modified-Since": http_date(if_modified_since)}
        payload = self.request(
            "GET",
            path,
            params=[*param_list(params), ("page", page), ("limit", page_size)],
            headers=headers,
            not_modified=NOT_MODIFIED,
        )
        if payload is NOT_MODIFIED:
            return Page([], False, not_modified=True)
        items = collection(payload, embedded_key)
        return Page(items, len(items) >= page_size and has_next(payload))

    def iter_pages(
        self, path: str, embedded_key: str, *, params=None, limit=MAX_PAGE_SIZE, **read
    ) -> Iterator[dict]:
        """Every item of a HAL collection, fetched lazily page by page (``read``: the keyword
        arguments of :meth:`read_page`)."""
        number = 1
        while True:
            page = self.read_page(path, embedded_key, number, params=params, limit=limit, **read)
            yield from page.items
            if not page.has_next:
                return
            number += 1

    @staticmethod
    def _list_params(*, query=None, filter=None, with_=None, order=None) -> list:
        params = []
        if query:
            params.append(("query", query))
        if with_:
            params.append(("with", with_param(with_)))
        if filter:
            params.extend(flatten_params("filter", filter))
        if order:
            params.extend(flatten_params("order", order))
        return params

    def _iter_entities(
        self, entity, *, query=None, filter=None, with_=None, order=None, limit=MAX_PAGE_SIZE,
        if_modified_since=None,
    ) -> Iterator[dict]:  # fmt: skip
        params = self._list_params(query=query, filter=filter, with_=with_, order=order or BY_ID)
        return self.iter_pages(
            f"/api/v4/{entity}", entity, params=params, limit=limit,
            if_modified_since=if_modified_since,
        )  # fmt: skip

    # -- leads --------------------------------------------------------------------------------

    def iter_leads(self, **listing) -> Iterator[dict]:
        """Leads, by id unless ``order`` says otherwise. ``listing``: ``query``, ``filter``,
        ``with_``, ``order``, ``limit`` (a page's size, 250 at most), ``if_modified_since``."""
        return self._iter_entities("leads", **listing)

    def iter_leads_updated_since(
        self, since: int, *, with_=None, limit: int = 250, if_modified_since: bool = True
    ) -> Iterator[dict]:
        """Leads updated at or after ``since`` (unix seconds), oldest change first: the
        reconciliation poll (``filter[updated_at][from]``, ``order[updated_at]=asc``).

        It pages by key, not by number: each call asks again from the last ``updated_at``
        seen. A lead updated during the scan moves to the end of the list; with page numbers
        that shifts every later lead back by one and the first of the next page is never read.
        Here it is read again later instead (as it changed again, that is news). Leads already
        yielded at the boundary second are skipped; a boundary second fuller than a page is
        walked by page number. ``if_modified_since`` also sends the header (one second before
        ``since``, so neither of its readings hides a lead the filter keeps).
        """
        since, seen, number = int(since), set(), 1
        header = since - 1 if if_modified_since else None
        while True:
            params = self._list_params(
                filter={"updated_at": {"from": since}}, with_=with_, order={"updated_at": "asc"}
            )
            page = self.read_page(
                "/api/v4/leads", "leads", number, params=params, limit=limit,
                if_modified_since=header,
            )  # fmt: skip
            yield from (lead for lead in page.items if _version(lead) not in seen)
            if not page.has_next:
                return
            last = page.items[-1].get("updated_at")
            if not isinstance(last, int) or last <= since:
                number += 1  # the whole page sits on the boundary second: walk it by number
                seen.update(_version(lead) for lead in page.items)
                continue
            since, number = last, 1
            seen = {_version(lead) for lead in page.items if lead.get("updated_at") == last}

    # -- contacts -----------------------------------------------------------------------------

    def iter_contacts(self, **listing) -> Iterator[dict]:
        """Contacts, by id unless ``order`` says otherwise (``listing`` as for ``iter_leads``)."""
        return self._iter_entities("contacts", **listing)

    def contacts_page(
        self,
        page: int = 1,
        *,
        limit: int = MAX_PAGE_SIZE,
        order=None,
        with_=None,
        query=None,
        filter=None,
        if_modified_since=None,
    ) -> Page:
        """One page of the contact list (by id unless ``order`` says otherwise): for callers
        that read a list in their own rhythm (a probe of its length, a resumable scan)."""
        params = self._list_params(query=query, filter=filter, with_=with_, order=order or BY_ID)
        return self.read_page(
            "/api/v4/contacts", "contacts", page, params=params, limit=limit,
            if_modified_since=if_modified_since,
        )  # fmt: skip

    def search_contacts(self, query: str) -> list[dict]:
        """Kommo's ``query`` search: a match is a candidate, how it meets phones is not
        documented (CONTRACT.md, "Phone search"): confirm each hit."""
        return list(self.iter_contacts(query=query))

    # -- notes --------------------------------------------------------------------------------

    def iter_lead_notes(self, lead_ids: Sequence[int], note_type: str = "common") -> Iterator[dict]:
        """The notes of type ``note_type`` of the leads ``lead_ids`` (``filter[entity_id][]``,
        ``filter[note_type]``): one walk of ``/api/v4/leads/notes`` for all of them."""
        params = [("filter[entity_id][]", lead_id) for lead_id in lead_ids]
        params.append(("filter[note_type]", note_type))
        return self.iter_pages("/api/v4/leads/notes", "notes", params=params)
