"""The import-job API driven step by step on real files: open, map, decide, check, rows, edit."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from conftest import LEAD_1, LEAD_2, read_results_csv, write_csv, write_xlsx

import importer
from importer.errors import AmbiguousDataError, ConfigurationError, MappingError

TITLED = (
    "Sales report March 2026\r\n"
    "Lead ID,Net amount,Date,Reference,Notes\r\n"
    f"{LEAD_1},1.500,03/04/2026,A-1,first\r\n"
    f"{LEAD_2},2.750,05/04/2026,A-2,\r\n"
    f"{LEAD_2},12.500,06/04/2026,A-3,third\r\n"
    "not-a-lead,10,07/04/2026,A-4,fourth\r\n"
)


@pytest.fixture
def titled(tmp_path: Path) -> Path:
    return write_csv(tmp_path / "march.csv", TITLED)


def test_open_shows_the_header_row_headers_and_three_samples(titled):
    job = importer.open_import(titled)
    view = job.overview
    assert (view.kind, view.header_row, view.sheet, view.sheets) == ("csv", 2, None, [])
    assert view.headers == ["Lead ID", "Net amount", "Date", "Reference", "Notes"]
    assert view.samples["Net amount"] == ["1.500", "2.750", "12.500"]
    assert view.samples["Notes"] == ["first", "third", "fourth"]  # empty cells are not samples
    assert (view.encoding, view.delimiter) == ("utf-8", ",")


def test_choose_header_row_reads_another_row_as_the_header(titled):
    job = importer.open_import(titled)
    job.choose_header_row(1)
    assert job.overview.header_row == 1
    assert job.overview.headers == ["Sales report March 2026"]
    with pytest.raises(importer.KeenImportError, match="row 9 cannot be the header"):
        job.choose_header_row(9)


def test_suggest_mapping_gives_one_match_per_field_with_its_confidence(titled):
    job = importer.open_import(titled)
    matches = {m.field: (m.column, m.confidence) for m in job.suggest_mapping()}
    assert list(matches) == list(importer.records.FIELDS)
    assert matches["lead_id"] == ("Lead ID", "exact")
    assert matches["purchase_amount"] == ("Net amount", "synonym")
    assert matches["reference"] == ("Reference", "exact")
    assert matches["currency"] == (None, "none")


def test_apply_mapping_from_a_dict_a_mapping_and_a_toml_file(titled, tmp_path):
    job = importer.open_import(titled)
    job.apply_mapping({"purchase_amount": "Net amount", "reference": ""})
    assert job.columns == {"lead_id": "Lead ID", "purchase_amount": "Net amount", "date": "Date"}
    job.apply_mapping(importer.Mapping(columns={"reference": "Notes"}, decimal=","))
    assert job.columns["reference"] == "Notes"
    assert job.mapping.decimal == ","
    toml = tmp_path / "map.toml"
    toml.write_text('[columns]\nreference = "Reference"\n[options]\nday_first = true\n')
    job.apply_mapping(toml)
    assert job.columns["reference"] == "Reference"
    assert (job.mapping.day_first, job.mapping.decimal) == (True, ",")
    with pytest.raises(MappingError, match="'Price' \\(mapped to purchase_amount\\)"):
        job.apply_mapping({"purchase_amount": "Price"})


def test_questions_list_the_ambiguous_columns_with_rows_and_choices(titled):
    job = importer.open_import(titled)
    questions = job.questions()
    assert [(q.id, q.kind, q.column, q.flag) for q in questions] == [
        ("day_first:Date", "day_first", "Date", "--day-first / --month-first"),
        ("decimal:Net amount", "decimal", "Net amount", "--decimal"),
    ]
    dates, amounts = questions
    assert [(e.row, e.value) for e in dates.examples] == [
        (3, "03/04/2026"),
        (4, "05/04/2026"),
        (5, "06/04/2026"),
    ]
    assert [(e.row, e.value) for e in amounts.examples] == [
        (3, "1.500"),
        (5, "12.500"),
        (4, "2.750"),
    ]
    assert [c.value for c in dates.choices] == ["day-first", "month-first"]
    assert [c.value for c in amounts.choices] == [",", "."]
    assert dates.text == (
        "the date column 'Date' is ambiguous: '03/04/2026' could be day-first or "
        "month-first, and no value in the file settles it"
    )
    with pytest.raises(AmbiguousDataError, match="the date column 'Date' is ambiguous"):
        job.check()


def test_an_open_question_is_the_same_exit_2_message_in_the_cli(titled, cli):
    code, lines = cli("validate", titled)
    assert code == 2
    assert lines[-2:] == [
        "error: the date column 'Date' is ambiguous: '03/04/2026' could be day-first or "
        "month-first, and no value in the file settles it",
        "hint: say how to read it with --day-first (23/04/2026) or --month-first (04/23/2026)",
    ]


def test_answers_give_the_same_results_as_the_cli_flags(titled, tmp_path, cli):
    job = importer.open_import(titled, out_dir=tmp_path / "job")
    job.answer("day_first:Date", "day-first")
    assert [q.id for q in job.questions()] == ["decimal:Net amount"]
    job.answer("decimal:Net amount", ",")
    assert job.questions() == []
    report = job.check()
    code, _ = cli(
        "validate", titled, "--day-first", "--decimal", ",", "--results", tmp_path / "cli.csv"
    )
    assert (report.exit_code, code) == (1, 1)
    assert read_results_csv(report.results_path) == read_results_csv(tmp_path / "cli.csv")
    assert report.summary.as_dict()["by_status"] == {
        "invalid": {"rows": 1, "amounts": {"": "10"}},
        "valid": {"rows": 3, "amounts": {"": "16750"}},
    }
    manifest = json.loads((tmp_path / "job" / "march.manifest.json").read_text())
    assert [(a["question"], a["answer"]) for a in manifest["answers"]] == [
        ("day_first:Date", "day-first"),
        ("decimal:Net amount", ","),
    ]
    assert (manifest["options"]["day_first"], manifest["options"]["decimal"]) == (True, ",")


def test_a_wrong_answer_is_refused_with_the_choices(titled):
    job = importer.open_import(titled)
    with pytest.raises(ConfigurationError, match="'yes' does not answer a day_first question"):
        job.answer("day_first:Date", "yes")
    with pytest.raises(ConfigurationError, match="no open question 'decimal:Date'"):
        job.answer("decimal:Date", ",")
    assert job.answers == []


def test_decisions_carry_their_evidence(tmp_path):
    path = write_csv(
        tmp_path / "eu.csv",
        "Lead ID,Amount,Date,Currency\n"
        f'{LEAD_1},"1.500,25",23/04/2026,EUR\n'
        f'{LEAD_2},"99,90",01/04/2026,eur\n'
        f"{LEAD_2},5,02/04/2026,EUR\n",
    )
    job = importer.open_import(path)
    assert [(d.kind, d.column, d.value, d.source, d.evidence) for d in job.decisions()] == [
        ("decimal", "Amount", ",", "evidence", ["1.500,25", "99,90"]),
        ("day_first", "Date", True, "evidence", ["23/04/2026"]),
        ("currency", "Currency", "EUR", "evidence", ["EUR", "eur"]),
    ]
    job.set_options(decimal=".", day_first=False)
    chosen = [(d.value, d.source) for d in job.decisions()[:2]]
    assert chosen == [(".", "option"), (False, "option")]


@pytest.mark.parametrize("block", [2 * 1024 * 1024, 64, 1], ids=["one-block", "small", "tiny"])
def test_rows_are_paged_and_filtered_with_exact_row_numbers(tmp_path, monkeypatch, block):
    monkeypatch.setattr("importer.job.rowstore.BLOCK_BYTES", block)  # the search's disk blocks
    lines = ["Lead ID,Amount,Date,Reference"]
    for i in range(40):
        lead = "bad" if i % 10 == 3 else LEAD_1
        date = "2036-01-01" if i % 10 == 5 else "2026-03-02"
        lines.append(f"{lead},{100 + i}.00,{date},R-{i:03d}")
    path = write_csv(tmp_path / "p.csv", "\n".join(lines) + "\n")
    job = importer.open_import(path)
    report = job.check()
    assert report.warnings_count == {"date … is in the future": 4}
    page = job.rows(offset=5, limit=3)
    assert (page.total, page.offset, [r.row for r in page.rows]) == (40, 5, [7, 8, 9])
    invalid = job.rows(status="invalid")
    assert (invalid.total, [r.row for r in invalid.rows]) == (4, [5, 15, 25, 35])
    assert invalid.rows[0].cells["Lead ID"] == "bad"
    assert invalid.rows[0].error.startswith("lead_id 'bad' is not a valid UUID")
    second = job.rows(status="invalid", offset=2, limit=1)
    assert (second.total, [r.row for r in second.rows]) == (4, [25])
    future = job.rows(warning="in the future")
    assert [r.row for r in future.rows] == [7, 17, 27, 37]
    assert future.rows[0].warnings == ["date 2036-01-01 is in the future"]
    assert [r.row for r in job.rows(warning="date … is in the future").rows] == [7, 17, 27, 37]
    assert [r.row for r in job.rows(search="r-02").rows] == [22, 23, 24, 25, 26, 27, 28, 29, 30, 31]
    both = job.rows(status="valid", search="R-01")
    assert [r.row for r in both.rows] == [12, 13, 14, 16, 17, 18, 19, 20, 21]
    assert job.rows(offset=39).rows[0].row == 41
    assert job.rows(offset=40).rows == []
    with pytest.raises(ValueError, match="unknown status 'bogus'"):
        job.rows(status="bogus")


def test_rows_before_check_is_refused(titled):
    with pytest.raises(ConfigurationError, match="call check\\(\\) first"):
        importer.open_import(titled).rows()


def test_an_edit_rechecks_the_row_and_goes_into_the_corrected_copy_and_manifest(titled):
    job = importer.open_import(titled)
    job.set_options(day_first=True, decimal=",")
    job.check()
    before = titled.read_bytes()
    view = job.edit(6, "Lead ID", LEAD_1)
    assert (view.row, view.status, view.error) == (6, "valid", None)
    assert job.rows(status="invalid").total == 0
    assert job.rows(offset=3).rows[0].cells["Lead ID"] == LEAD_1
    # The search finds the edited cell (not in the results file yet), in any case.
    assert [r.row for r in job.rows(search=LEAD_1[:8].upper()).rows] == [3, 6]
    assert [r.row for r in job.rows(search="not-a-lead").rows] == []
    again = job.edit(6, "Net amount", "abc")
    assert again.status == "invalid"
    assert again.error.startswith("amount 'abc' is not a number")
    assert [(e.row, e.column, e.old, e.new) for e in job.edits] == [
        (6, "Lead ID", "not-a-lead", LEAD_1),
        (6, "Net amount", "10", "abc"),
    ]
    assert isinstance(job.edits[0].at, dt.datetime) and job.edits[0].at.tzinfo is not None
    corrected = job.save_corrected()
    assert corrected == titled.with_name("march.corrected.csv")
    assert corrected.read_text().splitlines()[-1] == f"{LEAD_1},abc,07/04/2026,A-4,fourth"
    assert corrected.read_text().splitlines()[0] == "Sales report March 2026"
    assert titled.read_bytes() == before
    files = job.write_reports()
    results = {r["row"]: r for r in read_results_csv(files.results)}
    assert (results["6"]["Lead ID"], results["6"]["status"]) == (LEAD_1, "invalid")
    manifest = json.loads(files.manifest.read_text())
    assert [(e["row"], e["column"], e["old"], e["new"]) for e in manifest["edits"]] == [
        (6, "Lead ID", "not-a-lead", LEAD_1),
        (6, "Net amount", "10", "abc"),
    ]


def test_edit_of_an_unknown_row_or_column_is_refused(titled):
    job = importer.open_import(titled)
    job.set_options(day_first=True, decimal=",")
    job.check()
    job.edit(3, "Notes", "changed")
    with pytest.raises(ConfigurationError, match="cells were edited"):
        job.choose_header_row(1)
    assert job.overview.header_row == 2
    with pytest.raises(KeyError):
        job.edit(99, "Lead ID", LEAD_1)
    with pytest.raises(ConfigurationError, match="no column 'Lead'"):
        job.edit(3, "Lead", LEAD_1)


def test_a_workbook_step_by_step(tmp_path):
    path = write_xlsx(
        tmp_path / "book.xlsx",
        {
            "Cover": [["Purchases for March"]],
            "Data": [
                ["Lead ID", "Amount", "Date"],
                [LEAD_1, 1500.5, dt.datetime(2026, 3, 2)],
                [LEAD_2, "abc", dt.datetime(2026, 3, 3)],
                [LEAD_2, 20, dt.datetime(2026, 3, 4)],
            ],
            "Other": [["Lead ID", "Amount"], [LEAD_1, 1]],
        },
    )
    job = importer.open_import(path)
    assert (job.overview.kind, job.overview.sheets, job.overview.sheet) == (
        "xlsx",
        ["Cover", "Data", "Other"],
        "Data",
    )
    assert job.overview.samples["Date"] == ["2026-03-02", "2026-03-03", "2026-03-04"]
    report = job.check()
    assert (report.results_path.name, report.exit_code) == ("book.results.xlsx", 1)
    assert [(r.row, r.status) for r in job.rows().rows] == [
        (2, "valid"),
        (3, "invalid"),
        (4, "valid"),
    ]
    job.edit(3, "Amount", "30")
    assert job.rows(status="valid").total == 3
    corrected = job.save_corrected()
    again = importer.open_import(corrected)
    assert again.check().summary.count(importer.RowStatus.VALID) == 3
    with pytest.raises(ConfigurationError, match="cells were edited"):
        job.choose_sheet("Other")
    other = importer.open_import(path)
    other.choose_sheet("Other")
    assert other.overview.headers == ["Lead ID", "Amount"]
    with pytest.raises(importer.MappingError, match="^no column is mapped to date: "):
        other.check()  # never dated silently at the moment Keen receives it
    other.set_options(no_date=True)
    assert other.check().summary.count(importer.RowStatus.VALID) == 1


def test_out_dir_holds_the_results_and_manifest(titled, tmp_path):
    job = importer.open_import(titled, out_dir=tmp_path / "out" / "march")
    job.set_options(day_first=True, decimal=",")
    report = job.check()
    assert report.results_path == tmp_path / "out" / "march" / "march.results.csv"
    assert sorted(p.name for p in (tmp_path / "out" / "march").iterdir()) == [
        "march.manifest.json",
        "march.results.csv",
    ]
    assert not titled.with_name("march.results.csv").exists()


def test_rows_and_edit_follow_a_results_file_rewritten_by_another_job(titled):
    first = importer.open_import(titled)
    first.set_options(day_first=True, decimal=",")
    first.check()
    assert first.rows().rows[3].status == "invalid"  # row 6: not-a-lead
    other = importer.open_import(titled)  # e.g. the CLI on the same file
    other.set_options(day_first=True, decimal=",")
    other.check()
    other.edit(6, "Lead ID", LEAD_1)
    other.edit(3, "Notes", "a much longer note than the first one, so every offset moves")
    other.write_reports()  # rewrites the results file with both edits
    page = first.rows(offset=2)  # read from the offset of row 5, which moved
    assert [(r.row, r.status, r.cells["Notes"]) for r in page.rows] == [
        (5, "valid", "third"),
        (6, "valid", "fourth"),
    ]
    assert first.rows(status="invalid").total == 0
    assert first.rows(limit=1).rows[0].cells["Notes"].startswith("a much longer note")
    assert first.edit(5, "Notes", "checked").cells["Notes"] == "checked"


def test_write_reports_never_checks_silently(titled):
    earlier = importer.open_import(titled)
    earlier.set_options(day_first=True, decimal=",")
    files = earlier.check()
    results = titled.with_name("march.results.csv")
    results.write_text("what a send wrote\n")  # e.g. the results of a CLI run
    job = importer.open_import(titled)
    job.set_options(day_first=True, decimal=",")
    with pytest.raises(ConfigurationError, match=r"nothing to report yet: call check\(\)"):
        job.write_reports()
    assert results.read_text() == "what a send wrote\n"
    assert files.results_path == results


def test_the_row_index_keeps_one_byte_per_row_and_an_offset_per_32_rows(tmp_path):
    lines = ["Lead ID,Amount,Date"]
    lines += [f"{LEAD_1},{i}.00,2026-03-02" for i in range(1, 101)]
    lines.insert(40, "")  # a blank line: row 41 is not in the results, the row numbers jump
    job = importer.open_import(write_csv(tmp_path / "p.csv", "\n".join(lines) + "\n"))
    job.check()
    index = job._store.index  # memory per row of the index (see benchmarks/bench_ui.py)
    assert (len(index.codes), len(index.offsets)) == (100, 4)  # rows 0, 32, 64, 96
    assert (list(index.run_starts), list(index.run_rows)) == ([0, 39], [2, 42])
    assert [r.row for r in job.rows(offset=38, limit=3).rows] == [40, 42, 43]
    assert [r.row for r in job.rows(offset=95, limit=10).rows] == [98, 99, 100, 101, 102]
    assert index.index_of(42) == 39 and job.rows(offset=99).rows[0].cells["Amount"] == "100.00"
    with pytest.raises(KeyError):
        index.index_of(41)
