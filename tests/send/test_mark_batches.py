"""The sending marks of one commit go to the database as one statement (one step for SQLite,
one statement for a server), by id."""

from __future__ import annotations

import asyncio
import re

from test_ledger_writes import begin, on_disk


def test_the_marks_of_one_commit_are_one_statement(tmp_path):
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
    updates = [s for s in statements if s.startswith("UPDATE purchases")]
    assert len(updates) == 1, statements
    assert re.search(r"WHERE id IN \((\d+,){4}\d+\) AND \+import_id = \d+$", updates[0])
    assert on_disk(path) == {row: ("sending", None, 1, 0) for row in rows}
