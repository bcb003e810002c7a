"""A quote opened and never closed makes the following lines one cell: those purchases would
be lost without a word. The row holding them is invalid and says so; a note typed over several
lines in a cell is not mistaken for it."""

from __future__ import annotations

import pytest
from conftest import LEAD_1, LEAD_2, LEAD_3, check_file, write_csv

from importer.check.mapping import Mapping
from importer.job.validate import validate
from importer.read.loader import open_table

NOT_CLOSED = (
    "a quote in column 'Product' is not closed: the cell runs on over {} like rows of their "
    'own, which are not read as purchases; close the quote (or remove the ") in the file and '
    "check it again"
)
HEADER = "Lead ID,Amount,Date,Product\n"


def test_a_quote_left_open_to_the_end_of_the_file_makes_its_row_invalid(tmp_path):
    path = write_csv(
        tmp_path / "open.csv",
        HEADER
        + f'{LEAD_1},100.00,2026-03-02,"Pro\n'
        + f"{LEAD_2},200.00,2026-03-03,Starter\n"
        + f"{LEAD_3},300.00,2026-03-04,Pro\n",
    )
    rows = check_file(path)
    assert [(row, status, error) for row, status, error, *_ in rows] == [
        (2, "invalid", NOT_CLOSED.format("2 lines that look")),
    ]


def test_a_quote_closed_later_in_the_file_swallows_the_lines_between(tmp_path):
    path = write_csv(
        tmp_path / "late.csv",
        HEADER
        + f'{LEAD_1},100.00,2026-03-02,"Pro\n'
        + f"{LEAD_2},200.00,2026-03-03,Starter\n"
        + f'{LEAD_3},300.00,2026-03-04,Pro"\n'
        + f"{LEAD_2},400.00,2026-03-05,Team\n",
    )
    rows = check_file(path)
    assert [(row, status, error) for row, status, error, *_ in rows] == [
        (2, "invalid", NOT_CLOSED.format("2 lines that look")),
        (3, "valid", None),
    ]


def test_a_note_over_several_lines_is_read_as_one_cell(tmp_path):
    path = write_csv(
        tmp_path / "note.csv",
        HEADER
        + f'{LEAD_1},100.00,2026-03-02,"Pro plan,\nyearly, paid by card"\n'
        + f"{LEAD_2},200.00,2026-03-03,Starter\n",
    )
    rows = check_file(path)
    assert [(row, status) for row, status, *_ in rows] == [(2, "valid"), (3, "valid")]
    assert rows[0][4].product_name == "Pro plan,\nyearly, paid by card"


def test_validate_exits_1_and_counts_the_row(tmp_path):
    path = write_csv(
        tmp_path / "open.csv",
        HEADER + f"{LEAD_2},200.00,2026-03-03,Starter\n" + f'{LEAD_1},100.00,2026-03-02,"Pro\n'
        f"{LEAD_2},300.00,2026-03-03,Starter\n",
    )
    report = validate(path, mapping=Mapping())
    assert report.exit_code == 1
    assert (report.summary.count("valid"), report.summary.count("invalid")) == (1, 1)


CUT_OFF = (
    "the file ends inside a quoted value in column 'Amount' — it looks cut off (truncated "
    "download/copy): export it again"
)
CUT_HEADER = "Lead ID,Date,Amount\r\n"
CUT_ROWS = f'{LEAD_1},2026-03-01,"10.00"\r\n{LEAD_2},2026-03-02,"20.00"\r\n'


def test_a_file_cut_off_inside_a_quoted_amount_makes_its_last_row_invalid(tmp_path):
    # Python's csv reader takes the quote left open at the end of the file as closed: "1,500"
    # would be sent as 1500 when the export held "1,500,000.00".
    path = write_csv(tmp_path / "cut.csv", CUT_HEADER + CUT_ROWS + f'{LEAD_3},2026-03-03,"1,500')
    rows = check_file(path, Mapping(no_amount=False))
    assert [(row, status, error) for row, status, error, *_ in rows] == [
        (2, "valid", None),
        (3, "valid", None),
        (4, "invalid", CUT_OFF),
    ]


@pytest.mark.parametrize(
    "ending",
    [
        '"1,500"',  # closed
        '"1,500"\r\n',
        '"1,500"""',  # closed after an escaped quote
        "1500",  # not quoted
        '""',  # empty and closed
    ],
)
def test_a_file_ending_in_a_closed_or_unquoted_value_is_complete(tmp_path, ending):
    path = write_csv(
        tmp_path / "whole.csv", CUT_HEADER + CUT_ROWS + f"{LEAD_3},2026-03-03,{ending}"
    )
    rows = check_file(path, Mapping(no_amount=False))
    assert CUT_OFF not in [error for _, _, error, *_ in rows]


def test_a_cut_off_file_is_found_when_its_last_row_ends_a_full_chunk(tmp_path):
    path = write_csv(tmp_path / "cut.csv", CUT_HEADER + CUT_ROWS + f'{LEAD_3},2026-03-03,"1,500')
    table = open_table(path)
    chunks = list(table.chunks(3))
    assert [chunk.rows for chunk in chunks] == [[2, 3, 4]]
    assert chunks[0].cut_off == (2, 2)
    path.write_text(CUT_HEADER + CUT_ROWS + f'{LEAD_3},2026-03-03,"20.00"\r\n{LEAD_1},x,"1,5')
    assert [chunk.cut_off for chunk in open_table(path).chunks(3)] == [None, (0, 2)]


def test_a_cut_off_quote_that_swallowed_rows_keeps_the_run_on_reason(tmp_path):
    path = write_csv(
        tmp_path / "open.csv",
        HEADER
        + f'{LEAD_1},100.00,2026-03-02,"Pro\n'
        + f"{LEAD_2},200.00,2026-03-03,Starter\n"
        + f"{LEAD_3},300.00,2026-03-04,Pro",
    )
    rows = check_file(path)
    assert [(row, status, error) for row, status, error, *_ in rows] == [
        (2, "invalid", NOT_CLOSED.format("2 lines that look")),
    ]


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16", "cp1252"])
def test_a_cut_off_file_is_found_in_every_encoding(tmp_path, encoding):
    text = CUT_HEADER + CUT_ROWS + f'{LEAD_3},2026-03-03,"1.500,00 €'
    path = write_csv(tmp_path / "cut.csv", text, encoding=encoding)
    assert [chunk.cut_off for chunk in open_table(path).chunks()] == [(2, 2)]
