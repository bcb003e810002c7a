"""Reading CSV/XLSX: encodings, delimiters, quoting, row numbers, title rows, sheets, types."""

from __future__ import annotations

import datetime as dt
from datetime import UTC
from decimal import Decimal

import pytest
from conftest import LEAD_1, LEAD_2, check_file, read_results_csv, write_csv, write_xlsx

from importer.check.mapping import Mapping
from importer.errors import InputFileError
from importer.job.validate import validate
from importer.read.loader import open_table


def data_rows(table) -> list[tuple[int, list[str]]]:
    return [
        (row, cells)
        for chunk in table.chunks()
        for row, cells in zip(chunk.rows, chunk.cells, strict=True)
    ]


# --- encodings --------------------------------------------------------------------------------


def test_utf8_bom_never_leaks_into_first_header(tmp_path):
    path = write_csv(tmp_path / "bom.csv", f"\ufeffLead ID,Amount\r\n{LEAD_1},1500\r\n")
    assert path.read_bytes()[:3] == b"\xef\xbb\xbf"

    table = open_table(path)

    assert table.headers == ["Lead ID", "Amount"]
    assert table.info.encoding == "utf-8-sig"
    assert data_rows(table) == [(2, [LEAD_1, "1500"])]


def test_utf8_bom_with_explicit_encoding_still_stripped(tmp_path):
    path = write_csv(tmp_path / "bom.csv", f"\ufeffLead ID,Amount\r\n{LEAD_1},1500\r\n")

    table = open_table(path, encoding="utf-8")

    assert table.headers == ["Lead ID", "Amount"]


def test_utf8_bom_header_is_mapped(tmp_path):
    path = write_csv(tmp_path / "bom.csv", f"\ufeffLead ID,Amount\r\n{LEAD_1},1500\r\n")

    report = validate(path, Mapping(no_date=True))

    assert report.columns == {"lead_id": "Lead ID", "purchase_amount": "Amount"}
    first_header = read_results_csv(report.results_path)[0]
    assert list(first_header)[0] == "Lead ID"


def test_cp1252_file_with_accents_and_euro(tmp_path):
    text = f"Lead ID;Amount;Product\r\n{LEAD_1};1500 €;Café crème\r\n"
    path = write_csv(tmp_path / "cp.csv", text, encoding="cp1252")
    assert b"\x80" in path.read_bytes() and b"\xe9" in path.read_bytes()

    table = open_table(path)

    assert table.info.encoding == "cp1252"
    assert table.delimiter == ";"
    assert data_rows(table) == [(2, [LEAD_1, "1500 €", "Café crème"])]
    [(row, status, error, _, record)] = check_file(path)
    assert (row, status, error) == (2, "valid", None)
    assert record.purchase_amount == Decimal("1500")
    assert record.currency == "EUR"
    assert record.product_name == "Café crème"


def test_cp1252_carried_into_results_as_utf8(tmp_path):
    text = f"Lead ID;Amount;Product\r\n{LEAD_1};1500 €;Café crème\r\n"
    path = write_csv(tmp_path / "cp.csv", text, encoding="cp1252")

    report = validate(path, Mapping(no_date=True))

    [row] = read_results_csv(report.results_path)
    assert row["Amount"] == "1500 €"
    assert row["Product"] == "Café crème"


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be"], ids=["utf16-le-bom", "utf16-be-bom"])
def test_utf16_with_bom(tmp_path, encoding):
    text = f"Lead ID\tAmount\tProduct\r\n{LEAD_1}\t1500\tCafé\r\n"
    data = text.encode("utf-16") if encoding == "utf-16" else b"\xfe\xff" + text.encode(encoding)
    path = tmp_path / "u16.csv"
    path.write_bytes(data)

    table = open_table(path)

    assert table.headers == ["Lead ID", "Amount", "Product"]
    assert table.delimiter == "\t"
    assert data_rows(table) == [(2, [LEAD_1, "1500", "Café"])]


# --- delimiters -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "delimiter",
    [
        pytest.param(",", id="comma"),
        pytest.param(";", id="semicolon"),
        pytest.param("\t", id="tab"),
        pytest.param("|", id="pipe"),
    ],
)
def test_delimiter_detected(tmp_path, delimiter):
    lines = [
        ["Lead ID", "Amount", "Date"],
        [LEAD_1, "1500", "2026-03-02"],
        [LEAD_2, "20", "2026-03-03"],
    ]
    text = "".join(delimiter.join(line) + "\r\n" for line in lines)
    path = write_csv(tmp_path / "d.csv", text)

    table = open_table(path)

    assert table.delimiter == delimiter
    assert table.headers == ["Lead ID", "Amount", "Date"]
    assert data_rows(table) == [(2, lines[1]), (3, lines[2])]


def test_semicolon_detected_with_decimal_commas(tmp_path):
    path = write_csv(
        tmp_path / "eu.csv", f"Lead ID;Amount\r\n{LEAD_1};1.500,00\r\n{LEAD_2};2,25\r\n"
    )

    table = open_table(path)

    assert table.delimiter == ";"
    assert data_rows(table) == [(2, [LEAD_1, "1.500,00"]), (3, [LEAD_2, "2,25"])]


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        pytest.param("tab", "\t", id="word-tab"),
        pytest.param("\\t", "\t", id="backslash-t"),
        pytest.param("\t", "\t", id="tab-char"),
    ],
)
def test_delimiter_override_names(tmp_path, given, expected):
    path = write_csv(tmp_path / "t.csv", f"Lead ID\tAmount\r\n{LEAD_1}\t1500\r\n")

    table = open_table(path, delimiter=given)

    assert table.delimiter == expected
    assert data_rows(table) == [(2, [LEAD_1, "1500"])]


def test_delimiter_override_wins_over_detection(tmp_path, cli):
    # Detection would pick ";"; forcing "," makes one column that names no lead.
    path = write_csv(tmp_path / "s.csv", f"Lead ID;Amount\r\n{LEAD_1};1500\r\n")

    code, err = cli("validate", path, "--delimiter", ",")

    assert code == 2
    assert err[0] == "error: no lead column found (neither lead_id nor legacy_lead_id)"
    assert err[1] == (
        "hint: map one with --map lead_id=COLUMN; columns in the file: 'Lead ID;Amount' "
        "(the header is looked for in rows 1-20 of a CSV, 1-60 of a sheet)"
    )
    assert not (tmp_path / "s.results.csv").exists()


def test_pipe_delimiter_override_in_cli(tmp_path, cli):
    # Values hold commas and semicolons; only the pipe is the real delimiter.
    text = f"Lead ID|Amount|Description\r\n{LEAD_1}|1500|a, b; c\r\n{LEAD_2}|20|d, e; f\r\n"
    path = write_csv(tmp_path / "p.csv", text)

    code, err = cli("validate", "--no-date", path, "--delimiter", "|")

    assert code == 0
    assert err[0] == "p.csv: encoding utf-8, delimiter '|', header on row 1"
    rows = read_results_csv(tmp_path / "p.results.csv")
    assert [r["Description"] for r in rows] == ["a, b; c", "d, e; f"]


def test_delimiter_override_of_two_characters_refused(tmp_path, cli):
    path = write_csv(tmp_path / "s.csv", f"Lead ID;Amount\r\n{LEAD_1};1500\r\n")

    code, err = cli("validate", path, "--delimiter", ";;")

    assert code == 2
    assert err[0] == "error: --delimiter must be one character, got ';;'"


# --- quoting, row numbers, blank rows, title rows ----------------------------------------------


def test_quoted_fields_with_commas_and_newlines_keep_excel_row_numbers(tmp_path):
    text = (
        "Lead ID,Amount,Description\r\n"
        f'{LEAD_1},"1,500.00","Line one\nline two, with comma"\r\n'
        f'{LEAD_2},20,"say ""hi"""\r\n'
    )
    path = write_csv(tmp_path / "q.csv", text)

    table = open_table(path)

    assert data_rows(table) == [
        (2, [LEAD_1, "1,500.00", "Line one\nline two, with comma"]),
        (3, [LEAD_2, "20", 'say "hi"']),
    ]
    report = validate(path, Mapping(no_date=True))
    rows = read_results_csv(report.results_path)
    assert [(r["row"], r["status"]) for r in rows] == [("2", "valid"), ("3", "valid")]
    assert rows[0]["Description"] == "Line one\nline two, with comma"
    assert rows[0]["Amount"] == "1,500.00"


def test_blank_rows_ignored_counted_and_row_numbers_unchanged(tmp_path):
    text = f"Lead ID,Amount\r\n{LEAD_1},10\r\n\r\n,\r\n , \r\n{LEAD_2},20\r\n\r\n"
    path = write_csv(tmp_path / "b.csv", text)

    table = open_table(path)
    chunks = list(table.chunks())

    assert [(r, c) for ch in chunks for r, c in zip(ch.rows, ch.cells, strict=True)] == [
        (2, [LEAD_1, "10"]),
        (6, [LEAD_2, "20"]),
    ]
    assert sum(ch.blank for ch in chunks) == 4
    report = validate(path, Mapping(no_date=True))
    assert report.summary.blank_rows == 4
    rows = read_results_csv(report.results_path)
    assert [r["row"] for r in rows] == ["2", "6"]


def test_title_rows_above_header(tmp_path):
    text = (
        "Sales report March 2026,,\r\n"
        ",,\r\n"
        "Lead ID,Amount,Date\r\n"
        f"{LEAD_1},1500,2026-03-02\r\n"
        f"{LEAD_2},20,2026-03-03\r\n"
    )
    path = write_csv(tmp_path / "t.csv", text)

    table = open_table(path)

    assert table.header_row == 3
    assert table.headers == ["Lead ID", "Amount", "Date"]
    assert [r for r, _ in data_rows(table)] == [4, 5]


@pytest.mark.parametrize("suffix", ["csv", "xlsx"])
def test_a_one_cell_title_is_passed_over_when_no_column_names_a_lead(tmp_path, suffix):
    """No lead column to recognise the header by: the first row of two cells or more is it,
    so the match step and the hints show the file's columns, not its title."""
    rows = [
        ["Sales report March 2026", "", ""],
        ["Customer", "Net amount", "Invoice date"],
        ["Acme", "100.00", "2026-03-01"],
    ]
    if suffix == "csv":
        path = write_csv(tmp_path / "t.csv", "".join(",".join(r) + "\r\n" for r in rows))
    else:
        path = write_xlsx(tmp_path / "t.xlsx", {"Sales": rows})

    table = open_table(path)

    assert (table.header_row, table.headers) == (2, ["Customer", "Net amount", "Invoice date"])
    assert [r for r, _ in data_rows(table)] == [3]


def test_a_two_cell_first_row_stays_the_header_without_a_lead_column(tmp_path):
    path = write_csv(tmp_path / "t.csv", "Customer,Net\r\nAcme,1\r\nBeta,2\r\n")
    table = open_table(path)
    assert (table.header_row, table.headers) == (1, ["Customer", "Net"])


def test_title_rows_found_with_mapped_header(tmp_path, cli):
    text = f"Export from Ledger,\r\nCustomer key,Net\r\n{LEAD_1},1500\r\n"
    path = write_csv(tmp_path / "t.csv", text)

    code, err = cli(
        "validate",
        path,
        "--no-date",
        "--map",
        "lead_id=Customer key",
        "--map",
        "purchase_amount=Net",
    )

    assert code == 0
    assert err[0] == "t.csv: encoding utf-8, delimiter ',', header on row 2"
    assert [r["row"] for r in read_results_csv(tmp_path / "t.results.csv")] == ["3"]


def test_trailing_delimiters_after_last_header_dropped(tmp_path):
    path = write_csv(tmp_path / "t.csv", f"Lead ID,Amount,,\r\n{LEAD_1},1500,,\r\n")

    table = open_table(path)

    assert table.headers == ["Lead ID", "Amount"]
    assert data_rows(table) == [(2, [LEAD_1, "1500"])]


def test_short_rows_padded(tmp_path):
    path = write_csv(tmp_path / "s.csv", f"Lead ID,Amount,Reference\r\n{LEAD_1},1500\r\n")

    assert data_rows(open_table(path)) == [(2, [LEAD_1, "1500", ""])]


def test_text_is_never_inferred(tmp_path):
    path = write_csv(
        tmp_path / "t.csv", f'Lead ID,Amount,Reference,Notes\r\n{LEAD_1},"1,500",00123,NaN\r\n'
    )

    report = validate(path, Mapping(no_date=True))

    [row] = read_results_csv(report.results_path)
    assert (row["Amount"], row["Reference"], row["Notes"]) == ("1,500", "00123", "NaN")


# --- XLSX ---------------------------------------------------------------------------------------

HEADER = ["Lead ID", "Amount", "Date", "Reference", "Product"]


def test_xlsx_first_sheet_by_default(tmp_path):
    path = write_xlsx(
        tmp_path / "b.xlsx",
        {
            "March": [HEADER, [LEAD_1, 1500.0, dt.datetime(2026, 3, 2), "00123", "Pro"]],
            "April": [HEADER, [LEAD_2, 20, dt.datetime(2026, 4, 2), "A", "B"]],
        },
    )

    table = open_table(path)

    assert table.sheet == "March"
    assert table.sheets == ["March", "April"]
    assert data_rows(table) == [(2, [LEAD_1, "1500", "2026-03-02", "00123", "Pro"])]


def test_xlsx_sheet_option_picks_another_sheet(tmp_path, cli):
    path = write_xlsx(
        tmp_path / "b.xlsx",
        {
            "Notes": [["written by finance"]],
            "April": [HEADER, [LEAD_2, 20, dt.datetime(2026, 4, 2), "A", "B"]],
        },
    )

    assert data_rows(open_table(path, sheet="April")) == [
        (2, [LEAD_2, "20", "2026-04-02", "A", "B"])
    ]
    code, err = cli("validate", path, "--sheet", "April")
    assert code == 0
    assert err[0] == "b.xlsx: sheet 'April', header on row 1"


def test_xlsx_wrong_sheet_lists_sheet_names(tmp_path, cli):
    path = write_xlsx(
        tmp_path / "b.xlsx", {"March": [HEADER], "April": [HEADER], "Q1 summary": [["x"]]}
    )

    with pytest.raises(InputFileError) as raised:
        open_table(path, sheet="May")
    assert str(raised.value) == (
        "b.xlsx has no sheet named 'May'; sheets: 'March', 'April', 'Q1 summary'"
    )
    code, err = cli("validate", path, "--sheet", "May")
    assert code == 2
    assert err == ["error: b.xlsx has no sheet named 'May'; sheets: 'March', 'April', 'Q1 summary'"]
    assert not (tmp_path / "b.results.xlsx").exists()


def test_xlsx_typed_cells_read_as_excel_shows_them(tmp_path):
    path = write_xlsx(
        tmp_path / "typed.xlsx",
        {
            "Data": [
                HEADER,
                [LEAD_1, 1500.0, dt.datetime(2026, 3, 2), "00123", 1500],
                [LEAD_2, 12.5, dt.datetime(2026, 3, 2, 14, 30), 123, "Pro plan"],
            ]
        },
    )

    table = open_table(path)

    assert data_rows(table) == [
        (2, [LEAD_1, "1500", "2026-03-02", "00123", "1500"]),
        (3, [LEAD_2, "12.5", "2026-03-02T14:30:00", "123", "Pro plan"]),
    ]
    first, second = check_file(path)
    assert first[1:4] == ("valid", None, [])
    record = first[4]
    assert record.purchase_amount == Decimal("1500")
    assert record.date == dt.datetime(2026, 3, 2, tzinfo=UTC)
    assert record.reference == "00123"
    assert record.product_name == "1500"
    record = second[4]
    assert record.purchase_amount == Decimal("12.5")
    assert record.date == dt.datetime(2026, 3, 2, 14, 30, tzinfo=UTC)
    assert record.reference == "123"


def test_xlsx_date_cell_in_timezone(tmp_path):
    path = write_xlsx(
        tmp_path / "tz.xlsx", {"Data": [HEADER[:3], [LEAD_1, 10, dt.datetime(2026, 3, 2)]]}
    )

    [(_, status, _, _, record)] = check_file(path, Mapping(timezone="Europe/Copenhagen"))

    assert status == "valid"
    assert record.date == dt.datetime(2026, 3, 1, 23, 0, tzinfo=UTC)


def test_xlsx_serials_of_a_1904_workbook_count_from_1904(tmp_path):
    """A number in the date column of a workbook in the 1904 date system is a 1904 serial:
    44620 is 2026-03-01 there (in the 1900 system, 2022-02-28: 4 years and a day early)."""
    rows = [
        [LEAD_1, 10, 44620],
        [LEAD_2, 20, "44621"],
        [LEAD_1, 30, dt.datetime(2026, 3, 1)],
        [LEAD_2, 40, 44620.5],
        [LEAD_1, 50, 24106],
    ]
    path = write_xlsx(tmp_path / "mac.xlsx", {"Data": [HEADER[:3], *rows]}, date_1904=True)
    plain = write_xlsx(tmp_path / "pc.xlsx", {"Data": [HEADER[:3], *rows[:1]]})

    checked = check_file(path)

    assert [(row, status, error) for row, status, error, _, _ in checked] == [
        (2, "valid", None),
        (3, "valid", None),
        (4, "valid", None),
        (5, "valid", None),
        (
            6,
            "invalid",
            "date '24106' is not a date: a number in a date column is read as an Excel serial "
            "date of the 1904 date system (this workbook's), and only 24107 to 71588 (1970 to "
            "2099) are plausible; check the column, or use YYYY-MM-DD",
        ),
    ]
    assert [r[4].date for r in checked[:4]] == [
        dt.datetime(2026, 3, 1, tzinfo=UTC),
        dt.datetime(2026, 3, 2, tzinfo=UTC),
        dt.datetime(2026, 3, 1, tzinfo=UTC),
        dt.datetime(2026, 3, 1, 12, tzinfo=UTC),
    ]
    assert checked[0][3] == [
        "date '44620' was read as an Excel serial date: 2026-03-01 (Excel probably converted "
        "the cell); check it"
    ]
    [(_, status, _, warnings, record)] = check_file(plain)
    assert (status, record.date) == ("valid", dt.datetime(2022, 2, 28, tzinfo=UTC))
    assert (open_table(path).date1904, open_table(plain).date1904) == (True, False)


def test_xlsx_blank_rows_and_title_rows(tmp_path):
    path = write_xlsx(
        tmp_path / "t.xlsx",
        {
            "Data": [
                ["Sales report March 2026"],
                [],
                HEADER,
                [LEAD_1, 10, dt.datetime(2026, 3, 2), "R1", "P"],
                [],
                [None, None, None, "", ""],
                [LEAD_2, 20, dt.datetime(2026, 3, 3), "R2", "P"],
            ]
        },
    )

    table = open_table(path)

    assert table.header_row == 3
    assert [r for r, _ in data_rows(table)] == [4, 7]
    report = validate(path)
    assert report.summary.blank_rows == 2
    assert report.summary.count("valid") == 2


def test_xlsm_is_read_like_xlsx(tmp_path):
    source = write_xlsx(tmp_path / "m.xlsx", {"Data": [HEADER[:2], [LEAD_1, 10]]})
    path = source.rename(tmp_path / "m.xlsm")

    report = validate(path, Mapping(no_date=True))

    assert report.results_path == tmp_path / "m.results.xlsx"
    assert report.summary.count("valid") == 1


def test_excel_sep_hint_line_sets_the_delimiter_and_is_skipped(tmp_path):
    path = write_csv(
        tmp_path / "sep.csv",
        f"sep=;\r\nLead ID;Amount\r\n{LEAD_1};1.500,00\r\n",
    )
    table = open_table(path)
    # Excel does not show the hint line: the header is its row 1.
    assert (table.delimiter, table.headers, table.header_row) == (";", ["Lead ID", "Amount"], 1)
    chunk = next(table.chunks())
    assert (chunk.rows, chunk.cells) == ([2], [[LEAD_1, "1.500,00"]])
    chosen = open_table(path, header_row=1)
    assert (chosen.headers, next(chosen.chunks()).rows) == (["Lead ID", "Amount"], [2])


def test_xlsx_cover_sheet_in_front_of_the_data_is_passed_over(tmp_path):
    path = write_xlsx(
        tmp_path / "cover.xlsx",
        {
            "Read me": [["This export lists March purchases"]],
            "Data": [["Lead ID", "Amount"], [LEAD_1, 12.5]],
        },
    )
    table = open_table(path)
    assert (table.sheet, table.headers) == ("Data", ["Lead ID", "Amount"])
