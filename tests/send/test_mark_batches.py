"""The sending marks of one commit go to the database as one statement (one step for SQLite,
one statement for a server), by id. On SQLite a row's first request is noted in the sending
log instead (no statement at all); a row sent again after a retry is marked by commit."""

from __future__ import annotations

import asyncio
import re

from test_ledger_writes import begin, on_disk

from importer.records import RowResult, RowStatus


def test_first_requests_go_to_the_sending_log_without_a_statement(tmp_path):
    path = tmp_path / "ledger.sqlite"
    rows = range(2, 7)
    ledger, claimed = begin(path, rows)
    statements: list[str] = []
    ledger.backend.conn.set_trace_callback(statements.append)

    async def go() -> None:
        await asyncio.gather(*(ledger.mark_sending_async(claimed[r].identity) for r in rows))

    with ledger:
        asyncio.run(go())
        ledger.backend.conn.set_trace_callback(None)
        ids = dict(ledger.backend.fetch("SELECT file_row, id FROM purchases"))
        assert ledger._log is not None and ledger._log.ids() == {ids[r] for r in rows}
    assert statements == []
    # The import ended: what its log said is now in the ledger (never answered: in flight).
    assert on_disk(path) == {row: ("sending", None, 1, 0) for row in rows}


def test_the_marks_of_one_commit_are_one_statement(tmp_path):
    path = tmp_path / "ledger.sqlite"
    rows = range(2, 7)
    ledger, claimed = begin(path, rows)
    statements: list[str] = []

    async def go() -> None:
        for r in rows:
            await ledger.mark_sending_async(claimed[r].identity)
            busy = RowResult(r, RowStatus.RETRIED, http_status=503, error="busy", attempts=1)
            ledger.record_then(claimed[r].identity, busy)
        await ledger.flush()
        # The event loop's commits: on their own connection (see write_batch_now).
        ledger.backend._now.set_trace_callback(statements.append)
        await asyncio.gather(*(ledger.mark_sending_async(claimed[r].identity) for r in rows))

    with ledger:
        asyncio.run(go())
        ledger.backend._now.set_trace_callback(None)
    updates = [s for s in statements if s.startswith("UPDATE purchases")]
    assert len(updates) == 1, statements
    assert re.search(r"WHERE id IN \((\d+,){4}\d+\) AND \+import_id = \d+$", updates[0])
    assert on_disk(path) == {row: ("sending", None, 2, 1) for row in rows}
