"""The ledger's writes on the sending path: ``sending`` marks and answers.

A mark survives a kill before its request may go out (SQLite: in the import's sending log,
committed when a row is sent again after a retry); an answer is reported only once an fsync
that started after its commit is done; a write that fails is reported to whoever waits for it
(never silently counted as done); a full disk is one of those failures.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections import Counter
from decimal import Decimal

import pytest
from runhelpers import CreatingClient

from importer.ledger import Candidate, Ledger, LedgerLocation, candidate_for
from importer.records import PurchaseRecord, RowResult, RowStatus
from importer.send.sender import send_all

LEAD = "47378190-96da-4dac-b2ff-5d2a386ecbe0"
TARGET = "https://api.example"
FULL = "database or disk is full"


def records(rows) -> list[PurchaseRecord]:
    return [
        PurchaseRecord(
            row=r, lead_id=LEAD, purchase_amount=Decimal(f"{r}.00"), product_name=f"r{r}"
        )
        for r in rows
    ]


@pytest.fixture
def path(tmp_path):
    return tmp_path / "ledger.sqlite"


def begin(path, rows) -> tuple[Ledger, dict[int, Candidate]]:
    """A ledger with an import begun and ``rows`` claimed; the candidates by row."""
    ledger = Ledger.open(LedgerLocation(path=path))
    ledger.begin_import(target=TARGET, file_name="march.csv", file_sha256="f", source="march")
    to_send, held = ledger.claim(
        [candidate_for(r, action="create_purchase", lead_id=LEAD) for r in records(rows)]
    )
    assert held == {}
    return ledger, {c.row: c for c in to_send}


def on_disk(path) -> dict[int, tuple]:
    """(status, purchase id, sends, attempts) by row, as another connection sees them."""
    with sqlite3.connect(path) as db:
        found = db.execute("SELECT file_row, status, purchase_id, sends, attempts FROM purchases")
        return {row: tuple(rest) for row, *rest in found}


def created(row: int, attempts: int = 1) -> RowResult:
    return RowResult(row, RowStatus.CREATED, f"p-{row}", 200, attempts=attempts)


def test_group_commit_is_durable_and_ordered(path):
    ledger, claimed = begin(path, range(2, 202))

    async def go() -> list[int]:
        done: list[int] = []
        ids = [claimed[row].identity for row in range(2, 202)]
        await asyncio.gather(*(ledger.mark_sending_async(identity) for identity in ids))
        for row, identity in zip(range(2, 202), ids, strict=True):
            ledger.record_then(identity, created(row), lambda row=row: done.append(row))
        await ledger.flush()
        return done

    with ledger:
        done = asyncio.run(go())
        assert sorted(done) == list(range(2, 202))
        assert ledger.commits < 200 and ledger.fsyncs < 200  # grouped
        assert ledger.fsyncs >= 1
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    assert on_disk(path) == {row: ("created", f"p-{row}", 1, 1) for row in range(2, 202)}


def test_mark_then_record_in_one_group_keeps_the_record(path):
    ledger, claimed = begin(path, [2])
    identity = claimed[2].identity

    async def go() -> None:
        await ledger.mark_sending_async(identity)
        ledger.record_then(identity, RowResult(2, RowStatus.RETRIED, http_status=503, error="x"))
        await ledger.mark_sending_async(identity)
        ledger.record_then(identity, created(2, attempts=2))
        await ledger.flush()

    with ledger:
        asyncio.run(go())
    assert on_disk(path) == {2: ("created", "p-2", 2, 2)}


def logged(ledger: Ledger) -> set[int]:
    """The ledger ids the import's sending log names, read from the file as another process
    would read it (see importer.ledger.sendlog)."""
    return ledger.backend.sending_log(ledger._token).ids()


def test_a_mark_is_kept_before_the_request_may_go_out(path):
    ledger, claimed = begin(path, [2, 3])
    seen: list[tuple] = []

    async def go() -> None:
        seen.append((on_disk(path), logged(ledger)))
        await ledger.mark_sending_async(claimed[2].identity)
        seen.append((on_disk(path), logged(ledger)))  # what a crash right now would leave

    with ledger:
        asyncio.run(go())
        row_id = ledger.backend.fetch_one("SELECT id FROM purchases WHERE file_row = 2")[0]
    stored = {2: ("claimed", None, 0, 0), 3: ("claimed", None, 0, 0)}
    assert seen == [(stored, set()), (stored, {row_id})]
    # Ended without an answer: the log went into the ledger, and the log is gone.
    assert on_disk(path) == {2: ("sending", None, 1, 0)}  # row 3, never sent, was released
    assert list(path.parent.glob("*.locks/*.sending")) == []


def test_an_answer_is_reported_only_after_an_fsync_that_started_after_its_commit(path):
    ledger, claimed = begin(path, [2])
    identity = claimed[2].identity
    real_sync = ledger.backend.sync
    syncing = threading.Event()
    release = threading.Event()
    at_sync: list[dict] = []

    def slow_sync() -> None:
        at_sync.append(on_disk(path))  # what the fsync starts with
        syncing.set()
        release.wait(10)
        real_sync()

    ledger.backend.sync = slow_sync
    done: list[int] = []

    async def go() -> None:
        await ledger.mark_sending_async(identity)
        ledger.record_then(identity, created(2), lambda: done.append(2))
        loop = asyncio.get_running_loop()
        assert await loop.run_in_executor(None, syncing.wait, 10)
        await asyncio.sleep(0.05)
        assert done == []  # committed, but not known to be on disk yet
        assert on_disk(path)[2][0] == "created"
        release.set()
        await ledger.flush()

    with ledger:
        asyncio.run(go())
    assert done == [2]
    assert at_sync[0][2] == ("created", "p-2", 1, 1)  # the fsync covered the answer


def test_a_commit_on_the_loop_never_waits_for_another_writer(path):
    """A claim on its thread (or another import) holds the file: the answer's commit is put
    off and tried again while the event loop runs on; the answer lands once the file is free."""
    ledger, claimed = begin(path, [2])
    identity = claimed[2].identity
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # as a claim on its thread does
    done: list[int] = []
    ticks: list[float] = []

    async def go() -> None:
        await ledger.mark_sending_async(identity)
        ledger.record_then(identity, created(2), lambda: done.append(2))
        loop = asyncio.get_running_loop()
        started = loop.time()
        while loop.time() - started < 0.1:
            ticks.append(loop.time())
            await asyncio.sleep(0.005)
        assert done == [] and on_disk(path)[2][0] == "claimed"
        holder.execute("COMMIT")
        await ledger.flush()

    with ledger:
        asyncio.run(go())
        assert ledger.busy_retries >= 10
    holder.close()
    assert done == [2]
    gaps = [later - earlier for earlier, later in zip(ticks, ticks[1:], strict=False)]
    assert max(gaps) < 0.5  # the loop never blocked (waiting, it would have for 30 s)
    assert on_disk(path) == {2: ("created", "p-2", 1, 1)}


def test_no_mark_is_kept_while_answers_wait_for_another_writer(path):
    """Answers put off behind a claim (longer than Ledger.PUT_OFF_GRACE) hold the next request
    back: a kill then leaves hardly more answered rows unconfirmed than without the claim."""
    ledger, claimed = begin(path, [2, 3])
    ids = dict(ledger.backend.fetch("SELECT file_row, id FROM purchases"))
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # as a claim on its thread does

    async def go() -> None:
        await ledger.mark_sending_async(claimed[2].identity)
        ledger.record_then(claimed[2].identity, created(2))
        await asyncio.sleep(0.05)  # its commit was tried and put off, for longer than 10 ms
        mark = asyncio.ensure_future(ledger.mark_sending_async(claimed[3].identity))
        await asyncio.sleep(0.05)
        assert not mark.done() and logged(ledger) == {ids[2]}
        holder.execute("COMMIT")
        await mark
        assert logged(ledger) == {ids[2], ids[3]}
        assert on_disk(path)[2] == ("created", "p-2", 1, 1)  # committed before row 3's mark

    with ledger:
        asyncio.run(go())
    holder.close()


def failing_commits(ledger: Ledger) -> None:
    """Every commit from now on fails as on a full disk."""

    def full(statements, durable=True, **how):
        raise sqlite3.OperationalError(FULL)

    ledger._commit = full


def test_a_mark_that_cannot_be_written_raises_and_nothing_changes(path):
    ledger, claimed = begin(path, [2])

    def full(row_id: int) -> None:
        raise OSError(28, "No space left on device")

    async def go() -> None:
        ledger._log.append = full
        with pytest.raises(OSError, match="No space left on device"):
            await ledger.mark_sending_async(claimed[2].identity)

    with ledger:
        asyncio.run(go())
        assert on_disk(path) == {2: ("claimed", None, 0, 0)}
        assert logged(ledger) == set()
    assert on_disk(path) == {}  # never sent: released when the import ended


def test_an_answer_that_cannot_be_written_is_never_reported_as_done(path):
    ledger, claimed = begin(path, [2, 3])
    done: list[int] = []
    failed: list[BaseException] = []

    async def go() -> None:
        for row in (2, 3):
            await ledger.mark_sending_async(claimed[row].identity)
        failing_commits(ledger)
        ledger.record_then(claimed[2].identity, created(2), lambda: done.append(2), failed.append)
        with pytest.raises(sqlite3.OperationalError, match=FULL):
            await ledger.flush()  # the failure went to on_failed, and flush raises it too
        assert [str(exc) for exc in failed] == [FULL]
        ledger.record_then(claimed[3].identity, created(3), lambda: done.append(3))
        with pytest.raises(sqlite3.OperationalError, match=FULL):
            await ledger.flush()  # no on_failed: flush raises it

    with ledger:
        asyncio.run(go())
    assert done == []
    assert len(failed) == 1
    # Both stay 'sending': a later run holds them as unconfirmed, never sends them again blindly.
    assert on_disk(path) == {2: ("sending", None, 1, 0), 3: ("sending", None, 1, 0)}


def test_an_fsync_that_fails_is_a_failed_write(path):
    ledger, claimed = begin(path, [2])

    def no_space() -> None:
        raise OSError(28, "No space left on device")

    done: list[int] = []
    failed: list[BaseException] = []

    async def go() -> None:
        await ledger.mark_sending_async(claimed[2].identity)
        ledger.backend.sync = no_space
        ledger.record_then(claimed[2].identity, created(2), lambda: done.append(2), failed.append)
        with pytest.raises(OSError, match="No space left on device"):
            await ledger.flush()

    with ledger:
        asyncio.run(go())
    assert done == []
    assert [exc.strerror for exc in failed] == ["No space left on device"]


def purchase_id(row: int) -> str:
    """An id as long as Keen's (a UUID): answers make the ledger's rows grow."""
    return f"{row:08d}-9d4a-4e6b-8f1a-2c3d4e5f6a7b"


def test_a_ledger_that_fills_up_mid_run_stops_sending(path):
    """A real full database (SQLite's page limit): the run stops, nothing is lost or doubled."""
    n = 400
    ledger, claimed = begin(path, range(2, n + 2))
    db = ledger.backend.conn
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    (pages,) = db.execute("PRAGMA page_count").fetchone()
    ledger.backend.write_batch_now([])  # opens the event loop's own connection
    connections = (db, ledger.backend._now)
    for conn in connections:  # a limit of each connection
        conn.execute(f"PRAGMA max_page_count = {pages + 1}")  # room for a few answers only
    # Answers take 2 ms: their commits (one per Ledger.SYNC_GAP) fail while rows remain.
    client = CreatingClient(purchase_id, latency=0.002)
    results: dict[int, RowResult] = {}
    with ledger:
        report = asyncio.run(
            send_all(
                records(range(2, n + 2)),
                client=client,
                ledger=ledger,
                candidates=claimed,
                concurrency=4,
                on_result=lambda r: results.__setitem__(r.row, r),
            )
        )
        for conn in connections:
            conn.execute("PRAGMA max_page_count = 1000000")  # room again, to end the import
    assert report.write_error == f"the ledger {path}: {FULL}"
    assert sorted(results) == list(range(2, n + 2))
    by_status: dict[RowStatus, set[int]] = {}
    for row, result in results.items():
        by_status.setdefault(result.status, set()).add(row)
    assert set(by_status) <= {RowStatus.CREATED, RowStatus.UNCONFIRMED, RowStatus.NOT_SENT}
    sent = set(client.calls)
    assert len(client.calls) == len(sent) < n  # sending stopped, nothing went out twice
    assert (
        by_status.get(RowStatus.CREATED, set()) | by_status.get(RowStatus.UNCONFIRMED, set())
        == sent
    )
    assert by_status[RowStatus.NOT_SENT] == set(range(2, n + 2)) - sent
    # Answers the full ledger could not take wait in the local spool: opening the ledger again
    # (with room) writes them in. Every created result is then on disk; every row reported
    # unconfirmed is still 'sending'.
    with Ledger.open(LedgerLocation(path=path)):
        pass
    kept = on_disk(path)
    for row in by_status.get(RowStatus.CREATED, ()):
        assert kept[row][:2] == ("created", purchase_id(row))
    for row in by_status.get(RowStatus.UNCONFIRMED, ()):
        assert kept[row][0] == "sending"
    assert report.unjournalled == len(by_status.get(RowStatus.UNCONFIRMED, ()))
    assert Counter(status for status, *_ in kept.values())["created"] == len(
        by_status.get(RowStatus.CREATED, ())
    )
