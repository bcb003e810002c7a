"""One purchase as the ledger holds it, with the import that holds it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from importer.records import RowResult, RowStatus

__all__ = ["CLAIMED", "ENTRY_COLUMNS", "SENDING", "UNSETTLED", "Entry"]

CLAIMED = "claimed"  # taken by a running import, not sent yet (released if it stops)
SENDING = "sending"  # its request may be on the wire
#: Statuses of a purchase that may yet be created: by its import while that one runs
#: (claimed, sending, waiting for a retry), or already, unknown to us (sending, unconfirmed).
UNSETTLED = frozenset({CLAIMED, SENDING, RowStatus.RETRIED, RowStatus.UNCONFIRMED})

#: The columns of an Entry, in order, for ``SELECT ... FROM purchases p JOIN imports i``.
ENTRY_COLUMNS = (
    "p.identity, p.import_id, p.file_row, p.payload_hash, p.status, p.purchase_id,"
    " p.http_status, p.error, p.attempts, p.sends, p.updated_at, p.payload, p.lead_id,"
    " p.reference, p.currency, p.amount, p.purchase_date, p.forgotten,"
    " i.file_name, i.file_sha256, i.source, i.started_at, i.user_name, i.machine,"
    " i.lock_token, i.state, p.target, p.id"
)
ENTRY_FROM = "purchases p JOIN imports i ON i.id = p.import_id"


def entries_from(using: str = "") -> str:
    """``ENTRY_FROM`` with an index clause on the purchases (see SqliteBackend.using)."""
    return f"purchases p{using} JOIN imports i ON i.id = p.import_id"


@dataclass(frozen=True, slots=True)
class Entry:
    """A purchase of the ledger: what was sent, what came back, and which import sent it."""

    identity: str
    import_id: int
    file_row: int
    payload_hash: str
    status: str  # "claimed", "sending" or a RowStatus value
    purchase_id: str | None
    http_status: int | None
    error: str | None
    attempts: int
    sends: int
    updated_at: float
    payload: str
    lead_id: str | None
    reference: str | None
    currency: str | None
    amount: str | None
    purchase_date: str | None
    forgotten: str | None
    file_name: str
    file_sha256: str
    source: str
    started_at: str
    user_name: str
    machine: str
    lock_token: str
    import_state: str
    target: str
    row_id: int  # the ledger's own id of the row (see importer.ledger.sendlog)

    def result(self, row: int | None = None) -> RowResult:
        """The entry as the RowResult of ``row`` (its own row by default)."""
        return RowResult(
            row=self.file_row if row is None else row,
            status=RowStatus(self.status),
            purchase_id=self.purchase_id,
            http_status=self.http_status,
            error=self.error,
            attempts=self.attempts,
        )

    def where(self) -> str:
        """Where it came from, for messages: ``march.csv row 12``."""
        return f"{self.file_name} row {self.file_row}"

    def day(self) -> str:
        """The UTC day of its last change, 2026-12-01."""
        return datetime.fromtimestamp(self.updated_at, UTC).date().isoformat()
