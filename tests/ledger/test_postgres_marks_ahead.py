"""A PostgreSQL ledger marks rows ``sending`` ahead of their requests (as many as are in
flight): a worker that takes such a row sends at once. Rows marked ahead and never sent are
given back when the import ends, kept in the spool when the ledger is lost then, and held
``unconfirmed`` only after a crash (never sent twice either way)."""

from __future__ import annotations

import asyncio
import sys
import time

import pytest
from job.test_run_crash import kill_9_then_resume

from importer.errors import LedgerError
from importer.ledger import ImportContext, Ledger, ledger_location
from importer.ledger.backends import PostgresBackend
from importer.ledger.markahead import MarksAhead
from importer.ledger.sendlog import SendingLog
from importer.records import RowResult, RowStatus
from importer.sandbox import Faults, Sandbox
from ledger.test_postgres_ledger import _admin, _candidates


def stored(url: str) -> dict[int, tuple[str, int]]:
    """(status, sends) by file row, as another connection sees them."""
    with _admin(url) as conn:
        found = conn.execute("SELECT file_row, status, sends FROM purchases")
        return {row: (status, sends) for row, status, sends in found.fetchall()}


def begun(url: str, rows: int):
    ledger = Ledger.open(ledger_location(url))
    ledger.begin_import(target="t", file_name="march.csv", file_sha256="f" * 64, source="march")
    return ledger, ledger.claim(_candidates(rows))[0]


def created(candidate) -> RowResult:
    return RowResult(candidate.row, RowStatus.CREATED, f"p-{candidate.row}", 200, attempts=1)


@pytest.fixture
def slow_marks(monkeypatch):
    """Every commit of marks takes 0.2 s (a busy server)."""
    real_write = PostgresBackend.write_batch

    def write_batch(self, groups, *, durable=True):
        if not durable:
            time.sleep(0.2)
        real_write(self, groups, durable=durable)

    monkeypatch.setattr(PostgresBackend, "write_batch", write_batch)


def test_the_next_row_is_marked_while_a_request_is_out(pg_ledger_url, slow_marks):
    ledger, claimed = begun(pg_ledger_url, 4)
    first, second = claimed[0], claimed[1]

    async def go() -> tuple[float, dict, float]:
        started = time.monotonic()
        await ledger.mark_sending_async(first.identity)  # nothing ahead yet: it waits
        first_wait = time.monotonic() - started
        await asyncio.sleep(0.4)  # its request is out: the next row's mark is committed
        before = stored(pg_ledger_url)
        started = time.monotonic()
        await ledger.mark_sending_async(second.identity)
        return first_wait, before, time.monotonic() - started

    with ledger:
        first_wait, before, second_wait = asyncio.run(go())
    assert first_wait >= 0.2
    assert second_wait < 0.1, second_wait
    rows = [c.row for c in claimed]
    assert before == {rows[0]: ("sending", 1), rows[1]: ("sending", 1)} | {
        row: ("claimed", 0) for row in rows[2:]
    }


def test_marks_ahead_keep_what_a_kill_leaves_sending_within_twice_the_most_out():
    loop = asyncio.new_event_loop()  # the commits of marks made ahead are its futures
    try:
        check_the_window_of_marks_ahead(loop.create_future)
    finally:
        loop.close()


def check_the_window_of_marks_ahead(commit) -> None:
    ahead = MarksAhead()
    ahead.claimed("abcdef")
    claimed = {identity: i for i, identity in enumerate("abcdef")}
    ahead.marking("a")
    ahead.sent("a")
    assert ahead.to_mark(claimed, 0) == ["b"]  # one out: two in all
    ahead.marked_ahead("b", commit())
    assert ahead.take("b") is not None
    ahead.sent("b")
    assert ahead.to_mark(claimed, 0) == ["c", "d"]  # two out: four
    for identity in "cd":
        ahead.marked_ahead(identity, commit())
    ahead.answered("a", final=True)  # its answer not committed yet: it still counts
    assert ahead.to_mark(claimed, 1) == []
    assert ahead.to_mark(claimed, 0) == ["e"]  # committed: one more
    del claimed["f"]  # released meanwhile: never marked
    ahead.marked_ahead("e", commit())
    ahead.answered("b", final=True)
    assert ahead.to_mark(claimed, 0) == []


def test_a_commit_of_answers_marks_the_next_rows_ahead(pg_ledger_url):
    ledger, claimed = begun(pg_ledger_url, 6)
    a, b = claimed[0], claimed[1]
    rows = [c.row for c in claimed]

    async def go() -> dict:
        await ledger.mark_sending_async(a.identity)
        await ledger.mark_sending_async(b.identity)  # two out, two marked ahead
        ledger.record_then(a.identity, created(a))
        await ledger.flush()  # a's answer committed: room for one more mark
        await ledger.flush()  # and that mark committed
        return stored(pg_ledger_url)

    with ledger:
        during = asyncio.run(go())
    assert during == {
        rows[0]: ("created", 1),
        **{row: ("sending", 1) for row in rows[1:5]},
        rows[5]: ("claimed", 0),
    }
    assert stored(pg_ledger_url) == {rows[0]: ("created", 1), rows[1]: ("sending", 1)}


def test_answers_a_quarter_of_the_requests_in_flight_are_committed_at_once(pg_ledger_url):
    ledger, claimed = begun(pg_ledger_url, 20)
    ledger.SYNC_GAP = 30.0

    def committed() -> list[int]:
        return sorted(
            row for row, (status, _) in stored(pg_ledger_url).items() if status == "created"
        )

    async def go() -> list[list[int]]:
        seen = []
        for candidate in claimed[:9]:
            await ledger.mark_sending_async(candidate.identity)
        # The first commit goes at once (no gap before it); then one answer waiting with
        # seven requests out waits for the gap; two with six out go at once.
        for candidate in claimed[:3]:
            ledger.record_then(candidate.identity, created(candidate))
            await asyncio.sleep(0.3)
            seen.append(committed())
        return seen

    with ledger:
        seen = asyncio.run(go())
    rows = [c.row for c in claimed]
    assert seen == [rows[:1], rows[:1], rows[:3]]


def test_rows_marked_ahead_and_never_sent_are_given_back(pg_ledger_url):
    ledger, claimed = begun(pg_ledger_url, 4)
    first, second, third = claimed[0], claimed[1], claimed[2]
    reported: list[int] = []
    stopped = RowResult(third.row, RowStatus.NOT_SENT, error="the run stopped")

    async def go() -> dict:
        await ledger.mark_sending_async(first.identity)
        await ledger.mark_sending_async(second.identity)  # marked ahead: two out, two ahead
        ledger.record_then(first.identity, created(first), lambda: reported.append(first.row))
        ledger.record_then(third.identity, stopped, lambda: reported.append(third.row))
        await ledger.flush()
        return stored(pg_ledger_url)

    with ledger:
        during = asyncio.run(go())
    assert sorted(reported) == [first.row, third.row]
    assert during == {
        first.row: ("created", 1),
        second.row: ("sending", 1),
        third.row: ("sending", 1),
        claimed[3].row: ("sending", 1),
    }
    # The end of the import: the row out stays sending (its answer never came); the rows
    # marked ahead and never sent are released as if never claimed.
    assert stored(pg_ledger_url) == {first.row: ("created", 1), second.row: ("sending", 1)}


@pytest.mark.parametrize("machine", ["this", "another"])
def test_a_crash_gives_back_rows_marked_ahead_on_this_machine_only(pg_ledger_url, machine):
    ledger, claimed = begun(pg_ledger_url, 6)

    async def go() -> None:
        for candidate in claimed[:2]:
            await ledger.mark_sending_async(candidate.identity)
        await ledger.flush()

    asyncio.run(go())
    sent_log = ledger._sent.path
    assert sent_log.exists()
    ledger.backend.close()  # died: no finish, its lock gone with its connection
    ledger._syncer.shutdown()
    ledger._marker.shutdown()
    if machine == "another":
        sent_log.unlink()  # another machine's import: its sent log cannot be read here

    rows = [c.row for c in claimed]
    with Ledger.open(ledger_location(pg_ledger_url)) as before_sweep:  # validate, a dry run
        context = ImportContext(-1, "b" * 64, "b")
        to_send, held = before_sweep.preview("t", _candidates(6), context)
    would_hold = rows[:2] if machine == "this" else rows[:4]
    assert sorted(held) == would_hold
    assert {r.status for r in held.values()} == {RowStatus.UNCONFIRMED}
    assert sorted(c.row for c in to_send) == [row for row in rows if row not in would_hold]

    with Ledger.open(ledger_location(pg_ledger_url)) as after:
        after.begin_import(target="t", file_name="b.csv", file_sha256="b" * 64, source="b")
        found = stored(pg_ledger_url)
    if machine == "this":
        # The two requests out are unconfirmed; the rows marked ahead, never sent, released.
        assert found == {row: ("unconfirmed", 1) for row in rows[:2]}
    else:
        # Two requests out, two rows marked ahead: four unconfirmed (twice the requests out).
        assert found == {row: ("unconfirmed", 1) for row in rows[:4]}
    assert not sent_log.exists()


def test_a_ledger_lost_at_the_end_leaves_them_to_the_next_sweep(pg_ledger_url, monkeypatch):
    ledger, claimed = begun(pg_ledger_url, 4)
    first = claimed[0]
    rows = [c.row for c in claimed]

    async def go() -> None:
        await ledger.mark_sending_async(first.identity)
        ledger.record_then(first.identity, created(first))
        await ledger.flush()

    asyncio.run(go())
    sent_log = ledger._sent.path
    real_transaction = ledger.backend.transaction

    def lost(*args, **kwargs):
        raise LedgerError("server closed the connection unexpectedly")

    ledger.backend.errors = (*ledger.errors, LedgerError)
    ledger.errors = ledger.backend.errors
    monkeypatch.setattr(ledger.backend, "transaction", lost)
    with pytest.raises(LedgerError):
        ledger.finish_import()
    monkeypatch.setattr(ledger.backend, "transaction", real_transaction)
    ledger.close()
    # The second row was marked ahead, and the third once the first's answer was committed;
    # neither was sent: the sent log, kept, names the first only.
    assert stored(pg_ledger_url) == {
        rows[0]: ("created", 1),
        rows[1]: ("sending", 1),
        rows[2]: ("sending", 1),
        rows[3]: ("claimed", 0),
    }
    assert ledger.spool.pending() == []
    with _admin(pg_ledger_url) as conn:
        ids = dict(conn.execute("SELECT file_row, id FROM purchases").fetchall())
    assert SendingLog(sent_log).ids() == {ids[rows[0]]}

    with Ledger.open(ledger_location(pg_ledger_url)) as after:
        after.begin_import(target="t", file_name="b.csv", file_sha256="b" * 64, source="b")
        to_send, held = after.claim(_candidates(4))
    assert (held[first.row].status, held[first.row].purchase_id) == (RowStatus.SKIPPED, "p-2")
    assert sorted(c.row for c in to_send) == rows[1:]
    assert not sent_log.exists()


@pytest.mark.skipif(sys.platform == "win32", reason="kills a child the POSIX way (SIGKILL)")
def test_kill_9_mid_run_with_a_shared_ledger_then_resume(tmp_path, pg_ledger_url):
    with Sandbox(process=True, db=tmp_path / "sandbox.sqlite", faults=Faults(latency_ms=50)) as sb:
        kill_9_then_resume(tmp_path, sb, "--ledger", pg_ledger_url)
