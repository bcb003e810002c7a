"""The import job's plan, send and cancel against the real sandbox; out-dir and the lock file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading

import pytest
from runhelpers import purchases_by_row, results_by_row, statuses, wait_for, write_rows

import importer
from importer.cli import main
from importer.errors import JournalLockedError
from importer.sandbox import Faults, Sandbox
from importer.send.journal import Journal


@pytest.fixture
def slow_sb():
    with Sandbox(faults=Faults(latency_ms=40)) as sandbox:
        yield sandbox


def test_plan_then_send_creates_every_row_and_writes_the_files(tmp_path, sb):
    source = write_rows(tmp_path / "rows.csv", 12)
    job = importer.open_import(source, out_dir=tmp_path / "out")
    plan = job.plan(api_url=sb.base_url, api_key=sb.api_key, concurrency=4)
    assert (plan.valid_rows, sb.stats()["create_calls"]) == (12, 0)  # nothing sent by plan
    progress = []
    report = job.send(on_progress=lambda done, total, counts: progress.append((done, total)))
    assert (report.exit_code, report.summary.count(importer.RowStatus.CREATED)) == (0, 12)
    assert progress[-1] == (12, 12)
    assert len(sb.purchases()) == 12
    created = job.rows(status="created", limit=5)  # the send's verdicts, paged from disk
    assert (created.total, [r.row for r in created.rows]) == (12, [2, 3, 4, 5, 6])
    ids = {p["id"] for p in sb.purchases()}
    assert all(r.purchase_id in ids for r in job.rows(limit=12).rows)
    out = tmp_path / "out"
    assert sorted(p.name for p in out.iterdir()) == [
        "rows.created.csv",
        "rows.journal.sqlite",
        "rows.manifest.json",
        "rows.results.csv",
    ]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "rows.csv"]
    files = job.write_reports()
    assert (files.results, files.manifest, files.created) == (
        out / "rows.results.csv",
        out / "rows.manifest.json",
        out / "rows.created.csv",
    )
    manifest = json.loads(files.manifest.read_text())
    # 12 creates, 8 distinct leads looked up, 1 channel list
    assert (manifest["command"], manifest["exit_code"], manifest["requests"]) == ("run", 0, 21)
    assert sb.api_key not in files.manifest.read_text()


def test_send_before_plan_is_refused(tmp_path):
    job = importer.open_import(write_rows(tmp_path / "rows.csv", 2))
    with pytest.raises(importer.KeenImportError, match="call plan\\(\\) first"):
        job.send()


def test_cancel_from_another_thread_stops_like_ctrl_c_and_a_rerun_sends_the_rest(tmp_path, slow_sb):
    sb, n = slow_sb, 300
    source = write_rows(tmp_path / "rows.csv", n)
    job = importer.open_import(source)
    job.plan(api_url=sb.base_url, api_key=sb.api_key, concurrency=4)

    def cancel_midway() -> None:
        wait_for(lambda: sb.stats()["purchases"] >= 20)
        job.cancel()

    canceller = threading.Thread(target=cancel_midway)
    canceller.start()
    report = job.send()
    canceller.join()
    assert (report.interrupted, report.exit_code) == (True, 130)
    first = results_by_row(report.results_path)
    counts = statuses(first)
    assert set(counts) == {"created", "not_sent"}
    created = counts["created"]
    assert 20 <= created < n
    assert len(sb.purchases()) == created  # requests in flight finished and were recorded
    assert not source.with_name("rows.journal.sqlite.lock").exists()
    assert job.rows(status="not_sent").total == n - created
    assert job.rows(status="created", limit=1).rows[0].row == 2
    calls = sb.stats()["create_calls"]

    again = importer.open_import(source)
    again.plan(api_url=sb.base_url, api_key=sb.api_key, concurrency=8)
    final = again.send()
    assert final.exit_code == 0
    assert sb.stats()["create_calls"] - calls == n - created  # exactly the remaining rows
    assert statuses(results_by_row(final.results_path)) == {"created": n}
    assert all(len(ps) == 1 for ps in purchases_by_row(sb.purchases(), n).values())


def test_cancel_before_send_sends_nothing(tmp_path, sb):
    source = write_rows(tmp_path / "rows.csv", 5)
    job = importer.open_import(source)
    job.plan(api_url=sb.base_url, api_key=sb.api_key)
    job.cancel()
    report = job.send()
    assert (report.exit_code, sb.stats()["create_calls"]) == (130, 0)
    assert statuses(results_by_row(report.results_path)) == {"not_sent": 5}


def test_an_answer_sends_what_the_flag_sends(tmp_path, sb):
    source = tmp_path / "eu.csv"
    lead = "47378190-96da-4dac-b2ff-5d2a386ecbe0"
    source.write_text(f"Lead ID,Amount,Date\n{lead},1.500,03/04/2026\n")
    job = importer.open_import(source)
    [dates, amounts] = job.questions()
    job.answer(dates.id, "day-first")
    job.answer(amounts.id, ",")
    job.plan(api_url=sb.base_url, api_key=sb.api_key)
    assert job.send().exit_code == 0
    [purchase] = sb.purchases()
    assert (purchase["purchase_amount"], purchase["date"]) == ("1500", "2026-04-03T00:00:00Z")


def test_cli_out_dir_then_the_job_resumes_from_the_journal_there(tmp_path, sb, capsys, monkeypatch):
    monkeypatch.setenv("KEEN_API_KEY", sb.api_key)
    source = write_rows(tmp_path / "rows.csv", 6)
    out = tmp_path / "imports" / "march"
    code = main(["run", str(source), "--api-url", sb.base_url, "--out-dir", str(out)])
    assert code == 0, capsys.readouterr().err
    assert sorted(p.name for p in out.iterdir()) == [
        "rows.created.csv",
        "rows.journal.sqlite",
        "rows.manifest.json",
        "rows.results.csv",
    ]
    calls = sb.stats()["create_calls"]
    job = importer.open_import(source, out_dir=out)
    job.plan(api_url=sb.base_url, api_key=sb.api_key)
    report = job.send()
    assert (report.exit_code, report.nothing_to_send) == (0, True)
    assert sb.stats()["create_calls"] == calls
    assert report.journal_path == out / "rows.journal.sqlite"


def test_out_dir_from_the_mapping_file(tmp_path, capsys):
    source = write_rows(tmp_path / "rows.csv", 3)
    mapping = tmp_path / "map.toml"
    mapping.write_text(f'out_dir = "{tmp_path / "checked"}"\n')
    assert main(["validate", str(source), "--mapping", str(mapping)]) == 0
    assert sorted(p.name for p in (tmp_path / "checked").iterdir()) == [
        "rows.manifest.json",
        "rows.results.csv",
    ]


# --- the lock file ------------------------------------------------------------------------------


def test_the_lock_file_is_removed_when_the_journal_closes(tmp_path):
    journal = tmp_path / "rows.journal.sqlite"
    with Journal.open(journal, file_hash="k"):
        assert journal.with_name("rows.journal.sqlite.lock").read_text() == str(os.getpid())
    assert not journal.with_name("rows.journal.sqlite.lock").exists()


def test_a_live_holder_is_detected(tmp_path):
    journal = tmp_path / "rows.journal.sqlite"
    held = Journal.open(journal, file_hash="k")
    with held, pytest.raises(JournalLockedError, match=f"\\(process {os.getpid()}\\)"):
        Journal.open(journal, file_hash="k")
    with Journal.open(journal, file_hash="k"):
        pass  # free again


def test_a_lock_left_by_a_crashed_run_is_taken_over(tmp_path, sb):
    source = write_rows(tmp_path / "rows.csv", 4)
    lock = tmp_path / "rows.journal.sqlite.lock"
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    lock.write_text(dead.stdout.strip())  # what a killed run leaves behind
    job = importer.open_import(source)
    job.plan(api_url=sb.base_url, api_key=sb.api_key)
    assert job.send().exit_code == 0
    assert len(sb.purchases()) == 4
    assert not lock.exists()


def test_a_lock_file_removed_under_a_waiting_run_is_not_trusted(tmp_path, monkeypatch):
    journal = tmp_path / "rows.journal.sqlite"
    lock = tmp_path / "rows.journal.sqlite.lock"
    import importer.send.journal as journal_module

    real_open = os.open
    swapped = []

    def open_then_lose_the_race(path, flags, mode=0o777):
        fd = real_open(path, flags, mode)
        if not swapped:  # another run ends right now: it removes the name we just opened
            swapped.append(True)
            os.unlink(lock)
        return fd

    monkeypatch.setattr(journal_module.os, "open", open_then_lose_the_race)
    with Journal.open(journal, file_hash="k"):
        assert lock.exists()  # the lock taken is the file under the name, not the lost one
        assert os.stat(lock).st_ino
    assert not lock.exists()


def test_an_edited_cell_is_what_gets_sent(tmp_path, sb):
    source = write_rows(tmp_path / "rows.csv", 3)
    before = source.read_bytes()
    job = importer.open_import(source)
    job.check()
    job.edit(3, "Amount", "777.70")
    job.plan(api_url=sb.base_url, api_key=sb.api_key)
    report = job.send()
    assert report.exit_code == 0
    assert sorted(p["purchase_amount"] for p in sb.purchases()) == ["1000.00", "1002.02", "777.70"]
    manifest = json.loads(job.write_reports().manifest.read_text())
    assert manifest["command"] == "run"
    assert [(e["row"], e["old"], e["new"]) for e in manifest["edits"]] == [(3, "1001.01", "777.70")]
    assert source.read_bytes() == before


def test_a_workbook_is_sent_and_its_rows_paged_after_the_send(tmp_path, sb):
    import datetime as dt

    from conftest import write_xlsx

    lead = "47378190-96da-4dac-b2ff-5d2a386ecbe0"
    path = write_xlsx(
        tmp_path / "book.xlsx",
        {"Data": [["Lead ID", "Amount", "Date"], [lead, 10, dt.datetime(2026, 3, 2)],
                  ["bad", 20, dt.datetime(2026, 3, 3)], [lead, 30, dt.datetime(2026, 3, 4)]]},
    )  # fmt: skip
    job = importer.open_import(path)
    job.check()
    assert [r.status for r in job.rows().rows] == ["valid", "invalid", "valid"]
    job.plan(api_url=sb.base_url, api_key=sb.api_key)
    report = job.send()
    assert (report.results_path.name, report.exit_code) == ("book.results.xlsx", 1)
    assert [(r.row, r.status) for r in job.rows().rows] == [
        (2, "created"),
        (3, "invalid"),
        (4, "created"),
    ]
