"""The identity of a purchase: what makes two rows, in any files, the same purchase.

Identity = the payload as sent (resolved lead UUID, amount, date, product, description,
trigger ids, action) + the reference + the currency + an occurrence number. The occurrence is
0 for a purchase's first row in a file and counts the exact repeats after it, so rows repeated
on purpose (``allow_duplicates``) stay distinct purchases while an overlapping export, a copy or
a re-run of the same rows finds the purchases already created.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from importer.records import PurchaseRecord, dumps_payload, format_decimal

__all__ = ["Candidate", "candidate_for", "purchase_identity"]

_SEPARATOR = b"\x1f"


def purchase_identity(
    content: bytes, reference: str | None, currency: str | None, occurrence: int = 0
) -> str:
    """The identity (SHA-256, hex) of a purchase sent as ``content``."""
    digest = hashlib.sha256(content)
    for part in (reference or "", currency or "", str(occurrence)):
        digest.update(_SEPARATOR + part.encode())
    return digest.hexdigest()


@dataclass(slots=True)
class Candidate:
    """A row about to be sent, with everything the ledger keeps of it."""

    row: int
    identity: str
    payload_hash: str
    content: bytes  # the JSON body, exactly as it is sent
    lead_id: str
    reference: str | None
    currency: str | None
    amount: str | None
    date: str | None


def candidate_for(
    record: PurchaseRecord, *, action: str, lead_id: str, occurrence: int = 0
) -> Candidate:
    """The candidate of ``record`` sent to ``lead_id`` (its own, or the resolved UUID)."""
    body = record.payload(action=action, lead_id=lead_id)
    content = dumps_payload(body)
    amount = record.purchase_amount
    return Candidate(
        row=record.row,
        identity=purchase_identity(content, record.reference, record.currency, occurrence),
        payload_hash=hashlib.sha256(content).hexdigest(),
        content=content,
        lead_id=lead_id,
        reference=record.reference,
        currency=record.currency,
        amount=format_decimal(amount) if amount is not None else None,
        date=body.get("date"),
    )
