"""`keen-import run` killed or interrupted mid-run (a real child process), then resumed.

The sandbox runs in its own process on a db file, so it keeps answering (and committing) while
the importer dies; purchases are mapped back to rows by their distinct amounts.
"""

from __future__ import annotations

import signal
import sys
import time

import pytest
from runhelpers import (
    assert_no_key,
    purchases_by_row,
    results_by_row,
    start_run,
    statuses,
    wait_for,
    write_rows,
)

from importer.sandbox import DEMO_API_KEY, Faults, Sandbox

pytestmark = pytest.mark.skipif(
    sys.platform == "win32", reason="kills and signals a child the POSIX way (SIGKILL, SIGINT)"
)


@pytest.fixture
def slow_sandbox(tmp_path):
    with Sandbox(process=True, db=tmp_path / "sandbox.sqlite", faults=Faults(latency_ms=50)) as sb:
        yield sb


def finish(proc, timeout: float = 30.0) -> tuple[int, str, str]:
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, out, err


def start_midway(tmp_path, sb, n: int, concurrency: int, created: int, more=()):
    """Start a run of ``n`` rows in a subprocess; return once ``created`` purchases exist."""
    work = tmp_path / "work"
    work.mkdir()
    source = write_rows(work / "rows.csv", n)
    args = [source, "--api-url", sb.base_url, "--concurrency", concurrency, *more]
    proc = start_run(args, work)
    try:
        wait_for(lambda: sb.stats()["purchases"] >= created or proc.poll() is not None)
        assert proc.poll() is None, "the run finished before it could be stopped"
    except BaseException:
        proc.kill()
        raise
    return work, source, args, proc


def test_kill_9_mid_run_then_resume(tmp_path, slow_sandbox):
    kill_9_then_resume(tmp_path, slow_sandbox)


def kill_9_then_resume(tmp_path, sb, *more_args: str) -> None:
    """Kill -9 a run of 200 rows at 4 at a time midway (``more_args``: the ledger), resume
    it, then send the unconfirmed rows again: no row is sent twice but those in flight."""
    n, concurrency = 200, 4
    work, source, args, proc = start_midway(
        tmp_path, sb, n, concurrency, created=40, more=more_args
    )
    try:
        proc.send_signal(signal.SIGKILL)
        code, out1, err1 = finish(proc)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert code == -signal.SIGKILL
    at_kill = sb.stats()["purchases"]
    assert 40 <= at_kill < n

    # Resume without --resend-unconfirmed: in-flight rows are unconfirmed, the rest created once.
    sb.set_faults(Faults())
    code, out2, err2 = finish(start_run(args, work))
    assert code == 1, err2
    assert "some rows are unconfirmed" in err2
    results = results_by_row(work / "rows.results.csv")
    assert sorted(results) == list(range(2, n + 2))
    counts = statuses(results)
    assert set(counts) == {"created", "unconfirmed"}
    # In flight, or answered within the last commit gap (the answer not committed yet while
    # the worker's next request went out: see importer.ledger.sendlog), or (PostgreSQL) marked
    # ahead of its request (importer.ledger.markahead).
    assert 1 <= counts["unconfirmed"] <= 2 * concurrency
    grouped = purchases_by_row(sb.purchases(), n)
    assert all(len(ps) == 1 for ps in grouped.values()), "a row has two purchases"
    unconfirmed_committed = 0
    for row, r in results.items():
        if r["status"] == "created":
            assert [p["id"] for p in grouped[row]] == [r["purchase_id"]]
        else:
            assert r["purchase_id"] == ""
            assert r["error"] == (
                "in flight when the previous run stopped; check in Keen, then re-run with "
                "--resend-unconfirmed"
            )
            unconfirmed_committed += row in grouped
    assert len(sb.purchases()) == counts["created"] + unconfirmed_committed
    # Across both runs every create the API processed stored one purchase, each row at most
    # once: only in-flight requests the kill cut off before the API read them are missing.
    assert sb.stats()["create_calls"] == len(sb.purchases())
    assert len(sb.purchases()) == n - (counts["unconfirmed"] - unconfirmed_committed)

    # Third run with --resend-unconfirmed: the unconfirmed rows (and only they) are sent again.
    calls_before = sb.stats()["create_calls"]
    code, out3, err3 = finish(start_run([*args, "--resend-unconfirmed"], work))
    assert code == 0, err3
    assert sb.stats()["create_calls"] - calls_before == counts["unconfirmed"]
    final = results_by_row(work / "rows.results.csv")
    assert statuses(final) == {"created": n}
    grouped = purchases_by_row(sb.purchases(), n)
    assert len(grouped) == n
    twice = {row for row, ps in grouped.items() if len(ps) > 1}
    # Only rows that were in flight at the kill and committed anyway can have two purchases.
    assert len(twice) == unconfirmed_committed
    assert all(results[row]["status"] == "unconfirmed" for row in twice)
    for row, r in final.items():
        assert r["purchase_id"] == grouped[row][-1]["id"]
        if results[row]["status"] == "created":
            assert r["purchase_id"] == results[row]["purchase_id"]
    assert_no_key(work, DEMO_API_KEY, out1, err1, out2, err2, out3, err3)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_interrupt_writes_results_and_resumes(tmp_path, slow_sandbox, sig):
    sb = slow_sandbox
    n, concurrency = 150, 4
    work, source, args, proc = start_midway(tmp_path, sb, n, concurrency, created=20)
    try:
        proc.send_signal(sig)
        code, out1, err1 = finish(proc)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert code == 130, err1
    assert "interrupted: unsent rows are not_sent" in err1
    results = results_by_row(work / "rows.results.csv")
    assert sorted(results) == list(range(2, n + 2))  # written on interruption, every row once
    counts = statuses(results)
    assert set(counts) == {"created", "not_sent"}  # requests in flight were let finish
    assert counts["not_sent"] > 50
    stored = sb.purchases()
    assert {r["purchase_id"] for r in results.values() if r["status"] == "created"} == {
        p["id"] for p in stored
    }
    for r in results.values():
        if r["status"] == "not_sent":
            assert r["error"] == "not sent: the run was interrupted"

    sb.set_faults(Faults())
    calls_before = sb.stats()["create_calls"]
    code, out2, err2 = finish(start_run(args, work))
    assert code == 0, err2
    assert sb.stats()["create_calls"] - calls_before == counts["not_sent"]
    final = results_by_row(work / "rows.results.csv")
    assert statuses(final) == {"created": n}
    grouped = purchases_by_row(sb.purchases(), n)
    assert len(grouped) == n and all(len(ps) == 1 for ps in grouped.values())
    for row, r in final.items():
        assert r["purchase_id"] == grouped[row][0]["id"]
    assert_no_key(work, DEMO_API_KEY, out1, err1, out2, err2)


def test_second_sigint_aborts_at_once_ledger_consistent(tmp_path, slow_sandbox):
    sb = slow_sandbox
    n, concurrency = 150, 4
    work, source, args, proc = start_midway(tmp_path, sb, n, concurrency, created=20)
    try:
        proc.send_signal(signal.SIGINT)
        time.sleep(0.01)  # two signals sent at once would merge into one pending signal
        proc.send_signal(signal.SIGINT)
        code, _, err1 = finish(proc)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert code == 130
    assert (
        "second interrupt: stopped at once. The ledger is consistent, but the results file was "
        "not updated: run the same command again to write it (purchases already created are "
        "not sent again)"
    ) in err1
    assert sorted(p.name for p in work.iterdir() if p.name.endswith(".tmp")) == []

    sb.set_faults(Faults())
    code, _, err2 = finish(start_run(args, work))
    results = results_by_row(work / "rows.results.csv")
    counts = statuses(results)
    assert set(counts) <= {"created", "unconfirmed"}
    assert counts["unconfirmed"] <= concurrency
    assert code == (1 if counts["unconfirmed"] else 0), err2
    grouped = purchases_by_row(sb.purchases(), n)
    assert all(len(ps) == 1 for ps in grouped.values())
    for row, r in results.items():
        if r["status"] == "created":
            assert [p["id"] for p in grouped[row]] == [r["purchase_id"]]


def test_interrupt_before_any_row_is_sent_says_interrupted_only(tmp_path):
    """Ctrl-C while the leads are looked up: every row `not_sent` "the run was interrupted", exit
    130, and no line calling them "held back before sending" (they have nothing to fix)."""
    with Sandbox(process=True, faults=Faults(latency_ms=1000)) as sb:
        work = tmp_path / "work"
        work.mkdir()
        source = write_rows(work / "rows.csv", 5)
        proc = start_run([source, "--api-url", sb.base_url, "--yes"], work)
        try:
            wait_for(lambda: sb.stats()["requests"] >= 1 or proc.poll() is not None)
            proc.send_signal(signal.SIGINT)
            code, _, err = finish(proc)
        finally:
            if proc.poll() is None:
                proc.kill()
        assert sb.stats()["create_calls"] == 0
    assert code == 130, err
    assert "interrupted: unsent rows are not_sent" in err
    assert "held back" not in err
    results = results_by_row(work / "rows.results.csv")
    assert {r["status"] for r in results.values()} == {"not_sent"}
    assert len(results) == 5
    assert {r["error"] for r in results.values()} == {"not sent: the run was interrupted"}
