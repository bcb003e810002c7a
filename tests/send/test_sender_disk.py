"""send_all when the ledger cannot be written, by injected write failures.

The failure is injected into the ledger's commits or its sending log: no request goes out
without its ``sending`` mark, requests in flight finish, sending stops at the first commit that
fails, and an answer that could not be written to the ledger waits in the local spool.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections import Counter
from decimal import Decimal

from runhelpers import CreatingClient

from importer.ledger import Ledger, LedgerLocation, candidate_for
from importer.ledger.ledger import _RECORD
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

    def failing(statements, durable=True, **how):
        if any(s is sql and args[-2] == row_id for s, args in statements):
            full[0] = True
        if full[0]:
            raise sqlite3.OperationalError(FULL)
        return commit(statements, durable, **how)

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
    # Answers take 2 ms: about ten go into each commit (one per Ledger.SYNC_GAP).
    client = CreatingClient(latency=0.002)
    with open_ledger(where) as ledger:
        claimed = claim(ledger, records(range(2, 82)))
        fail_from(ledger, sql=_RECORD, identity=claimed[6].identity)
        report, results = run(ledger, claimed, client, range(2, 82), concurrency=1)
    assert report.write_error == f"the ledger {where}: {FULL}"
    sent = client.calls
    # Sending stopped at the first commit that failed (the one holding row 6's answer).
    assert 6 in sent and len(sent) < 40 and sent == list(range(2, 2 + len(sent)))
    # The answers of the commit that failed (row 6's and those with it) could not be written
    # to the ledger: they are kept in the local spool (fsynced) and count with their real
    # result; those committed before are in the ledger.
    assert report.unjournalled == 0
    spool_note = (
        f"the ledger could not be written ({FULL}): this answer is kept on this machine and "
        "written into the ledger by the next run"
    )
    spooled = [r for r in sent if results[r].warnings]
    assert 6 in spooled and spooled == sent[sent.index(spooled[0]) :]
    assert {r: results[r] for r in sent} == {
        r: RowResult(
            r, RowStatus.CREATED, f"p-{r}", 200, attempts=1,
            warnings=[spool_note] if r in spooled else [],
        )
        for r in sent
    }  # fmt: skip
    not_sent = f"not sent: could not write the ledger {where}: {FULL}"
    unsent = range(2 + len(sent), 82)
    assert {r: (results[r].status, results[r].error) for r in unsent} == dict.fromkeys(
        unsent, (RowStatus.NOT_SENT, not_sent)
    )
    assert report.counts == Counter({RowStatus.CREATED: len(sent), RowStatus.NOT_SENT: len(unsent)})
    # On disk: the answers in the spool are 'sending' (from the sending log); the rest of the
    # file was released.
    assert kept(where) == {r: "sending" if r in spooled else "created" for r in sent}
    # The next import writes the spooled answers in, holds what was sent, sends the rest only.
    with open_ledger(where) as ledger:
        to_send, held = ledger.claim(
            [
                candidate_for(r, action="create_purchase", lead_id=LEAD)
                for r in records(range(2, 82))
            ]
        )
    assert [c.row for c in to_send] == list(unsent)
    assert {r: (held[r].status, held[r].purchase_id) for r in sent} == {
        r: (RowStatus.CREATED, f"p-{r}") for r in sent
    }
    assert kept(where) == dict.fromkeys(sent, "created")


def test_mark_that_cannot_be_written_sends_nothing_more_and_in_flight_rows_finish(tmp_path):
    where = tmp_path / "ledger.sqlite"
    client = CreatingClient()
    with open_ledger(where) as ledger:
        claimed = claim(ledger, records(range(2, 62)))
        full_from = ledger._ids[claimed[30].identity]
        append = ledger._log.append

        def log_until_full(row_id: int) -> None:
            if row_id >= full_from:
                raise OSError(28, "No space left on device")
            append(row_id)

        ledger._log.append = log_until_full
        report, results = run(ledger, claimed, client, range(2, 62), concurrency=4)
    sent = set(client.calls)
    # Row 30's mark failed: nothing from it on went out (a row a worker held back for the
    # slow start may not have gone out either).
    assert max(sent) == 29 and len(sent) >= 20 and len(client.calls) == len(sent)
    # Requests in flight finished and were recorded; nothing else went out.
    assert {r: res.status for r, res in results.items()} == {
        r: RowStatus.CREATED if r in sent else RowStatus.NOT_SENT for r in range(2, 62)
    }
    assert report.unjournalled == 0
    assert report.write_error == f"the ledger {where}: No space left on device"
    assert kept(where) == {r: "created" if r in sent else "not_sent" for r in range(2, 62)}
