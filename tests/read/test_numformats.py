"""The currency a workbook's number format shows (calamine reads only the number)."""

from __future__ import annotations

import openpyxl
import pytest
from conftest import LEAD_1

from importer.job.validate import validate
from importer.read.loader import open_table
from importer.read.numformats import format_currency, format_percent


@pytest.mark.parametrize(
    ("code", "currency"),
    [
        ("[$€-407]#,##0.00", "EUR"),
        ("#,##0.00\\ [$€-407]", "EUR"),
        ("#,##0.00 €", "EUR"),
        ("\\€#,##0.00", "EUR"),
        ('0.00" EUR"', "EUR"),
        ("[$EUR] #,##0.00", "EUR"),
        ('"£"#,##0.00', "GBP"),
        ("[$$-409]#,##0.00", "USD"),
        ("[$$-1009] #,##0.00", "CAD"),
        ("#,##0.00 [$kr.-406]", "DKK"),
        ("#,##0.00 [$kr-41D]", "SEK"),
        ('0.00 "USD";[Red]-0.00 "USD"', "USD"),
        (
            '_-* #,##0.00\\ [$€-40C]_-;\\-* #,##0.00\\ [$€-40C]_-;_-* "-"??\\ [$€-40C]_-;_-@_-',
            "EUR",
        ),
        ("_-[$€-x-euro2] * #,##0.00_-", "EUR"),  # Excel's own "€ Euro (€ 123)"
        ("#,##0.00 [$€-x-euro1]", "EUR"),
        ("[$$-en-US]#,##0.00", "USD"),  # a language tag instead of a locale number
        ("[$$-en-CA]0.00", "CAD"),
        ("[$R$-416] #,##0.00", "BRL"),
        ("#,##0.00 [$zł-415]", "PLN"),
        ("\\E\\U\\R #,##0.00", "EUR"),  # a literal written a character at a time
        # Words that are no currency; a symbol several currencies share, without the locale
        # that says which: none.
        ('#,##0.00" VAT"', None),
        ('#,##0.00" NET"', None),
        ("[$$-fr-CA]0.00", None),
        ('"$"#,##0.00', None),
        ("$#,##0.00", None),
        ('_("$"* #,##0.00_)', None),
        ('#,##0.00 "kr"', None),
        # Two currencies, padding only, no currency at all.
        ("[$€-407]0.00;[$$-409]0.00", None),
        ("#,##0.00_€", None),
        ("#,##0.00", None),
        ("[Red]#,##0.00", None),
        ("[$-409]mmmm d, yyyy", None),
        ("yyyy-mm-dd", None),
    ],
)
def test_the_currency_a_number_format_shows(code, currency):
    assert format_currency(code) == currency


def _workbook(path, formats: list[str | None], values: list, lead: str = "1002") -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Lead ID", "Amount", "Date"])
    for row, (number_format, value) in enumerate(zip(formats, values, strict=True), start=2):
        sheet.append([lead, value, "2026-03-13"])
        if number_format:
            sheet.cell(row, 2).number_format = number_format
    book.save(path)


def test_number_cells_record_the_currency_their_format_shows(tmp_path):
    path = tmp_path / "formats.xlsx"
    formats = ["[$€-407]#,##0.00", "[$€-407]#,##0.00", None, "[$$-409]#,##0.00", "[$€-407]0.00"]
    _workbook(path, formats, [1500, 250.5, 12, 99, "text"])
    [chunk] = open_table(path).chunks()
    assert chunk.column(1) == ["1500", "250.5", "12", "99", "text"]  # the cells as they read
    assert chunk.shown_currencies == {1: {0: "EUR", 1: "EUR", 3: "USD"}}


def test_currency_cells_are_found_across_chunks(tmp_path):
    path = tmp_path / "many.xlsx"
    formats = ["[$€-407]#,##0.00"] * 7 + [None] * 3 + ["[$€-407]#,##0.00"] * 2
    _workbook(path, formats, list(range(1, 13)))
    chunks = list(open_table(path).chunks(size=4))
    assert [c.shown_currencies.get(1, {}) for c in chunks] == [
        {0: "EUR", 1: "EUR", 2: "EUR", 3: "EUR"},
        {0: "EUR", 1: "EUR", 2: "EUR"},
        {2: "EUR", 3: "EUR"},
    ]


def test_a_column_alternating_formats_keeps_every_cell_however_many_runs():
    """A € cell on every other row is 150,000 runs in 300,000 rows: none is dropped."""
    import numpy

    from importer.read.numformats import CurrencyRuns

    runs = CurrencyRuns(["EUR", "USD"])
    rows = numpy.arange(2, 300_002, 2, dtype=numpy.int64)  # every other row, in two blocks
    runs.add_cells(rows[:100_000], numpy.zeros(100_000, dtype=numpy.int64))
    runs.add_cells(rows[99_999:], numpy.zeros(len(rows) - 99_999, dtype=numpy.int64))
    assert len(runs.runs()[0]) == 150_000
    chunk_rows = list(range(299_990, 300_002))
    assert list(runs.spans(chunk_rows)) == [(i, i + 1, "EUR") for i in range(0, 12, 2)]


def test_an_ods_currency_cell_records_its_currency(tmp_path):
    """LibreOffice's Currency format: office:value-type="currency" office:currency="EUR"."""
    from read.test_reader_kinds import write_ods

    path = write_ods(
        tmp_path / "eur.ods",
        {
            "Sales": [
                ["Lead ID", "Amount", "Date"],
                ["1002", (1500, "EUR"), "2026-03-13"],
                ["2001", 250.5, "2026-03-13"],
                ["1002", (99, "USD"), "2026-03-13"],
            ]
        },
    )
    [chunk] = open_table(path).chunks()
    assert chunk.column(1) == ["1500", "250.5", "99"]
    assert chunk.shown_currencies == {1: {0: "EUR", 2: "USD"}}


@pytest.mark.parametrize(
    ("code", "percent"),
    [
        ("0%", True),
        ("0.00%", True),
        ("0.0%;[Red]-0.0%", True),
        ('0.00" %"', False),  # a literal: the number is not scaled
        ("#,##0.00\\%", False),
        ("[$€-407]#,##0.00", False),
        ("#,##0.00", False),
    ],
)
def test_a_percentage_format(code, percent):
    assert format_percent(code) is percent


def test_an_amount_cell_formatted_as_a_percentage_is_refused(tmp_path):
    """Excel shows 15% for the 0.15 the cell holds: no purchase amount either way (a CSV's
    "15%" is refused the same)."""
    path = tmp_path / "percent.xlsx"
    _workbook(path, ["0%", "0.00%", None, "[$$-409]#,##0.00"], [0.15, 0.125, 12, 99], LEAD_1)
    [chunk] = open_table(path).chunks()
    assert chunk.shown_currencies == {1: {0: "%", 1: "%", 3: "USD"}}
    report = validate(path, results=tmp_path / "out.csv")
    assert report.summary.count("invalid") == 2
    text = (tmp_path / "out.csv").read_text(encoding="utf-8-sig")
    assert "amount cell is formatted as a percentage (15%), not an amount;" in text
    assert "amount cell is formatted as a percentage (12.5%), not an amount;" in text


def test_an_ods_percentage_cell_is_recorded_as_one(tmp_path):
    from read.test_reader_kinds import write_ods

    rows = [["Lead ID", "Amount", "Date"], [LEAD_1, (0.15, "%"), "2026-03-13"],
            [LEAD_1, 250.5, "2026-03-13"]]  # fmt: skip
    path = write_ods(tmp_path / "percent.ods", {"Sales": rows})
    [chunk] = open_table(path).chunks()
    assert chunk.shown_currencies == {1: {0: "%"}}
    report = validate(path, results=tmp_path / "out.csv")
    assert (report.summary.count("invalid"), report.summary.count("valid")) == (1, 1)
