"""importer.check.damage: cells that Excel has changed, found with exact severities and reasons.

The scenario file is built the way Excel damages files: the helpers below do to a clean value
what Excel does when it reads a typed cell as a number or a date and writes it back as text.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

import importer.check.damage
from importer.check.damage import (
    Finding,
    scan_amount_column,
    scan_date_column,
    scan_identifier_column,
)

MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
UUIDS = [
    "3f2b8c1e-9d4a-4e6b-8f1a-2c3d4e5f6a7b",
    "0b5a7c2d-1e3f-4a5b-9c6d-7e8f9a0b1c2d",
    "{0B5A7C2D-1E3F-4A5B-9C6D-7E8F9A0B1C2D}",
    "3f2b8c1e9d4a4e6b8f1a2c3d4e5f6a7b",
    "12345678-1234-1e34-8234-123456789012",
    "urn:uuid:3f2b8c1e-9d4a-4e6b-8f1a-2c3d4e5f6a7b",
]
NORMAL_AMOUNTS = ["12.50", "3.99", "250.00", "1500", "0.99"]


# ---------------------------------------------------------------------------------------------
# What Excel does to a typed cell
# ---------------------------------------------------------------------------------------------


def excel_number(typed: str) -> str:
    """A typed all-digit cell read as a number and written with format "0": leading zeros are
    gone and only 15 significant digits survive."""
    return str(int(Decimal(format(Decimal(typed), ".15g"))))


def excel_scientific(typed: str, digits: int) -> str:
    """A number shown in scientific notation with ``digits`` significant digits, as Excel's
    General format does for long numbers ("1234567890123456" -> "1.23457E+15")."""
    mantissa, exponent = format(Decimal(typed), f".{digits - 1}E").split("E")
    return f"{mantissa}E{int(exponent):+03d}"


def excel_date(typed: str, *, year: int = 2026) -> date:
    """An amount typed as "1.10" in a day-first locale, read by Excel as 1 October."""
    day, month = typed.split(".")
    return date(year, int(month), int(day))


def d_mmm(value: date) -> str:
    return f"{value.day}-{MONTHS[value.month - 1]}"


def excel_serial(value: date) -> str:
    """A date cell formatted back as a number: days since 1899-12-30."""
    return str((value - date(1899, 12, 30)).days)


# ---------------------------------------------------------------------------------------------
# A file damaged the way Excel damages files
# ---------------------------------------------------------------------------------------------


def damaged_file() -> dict[str, list[str]]:
    """20 purchase rows, typed correctly, then opened and saved in Excel (de-DE, day-first)."""
    reference = [f"INV-2026-{i:04d}" for i in range(1, 21)]
    product = [f"{n:06d}" for n in range(123, 143)]
    amount = ["12.50", "3.99", "250.00", "1500.00", "7.25"] * 4
    purchase_date = ["45678.0416666667", "2026-04-21", "21.04.2026", "2026-04-22 09:30"] * 5

    reference[5] = excel_serial(date(2025, 1, 21))  # a reference typed as a date: 21.1.25
    reference[12] = excel_scientific("1234567890123456", 6)  # a long reference number
    product[3] = excel_number("000126")  # Excel read the codes as numbers
    product[10] = excel_number("000133")
    product[15] = excel_number("1234567890123456789")  # a barcode: rounded to 15 digits
    product[16] = "9876543210987654321"  # a barcode that may or may not have been rounded
    amount[4] = d_mmm(excel_date("1.10"))  # column formatted d-mmm
    amount[9] = f"{excel_date('1.10'):%d/%m/%Y}"  # column formatted dd/mm/yyyy
    amount[13] = d_mmm(excel_date("15.02"))
    amount[17] = excel_scientific("1500", 2)  # column formatted Scientific
    purchase_date[7] = "########"  # the date column was too narrow
    return {
        "reference": reference,
        "product_name": product,
        "amount": amount,
        "purchase_date": purchase_date,
    }


def test_the_helpers_damage_values_as_excel_does() -> None:
    file = damaged_file()
    assert [file["reference"][5], file["reference"][12]] == ["45678", "1.23457E+15"]
    assert [file["product_name"][i] for i in (3, 10, 15)] == ["126", "133", "1234567890123460000"]
    assert [file["amount"][i] for i in (4, 9, 13, 17)] == [
        "1-Oct",
        "01/10/2026",
        "15-Feb",
        "1.5E+03",
    ]


def test_excel_damaged_file_gives_exact_findings() -> None:
    file = damaged_file()

    assert scan_identifier_column(file["reference"], column="reference") == [
        Finding(
            5,
            "warning",
            "reference '45678' looks like an Excel date serial (2025-01-21): the cell may have "
            "been converted to a date; check it and re-export the column as text",
        ),
        Finding(
            12,
            "invalid",
            "reference '1.23457E+15' is in scientific notation: Excel has already rounded it; "
            "re-export the column as text",
        ),
    ]
    assert scan_identifier_column(file["product_name"], column="product_name") == [
        Finding(
            3,
            "warning",
            "product_name '126' is shorter than the others (6 digits, e.g. '000123'): Excel may "
            "have dropped leading zeros; if it should be '000126', re-export the column as text",
        ),
        Finding(
            10,
            "warning",
            "product_name '133' is shorter than the others (6 digits, e.g. '000123'): Excel may "
            "have dropped leading zeros; if it should be '000133', re-export the column as text",
        ),
        Finding(
            15,
            "invalid",
            "product_name '1234567890123460000' has 19 digits ending in zeros: Excel keeps only "
            "15 digits and has rounded the rest to 0; re-export the column as text",
        ),
        Finding(
            16,
            "warning",
            "product_name '9876543210987654321' has 19 digits; Excel keeps only 15, so it may "
            "have been rounded; check it against the source and re-export the column as text",
        ),
    ]
    assert scan_amount_column(file["amount"], column="amount") == [
        Finding(
            4,
            "invalid",
            "amount '1-Oct' looks like a date: Excel probably turned 1.10 into 1 October; "
            "re-enter the amount as a number",
        ),
        Finding(
            9,
            "invalid",
            "amount '01/10/2026' looks like a date: Excel probably turned 1.10 into 1 October; "
            "re-enter the amount as a number",
        ),
        Finding(
            13,
            "invalid",
            "amount '15-Feb' looks like a date: Excel probably turned 15.02 or 15.2 into "
            "15 February; re-enter the amount as a number",
        ),
        Finding(
            17,
            "invalid",
            "amount '1.5E+03' is in scientific notation: Excel shows the amount rounded; format "
            "the column as Number in Excel and export again",
        ),
    ]
    assert scan_date_column(file["purchase_date"], column="purchase_date") == [
        Finding(
            7,
            "invalid",
            "purchase_date '########' is what Excel shows when a column is too narrow; widen the "
            "column in Excel and export again",
        ),
    ]


def test_every_row_with_a_damaged_value_is_reported_in_row_order() -> None:
    values = ["1-Oct", *NORMAL_AMOUNTS, " 1-Oct "]
    assert [(f.index, f.severity) for f in scan_amount_column(values, column="amount")] == [
        (0, "invalid"),
        (6, "invalid"),
    ]


def test_public_names() -> None:
    assert importer.check.damage.__all__ == [
        "Finding",
        "scan_amount_column",
        "scan_date_column",
        "scan_identifier_column",
    ]


# ---------------------------------------------------------------------------------------------
# Identifier columns: rules that need no column statistics
# ---------------------------------------------------------------------------------------------

SCIENTIFIC = "is in scientific notation: Excel has already rounded it; re-export the column as text"
MAY_BE_ROUNDED = (
    "Excel keeps only 15, so it may have been rounded; check it against the source and "
    "re-export the column as text"
)
ROUNDED = (
    "ending in zeros: Excel keeps only 15 digits and has rounded the rest to 0; re-export the "
    "column as text"
)


@pytest.mark.parametrize(
    ("value", "severity", "reason"),
    [
        pytest.param("1.23457E+15", "invalid", f"ref '1.23457E+15' {SCIENTIFIC}", id="excel-sci"),
        pytest.param("1.2e+16", "invalid", f"ref '1.2e+16' {SCIENTIFIC}", id="python-sci"),
        pytest.param("4,5E+12", "invalid", f"ref '4,5E+12' {SCIENTIFIC}", id="sci-decimal-comma"),
        pytest.param(
            "1.23456789012345e+15",
            "invalid",
            f"ref '1.23456789012345e+15' {SCIENTIFIC}",
            id="xlsx-number-15-digits",
        ),
        pytest.param(" 1E+20 ", "invalid", f"ref '1E+20' {SCIENTIFIC}", id="sci-padded"),
        pytest.param(
            "1234567890123456789",
            "warning",
            f"ref '1234567890123456789' has 19 digits; {MAY_BE_ROUNDED}",
            id="19-digits",
        ),
        pytest.param(
            "1234567890123450",
            "warning",
            f"ref '1234567890123450' has 16 digits; {MAY_BE_ROUNDED}",
            id="16-digits-one-zero-could-be-real",
        ),
        pytest.param(
            "12345678901234500",
            "warning",
            f"ref '12345678901234500' has 17 digits; {MAY_BE_ROUNDED}",
            id="17-digits-two-zeros-could-be-real",
        ),
        pytest.param(
            "123456789012345000",
            "invalid",
            f"ref '123456789012345000' has 18 digits {ROUNDED}",
            id="18-digits-three-zeros-rounded",
        ),
        pytest.param(
            "1234567890123450001",
            "warning",
            f"ref '1234567890123450001' has 19 digits; {MAY_BE_ROUNDED}",
            id="zeros-then-a-digit-not-rounding",
        ),
        pytest.param(
            "########",
            "invalid",
            "ref '########' is what Excel shows when a column is too narrow; widen the column in "
            "Excel and export again",
            id="hashes",
        ),
        pytest.param(
            "#N/A",
            "invalid",
            "ref '#N/A' is an Excel error value: the formula in that cell failed; correct it in "
            "Excel and export again",
            id="error-n-a",
        ),
        pytest.param(
            "#ref!",
            "invalid",
            "ref '#ref!' is an Excel error value: the formula in that cell failed; correct it in "
            "Excel and export again",
            id="error-lower-case",
        ),
    ],
)
def test_identifier_value_damage(value: str, severity: str, reason: str) -> None:
    assert scan_identifier_column(["INV-1", value], column="ref") == [Finding(1, severity, reason)]


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("123456789012345", id="15-digits"),
        pytest.param("0001234567890123456789", id="long-with-leading-zeros-was-text"),
        pytest.param("12E34", id="code-without-exponent-sign"),
        pytest.param("1e5", id="lower-e-without-sign"),
        pytest.param("#12", id="hash-number"),
        pytest.param("", id="empty"),
        pytest.param("   ", id="blank"),
    ],
)
def test_identifier_values_that_are_not_damage(value: str) -> None:
    assert scan_identifier_column(["INV-1", value], column="ref") == []


# ---------------------------------------------------------------------------------------------
# Identifier columns: lost leading zeros and date serials (column statistics)
# ---------------------------------------------------------------------------------------------

SIX_WIDE = ["000101", "000102", "000103", "000104", "000105"]


@pytest.mark.parametrize(
    ("values", "flagged"),
    [
        pytest.param([*SIX_WIDE, "123"], [5], id="five-wide-one-short"),
        pytest.param([*SIX_WIDE[:4], "123"], [], id="four-wide-too-few"),
        pytest.param([*SIX_WIDE, "12", "123"], [], id="five-of-seven-below-80-percent"),
        pytest.param([*SIX_WIDE, "INV-1", "INV-2", "123"], [7], id="text-does-not-count"),
        pytest.param([*SIX_WIDE, "0123"], [], id="short-with-its-own-zero"),
        pytest.param([*SIX_WIDE, "1234567"], [], id="longer-is-not-lost-zeros"),
        pytest.param(["100101", "100102", "100103", "100104", "100105", "123"], [], id="no-zeros"),
        pytest.param(["123", *SIX_WIDE, *SIX_WIDE, "123"], [0, 11], id="every-row"),
    ],
)
def test_lost_leading_zeros(values: list[str], flagged: list[int]) -> None:
    assert [f.index for f in scan_identifier_column(values, column="ref")] == flagged


def test_lost_leading_zeros_reason() -> None:
    values = ["100999", *SIX_WIDE, " 4567 "]
    assert scan_identifier_column(values, column="reference") == [
        Finding(
            6,
            "warning",
            "reference '4567' is shorter than the others (6 digits, e.g. '000101'): Excel may "
            "have dropped leading zeros; if it should be '004567', re-export the column as text",
        )
    ]


INVOICES = ["INV-2026-0001", "INV-2026-0002", "INV-2026-0003", "INV-2026-0004", "INV-2026-0005"]


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        pytest.param([*INVOICES, "45678"], [(5, "2025-01-21")], id="serial-among-references"),
        pytest.param([*INVOICES, "36526"], [(5, "2000-01-01")], id="first-serial"),
        pytest.param([*INVOICES, "55153"], [(5, "2050-12-31")], id="last-serial"),
        pytest.param([*INVOICES, "36525"], [], id="before-2000"),
        pytest.param([*INVOICES, "55154"], [], id="after-2050"),
        pytest.param([*INVOICES, "456789"], [], id="six-digits"),
        pytest.param([*INVOICES[:4], "45678"], [], id="four-references-too-few"),
        pytest.param([*INVOICES, "45678", "45679"], [], id="below-80-percent-text"),
        pytest.param(["45001", "45002", "45003", "45004", "45678"], [], id="numeric-column"),
    ],
)
def test_date_serial_in_text_column(values: list[str], expected: list[tuple[int, str]]) -> None:
    findings = scan_identifier_column(values, column="reference")
    assert findings == [
        Finding(
            index,
            "warning",
            f"reference '{values[index]}' looks like an Excel date serial ({day}): the cell may "
            "have been converted to a date; check it and re-export the column as text",
        )
        for index, day in expected
    ]


@pytest.mark.parametrize(
    "values",
    [
        pytest.param([f"INV-2026-{i:04d}" for i in range(1, 200)], id="invoice-references"),
        pytest.param(UUIDS, id="uuids"),
        pytest.param(["1", "22", "333", "4444", "55555", "666666"], id="legacy-ids-any-width"),
        pytest.param([str(n) for n in range(100000, 100020)] + ["99"], id="fixed-width-no-zeros"),
        pytest.param([f"{n:06d}" for n in range(1, 30)], id="fixed-width-with-zeros"),
        pytest.param(["Gold plan", "Silver plan", "12 months", "Add-on 2E+"], id="product-names"),
        pytest.param([], id="no-values"),
    ],
)
def test_clean_identifier_columns(values: list[str]) -> None:
    assert scan_identifier_column(values, column="reference") == []


# ---------------------------------------------------------------------------------------------
# Amount columns
# ---------------------------------------------------------------------------------------------


def looks_like_a_date(value: str, typed: str, day_month: str) -> str:
    return (
        f"amount '{value}' looks like a date: Excel probably turned {typed} into {day_month}; "
        "re-enter the amount as a number"
    )


@pytest.mark.parametrize(
    ("value", "typed", "day_month"),
    [
        pytest.param("1-Oct", "1.10", "1 October", id="d-mmm"),
        pytest.param("01-Oct", "1.10", "1 October", id="dd-mmm"),
        pytest.param("Oct-01", "1.10", "1 October", id="mmm-dd"),
        pytest.param("1 Oct 2026", "1.10", "1 October", id="d-mmm-yyyy"),
        pytest.param("1-oct-26", "1.10", "1 October", id="lower-case-two-digit-year"),
        pytest.param("1. Okt", "1.10", "1 October", id="german-month"),
        pytest.param("1-Mär", "1.03 or 1.3", "1 March", id="german-umlaut"),
        pytest.param("2026-10-01", "1.10", "1 October", id="iso"),
        pytest.param("2026-10-01 00:00:00", "1.10", "1 October", id="iso-with-time"),
        pytest.param("01.10.2026", "1.10", "1 October", id="dotted"),
        pytest.param("01.10.", "1.10", "1 October", id="dotted-no-year"),
        pytest.param("01/10/2026", "1.10", "1 October", id="slash-ambiguous-read-day-first"),
        pytest.param("10/13/2026", "13.10", "13 October", id="slash-month-first"),
        pytest.param("15-Feb", "15.02 or 15.2", "15 February", id="month-below-10"),
        pytest.param("31-Dec", "31.12", "31 December", id="december"),
        pytest.param("29.02.2024", "29.02 or 29.2", "29 February", id="leap-day"),
    ],
)
def test_amount_turned_into_a_date(value: str, typed: str, day_month: str) -> None:
    assert scan_amount_column([*NORMAL_AMOUNTS, value], column="amount") == [
        Finding(5, "invalid", looks_like_a_date(value, typed, day_month))
    ]


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        pytest.param(
            "1.5E+03",
            "amount '1.5E+03' is in scientific notation: Excel shows the amount rounded; format "
            "the column as Number in Excel and export again",
            id="scientific",
        ),
        pytest.param(
            "#DIV/0!",
            "amount '#DIV/0!' is an Excel error value: the formula in that cell failed; correct "
            "it in Excel and export again",
            id="excel-error",
        ),
        pytest.param(
            "#####",
            "amount '#####' is what Excel shows when a column is too narrow; widen the column in "
            "Excel and export again",
            id="hashes",
        ),
    ],
)
def test_amount_display_damage(value: str, reason: str) -> None:
    assert scan_amount_column([*NORMAL_AMOUNTS, value], column="amount") == [
        Finding(5, "invalid", reason)
    ]


def test_date_serial_among_small_amounts_is_a_warning() -> None:
    values = [*NORMAL_AMOUNTS, excel_serial(excel_date("1.10"))]
    assert scan_amount_column(values, column="amount") == [
        Finding(
            5,
            "warning",
            "amount '46296' looks like an Excel date serial (2026-10-01) and is far larger than "
            "the other amounts: Excel may have turned 1.10 into a date and then into a number; "
            "check the amount",
        )
    ]


@pytest.mark.parametrize(
    "values",
    [
        pytest.param(["12000.00", "9800", "15500.00", "21000", "8700.50", "46296"], id="large"),
        pytest.param([*NORMAL_AMOUNTS[:4], "46296"], id="four-amounts-too-few"),
        pytest.param([*NORMAL_AMOUNTS, "30000"], id="below-2000"),
    ],
)
def test_date_serial_among_amounts_of_its_size_is_not_reported(values: list[str]) -> None:
    assert scan_amount_column(values, column="amount") == []


def test_a_column_of_dates_is_probably_mapped_wrongly() -> None:
    values = ["2026-04-01", "2026-04-02", "2026-04-03", "2026-04-04", "2026-04-05", "12.50"]
    findings = scan_amount_column(values, column="amount")
    assert [f.index for f in findings] == [0, 1, 2, 3, 4]
    assert findings[0] == Finding(
        0,
        "invalid",
        "amount '2026-04-01' is a date, as are most values in this column: check that the right "
        "column is mapped to amount",
    )


@pytest.mark.parametrize(
    "values",
    [
        pytest.param(NORMAL_AMOUNTS, id="plain"),
        pytest.param(["1.10", "31.12", "1,10", "0.01", "99999.99"], id="day-month-like-numbers"),
        pytest.param(["1,500.00", "1.500,00", "€ 12,50", "USD 1500", "1'500.00"], id="formatted"),
        pytest.param(["32-Oct", "30/02/2026", "13.13.2026", "Oct", "2026"], id="impossible-dates"),
        pytest.param(["12e3", "-12", "(12.00)", "", "  "], id="refused-elsewhere"),
        pytest.param([], id="no-values"),
    ],
)
def test_clean_amount_columns(values: list[str]) -> None:
    assert scan_amount_column(values, column="amount") == []


# ---------------------------------------------------------------------------------------------
# Date columns
# ---------------------------------------------------------------------------------------------


def test_date_column_reports_only_display_damage() -> None:
    values = ["45678.0416666667", "2026-04-21", "21/04/2026", "04/21/2026", "#VALUE!", "####"]
    assert scan_date_column(values, column="date") == [
        Finding(
            4,
            "invalid",
            "date '#VALUE!' is an Excel error value: the formula in that cell failed; correct it "
            "in Excel and export again",
        ),
        Finding(
            5,
            "invalid",
            "date '####' is what Excel shows when a column is too narrow; widen the column in "
            "Excel and export again",
        ),
    ]


@pytest.mark.parametrize(
    "values",
    [
        pytest.param(["45678.0416666667", "45678", "45679.5"], id="serials"),
        pytest.param(["2026-04-21", "21.04.2026", "Apr 21, 2026", "20260421"], id="mixed-formats"),
        pytest.param(["", " "], id="empty"),
    ],
)
def test_clean_date_columns(values: list[str]) -> None:
    assert scan_date_column(values, column="date") == []
