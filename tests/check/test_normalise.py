"""Tests for importer.check.normalise: every accepted form and every refusal, with exact values."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from importer.check import normalise
from importer.check.normalise import (
    amount_currency,
    both_orders,
    both_separators,
    date_warnings,
    detect_day_first,
    detect_decimal_separator,
    parse_amount,
    parse_currency,
    parse_date,
    parse_legacy_id,
    parse_number_like_text,
    parse_text,
    parse_uuid,
    parse_uuid_list,
)

CPH = ZoneInfo("Europe/Copenhagen")
NY = ZoneInfo("America/New_York")
UUID = "3f2b8c1e-9d4a-4e6b-8f1a-2c3d4e5f6a7b"
UUID2 = "0b5a7c2d-1e3f-4a5b-9c6d-7e8f9a0b1c2d"


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def refusal(parse, *args, **kwargs) -> str:
    """The message of the ValueError ``parse(*args, **kwargs)`` raises (none: the test fails)."""
    with pytest.raises(ValueError) as caught:
        parse(*args, **kwargs)
    return str(caught.value)


# ---------------------------------------------------------------------------------------------
# parse_amount
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "decimal", "expected"),
    [
        pytest.param("1500", ".", Decimal("1500"), id="plain-integer"),
        pytest.param("1500.5", ".", Decimal("1500.5"), id="excel-one-decimal"),
        pytest.param("1500.00", ".", Decimal("1500.00"), id="two-decimals-kept"),
        pytest.param("0.99", ".", Decimal("0.99"), id="below-one"),
        pytest.param("0", ".", Decimal("0"), id="zero"),
        pytest.param(".5", ".", Decimal("0.5"), id="leading-point"),
        pytest.param("  1500.00 ", ".", Decimal("1500.00"), id="surrounding-spaces"),
        pytest.param("$1,500.00", ".", Decimal("1500.00"), id="dollar-thousands-comma"),
        pytest.param("1,500", ".", Decimal("1500"), id="thousands-comma-no-decimals"),
        pytest.param("1,234,567.89", ".", Decimal("1234567.89"), id="two-thousands-groups"),
        pytest.param("1.500,00", ",", Decimal("1500.00"), id="decimal-comma-thousands-dot"),
        pytest.param("1500,5", ",", Decimal("1500.5"), id="decimal-comma-plain"),
        pytest.param("1.500", ",", Decimal("1500"), id="decimal-comma-column-thousands-dot"),
        pytest.param("1 500,00 €", ",", Decimal("1500.00"), id="space-thousands-euro-after"),
        pytest.param("1\u00a0500,00", ",", Decimal("1500.00"), id="nbsp-thousands"),
        pytest.param("1\u202f500,00\u00a0€", ",", Decimal("1500.00"), id="narrow-nbsp-thousands"),
        pytest.param("USD 1500", ".", Decimal("1500"), id="iso-code-before"),
        pytest.param("1500 EUR", ".", Decimal("1500"), id="iso-code-after"),
        pytest.param("1500EUR", ".", Decimal("1500"), id="iso-code-attached"),
        pytest.param("€1.234,56", ",", Decimal("1234.56"), id="euro-before-decimal-comma"),
        pytest.param("1'500.00", ".", Decimal("1500.00"), id="swiss-apostrophe"),
        pytest.param("CHF 1'500.00", ".", Decimal("1500.00"), id="swiss-chf"),
        pytest.param("1\u2019500.00", ".", Decimal("1500.00"), id="typographic-apostrophe"),
        pytest.param("+1500", ".", Decimal("1500"), id="explicit-plus"),
        pytest.param("£12.50", ".", Decimal("12.50"), id="pound"),
        pytest.param("¥1500", ".", Decimal("1500"), id="yen"),
        pytest.param("1.500,00 kr", ",", Decimal("1500.00"), id="kroner-after"),
        pytest.param("kr. 1.500,00", ",", Decimal("1500.00"), id="kroner-dot-before"),
        pytest.param("US$ 99.90", ".", Decimal("99.90"), id="us-dollar"),
        pytest.param("$ 1500 USD", ".", Decimal("1500"), id="symbol-and-same-code"),
        pytest.param("0012", ".", Decimal("12"), id="leading-zeros"),
    ],
)
def test_parse_amount_accepts(text: str, decimal: str, expected: Decimal) -> None:
    result = parse_amount(text, decimal=decimal)
    assert result == expected
    assert str(result) == str(expected)  # same decimals as written, never an exponent


@pytest.mark.parametrize(
    ("text", "decimal", "reason"),
    [
        pytest.param("", ".", "amount is empty; enter the purchase amount", id="empty"),
        pytest.param("   ", ".", "amount is empty; enter the purchase amount", id="blank"),
        pytest.param(
            "12,5O",
            ",",
            "amount '12,5O' is not a number (letter O instead of zero?); "
            "enter the amount as digits, e.g. 1500.00",
            id="letter-O",
        ),
        pytest.param(
            "l500",
            ".",
            "amount 'l500' is not a number (letter l instead of 1?); "
            "enter the amount as digits, e.g. 1500.00",
            id="letter-l",
        ),
        pytest.param(
            "abc",
            ".",
            "amount 'abc' is not a number; enter the amount as digits, e.g. 1500.00",
            id="words",
        ),
        pytest.param(
            "#VALUE!",
            ".",
            "amount '#VALUE!' is not a number; enter the amount as digits, e.g. 1500.00",
            id="excel-error",
        ),
        pytest.param(
            "$",
            ".",
            "amount '$' is not a number; enter the amount as digits, e.g. 1500.00",
            id="symbol-only",
        ),
        pytest.param(
            "NaN",
            ".",
            "amount 'NaN' is not a number; enter the amount as digits, e.g. 1500.00",
            id="nan",
        ),
        pytest.param(
            "inf",
            ".",
            "amount 'inf' is not a number; enter the amount as digits, e.g. 1500.00",
            id="inf",
        ),
        pytest.param(
            "-Infinity",
            ".",
            "amount '-Infinity' is not a number; enter the amount as digits, e.g. 1500.00",
            id="minus-infinity",
        ),
        pytest.param(
            "-12",
            ".",
            "amount '-12' is negative; negative amounts (refunds) are not imported, "
            "remove the row or enter the purchase amount",
            id="negative-minus",
        ),
        pytest.param("(12.00)", ".", "amount '(12.00)' is negative;", id="negative-parentheses"),
        pytest.param("12-", ".", "amount '12-' is negative;", id="negative-trailing-minus"),
        pytest.param("-$12.00", ".", "amount '-$12.00' is negative;", id="negative-before-symbol"),
        pytest.param("$-12.00", ".", "amount '$-12.00' is negative;", id="negative-after-symbol"),
        pytest.param("($1,200.00)", ".", "amount '($1,200.00)' is negative;", id="accounting"),
        pytest.param("\u221212", ".", "amount '\u221212' is negative;", id="unicode-minus"),
        pytest.param("-12.345", ".", "amount '-12.345' is negative;", id="negative-wins"),
        pytest.param(
            "12.3456",
            ".",
            "amount '12.3456' has more than 2 decimal places; round it or use --allow-precision",
            id="four-decimals",
        ),
        pytest.param(
            "12.345",
            ".",
            "amount '12.345' reads as 12.345, with 3 decimal places, because '.' is this column's "
            "decimal separator; if '.' separates thousands here, use --decimal ,; otherwise round "
            "it or use --allow-precision",
            id="three-decimals-or-thousands",
        ),
        pytest.param(
            "$1,500",
            ",",
            "amount '$1,500' reads as 1.500, with 3 decimal places, because ',' is this column's "
            "decimal separator; if ',' separates thousands here, use --decimal .;",
            id="comma-three-decimals-or-thousands",
        ),
        pytest.param(
            "0.125",
            ".",
            "amount '0.125' has more than 2 decimal places; round it or use --allow-precision",
            id="three-decimals-not-a-group",
        ),
        pytest.param(
            "1,2345",
            ",",
            "amount '1,2345' has more than 2 decimal places; round it or use --allow-precision",
            id="four-decimals-comma",
        ),
        pytest.param(
            "1.2E+03",
            ".",
            "amount '1.2E+03' looks like scientific notation (Excel damage); format the column "
            "as Number in Excel and export again",
            id="scientific",
        ),
        pytest.param("1e5", ".", "looks like scientific notation", id="scientific-lower"),
        pytest.param("1,2E+03", ",", "looks like scientific notation", id="scientific-comma"),
        pytest.param(
            "1,50,0",
            ".",
            "amount '1,50,0' has a thousands separator in the wrong place; write it like "
            "1,500,000.00 or without thousands separators",
            id="thousands-wrong-place",
        ),
        pytest.param(
            "15,00,000.00",
            ".",
            "amount '15,00,000.00' has a thousands separator in the wrong place;",
            id="indian-grouping",
        ),
        pytest.param(
            "1 5",
            ".",
            "amount '1 5' has a thousands separator in the wrong place;",
            id="space-wrong-place",
        ),
        pytest.param(
            "1,500 000.00",
            ".",
            "amount '1,500 000.00' has a thousands separator in the wrong place;",
            id="mixed-thousands-kinds",
        ),
        pytest.param(
            "1,50",
            ".",
            "amount '1,50' uses ',' as decimal separator but this column uses '.'; "
            "correct the value or use --decimal ,",
            id="comma-value-in-point-column",
        ),
        pytest.param(
            "1.500,00",
            ".",
            "amount '1.500,00' uses ',' as decimal separator but this column uses '.'; "
            "correct the value or use --decimal ,",
            id="european-value-in-point-column",
        ),
        pytest.param(
            "1,500.00",
            ",",
            "amount '1,500.00' uses '.' as decimal separator but this column uses ','; "
            "correct the value or use --decimal .",
            id="us-value-in-comma-column",
        ),
        pytest.param(
            "1.2.3",
            ".",
            "amount '1.2.3' has a thousands separator in the wrong place;",
            id="two-points",
        ),
        pytest.param(
            "$12 EUR",
            ".",
            "amount '$12 EUR' names two different currencies; keep one currency mark",
            id="two-currencies",
        ),
        pytest.param(
            "1500 abc",
            ".",
            "amount '1500 abc' is not a number",
            id="unknown-lower-case-code-refused",
        ),
    ],
)
def test_parse_amount_refuses(text: str, decimal: str, reason: str) -> None:
    assert reason in refusal(parse_amount, text, decimal=decimal)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("12.345", Decimal("12.345"), id="three-decimals"),
        pytest.param("0.0001", Decimal("0.0001"), id="four-decimals-no-exponent"),
        pytest.param("$1,500.12345", Decimal("1500.12345"), id="with-thousands"),
    ],
)
def test_parse_amount_allow_precision(text: str, expected: Decimal) -> None:
    result = parse_amount(text, allow_precision=True)
    assert str(result) == str(expected)


def test_parse_amount_rejects_unknown_decimal_option() -> None:
    with pytest.raises(ValueError, match="decimal separator must be"):
        parse_amount("1 500", decimal=";")


# ---------------------------------------------------------------------------------------------
# amount_currency / parse_currency
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("$1,500.00", "USD", id="dollar"),
        pytest.param("€1.234,56", "EUR", id="euro-before"),
        pytest.param("1 500,00 €", "EUR", id="euro-after"),
        pytest.param("£12", "GBP", id="pound"),
        pytest.param("¥1500", "JPY", id="yen"),
        pytest.param("USD 1500", "USD", id="code-before"),
        pytest.param("1500 DKK", "DKK", id="code-after"),
        pytest.param("CHF 1'500.00", "CHF", id="chf"),
        pytest.param("1500 kr", None, id="kroner-ambiguous"),
        pytest.param("15 Euro", "EUR", id="euro-word-after"),
        pytest.param("EUROS 1.500,00", "EUR", id="euro-word-before"),
        pytest.param("15 Europa", None, id="not-a-currency-word"),
        pytest.param("1500", None, id="none"),
        pytest.param("1.500,00", None, id="none-european"),
        pytest.param("", None, id="empty"),
    ],
)
def test_amount_currency(text: str, expected: str | None) -> None:
    assert amount_currency(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("usd ", "USD", id="lower-with-space"),
        pytest.param("EUR", "EUR", id="upper"),
        pytest.param("€", "EUR", id="euro-sign"),
        pytest.param("$", "USD", id="dollar-sign"),
        pytest.param("£", "GBP", id="pound-sign"),
        pytest.param(" Dkk", "DKK", id="mixed-case"),
    ],
)
def test_parse_currency(text: str, expected: str) -> None:
    assert parse_currency(text) == expected


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        pytest.param("", "currency is empty; enter a 3-letter code such as EUR or USD", id="empty"),
        pytest.param(
            "dollar",
            "currency 'dollar' is not a 3-letter currency code; enter a code such as EUR or USD",
            id="word-naming-several-currencies",
        ),
        pytest.param(
            "US",
            "currency 'US' is not a 3-letter currency code; enter a code such as EUR or USD",
            id="two-letters",
        ),
        pytest.param(
            "EU1",
            "currency 'EU1' is not a 3-letter currency code; enter a code such as EUR or USD",
            id="digit",
        ),
        pytest.param(
            "ÉUR",
            "currency 'ÉUR' is not a 3-letter currency code; enter a code such as EUR or USD",
            id="non-ascii",
        ),
        pytest.param(
            "kr",
            "currency 'kr' is ambiguous (DKK, SEK, NOK or ISK?); enter the 3-letter code",
            id="kroner",
        ),
    ],
)
def test_parse_currency_refuses(text: str, reason: str) -> None:
    assert refusal(parse_currency, text) == reason


# ---------------------------------------------------------------------------------------------
# detect_decimal_separator
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        pytest.param(["1,500", "2,25"], ",", id="thousands-ambiguous-plus-decimal-comma"),
        pytest.param(["1.500,00"], ",", id="european-full"),
        pytest.param(["1,500.00"], ".", id="us-full"),
        pytest.param(["12.5"], ".", id="point-one-decimal"),
        pytest.param(["1.500"], None, id="point-three-digits-ambiguous"),
        pytest.param(["1,500"], None, id="comma-three-digits-ambiguous"),
        pytest.param(["1500", "200", ""], None, id="integers-only"),
        pytest.param([], None, id="empty-column"),
        pytest.param(["1500.5", "99.99", "12.3456"], ".", id="excel-numbers-1-2-4-decimals"),
        pytest.param(["1500.125"], ".", id="four-digit-whole-part-cannot-be-thousands"),
        pytest.param(["0,500"], ",", id="zero-whole-part-cannot-be-thousands"),
        pytest.param(["1,500,000"], ".", id="comma-twice-is-thousands"),
        pytest.param(["1.500.000"], ",", id="point-twice-is-thousands"),
        pytest.param(["1 500,00 €", "€ 12,00"], ",", id="with-currency-and-spaces"),
        pytest.param(["$1,500.00", "$2,25"], None, id="tie"),
        pytest.param(["1,50", "2,25", "3.75"], ",", id="contradictory-majority-comma"),
        pytest.param(["1.50", "2.25", "3,75"], ".", id="contradictory-majority-point"),
        pytest.param(["abc", "n/a", "12,5O"], None, id="not-numbers-ignored"),
        pytest.param(["1'500.00"], ".", id="swiss"),
    ],
)
def test_detect_decimal_separator(values: list[str], expected: str | None) -> None:
    assert detect_decimal_separator(values) == expected


def test_detect_decimal_separator_takes_a_generator() -> None:
    assert detect_decimal_separator(v for v in ["1,500", "2,25"]) == ","


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        pytest.param(["2,25", "3,10", "4.75", "1.500"], ("2,25", "4.75"), id="majority-comma"),
        pytest.param(["1,234.56", "EUR 1.234,00"], ("EUR 1.234,00", "1,234.56"), id="grouped"),
        pytest.param(["2,25", "4.75"], ("2,25", "4.75"), id="tie"),
        pytest.param(["2,25", "1.500", "1,500"], None, id="one-way-and-undecided"),
        pytest.param(["1500", "12.50", "$1,500.00"], None, id="point-only"),
        pytest.param([], None, id="empty"),
    ],
)
def test_both_separators(values: list[str], expected: tuple[str, str] | None) -> None:
    assert both_separators(values) == expected


@pytest.mark.parametrize(
    ("text", "decimal", "readings"),
    [
        pytest.param("1.500", ",", "1500 or 1.5", id="dotted-in-comma-column"),
        pytest.param("1,500", ".", "1500 or 1.5", id="comma-in-point-column"),
        pytest.param("€ 12.000", ",", "12000 or 12", id="with-currency"),
        pytest.param("123,456", ",", "123456 or 123.456", id="three-decimals"),
    ],
)
def test_parse_amount_both_ways_refuses_what_reads_both_ways(
    text: str, decimal: str, readings: str
) -> None:
    assert refusal(parse_amount, text, decimal=decimal, both_ways=("2,25", "4.75")) == (
        f"amount '{text}' is ambiguous ({readings}?) and this column is written with both "
        "decimal separators ('2,25' has a decimal comma, '4.75' a decimal point), so its "
        "separator cannot be known; write it without a thousands separator, or rerun with "
        "--decimal , or --decimal . to read the whole column one way"
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("2,25", Decimal("2.25"), id="the-column-form"),
        pytest.param("1.234,56", Decimal("1234.56"), id="grouped-with-decimals"),
        pytest.param("1500", Decimal("1500"), id="no-separator"),
        pytest.param("1.500.000", Decimal("1500000"), id="grouped-twice"),
    ],
)
def test_parse_amount_both_ways_keeps_plain_readings(text: str, expected: Decimal) -> None:
    assert parse_amount(text, decimal=",", both_ways=("2,25", "4.75")) == expected


# ---------------------------------------------------------------------------------------------
# parse_date
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "day_first", "expected", "had_time"),
    [
        pytest.param("2026-04-21", None, utc(2026, 4, 21), False, id="iso-date"),
        pytest.param(" 2026-04-21 ", None, utc(2026, 4, 21), False, id="iso-date-spaces"),
        pytest.param("2026-4-1", None, utc(2026, 4, 1), False, id="iso-date-short-parts"),
        pytest.param("2026-04-21T10:30", None, utc(2026, 4, 21, 10, 30), True, id="iso-minutes"),
        pytest.param("2026-04-21T10:30:00", None, utc(2026, 4, 21, 10, 30), True, id="iso-seconds"),
        pytest.param(
            "2026-04-21T10:30:15.250",
            None,
            utc(2026, 4, 21, 10, 30, 15, 250000),
            True,
            id="iso-fraction",
        ),
        pytest.param(
            "2026-04-21T10:30:15.1234567",
            None,
            utc(2026, 4, 21, 10, 30, 15, 123456),
            True,
            id="iso-fraction-beyond-micro",
        ),
        pytest.param("2026-04-21 10:30", None, utc(2026, 4, 21, 10, 30), True, id="iso-space"),
        pytest.param("2026-04-21T10:30:00Z", None, utc(2026, 4, 21, 10, 30), True, id="iso-z"),
        pytest.param(
            "2026-04-21T10:30:00+02:00", None, utc(2026, 4, 21, 8, 30), True, id="offset-plus"
        ),
        pytest.param(
            "2026-04-21T10:30:00-05:30", None, utc(2026, 4, 21, 16, 0), True, id="offset-minus"
        ),
        pytest.param(
            "2026-04-21T01:00:00+0200", None, utc(2026, 4, 20, 23, 0), True, id="offset-no-colon"
        ),
        pytest.param("2026-04-21 10:30 UTC", None, utc(2026, 4, 21, 10, 30), True, id="utc-suffix"),
        pytest.param("21.04.2026", None, utc(2026, 4, 21), False, id="dotted"),
        pytest.param("05.04.2026", None, utc(2026, 4, 5), False, id="dotted-ambiguous-day-first"),
        pytest.param("21/04/2026", True, utc(2026, 4, 21), False, id="slash-day-first"),
        pytest.param("04/21/2026", False, utc(2026, 4, 21), False, id="slash-month-first"),
        pytest.param("23/04/2026", None, utc(2026, 4, 23), False, id="unambiguous-undecided"),
        pytest.param("04/05/2026", True, utc(2026, 5, 4), False, id="ambiguous-day-first"),
        pytest.param("04/05/2026", False, utc(2026, 4, 5), False, id="ambiguous-month-first"),
        pytest.param("05/05/2026", None, utc(2026, 5, 5), False, id="same-either-way"),
        pytest.param("21-04-2026", True, utc(2026, 4, 21), False, id="dashes"),
        pytest.param("4/5/26", False, utc(2026, 4, 5), False, id="short-parts-two-digit-year"),
        pytest.param("21/04/26", True, utc(2026, 4, 21), False, id="two-digit-year-26"),
        pytest.param("21/04/00", True, utc(2000, 4, 21), False, id="two-digit-year-00"),
        pytest.param("21/04/99", True, utc(1999, 4, 21), False, id="two-digit-year-99"),
        pytest.param("21/04/2026 14:05", True, utc(2026, 4, 21, 14, 5), True, id="slash-with-time"),
        pytest.param(
            "21/04/2026 14:05:09", True, utc(2026, 4, 21, 14, 5, 9), True, id="slash-seconds"
        ),
        pytest.param("21/04/2026 2:05 PM", True, utc(2026, 4, 21, 14, 5), True, id="pm"),
        pytest.param("21/04/2026 12:05 AM", True, utc(2026, 4, 21, 0, 5), True, id="midnight-am"),
        pytest.param("21/04/2026 12:05 pm", True, utc(2026, 4, 21, 12, 5), True, id="noon-pm"),
        pytest.param("2026/04/21", None, utc(2026, 4, 21), False, id="year-first-slash"),
        pytest.param("21 Apr 2026", None, utc(2026, 4, 21), False, id="day-month-name"),
        pytest.param("21 April 2026", None, utc(2026, 4, 21), False, id="day-full-month-name"),
        pytest.param("Apr 21, 2026", None, utc(2026, 4, 21), False, id="month-name-day-comma"),
        pytest.param("21-Apr-2026", None, utc(2026, 4, 21), False, id="dashed-month-name"),
        pytest.param("21-apr-26", None, utc(2026, 4, 21), False, id="dashed-month-short-year"),
        pytest.param("April 21 2026", None, utc(2026, 4, 21), False, id="full-month-name-day"),
        pytest.param("Sept 1, 2026", None, utc(2026, 9, 1), False, id="sept"),
        pytest.param(
            "21 Apr 2026 14:05", None, utc(2026, 4, 21, 14, 5), True, id="month-name-with-time"
        ),
        pytest.param("20260421", None, utc(2026, 4, 21), False, id="compact-yyyymmdd"),
        pytest.param("45678", None, utc(2025, 1, 21), False, id="excel-serial"),
        pytest.param("45678.0", None, utc(2025, 1, 21), False, id="excel-serial-point-zero"),
        pytest.param("45678.5", None, utc(2025, 1, 21, 12), True, id="excel-serial-noon"),
        pytest.param(
            "45678.604166666664", None, utc(2025, 1, 21, 14, 30), True, id="excel-serial-float"
        ),
        pytest.param("45678.99999999", None, utc(2025, 1, 22), False, id="serial-rounds-up"),
        pytest.param("25569", None, utc(1970, 1, 1), False, id="excel-serial-first"),
        pytest.param("73050.5", None, utc(2099, 12, 31, 12), True, id="excel-serial-last"),
    ],
)
def test_parse_date_accepts_utc(
    text: str, day_first: bool | None, expected: datetime, had_time: bool
) -> None:
    assert parse_date(text, day_first=day_first, tz=UTC) == (expected, had_time)


@pytest.mark.parametrize(
    ("text", "tz", "expected", "had_time"),
    [
        pytest.param("2026-01-15", CPH, utc(2026, 1, 14, 23), False, id="cph-winter-date"),
        pytest.param("2026-07-15", CPH, utc(2026, 7, 14, 22), False, id="cph-summer-date"),
        pytest.param("15.01.2026", CPH, utc(2026, 1, 14, 23), False, id="cph-winter-dotted"),
        pytest.param("15.07.2026", CPH, utc(2026, 7, 14, 22), False, id="cph-summer-dotted"),
        pytest.param(
            "2026-03-29T03:30:00", CPH, utc(2026, 3, 29, 1, 30), True, id="cph-after-spring-jump"
        ),
        pytest.param(
            "2026-10-25T02:30:00", CPH, utc(2026, 10, 25, 0, 30), True, id="cph-repeated-hour"
        ),
        pytest.param(
            "2026-03-29T02:30:00", CPH, utc(2026, 3, 29, 1, 30), True, id="cph-missing-hour-fold-0"
        ),
        pytest.param(
            "2026-07-15T10:00:00+02:00", NY, utc(2026, 7, 15, 8), True, id="offset-beats-tz"
        ),
        pytest.param("2026-07-15T10:00:00Z", CPH, utc(2026, 7, 15, 10), True, id="z-beats-tz"),
        pytest.param("45678", CPH, utc(2025, 1, 20, 23), False, id="cph-serial"),
        pytest.param("45678.5", NY, utc(2025, 1, 21, 17), True, id="ny-serial-noon"),
        pytest.param("Jul 4, 2026", NY, utc(2026, 7, 4, 4), False, id="ny-summer-month-name"),
        pytest.param(
            "2026-04-21", timezone(timedelta(hours=5)), utc(2026, 4, 20, 19), False, id="fixed-tz"
        ),
    ],
)
def test_parse_date_timezones(text: str, tz, expected: datetime, had_time: bool) -> None:
    result, result_had_time = parse_date(text, day_first=True, tz=tz)
    assert result == expected
    assert result.tzinfo is UTC
    assert result_had_time is had_time


@pytest.mark.parametrize(
    ("text", "day_first", "reason"),
    [
        pytest.param("", None, "date is empty; enter the purchase date", id="empty"),
        pytest.param("  ", True, "date is empty; enter the purchase date", id="blank"),
        pytest.param(
            "04/05/2026",
            None,
            "date '04/05/2026' is ambiguous (4 May or 5 April 2026?); "
            "rerun with --day-first or --month-first",
            id="ambiguous-undecided",
        ),
        pytest.param(
            "31/02/2026",
            True,
            "date '31/02/2026' does not exist (February 2026 has 28 days); check the value",
            id="thirty-first-february",
        ),
        pytest.param(
            "29.02.2025",
            None,
            "date '29.02.2025' does not exist (February 2025 has 28 days)",
            id="not-a-leap-year",
        ),
        pytest.param(
            "2026-02-30",
            None,
            "date '2026-02-30' does not exist (February 2026 has 28 days); check the value",
            id="iso-impossible-day",
        ),
        pytest.param(
            "2026-13-01",
            None,
            "date '2026-13-01' has month 13, which does not exist; check the value",
            id="iso-month-13",
        ),
        pytest.param(
            "31/04/2026",
            True,
            "date '31/04/2026' does not exist (April 2026 has 30 days)",
            id="thirty-first-april",
        ),
        pytest.param(
            "23/04/2026",
            False,
            "date '23/04/2026' does not fit this column, which reads dates as month/day/year "
            "(month 23?); correct the value or use --day-first",
            id="day-first-value-in-month-first-column",
        ),
        pytest.param(
            "04/23/2026",
            True,
            "date '04/23/2026' does not fit this column, which reads dates as day/month/year "
            "(month 23?); correct the value or use --month-first",
            id="month-first-value-in-day-first-column",
        ),
        pytest.param("13/13/2026", None, "date '13/13/2026' does not fit", id="both-parts-big"),
        pytest.param(
            "2026-04-21T25:00",
            None,
            "date '2026-04-21T25:00' has a time that does not exist; check the value",
            id="hour-25",
        ),
        pytest.param(
            "21/04/2026 14:05 PM",
            True,
            "date '21/04/2026 14:05 PM' has hour 14 with PM; use 1-12 with AM/PM",
            id="pm-with-24h-hour",
        ),
        pytest.param(
            "2026-04-21T10:00+25:00",
            None,
            "date '2026-04-21T10:00+25:00' has an impossible UTC offset '+25:00'",
            id="bad-offset",
        ),
        pytest.param(
            "01.03.2026",
            False,
            "date '01.03.2026' is written with dots, the day-first European style, but this "
            "column reads dates month-first (1 March or 3 January?); write it as YYYY-MM-DD",
            id="dotted-in-month-first-column",
        ),
        pytest.param(
            "500.00",
            None,
            "date '500.00' is not a date: a number in a date column is read as an Excel serial "
            "date, and only 25569 to 73050 (1970 to 2099) are plausible; check the column, or "
            "use YYYY-MM-DD",
            id="amount-in-date-column",
        ),
        pytest.param("0", None, "only 25569 to 73050 (1970 to 2099)", id="serial-zero"),
        pytest.param("12", None, "only 25569 to 73050 (1970 to 2099)", id="day-of-month"),
        pytest.param("60", None, "only 25569 to 73050", id="excel-fake-leap-day"),
        pytest.param("25568.99", None, "only 25569 to 73050", id="serial-1969"),
        pytest.param("73051", None, "only 25569 to 73050", id="serial-2100"),
        pytest.param("2958465", None, "only 25569 to 73050", id="serial-9999"),
        pytest.param(
            "yesterday",
            None,
            "date 'yesterday' is not a date I can read; use YYYY-MM-DD (e.g. 2026-04-21) "
            "or DD/MM/YYYY",
            id="words",
        ),
        pytest.param("21 Foo 2026", None, "is not a date I can read", id="unknown-month-name"),
        pytest.param("-45678", None, "is not a date I can read", id="negative-serial"),
        pytest.param("2026-04", None, "is not a date I can read", id="year-month-only"),
        pytest.param("21/04", True, "is not a date I can read", id="no-year"),
        pytest.param("20261321", None, "has month 13", id="compact-month-13"),
        pytest.param(
            "21/04/69",
            True,
            "date '21/04/69' has a two-digit year (1969 or 2069?); write the year with four digits",
            id="two-digit-year-69",
        ),
        pytest.param("31/12/70", True, "(1970 or 2070?)", id="two-digit-year-70"),
        pytest.param("1-Oct-50", None, "(1950 or 2050?)", id="month-name-two-digit-year-50"),
    ],
)
def test_parse_date_refuses(text: str, day_first: bool | None, reason: str) -> None:
    assert reason in refusal(parse_date, text, day_first=day_first, tz=UTC)


def test_parse_date_last_day_west_of_utc_is_a_reason_not_a_crash() -> None:
    with pytest.raises(ValueError, match="out of range"):
        parse_date("9999-12-31 23:00", day_first=None, tz=NY)


# ---------------------------------------------------------------------------------------------
# detect_day_first
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        pytest.param(["23/04/2026", "01/02/2026"], True, id="day-over-12"),
        pytest.param(["04/23/2026", "01/02/2026"], False, id="second-over-12"),
        pytest.param(["01/02/2026", "03/04/2026"], None, id="all-ambiguous"),
        pytest.param(["2026-04-21", "45678", ""], None, id="no-slash-dates"),
        pytest.param([], None, id="empty"),
        pytest.param(["23.04.2026"], True, id="dotted-evidence"),
        pytest.param(["05.04.2026", "01.02.2026"], True, id="dotted-only-ambiguous"),
        pytest.param(["05.04.2026", "01/02/2026"], None, id="dotted-and-slash-ambiguous"),
        pytest.param(["01/02/2026", "05.04.2026"], None, id="slash-then-dotted-ambiguous"),
        pytest.param(["05.04.2026", "04/23/2026"], False, id="dotted-ambiguous-slash-evidence"),
        # Evidence both ways is no majority vote: the column has no order (see both_orders).
        pytest.param(["23/04/2026", "24/04/2026", "04/25/2026"], None, id="both-ways-more-day"),
        pytest.param(["23/04/2026", "04/24/2026", "04/25/2026"], None, id="both-ways-more-month"),
        pytest.param(["23/04/2026", "04/23/2026"], None, id="both-ways-tie"),
        pytest.param(["05.04.2026", "23/04/2026", "04/23/2026"], None, id="both-ways-dotted"),
        pytest.param(["4/5/26", "13/5/26"], True, id="short-forms"),
        pytest.param(["21-04-2026"], True, id="dashes"),
        pytest.param(["21/04/2026 14:05"], True, id="with-time"),
        pytest.param(["04/21/2026 2:05 PM"], False, id="with-am-pm"),
        pytest.param(["13/13/2026", "01/02/2026"], None, id="impossible-ignored"),
        pytest.param([" 23/04/2026 "], True, id="spaces"),
    ],
)
def test_detect_day_first(values: list[str], expected: bool | None) -> None:
    assert detect_day_first(values) is expected


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        pytest.param(
            ["04/23/2026", "04/24/2026", "23/04/2026", "03/04/2026"],
            ("23/04/2026", "04/23/2026"),
            id="majority-month-first",
        ),
        pytest.param(
            ["03/04/2026", " 13.1.26 ", "12-31-2026"], ("13.1.26", "12-31-2026"), id="any-separator"
        ),
        pytest.param(["23/04/2026", "24/04/2026", "03/04/2026"], None, id="one-way"),
        pytest.param(["04/23/2026", "2026-23-04", "45678"], None, id="only-one-numeric-order"),
        pytest.param([], None, id="empty"),
    ],
)
def test_both_orders(values: list[str], expected: tuple[str, str] | None) -> None:
    assert both_orders(values) == expected


BOTH = ("23/04/2026", "04/23/2026")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("23/04/2026", (utc(2026, 4, 23), False), id="only-day-first"),
        pytest.param("04/23/2026 14:05", (utc(2026, 4, 23, 14, 5), True), id="only-month-first"),
        pytest.param("04/04/2026", (utc(2026, 4, 4), False), id="same-either-way"),
    ],
)
def test_parse_date_both_orders_keeps_the_only_reading(text: str, expected: tuple) -> None:
    assert parse_date(text, day_first=None, tz=UTC, both_orders=BOTH) == expected


@pytest.mark.parametrize(
    ("text", "date1904", "expected"),
    [
        pytest.param("44620", False, utc(2022, 2, 28), id="1900-system"),
        pytest.param("44620", True, utc(2026, 3, 1), id="1904-system"),
        pytest.param("24107", True, utc(1970, 1, 1), id="1904-first-plausible"),
        pytest.param("71588.25", True, utc(2099, 12, 31, 6), id="1904-last-plausible"),
    ],
)
def test_parse_date_serial_date_system(text: str, date1904: bool, expected: datetime) -> None:
    assert parse_date(text, day_first=None, tz=UTC, date1904=date1904)[0] == expected


@pytest.mark.parametrize(
    ("text", "readings"),
    [
        pytest.param("03/04/2026", "3 April or 4 March 2026", id="slash"),
        pytest.param("03.04.2026", "3 April or 4 March 2026", id="dotted-not-guessed"),
    ],
)
def test_parse_date_both_orders_refuses_ambiguous(text: str, readings: str) -> None:
    assert refusal(parse_date, text, day_first=None, tz=UTC, both_orders=BOTH) == (
        f"date '{text}' is ambiguous ({readings}?) and this column is written both ways "
        "('23/04/2026' can only be day-first, '04/23/2026' only month-first), so its order "
        "cannot be known; write it as YYYY-MM-DD, or rerun with --day-first or --month-first "
        "to read the whole column one way"
    )


# ---------------------------------------------------------------------------------------------
# date_warnings
# ---------------------------------------------------------------------------------------------

NOW = utc(2026, 4, 21, 12)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param(utc(2026, 4, 21), [], id="today"),
        pytest.param(utc(2000, 1, 1), [], id="first-of-2000"),
        pytest.param(utc(2031, 1, 1), ["date 2031-01-01 is in the future"], id="future"),
        pytest.param(utc(2026, 4, 21, 12, 1), ["date 2026-04-21 is in the future"], id="later"),
        pytest.param(utc(1999, 12, 31), ["date 1999-12-31 is before 2000"], id="before-2000"),
        pytest.param(
            datetime(2000, 1, 1, tzinfo=CPH), [], id="local-midnight-2000-in-user-timezone"
        ),
    ],
)
def test_date_warnings(value: datetime, expected: list[str]) -> None:
    assert date_warnings(value, now=NOW) == expected


# ---------------------------------------------------------------------------------------------
# UUIDs
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(UUID, id="canonical"),
        pytest.param(UUID.upper(), id="upper-case"),
        pytest.param(f"  {UUID}\t", id="spaces"),
        pytest.param(f"{{{UUID}}}", id="braces"),
        pytest.param(f"{{{UUID.upper()}}} ", id="braces-upper"),
        pytest.param(f"urn:uuid:{UUID}", id="urn"),
        pytest.param(f"URN:UUID:{UUID.upper()}", id="urn-upper"),
        pytest.param(UUID.replace("-", ""), id="32-hex"),
        pytest.param(f"\u00a0{UUID}\u00a0", id="nbsp"),
    ],
)
def test_parse_uuid_accepts(text: str) -> None:
    assert parse_uuid(text) == UUID


@pytest.mark.parametrize(
    ("text", "field", "reason"),
    [
        pytest.param("", "lead_id", "lead_id is empty; enter the UUID", id="empty"),
        pytest.param(
            "abc",
            "lead_id",
            "lead_id 'abc' is not a valid UUID (expected 8-4-4-4-12 hex digits, "
            "e.g. 3f2b8c1e-9d4a-4e6b-8f1a-2c3d4e5f6a7b); it has 3 hex digits instead of 32",
            id="short-hex",
        ),
        pytest.param(
            UUID[:-1],
            "product_id",
            f"product_id '{UUID[:-1]}' is not a valid UUID (expected 8-4-4-4-12 hex digits, "
            "e.g. 3f2b8c1e-9d4a-4e6b-8f1a-2c3d4e5f6a7b); it has 31 hex digits instead of 32",
            id="one-digit-missing",
        ),
        pytest.param(
            UUID.replace("3f", "zz"),
            "lead_id",
            f"lead_id '{UUID.replace('3f', 'zz')}' is not a valid UUID (expected 8-4-4-4-12 hex "
            "digits, e.g. 3f2b8c1e-9d4a-4e6b-8f1a-2c3d4e5f6a7b)",
            id="non-hex",
        ),
        pytest.param(
            UUID.replace("-", "")[:8] + "-" + UUID.replace("-", "")[8:],
            "lead_id",
            "is not a valid UUID",
            id="dashes-in-wrong-places",
        ),
        pytest.param(f"{{{UUID}", "lead_id", "is not a valid UUID", id="one-brace"),
        pytest.param("12345", "lead_id", "is not a valid UUID", id="legacy-number"),
    ],
)
def test_parse_uuid_refuses(text: str, field: str, reason: str) -> None:
    assert reason in refusal(parse_uuid, text, field=field)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("", (), id="empty"),
        pytest.param("  ", (), id="blank"),
        pytest.param(UUID, (UUID,), id="one"),
        pytest.param(f"{UUID},{UUID2}", (UUID2, UUID), id="comma"),
        pytest.param(f"{UUID}; {UUID2}", (UUID2, UUID), id="semicolon-space"),
        pytest.param(f"{UUID}|{UUID2}", (UUID2, UUID), id="pipe"),
        pytest.param(f"{UUID}\n{UUID2}", (UUID2, UUID), id="newline"),
        pytest.param(f" {UUID} ,; |{UUID2}, ", (UUID2, UUID), id="mixed-and-trailing"),
        pytest.param(f"{UUID2},{UUID.upper()},{UUID}", (UUID2, UUID), id="duplicates-dropped"),
        pytest.param(f"{{{UUID}}},{{{UUID2}}}", (UUID2, UUID), id="braces"),
        pytest.param(f"{UUID2},{UUID}", (UUID2, UUID), id="one-order-whatever-the-cell's"),
    ],
)
def test_parse_uuid_list(text: str, expected: tuple[str, ...]) -> None:
    assert parse_uuid_list(text) == expected


def test_parse_uuid_list_names_the_bad_item() -> None:
    message = refusal(parse_uuid_list, f"{UUID}, not-a-uuid")
    assert message.startswith("trigger_ids 'not-a-uuid' is not a valid UUID")


# ---------------------------------------------------------------------------------------------
# legacy ids
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("12345", 12345, id="plain"),
        pytest.param(" 12345 ", 12345, id="spaces"),
        pytest.param("12345.0", 12345, id="excel-number"),
        pytest.param("00123", 123, id="leading-zeros"),
        pytest.param("1", 1, id="one"),
    ],
)
def test_parse_legacy_id_accepts(text: str, expected: int) -> None:
    assert parse_legacy_id(text) == expected


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        pytest.param("", "legacy_lead_id is empty; enter the numeric lead id", id="empty"),
        pytest.param(
            "0", "legacy_lead_id '0' must be a positive number; check the value", id="zero"
        ),
        pytest.param(
            "-5", "legacy_lead_id '-5' must be a positive number; check the value", id="negative"
        ),
        pytest.param(
            "12,345",
            "legacy_lead_id '12,345' contains a separator; enter the id as plain digits "
            "(e.g. 12345)",
            id="thousands-comma-ambiguous",
        ),
        pytest.param(
            "1.2E+04",
            "legacy_lead_id '1.2E+04' looks like scientific notation (Excel damage);",
            id="scientific",
        ),
        pytest.param(
            "12.5", "legacy_lead_id '12.5' is not a whole number; check the value", id="fraction"
        ),
        pytest.param(
            "abc", "legacy_lead_id 'abc' is not a number; enter the numeric lead id", id="words"
        ),
        pytest.param("L-123", "legacy_lead_id 'L-123' is not a number", id="prefixed"),
    ],
)
def test_parse_legacy_id_refuses(text: str, reason: str) -> None:
    assert reason in refusal(parse_legacy_id, text)


# ---------------------------------------------------------------------------------------------
# text
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("  Widget  ", "Widget", id="trim"),
        pytest.param("", None, id="empty"),
        pytest.param(" \t ", None, id="blank"),
        pytest.param("\u00a0Widget\u202f", "Widget", id="nbsp"),
        pytest.param("\ufeffWidget", "Widget", id="bom"),
        pytest.param("\u200eWidget\u2060\u200d", "Widget", id="bidi-and-joiners"),
        pytest.param("Big  blue   widget", "Big  blue   widget", id="inner-spaces-kept"),
        pytest.param("1500.0", "1500.0", id="numbers-untouched"),
        pytest.param("00123", "00123", id="leading-zeros-kept"),
    ],
)
def test_parse_text(text: str, expected: str | None) -> None:
    assert parse_text(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("1500.0", "1500", id="integral-float"),
        pytest.param("12.50", "12.5", id="trailing-zero"),
        pytest.param("12.5", "12.5", id="minimal"),
        pytest.param("1e+16", "10000000000000000", id="large-float-repr"),
        pytest.param("1.5e-05", "0.000015", id="small-float-repr"),
        pytest.param("-3.0", "-3", id="negative"),
        pytest.param("00123", "00123", id="digits-kept-as-typed"),
        pytest.param(" 1500.0 ", "1500", id="spaces"),
        pytest.param("INV-1500.0", "INV-1500.0", id="not-a-number"),
        pytest.param("", "", id="empty"),
    ],
)
def test_parse_number_like_text(text: str, expected: str) -> None:
    assert parse_number_like_text(text) == expected


@pytest.mark.parametrize(
    ("text", "decimal", "expected", "currency"),
    [
        pytest.param("1500 eur", ".", Decimal("1500"), "EUR", id="lower-case-known-code"),
        pytest.param("eur 1.500,00", ",", Decimal("1500.00"), "EUR", id="lower-case-prefix"),
        pytest.param("1500,-", ",", Decimal("1500"), None, id="whole-amount-comma-dash"),
        pytest.param("1.500,- €", ",", Decimal("1500"), "EUR", id="whole-amount-with-symbol"),
        pytest.param("1500.-", ".", Decimal("1500"), None, id="whole-amount-point-dash"),
    ],
)
def test_parse_amount_regional_forms(text, decimal, expected, currency):
    assert parse_amount(text, decimal=decimal) == expected
    assert amount_currency(text) == currency


@pytest.mark.parametrize(
    ("text", "code"),
    [
        pytest.param("US Dollar", "USD", id="us-dollar"),
        pytest.param("Euro", "EUR", id="euro"),
        pytest.param("Pound Sterling", "GBP", id="pound-sterling"),
        pytest.param("Danish  Krone", "DKK", id="danish-krone-two-spaces"),
        pytest.param("swedish krona", "SEK", id="swedish-krona"),
    ],
)
def test_currency_names_are_read_as_codes(text: str, code: str) -> None:
    assert parse_currency(text) == code


@pytest.mark.parametrize(
    ("text", "value"),
    [
        pytest.param("1500.0000", Decimal("1500.00"), id="database-four-zeros"),
        pytest.param("1099.500", Decimal("1099.50"), id="three-decimals-last-zero"),
        pytest.param("1500,0000", None, id="comma-column-four-zeros"),
    ],
)
def test_trailing_zeros_beyond_cents_are_exact(text: str, value: Decimal | None) -> None:
    if value is None:
        assert parse_amount(text, decimal=",") == Decimal("1500.00")
    else:
        assert parse_amount(text, decimal=".") == value


def test_non_zero_digits_beyond_cents_still_need_the_flag() -> None:
    assert refusal(parse_amount, "1500.0050", decimal=".") == (
        "amount '1500.0050' has more than 2 decimal places; round it or use --allow-precision"
    )


def test_three_zeros_that_may_be_thousands_are_not_trimmed() -> None:
    message = refusal(parse_amount, "150.000", decimal=".")
    assert message.startswith("amount '150.000' reads as 150.000, with 3 decimal places")


@pytest.mark.parametrize(
    ("parse", "text", "expected"),
    [
        (normalise.parse_uuid, "\u200b47378190-96da-4dac-b2ff-5d2a386ecbe0\u200e",
         "47378190-96da-4dac-b2ff-5d2a386ecbe0"),
        (normalise.parse_legacy_id, "\ufeff1002\u200b", 1002),
        (normalise.parse_currency, "EUR\u200b", "EUR"),
    ],
)  # fmt: skip
def test_ids_and_codes_are_read_without_the_invisible_marks_copied_with_them(parse, text, expected):
    assert parse(text) == expected
