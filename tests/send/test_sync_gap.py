"""While answers keep coming, the ledger's fsyncs start at least ``Ledger.SYNC_GAP`` apart (one
fsync covers every answer committed before it); ``flush`` never waits for the gap."""

from __future__ import annotations

import asyncio
import time

import pytest
from test_ledger_writes import begin, created, on_disk


@pytest.fixture
def path(tmp_path):
    return tmp_path / "ledger.sqlite"


def timed_syncs(ledger) -> list[float]:
    """The start of every fsync of ``ledger`` from now on (time.monotonic)."""
    starts: list[float] = []
    real_sync = ledger.backend.sync

    def sync() -> None:
        starts.append(time.monotonic())
        real_sync()

    ledger.backend.sync = sync
    return starts


def test_fsyncs_are_spaced_while_answers_keep_coming(path):
    rows = range(2, 42)
    ledger, claimed = begin(path, rows)
    ledger.SYNC_GAP = 0.03
    starts = timed_syncs(ledger)
    done: list[tuple[int, float]] = []

    async def go() -> list[float]:
        for row in rows:
            await ledger.mark_sending_async(claimed[row].identity)
        for row in rows:  # an answer every 2 ms for about 80 ms
            ledger.record_then(
                claimed[row].identity, created(row), lambda row=row: done.append((row, starts[-1]))
            )
            await asyncio.sleep(0.002)
        await ledger.flush()
        return list(starts)  # closing the ledger syncs once more

    with ledger:
        starts = asyncio.run(go())
    # Back to back it was an fsync every few answers (about 20 here); the gaps are measured
    # on the fsync's thread, which may start a few milliseconds late.
    gaps = sorted(later - earlier for earlier, later in zip(starts, starts[1:], strict=False))
    assert 2 <= len(starts) <= 6, starts
    assert gaps[len(gaps) // 2] >= 0.02, gaps
    assert sorted(row for row, _ in done) == list(rows)
    assert on_disk(path) == {row: ("created", f"p-{row}", 1, 1) for row in rows}


def test_flush_does_not_wait_for_the_gap(path):
    ledger, claimed = begin(path, [2, 3])
    ledger.SYNC_GAP = 30.0
    starts = timed_syncs(ledger)
    done: list[int] = []

    async def go() -> float:
        for row in (2, 3):
            await ledger.mark_sending_async(claimed[row].identity)
        ledger.record_then(claimed[2].identity, created(2), lambda: done.append(2))
        while not done:  # the first fsync goes at once
            await asyncio.sleep(0.001)
        ledger.record_then(claimed[3].identity, created(3), lambda: done.append(3))
        await asyncio.sleep(0.05)
        assert done == [2]  # the second waits for the gap...
        started = time.monotonic()
        await ledger.flush()  # ...unless someone waits for the disk
        assert len(starts) == 2
        return time.monotonic() - started

    with ledger:
        waited = asyncio.run(go())
    assert waited < 5.0
    assert done == [2, 3]
