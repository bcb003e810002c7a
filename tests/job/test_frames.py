"""DataFrame in, DataFrame out: validate and run_import on a DataFrame against the sandbox,
compared row by row with the same data imported from a CSV file."""

from __future__ import annotations

import json
import shutil
from decimal import Decimal

import pandas as pd
import pytest
from conftest import write_xlsx
from runhelpers import SAMPLE, USD_LEADS, results_by_row

import importer
from importer import Mapping, validate
from importer.errors import ConfigurationError
from importer.job.oneshot import run_import
from importer.ledger import Ledger, LedgerLocation, data_dir
from importer.sandbox import DEMO_API_KEY, Sandbox

RESULT_FIELDS = ("status", "http_status", "error", "attempts", "warnings")


def stored_payloads(sandbox: Sandbox) -> list[dict]:
    """What the sandbox stored, without what it made up itself (ids, times)."""
    payloads = [
        {k: v for k, v in p.items() if k not in ("id", "created_at")} for p in sandbox.purchases()
    ]
    return sorted(payloads, key=lambda p: (p["purchase_amount"], p["date"]))


def import_csv(path, **options) -> tuple[dict, list[dict], dict]:
    """Run ``path`` against a fresh sandbox: results by row, stored payloads, results columns."""
    with Sandbox() as sandbox:
        report = run_import(path, api_key=DEMO_API_KEY, api_url=sandbox.base_url, **options)
        payloads = stored_payloads(sandbox)
    rows = results_by_row(report.results_path)
    return {n: tuple(r[f] for f in RESULT_FIELDS) for n, r in rows.items()}, payloads, rows


def import_frame(frame, **options):
    """Run a DataFrame against a fresh sandbox: results by row, stored payloads, the report."""
    with Sandbox() as sandbox:
        report = run_import(
            frame, api_key=DEMO_API_KEY, api_url=sandbox.base_url, name="march", **options
        )
        payloads = stored_payloads(sandbox)
        ids = {p["id"] for p in sandbox.purchases()}
    results = report.results_frame()
    by_row = {}
    for _, line in results.iterrows():
        if pd.isna(line["row"]):
            continue
        cells = [line[f] for f in RESULT_FIELDS]
        by_row[int(line["row"])] = tuple("" if pd.isna(c) else str(c) for c in cells)
    return by_row, payloads, report, ids


@pytest.fixture
def in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_text_frame_and_csv_file_import_the_same_rows_and_payloads(in_tmp):
    source = shutil.copy(SAMPLE / "purchases_with_errors.csv", in_tmp / "mixed.csv")
    frame = pd.read_csv(source, dtype=str, keep_default_na=False)

    csv_rows, csv_payloads, _ = import_csv(source)
    frame_rows, frame_payloads, report, ids = import_frame(frame)

    assert frame_rows == csv_rows
    assert frame_payloads == csv_payloads
    assert len(frame_payloads) == 3
    assert report.exit_code == 1
    created = report.results_frame().query("status == 'created'")
    assert set(created["purchase_id"]) == ids


TYPED_CSV = (
    "Lead ID,Amount,Net,Date,Reference\r\n"
    f"{USD_LEADS[0]},1500,1500.00,2026-03-02T00:00:00+01:00,00123\r\n"
    f"{USD_LEADS[1]},0.1,0.10,2026-03-03T10:15:00+01:00,007\r\n"
    f"{USD_LEADS[2]},249.5,249.50,,0042\r\n"
    f"{USD_LEADS[3]},,,2026-03-05T00:00:00+01:00,0043\r\n"
    "\r\n"
    f"{USD_LEADS[4]},19.999,19.999,2026-03-06T00:00:00+01:00,0044\r\n"
    f"{USD_LEADS[5]},12,12.00,2026-03-07T23:59:00+01:00,00123\r\n"
)


def typed_frame() -> pd.DataFrame:
    """The data of TYPED_CSV with a float amount, Decimal objects, tz-aware dates and NaN."""
    dates = ["2026-03-02", "2026-03-03 10:15", None, "2026-03-05", None, "2026-03-06",
             "2026-03-07 23:59"]  # fmt: skip
    return pd.DataFrame(
        {
            "Lead ID": [*USD_LEADS[:4], None, *USD_LEADS[4:6]],
            "Amount": [1500.0, 0.1, 249.5, float("nan"), float("nan"), 19.999, 12.0],
            "Net": [
                Decimal("1500.00"),
                Decimal("0.10"),
                Decimal("249.50"),
                None,
                None,
                Decimal("19.999"),
                Decimal("12.00"),
            ],  # fmt: skip
            "Date": pd.to_datetime(dates, format="ISO8601").tz_localize("Europe/Berlin"),
            "Reference": ["00123", "007", "0042", "0043", None, "0044", "00123"],
        },
        index=[f"r{i}" for i in range(7)],
    )


@pytest.mark.parametrize("amount", ["Amount", "Net"], ids=["float", "decimal-objects"])
def test_typed_frame_and_csv_file_import_the_same_rows_and_payloads(in_tmp, amount):
    source = in_tmp / "typed.csv"
    source.write_text(TYPED_CSV, encoding="utf-8", newline="")
    mapping = Mapping(columns={"purchase_amount": amount})

    csv_rows, csv_payloads, _ = import_csv(source, mapping=mapping)
    frame_rows, frame_payloads, report, _ = import_frame(typed_frame(), mapping=mapping)

    assert frame_rows == csv_rows
    assert frame_payloads == csv_payloads
    assert {row: r[0] for row, r in frame_rows.items()} == {
        2: "created",
        3: "created",
        4: "invalid",
        5: "invalid",
        7: "invalid",
        8: "created",
    }  # fmt: skip  (row 8 shares row 2's reference only: another invoice line, sent)
    sent = {(p["purchase_amount"], p["date"]) for p in frame_payloads}
    assert sent == {  # one form, typed as a float or as text
        ("1500.00", "2026-03-01T23:00:00Z"),
        ("0.10", "2026-03-03T09:15:00Z"),
        ("12.00", "2026-03-07T22:59:00Z"),
    }
    assert report.summary.blank_rows == 1


def test_results_frame_keeps_the_index_and_gives_decimal_amounts(in_tmp):
    _, _, report, ids = import_frame(typed_frame())

    frame = report.results_frame()

    assert list(frame.index) == [f"r{i}" for i in range(7)]
    assert list(frame.columns) == [
        "Lead ID", "Amount", "Net", "Date", "Reference", "row", "status", "purchase_id",
        "http_status", "error", "attempts", "warnings", "purchase_amount", "purchase_currency",
    ]  # fmt: skip
    assert frame["Amount"].dtype == "float64"  # the caller's columns are untouched
    assert list(frame["row"]) == [2, 3, 4, 5, pd.NA, 7, 8]
    assert str(frame["row"].dtype) == "Int64"
    amounts = list(frame["purchase_amount"])
    assert amounts[:3] == [Decimal("1500"), Decimal("0.1"), Decimal("249.5")]
    assert all(type(a) is Decimal for a in amounts if a is not None)
    assert amounts[3] is None and amounts[4] is None
    assert list(frame["status"]) == ["created", "created", "invalid", "invalid", None,
                                     "invalid", "created"]  # fmt: skip
    assert set(frame["purchase_id"].dropna()) == ids
    assert frame.loc["r2", "error"] == "date is empty"
    assert list(frame["http_status"])[:2] == [200, 200]
    assert list(frame["purchase_currency"]) == [None] * 7  # no currency column, no channel data


def test_summary_frame_gives_rows_and_decimal_amounts_per_status_and_currency(in_tmp):
    source = shutil.copy(SAMPLE / "purchases_with_errors.csv", in_tmp / "mixed.csv")
    frame = pd.read_csv(source, dtype=str, keep_default_na=False).assign(Currency="USD")

    report = validate(frame)
    summary = report.summary_frame()

    assert summary.to_dict("records") == [
        {"status": "invalid", "currency": "USD", "rows": 6, "amount": Decimal("538.00")},
        {"status": "skipped", "currency": "USD", "rows": 1, "amount": Decimal("1500.00")},
        {"status": "valid", "currency": "USD", "rows": 5, "amount": Decimal("3639.50")},
    ]
    assert summary["rows"].sum() == report.summary.in_file.rows


def test_a_frame_writes_no_results_file_unless_asked(in_tmp):
    frame = pd.read_csv(SAMPLE / "purchases_with_errors.csv", dtype=str, keep_default_na=False)

    report = validate(frame, name="march")

    assert report.results_path is None
    assert sorted(p.name for p in in_tmp.iterdir()) == []


def test_validate_a_frame_with_a_results_path_writes_results_and_manifest(in_tmp):
    frame = pd.read_csv(SAMPLE / "purchases_with_errors.csv", dtype=str, keep_default_na=False)

    report = validate(frame, name="march", results=in_tmp / "out" / "march.results.csv")

    assert report.results_path == in_tmp / "out" / "march.results.csv"
    assert sorted(p.name for p in (in_tmp / "out").iterdir()) == [
        "march.manifest.json",
        "march.results.csv",
    ]
    manifest = json.loads((in_tmp / "out" / "march.manifest.json").read_text())
    digest = manifest["input"].pop("sha256")
    assert manifest["input"] == {
        "name": "march", "kind": "DataFrame", "rows": 12, "columns": 6, "sheet": None,
    }  # fmt: skip
    assert len(digest) == 64
    rows = results_by_row(report.results_path)
    assert rows[2]["status"] == "valid" and rows[9]["status"] == "skipped"


def test_run_of_a_frame_keeps_manifest_and_created_list_in_the_current_folder(in_tmp):
    frame = typed_frame()
    with Sandbox() as sandbox:
        first = run_import(frame, api_key=DEMO_API_KEY, api_url=sandbox.base_url, name="march")
        again = run_import(frame, api_key=DEMO_API_KEY, api_url=sandbox.base_url, name="march")
        stored = len(sandbox.purchases())
        target = sandbox.base_url

    ledger = data_dir() / "sandbox-ledger.sqlite"  # a server on this machine: the sandbox's
    assert first.results_path is None
    assert first.ledger == again.ledger == str(ledger)
    assert sorted(p.name for p in in_tmp.iterdir()) == ["march.created.csv", "march.manifest.json"]
    manifest = json.loads((in_tmp / "march.manifest.json").read_text())
    assert manifest["input"]["kind"] == "DataFrame" and manifest["results"] is None
    assert manifest["ledger"] == str(ledger)
    assert stored == 3  # the second run found all three purchases in the ledger
    with Ledger.open(LedgerLocation(path=ledger)) as kept:
        created = kept.created_by_source(target, "march")
    assert {e.file_name for e in created} == {"march.dataframe"}
    ids = [pid for pid in first.results_frame()["purchase_id"] if isinstance(pid, str) and pid]
    assert sorted(e.purchase_id for e in created) == sorted(ids) and len(ids) == 3
    assert again.sent_this_run == 0
    assert list(again.results_frame()["status"])[:2] == ["created", "created"]


def test_run_of_a_frame_needs_a_name(in_tmp):
    with pytest.raises(ConfigurationError, match="name the DataFrame"):
        run_import(typed_frame(), api_key=DEMO_API_KEY, api_url="http://127.0.0.1:9")
    assert list(in_tmp.iterdir()) == []


def test_results_frame_of_a_file_reads_its_results_back(in_tmp):
    source = shutil.copy(SAMPLE / "purchases_with_errors.csv", in_tmp / "mixed.csv")

    report = validate(source)
    frame = report.results_frame()
    from_frame = validate(mixed_frame()).results_frame()

    assert list(frame.columns) == list(from_frame.columns)
    for name in ("row", "status", "error", "warnings", "purchase_amount", "purchase_currency"):
        assert list(frame[name]) == list(from_frame[name]), name
    assert frame.loc[1, "Amount"] == "$249.50"  # a file's cells stay text
    assert frame.loc[1, "purchase_amount"] == Decimal("249.50")
    assert frame.loc[1, "purchase_currency"] == "USD"
    assert frame.loc[4, "Amount"] == "-120.00"  # the CSV results hold "'-120.00"
    # Only "$249.50" names its currency: the other rows' currency is unknown (None).
    assert report.summary_frame().to_dict("records") == [
        {"status": "invalid", "currency": None, "rows": 6, "amount": Decimal("538.00")},
        {"status": "skipped", "currency": None, "rows": 1, "amount": Decimal("1500.00")},
        {"status": "valid", "currency": None, "rows": 4, "amount": Decimal("3390.00")},
        {"status": "valid", "currency": "USD", "rows": 1, "amount": Decimal("249.50")},
    ]


def test_results_frame_of_a_workbook_and_of_a_run(in_tmp):
    source = in_tmp / "typed.xlsx"
    rows = [line.split(",") for line in TYPED_CSV.replace("\r\n\r\n", "\r\n").splitlines()]
    # Amount as number cells; the rest (Net, dates, references) as text cells.
    typed = [rows[0]] + [[r[0], float(r[1]) if r[1] else None, *r[2:]] for r in rows[1:]]
    write_xlsx(source, {"Sales": typed})

    checked = validate(source).results_frame()
    with Sandbox() as sandbox:
        sent = run_import(source, api_key=DEMO_API_KEY, api_url=sandbox.base_url)
        ids = {p["id"] for p in sandbox.purchases()}
    frame = sent.results_frame()

    assert list(checked["status"]) == ["valid", "valid", "invalid", "invalid", "invalid",
                                       "valid"]  # fmt: skip
    assert list(frame["status"]) == ["created", "created", "invalid", "invalid", "invalid",
                                     "created"]  # fmt: skip
    assert set(frame["purchase_id"].dropna()) == ids
    assert list(frame["purchase_amount"])[:3] == [Decimal("1500"), Decimal("0.1"),
                                                  Decimal("249.5")]  # fmt: skip
    assert frame.loc[0, "Reference"] == "00123"


def test_results_frame_without_a_results_file_says_so(in_tmp):
    source = shutil.copy(SAMPLE / "purchases_with_errors.csv", in_tmp / "mixed.csv")

    report = validate(source, write_results=False)

    with pytest.raises(ConfigurationError, match="this check wrote none"):
        report.results_frame()


# --- the import-job API ------------------------------------------------------------------------


def mixed_frame() -> pd.DataFrame:
    return pd.read_csv(SAMPLE / "purchases_with_errors.csv", dtype=str, keep_default_na=False)


def test_open_import_of_a_frame_overview_mapping_and_check(in_tmp):
    job = importer.open_import(typed_frame(), name="march")

    view = job.overview
    assert (view.kind, view.header_row, view.path.stem) == ("frame", 1, "march")
    assert view.headers == ["Lead ID", "Amount", "Net", "Date", "Reference"]
    assert view.samples["Net"] == ["1500.00", "0.10", "249.50"]
    assert view.samples["Date"][0] == "2026-03-02T00:00:00+01:00"
    matches = {m.field: m.column for m in job.suggest_mapping()}
    assert matches["lead_id"] == "Lead ID" and matches["reference"] == "Reference"

    report = job.check()

    assert report.results_path is None
    assert list(in_tmp.iterdir()) == []  # no results file, no manifest
    assert report.summary.count(importer.RowStatus.VALID) == 3  # row 8: another invoice line
    page = job.rows(status="invalid")
    assert [(r.row, r.error) for r in page.rows][:1] == [(4, "date is empty")]
    assert page.rows[0].cells["Reference"] == "0042"
    assert list(report.results_frame()["status"]) == list(validate(typed_frame())
                                                          .results_frame()["status"])  # fmt: skip
    assert report.summary_frame()["rows"].sum() == 6


def test_job_edit_of_a_frame_rechecks_the_row_and_the_next_check_uses_it(in_tmp):
    job = importer.open_import(typed_frame(), name="march")
    job.check()

    view = job.edit(4, "Date", "2026-03-04")
    report = job.check()

    assert view.status == "valid"
    assert report.results_frame().loc["r2", "status"] == "valid"
    with pytest.raises(ConfigurationError, match="a DataFrame is corrected in the notebook"):
        job.save_corrected()


def test_job_with_a_results_path_writes_results_and_manifest_for_a_frame(in_tmp):
    job = importer.open_import(mixed_frame(), name="march", out_dir=in_tmp / "out")
    job.set_options(results="march.results.xlsx")

    report = job.check()

    assert report.results_path == in_tmp / "out" / "march.results.xlsx"
    assert sorted(p.name for p in (in_tmp / "out").iterdir()) == [
        "march.manifest.json",
        "march.results.xlsx",
    ]
    manifest = json.loads((in_tmp / "out" / "march.manifest.json").read_text())
    assert manifest["input"]["kind"] == "DataFrame" and manifest["input"]["rows"] == 12
    assert job.rows(status="skipped").rows[0].row == 9


def test_a_frame_has_no_other_header_row(in_tmp):
    job = importer.open_import(mixed_frame())
    with pytest.raises(ConfigurationError, match="header is its column labels"):
        job.choose_header_row(2)


def test_job_plan_and_send_of_a_frame_match_run_import(in_tmp):
    csv_rows, csv_payloads, _ = import_csv(
        shutil.copy(SAMPLE / "purchases_with_errors.csv", in_tmp / "mixed.csv")
    )
    job = importer.open_import(mixed_frame(), name="march")
    with Sandbox() as sandbox:
        plan = job.plan(api_url=sandbox.base_url, api_key=DEMO_API_KEY)
        report = job.send()
        payloads = stored_payloads(sandbox)

    assert plan.valid_rows == 5
    frame = report.results_frame()
    got = {
        int(line["row"]): tuple("" if pd.isna(line[f]) else str(line[f]) for f in RESULT_FIELDS)
        for _, line in frame.iterrows()
    }
    assert got == csv_rows
    assert payloads == csv_payloads
    assert report.results_path is None
    assert report.ledger == str(data_dir() / "sandbox-ledger.sqlite")
    assert not list(in_tmp.glob("*.sqlite*"))  # nothing of the ledger beside the input
    with pytest.raises(ConfigurationError, match="job.set_options\\(results="):
        job.write_reports()


def test_job_send_of_an_unnamed_frame_is_refused_before_any_request(in_tmp):
    job = importer.open_import(mixed_frame())
    with pytest.raises(ConfigurationError, match="name the DataFrame"):
        job.plan(api_url="http://127.0.0.1:9", api_key=DEMO_API_KEY)
    assert list(in_tmp.iterdir()) == []


def test_an_input_with_status_and_keen_status_columns_keeps_both(in_tmp):
    """The tool's verdicts go to the first free name: the user's status columns stay theirs,
    in the results file and in results_frame()."""
    frame = pd.DataFrame(
        {
            "Lead ID": [USD_LEADS[0]],
            "Amount": ["100.00"],
            "Date": ["2026-03-02"],
            "status": ["x"],
            "keen_status": ["y"],
        }
    )
    report = validate(frame, name="mine", results="mine.results.csv")

    results = report.results_frame()
    assert list(results["status"]) == ["x"] and list(results["keen_status"]) == ["y"]
    assert list(results["keen_status_2"]) == ["valid"]
    [row] = results_by_row(in_tmp / "mine.results.csv").values()
    assert (row["status"], row["keen_status"], row["keen_status_2"]) == ("x", "y", "valid")
