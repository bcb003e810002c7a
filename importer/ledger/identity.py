"""The identity of a purchase: what makes two rows, in any files, the same purchase.

Identity = the payload as sent (resolved lead UUID, amount, date, product, description,
trigger ids, action) + the fields of the identity never sent (the reference, the currency: see
``importer.fields``) + an occurrence number. The occurrence is
0 for a purchase's first row in a file and counts the exact repeats after it, so rows repeated
on purpose (``allow_duplicates``) stay distinct purchases while an overlapping export, a copy or
a re-run of the same rows finds the purchases already created.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from importer.fields import PURCHASE_FIELDS, unsent_identity
from importer.records import PurchaseRecord, dumps_payload, format_decimal

__all__ = ["Candidate", "candidate_for", "purchase_identity"]

_SEPARATOR = b"\x1f"
#: The fields of the identity the body does not carry (:func:`importer.fields.unsent_identity`).
#: The reference and the currency are in every identity recorded so far, empty or not; one
#: added later counts only when it has a value, so no identity recorded before it changes.
UNSENT_PARTS = unsent_identity(PURCHASE_FIELDS)
_LATER_PARTS = tuple(name for name in UNSENT_PARTS if name not in ("reference", "currency"))


def purchase_identity(
    content: bytes,
    reference: str | None,
    currency: str | None,
    occurrence: int = 0,
    *,
    more: tuple[tuple[str, object], ...] = (),
) -> str:
    """The identity (SHA-256, hex) of a purchase sent as ``content``; ``more``: (field, value)
    of the other fields of the identity never sent that have a value."""
    digest = hashlib.sha256(content)
    for part in (reference or "", currency or "", str(occurrence)):
        digest.update(_SEPARATOR + part.encode())
    for name, value in more:
        digest.update(_SEPARATOR + f"{name}={value}".encode())
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
        identity=purchase_identity(
            content, record.reference, record.currency, occurrence, more=_more_parts(record)
        ),
        payload_hash=hashlib.sha256(content).hexdigest(),
        content=content,
        lead_id=lead_id,
        reference=record.reference,
        currency=record.currency,
        amount=format_decimal(amount) if amount is not None else None,
        date=body.get("date"),
    )


def _more_parts(record: PurchaseRecord) -> tuple[tuple[str, object], ...]:
    """(field, value) of the later fields of the identity never sent, when they have one."""
    if not _LATER_PARTS:
        return ()
    values = ((name, getattr(record, name, None)) for name in _LATER_PARTS)
    return tuple((name, value) for name, value in values if value not in (None, "", ()))
