"""File-level validation: column decisions, dates in a zone, triggers, currencies, duplicates."""

from __future__ import annotations

import datetime as dt
from datetime import UTC
from decimal import Decimal

import pytest
from conftest import (
    LEAD_1,
    LEAD_2,
    LEAD_3,
    PRODUCT_1,
    TRIGGER_1,
    TRIGGER_2,
    check_file,
    read_results_csv,
    write_csv,
    write_xlsx,
)

from importer.check.mapping import Mapping
from importer.errors import AmbiguousDataError
from importer.job.validate import prepare


def csv_file(tmp_path, header: str, *rows: str, name: str = "f.csv"):
    return write_csv(tmp_path / name, "\r\n".join([header, *rows]) + "\r\n")


def verdicts(path, mapping: Mapping | None = None) -> list[tuple]:
    return [(row, status, error) for row, status, error, _, _ in check_file(path, mapping)]


def duplicate_of(row: int) -> str:
    """The reason a row that repeats row ``row`` in every field is skipped."""
    return (
        f"duplicate of row {row} (every field repeats); use --allow-duplicates if both are real "
        "purchases"
    )


# --- amounts: the decimal separator is decided per column --------------------------------------


def test_decimal_comma_column_resolved_from_evidence(tmp_path):
    path = csv_file(tmp_path, "Lead ID;Amount", f"{LEAD_1};1,500", f"{LEAD_2};2,25")

    prepared = prepare(path, Mapping(no_date=True))
    rows = check_file(path)

    assert (prepared.decisions.decimal, prepared.decisions.decimal_from) == (",", "evidence")
    # "1,500" in a decimal-comma column is 1.500: three decimals, refused, never 1500.
    assert rows[0][1:3] == (
        "invalid",
        "amount '1,500' reads as 1.500, with 3 decimal places, because ',' is this column's "
        "decimal separator; if ',' separates thousands here, use --decimal .; otherwise round it "
        "or use --allow-precision",
    )
    assert rows[1][1:3] == ("valid", None)
    assert rows[1][4].purchase_amount == Decimal("2.25")


def test_decimal_comma_column_with_allow_precision(tmp_path):
    path = csv_file(tmp_path, "Lead ID;Amount", f"{LEAD_1};1,500", f"{LEAD_2};2,25")

    rows = check_file(path, Mapping(allow_precision=True))

    assert [r[4].purchase_amount for r in rows] == [Decimal("1.500"), Decimal("2.25")]


def test_decimal_point_column_with_thousands(tmp_path):
    path = csv_file(
        tmp_path, "Lead ID,Amount", f'{LEAD_1},"1,500"', f"{LEAD_2},2.25", f'{LEAD_3},"$1,500.00"'
    )

    rows = check_file(path)

    assert prepare(path, Mapping(no_date=True)).decisions.decimal == "."
    assert [r[4].purchase_amount for r in rows] == [
        Decimal("1500"),
        Decimal("2.25"),
        Decimal("1500.00"),
    ]


def test_amount_column_written_with_both_separators_refuses_what_reads_both_ways(tmp_path):
    """Two decimal commas, one decimal point: the majority is no answer for 1.500, which is
    1500 to the rows with a comma and 1.5 to the row with a point. It was read as 1500."""
    path = csv_file(
        tmp_path,
        "Lead ID;Amount",
        f"{LEAD_1};2,25",
        f"{LEAD_2};3,10",
        f"{LEAD_3};4.75",
        f"{LEAD_1};1.500",
        f"{LEAD_2};1.234,56",
    )
    ambiguous = (
        "amount '1.500' is ambiguous (1500 or 1.5?) and this column is written with both "
        "decimal separators ('2,25' has a decimal comma, '4.75' a decimal point), so its "
        "separator cannot be known; write it without a thousands separator, or rerun with "
        "--decimal , or --decimal . to read the whole column one way"
    )

    rows = check_file(path)

    # Each value with one reading keeps it (4.75 beside 2,25), as in a date column written
    # both ways: the verdicts do not hang on which separator most rows use.
    assert verdicts(path) == [
        (2, "valid", None),
        (3, "valid", None),
        (4, "valid", None),
        (5, "invalid", ambiguous),
        (6, "valid", None),
    ]
    assert [r[4].purchase_amount for r in rows if r[4]] == [
        Decimal("2.25"),
        Decimal("3.10"),
        Decimal("4.75"),
        Decimal("1234.56"),
    ]
    answered = check_file(path, Mapping(decimal=","))
    assert [r[4].purchase_amount for r in answered if r[4]][2] == Decimal("1500")  # --decimal ,


def test_decimal_option_overrides_evidence(tmp_path, cli):
    path = csv_file(tmp_path, "Lead ID;Amount", f"{LEAD_1};1.500", f"{LEAD_2};2.000")

    code, err = cli("validate", path, "--decimal", ",", "--no-date")

    assert code == 0
    assert err[2] == "decimal separator ',' (option)"
    amounts = [r[4].purchase_amount for r in check_file(path, Mapping(decimal=","))]
    assert amounts == [Decimal("1500"), Decimal("2000")]


def test_decimal_undecided_column_defaults_to_point(tmp_path, cli):
    path = csv_file(tmp_path, "Lead ID,Amount", f"{LEAD_1},1500", f"{LEAD_2},20")

    code, err = cli("validate", path, "--no-date")

    assert code == 0
    assert err[2] == "decimal separator '.' (default)"


def test_amount_problems_in_the_file(tmp_path):
    path = csv_file(
        tmp_path,
        "Lead ID,Amount",
        f"{LEAD_1},",
        f"{LEAD_2},(12.00)",
        f"{LEAD_3},12.345",
    )

    rows = verdicts(path)

    assert [r[:2] for r in rows] == [(2, "invalid"), (3, "invalid"), (4, "invalid")]
    assert rows[0][2] == "amount is empty"
    assert "(12.00)" in rows[1][2] and "negative" in rows[1][2]
    assert rows[2][2] == (
        "amount '12.345' reads as 12.345, with 3 decimal places, because '.' is this column's "
        "decimal separator; if '.' separates thousands here, use --decimal ,; otherwise round it "
        "or use --allow-precision"
    )
    allowed = verdicts(path, Mapping(allow_precision=True))
    assert allowed[2] == (4, "valid", None)


@pytest.mark.parametrize(
    ("amount", "date"),
    [
        pytest.param("1500\u200b", "2026-03-01", id="zero-width-space"),
        pytest.param("\u200e1500.00", "\u200f2026-03-01", id="lrm-rlm"),
        pytest.param("1500.00\ufeff", "2026-03-01\ufeff", id="bom"),
        pytest.param('"\u20601,500.00\u200d"', "\u202a01/03/2026\u202c", id="joiners-bidi"),
        pytest.param("\u2066€ 1500\u2069", "\u200c2026-03-01 10:00", id="isolates"),
    ],
)
def test_invisible_characters_around_amounts_and_dates_are_not_part_of_them(tmp_path, amount, date):
    # Copied from a web page or a PDF, a cell carries marks that show nothing: the user cannot
    # see what "amount '1500' is not a number" objects to.
    path = csv_file(tmp_path, "Lead ID,Amount,Date", f"{LEAD_1},{amount},{date}")

    rows = check_file(path, Mapping(no_amount=False, no_date=False, day_first=True))

    assert [(row, status, error) for row, status, error, _, _ in rows] == [(2, "valid", None)]
    record = rows[0][4]
    assert record.purchase_amount == Decimal(1500)
    assert record.date.date() == dt.date(2026, 3, 1)


def test_a_cell_of_invisible_characters_only_is_an_empty_amount(tmp_path):
    path = csv_file(tmp_path, "Lead ID,Amount", f"{LEAD_1},\u200b\u200e", f"{LEAD_2},abc\u200b")

    assert verdicts(path) == [
        (2, "invalid", "amount is empty; enter the purchase amount"),
        (3, "invalid", "amount 'abc' is not a number; enter the amount as digits, e.g. 1500.00"),
    ]


def test_amounts_with_more_than_15_digits_before_the_decimals_are_invalid(tmp_path):
    # Keen refuses them ("purchase_amount is out of range"); the plain fast path already stopped
    # at 15 digits, the general parser took any.
    path = csv_file(
        tmp_path,
        "Lead ID,Amount",
        f"{LEAD_1},1234567890123456789",
        f'{LEAD_2},"1,234,567,890,123,456.00"',
        f"{LEAD_3},€ 1000000000000000",
        f"{LEAD_1},123456789012345.67",
        f"{LEAD_2},000123456789012345",
        f'{LEAD_3},"999,999,999,999,999.99"',
    )

    def too_long(shown: str, digits: int) -> str:
        return (
            f"amount '{shown}' has {digits} digits before the decimals; Keen takes at most 15 "
            "(less than 1,000,000,000,000,000): check the value"
        )

    assert verdicts(path) == [
        (2, "invalid", too_long("1234567890123456789", 19)),
        (3, "invalid", too_long("1,234,567,890,123,456.00", 16)),
        (4, "invalid", too_long("€ 1000000000000000", 16)),
        (5, "valid", None),
        (6, "valid", None),
        (7, "valid", None),
    ]


# --- dates -----------------------------------------------------------------------------------


def test_ambiguous_date_column_stops(tmp_path, cli):
    path = csv_file(
        tmp_path, "Lead ID,Amount,Date", f"{LEAD_1},10,03/04/2026", f"{LEAD_2},20,03/04/2026"
    )

    with pytest.raises(AmbiguousDataError) as raised:
        prepare(path, Mapping(no_date=True))
    assert raised.value.column == "Date"

    code, err = cli("validate", path)
    assert code == 2
    assert err == [
        "error: the date column 'Date' is ambiguous: '03/04/2026' could be day-first or "
        "month-first, and no value in the file settles it",
        "hint: say how to read it with --day-first (23/04/2026) or --month-first (04/23/2026)",
    ]
    assert not (tmp_path / "f.results.csv").exists()


@pytest.mark.parametrize(
    ("flag", "day_first", "expected"),
    [
        pytest.param("--day-first", True, dt.datetime(2026, 4, 3, tzinfo=UTC), id="day-first"),
        pytest.param("--month-first", False, dt.datetime(2026, 3, 4, tzinfo=UTC), id="month-first"),
    ],
)
def test_ambiguous_date_column_resolved_by_option(tmp_path, cli, flag, day_first, expected):
    path = csv_file(tmp_path, "Lead ID,Amount,Date", f"{LEAD_1},10,03/04/2026")

    code, err = cli("validate", path, flag)

    assert code == 0
    assert err[3] == f"dates read {flag[2:]} (option)"
    [(_, status, _, _, record)] = check_file(path, Mapping(day_first=day_first))
    assert status == "valid"
    assert record.date == expected
    assert record.payload()["date"] == expected.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_day_first_settled_by_evidence_in_the_column(tmp_path, cli):
    path = csv_file(
        tmp_path, "Lead ID,Amount,Date", f"{LEAD_1},10,03/04/2026", f"{LEAD_2},20,23/04/2026"
    )

    code, err = cli("validate", path)

    assert code == 0
    assert err[3] == "dates read day-first (evidence)"
    dates = [r[4].date for r in check_file(path)]
    assert dates == [dt.datetime(2026, 4, 3, tzinfo=UTC), dt.datetime(2026, 4, 23, tzinfo=UTC)]


def test_value_contradicting_column_reading_is_invalid(tmp_path):
    path = csv_file(
        tmp_path,
        "Lead ID,Amount,Date",
        f"{LEAD_1},10,23/04/2026",
        f"{LEAD_2},20,24/04/2026",
        f"{LEAD_3},30,04/25/2026",
    )

    rows = verdicts(path, Mapping(day_first=True))

    assert rows[2] == (
        4,
        "invalid",
        "date '04/25/2026' does not fit this column, which reads dates as day/month/year "
        "(month 25?); correct the value or use --month-first",
    )


def test_date_column_written_both_ways_refuses_its_ambiguous_dates(tmp_path, cli):
    """Two values month-first, one day-first: no majority vote. The file proves both orders
    are written, so 03/04/2026 cannot be known; the others have one reading each."""
    path = csv_file(
        tmp_path,
        "Lead ID,Amount,Date",
        f"{LEAD_1},10,04/23/2026",
        f"{LEAD_2},20,04/24/2026",
        f"{LEAD_3},30,23/04/2026",
        f"{LEAD_1},40,03/04/2026",
        f"{LEAD_2},50,04/04/2026",
    )

    rows = check_file(path)
    code, err = cli("validate", path)

    assert [(row, status, error) for row, status, error, _, _ in rows] == [
        (2, "valid", None),
        (3, "valid", None),
        (4, "valid", None),
        (
            5,
            "invalid",
            "date '03/04/2026' is ambiguous (3 April or 4 March 2026?) and this column is "
            "written both ways ('23/04/2026' can only be day-first, '04/23/2026' only "
            "month-first), so its order cannot be known; write it as YYYY-MM-DD, or rerun with "
            "--day-first or --month-first to read the whole column one way",
        ),
        (6, "valid", None),
    ]
    assert [r[4].date.date() for r in rows if r[4]] == [
        dt.date(2026, 4, 23),
        dt.date(2026, 4, 24),
        dt.date(2026, 4, 23),
        dt.date(2026, 4, 4),
    ]
    assert code == 1
    assert err[3] == (
        "dates written both ways ('23/04/2026' day-first, '04/23/2026' month-first): "
        "ambiguous dates are invalid"
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("2026-03-02", dt.datetime(2026, 3, 1, 23, 0, tzinfo=UTC), id="winter-cet"),
        pytest.param("2026-07-01", dt.datetime(2026, 6, 30, 22, 0, tzinfo=UTC), id="summer-cest"),
        pytest.param("02.03.2026", dt.datetime(2026, 3, 1, 23, 0, tzinfo=UTC), id="dotted"),
        pytest.param(
            "2026-03-02 10:30", dt.datetime(2026, 3, 2, 9, 30, tzinfo=UTC), id="wall-clock-time"
        ),
        pytest.param(
            "2026-03-02T10:30:00Z", dt.datetime(2026, 3, 2, 10, 30, tzinfo=UTC), id="instant-z"
        ),
    ],
)
def test_timezone_copenhagen(tmp_path, value, expected):
    path = csv_file(tmp_path, "Lead ID,Amount,Date", f"{LEAD_1},10,{value}")

    [(_, status, error, _, record)] = check_file(path, Mapping(timezone="Europe/Copenhagen"))

    assert (status, error) == ("valid", None)
    assert record.date == expected


def test_timezone_option_in_cli_and_unknown_zone(tmp_path, cli):
    path = csv_file(tmp_path, "Lead ID,Amount,Date", f"{LEAD_1},10,2026-03-02")

    assert cli("validate", path, "--timezone", "Europe/Copenhagen")[0] == 0
    code, err = cli("validate", path, "--timezone", "Mars/Olympus")
    assert code == 2
    assert err[0] == "error: unknown time zone 'Mars/Olympus'"


def test_blank_date_in_mapped_column_is_invalid(tmp_path):
    path = csv_file(tmp_path, "Lead ID,Amount,Date", f"{LEAD_1},10,2026-03-02", f"{LEAD_2},20,")

    assert verdicts(path) == [(2, "valid", None), (3, "invalid", "date is empty")]


def test_excel_serial_date_in_csv(tmp_path):
    path = csv_file(tmp_path, "Lead ID,Amount,Date", f"{LEAD_1},10,46083")

    [(_, status, _, _, record)] = check_file(path)

    assert status == "valid"
    assert record.date == dt.datetime(2026, 3, 2, tzinfo=UTC)


def test_future_and_pre_2000_dates_warn_but_stay_valid(tmp_path):
    path = csv_file(
        tmp_path,
        "Lead ID,Amount,Date",
        f"{LEAD_1},10,2099-01-15",
        f"{LEAD_2},20,1999-12-31",
        f"{LEAD_3},30,2026-03-02",
    )

    rows = check_file(path)

    assert [(r[1], r[3]) for r in rows] == [
        ("valid", ["date 2099-01-15 is in the future"]),
        ("valid", ["date 1999-12-31 is before 2000"]),
        ("valid", []),
    ]


def test_date_warnings_in_results_file(tmp_path, cli):
    path = csv_file(
        tmp_path, "Lead ID,Amount,Date", f"{LEAD_1},10,2099-01-15", f"{LEAD_2},20,1999-12-31"
    )

    code, _ = cli("validate", path)

    assert code == 0
    rows = read_results_csv(tmp_path / "f.results.csv")
    assert [(r["status"], r["warnings"]) for r in rows] == [
        ("valid", "date 2099-01-15 is in the future"),
        ("valid", "date 1999-12-31 is before 2000"),
    ]


def test_pre_2000_warning_uses_the_date_the_user_typed(tmp_path):
    # Midnight 2000-01-01 in Copenhagen is 1999-12-31 23:00 UTC: the user typed 2000.
    path = csv_file(tmp_path, "Lead ID,Amount,Date", f"{LEAD_1},10,2000-01-01")

    [(_, status, _, warnings, record)] = check_file(path, Mapping(timezone="Europe/Copenhagen"))

    assert record.date == dt.datetime(1999, 12, 31, 23, 0, tzinfo=UTC)
    assert (status, warnings) == ("valid", [])


# --- trigger ids ----------------------------------------------------------------------------------


def test_trigger_id_lists(tmp_path):
    path = csv_file(
        tmp_path,
        "Lead ID,Amount,Trigger IDs",
        f'{LEAD_1},10,"{TRIGGER_1}, {TRIGGER_2.upper()}"',
        f"{LEAD_2},20,{TRIGGER_1};{{{TRIGGER_2}}}",
        f"{LEAD_3},30,{TRIGGER_1}|{TRIGGER_2} {TRIGGER_1}",
        f"{LEAD_1},40,",
    )

    rows = check_file(path)

    assert [r[1] for r in rows] == ["valid"] * 4
    assert sorted([TRIGGER_1, TRIGGER_2]) == [TRIGGER_2, TRIGGER_1]
    assert [r[4].trigger_ids for r in rows] == [  # a set to Keen: in one order
        (TRIGGER_2, TRIGGER_1),
        (TRIGGER_2, TRIGGER_1),
        (TRIGGER_2, TRIGGER_1),
        (),
    ]


def test_one_bad_trigger_id_makes_the_row_invalid(tmp_path):
    path = csv_file(tmp_path, "Lead ID,Amount,Trigger IDs", f'{LEAD_1},10,"{TRIGGER_1}, nope"')

    [(row, status, error, _, _)] = check_file(path)

    assert (row, status) == (2, "invalid")
    assert error.startswith("trigger_ids 'nope' is not a valid UUID")


def test_trigger_id_option_added_to_every_row(tmp_path, cli):
    path = csv_file(
        tmp_path,
        "Lead ID,Amount,Trigger IDs",
        f"{LEAD_1},10,{TRIGGER_1}",
        f"{LEAD_2},20,",
    )

    rows = check_file(path, Mapping(trigger_ids=(TRIGGER_2.upper(),)))

    assert [r[4].trigger_ids for r in rows] == [(TRIGGER_1, TRIGGER_2), (TRIGGER_2,)]
    assert cli("validate", path, "--trigger-id", TRIGGER_2, "--no-date")[0] == 0


def test_bad_trigger_id_option_exit_2(tmp_path, cli):
    path = csv_file(tmp_path, "Lead ID,Amount", f"{LEAD_1},10")

    code, err = cli("validate", path, "--trigger-id", "nope", "--no-date")

    assert code == 2
    assert err[0].startswith("error: --trigger-id 'nope' is not a valid UUID")
    assert not (tmp_path / "f.results.csv").exists()


# --- products ----------------------------------------------------------------------------------


def test_product_id_with_product_name_is_invalid(tmp_path):
    path = csv_file(
        tmp_path,
        "Lead ID,Amount,Product ID,Product name",
        f"{LEAD_1},10,{PRODUCT_1},Pro plan",
        f"{LEAD_2},20,{PRODUCT_1},",
        f"{LEAD_3},30,,Pro plan",
    )

    rows = verdicts(path)

    assert rows == [
        (
            2,
            "invalid",
            "product_id and product_name are both filled; Keen takes either a catalog "
            "product_id or a free-text product_name: empty one of them",
        ),
        (3, "valid", None),
        (4, "valid", None),
    ]


def test_product_id_refused_for_custom_action(tmp_path):
    path = csv_file(tmp_path, "Lead ID,Amount,Product ID", f"{LEAD_1},10,{PRODUCT_1}")

    [(_, status, error)] = verdicts(path, Mapping(action="create_purchase_custom"))

    assert status == "invalid"
    assert error.startswith("product_id cannot be sent with create_purchase_custom")


def test_text_fields_trimmed(tmp_path):
    path = csv_file(
        tmp_path,
        "Lead ID,Amount,Product,Description,Reference",
        f"  {{{LEAD_1.upper()}}} ,10,  Pro plan ,\u00a0Annual\u00a0, INV-1 ",
    )

    [(_, status, _, _, record)] = check_file(path)

    assert status == "valid"
    assert (record.lead_id, record.product_name, record.product_description, record.reference) == (
        LEAD_1,
        "Pro plan",
        "Annual",
        "INV-1",
    )


# --- currencies ----------------------------------------------------------------------------------


def test_mixed_currencies_minority_invalid(tmp_path):
    path = csv_file(
        tmp_path,
        "Lead ID,Amount,Currency",
        f"{LEAD_1},10,USD",
        f"{LEAD_2},20,EUR",
        f"{LEAD_3},30,usd",
        f"{LEAD_1},40,USD",
    )

    rows = verdicts(path)

    assert rows == [
        (2, "valid", None),
        (
            3,
            "invalid",
            "currency EUR differs from the rest of the file (USD); amounts are in the "
            "channel's currency and nothing converts: import EUR rows in a separate file",
        ),
        (4, "valid", None),
        (5, "valid", None),
    ]


@pytest.mark.parametrize("header", ["Lead ID,Amount,Currency", "Lead ID,Amount"])
def test_two_currencies_in_equal_numbers_are_each_left_to_the_lead_channel(tmp_path, header):
    """No majority: the first row's currency would win by chance; each row is checked against
    its own lead's channel when it is sent instead (whole-file check, as validate runs it)."""
    from importer.check.mapping import Mapping
    from importer.job.validate import validate

    cells = (",EUR", ",USD") if header.endswith("Currency") else (" EUR", " USD")
    path = csv_file(tmp_path, header, f"{LEAD_1},10{cells[0]}", f"{LEAD_2},20{cells[1]}")
    report = validate(path, mapping=Mapping(no_date=True))
    assert (report.exit_code, report.summary.count("valid")) == (0, 2)


def test_an_amount_marked_kr_is_warned_unless_a_currency_column_says_which(tmp_path):
    kroner = (
        "amount is marked 'kr.', which several currencies use (DKK, SEK, NOK or ISK): it is sent "
        "as an amount in the lead's channel currency, unchecked; map a Currency column to have "
        "it checked"
    )
    path = csv_file(tmp_path, "Lead ID;Beløb", f"{LEAD_1};1.234,50 kr.", f"{LEAD_2};99,00")
    rows = check_file(path, Mapping(no_date=True))
    assert [(row, status, warnings) for row, status, _, warnings, _ in rows] == [
        (2, "valid", [kroner]),
        (3, "valid", []),
    ]
    named = csv_file(tmp_path, "Lead ID;Beløb;Valuta", f"{LEAD_1};1.234,50 kr.;DKK", name="d.csv")
    assert [w for *_, w, _ in check_file(named, Mapping(no_date=True))] == [[]]


def test_currency_column_needs_a_code_on_every_row(tmp_path):
    path = csv_file(tmp_path, "Lead ID,Amount,Currency", f"{LEAD_1},10,USD", f"{LEAD_2},20,")

    rows = verdicts(path)

    assert rows[1] == (
        3,
        "invalid",
        "currency is empty; every row needs a currency code when the column is mapped",
    )


def test_amount_currency_must_match_currency_column(tmp_path):
    path = csv_file(tmp_path, "Lead ID,Amount,Currency", f"{LEAD_1},$10,USD", f"{LEAD_2},€20,USD")

    rows = verdicts(path)

    assert rows[0] == (2, "valid", None)
    assert rows[1] == (3, "invalid", "amount is marked EUR but the currency column says USD")


# --- duplicates ----------------------------------------------------------------------------------


def test_same_reference_with_another_payload_is_an_invoice_line(tmp_path):
    """Xero at line level: two lines of INV-1 are two purchases; the later names the first."""
    path = csv_file(
        tmp_path,
        "Lead ID,Amount,Reference,Product",
        f"{LEAD_1},10,INV-1,Pro",
        f"{LEAD_2},20,INV-2,Pro",
        f"{LEAD_1},30,inv-1,Add-on",
    )

    rows = [(r[0], r[1], r[2], r[3]) for r in check_file(path)]

    assert rows == [
        (2, "valid", None, []),
        (3, "valid", None, []),
        (
            4,
            "valid",
            None,
            ["same reference as row 2 (another line of the same invoice?), both are sent"],
        ),
    ]


def test_whole_payload_repeated_with_a_reference_is_a_duplicate(tmp_path):
    path = csv_file(
        tmp_path,
        "Lead ID,Amount,Reference",
        f"{LEAD_1},10,INV-1",
        f"{LEAD_1},10.00,inv-1",
    )

    assert verdicts(path) == [
        (2, "valid", None),
        (3, "skipped", duplicate_of(2)),
    ]


def test_an_amount_written_another_way_is_the_same_amount_and_a_cent_is_not(tmp_path):
    """Duplicate keys stand the amount's text in for the amount when it is written 1234.50:
    every other way of writing the same amount must still give the same key."""
    path = csv_file(
        tmp_path,
        "Lead ID,Amount,Reference",
        f"{LEAD_1},1500.00,INV-1",
        f"{LEAD_1},1500,INV-1",
        f'{LEAD_1},"1,500.00",INV-1',
        f"{LEAD_1},1500.0,INV-1",
        f"{LEAD_1},01500.00,INV-1",
        f"{LEAD_1},1500.01,INV-1",
        f"{LEAD_1},0.5,INV-2",
        f"{LEAD_1},0.50,INV-2",
    )

    rows = verdicts(path)

    assert [(row, status) for row, status, _ in rows] == [
        (2, "valid"),
        (3, "skipped"),
        (4, "skipped"),
        (5, "skipped"),
        (6, "skipped"),
        (7, "valid"),
        (8, "valid"),
        (9, "skipped"),
    ]
    skipped = {reason for _, status, reason in rows if status == "skipped"}
    assert skipped == {duplicate_of(2), duplicate_of(8)}


def test_amounts_with_more_decimals_are_not_rounded_into_a_duplicate(tmp_path):
    path = csv_file(
        tmp_path,
        "Lead ID,Amount,Reference",
        f"{LEAD_1},1.23,INV-1",
        f"{LEAD_1},1.234,INV-1",
        f"{LEAD_1},1.2340,INV-1",
    )
    mapping = Mapping(allow_precision=True)

    statuses = [(row, status) for row, status, _ in verdicts(path, mapping)]

    assert statuses == [(2, "valid"), (3, "valid"), (4, "skipped")]


def test_same_lead_amount_date_product_is_a_duplicate(tmp_path):
    path = csv_file(
        tmp_path,
        "Lead ID,Amount,Date,Product",
        f"{LEAD_1},10,2026-03-02,Pro",
        f"{LEAD_1},10.00,2026-03-02,Pro",
        f"{LEAD_1},10,2026-03-03,Pro",
    )

    rows = verdicts(path)

    assert rows == [
        (2, "valid", None),
        (3, "skipped", duplicate_of(2)),
        (4, "valid", None),
    ]


def the_same_purchase_twice(tmp_path):
    """f.csv: row 3 repeats row 2 (lead, amount, reference)."""
    return csv_file(
        tmp_path, "Lead ID,Amount,Reference", f"{LEAD_1},10,INV-1", f"{LEAD_1},10,INV-1"
    )


def test_allow_duplicates_keeps_both_with_a_warning(tmp_path, cli):
    path = the_same_purchase_twice(tmp_path)

    code, _ = cli("validate", path, "--allow-duplicates", "--no-date")

    assert code == 0
    rows = read_results_csv(tmp_path / "f.results.csv")
    assert [(r["status"], r["error"], r["warnings"]) for r in rows] == [
        ("valid", "", ""),
        ("valid", "", "same purchase as row 2"),
    ]


def test_duplicate_rows_alone_exit_0(tmp_path, cli):
    path = the_same_purchase_twice(tmp_path)

    code, _ = cli("validate", path, "--no-date")

    assert code == 0
    rows = read_results_csv(tmp_path / "f.results.csv")
    assert [r["status"] for r in rows] == ["valid", "skipped"]


# --- report lines and overflowing rows -----------------------------------------------------------


@pytest.mark.parametrize("label", ["Total", "TOTAL", "Grand total", "Sum"])
def test_totals_footer_row_is_a_report_line(tmp_path, label):
    path = csv_file(tmp_path, "Lead ID,Amount", f"{LEAD_1},10", f"{LEAD_2},20", f"{label},30")

    rows = check_file(path)

    assert [(r[0], r[1], r[2], r[3]) for r in rows] == [
        (2, "valid", None, []),
        (3, "valid", None, []),
        (4, "skipped", "report line", []),
    ]


def test_totals_label_in_another_column(tmp_path):
    path = csv_file(tmp_path, "Reference,Lead ID,Amount", f"INV-1,{LEAD_1},10", "Total,,10")

    assert [r[1] for r in check_file(path)] == ["valid", "skipped"]


def test_row_with_more_cells_than_header_is_invalid_with_extra_cells(tmp_path):
    path = csv_file(
        tmp_path,
        "Lead ID,Amount,Reference",
        f"{LEAD_1},10,INV-1",
        f"{LEAD_2},1,500.00,INV-2",
        f"{LEAD_3},30,INV-3,,",
    )

    rows = verdicts(path)

    assert rows[0] == (2, "valid", None)
    assert rows[1][:2] == (3, "invalid")
    assert (
        "the row has more cells than the header has columns (extra: 'INV-2'); is there an "
        "unquoted delimiter in a value, such as 1,500.00?"
    ) in rows[1][2]
    assert rows[2] == (4, "valid", None)  # empty trailing cells are not data


def test_a_note_in_a_workbook_column_without_a_header_is_a_warning(tmp_path):
    # A workbook has no delimiter that could shift cells: the row is judged on its headed cells.
    path = write_xlsx(
        tmp_path / "notes.xlsx",
        {
            "Data": [
                ["Lead ID", "Date", "Amount"],
                [LEAD_1, dt.datetime(2026, 3, 1), 1500, None, "checked by Anna"],
                [LEAD_2, dt.datetime(2026, 3, 2), 20, "x", None, "?"],
                [LEAD_3, dt.datetime(2026, 3, 3), 30],
            ]
        },
    )

    rows = check_file(path, Mapping(no_amount=False, no_date=False))

    assert [(row, status, error, warnings) for row, status, error, warnings, _ in rows] == [
        (2, "valid", None, ["column E has no header: 'checked by Anna' is not imported"]),
        (
            3,
            "valid",
            None,
            [
                "column D has no header: 'x' is not imported",
                "column F has no header: '?' is not imported",
            ],
        ),
        (4, "valid", None, []),
    ]
    assert rows[0][4].purchase_amount == Decimal(1500)


def test_a_workbook_column_without_a_header_is_named_by_its_letter_in_the_sheet(tmp_path):
    path = write_xlsx(
        tmp_path / "offset.xlsx",
        {"Data": [[None, "Lead ID", "Amount"], [None, LEAD_1, 10, "late"]]},
    )

    rows = check_file(path, Mapping(no_amount=False))

    assert [(status, warnings) for _, status, _, warnings, _ in rows] == [
        ("valid", ["column D has no header: 'late' is not imported"])
    ]


def test_overflow_only_row_is_not_blank(tmp_path):
    path = csv_file(tmp_path, "Lead ID,Amount", f"{LEAD_1},10", ",,lost value")

    rows = verdicts(path)

    assert rows[1][:2] == (3, "invalid")
    assert "(extra: 'lost value')" in rows[1][2]


def test_missing_lead_reason(tmp_path):
    path = csv_file(tmp_path, "Lead ID,Amount", f"{LEAD_1},10", ",20")

    assert verdicts(path)[1] == (3, "invalid", "lead_id is empty")


def test_a_dashed_date_of_two_digit_numbers_that_reads_year_first_is_not_guessed(tmp_path):
    """26-03-05 is 26 March 2005 to one system and 2026-03-05 to another: the year is no
    guess. --day-first (the user's word) reads them day-month-year."""
    path = csv_file(
        tmp_path,
        "Lead ID,Amount,Date",
        f"{LEAD_1},10.00,26-03-05",
        f"{LEAD_2},11.00,31-12-25",  # 31 is no year of a purchase: only day-first
        f"{LEAD_3},12.00,2026-03-05",
    )
    assert verdicts(path) == [
        (
            2,
            "invalid",
            "date '26-03-05' may be year-first (2026-03-05) as well as day or month first; "
            "write the year with four digits, or rerun with --day-first when every date of the "
            "column is day-month-year",
        ),
        (3, "valid", None),
        (4, "valid", None),
    ]
    rows = check_file(path, Mapping(day_first=True))
    assert [r[1] for r in rows] == ["valid"] * 3
    assert rows[0][4].date.date() == dt.date(2005, 3, 26)
