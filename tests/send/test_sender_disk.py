"""send_all when the ledger cannot be written, by injected write failures.

The failure is injected into the ledger's commit, so the counts are exact: no request goes out
without its ``sending`` mark committed, requests in flight finish, and a row whose answer could
not be written to the ledger is reported ``unconfirmed``.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections import Counter
from decimal import Decimal

from runhelpers import CreatingClient

from importer.ledger import Ledger, LedgerLocation, candidate_for
from importer.ledger.ledger import _MARK, _RECORD
from importer.records import PurchaseRecord, RowResult, RowStatus
from importer.send.sender import send_all

LEAD = "47378190-96da-4dac-b2ff-5d2a386ecbe0"
FULL = "database or disk is full"
TARGET = "https://api.example"


def records(rows) -> list[PurchaseRecord]:
    return [
        PurchaseRecord(row=r, lead_id=LEAD, purchase_amount=Decimal("1.00"), product_name=f"r{r}")
        for r in rows
    ]


def open_ledger(path) -> Ledger:
    ledger = Ledger.open(LedgerLocation(path=path))
    ledger.begin_import(target=TARGET, file_name="march.csv", file_sha256="f", source="march")
    return ledger


def fail_from(ledger: Ledger, *, sql: str, identity: str) -> None:
    """From the first commit holding ``sql`` for ``identity`` on, every commit fails: disk full."""
    commit = ledger._commit
    full = [False]
    row_id = ledger._ids[identity]  # marks and answers name the claimed row by its id

    def failing(statements, durable=True):
        if any(s is sql and args[-2] == row_id for s, args in statements):
            full[0] = True
        if full[0]:
            raise sqlite3.OperationalError(FULL)
        commit(statements, durable)

    ledger._commit = failing


def claim(ledger: Ledger, recs):
    to_send, held = ledger.claim(
        [candidate_for(r, action="create_purchase", lead_id=LEAD) for r in recs]
    )
    assert held == {}
    return {c.row: c for c in to_send}


def run(ledger: Ledger, claimed, client: CreatingClient, rows, concurrency: int):
    results: dict[int, RowResult] = {}

    def collect(result: RowResult) -> None:
        assert result.row not in results
        results[result.row] = result

    report = asyncio.run(
        send_all(
            records(rows), client=client, ledger=ledger, candidates=claimed,
            concurrency=concurrency, on_result=collect,
        )
    )  # fmt: skip
    return report, results


def kept(path) -> dict[int, str]:
    """What the ledger holds, by row."""
    with sqlite3.connect(path) as db:
        return dict(db.execute("SELECT file_row, status FROM purchases ORDER BY file_row"))


def test_answer_that_cannot_be_written_stops_the_run_and_waits_in_the_spool(tmp_path):
    where = tmp_path / "ledger.sqlite"
    client = CreatingClient()
    with open_ledger(where) as ledger:
        claimed = claim(ledger, records(range(2, 22)))
        fail_from(ledger, sql=_RECORD, identity=claimed[6].identity)
        report, results = run(ledger, claimed, client, range(2, 22), concurrency=1)
    assert report.write_error == f"the ledger {where}: {FULL}"
    assert client.calls == [2, 3, 4, 5, 6]  # row 7's mark failed: it never went out
    # Row 6's answer could not be written to the ledger: it is kept in the local spool (fsynced)
    # and counts with its real result.
    assert report.unjournalled == 0
    assert {r: results[r] for r in range(2, 6)} == {
        r: RowResult(r, RowStatus.CREATED, f"p-{r}", 200, attempts=1) for r in range(2, 6)
    }
    assert results[6] == RowResult(
        6,
        RowStatus.CREATED,
        "p-6",
        200,
        attempts=1,
        warnings=[
            f"the ledger could not be written ({FULL}): this answer is kept on this machine "
            "and written into the ledger by the next run"
        ],
    )
    not_sent = f"not sent: could not write the ledger {where}: {FULL}"
    assert {r: (results[r].status, results[r].error) for r in range(7, 22)} == dict.fromkeys(
        range(7, 22), (RowStatus.NOT_SENT, not_sent)
    )
    assert report.counts == Counter({RowStatus.CREATED: 5, RowStatus.NOT_SENT: 15})
    # On disk: rows 2-5 created, row 6 still 'sending'; the rows never sent were released.
    assert kept(where) == {2: "created", 3: "created", 4: "created", 5: "created", 6: "sending"}
    # The next import writes the spooled answer in, holds rows 2-6 and sends rows 7-21 only.
    with open_ledger(where) as ledger:
        to_send, held = ledger.claim(
            [
                candidate_for(r, action="create_purchase", lead_id=LEAD)
                for r in records(range(2, 22))
            ]
        )
    assert [c.row for c in to_send] == list(range(7, 22))
    assert {r: (held[r].status, held[r].purchase_id) for r in range(2, 7)} == {
        r: (RowStatus.CREATED, f"p-{r}") for r in range(2, 7)
    }
    assert kept(where)[6] == "created"


def test_mark_that_cannot_be_written_sends_nothing_more_and_in_flight_rows_finish(tmp_path):
    where = tmp_path / "ledger.sqlite"
    client = CreatingClient()
    with open_ledger(where) as ledger:
        claimed = claim(ledger, records(range(2, 62)))
        fail_from(ledger, sql=_MARK, identity=claimed[30].identity)
        report, results = run(ledger, claimed, client, range(2, 62), concurrency=4)
    assert 30 not in client.calls and len(client.calls) == len(set(client.calls))
    created = {r for r, res in results.items() if res.status is RowStatus.CREATED}
    unconfirmed = {r for r, res in results.items() if res.status is RowStatus.UNCONFIRMED}
    not_sent = {r for r, res in results.items() if res.status is RowStatus.NOT_SENT}
    # Every request that went out is either recorded as created or reported unconfirmed.
    assert created | unconfirmed == set(client.calls)
    assert created.isdisjoint(unconfirmed)
    assert not_sent == set(range(2, 62)) - set(client.calls)
    assert report.unjournalled == len(unconfirmed)
    with Ledger.open(LedgerLocation(path=where)):
        pass  # answers kept in the spool are written in
    on_disk = kept(where)
    assert Counter(on_disk.values()) == Counter(
        {"created": len(created), "sending": len(unconfirmed)}
    )
    assert {r for r, status in on_disk.items() if status == "created"} == created
    assert report.write_error == f"the ledger {where}: {FULL}"
