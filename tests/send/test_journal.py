"""The SQLite journal: decisions on resume, history, durability, the lock."""

from __future__ import annotations

import asyncio
import os
import sqlite3

import pytest

from importer.errors import JournalLockedError
from importer.records import RowResult, RowStatus
from importer.send.journal import UNCONFIRMED_ERROR, Journal


@pytest.fixture
def path(tmp_path):
    return tmp_path / "results.journal.sqlite"


def test_new_row_is_sent(path):
    with Journal.open(path, file_hash="f1") as journal:
        assert journal.decide(2, "h", resend_unconfirmed=False) is None
        assert journal.previous(2) is None


def test_created_is_never_sent_again(path):
    with Journal.open(path, file_hash="f1") as journal:
        journal.mark_sending(2, "h")
        journal.record(2, "h", RowResult(2, RowStatus.CREATED, "p-1", 200, attempts=2))
    with Journal.open(path, file_hash="f1") as journal:
        for flag in (False, True):
            assert journal.decide(2, "h", resend_unconfirmed=flag) == RowResult(
                2, RowStatus.CREATED, "p-1", 200, attempts=2
            )


def test_sending_left_by_a_crash_is_unconfirmed(path):
    with Journal.open(path, file_hash="f1") as journal:
        journal.mark_sending(3, "h")
    with Journal.open(path, file_hash="f1") as journal:
        result = journal.decide(3, "h", resend_unconfirmed=False)
        assert result == RowResult(3, RowStatus.UNCONFIRMED, error=UNCONFIRMED_ERROR)
        assert result.error == (
            "in flight when the previous run stopped; check in Keen, "
            "then re-run with --resend-unconfirmed"
        )
        assert journal.decide(3, "h", resend_unconfirmed=True) is None


def test_unconfirmed_keeps_its_reason(path):
    with Journal.open(path, file_hash="f1") as journal:
        journal.record(4, "h", RowResult(4, RowStatus.UNCONFIRMED, http_status=500, error="boom"))
        result = journal.decide(4, "h", resend_unconfirmed=False)
        assert result.status is RowStatus.UNCONFIRMED
        assert result.http_status == 500
        assert result.error == f"boom; {UNCONFIRMED_ERROR}"
        assert journal.decide(4, "h", resend_unconfirmed=True) is None


@pytest.mark.parametrize("status", [RowStatus.RETRIED, RowStatus.NOT_SENT, RowStatus.REJECTED])
def test_safe_statuses_are_sent_again(path, status):
    with Journal.open(path, file_hash="f1") as journal:
        journal.record(5, "h", RowResult(5, status, error="x"))
        assert journal.decide(5, "h", resend_unconfirmed=False) is None


def test_changed_payload_is_a_new_row_and_history_is_kept(path):
    with Journal.open(path, file_hash="f1") as journal:
        journal.record(6, "old", RowResult(6, RowStatus.CREATED, "p-6", 200, attempts=1))
        assert journal.decide(6, "new", resend_unconfirmed=False) is None
        journal.record(6, "new", RowResult(6, RowStatus.CREATED, "p-7", 200, attempts=1))
        assert journal.previous(6).purchase_id == "p-7"
        assert [e.payload_hash for e in journal.entries()] == ["old", "new"]


def test_file_hash_separates_files(path):
    with Journal.open(path, file_hash="f1") as journal:
        journal.record(2, "h", RowResult(2, RowStatus.CREATED, "p-1", 200))
    with Journal.open(path, file_hash="f2") as journal:
        assert journal.decide(2, "h", resend_unconfirmed=False) is None


def test_second_open_is_refused_with_the_holder(path):
    with Journal.open(path, file_hash="f1"):
        with pytest.raises(JournalLockedError) as caught:
            Journal.open(path, file_hash="f1")
        assert f"(process {os.getpid()})" in str(caught.value)
        assert str(path) in str(caught.value)
    with Journal.open(path, file_hash="f1"):  # released on close
        pass


def test_group_commit_is_durable_and_ordered(path):
    async def go() -> None:
        with Journal.open(path, file_hash="f1") as journal:
            done: list[int] = []
            await asyncio.gather(*(journal.mark_sending_async(r, "h") for r in range(2, 202)))
            for row in range(2, 202):
                result = RowResult(row, RowStatus.CREATED, f"p-{row}", 200, attempts=1)
                journal.record_soon(row, "h", result, lambda row=row: done.append(row))
            await journal.flush()
            assert sorted(done) == list(range(2, 202))
            assert journal.commits < 200  # grouped

    asyncio.run(go())
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    rows = conn.execute("SELECT status, count(*) FROM entries GROUP BY status").fetchall()
    assert rows == [("created", 200)]


def test_mark_then_record_in_one_group_keeps_the_record(path):
    async def go() -> None:
        with Journal.open(path, file_hash="f1") as journal:
            await journal.mark_sending_async(2, "h")
            journal.record_soon(2, "h", RowResult(2, RowStatus.RETRIED, error="503"))
            await journal.mark_sending_async(2, "h")
            journal.record_soon(2, "h", RowResult(2, RowStatus.CREATED, "p", 200, attempts=2))
            await journal.flush()
            entry = journal.previous(2)
            assert (entry.status, entry.sends, entry.attempts) == ("created", 2, 2)

    asyncio.run(go())


def test_a_journal_from_before_payloads_were_kept_opens_and_keeps_its_entries(tmp_path):
    path = tmp_path / "old.journal.sqlite"
    with sqlite3.connect(path) as db:
        db.executescript(
            "CREATE TABLE entries (file_hash TEXT NOT NULL, row INTEGER NOT NULL,"
            " payload_hash TEXT NOT NULL, status TEXT NOT NULL, purchase_id TEXT,"
            " http_status INTEGER, error TEXT, attempts INTEGER NOT NULL DEFAULT 0,"
            " sends INTEGER NOT NULL DEFAULT 0, updated_at REAL NOT NULL,"
            " PRIMARY KEY (file_hash, row, payload_hash)) WITHOUT ROWID;"
            "CREATE TABLE keys (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);"
            "INSERT INTO keys (id, name) VALUES (1, 'target:x');"
            "INSERT INTO entries VALUES ('1', 2, 'h', 'created', 'P-1', 200, NULL, 1, 1, 1.0);"
        )
    with Journal.open(path, file_hash="target:x") as journal:
        [old] = journal.created_at(2)
        assert (old.purchase_id, old.payload) == ("P-1", None)
        journal.mark_sending(3, "h3", b'{"purchase_amount":5.00}')
        [new] = [e for e in journal.entries() if e.row == 3]
        assert (new.status, new.payload) == ("sending", '{"purchase_amount":5.00}')
