"""How KommoClient reads lists over a scripted transport: explicit order, the end of a list
(204, a short page), If-Modified-Since and its 304, the reconciliation poll's key paging."""

from datetime import datetime, timezone

import pytest
from client_scripted import leads_page, query_of

from kommo_api.client import Page
from kommo_api.errors import KommoUnexpectedResponse


def contacts_page(ids, next_page=True):
    links = {"self": {"href": "x"}, **({"next": {"href": "y"}} if next_page else {})}
    return {"_links": links, "_embedded": {"contacts": [{"id": i} for i in ids]}}


def leads_at(*pairs, next_page=True):
    """A page of leads given as ``(id, updated_at)``."""
    page = leads_page([], next_page)
    page["_embedded"]["leads"] = [{"id": i, "updated_at": at} for i, at in pairs]
    return page


def asked(scripted):
    """``(filter[updated_at][from], page)`` of each call sent."""
    queries = [dict(query_of(sent)) for sent in scripted.sent]
    return [(query["filter[updated_at][from]"], query["page"]) for query in queries]


def test_pages_are_fetched_lazily(client, scripted):
    scripted.answer(200, leads_page([1, 2])).answer(200, leads_page([3], next_page=False))

    leads = client.iter_leads(limit=2)
    assert scripted.sent == []
    assert next(leads) == {"id": 1}
    assert len(scripted.sent) == 1
    assert [lead["id"] for lead in leads] == [2, 3]
    assert [dict(query_of(p))["page"] for p in scripted.sent] == ["1", "2"]


def test_paging_stops_on_an_empty_answer(client, scripted):
    scripted.answer(200, leads_page([1, 2])).answer(204, None)

    assert [lead["id"] for lead in client.iter_leads(limit=2)] == [1, 2]
    assert len(scripted.sent) == 2


def test_a_short_page_is_the_last_whatever_its_links_say(client, scripted):
    scripted.answer(200, leads_page([1, 2], next_page=True))

    assert [lead["id"] for lead in client.iter_leads(limit=3)] == [1, 2]
    assert len(scripted.sent) == 1


def test_extra_page_params_are_kept_on_every_page(client, scripted):
    scripted.answer(200, leads_page([1])).answer(204, None)

    list(client.iter_pages("/api/v4/leads", "leads", params={"query": "ABC"}, limit=1))

    assert [dict(query_of(p))["query"] for p in scripted.sent] == ["ABC", "ABC"]


def test_page_size_is_capped_at_250(client, scripted):
    scripted.answer(204, None)

    list(client.iter_leads(limit=1000))

    assert dict(query_of(scripted.sent[0]))["limit"] == "250"


def test_list_filters_become_kommo_bracket_keys(client, scripted):
    scripted.answer(204, None)

    list(client.iter_leads(query="ABC-1", with_=["contacts", "catalog_elements"],
                           filter={"updated_at": {"from": 1700000000}, "id": [3, 4]},
                           order={"updated_at": "asc"}))  # fmt: skip

    query = query_of(scripted.sent[0])
    assert ("query", "ABC-1") in query
    assert ("with", "contacts,catalog_elements") in query
    assert ("filter[updated_at][from]", "1700000000") in query
    assert [v for k, v in query if k == "filter[id][]"] == ["3", "4"]
    assert ("order[updated_at]", "asc") in query
    assert ("order[id]", "asc") not in query


@pytest.mark.parametrize("scan", ["iter_leads", "iter_contacts"])
def test_whole_list_scans_name_their_order(client, scripted, scan):
    scripted.answer(204, None)

    list(getattr(client, scan)())

    assert ("order[id]", "asc") in query_of(scripted.sent[0])


def test_a_list_answer_of_the_wrong_shape_is_unexpected(client, scripted):
    scripted.answer(200, {"_embedded": {"contacts": []}})

    with pytest.raises(KommoUnexpectedResponse):
        list(client.iter_leads())


# one page of contacts ------------------------------------------------------------------------
def test_a_contacts_page_says_whether_another_follows(client, scripted):
    scripted.answer(200, contacts_page([1, 2])).answer(200, contacts_page([3]))

    assert client.contacts_page(1, limit=2) == Page([{"id": 1}, {"id": 2}], True)
    assert client.contacts_page(2, limit=2) == Page([{"id": 3}], False)
    first = dict(query_of(scripted.sent[0]))
    assert (first["page"], first["limit"], first["order[id]"]) == ("1", "2", "asc")
    assert dict(query_of(scripted.sent[1]))["page"] == "2"


def test_a_contacts_page_past_the_end_is_empty(client, scripted):
    scripted.answer(204, None)

    assert client.contacts_page(7, order={"updated_at": "desc"}, with_="leads") == Page([], False)
    query = dict(query_of(scripted.sent[0]))
    assert (query["order[updated_at]"], query["with"]) == ("desc", "leads")


# If-Modified-Since ---------------------------------------------------------------------------
def test_if_modified_since_is_sent_as_an_http_date(client, scripted):
    scripted.answer(204, None).answer(204, None)

    client.contacts_page(if_modified_since=1700000000)
    client.contacts_page(if_modified_since=datetime(2023, 11, 14, 22, 13, 20))

    expected = "Tue, 14 Nov 2023 22:13:20 GMT"
    assert [sent.headers["If-Modified-Since"] for sent in scripted.sent] == [expected] * 2
    assert scripted.sent[0].headers["Authorization"] == "Bearer access-1"


def test_a_304_means_nothing_changed(client, scripted, exchanges):
    scripted.answer(304, None).answer(304, None)

    page = client.contacts_page(if_modified_since=datetime(2024, 1, 1, tzinfo=timezone.utc))

    assert page == Page([], False, not_modified=True)
    assert list(client.iter_contacts(if_modified_since=1700000000)) == []
    assert exchanges[0].status == 304 and exchanges[0].error is None


def test_without_if_modified_since_no_header_is_sent(client, scripted):
    scripted.answer(204, None)

    client.contacts_page()

    assert "If-Modified-Since" not in scripted.sent[0].headers


# the reconciliation poll ---------------------------------------------------------------------
def test_the_poll_filters_and_orders_by_update_and_sends_if_modified_since(client, scripted):
    scripted.answer(200, leads_at((5, 1000), (6, 1001), next_page=False))

    leads = list(client.iter_leads_updated_since(1000, limit=250, with_="contacts"))

    assert [lead["id"] for lead in leads] == [5, 6]
    query = dict(query_of(scripted.sent[0]))
    assert query["filter[updated_at][from]"] == "1000"
    assert query["order[updated_at]"] == "asc"
    assert query["with"] == "contacts"
    # One second earlier: neither reading of the header hides a lead the filter keeps.
    assert scripted.sent[0].headers["If-Modified-Since"] == "Thu, 01 Jan 1970 00:16:39 GMT"


def test_the_poll_asks_again_from_the_last_change_seen(client, scripted):
    scripted.answer(200, leads_at((1, 100), (2, 105)))
    scripted.answer(200, leads_at((2, 105), (3, 107)))
    scripted.answer(200, leads_at((4, 108), next_page=False))

    leads = list(client.iter_leads_updated_since(100, limit=2, if_modified_since=False))

    assert [lead["id"] for lead in leads] == [1, 2, 3, 4]
    assert asked(scripted) == [("100", "1"), ("105", "1"), ("107", "1")]
    assert "If-Modified-Since" not in scripted.sent[0].headers


def test_a_lead_updated_during_the_poll_is_read_again_not_lost(client, scripted):
    # Lead 2 changes after the first page: it moves to the end; lead 3 is not skipped.
    scripted.answer(200, leads_at((1, 100), (2, 101)))
    scripted.answer(200, leads_at((3, 102), (2, 150), next_page=False))

    leads = list(client.iter_leads_updated_since(100, limit=2))

    assert [(lead["id"], lead["updated_at"]) for lead in leads] == [
        (1, 100),
        (2, 101),
        (3, 102),
        (2, 150),
    ]


def test_a_second_fuller_than_a_page_is_walked_by_page_number(client, scripted):
    scripted.answer(200, leads_at((1, 100), (2, 100)))
    scripted.answer(200, leads_at((3, 100), (4, 101)))
    scripted.answer(200, leads_at((4, 101), next_page=False))

    leads = list(client.iter_leads_updated_since(100, limit=2))

    assert [lead["id"] for lead in leads] == [1, 2, 3, 4]
    assert asked(scripted) == [("100", "1"), ("100", "2"), ("101", "1")]
