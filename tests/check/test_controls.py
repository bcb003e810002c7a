"""Finance controls: period gate, control totals, date-range notes, manifest."""

from __future__ import annotations

import hashlib
import json
from decimal import Decimal

import pytest
from conftest import LEAD_1, LEAD_2, read_results_csv, write_csv

from importer import Mapping, validate
from importer.check.controls import parse_expected_total, parse_period
from importer.check.summary import format_amounts, labelled_amounts
from importer.errors import ConfigurationError, ControlTotalError

FILE = (
    "Lead ID,Amount,Date,Reference\r\n"
    f"{LEAD_1},100.00,2026-02-28,R1\r\n"
    f"{LEAD_1},200.50,2026-03-01,R2\r\n"
    f"{LEAD_2},300.25,2026-03-31,R3\r\n"
    f"{LEAD_2},50.00,2026-04-01,R4\r\n"
)


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        pytest.param("2026-03", "2026-03-01", "2026-04-01", id="month"),
        pytest.param("2026-12", "2026-12-01", "2027-01-01", id="december"),
        pytest.param("2026-01..2026-03", "2026-01-01", "2026-04-01", id="quarter"),
    ],
)
def test_parse_period(text, start, end):
    period = parse_period(text)
    assert (period.start.isoformat(), period.end.isoformat()) == (start, end)


@pytest.mark.parametrize("text", ["2026", "2026-13", "March", "2026-03..2026-01"])
def test_bad_period_is_a_configuration_error(text):
    with pytest.raises(ConfigurationError):
        parse_period(text)


def test_expected_total_with_and_without_currency():
    assert parse_expected_total("1,500.25:eur").amount == Decimal("1500.25")
    assert parse_expected_total("1,500.25:eur").currency == "EUR"
    assert parse_expected_total("99").currency is None


def test_period_gate_marks_rows_outside_the_month_invalid(tmp_path, cli):
    path = write_csv(tmp_path / "march.csv", FILE)
    code, err = cli("validate", path, "--period", "2026-03")
    assert code == 1
    rows = read_results_csv(tmp_path / "march.results.csv")
    assert [(r["row"], r["status"], r["error"]) for r in rows] == [
        ("2", "invalid", "date 2026-02-28 is outside the period 2026-03"),
        ("3", "valid", ""),
        ("4", "valid", ""),
        ("5", "invalid", "date 2026-04-01 is outside the period 2026-03"),
    ]


def test_period_uses_the_timezone_of_the_file(tmp_path):
    # 2026-03-01 00:30 in Copenhagen is 2026-02-28 23:30 UTC: still March for the user.
    path = write_csv(
        tmp_path / "tz.csv", f"Lead ID,Amount,Date\r\n{LEAD_1},10,2026-03-01 00:30\r\n"
    )
    report = validate(path, Mapping(period="2026-03", timezone="Europe/Copenhagen"))
    assert report.summary.count("valid") == 1


def test_the_date_range_is_in_the_files_time_zone(tmp_path, cli):
    # 2026-03-01 in Copenhagen is 2026-02-28 23:00 UTC: the range and the month are the file's.
    rows = "".join(f"{LEAD_1},10,2026-03-{day:02d}\r\n" for day in range(1, 32))
    path = write_csv(tmp_path / "sales_march.csv", "Lead ID,Amount,Date\r\n" + rows)
    code, err = cli("validate", path, "--timezone", "Europe/Copenhagen")
    assert (code, [line for line in err if "dates from" in line or "monthly" in line]) == (
        0,
        ["  dates from 2026-03-01 to 2026-03-31"],
    )


def test_monthly_file_spanning_months_is_warned(tmp_path, cli):
    path = write_csv(tmp_path / "sales_2026-03.csv", FILE)
    code, err = cli("validate", path)
    assert code == 0
    assert "  dates from 2026-02-28 to 2026-04-01" in err
    assert any(
        line.startswith(
            "  warning: sales_2026-03.csv looks like a monthly file but its dates span 3 months"
        )
        for line in err
    )


def test_control_totals_match(tmp_path, cli):
    path = write_csv(tmp_path / "f.csv", FILE)
    code, err = cli("validate", path, "--expect-rows", "4", "--expect-total", "650.75")
    assert code == 0
    assert "  rows match the control total (4)" in err
    assert "  amount matches the control total (650.75)" in err


def test_control_rows_mismatch_exits_2_with_the_difference(tmp_path, cli):
    path = write_csv(tmp_path / "f.csv", FILE)
    code, err = cli("validate", path, "--expect-rows", "5")
    assert code == 2
    assert err[-2] == (
        "error: control total mismatch: the file has 4 purchase rows, expected 5 (difference -1)"
    )


def test_control_total_mismatch_names_both_amounts(tmp_path):
    path = write_csv(tmp_path / "f.csv", FILE)
    with pytest.raises(ControlTotalError) as caught:
        validate(path, expect_total="650.00")
    assert "add up to 650.75" in str(caught.value)
    assert "difference +0.75" in str(caught.value)


def test_run_stops_on_control_total_before_sending(tmp_path, cli, monkeypatch):
    monkeypatch.setenv("KEEN_API_KEY", "00000000-0000-4000-8000-000000000000")
    path = write_csv(tmp_path / "f.csv", FILE)
    # The URL is never contacted: the totals are checked before the first request.
    code, err = cli("run", path, "--api-url", "http://127.0.0.1:9/x", "--expect-rows", "3")
    assert code == 2
    assert err[0].startswith("error: control total mismatch: the file has 4 purchase rows")
    assert not (tmp_path / "f.results.csv").exists()


def test_manifest_of_validate(tmp_path):
    path = write_csv(tmp_path / "f.csv", FILE)
    validate(path, Mapping(period="2026-03"))
    manifest = json.loads((tmp_path / "f.manifest.json").read_text())
    assert manifest["command"] == "validate"
    assert manifest["input"]["name"] == "f.csv"
    assert manifest["input"]["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert manifest["input"]["size_bytes"] == path.stat().st_size
    assert manifest["mapping"] == {
        "lead_id": "Lead ID",
        "purchase_amount": "Amount",
        "date": "Date",
        "reference": "Reference",
    }
    assert manifest["options"]["period"] == "2026-03"
    assert manifest["summary"]["by_status"] == {
        "invalid": {"rows": 2, "amounts": {"": "150.00"}},
        "valid": {"rows": 2, "amounts": {"": "500.75"}},
    }
    assert manifest["results"].endswith("f.results.csv")
    assert manifest["api_url"] is None


def test_file_damaged_by_excel(tmp_path):
    """A CSV saved by Excel: long references in scientific notation, lost leading zeros,
    an amount turned into a date, and a reference turned into a date serial."""
    lines = ["Lead ID,Amount,Date,Reference"]
    for i in range(8):
        lines.append(f"{LEAD_1},{100 + i}.00,2026-03-0{i + 1},00{4711 + i}")
    lines.append(f"{LEAD_2},1-Oct,2026-03-10,004720")
    lines.append(f"{LEAD_2},55.00,2026-03-11,4721")
    lines.append(f"{LEAD_2},56.00,2026-03-12,1.23457E+15")
    path = write_csv(tmp_path / "damaged.csv", "\r\n".join(lines) + "\r\n")
    report = validate(path)
    rows = {int(r["row"]): r for r in read_results_csv(tmp_path / "damaged.results.csv")}
    assert [rows[r]["status"] for r in range(2, 10)] == ["valid"] * 8
    assert rows[10]["status"] == "invalid"
    assert rows[10]["error"] == (
        "amount '1-Oct' looks like a date: Excel probably turned 1.10 into 1 October; "
        "re-enter the amount as a number"
    )
    assert rows[11]["status"] == "valid"
    assert rows[11]["warnings"].startswith(
        "reference '4721' is shorter than the others (6 digits, e.g. '004711')"
    )
    assert rows[12]["status"] == "invalid"
    assert rows[12]["error"] == (
        "reference '1.23457E+15' is in scientific notation: Excel has already rounded it; "
        "re-export the column as text"
    )
    assert report.summary.count("invalid") == 2


@pytest.mark.parametrize(
    ("amounts", "shown"),
    [
        ({}, "0"),
        ({"": Decimal("3402.5")}, "3,402.50"),
        ({"USD": Decimal("249.5"), "": Decimal("3402.5")}, "3,402.50 (no currency) + 249.50 USD"),
        ({"USD": Decimal("1"), "EUR": Decimal("1234567.891")}, "1,234,567.89 EUR + 1.00 USD"),
    ],
)
def test_amounts_without_a_currency_are_marked_next_to_named_ones(amounts, shown):
    assert format_amounts(amounts) == shown


def test_labelled_amounts_feed_the_pages_the_same_labels():
    mixed = {"USD": Decimal("249.50"), "": Decimal("3402.50")}
    assert labelled_amounts(mixed) == [
        ("(no currency)", Decimal("3402.50")),
        ("USD", Decimal("249.50")),
    ]
    assert labelled_amounts({"": Decimal("1")}) == [("", Decimal("1"))]


def test_a_zero_amount_is_valid_and_warned(tmp_path):
    # Keen records a purchase of 0, and a trigger with a fixed reward pays for it.
    amounts = ("0", "0.00", "10", "0.01")
    rows = [f"{LEAD_1},{amount},2026-03-0{day}\r\n" for day, amount in enumerate(amounts, 1)]
    path = write_csv(tmp_path / "zero.csv", "Lead ID,Amount,Date\r\n" + "".join(rows))
    report = validate(path, Mapping())
    results = read_results_csv(report.results_path)
    assert [(r["row"], r["status"], r["warnings"][:17]) for r in results] == [
        ("2", "valid", "amount is 0: Keen"),
        ("3", "valid", "amount is 0: Keen"),
        ("4", "valid", ""),
        ("5", "valid", ""),
    ]
