"""Claims a batch at a time as the sender takes rows: every row ends up sent or with a result,
once."""

from __future__ import annotations

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
