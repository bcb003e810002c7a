"""SQLite: while answers keep coming, the ledger commits them at most once per
``Ledger.COMMIT_GAP``, at once when as many answers wait as requests are in flight (the bound of
what a kill -9 can leave unconfirmed) or when a row sent again waits for its mark."""

from __future__ import annotations

import asyncio

from test_ledger_writes import begin, created, on_disk

from importer.records import RowResult, RowStatus


def counted_commits(ledger) -> list[int]:
    """The number of statements of every commit of ``ledger`` from now on."""
    sizes: list[int] = []
    real_commit = ledger._commit

    def commit(statements, durable=True, **how):
        sizes.append(len(statements))
        return real_commit(statements, durable, **how)

    ledger._commit = commit
    return sizes


def test_answers_are_committed_once_a_gap_while_they_keep_coming(tmp_path):
    in_flight, answered = range(2, 82), range(2, 42)
    ledger, claimed = begin(tmp_path / "ledger.sqlite", in_flight)
    ledger.COMMIT_GAP = 0.03
    sizes = counted_commits(ledger)

    async def go() -> None:
        for row in in_flight:  # more in flight than answers come: the gap decides
            await ledger.mark_sending_async(claimed[row].identity)
        for row in answered:  # an answer every 2 ms for about 80 ms
            ledger.record_then(claimed[row].identity, created(row))
            await asyncio.sleep(0.002)
        await ledger.flush()

    with ledger:
        asyncio.run(go())
    # One loop turn after each answer it was a commit per answer or two (about 30 here).
    assert sum(sizes) == len(answered)
    assert 2 <= len(sizes) <= 6, sizes
    stored = on_disk(tmp_path / "ledger.sqlite")
    assert {row: stored[row] for row in answered} == {
        row: ("created", f"p-{row}", 1, 1) for row in answered
    }


def test_answers_as_many_as_requests_in_flight_are_committed_at_once(tmp_path):
    rows = range(2, 12)
    ledger, claimed = begin(tmp_path / "ledger.sqlite", rows)
    ledger.COMMIT_GAP = 30.0
    sizes = counted_commits(ledger)

    async def go() -> list[int]:
        for row in (2, 3, 4, 5, 6):
            await ledger.mark_sending_async(claimed[row].identity)
        ledger.record_then(claimed[2].identity, created(2))
        await asyncio.sleep(0.05)  # the first commit goes at once: no gap before it
        ledger.record_then(claimed[3].identity, created(3))
        await asyncio.sleep(0.05)
        waited = list(sizes)  # three in flight, one answer waiting: the gap holds it
        ledger.record_then(claimed[4].identity, created(4))
        await asyncio.sleep(0.05)  # two in flight, two waiting: now
        return waited

    with ledger:
        waited = asyncio.run(go())
        assert waited == [1]
        assert sizes == [1, 2]


def test_a_row_sent_again_is_marked_without_waiting_for_the_gap(tmp_path):
    ledger, claimed = begin(tmp_path / "ledger.sqlite", [2, 3])
    ledger.COMMIT_GAP = 30.0
    sizes = counted_commits(ledger)
    retried = RowResult(2, RowStatus.RETRIED, http_status=503, error="busy", attempts=1)

    async def go() -> None:
        for row in (2, 3):
            await ledger.mark_sending_async(claimed[row].identity)
        ledger.record_then(claimed[2].identity, retried)
        await asyncio.sleep(0.05)  # the first commit: at once
        await asyncio.wait_for(ledger.mark_sending_async(claimed[2].identity), 5.0)

    with ledger:
        asyncio.run(go())
        assert sizes == [1, 1]
