"""The WAL is copied back into a SQLite ledger on the fsync thread, never by a commit on the
event loop (a 40 MB copy there held every answer up to 70 ms)."""

from __future__ import annotations

import asyncio
import sqlite3
import threading

from test_ledger_writes import begin, created, on_disk


def eager_ledger(path, rows):
    """A ledger with ``rows`` claimed that syncs and checkpoints at every chance."""
    ledger, claimed = begin(path, rows)
    ledger.SYNC_GAP = 0.0
    ledger.CHECKPOINT_GAP = 0.0
    return ledger, claimed


async def answer_all(ledger, claimed, rows, done: list[int]) -> str:
    """Mark, answer (``done`` gets each durable row) and flush; the loop's thread name."""
    for row in rows:
        await ledger.mark_sending_async(claimed[row].identity)
        ledger.record_then(claimed[row].identity, created(row), lambda row=row: done.append(row))
        await asyncio.sleep(0.001)
    await ledger.flush()
    return threading.current_thread().name


def test_checkpoints_run_on_the_fsync_thread_and_copy_the_wal(tmp_path):
    path = tmp_path / "ledger.sqlite"
    rows = range(2, 62)
    ledger, claimed = eager_ledger(path, rows)
    runs: list[tuple[str, int, int]] = []
    real_checkpoint = ledger.backend.checkpoint

    def checkpoint() -> tuple[int, int]:
        in_wal, copied = real_checkpoint()
        runs.append((threading.current_thread().name, in_wal, copied))
        return in_wal, copied

    ledger.backend.checkpoint = checkpoint
    done: list[int] = []

    with ledger:
        autocheckpoint = ledger.backend.conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0]
        loop_thread = asyncio.run(answer_all(ledger, claimed, rows, done))
    assert autocheckpoint == 50_000  # commits on the loop leave the copying to the thread
    assert runs, "no checkpoint while answers kept coming"
    assert {name for name, _, _ in runs} == {"ledger-sync_0"} != {loop_thread}
    # They copy the WAL back (but for what a commit on the loop adds meanwhile; the WAL is
    # empty when nothing was committed since the one before).
    assert all(copied <= in_wal for _, in_wal, copied in runs), runs
    assert sum(copied == in_wal > 0 for _, in_wal, copied in runs) >= len(runs) // 2, runs
    assert sorted(done) == list(rows)
    assert on_disk(path) == {row: ("created", f"p-{row}", 1, 1) for row in rows}


def test_a_checkpoint_failure_loses_nothing(tmp_path):
    path = tmp_path / "ledger.sqlite"
    rows = range(2, 12)
    ledger, claimed = eager_ledger(path, rows)
    failures: list[int] = []

    def checkpoint() -> tuple[int, int]:
        failures.append(1)
        raise sqlite3.OperationalError("disk I/O error")

    ledger.backend.checkpoint = checkpoint
    done: list[int] = []
    with ledger:
        asyncio.run(answer_all(ledger, claimed, rows, done))
    assert failures and sorted(done) == list(rows)
    assert on_disk(path) == {row: ("created", f"p-{row}", 1, 1) for row in rows}


def test_a_flush_copies_the_wal_back_behind_the_caller(tmp_path):
    path = tmp_path / "ledger.sqlite"
    rows = range(2, 12)
    ledger, claimed = begin(path, rows)
    ledger.CHECKPOINT_GAP = float("inf")  # none while answers come
    runs: list[tuple[str, int, int]] = []
    real_checkpoint = ledger.backend.checkpoint

    def checkpoint() -> tuple[int, int]:
        found = real_checkpoint()
        runs.append((threading.current_thread().name, *found))
        return found

    ledger.backend.checkpoint = checkpoint
    done: list[int] = []
    with ledger:
        asyncio.run(answer_all(ledger, claimed, rows, done))  # ends with a flush
        ledger._syncer.submit(lambda: None).result()  # what the thread had queued is done
        assert [name for name, _, _ in runs] == ["ledger-sync_0"]
        assert runs[0][1] == runs[0][2] > 0  # the whole WAL, copied while the caller went on
    assert sorted(done) == list(rows)
