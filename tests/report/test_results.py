"""Results file: name, columns, order, encoding, formula neutralising, XLSX style, atomicity."""

from __future__ import annotations

import datetime as dt
import json

import openpyxl
import pytest
from conftest import LEAD_1, LEAD_2, LEAD_3, read_results_csv, write_csv, write_xlsx

from importer.check.mapping import Mapping
from importer.job.validate import validate
from importer.records import RESULT_COLUMNS
from importer.report.results import ResultsWriter, neutralise

RESULT_HEADER = ["row", "status", "purchase_id", "http_status", "error", "attempts", "warnings"]


def leftover_temp_files(directory) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.endswith(".tmp"))


def test_result_columns_are_the_promised_ones():
    assert list(RESULT_COLUMNS) == RESULT_HEADER


def test_csv_results_default_path_columns_order_and_bom(tmp_path):
    text = (
        "Notes,Lead ID,Amount,Reference,Extra\r\n"
        f'  keep  spaces ,{LEAD_1},"1,500.00",00123,\r\n'
        f"second,{LEAD_2},oops,R-2,x\r\n"
        "\r\n"
        f"third,{LEAD_3},20,R-3,NaN\r\n"
    )
    path = write_csv(tmp_path / "march 2026.csv", text)

    report = validate(path, Mapping(no_date=True))

    assert report.results_path == tmp_path / "march 2026.results.csv"
    raw = report.results_path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    assert raw.splitlines()[0].decode("utf-8-sig") == (
        "Notes,Lead ID,Amount,Reference,Extra," + ",".join(RESULT_HEADER)
    )
    rows = read_results_csv(report.results_path)
    assert [list(r.values())[:5] for r in rows] == [
        ["  keep  spaces ", LEAD_1, "1,500.00", "00123", ""],
        ["second", LEAD_2, "oops", "R-2", "x"],
        ["third", LEAD_3, "20", "R-3", "NaN"],
    ]
    assert [(r["row"], r["status"]) for r in rows] == [
        ("2", "valid"),
        ("3", "invalid"),
        ("5", "valid"),
    ]
    assert rows[1]["error"].startswith("amount 'oops' is not a number")
    assert {r["purchase_id"] + r["http_status"] + r["attempts"] for r in rows} == {""}
    assert leftover_temp_files(tmp_path) == []


def test_results_option_overrides_path(tmp_path, cli):
    path = write_csv(tmp_path / "in.csv", f"Lead ID,Amount\r\n{LEAD_1},10\r\n")
    target = tmp_path / "out" / "checked.csv"

    code, err = cli("validate", "--no-date", path, "--results", target)

    assert code == 0
    assert err[-1] == f"results: {target}"
    assert [r["status"] for r in read_results_csv(target)] == ["valid"]
    assert not (tmp_path / "in.results.csv").exists()


def test_results_may_not_overwrite_the_input(tmp_path, cli):
    path = write_csv(tmp_path / "in.csv", f"Lead ID,Amount\r\n{LEAD_1},10\r\n")
    before = path.read_bytes()

    code, err = cli("validate", "--no-date", path, "--results", path)

    assert code == 2
    assert err[0] == f"error: --results {path} is the input file itself; choose another path"
    assert path.read_bytes() == before


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("=cmd|' /C calc'!A0", id="equals"),
        pytest.param("+1+2", id="plus"),
        pytest.param("-2+3", id="minus"),
        pytest.param("@SUM(A1)", id="at"),
        pytest.param("\t=1", id="tab"),
        pytest.param("\r=1", id="cr"),
    ],
)
def test_neutralise(value):
    assert neutralise(value) == "'" + value


@pytest.mark.parametrize("value", ["", "plain", "12", "a=b", " =x", "-120.00", "+5", "-1,234.5"])
def test_neutralise_leaves_plain_text(value):
    assert neutralise(value) == value


def test_csv_results_neutralise_formulas(tmp_path):
    text = (
        "Lead ID,Amount,Notes,=Header\r\n"
        f"{LEAD_1},10,=cmd,+1+1\r\n"
        f'{LEAD_2},20,"\t=tab",@x\r\n'
        f'{LEAD_3},30,"\r=cr",-5\r\n'
    )
    path = write_csv(tmp_path / "f.csv", text)

    report = validate(path, Mapping(no_date=True))

    with open(report.results_path, encoding="utf-8-sig", newline="") as handle:
        import csv

        lines = list(csv.reader(handle))
    assert lines[0][:4] == ["Lead ID", "Amount", "Notes", "'=Header"]
    assert [line[2:4] for line in lines[1:]] == [
        ["'=cmd", "'+1+1"],
        ["'\t=tab", "'@x"],
        ["'\r=cr", "-5"],  # a signed number is no formula
    ]


def test_error_text_with_formula_is_neutralised(tmp_path):
    path = write_csv(tmp_path / "f.csv", "Lead ID,Amount\r\n=HYPERLINK(1),10\r\n")

    report = validate(path, Mapping(no_date=True))

    [row] = read_results_csv(report.results_path)
    assert row["Lead ID"] == "'=HYPERLINK(1)"
    assert row["status"] == "invalid"


def xlsx_input(tmp_path, name="in.xlsx"):
    return write_xlsx(
        tmp_path / name,
        {
            "Sales": [
                ["Lead ID", "Amount", "Date", "Reference", "Notes"],
                [LEAD_1, 1500.0, dt.datetime(2026, 3, 2), "00123", "=cmd"],
                [LEAD_2, "oops", dt.datetime(2026, 3, 3), "R-2", "@x"],
                [LEAD_3, 20, dt.datetime(2026, 3, 4, 9, 15), 77, "+1"],
            ]
        },
    )


def test_xlsx_results_default_path_typed_cells_and_style(tmp_path):
    path = xlsx_input(tmp_path)

    report = validate(path)

    assert report.results_path == tmp_path / "in.results.xlsx"
    sheet = openpyxl.load_workbook(report.results_path).worksheets[0]
    header = [c.value for c in sheet[1]]
    assert header == ["Lead ID", "Amount", "Date", "Reference", "Notes", *RESULT_HEADER]
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == "A1:L4"
    assert [sheet.cell(r, 1).value for r in (2, 3, 4)] == [LEAD_1, LEAD_2, LEAD_3]
    assert sheet["B2"].value == 1500 and sheet["B2"].data_type == "n"
    assert sheet["C2"].value == dt.datetime(2026, 3, 2) and sheet["C2"].is_date
    assert sheet["C4"].value == dt.datetime(2026, 3, 4, 9, 15)
    assert sheet["D2"].value == "00123" and sheet["D2"].data_type == "s"
    assert sheet["D4"].value == 77
    assert [sheet.cell(r, 6).value for r in (2, 3, 4)] == [2, 3, 4]
    assert [sheet.cell(r, 7).value for r in (2, 3, 4)] == ["valid", "invalid", "valid"]
    assert sheet["J3"].value.startswith("amount 'oops' is not a number")
    assert sheet["A3"].fill.fgColor.rgb == "FFF8CBAD"  # invalid row highlighted
    assert sheet["A2"].fill.fill_type is None
    assert leftover_temp_files(tmp_path) == []


def test_xlsx_results_neutralise_formulas(tmp_path):
    report = validate(xlsx_input(tmp_path))

    sheet = openpyxl.load_workbook(report.results_path).worksheets[0]
    for ref, typed in (("E2", "=cmd"), ("E3", "@x"), ("E4", "+1")):
        cell = sheet[ref]
        assert cell.data_type == "s", ref
        assert cell.value.lstrip("'") == typed


def test_xlsx_writer_never_writes_a_formula(tmp_path):
    from importer.read.loader import Chunk
    from importer.records import RowResult, RowStatus

    target = tmp_path / "w.xlsx"
    writer = ResultsWriter(target, ["Notes"])
    writer.write(
        Chunk(rows=[2], cells=[["=1+1"]], raw=[["=1+1"]]),
        [RowResult(row=2, status=RowStatus.INVALID, error="=bad", warnings=["-w"])],
    )
    writer.commit()

    sheet = openpyxl.load_workbook(target).worksheets[0]
    filled = [(c.column_letter, c.data_type) for c in sheet[2] if c.value not in (None, "")]
    assert filled == [("A", "s"), ("B", "n"), ("C", "s"), ("F", "s"), ("H", "s")]
    assert sheet["A2"].value.lstrip("'") == "=1+1"
    assert sheet["F2"].value.lstrip("'") == "=bad"


def test_failing_run_leaves_no_results_file(tmp_path, monkeypatch):
    path = write_csv(tmp_path / "in.csv", f"Lead ID,Amount\r\n{LEAD_1},10\r\n")

    def explode(self, chunk, statuses, columns):
        raise RuntimeError("disk full")

    monkeypatch.setattr(ResultsWriter, "write_columns", explode)

    with pytest.raises(RuntimeError, match="disk full"):
        validate(path, Mapping(no_date=True))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv"]


def test_failing_run_keeps_previous_results_untouched(tmp_path, monkeypatch):
    path = xlsx_input(tmp_path)
    previous = tmp_path / "in.results.xlsx"
    previous.write_bytes(b"previous results")

    def explode(self, chunk, statuses, columns):
        raise RuntimeError("disk full")

    monkeypatch.setattr(ResultsWriter, "write_columns", explode)

    with pytest.raises(RuntimeError):
        validate(path)
    assert previous.read_bytes() == b"previous results"
    assert leftover_temp_files(tmp_path) == []


def test_file_error_leaves_no_results_file(tmp_path, cli):
    path = write_csv(tmp_path / "in.csv", f"Lead ID,Amount,Date\r\n{LEAD_1},10,03/04/2026\r\n")

    assert cli("validate", path)[0] == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv"]


def test_summary_on_stderr(tmp_path, cli):
    text = (
        "Lead ID,Amount,Reference\r\n"
        f'{LEAD_1},"1,500.50",R-1\r\n'
        f"{LEAD_2},oops,R-2\r\n"
        "\r\n"
        f'{LEAD_1},"1,500.50",R-1\r\n'
        f"{LEAD_3},30,R-4\r\n"
    )
    path = write_csv(tmp_path / "s.csv", text)

    code, err = cli("validate", "--no-date", path)

    assert code == 1
    assert err[err.index("summary:") + 1 :] == [
        "  rows in file           4   3,031.00",
        "  valid                  2   1,530.50",
        "  invalid                1   0",
        "  skipped                1   1,500.50",
        "  blank (ignored)         1",
        "  totals reconcile: rows and amounts per status add up to the file's",
        "  ledger: every valid row is new (nothing was imported into "
        "https://data.keenpartner.com/functions/v1/keen-api yet)",
        f"results: {tmp_path / 's.results.csv'}",
    ]


def test_summary_per_currency(tmp_path, cli):
    path = write_csv(
        tmp_path / "c.csv",
        f"Lead ID,Amount,Currency\r\n{LEAD_1},10,EUR\r\n{LEAD_2},20.5,EUR\r\n{LEAD_3},5,USD\r\n",
    )

    code, err = cli("validate", "--no-date", path)

    assert code == 1
    start = err.index("summary:") + 1
    assert err[start : start + 3] == [
        "  rows in file           3   30.50 EUR + 5.00 USD",
        "  valid                  2   30.50 EUR",
        "  invalid                1   5.00 USD",
    ]


def test_summary_json(tmp_path, cli):
    text = (
        "Lead ID,Amount,Date\r\n"
        f"{LEAD_1},1500,2026-03-02\r\n"
        f"{LEAD_2},oops,2026-03-03\r\n"
        "\r\n"
        f"{LEAD_3},20.25,2026-03-04\r\n"
        "Total,1520.25,\r\n"
    )
    path = write_csv(tmp_path / "s.csv", text)
    summary = tmp_path / "summary.json"

    code, _ = cli("validate", path, "--summary-json", summary)

    assert code == 1
    data = json.loads(summary.read_text())
    assert data["blank_rows"] == 1
    assert data["in_file"]["rows"] == 4
    assert data["by_status"] == {
        "invalid": {"rows": 1, "amounts": {}},
        "skipped": {"rows": 1, "amounts": {}},  # a "Total" footer's amount is no purchase
        "valid": {"rows": 2, "amounts": {"": "1520.25"}},
    }
    assert data["reconciles"] is True


AWKWARD_CELLS = [
    "",
    "plain",
    "a,b",
    'say "hi"',
    "two\nlines",
    "cr\ronly",
    "crlf\r\nend",
    "=SUM(A1)",
    "-5",
    "\t=tab",
    " leading space",
    '"',
    ",",
    "æøå €",
]


@pytest.mark.parametrize("offset", range(4))
def test_csv_results_match_csv_writer_byte_for_byte(tmp_path, offset):
    """The column-wise CSV writer must produce exactly what csv.writer would."""
    import csv
    import io

    from importer.read.loader import Chunk

    cells = AWKWARD_CELLS[offset:] + AWKWARD_CELLS[:offset]
    rows = [[cells[i], cells[(i + 3) % len(cells)], "x"] for i in range(len(cells))]
    writer = ResultsWriter(tmp_path / "out.csv", ["A", "B", "C"])
    chunk = Chunk(rows=list(range(2, 2 + len(rows))), cells=[list(r) for r in rows])
    result_columns = [
        [str(r) for r in chunk.rows],
        ["invalid"] * len(rows),
        [""] * len(rows),
        [""] * len(rows),
        [cells[(i + 5) % len(cells)] for i in range(len(rows))],
        [""] * len(rows),
        [cells[(i + 7) % len(cells)] for i in range(len(rows))],
    ]
    writer.write_columns(chunk, ["invalid"] * len(rows), result_columns)
    writer.commit()

    expected = io.StringIO(newline="")
    reference = csv.writer(expected)
    reference.writerow(["A", "B", "C", *RESULT_HEADER])
    for i, row in enumerate(rows):
        values = [neutralise(v) for v in row]
        extra = [column[i] for column in result_columns]
        for at in (2, 4, 6):  # purchase_id, error, warnings are neutralised; ours are not
            extra[at] = neutralise(extra[at])
        reference.writerow(values + extra)
    assert (tmp_path / "out.csv").read_bytes() == ("\ufeff" + expected.getvalue()).encode()


def test_xlsx_text_cells_like_formulas_get_the_quote_prefix(tmp_path):
    report = validate(xlsx_input(tmp_path))

    sheet = openpyxl.load_workbook(report.results_path).worksheets[0]
    # E2 "=cmd" on a valid row, E3 "@x" on an invalid (filled) row, E4 "+1": all quote-prefixed,
    # so Excel keeps them as text even after a user edits the cell.
    for ref in ("E2", "E3", "E4"):
        assert sheet[ref].quotePrefix is True, ref
        assert sheet[ref].data_type == "s"
    assert sheet["E3"].fill.fgColor.rgb == "FFF8CBAD"  # the invalid row keeps its highlight
    assert sheet["J3"].value.startswith("amount 'oops'")
    # Plain text, numbers and dates are not quote-prefixed.
    for ref in ("A2", "B2", "C2", "D2", "J3"):
        assert sheet[ref].quotePrefix is False, ref


def test_xlsx_result_columns_and_headers_like_formulas_are_quote_prefixed(tmp_path):
    from importer.read.loader import Chunk
    from importer.records import RowResult, RowStatus

    target = tmp_path / "w.xlsx"
    writer = ResultsWriter(target, ["-Notes", "Plain"])
    writer.write(
        Chunk(rows=[2], cells=[["-1", "x"]], raw=[["-1", "x"]]),
        [RowResult(row=2, status=RowStatus.INVALID, error="=bad", warnings=["+w"])],
    )
    writer.commit()

    sheet = openpyxl.load_workbook(target).worksheets[0]
    assert [c.quotePrefix for c in sheet[1]][:2] == [True, False]
    assert sheet["A1"].font.b is True  # still the header style
    quoted = [c.column_letter for c in sheet[2] if c.quotePrefix]
    assert quoted == ["A", "G", "I"]  # "-1", error "=bad", warnings "+w"
    assert sheet["G2"].value == "=bad" and sheet["G2"].data_type == "s"
