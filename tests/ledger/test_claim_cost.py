"""A claim costs the same whatever this import claimed before it: reading the ids of the new
rows walks those rows only, not every row the import holds (which made a 1M-row import's claims
quadratic)."""

from __future__ import annotations

from decimal import Decimal

from importer.ledger import Ledger, LedgerLocation, candidate_for
from importer.records import PurchaseRecord

LEAD = "47378190-96da-4dac-b2ff-5d2a386ecbe0"


def candidates(rows):
    return [
        candidate_for(
            PurchaseRecord(row=r, lead_id=LEAD, purchase_amount=Decimal(f"{r}.00")),
            action="create_purchase",
            lead_id=LEAD,
        )
        for r in rows
    ]


def steps_of_claim(ledger: Ledger, rows) -> int:
    """SQLite virtual machine steps (in thousands) of claiming ``rows``."""
    steps = [0]

    def count() -> int:
        steps[0] += 1
        return 0

    ledger.backend.conn.set_progress_handler(count, 1000)
    try:
        claimed, held = ledger.claim(candidates(rows))
    finally:
        ledger.backend.conn.set_progress_handler(None, 0)
    assert held == {} and len(claimed) == len(rows)
    return steps[0]


def test_a_claim_does_not_walk_the_rows_claimed_before(tmp_path):
    with Ledger.open(LedgerLocation(path=tmp_path / "ledger.sqlite")) as ledger:
        ledger.begin_import(target="t", file_name="a.csv", file_sha256="f", source="a")
        ledger.claim(candidates(range(2, 102)))
        early = steps_of_claim(ledger, range(102, 202))
        ledger.claim(candidates(range(202, 20202)))
        late = steps_of_claim(ledger, range(20202, 20302))
        assert late <= early * 1.5 + 2, (early, late)  # it was ten times as many
        # The sending path finds the new rows by id (the ids in the database).
        ids = ledger._ids_of([c.identity for c in candidates(range(20202, 20302))])
        assert len(ids) == 100
        assert {identity: ledger._ids[identity] for identity in ids} == ids
