"""send_all when the journal cannot be written, by injected write failures.

The failure is injected into the journal's commit, so the counts are exact: no request goes out
without its ``sending`` mark on disk, requests in flight finish, and a row whose answer could not
be journalled is reported ``unconfirmed``.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections import Counter
from decimal import Decimal

from importer.records import PurchaseRecord, RowResult, RowStatus
from importer.send.client import Outcome, OutcomeKind
from importer.send.journal import _MARK, _RECORD, Journal
from importer.send.sender import UNCONFIRMED_HINT, send_all

LEAD = "47378190-96da-4dac-b2ff-5d2a386ecbe0"
FULL = "database or disk is full"


class Client:
    """Creates every purchase (id p-<row>); the first ``slow`` rows answer only when released."""

    def __init__(self) -> None:
        self.calls: list[int] = []

    async def create_purchase(self, body: dict) -> Outcome:
        row = int(body["product_name"][1:])
        self.calls.append(row)
        await asyncio.sleep(0)
        return Outcome(OutcomeKind.CREATED, 200, purchase_id=f"p-{row}")


def records(rows) -> list[PurchaseRecord]:
    return [
        PurchaseRecord(row=r, lead_id=LEAD, purchase_amount=Decimal("1.00"), product_name=f"r{r}")
        for r in rows
    ]


def fail_from(journal: Journal, *, sql: str, row: int) -> None:
    """From the first commit holding ``sql`` for ``row`` on, every commit fails: disk full."""
    commit = journal._commit
    full = [False]

    def failing(statements):
        if any(s is sql and args[1] == row for s, args in statements):
            full[0] = True
        if full[0]:
            raise sqlite3.OperationalError(FULL)
        commit(statements)

    journal._commit = failing


def run(journal: Journal, client: Client, rows, concurrency: int):
    results: dict[int, RowResult] = {}

    def collect(result: RowResult) -> None:
        assert result.row not in results
        results[result.row] = result

    report = asyncio.run(
        send_all(
            records(rows), client=client, journal=journal, concurrency=concurrency,
            on_result=collect,
        )
    )  # fmt: skip
    return report, results


def test_answer_that_cannot_be_journalled_stops_the_run_and_is_unconfirmed(tmp_path):
    client = Client()
    with Journal.open(tmp_path / "j.sqlite", file_hash="f") as journal:
        fail_from(journal, sql=_RECORD, row=6)
        report, results = run(journal, client, range(2, 22), concurrency=1)
        kept = {e.row: e.status for e in journal.entries()}
    where = tmp_path / "j.sqlite"
    assert report.write_error == f"the journal {where}: {FULL}"
    assert report.unjournalled == 1
    assert client.calls == [2, 3, 4, 5, 6]  # row 7's mark failed: it never went out
    assert {r: results[r].status for r in range(2, 6)} == dict.fromkeys(
        range(2, 6), RowStatus.CREATED
    )
    assert results[6] == RowResult(
        6,
        RowStatus.UNCONFIRMED,
        http_status=200,
        error=f"created as purchase p-6, but the answer could not be written to the journal "
        f"({FULL}); {UNCONFIRMED_HINT}",
        attempts=1,
    )
    not_sent = f"not sent: could not write the journal {where}: {FULL}"
    assert {r: (results[r].status, results[r].error) for r in range(7, 22)} == dict.fromkeys(
        range(7, 22), (RowStatus.NOT_SENT, not_sent)
    )
    assert report.counts == Counter(
        {RowStatus.CREATED: 4, RowStatus.UNCONFIRMED: 1, RowStatus.NOT_SENT: 15}
    )
    # On disk: the created rows, and row 6 still 'sending' (a later run calls it unconfirmed).
    assert kept == {2: "created", 3: "created", 4: "created", 5: "created", 6: "sending"}


def test_mark_that_cannot_be_written_sends_nothing_more_and_in_flight_rows_finish(tmp_path):
    client = Client()
    with Journal.open(tmp_path / "j.sqlite", file_hash="f") as journal:
        fail_from(journal, sql=_MARK, row=30)
        report, results = run(journal, client, range(2, 62), concurrency=4)
        kept = Counter(e.status for e in journal.entries())
    assert 30 not in client.calls and len(client.calls) == len(set(client.calls))
    created = {r for r, res in results.items() if res.status is RowStatus.CREATED}
    unconfirmed = {r for r, res in results.items() if res.status is RowStatus.UNCONFIRMED}
    not_sent = {r for r, res in results.items() if res.status is RowStatus.NOT_SENT}
    # Every request that went out is either journalled as created or reported unconfirmed.
    assert created | unconfirmed == set(client.calls)
    assert created.isdisjoint(unconfirmed)
    assert not_sent == set(range(2, 62)) - set(client.calls)
    assert report.unjournalled == len(unconfirmed)
    assert kept == Counter({"created": len(created), "sending": len(unconfirmed)})
    assert report.write_error.endswith(FULL)
