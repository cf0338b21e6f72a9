"""Phone numbers: how people write them in Brazil and elsewhere, and what E.164 they become."""

import contextlib

import phonenumbers
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from phonenumbers import PhoneNumberFormat, PhoneNumberType

from kommo_api.phones import (
    InvalidPhoneNumber,
    normalize_phone,
    phone_digits,
    phone_search_keys,
    try_normalize_phone,
    validate_region,
)

SAO_PAULO_MOBILE = "+5511987654321"


@pytest.mark.parametrize(
    "written",
    [
        "(11) 98765-4321",
        "11 98765 4321",
        "11987654321",
        "+55 11 98765-4321",
        "+55 (11) 98765-4321",
        "55 11 98765-4321",
        "055 11 98765-4321",
        "011 98765-4321",
        "0xx11 98765-4321",
        "0 21 11 98765-4321",
        "021 11 98765-4321",
        "tel:+55-11-98765-4321",
        "  (11) 98765-4321  ",
    ],
)
def test_brazilian_ways_of_writing_a_mobile_give_its_e164(written):
    assert normalize_phone(written) == SAO_PAULO_MOBILE


@pytest.mark.parametrize(
    "written",
    [
        "+55 11 98765-4321 ext. 123",
        "+55 11 98765-4321 x123",
        "11 98765-4321 ramal 12",
        "(11) 98765-4321 Ramal: 12",
    ],
)
def test_an_extension_is_dropped_because_e164_has_no_room_for_it(written):
    assert normalize_phone(written) == SAO_PAULO_MOBILE


def test_a_brazilian_landline_keeps_its_eight_digits():
    assert normalize_phone("(21) 3456-7890") == "+552134567890"


@pytest.mark.parametrize(
    ("written", "region", "e164"),
    [
        ("+1 650-253-0000", "BR", "+16502530000"),
        ("+44 20 7946 0958", "BR", "+442079460958"),
        ("+39 06 1234 5678", "BR", "+390612345678"),
        ("+351 912 345 678", "BR", "+351912345678"),
        ("0015 1 650 253 0000", "BR", "+16502530000"),
        ("(650) 253-0000", "US", "+16502530000"),
        ("020 7946 0958", "GB", "+442079460958"),
        ("912 345 678", "pt", "+351912345678"),
        ("+55 11 98765-4321", None, SAO_PAULO_MOBILE),
    ],
)
def test_other_countries_and_regions(written, region, e164):
    assert normalize_phone(written, region) == e164


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("(11) 8765-4321", "not a valid phone number"),  # old 8-digit mobile: no 9th digit guessed
        ("98765-4321", "not a valid phone number"),  # no area code
        ("00 1 650 253 0000", "not a valid phone number"),  # Brazil dials abroad with a carrier
        ("123", "not a valid phone number"),
        ("+55 11 98765-43210", "not a valid phone number"),
        ("", "empty"),
        ("   ", "empty"),
        ("abc", "not a phone number"),
        ("+999 1234 5678", "no country code"),
        ("9" * 300, "too long"),
        ("+1", "not a phone number"),
        (None, "must be text, not NoneType"),
        (False, "must be text, not bool"),
        (5511987654321, "must be text, not int"),
    ],
)
def test_invalid_numbers_are_refused_with_a_reason(raw, reason):
    with pytest.raises(InvalidPhoneNumber, match=reason):
        normalize_phone(raw)


def test_a_national_number_without_a_region_is_refused():
    with pytest.raises(InvalidPhoneNumber, match="no country code"):
        normalize_phone("11 98765-4321", None)


def test_invalid_phone_number_is_a_value_error():
    assert issubclass(InvalidPhoneNumber, ValueError)


def test_try_normalize_gives_none_for_an_invalid_number():
    assert try_normalize_phone("(11) 8765-4321") is None
    assert try_normalize_phone(None) is None


def test_try_normalize_gives_the_e164_of_a_valid_number():
    assert try_normalize_phone("(11) 98765-4321") == SAO_PAULO_MOBILE


# --- regions ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("region", "code"), [("BR", "BR"), ("br", "BR"), (" us ", "US"), (None, None)]
)
def test_validate_region_accepts_known_iso_codes_in_any_case(region, code):
    assert validate_region(region) == code


@pytest.mark.parametrize("region", ["XX", "ZZ", "", "BRA", "001", "ÄÄ", 55])
def test_validate_region_refuses_unknown_codes(region):
    with pytest.raises(ValueError, match="region"):
        validate_region(region)


def test_a_bad_region_is_a_configuration_error_not_an_invalid_number():
    with pytest.raises(ValueError, match="unknown phone region") as caught:
        try_normalize_phone("(11) 98765-4321", "XX")

    assert not isinstance(caught.value, InvalidPhoneNumber)


# --- digits and search keys -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "digits"),
    [
        ("+55 (11) 98765-4321", "5511987654321"),
        # the same mobile written in Arabic-Indic digits
        ("\u0661\u0661 \u0669\u0668\u0667\u0666\u0665-\u0664\u0663\u0662\u0661", "11987654321"),
        ("no digits", ""),
        (None, ""),
        (False, ""),
    ],
)
def test_phone_digits_keeps_only_the_digits(raw, digits):
    assert phone_digits(raw) == digits


def test_phone_digits_refuses_a_number_type():
    with pytest.raises(TypeError):
        phone_digits(5511987654321)


def test_search_keys_are_the_e164_text_then_digits_then_written_forms():
    assert phone_search_keys(SAO_PAULO_MOBILE) == [
        "+5511987654321",
        "11987654321",
        "5511987654321",
        "+55 11 98765-4321",
        "(11) 98765-4321",
    ]


def test_search_keys_keep_an_italian_leading_zero():
    assert phone_search_keys("+390612345678") == [
        "+390612345678",
        "0612345678",
        "390612345678",
        "+39 06 1234 5678",
        "06 1234 5678",
    ]


@pytest.mark.parametrize("not_e164", ["11987654321", "(11) 8765-4321", ""])
def test_search_keys_need_a_valid_international_number(not_e164):
    with pytest.raises(InvalidPhoneNumber):
        phone_search_keys(not_e164)


# --- properties -------------------------------------------------------------------------------

REGIONS = ["BR", "US", "GB", "DE", "PT", "FR", "IT", "ES", "MX", "JP", "AR"]
NUMBER_TYPES = [PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE]


@st.composite
def valid_numbers(draw):
    """Real-looking valid numbers: a region's example number with its last digits redrawn."""
    region = draw(st.sampled_from(REGIONS))
    example = phonenumbers.example_number_for_type(region, draw(st.sampled_from(NUMBER_TYPES)))
    national = str(example.national_number)
    tail = draw(st.text(alphabet="0123456789", min_size=4, max_size=4))
    number = phonenumbers.parse(f"+{example.country_code}{national[:-4]}{tail}")
    assume(phonenumbers.is_valid_number(number))
    return region, number


@given(valid_numbers())
def test_normalizing_is_idempotent(region_and_number):
    region, number = region_and_number
    e164 = normalize_phone(phonenumbers.format_number(number, PhoneNumberFormat.INTERNATIONAL))

    assert normalize_phone(e164, region) == e164


WRITTEN_FORMATS = [
    PhoneNumberFormat.E164,
    PhoneNumberFormat.INTERNATIONAL,
    PhoneNumberFormat.NATIONAL,
    PhoneNumberFormat.RFC3966,
]


@given(valid_numbers(), st.sampled_from(WRITTEN_FORMATS))
def test_any_written_format_normalizes_back_to_the_e164(region_and_number, written_format):
    region, number = region_and_number
    e164 = phonenumbers.format_number(number, PhoneNumberFormat.E164)
    written = phonenumbers.format_number(number, written_format)

    assert normalize_phone(written, region) == e164


@given(valid_numbers())
def test_the_first_search_key_is_the_e164_text_and_every_key_is_the_number(region_and_number):
    e164 = phonenumbers.format_number(region_and_number[1], PhoneNumberFormat.E164)
    region = phonenumbers.region_code_for_number(region_and_number[1])

    keys = phone_search_keys(e164)

    assert keys[0] == e164
    assert phone_digits(e164) in keys
    written = [key for key in keys if not key.isdigit()]
    assert {normalize_phone(key, region) for key in written} == {e164}


@given(st.text(max_size=40), st.sampled_from([*REGIONS, None]))
def test_arbitrary_text_normalizes_or_raises_only_invalid_phone_number(raw, region):
    with contextlib.suppress(InvalidPhoneNumber):
        assert normalize_phone(raw, region).startswith("+")
