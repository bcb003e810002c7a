"""A quote opened and never closed makes the following lines one cell: those purchases would
be lost without a word. The row holding them is invalid and says so; a note typed over several
lines in a cell is not mistaken for it."""

from __future__ import annotations

from conftest import LEAD_1, LEAD_2, LEAD_3, check_file, write_csv

from importer.check.mapping import Mapping
from importer.job.validate import validate

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
