"""Conversions from warehouse values to Northbeam field values."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connector.mapping import convert as cv

NEW_YORK = ZoneInfo("America/New_York")


@pytest.mark.parametrize(
    ("cents", "expected"),
    [
        (1999, Decimal("19.99")),
        (1100, Decimal("11.00")),
        (0, Decimal("0.00")),
        (-250, Decimal("-2.50")),
        (Decimal("1999"), Decimal("19.99")),
        ("1999", Decimal("19.99")),
        (" 742 ", Decimal("7.42")),
        (1999.0, Decimal("19.99")),
        (99999999999999999, Decimal("999999999999999.99")),
    ],
)
def test_cents_to_major_is_exact(cents: object, expected: Decimal) -> None:
    result = cv.cents_to_major(cents)
    assert result == expected
    assert isinstance(result, Decimal)


def test_cents_to_major_beyond_28_digits() -> None:
    """Decimal arithmetic would round at 28 digits; the exponent shift does not."""
    digits = "1234567890123456789012345678901234567"
    result = cv.cents_to_major(int(digits))
    assert str(result) == digits[:-2] + "." + digits[-2:]


@given(st.integers(min_value=-(10**40), max_value=10**40))
def test_cents_to_major_round_trips(cents: int) -> None:
    major = cv.cents_to_major(cents)
    assert major is not None
    sign, digits, exponent = major.as_tuple()
    assert exponent == -2
    assert int(Decimal((sign, digits, 0))) == cents


@pytest.mark.parametrize("value", [19.99, "19.99", Decimal("19.99")])
def test_major_money_stays_exact(value: object) -> None:
    assert cv.to_decimal(value) == Decimal("19.99")
    assert str(cv.to_decimal(value)) == "19.99"


@pytest.mark.parametrize("value", [True, "12,50", "$3", float("nan"), "inf", [1]])
def test_money_rejects_non_numbers(value: object) -> None:
    with pytest.raises(cv.ConversionError):
        cv.cents_to_major(value)


def test_money_blank_text_is_null() -> None:
    assert cv.to_decimal("  ") is None


def test_conversion_error_never_contains_value() -> None:
    with pytest.raises(cv.ConversionError) as caught:
        cv.to_decimal("marker-4417@example.com")
    assert "marker-4417" not in str(caught.value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (
            12345678901234567890123456789012345678,
            "12345678901234567890123456789012345678",
        ),
        (
            Decimal("12345678901234567890123456789012345678"),
            "12345678901234567890123456789012345678",
        ),
        (Decimal("4500.000"), "4500"),
        (Decimal("1E+3"), "1000"),
        (450.0, "450"),
        (" ab-12 ", "ab-12"),
        (
            uuid.UUID("3cd8c16e-ba1a-4e32-9fec-2bf03997e063"),
            "3cd8c16e-ba1a-4e32-9fec-2bf03997e063",
        ),
    ],
)
def test_ids_convert_digit_for_digit(value: object, expected: str) -> None:
    assert cv.to_id(value) == expected


@pytest.mark.parametrize("value", [Decimal("12.5"), 2.0**53, 1.5, True, b"x"])
def test_ids_reject_inexact_values(value: object) -> None:
    with pytest.raises(cv.ConversionError):
        cv.to_id(value)


def test_naive_timestamp_takes_declared_zone() -> None:
    convert = cv.timestamp_converter(NEW_YORK)
    assert convert(datetime(2024, 9, 1, 15, 1)) == "2024-09-01T15:01:00-04:00"
    assert convert(datetime(2024, 1, 15, 9, 30)) == "2024-01-15T09:30:00-05:00"


def test_timestamp_in_dst_gap() -> None:
    """02:30 does not exist on 2024-03-10 in New York; fold=0 reads it as EST."""
    convert = cv.timestamp_converter(NEW_YORK)
    text = convert(datetime(2024, 3, 10, 2, 30))
    assert text == "2024-03-10T02:30:00-05:00"
    assert datetime.fromisoformat(text).astimezone(UTC).hour == 7


def test_timestamp_in_dst_fold() -> None:
    """01:30 happens twice on 2024-11-03 in New York; fold=0 is the EDT one."""
    convert = cv.timestamp_converter(NEW_YORK)
    assert convert(datetime(2024, 11, 3, 1, 30)) == "2024-11-03T01:30:00-04:00"
    assert convert(datetime(2024, 11, 3, 1, 30, fold=1)) == "2024-11-03T01:30:00-04:00"
    assert convert(datetime(2024, 11, 3, 2, 30)) == "2024-11-03T02:30:00-05:00"


def test_aware_timestamp_keeps_its_instant() -> None:
    convert = cv.timestamp_converter(NEW_YORK)
    moment = datetime(2024, 9, 1, 19, 1, tzinfo=UTC)
    text = convert(moment)
    assert text == "2024-09-01T19:01:00+00:00"
    tokyo = datetime(2024, 9, 2, 4, 1, tzinfo=timezone(timedelta(hours=9)))
    assert datetime.fromisoformat(convert(tokyo)) == moment


def test_date_becomes_midnight_in_zone() -> None:
    convert = cv.timestamp_converter(NEW_YORK)
    assert convert(date(2024, 9, 1)) == "2024-09-01T00:00:00-04:00"


def test_date_only_truncates_timestamps() -> None:
    convert = cv.timestamp_converter(NEW_YORK, date_only=True)
    assert convert(datetime(2024, 9, 1, 15, 1)) == "2024-09-01T00:00:00-04:00"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-09-01T15:01:00", "2024-09-01T15:01:00-04:00"),
        ("2024-09-01 15:01:00", "2024-09-01T15:01:00-04:00"),
        ("2024-09-01T19:01:00Z", "2024-09-01T19:01:00+00:00"),
        ("2024-09-01T15:01:00.123456789+02:00", "2024-09-01T15:01:00.123456+02:00"),
        ("2024-09-01", "2024-09-01T00:00:00-04:00"),
    ],
)
def test_iso_strings_are_parsed(text: str, expected: str) -> None:
    assert cv.timestamp_converter(NEW_YORK)(text) == expected


@pytest.mark.parametrize("value", ["yesterday", "01/09/2024", 1725202860])
def test_timestamp_rejects_other_values(value: object) -> None:
    with pytest.raises(cv.ConversionError):
        cv.timestamp_converter(NEW_YORK)(value)


@pytest.mark.parametrize(
    ("value", "separator", "expected"),
    [
        ("SUMMER, vip ,SUMMER,, ", ",", ["SUMMER", "vip"]),
        (["a", "b", "a", None, " "], None, ["a", "b"]),
        (("x", 5), None, ["x", "5"]),
        (
            '[\n  "SPRING10",\n  "FREESHIP",\n  "SPRING10"\n]',
            None,
            ["SPRING10", "FREESHIP"],
        ),
        ('["a", "b"]', ",", ["a", "b"]),
        ("single", None, ["single"]),
        ("[not json", ",", ["[not json"]),
        (" , ", ",", None),
        ([], None, None),
    ],
)
def test_lists_are_unique_and_without_blanks(
    value: object, separator: str | None, expected: list[str] | None
) -> None:
    assert cv.list_converter(separator)(value) == expected


def test_list_rejects_nested_items() -> None:
    with pytest.raises(cv.ConversionError):
        cv.list_converter(None)([["a"]])


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (True, True),
        (False, False),
        (1, True),
        (0, False),
        (Decimal(1), True),
        ("true", True),
        ("FALSE", False),
        (" yes ", True),
        ("0", False),
        ("", None),
    ],
)
def test_booleans_from_common_forms(value: object, expected: bool | None) -> None:
    assert cv.to_bool(value) is expected


@pytest.mark.parametrize("value", [2, "maybe", 1.0])
def test_boolean_rejects_other_values(value: object) -> None:
    with pytest.raises(cv.ConversionError):
        cv.to_bool(value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (3, 3),
        (Decimal("3.000"), 3),
        ("2", 2),
        (2.5, Decimal("2.5")),
        (Decimal("0.5"), Decimal("0.5")),
    ],
)
def test_quantities_are_int_when_whole(value: object, expected: object) -> None:
    result = cv.to_number(value)
    assert result == expected
    assert type(result) is type(expected)


@pytest.mark.parametrize(
    ("value", "expected"), [("us", "USA"), ("GB", "GBR"), ("DEU", "DEU"), ("zz", "ZZ")]
)
def test_country_codes_become_alpha3(value: str, expected: str) -> None:
    assert cv.to_country(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"), [("USA", "US"), ("gb", "GB"), (" deu ", "DE")]
)
def test_phone_regions_become_alpha2(value: str, expected: str) -> None:
    assert cv.to_region(value) == expected


def test_phone_numbers_keep_text_or_whole_numbers() -> None:
    assert cv.to_phone("+1 415 555 2671") == "+1 415 555 2671"
    assert cv.to_phone(Decimal("4155552671")) == 4155552671
    assert cv.to_phone(4155552671.0) == 4155552671
    with pytest.raises(cv.ConversionError):
        cv.to_phone(Decimal("415.5"))


def test_prehashed_values_are_trimmed_and_lowercased() -> None:
    assert cv.to_sha256(" ABCDEF ") == "abcdef"


def test_aliases_from_json_text() -> None:
    text = '[{"type": "shopify_checkout_token", "id": 12345}]'
    assert cv.to_aliases(text) == [{"type": "shopify_checkout_token", "id": "12345"}]
    with pytest.raises(cv.ConversionError):
        cv.to_aliases('[{"id": 1}]')
