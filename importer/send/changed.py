"""Edited rows: rows an earlier run created whose content has changed since.

Keen has no idempotency key, no update and no way to read purchases back, so the journal is the
only record of what was created. A row at a position an earlier run created (same target), whose
payload is different now, and whose earlier payload appears nowhere in the current file, is an
*edited* row: sending it would pay a second commission for the same sale. It is not sent unless
the user asks for it (``--resend-changed``) after Keen reversed the earlier purchase.

If the earlier payload is still somewhere in the file, rows were inserted or moved: the moved row
is recognised as created (see :mod:`importer.send.resume`) and the row now at the old position is
new content, sent as before.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from importer.send.journal import Journal, JournalEntry

__all__ = ["EditedRow", "find_edited_rows"]

#: (file row, payload hash, serialised payload) of every row of the current file.
Payloads = Callable[[], Iterable[tuple[int, str, bytes]]]

_FIELD_NAMES = {
    "purchase_amount": "amount",
    "lead_id": "lead",
    "product_name": "product",
    "product_description": "description",
    "trigger_ids": "triggers",
}


@dataclass(frozen=True, slots=True)
class EditedRow:
    """A row an earlier run created as ``purchase_id`` with content the file no longer has."""

    row: int
    purchase_id: str
    changes: str  # e.g. "amount 100.00 (now 90.00)"; "" when the journal kept no payload

    def reason(self) -> str:
        """The not-sent reason: which purchase, what changed, and what to do."""
        pid = self.purchase_id
        what = f" with {self.changes}" if self.changes else " with different content"
        return (
            f"row {self.row} was already created as purchase {pid} by an earlier run{what}; "
            f"Keen cannot change a purchase: ask Keen to reverse {pid}, then send the new "
            "content with --resend-changed"
        )


def find_edited_rows(journal: Journal, payloads: Payloads) -> dict[int, EditedRow]:
    """The edited rows of the current file, by row number.

    ``payloads`` is called once, and a second time only when some row changed: the file is
    read again instead of holding every row's payload in memory.
    """
    if not journal.has_created():
        return {}
    journal.index_payloads()
    candidates: dict[int, tuple[list[JournalEntry], bytes]] = {}
    for row, digest, content in payloads():
        earlier = journal.created_at(row)
        if not earlier or any(entry.payload_hash == digest for entry in earlier):
            continue
        if journal.created_with_payload(digest):
            continue  # this content moved here from another row: it is reported created
        candidates[row] = (earlier, content)
    if not candidates:
        return {}
    wanted = {entry.payload_hash for earlier, _ in candidates.values() for entry in earlier}
    present = {digest for _, digest, _ in payloads() if digest in wanted}
    edited = {}
    for row, (earlier, content) in candidates.items():
        gone = [entry for entry in earlier if entry.payload_hash not in present]
        if gone:
            last = gone[-1]
            edited[row] = EditedRow(row, last.purchase_id or "", _changes(last.payload, content))
    return edited


def _changes(before: str | None, now: bytes) -> str:
    """What differs between the payload sent earlier and the current one, in finance words."""
    if not before:
        return ""
    old, new = json.loads(before, parse_float=str), json.loads(now, parse_float=str)
    parts = []
    for key in [k for k in old if k != "action"] + [k for k in new if k not in old]:
        if old.get(key) == new.get(key):
            continue
        name = _FIELD_NAMES.get(key, key)
        was = _shown(old.get(key))
        parts.append(f"{name} {was} (now {_shown(new.get(key))})")
    return ", ".join(parts)


def _shown(value: object) -> str:
    if value is None:
        return "empty"
    if isinstance(value, list):
        return ",".join(map(str, value))
    return str(value)
