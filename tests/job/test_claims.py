"""Claims a batch at a time as the sender takes rows: every row ends up sent or with a result,
once."""

from __future__ import annotations

import threading
import time

from importer.job.claims import ClaimingRows
from importer.ledger import candidate_for
from importer.records import PurchaseRecord, RowResult, RowStatus

LEAD = "47378190-96da-4dac-b2ff-5d2a386ecbe0"


def records(n: int) -> list[PurchaseRecord]:
    return [PurchaseRecord(row=i + 2, lead_id=LEAD, product_name=f"p{i}") for i in range(n)]


class FakeLedger:
    """Claims every row except rows divisible by 7 (held as skipped)."""

    def __init__(self) -> None:
        self.batches: list[list[int]] = []

    def claim(self, batch: list[PurchaseRecord]):
        self.batches.append([r.row for r in batch])
        claimed = [
            candidate_for(r, action="create_purchase", lead_id=LEAD) for r in batch if r.row % 7
        ]
        held = {r.row: RowResult(r.row, RowStatus.SKIPPED) for r in batch if not r.row % 7}
        return claimed, held


def make(n: int, ledger: FakeLedger, held: dict) -> ClaimingRows:
    rows = ClaimingRows(records(n), ledger.claim, held.update, lambda exc, rest: None, (OSError,))
    rows.batch = 10
    return rows


def test_each_batch_is_claimed_when_the_sender_needs_it_and_held_rows_are_not_sent():
    ledger, held = FakeLedger(), {}
    rows = make(35, ledger, held)
    first = next(rows)
    assert first.row == 2
    assert ledger.batches == [list(range(2, 12))]
    sent = [first.row, *(r.row for r in rows)]
    assert sent == [r for r in range(2, 37) if r % 7]
    assert len(ledger.batches) == 4
    assert sorted(held) == [7, 14, 21, 28, 35]
    assert set(rows.candidates) == set(sent)


def test_a_halt_leaves_unclaimed_rows_not_sent_and_keeps_the_claimed_ones_for_the_sender():
    ledger, held = FakeLedger(), {}
    rows = make(45, ledger, held)
    taken = [next(rows).row for _ in range(3)]  # rows 2-4 of the claimed batch 2-11
    unsent = rows.halt("not sent: the run was interrupted")
    rest = [r.row for r in rows]  # the sender drains what was claimed before the halt
    assert taken == [2, 3, 4]
    assert rest == [5, 6, 8, 9, 10, 11]
    assert sorted(unsent) == list(range(12, 47))
    assert all(r.status is RowStatus.NOT_SENT for r in unsent.values())
    assert ledger.batches == [list(range(2, 12))]


class ThreadLedger(FakeLedger):
    """FakeLedger whose claims note the thread they ran on; ``gate`` holds a claim back."""

    def __init__(self) -> None:
        super().__init__()
        self.threads: list[str] = []
        self.gate = threading.Event()
        self.gate.set()

    def claim(self, batch: list[PurchaseRecord]):
        self.threads.append(threading.current_thread().name)
        self.gate.wait(10)
        return super().claim(batch)


def make_in_thread(n: int, ledger: FakeLedger, held: dict, failed: list) -> ClaimingRows:
    rows = ClaimingRows(
        records(n),
        ledger.claim,
        held.update,
        lambda exc, rest: failed.append((str(exc), [r.row for r in rest])),
        (OSError,),
        in_thread=True,
    )
    rows.batch = 10
    return rows


def test_in_thread_the_next_batch_is_claimed_ahead_on_its_own_thread():
    ledger, held, failed = ThreadLedger(), {}, []
    rows = make_in_thread(35, ledger, held, [])
    taken = [next(rows).row]  # row 2 of 2-11 (7 held): 8 left, the next batch is under way
    wait_for_claims(ledger, 2)
    assert taken == [2]
    assert ledger.batches == [list(range(2, 12)), list(range(12, 22))]  # a batch ahead
    sent = [*taken, *(r.row for r in rows)]
    assert sent == [r for r in range(2, 37) if r % 7]
    assert sorted(held) == [7, 14, 21, 28, 35]
    assert len(ledger.batches) == 4 and not failed
    assert set(ledger.threads) == {"ledger-claims_0"} != {threading.current_thread().name}
    assert rows._thread is None  # the end of the rows ended the thread


def test_in_thread_a_halt_waits_for_the_claim_under_way():
    ledger, held = ThreadLedger(), {}
    rows = make_in_thread(45, ledger, held, [])
    assert [next(rows).row for _ in range(5)] == [2, 3, 4, 5, 6]  # 12-21 claimed ahead
    wait_for_claims(ledger, 2)
    ledger.gate.clear()  # the next claim ahead (22-31) waits on its thread
    assert [next(rows).row for _ in range(8)] == [8, 9, 10, 11, 12, 13, 15, 16]
    wait_for_claims(ledger, 3)
    threading.Timer(0.05, ledger.gate.set).start()
    unsent = rows.halt("not sent: the run was interrupted")
    rest = [r.row for r in rows]  # claimed before the halt: the sender reports them
    assert rest == [17, 18, 19, 20, 22, 23, 24, 25, 26, 27, 29, 30, 31]
    assert sorted(unsent) == list(range(32, 47))
    assert sorted(held) == [7, 14, 21, 28]
    assert rows._thread is None


def wait_for_claims(ledger: ThreadLedger, count: int) -> None:
    """Until ``count`` claims have started on the claims' thread."""
    deadline = time.monotonic() + 5
    while len(ledger.threads) < count and time.monotonic() < deadline:
        time.sleep(0.001)
    assert len(ledger.threads) == count


def test_in_thread_a_failed_claim_leaves_its_batch_and_the_rest_to_on_failed():
    class Failing(FakeLedger):
        def claim(self, batch):
            if batch[0].row >= 12:
                raise OSError("the ledger is gone")
            return super().claim(batch)

    ledger, held, failed = Failing(), {}, []
    rows = make_in_thread(30, ledger, held, failed)
    first = next(rows).row
    ledger_gone = rows._claiming[0]  # the next batch's claim, already under way
    ledger_gone.exception(timeout=10)
    sent = [first, *(r.row for r in rows)]
    # Once the failure is known nothing more goes out, not even rows claimed ahead: the rest
    # of the first batch, that batch and the rest go to on_failed.
    assert sent == [2]
    assert failed == [("the ledger is gone", [3, 4, 5, 6, 8, 9, 10, 11, *range(12, 32)])]
    assert sorted(held) == [7]
