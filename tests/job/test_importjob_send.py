"""The import job's plan, send and cancel against the real sandbox; out-dir, and two imports
of the same file at once (the ledger's liveness locks)."""

from __future__ import annotations

import getpass
import json
import platform
import sqlite3
import subprocess
import sys
import threading

import pytest
from runhelpers import purchases_by_row, results_by_row, statuses, wait_for, write_rows

import importer
from importer.cli import main
from importer.ledger import Candidate, Ledger, LedgerLocation, data_dir
from importer.sandbox import Faults, Sandbox


def sandbox_ledger() -> LedgerLocation:
    """The ledger of runs against a server on this machine (the sandbox)."""
    return LedgerLocation(path=data_dir() / "sandbox-ledger.sqlite")


def imports_of(location: LedgerLocation) -> list[tuple[str, str, str]]:
    """(file name, source, state) of every import the ledger knows, oldest first."""
    with sqlite3.connect(location.path) as db:
        return db.execute("SELECT file_name, source, state FROM imports ORDER BY id").fetchall()


def live_locks(location: LedgerLocation) -> list[str]:
    folder = location.path.with_name(location.path.name + ".locks")
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_a_progress_callback_that_raises_stops_the_send_and_loses_no_answer(tmp_path, slow_sb):
    """A bug in the caller's callback is not raised inside a request's answer (which would
    leave it unrecorded): the send stops as cancel() stops it, then raises with its report."""
    source = write_rows(tmp_path / "rows.csv", 200)
    job = importer.open_import(source)
    job.plan(api_url=slow_sb.base_url, api_key=slow_sb.api_key, concurrency=4)
    calls = []

    def broken(done, total, counts):
        calls.append(done)
        if done >= 8:
            raise ZeroDivisionError("a bug in the notebook")

    with pytest.raises(importer.ProgressCallbackError) as raised:
        job.send(on_progress=broken)
    assert isinstance(raised.value.__cause__, ZeroDivisionError)
    report = raised.value.report
    created = report.summary.count(importer.RowStatus.CREATED)
    assert 8 <= created < 200 and len(slow_sb.purchases()) == created
    results = results_by_row(tmp_path / "rows.results.csv")
    assert statuses(results)["created"] == created and len(results) == 200
    job.plan(api_url=slow_sb.base_url, api_key=slow_sb.api_key, concurrency=4)
    assert job.send().summary.count(importer.RowStatus.CREATED) == 200  # the rest, resumed
    assert len(slow_sb.purchases()) == 200


def test_a_file_saved_again_after_the_plan_is_not_sent(tmp_path, sb):
    """plan() checked 3 rows and their control total; a file changed since holds rows nobody
    checked: nothing is sent until it is checked again."""
    from importer.job.sendpass import SOURCE_CHANGED

    source = write_rows(tmp_path / "rows.csv", 3)
    job = importer.open_import(source)
    job.set_options(expect_rows=3)
    assert job.plan(api_url=sb.base_url, api_key=sb.api_key).valid_rows == 3
    write_rows(source, 4)
    report = job.send()
    assert (report.outage, report.exit_code) == (SOURCE_CHANGED, 1)
    results = results_by_row(tmp_path / "rows.results.csv")
    assert {(r["status"], r["error"]) for r in results.values()} == {
        ("not_sent", f"not sent: {SOURCE_CHANGED}")
    }
    assert sb.stats()["create_calls"] == 0
    with pytest.raises(importer.ControlTotalError):  # checked again: 4 rows, 3 expected
        job.plan(api_url=sb.base_url, api_key=sb.api_key)
    job.set_options(expect_rows=4)
    assert job.plan(api_url=sb.base_url, api_key=sb.api_key).valid_rows == 4
    assert job.send().summary.count(importer.RowStatus.CREATED) == 4


def test_a_file_saved_again_while_it_is_sent_stops_at_the_next_chunk(tmp_path, sb, monkeypatch):
    """Rows read after the file changed were never checked (an invoice re-exported with
    another amount would be created twice): sending stops there."""
    from importer.job.sendpass import SOURCE_CHANGED, SendPass

    monkeypatch.setattr(SendPass, "CHUNK_ROWS", 5)
    source = write_rows(tmp_path / "rows.csv", 12)
    job = importer.open_import(source)
    job.plan(api_url=sb.base_url, api_key=sb.api_key, concurrency=2)
    saved = []

    def save_over_it(done, total, counts):
        if done >= 5 and not saved:
            saved.append(source.read_bytes())
            source.write_bytes(saved[0].replace(b".00,", b"0.00,"))  # ten times the amounts

    report = job.send(on_progress=save_over_it)
    assert report.outage == SOURCE_CHANGED
    results = results_by_row(tmp_path / "rows.results.csv")
    assert statuses(results) == {"created": 5, "not_sent": 7}
    assert {results[row]["error"] for row in range(7, 14)} == {f"not sent: {SOURCE_CHANGED}"}
    assert len(sb.purchases()) == 5


def test_a_dataframe_changed_after_the_plan_is_not_sent(tmp_path, sb):
    import pandas

    frame = pandas.DataFrame(
        {
            "Lead ID": ["47378190-96da-4dac-b2ff-5d2a386ecbe0"],
            "Amount": [42.5],
            "Date": ["2026-03-02"],
        }
    )
    job = importer.open_import(frame, name="march", out_dir=tmp_path)
    assert job.plan(api_url=sb.base_url, api_key=sb.api_key).valid_rows == 1
    frame.loc[0, "Amount"] = 4250.0
    with pytest.raises(importer.InputFileError, match="^DataFrame 'march' changed after it"):
        job.send()
    assert sb.purchases() == []


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
        "rows.manifest.json",
        "rows.results.csv",
    ]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "rows.csv"]
    assert report.ledger == str(sandbox_ledger().path)
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


def test_a_send_reads_its_results_back_only_when_rows_are_asked_for(tmp_path, sb, monkeypatch):
    import importer.job.rowstore as rowstore

    scans = []
    real_scan = rowstore.scan_results
    monkeypatch.setattr(
        rowstore, "scan_results", lambda *a, **k: scans.append(a[0]) or real_scan(*a, **k)
    )
    job = importer.open_import(write_rows(tmp_path / "rows.csv", 5), out_dir=tmp_path / "out")
    job.plan(api_url=sb.base_url, api_key=sb.api_key, concurrency=2)
    report = job.send()
    assert (report.exit_code, scans) == (0, [])  # a command-line run never asks
    assert job.rows(status="created", limit=10).total == 5
    assert job.rows(limit=10).total == 5
    assert scans == [tmp_path / "out" / "rows.results.csv"]  # read once, when first asked


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
    # The import ended as stopped and let go of its liveness lock; the unsent rows are not_sent.
    assert imports_of(sandbox_ledger()) == [("rows.csv", "rows", "stopped")]
    assert live_locks(sandbox_ledger()) == []
    with sqlite3.connect(sandbox_ledger().path) as db:
        kept = dict(db.execute("SELECT status, count(*) FROM purchases GROUP BY status"))
    # Rows claimed and then stopped are not_sent; rows never claimed are not in the ledger.
    assert kept["created"] == created
    assert set(kept) <= {"created", "not_sent"}
    assert kept.get("not_sent", 0) <= n - created
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
    assert (purchase["purchase_amount"], purchase["date"]) == ("1500.00", "2026-04-03T00:00:00Z")


def test_cli_out_dir_then_the_job_resumes_from_the_ledger(tmp_path, sb, capsys, monkeypatch):
    monkeypatch.setenv("KEEN_API_KEY", sb.api_key)
    source = write_rows(tmp_path / "rows.csv", 6)
    out = tmp_path / "imports" / "march"
    code = main(["run", str(source), "--api-url", sb.base_url, "--out-dir", str(out)])
    err = capsys.readouterr().err
    assert code == 0, err
    assert f"ledger: {sandbox_ledger().path}\n" in err
    assert sorted(p.name for p in out.iterdir()) == [
        "rows.created.csv",
        "rows.manifest.json",
        "rows.results.csv",
    ]
    first = results_by_row(out / "rows.results.csv")
    calls = sb.stats()["create_calls"]
    job = importer.open_import(source, out_dir=out)
    job.plan(api_url=sb.base_url, api_key=sb.api_key)
    report = job.send()
    assert (report.exit_code, report.nothing_to_send) == (0, True)
    assert sb.stats()["create_calls"] == calls
    assert report.ledger == str(sandbox_ledger().path)
    again = results_by_row(out / "rows.results.csv")
    assert {r: again[r]["purchase_id"] for r in again} == {
        r: first[r]["purchase_id"] for r in first
    }


def test_out_dir_from_the_mapping_file(tmp_path, capsys):
    source = write_rows(tmp_path / "rows.csv", 3)
    mapping = tmp_path / "map.toml"
    mapping.write_text(f'out_dir = "{tmp_path / "checked"}"\n')
    assert main(["validate", str(source), "--mapping", str(mapping)]) == 0
    assert sorted(p.name for p in (tmp_path / "checked").iterdir()) == [
        "rows.manifest.json",
        "rows.results.csv",
    ]


# --- two imports at once: the ledger's liveness locks ------------------------------------------


def test_an_import_holds_its_liveness_lock_until_it_ends(tmp_path):
    location = LedgerLocation(path=tmp_path / "ledger.sqlite")
    with Ledger.open(location) as holder:
        holder.begin_import(target="t", file_name="rows.csv", file_sha256="k", source="rows")
        [lock] = live_locks(location)
        assert lock == f"{holder._token}.lock"
        with Ledger.open(location) as other:
            assert other.backend.is_live(holder._token)
        assert imports_of(location) == [("rows.csv", "rows", "running")]
    assert live_locks(location) == []
    assert imports_of(location) == [("rows.csv", "rows", "finished")]
    with Ledger.open(location) as other:
        assert not other.backend.is_live(holder._token)


def candidates_created_for(target: str, rows) -> list[Candidate]:
    """The candidates of ``rows`` of rows.csv as an import against ``target`` created them."""
    with Ledger.open(sandbox_ledger()) as ledger:
        entries = {e.file_row: e for e in ledger.created_by_source(target, "rows")}
    return [
        Candidate(e.file_row, e.identity, e.payload_hash, e.payload.encode(), e.lead_id,
                  e.reference, e.currency, e.amount, e.purchase_date)
        for e in (entries[row] for row in rows)
    ]  # fmt: skip


def test_rows_another_live_import_is_sending_are_not_sent_until_it_ends(tmp_path, sb):
    source = write_rows(tmp_path / "rows.csv", 6)
    common = {"api_key": sb.api_key, "api_url": sb.base_url, "out_dir": tmp_path / "out"}
    # Learn the rows' purchase identities from an import against another account.
    assert importer.run_import(source, target="first", **common).exit_code == 0
    claimed = candidates_created_for("first", [3, 4])
    calls = sb.stats()["create_calls"]

    # Another run of the same file is sending rows 3 and 4 to "second" right now.
    with Ledger.open(sandbox_ledger()) as holder:
        holder.begin_import(
            target="second", file_name="rows.csv", file_sha256="other", source="rows"
        )
        to_send, held = holder.claim(claimed)
        assert ([c.row for c in to_send], held) == ([3, 4], {})
        started = imports_of(sandbox_ledger())
        report = importer.run_import(source, target="second", **common)
        with sqlite3.connect(sandbox_ledger().path) as db:
            [(since,)] = db.execute("SELECT started_at FROM imports WHERE source = 'rows'"
                                    " AND target = 'second' AND state = 'running'")  # fmt: skip
    assert started[-1] == ("rows.csv", "rows", "running")
    assert report.exit_code == 1
    assert sb.stats()["create_calls"] - calls == 4  # rows 2, 5, 6 and 7 only
    results = results_by_row(report.results_path)
    busy = (
        f"being sent right now by another import (rows.csv, started "
        f"{since[:16].replace('T', ' ')} UTC by {getpass.getuser()} on {platform.node()}); "
        "not sent: run again once it has finished"
    )
    for row in (3, 4):
        assert (results[row]["status"], results[row]["purchase_id"], results[row]["error"]) == (
            "not_sent",
            "",
            busy,
        )
    assert [results[row]["status"] for row in (2, 5, 6, 7)] == ["created"] * 4

    # Once it ended without sending them, the next run sends exactly those two.
    calls = sb.stats()["create_calls"]
    final = importer.run_import(source, target="second", **common)
    assert final.exit_code == 0
    assert sb.stats()["create_calls"] - calls == 2
    again = results_by_row(final.results_path)
    assert statuses(again) == {"created": 6}
    assert {r: again[r]["purchase_id"] for r in (2, 5, 6, 7)} == {
        r: results[r]["purchase_id"] for r in (2, 5, 6, 7)
    }


HOLD_AND_DIE = """
import json, os, sys
from pathlib import Path
from importer.ledger import Candidate, Ledger, LedgerLocation
ledger = Ledger.open(LedgerLocation(path=Path(sys.argv[1])))
ledger.begin_import(target="second", file_name="rows.csv", file_sha256="x", source="rows")
given = json.loads(sys.argv[2])
to_send, held = ledger.claim([Candidate(*c[:3], c[3].encode(), *c[4:]) for c in given])
assert len(to_send) == 2 and not held
os._exit(9)  # killed: no finish, its lock file stays behind
"""


def test_rows_claimed_by_an_import_that_died_are_sent_by_the_next(tmp_path, sb):
    source = write_rows(tmp_path / "rows.csv", 4)
    common = {"api_key": sb.api_key, "api_url": sb.base_url, "out_dir": tmp_path / "out"}
    assert importer.run_import(source, target="first", **common).exit_code == 0
    claimed = [
        [c.row, c.identity, c.payload_hash, c.content.decode(), c.lead_id, c.reference,
         c.currency, c.amount, c.date]
        for c in candidates_created_for("first", [2, 3])
    ]  # fmt: skip
    died = subprocess.run(
        [sys.executable, "-c", HOLD_AND_DIE, str(sandbox_ledger().path), json.dumps(claimed)],
        capture_output=True, text=True,
    )  # fmt: skip
    assert died.returncode == 9, died.stderr
    assert len(live_locks(sandbox_ledger())) == 1  # what a killed run leaves behind
    calls = sb.stats()["create_calls"]
    report = importer.run_import(source, target="second", **common)
    assert report.exit_code == 0
    assert sb.stats()["create_calls"] - calls == 4
    assert statuses(results_by_row(report.results_path)) == {"created": 4}
    assert imports_of(sandbox_ledger())[1:] == [
        ("rows.csv", "rows", "stopped"),  # found dead by its lock, its claims released
        ("rows.csv", "rows", "finished"),
    ]
    assert live_locks(sandbox_ledger()) == []


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
