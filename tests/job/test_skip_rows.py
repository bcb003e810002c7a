"""Rows left out on purpose: ``--skip-rows N,M-K`` on the command line and the job API
(``skip_rows``, ``unskip_rows``, the ``skip_rows`` option), which the web app's "Skip row N"
uses; and what a check says of hidden rows and their amounts, skipped or not.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

import importer
from importer import ConfigurationError
from importer.check.rowranges import RowRanges
from importer.sandbox import DEMO_API_KEY

LEAD = "47378190-96da-4dac-b2ff-5d2a386ecbe0"


def purchases_csv(path: Path, count: int = 6) -> Path:
    """Rows 2.. with amounts 10.00, 20.00, ... and references R-1, R-2, ..."""
    lines = ["Lead ID,Amount,Currency,Date,Reference"]
    lines += [f"{LEAD},{10 * (i + 1)}.00,USD,2026-03-{i + 1:02d},R-{i + 1}" for i in range(count)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def results(path: Path) -> list[tuple[str, str, str]]:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        return [(r["row"], r["status"], r["error"]) for r in csv.DictReader(handle)]


LEFT_OUT = "left out with --skip-rows"


# --- the command line ---------------------------------------------------------------------------


def test_rows_of_a_file_with_excel_sep_line_are_numbered_as_excel_shows_them(tmp_path, cli):
    # Excel reads the "sep=," line as a setting and does not show it: the header is its row 1.
    source = purchases_csv(tmp_path / "march.csv", count=3)
    source.write_text("sep=,\n" + source.read_text(encoding="utf-8"), encoding="utf-8")

    code, err = cli("validate", source, "--skip-rows", "3")

    assert code == 0
    assert "header on row 1" in err[0]
    assert results(tmp_path / "march.results.csv") == [
        ("2", "valid", ""),
        ("3", "skipped", LEFT_OUT),
        ("4", "valid", ""),
    ]
    job = importer.open_import(source, header_row=1)
    job.check()
    job.edit(4, "Amount", "35.00")  # the row Excel shows as 4
    corrected = job.save_corrected().read_text(encoding="utf-8").splitlines()
    assert corrected[0] == "sep=,"
    assert corrected[4].split(",")[1] == "35.00"


def test_validate_skip_rows_leaves_those_rows_out(tmp_path, cli):
    source = purchases_csv(tmp_path / "march.csv")

    code, err = cli("validate", source, "--skip-rows", "3,5-6")

    assert code == 0
    assert results(tmp_path / "march.results.csv") == [
        ("2", "valid", ""),
        ("3", "skipped", LEFT_OUT),
        ("4", "valid", ""),
        ("5", "skipped", LEFT_OUT),
        ("6", "skipped", LEFT_OUT),
        ("7", "valid", ""),
    ]
    summary = err[err.index("summary:") + 1 : err.index("summary:") + 4]
    assert summary == [
        "  rows in file           6   210.00 USD",
        "  valid                  3   100.00 USD",
        "  skipped                3   110.00 USD",
    ]
    manifest = json.loads((tmp_path / "march.manifest.json").read_text(encoding="utf-8"))
    assert manifest["options"]["skip_rows"] == "3,5-6"
    assert manifest["skips"] == []  # the option, not rows left out one by one


def test_run_skip_rows_sends_every_other_row(tmp_path, sb, cli, monkeypatch):
    monkeypatch.setenv("KEEN_API_KEY", DEMO_API_KEY)
    source = purchases_csv(tmp_path / "march.csv", 4)

    code, err = cli("run", source, "--api-url", sb.base_url, "--skip-rows", "3", "--yes")

    assert code == 0
    assert [(row, status) for row, status, _ in results(tmp_path / "march.results.csv")] == [
        ("2", "created"),
        ("3", "skipped"),
        ("4", "created"),
        ("5", "created"),
    ]
    assert sorted(p["purchase_amount"] for p in sb.purchases()) == ["10.00", "30.00", "40.00"]

    # The same command again (a resume) sends nothing, and still leaves row 3 out.
    code, err = cli("run", source, "--api-url", sb.base_url, "--skip-rows", "3", "--yes")
    assert code == 0
    assert results(tmp_path / "march.results.csv")[1] == ("3", "skipped", LEFT_OUT)
    assert len(sb.purchases()) == 3


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        pytest.param("3,x", "error: --skip-rows '3,x': 'x' is not a row number or a range N-M",
                     id="not-a-number"),
        pytest.param("6-4", "error: --skip-rows '6-4': '6-4' is not a range of rows (1 or more, "
                     "N-M)", id="backwards"),
        pytest.param("0", "error: --skip-rows '0': '0' is not a range of rows (1 or more, N-M)",
                     id="row-zero"),
    ],
)  # fmt: skip
def test_skip_rows_that_are_not_rows_stop_with_exit_2(tmp_path, cli, rows, message):
    source = purchases_csv(tmp_path / "march.csv")

    code, err = cli("validate", source, "--skip-rows", rows)

    assert code == 2
    assert err == [message, "hint: row numbers as the results file gives them, e.g. "
                            "--skip-rows 3,5-6"]  # fmt: skip
    assert not (tmp_path / "march.results.csv").exists()


def test_skip_rows_names_the_rows_of_one_file(tmp_path, cli):
    one = purchases_csv(tmp_path / "one.csv")
    two = purchases_csv(tmp_path / "two.csv")

    code, err = cli("validate", one, two, "--skip-rows", "3")

    assert code == 2
    assert err[0] == "error: --skip-rows names one file, but 2 files were given"


# --- the job API --------------------------------------------------------------------------------


def test_job_skip_rows_audits_each_row_and_unskip_puts_it_back(tmp_path):
    job = importer.open_import(purchases_csv(tmp_path / "march.csv"))
    job.check()
    job.skip_rows([3, 5], reason="left out by hand")
    assert job.rows_left_out == "3,5"
    assert job.controls == {"skip_rows": "3,5"}
    report = job.check()
    assert report.summary.count(importer.RowStatus.SKIPPED) == 2
    assert [(r.row, r.status, r.error) for r in job.rows(status="skipped").rows] == [
        (3, "skipped", "left out by hand"),
        (5, "skipped", "left out by hand"),
    ]
    job.unskip_rows("5")
    assert job.rows_left_out == "3"
    assert [(s.row, s.skipped, s.reason) for s in job.skips] == [
        (3, True, "left out by hand"),
        (5, True, "left out by hand"),
        (5, False, "put back"),
    ]
    job.check()
    manifest = json.loads(job.write_reports().manifest.read_text(encoding="utf-8"))
    assert manifest["options"]["skip_rows"] == "3"
    assert [(s["row"], s["skipped"]) for s in manifest["skips"]] == [
        (3, True),
        (5, True),
        (5, False),
    ]


def test_the_skip_rows_option_and_skips_add_up(tmp_path):
    job = importer.open_import(purchases_csv(tmp_path / "march.csv"))
    job.set_options(skip_rows="2-4")
    job.check()
    job.unskip_rows([3])
    job.skip_rows([7])
    assert job.rows_left_out == "2,4,7"
    job.set_options(skip_rows="")  # the option's rows only: the skips stay
    assert job.rows_left_out == "7"


def test_skip_rows_refuses_a_row_the_file_does_not_have_and_before_a_check(tmp_path):
    job = importer.open_import(purchases_csv(tmp_path / "march.csv", 2))
    with pytest.raises(ConfigurationError, match="not checked yet"):
        job.skip_rows([2])
    job.check()
    with pytest.raises(ConfigurationError) as refused:
        job.skip_rows("3-4")
    assert refused.value.message == "there is no row 4 in this file"
    assert job.rows_left_out == ""


def test_a_created_row_cannot_be_left_out_by_the_results_or_by_the_ledger(tmp_path, sb):
    source = purchases_csv(tmp_path / "march.csv", 3)
    job = importer.open_import(source)
    job.plan(api_url=sb.base_url, api_key=DEMO_API_KEY)
    job.send()
    with pytest.raises(ConfigurationError) as refused:
        job.skip_rows([2])
    assert refused.value.message == "row 2 is already created in Keen: it cannot be left out"
    assert refused.value.hint == "only rows not sent yet, or refused, can be left out"

    again = importer.open_import(source)  # another job of the file: its results say valid
    again.check()
    again.skip_rows([2])  # without the ledger: nothing says it is in Keen
    again.unskip_rows([2])
    with pytest.raises(ConfigurationError, match="row 2 is already created in Keen"):
        again.skip_rows([2], api_url=sb.base_url)
    assert again.rows_left_out == ""


def test_column_values_are_counted_once_most_frequent_first(tmp_path):
    source = tmp_path / "orders.csv"
    statuses = ["paid", "Paid", "refunded", "", "paid", '"pending, late"']
    lines = ["Lead ID,Amount,Date,Financial Status"]
    lines += [f"{LEAD},1.00,2026-03-0{i + 1},{s}" for i, s in enumerate(statuses)]
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    job = importer.open_import(source)

    found = job.column_values("Financial Status")

    assert found.values == [("paid", 3), ("refunded", 1), ("pending, late", 1)]
    assert (found.distinct, found.complete, found.empty) == (3, True, 1)
    assert job.column_values("Financial Status", limit=1).values == [("paid", 3)]
    with pytest.raises(ConfigurationError, match="no column 'Status' in the file"):
        job.column_values("Status")


# --- hidden rows --------------------------------------------------------------------------------


def hidden_row_workbook(path: Path) -> Path:
    """Row 3 (24,000.00 USD) hidden; the total line (row 5) sums the visible rows, 4,558.65."""
    import xlsxwriter

    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("Sales")
    for line, row in enumerate([
        ["Lead ID", "Amount", "Currency", "Date", "Reference"],
        [LEAD, 2500.00, "USD", "2026-03-02", "R-1"],
        [LEAD, 24000.00, "USD", "2026-03-03", "R-2"],
        [LEAD, 2058.65, "USD", "2026-03-04", "R-3"],
        ["Total", 4558.65, "", "", ""],
    ]):  # fmt: skip
        sheet.write_row(line, 0, row)
    sheet.set_row(2, None, None, {"hidden": True})
    book.close()
    return path


def test_a_hidden_row_is_the_difference_to_the_files_total_line(tmp_path, cli):
    source = hidden_row_workbook(tmp_path / "march.xlsx")

    code, err = cli("validate", source)

    assert code == 0
    assert "  warning: the file's total line says 4,558.65 but its purchase rows add up to " \
           "28,558.65 (difference +24,000.00); the difference is the hidden row (24,000.00)" \
           in err  # fmt: skip

    code, err = cli("validate", source, "--skip-hidden")

    assert code == 0
    assert "  1 rows are hidden in the workbook (by hand or by a filter): skipped " \
           "(--skip-hidden)" in err  # fmt: skip
    assert "  the file's total line (4,558.65) matches the sum of its purchase rows without " \
           "the hidden row (skipped)" in err  # fmt: skip


def test_the_summary_says_what_the_hidden_rows_add(tmp_path):
    job = importer.open_import(hidden_row_workbook(tmp_path / "march.xlsx"))
    facts = job.check().summary.facts
    assert (facts.hidden_rows, facts.hidden_included, facts.hidden_skipped) == (1, 1, 0)
    assert dict(facts.hidden_included_amounts) == {"USD": 24000}
    job.set_options(skip_hidden=True)
    facts = job.check().summary.facts
    assert (facts.hidden_rows, facts.hidden_included, facts.hidden_skipped) == (1, 0, 1)
    assert dict(facts.hidden_amounts) == {"USD": 24000}
    assert dict(facts.hidden_included_amounts) == {}


# --- row ranges ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "shown", "rows"),
    [
        pytest.param("3", "3", [3], id="one"),
        pytest.param(" 3, 5-6 ", "3,5-6", [3, 5, 6], id="spaces"),
        pytest.param("5-6,3,4", "3-6", [3, 4, 5, 6], id="merged"),
        pytest.param("", "", [], id="none"),
    ],
)
def test_row_ranges_read_and_write_the_flags_form(text, shown, rows):
    ranges = RowRanges.parse(text)
    assert (str(ranges), list(ranges), len(ranges)) == (shown, rows, len(rows))


def test_row_ranges_find_their_rows_in_a_chunk_and_subtract():
    ranges = RowRanges.parse("3,5-7,1000-2000000")
    assert ranges.positions([2, 3, 4, 5, 6, 8, 999, 1000]) == [1, 3, 4, 7]
    assert ranges.positions([10, 11]) == []
    assert str(ranges.difference(RowRanges.parse("6,1001-1999999"))) == "3,5,7,1000,2000000"
    assert 1_500_000 in ranges and 8 not in ranges
