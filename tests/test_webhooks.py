"""Kommo webhook deliveries: what a form-encoded body becomes, and what is refused."""

import contextlib
import re
from datetime import datetime, timezone
from urllib.parse import parse_qsl, urlencode

import pytest
from hypothesis import given
from hypothesis import strategies as st
from werkzeug.datastructures import ImmutableMultiDict

from kommo_api.webhooks import (
    CustomFieldValue,
    EventType,
    FieldValue,
    WebhookEvent,
    WebhookParseError,
    delivery_fingerprint,
    parse_form,
    parse_webhook,
)

# The status_lead example of kommo-api-facts.md, as Kommo encodes it on the wire.
STATUS_LEAD_BODY = (
    "leads%5Bstatus%5D%5B0%5D%5Bid%5D=31926520"
    "&leads%5Bstatus%5D%5B0%5D%5Bstatus_id%5D=10216994"
    "&leads%5Bstatus%5D%5B0%5D%5Bold_status_id%5D=10216995"
    "&leads%5Bstatus%5D%5B0%5D%5Bpipeline_id%5D=2116"
    "&leads%5Bstatus%5D%5B0%5D%5Bprice%5D=1000"
    "&leads%5Bstatus%5D%5B0%5D%5Blast_modified%5D=1456820780"
    "&leads%5Bstatus%5D%5B0%5D%5Bcustom_fields%5D%5B0%5D%5Bid%5D=1119321"
    "&leads%5Bstatus%5D%5B0%5D%5Bcustom_fields%5D%5B0%5D%5Bvalues%5D%5B0%5D%5Bvalue%5D=some+text"
    "&account%5Bsubdomain%5D=test000002"
    "&account%5Bid%5D=29837411"
)


def form(*pairs, account=(("account[id]", "29837411"), ("account[subdomain]", "acme"))):
    """A delivery body from readable (key, value) pairs, encoded the way Kommo does."""
    return urlencode([*pairs, *account])


def only_event(body):
    (event,) = parse_webhook(body).events
    return event


# --- the documented example -----------------------------------------------------------------


def test_status_lead_example_gives_one_status_change_with_every_field():
    delivery = parse_webhook(STATUS_LEAD_BODY)

    assert delivery.account_id == 29837411
    assert delivery.subdomain == "test000002"
    (event,) = delivery.events
    assert event.type is EventType.LEAD_STATUS_CHANGED
    assert (event.entity, event.action) == ("leads", "status")
    assert event.entity_id == 31926520
    assert event.status_id == 10216994
    assert event.old_status_id == 10216995
    assert event.pipeline_id == 2116
    assert event.old_pipeline_id is None
    assert event.price == 1000.0
    assert event.modified_at == datetime(2016, 3, 1, 8, 26, 20, tzinfo=timezone.utc)
    assert event.custom_fields == (
        CustomFieldValue(field_id=1119321, values=(FieldValue("some text"),)),
    )
    assert event.custom_field(1119321).value == "some text"


def test_status_lead_example_parses_the_same_from_bytes():
    assert parse_webhook(STATUS_LEAD_BODY.encode()) == parse_webhook(STATUS_LEAD_BODY)


def test_event_raw_is_the_events_own_item_with_text_values():
    event = only_event(STATUS_LEAD_BODY)

    assert event.raw["id"] == "31926520"
    assert event.raw["custom_fields"] == [{"id": "1119321", "values": [{"value": "some text"}]}]


# --- the event kinds ------------------------------------------------------------------------


def test_update_lead_reports_select_enum_ids_and_their_text():
    event = only_event(
        form(
            ("leads[update][0][id]", "7"),
            ("leads[update][0][custom_fields][0][id]", "501"),
            ("leads[update][0][custom_fields][0][name]", "Status da OS"),
            ("leads[update][0][custom_fields][0][values][0][value]", "Em reparo"),
            ("leads[update][0][custom_fields][0][values][0][enum]", "5"),
        )
    )

    assert event.type is EventType.LEAD_UPDATED
    field = event.custom_field(501)
    assert field.name == "Status da OS"
    assert field.values == (FieldValue("Em reparo", enum_id=5),)
    assert field.enum_ids == (5,)


def test_multiselect_field_keeps_every_selected_enum_in_order():
    event = only_event(
        form(
            ("leads[update][0][id]", "7"),
            ("leads[update][0][custom_fields][0][id]", "502"),
            ("leads[update][0][custom_fields][0][values][0][enum]", "11"),
            ("leads[update][0][custom_fields][0][values][1][enum]", "12"),
        )
    )

    assert event.custom_field(502).enum_ids == (11, 12)


def test_short_value_form_is_read_as_the_value_text():
    event = only_event(
        form(
            ("leads[update][0][id]", "7"),
            ("leads[update][0][custom_fields][0][id]", "503"),
            ("leads[update][0][custom_fields][0][values][0]", "1700000000"),
        )
    )

    assert event.custom_field(503).values == (FieldValue("1700000000"),)


def test_pipeline_move_reports_the_old_pipeline_and_status():
    event = only_event(
        form(
            ("leads[status][0][id]", "7"),
            ("leads[status][0][status_id]", "142"),
            ("leads[status][0][old_status_id]", "301"),
            ("leads[status][0][pipeline_id]", "20"),
            ("leads[status][0][old_pipeline_id]", "10"),
        )
    )

    assert (event.pipeline_id, event.old_pipeline_id) == (20, 10)
    assert (event.status_id, event.old_status_id) == (142, 301)


def test_added_lead_reports_name_price_responsible_and_dates():
    event = only_event(
        form(
            ("leads[add][0][id]", "8"),
            ("leads[add][0][name]", "OS 0042 - Gol 2012"),
            ("leads[add][0][price]", "349.90"),
            ("leads[add][0][responsible_user_id]", "504141"),
            ("leads[add][0][created_at]", "1700000000"),
            ("leads[add][0][updated_at]", "1700000060"),
        )
    )

    assert event.type is EventType.LEAD_ADDED
    assert event.name == "OS 0042 - Gol 2012"
    assert event.price == 349.90
    assert event.responsible_user_id == 504141
    assert event.created_at == datetime(2023, 11, 14, 22, 13, 20, tzinfo=timezone.utc)
    assert event.modified_at == datetime(2023, 11, 14, 22, 14, 20, tzinfo=timezone.utc)


def test_deleted_lead_needs_only_its_id():
    event = only_event(form(("leads[delete][0][id]", "9")))

    assert (event.type, event.entity_id) == (EventType.LEAD_DELETED, 9)
    assert event.status_id is None
    assert event.custom_fields == ()


@pytest.mark.parametrize(
    ("action", "event_type"),
    [
        ("add", EventType.CONTACT_ADDED),
        ("update", EventType.CONTACT_UPDATED),
        ("delete", EventType.CONTACT_DELETED),
    ],
)
def test_contact_events_are_typed(action, event_type):
    event = only_event(form((f"contacts[{action}][0][id]", "55")))

    assert (event.type, event.entity, event.entity_id) == (event_type, "contacts", 55)


def test_contact_phone_field_carries_its_code():
    event = only_event(
        form(
            ("contacts[update][0][id]", "55"),
            ("contacts[update][0][name]", "Maria Souza"),
            ("contacts[update][0][custom_fields][0][id]", "100"),
            ("contacts[update][0][custom_fields][0][code]", "PHONE"),
            ("contacts[update][0][custom_fields][0][values][0][value]", "+55 11 98765-4321"),
            ("contacts[update][0][custom_fields][0][values][0][enum]", "3001"),
        )
    )

    (phone,) = event.custom_fields
    assert (phone.code, phone.value) == ("PHONE", "+55 11 98765-4321")


def test_several_events_come_in_section_then_index_order():
    delivery = parse_webhook(
        form(
            ("leads[status][10][id]", "3"),
            ("leads[status][2][id]", "2"),
            ("leads[status][0][id]", "1"),
            ("contacts[add][0][id]", "4"),
            ("leads[delete][0][id]", "5"),
        )
    )

    assert [(e.type, e.entity_id) for e in delivery.events] == [
        (EventType.LEAD_STATUS_CHANGED, 1),
        (EventType.LEAD_STATUS_CHANGED, 2),
        (EventType.LEAD_STATUS_CHANGED, 3),
        (EventType.LEAD_DELETED, 5),
        (EventType.CONTACT_ADDED, 4),
    ]


def test_other_actions_of_known_entities_are_typed_other():
    delivery = parse_webhook(form(("leads[restore][0][id]", "1"), ("companies[add][0][id]", "2")))

    assert [(e.type, e.entity, e.action, e.entity_id) for e in delivery.events] == [
        (EventType.OTHER, "leads", "restore", 1),
        (EventType.OTHER, "companies", "add", 2),
    ]


def test_an_event_is_labelled_by_its_code_and_entity_id():
    delivery = parse_webhook(form(("leads[status][0][id]", "9"), ("companies[add][0][id]", "2")))

    assert [event.label for event in delivery.events] == ["status_lead #9", "add_companies #2"]


def test_items_of_other_actions_without_an_id_yield_no_event_but_stay_in_raw():
    delivery = parse_webhook(
        form(("leads[note][0][note][element_id]", "1"), ("leads[add][0][id]", "2"))
    )

    assert [e.entity_id for e in delivery.events] == [2]
    assert delivery.raw["leads"]["note"] == [{"note": {"element_id": "1"}}]


def test_unknown_sections_yield_no_event_but_stay_in_raw():
    delivery = parse_webhook(form(("unsorted[add][0][uid]", "abc"), ("leads[add][0][id]", "2")))

    assert [e.entity_id for e in delivery.events] == [2]
    assert delivery.raw["unsorted"] == {"add": [{"uid": "abc"}]}


# --- tolerance --------------------------------------------------------------------------------


def test_missing_optional_keys_are_none():
    event = only_event(form(("leads[update][0][id]", "7")))

    assert event == WebhookEvent(
        EventType.LEAD_UPDATED, 7, raw={"id": "7"}, entity="leads", action="update"
    )


def test_blank_optional_values_are_none():
    event = only_event(form(("leads[update][0][id]", "7"), ("leads[update][0][price]", "")))

    assert event.price is None


def test_unknown_keys_are_kept_in_the_events_raw():
    event = only_event(
        form(
            ("leads[update][0][id]", "7"),
            ("leads[update][0][tags][0][name]", "VIP"),
            ("leads[update][0][_links][self]", "https://acme.kommo.com/leads/7"),
        )
    )

    assert event.raw["tags"] == [{"name": "VIP"}]
    assert event.raw["_links"] == {"self": "https://acme.kommo.com/leads/7"}


def test_custom_field_entries_without_a_field_id_are_skipped():
    event = only_event(
        form(
            ("leads[update][0][id]", "7"),
            ("leads[update][0][custom_fields][0][values][0][value]", "orphan"),
            ("leads[update][0][custom_fields][1][id]", "501"),
        )
    )

    assert [cf.field_id for cf in event.custom_fields] == [501]


def test_custom_field_without_values_has_none_as_its_value():
    event = only_event(
        form(("leads[update][0][id]", "7"), ("leads[update][0][custom_fields][0][id]", "501"))
    )

    assert event.custom_field(501).value is None
    assert event.custom_field(999) is None


def test_surrounding_whitespace_around_the_body_is_ignored():
    assert parse_webhook(f"\n {STATUS_LEAD_BODY}\r\n") == parse_webhook(STATUS_LEAD_BODY)


def test_last_modified_wins_over_updated_at():
    event = only_event(
        form(
            ("leads[update][0][id]", "7"),
            ("leads[update][0][updated_at]", "1700000060"),
            ("leads[update][0][last_modified]", "1700000000"),
        )
    )

    assert event.modified_at == datetime(2023, 11, 14, 22, 13, 20, tzinfo=timezone.utc)


# --- the account ------------------------------------------------------------------------------


def test_account_with_only_a_subdomain_is_accepted():
    delivery = parse_webhook(
        form(("leads[add][0][id]", "1"), account=[("account[subdomain]", "x")])
    )

    assert (delivery.account_id, delivery.subdomain) == (None, "x")


def test_account_with_only_an_id_is_accepted():
    delivery = parse_webhook(form(("leads[add][0][id]", "1"), account=[("account[id]", "42")]))

    assert (delivery.account_id, delivery.subdomain) == (42, None)


@pytest.mark.parametrize(
    ("account_id", "subdomain", "expected"),
    [
        (29837411, None, True),
        (None, "acme", True),
        (29837411, " ACME ", True),
        (29837411, "other", False),
        (1, "acme", False),
        (None, None, False),
    ],
)
def test_is_for_account_requires_every_known_identifier_to_match(account_id, subdomain, expected):
    delivery = parse_webhook(form(("leads[add][0][id]", "1")))

    assert delivery.is_for_account(account_id, subdomain) is expected


def test_is_for_account_is_false_when_nothing_can_be_compared():
    delivery = parse_webhook(form(("leads[add][0][id]", "1"), account=[("account[id]", "42")]))

    assert delivery.is_for_account(subdomain="acme") is False


# --- refusals ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"", "empty"),
        ("   ", "empty"),
        (b"leads[add][0][id]=1&account[id]=\xff", "not valid UTF-8"),
        ("account%5Bid%5D=%FF&leads%5Badd%5D%5B0%5D%5Bid%5D=1", "percent-encoded value"),
        ("\ud800=1", "not valid Unicode"),
        ('{"leads": {"add": [{"id": 1}]}}', "not form-encoded"),
        ("leads[add][0][id]=1&&account[id]=2", "not form-encoded"),
        ("leads[add][0][id]=1", "no account section"),
        ("account=1&leads[add][0][id]=1", "no account section"),
        ("account[name]=x&leads[add][0][id]=1", "neither account[id] nor a subdomain"),
        ("account[id]=abc&leads[add][0][id]=1", "account[id] must be a whole number"),
        ("account[id]=1&unsorted[add][0][uid]=1", "no known entity section"),
        ("account[id]=1&leads=1", "leads must hold actions"),
        ("account[id]=1&leads[add]=1", "leads[add] must hold numbered items"),
        ("account[id]=1&leads[add][x][id]=1", "leads[add] must hold numbered items"),
        ("account[id]=1&leads[add][0]=1", "leads[add] must hold numbered items"),
        ("account[id]=1&leads[add][0][name]=x", "leads[add][0] has no id"),
        ("account[id]=1&leads[add][0][id]=12a", "leads[add][0][id] must be a whole number"),
        ("account[id]=1&leads[add][0][id]=-1", "leads[add][0][id] must be a whole number"),
        ("account[id]=1&leads[add][0][id]=1&leads[add][0][status_id]=x", "[status_id] must be"),
        ("account[id]=1&leads[add][0][id]=1&leads[add][0][price]=lots", "[price] must be a number"),
        ("account[id]=1&leads[add][0][id]=1&leads[add][0][price]=nan", "[price] must be a number"),
        ("account[id]=1&leads[add][0][id][x]=1", "leads[add][0][id] must be a single value"),
        ("account[id]=1&leads[add][0][id]=1&leads[add][0][name][x]=1", "[name] must be a single"),
        ("account[id]=1&leads[add][0][id]=1&leads[add][0][updated_at]=today", "Unix timestamp"),
        (
            "account[id]=1&leads[add][0][id]=1&leads[add][0][custom_fields]=x",
            "[custom_fields] must hold numbered items",
        ),
        (
            "account[id]=1&leads[add][0][id]=1&leads[add][0][custom_fields][0][id]=x",
            "[custom_fields][0][id] must be a whole number",
        ),
        (
            "account[id]=1&leads[add][0][id]=1&leads[add][0][custom_fields][0][id]=1"
            "&leads[add][0][custom_fields][0][values]=x",
            "[values] must hold numbered items",
        ),
        (
            "account[id]=1&leads[add][0][id]=1&leads[add][0][custom_fields][0][id]=1"
            "&leads[add][0][custom_fields][0][values][0][0]=x",
            "[values] must hold numbered items, as in",
        ),
        (
            "account[id]=1&leads[add][0][id]=1&leads[add][0][custom_fields][0][id]=1"
            "&leads[add][0][custom_fields][0][values][0][enum]=red",
            "[values][0][enum] must be a whole number",
        ),
        ("account[id]=1&leads[add][0][id]=1&leads[add][0][id]=2", "given twice"),
        ("account[id]=1&leads[add][0][id]=1&leads[add][0][id][x]=2", "holds a value"),
        ("account[id]=1&leads[add[0][id]=1", "malformed key"),
        ("account[id]=1&leads]add[0][id]=1", "malformed key"),
        ("account[id]=1&leads[add][0][id]x=1", "malformed key"),
        ("account[id]=1&=1", "malformed key"),
        ("account[id]=1&leads%5Badd%5D%5B0%5D%5Bi%0Ad%5D=1", "malformed key"),
        ("account[id]=1&leads" + "[a]" * 11 + "=1", "deeper than 10 levels"),
    ],
)
def test_garbage_is_refused_with_a_reason(body, reason):
    with pytest.raises(WebhookParseError, match=re.escape(reason)):
        parse_webhook(body)


def test_a_body_over_max_bytes_is_refused_before_decoding():
    with pytest.raises(WebhookParseError, match="larger than 100 bytes"):
        parse_webhook(b"x" * 101, max_bytes=100)


def test_a_text_body_is_measured_in_utf8_bytes():
    body = form(("leads[add][0][id]", "1"), ("leads[add][0][name]", "ç" * 40))

    with pytest.raises(WebhookParseError, match="larger than"):
        parse_webhook(body.replace("%C3%A7", "ç"), max_bytes=len(body.replace("%C3%A7", "ç")))


def test_more_keys_than_max_keys_are_refused():
    body = form(*[(f"leads[add][{i}][id]", str(i)) for i in range(10)])

    with pytest.raises(WebhookParseError, match="too many keys"):
        parse_webhook(body, max_keys=5)


def test_error_messages_do_not_echo_values():
    with pytest.raises(WebhookParseError) as caught:
        parse_webhook("account[id]=1&leads[add][0][id]=secret-looking-value")

    assert "secret-looking-value" not in str(caught.value)


def test_a_long_malformed_key_is_shortened_in_the_message():
    with pytest.raises(WebhookParseError) as caught:
        parse_webhook("account[id]=1&" + "k" * 500 + "[=1")

    assert len(str(caught.value)) < 100


def test_an_unsupported_body_type_is_refused():
    with pytest.raises(WebhookParseError, match="unsupported body type int"):
        parse_webhook(42)


# --- already-decoded forms --------------------------------------------------------------------


def test_werkzeug_request_form_parses_like_the_raw_body():
    request_form = ImmutableMultiDict(parse_qsl(STATUS_LEAD_BODY))

    assert parse_webhook(request_form) == parse_webhook(STATUS_LEAD_BODY)


def test_a_dict_of_flat_keys_parses_like_the_raw_body():
    flat = dict(parse_qsl(STATUS_LEAD_BODY))

    assert parse_webhook(flat) == parse_webhook(STATUS_LEAD_BODY)


def test_parse_form_output_parses_like_the_raw_body():
    assert parse_webhook(parse_form(STATUS_LEAD_BODY)) == parse_webhook(STATUS_LEAD_BODY)


def test_numbers_and_bytes_in_a_decoded_form_are_read_as_text():
    delivery = parse_webhook({"account": {"id": 42}, "leads": {"add": [{"id": 1, "name": b"OS"}]}})

    assert (delivery.account_id, delivery.events[0].name) == (42, "OS")


def test_a_repeated_key_in_a_multidict_is_refused_like_in_a_body():
    request_form = ImmutableMultiDict(
        [("account[id]", "1"), ("leads[add][0][id]", "1"), ("leads[add][0][id]", "2")]
    )

    with pytest.raises(WebhookParseError, match="given twice"):
        parse_webhook(request_form)


@pytest.mark.parametrize(
    ("decoded", "reason"),
    [
        ({1: "x"}, "form keys must be text, not int"),
        ({"account": {True: "x"}}, "form keys must be text, not bool"),
        ({"account[id]": None}, "form values must be text, not NoneType"),
        ({"account[id]": True}, "form values must be text, not bool"),
        ({"account[id]": b"\xff"}, "a form value is not valid UTF-8"),
        ({"account[id]": "\udcff"}, "not valid Unicode"),
        ({"account[id]": "1", "leads[add][0][id]": "x" * 200}, "larger than 100 bytes"),
    ],
)
def test_garbage_in_a_decoded_form_is_refused_with_a_reason(decoded, reason):
    with pytest.raises(WebhookParseError, match=reason):
        parse_webhook(decoded, max_bytes=100)


def test_a_self_referencing_decoded_form_is_refused():
    looped = {"account[id]": "1"}
    looped["leads"] = looped

    with pytest.raises(WebhookParseError, match="deeper than"):
        parse_webhook(looped)


def test_a_decoded_form_with_too_many_values_is_refused():
    with pytest.raises(WebhookParseError, match="too many keys"):
        parse_webhook({"tags": [str(i) for i in range(10)]}, max_keys=5)


# --- parse_form -------------------------------------------------------------------------------


def test_parse_form_nests_keys_and_numbers_items_in_index_order():
    assert parse_form("a[x][1]=b&a[x][0]=a&a[y]=c&top=d") == {
        "a": {"x": ["a", "b"], "y": "c"},
        "top": "d",
    }


def test_parse_form_closes_gaps_in_sparse_indexes():
    assert parse_form("a[7]=late&a[3]=early") == {"a": ["early", "late"]}


def test_parse_form_keeps_non_canonical_indexes_as_names():
    assert parse_form("a[01]=x&a[1]=y") == {"a": {"01": "x", "1": "y"}}


def test_parse_form_keeps_blank_values():
    assert parse_form("a=&b[c]=") == {"a": "", "b": {"c": ""}}


# --- fingerprints -----------------------------------------------------------------------------


def test_fingerprint_is_a_sha256_hex_digest():
    fingerprint = delivery_fingerprint(STATUS_LEAD_BODY)

    assert len(fingerprint) == 64
    assert set(fingerprint) <= set("0123456789abcdef")


def test_fingerprint_is_equal_for_the_same_body():
    assert delivery_fingerprint(STATUS_LEAD_BODY) == delivery_fingerprint(STATUS_LEAD_BODY.encode())


def test_fingerprint_ignores_key_order():
    reordered = "&".join(reversed(STATUS_LEAD_BODY.split("&")))

    assert delivery_fingerprint(reordered) == delivery_fingerprint(STATUS_LEAD_BODY)


def test_fingerprint_ignores_how_the_body_was_percent_encoded():
    unescaped = STATUS_LEAD_BODY.replace("%5B", "[").replace("%5D", "]").replace("+", "%20")

    assert delivery_fingerprint(unescaped) == delivery_fingerprint(STATUS_LEAD_BODY)


def test_fingerprint_of_request_form_equals_that_of_the_raw_body():
    request_form = ImmutableMultiDict(parse_qsl(STATUS_LEAD_BODY))

    assert delivery_fingerprint(request_form) == delivery_fingerprint(STATUS_LEAD_BODY)


def test_fingerprint_differs_when_a_value_differs():
    changed = STATUS_LEAD_BODY.replace("status_id%5D=10216994", "status_id%5D=10216996")

    assert delivery_fingerprint(changed) != delivery_fingerprint(STATUS_LEAD_BODY)


def test_fingerprint_differs_when_a_key_is_added():
    extended = STATUS_LEAD_BODY + "&leads%5Bstatus%5D%5B0%5D%5Bname%5D=x"

    assert delivery_fingerprint(extended) != delivery_fingerprint(STATUS_LEAD_BODY)


def test_fingerprint_does_not_confuse_key_and_value_boundaries():
    assert delivery_fingerprint("ab=c") != delivery_fingerprint("a=bc")


def test_fingerprint_refuses_what_is_not_a_form():
    with pytest.raises(WebhookParseError, match="not form-encoded"):
        delivery_fingerprint("just some text")


# --- properties -------------------------------------------------------------------------------

FORM_ALPHABET = st.sampled_from([*"[]=&%+;0123456789abidxyz_ \n", "%5B", "%5D", "%FF"])
FORMISH_TEXT = st.lists(FORM_ALPHABET, max_size=80).map("".join)
SCALARS = st.one_of(st.text(max_size=5), st.integers(), st.floats(), st.none(), st.booleans())
DECODED_FORMS = st.recursive(
    SCALARS | st.binary(max_size=5),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(st.text(max_size=5) | st.integers(), children, max_size=3)
    ),
    max_leaves=20,
)


def assert_parses_or_refuses(body):
    with contextlib.suppress(WebhookParseError):
        parse_webhook(body)


@given(st.binary(max_size=300))
def test_arbitrary_bytes_parse_or_raise_only_webhook_parse_error(body):
    assert_parses_or_refuses(body)


@given(st.text(max_size=300))
def test_arbitrary_text_parses_or_raises_only_webhook_parse_error(body):
    assert_parses_or_refuses(body)


@given(FORMISH_TEXT)
def test_form_like_text_parses_or_raises_only_webhook_parse_error(body):
    assert_parses_or_refuses(body)


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["account", "leads", "contacts", "companies", "x"]),
            st.lists(
                st.sampled_from(["add", "status", "0", "1", "id", "custom_fields"]), max_size=6
            ),
            st.sampled_from(["", "1", "x", "-1", "1.5", "1700000000", "\xff"]),
        ),
        max_size=12,
    )
)
def test_kommo_shaped_keys_with_any_values_parse_or_raise_only_webhook_parse_error(fields):
    body = urlencode(
        [(base + "".join(f"[{s}]" for s in segments), v) for base, segments, v in fields]
    )
    assert_parses_or_refuses(body)


@given(DECODED_FORMS)
def test_arbitrary_decoded_forms_parse_or_raise_only_webhook_parse_error(decoded):
    assert_parses_or_refuses({"form": decoded} if not isinstance(decoded, dict) else decoded)


# Kommo ids start at 1 (0 and negatives are refused: test_an_id_of_0_or_below_is_refused).
IDS = st.integers(min_value=1, max_value=10**12)
TEXT = st.text(max_size=20)
FIELD_VALUES = st.fixed_dictionaries({"value": TEXT}, optional={"enum": IDS})
CUSTOM_FIELDS = st.fixed_dictionaries(
    {"id": IDS},
    optional={"name": TEXT, "code": TEXT, "values": st.lists(FIELD_VALUES, min_size=1, max_size=3)},
)
ITEMS = st.fixed_dictionaries(
    {"id": IDS},
    optional={
        "status_id": IDS,
        "old_status_id": IDS,
        "pipeline_id": IDS,
        "old_pipeline_id": IDS,
        "responsible_user_id": IDS,
        "price": st.integers(min_value=0, max_value=10**9).map(
            lambda c: f"{c // 100}.{c % 100:02d}"
        ),
        "name": TEXT,
        "last_modified": st.integers(min_value=0, max_value=2**33),
        "created_at": st.integers(min_value=0, max_value=2**33),
        "custom_fields": st.lists(CUSTOM_FIELDS, min_size=1, max_size=3),
        "tags": st.lists(st.fixed_dictionaries({"name": TEXT}), min_size=1, max_size=2),
    },
)
TYPED_SECTIONS = {
    ("leads", "add"): EventType.LEAD_ADDED,
    ("leads", "update"): EventType.LEAD_UPDATED,
    ("leads", "status"): EventType.LEAD_STATUS_CHANGED,
    ("leads", "delete"): EventType.LEAD_DELETED,
    ("contacts", "add"): EventType.CONTACT_ADDED,
    ("contacts", "update"): EventType.CONTACT_UPDATED,
}
SECTIONS = st.dictionaries(
    st.sampled_from(sorted(TYPED_SECTIONS)), st.lists(ITEMS, min_size=1, max_size=3), min_size=1
)


def as_text(value):
    """Nested data as a form decodes it: every leaf becomes text."""
    if isinstance(value, dict):
        return {key: as_text(child) for key, child in value.items()}
    if isinstance(value, list):
        return [as_text(child) for child in value]
    return str(value)


def flat_pairs(prefix, value):
    """Nested data as PHP's http_build_query (and so Kommo) spells it."""
    if isinstance(value, dict):
        return [
            pair for key, child in value.items() for pair in flat_pairs(f"{prefix}[{key}]", child)
        ]
    if isinstance(value, list):
        return [
            pair for i, child in enumerate(value) for pair in flat_pairs(f"{prefix}[{i}]", child)
        ]
    return [(prefix, str(value))]


def expected_event(entity, action, item):
    def timestamp(key):
        return datetime.fromtimestamp(item[key], tz=timezone.utc) if key in item else None

    return WebhookEvent(
        type=TYPED_SECTIONS[entity, action],
        entity_id=item["id"],
        status_id=item.get("status_id"),
        old_status_id=item.get("old_status_id"),
        pipeline_id=item.get("pipeline_id"),
        old_pipeline_id=item.get("old_pipeline_id"),
        price=float(item["price"]) if "price" in item else None,
        name=item.get("name"),
        responsible_user_id=item.get("responsible_user_id"),
        modified_at=timestamp("last_modified"),
        custom_fields=tuple(
            CustomFieldValue(
                field_id=cf["id"],
                name=cf.get("name"),
                code=cf.get("code"),
                values=tuple(
                    FieldValue(v.get("value"), v.get("enum")) for v in cf.get("values", [])
                ),
            )
            for cf in item.get("custom_fields", [])
        ),
        raw=as_text(item),
        entity=entity,
        action=action,
        created_at=timestamp("created_at"),
    )


def build_delivery(account_id, subdomain, sections):
    tree = {"account": {"id": account_id, "subdomain": subdomain}}
    for (entity, action), items in sections.items():
        tree.setdefault(entity, {})[action] = items
    pairs = [pair for name, value in tree.items() for pair in flat_pairs(name, value)]
    expected = [
        expected_event(entity, action, item)
        for entity, actions in tree.items()
        if entity != "account"
        for action, items in actions.items()
        for item in items
    ]
    return pairs, expected


SUBDOMAINS = st.from_regex(r"[a-z][a-z0-9]{0,15}", fullmatch=True)


@given(IDS, SUBDOMAINS, SECTIONS)
def test_generated_deliveries_round_trip_into_their_events(account_id, subdomain, sections):
    pairs, expected = build_delivery(account_id, subdomain, sections)

    delivery = parse_webhook(urlencode(pairs))

    assert (delivery.account_id, delivery.subdomain) == (account_id, subdomain)
    assert list(delivery.events) == expected


@given(IDS, SUBDOMAINS, SECTIONS, st.randoms(use_true_random=False))
def test_generated_deliveries_keep_their_fingerprint_and_events_when_keys_are_shuffled(
    account_id, subdomain, sections, random
):
    pairs, expected = build_delivery(account_id, subdomain, sections)
    shuffled = random.sample(pairs, len(pairs))

    def key(event):
        return (event.entity, event.action, event.entity_id, repr(event))

    assert delivery_fingerprint(urlencode(shuffled)) == delivery_fingerprint(urlencode(pairs))
    assert sorted(parse_webhook(urlencode(shuffled)).events, key=key) == sorted(expected, key=key)


@pytest.mark.parametrize("lead_id", ["0", "-1", "00"])
@pytest.mark.parametrize("key", ["id", "status_id", "pipeline_id"])
def test_an_id_of_0_or_below_is_refused(lead_id, key):
    """0 is nobody's id in Kommo: a delivery naming it must not find a "no lead" row."""
    item = {"id": "31926520", "status_id": "142", "pipeline_id": "2116", key: lead_id}
    body = urlencode(
        [(f"leads[status][0][{name}]", value) for name, value in item.items()]
        + [("account[id]", "30000001")]
    )
    with pytest.raises(
        WebhookParseError, match=re.escape(f"[{key}] must be a whole number above 0")
    ):
        parse_webhook(body)


def test_an_account_id_of_0_is_refused():
    with pytest.raises(WebhookParseError, match=re.escape("account[id] must be a whole number")):
        parse_webhook("account[id]=0&leads[add][0][id]=1")


def test_empty_brackets_append_items_as_php_reads_them():
    body = (
        "leads[status][][id]=11&leads[status][][id]=12"
        "&leads[status][1][status_id]=142&account[id]=30000001"
    )
    first, second = parse_webhook(body).events
    assert (first.entity_id, first.status_id) == (11, None)
    assert (second.entity_id, second.status_id) == (12, 142)


def test_a_custom_field_value_given_as_one_object_is_read():
    """Some of Kommo's documented examples give a field's values as an object, not a list."""
    body = (
        "leads[update][0][id]=5&leads[update][0][custom_fields][0][id]=77"
        "&leads[update][0][custom_fields][0][values][value]=ABC1D23"
        "&leads[update][0][custom_fields][0][values][enum]=9&account[id]=30000001"
    )
    (event,) = parse_webhook(body).events
    assert event.custom_field(77).values == (FieldValue("ABC1D23", 9),)
