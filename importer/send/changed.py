"""Edited rows: purchases already created whose content has changed since.

Keen has no idempotency key, no update and no way to read purchases back, so the ledger is the
only record of what was created. A row is *edited* when the ledger holds a created purchase

- at the same row of an earlier import of the same file (same target and file name), for the
  same lead (and reference, when there is one), or
- with the same lead and reference (a corrected re-export, from any file),

whose content is different now and appears nowhere in the current file: sending it would pay a
second commission for the same sale. It is not sent unless the user asks for it
(``--resend-changed``) after Keen reversed the earlier purchase.

If the earlier content is still somewhere in the file, rows were inserted or moved (or it is
another line of the same invoice): that row is recognised as created by the ledger's rule and
the row at hand is new content, sent as before.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from itertools import islice

from importer.fields import PURCHASE_FIELDS, PurchaseField, sent_fields
from importer.ledger import Entry, Ledger
from importer.records import RowStatus

__all__ = ["EditFinder", "EditedRow", "FileRow", "find_edited_rows"]


@dataclass(frozen=True, slots=True)
class FileRow:
    """What the edit rule needs of a row of the current file."""

    row: int
    payload_hash: str
    content: bytes
    lead_id: str
    reference: str | None


#: Every row of the current file (called once, and again only when some row changed).
Payloads = Callable[[], Iterable[FileRow]]
_BLOCK = 1000


def field_words(fields: Sequence[PurchaseField]) -> dict[str, str]:
    """A body's key -> its field in a sentence ("amount 10.50 (now 11)")."""
    return {
        key: f.in_sentence()
        for f in sent_fields(fields)
        for key in (f.payload_key, f.catalog_key)
        if key is not None
    }


_FIELD_NAMES = field_words(PURCHASE_FIELDS)
_DATE_KEY = next(f.payload_key for f in PURCHASE_FIELDS if f.name == "date")


@dataclass(frozen=True, slots=True)
class EditedRow:
    """A row an earlier run created as ``purchase_id`` with content the file no longer has."""

    row: int
    purchase_id: str
    changes: str  # e.g. "amount 100.00 (now 90.00)"
    #: Found only by its place in the file (the same lead at the same row, no reference to
    #: compare) with another date: it may as well be another sale of a later export saved
    #: under the same name.
    by_position: bool = False

    def reason(self) -> str:
        """The not-sent reason: which purchase, what changed, and what to do."""
        pid = self.purchase_id
        what = f" with {self.changes}" if self.changes else " with different content"
        if self.by_position:
            return (
                f"row {self.row} has the lead of purchase {pid}, created by an earlier run of "
                f"this file at this row{what}: a correction of it? Ask Keen to reverse {pid}, "
                "then send it with --resend-changed. Another sale (a later export saved under "
                "the same name)? --resend-changed sends it; a reference column tells them apart"
            )
        return (
            f"row {self.row} was already created as purchase {pid} by an earlier run{what}; "
            f"Keen cannot change a purchase: ask Keen to reverse {pid}, then send the new "
            "content with --resend-changed"
        )


def find_edited_rows(
    ledger: Ledger, target: str, source: str, payloads: Payloads
) -> dict[int, EditedRow]:
    """The edited rows of the current file (``source``: its name without the suffix), by row.

    ``payloads`` is called once, and a second time only when some row changed: the file is
    read again instead of holding every row's payload in memory.
    """
    finder = EditFinder(ledger, target, source)
    finder.look(payloads())
    return finder.finish(payloads)


class EditFinder:
    """Finds the edited rows while the file is read (:meth:`look`, block by block), then
    (:meth:`finish`) reads the file's payloads once more, only when some row changed, to see
    whether the earlier content is still somewhere in it."""

    def __init__(self, ledger: Ledger, target: str, source: str) -> None:
        self.ledger, self.target, self.source = ledger, target, source
        self.candidates: dict[int, tuple[list[Entry], bytes, bool]] = {}

    def look(self, rows: Iterable[FileRow]) -> None:
        """Look at rows of the file, in any number of calls."""
        for block in _blocks(rows):
            self.candidates.update(_changed_in(self.ledger, self.target, self.source, block))

    def finish(self, payloads: Payloads) -> dict[int, EditedRow]:
        """The edited rows, by row (``payloads`` is read only when some row changed)."""
        if not self.candidates:
            return {}
        candidates = self.candidates
        wanted = {e.payload_hash for earlier, _, _ in candidates.values() for e in earlier}
        present = {row.payload_hash for row in payloads() if row.payload_hash in wanted}
        edited = {}
        for row, (earlier, content, referenced) in candidates.items():
            gone = [entry for entry in earlier if entry.payload_hash not in present]
            if gone:
                last = gone[-1]
                changes = _changes(last.payload, content)
                # Without references to compare, a row that moved in time may be next month's
                # sale in an export saved under the same name, as well as a correction.
                positional = not (referenced and last.reference) and _date_moved(last, content)
                edited[row] = EditedRow(row, last.purchase_id or "", changes, positional)
        return edited


def _changed_in(ledger: Ledger, target: str, source: str, block: list[FileRow]) -> dict:
    """Rows of ``block`` whose row or (lead, reference) was created with other content."""
    at_rows: dict[int, list[Entry]] = {}
    for entry in ledger.created_at_rows(target, source, [r.row for r in block]):
        at_rows.setdefault(entry.file_row, []).append(entry)
    by_reference: dict[tuple, list[Entry]] = {}
    references = _spellings(r.reference for r in block if r.reference)
    for entry in ledger.created_with_references(target, references) if references else []:
        by_reference.setdefault((entry.lead_id, _folded(entry.reference)), []).append(entry)
    if not at_rows and not by_reference:
        return {}
    twins = ledger.twins_of_payloads(target, [r.payload_hash for r in block])
    known = {h for h, entry in twins.items() if entry.status == RowStatus.CREATED}
    found = {}
    for row in block:
        if row.payload_hash in known:
            continue  # this content was created: the ledger's rule reports it
        same_row = [e for e in at_rows.get(row.row, []) if _same_sale(e, row)]
        earlier = same_row + by_reference.get((row.lead_id, _folded(row.reference)), [])
        distinct = list({entry.identity: entry for entry in earlier}.values())
        if distinct:
            earliest_first = sorted(distinct, key=lambda e: e.updated_at)
            found[row.row] = (earliest_first, row.content, bool(row.reference))
    return found


def _same_sale(entry: Entry, row: FileRow) -> bool:
    """True when the row at the position of an earlier purchase is that purchase edited: the
    same lead, and the same reference when both have one. Next month's export saved under the
    same name holds other sales at those positions: they are new purchases."""
    if entry.lead_id != row.lead_id:
        return False
    if not (entry.reference and row.reference):
        return True
    return _folded(entry.reference) == _folded(row.reference)


def _folded(reference: str | None) -> str | None:
    """A reference as the duplicate rule compares it (importer.check.duplicates): any case."""
    return reference.casefold() if reference else reference


def _spellings(references: Iterable[str]) -> list[str]:
    """The references and their upper and lower case: a re-export that changed an invoice
    number's case ("inv-1" for "INV-1") finds the purchase it edits through the ledger's
    exact index (a mixed-case change is not found)."""
    found = {}
    for reference in references:
        found.update(dict.fromkeys((reference, reference.upper(), reference.lower())))
    return list(found)


def _blocks(rows: Iterable[FileRow]) -> Iterator[list[FileRow]]:
    iterator = iter(rows)
    while block := list(islice(iterator, _BLOCK)):
        yield block


def _changes(before: str | None, now: bytes) -> str:
    """What differs between the payload sent earlier and the current one, in finance words."""
    if not before:
        return ""
    old, new = _read(before), _read(now)
    parts = []
    for key in [k for k in old if k != "action"] + [k for k in new if k not in old]:
        if old.get(key) == new.get(key):
            continue  # numbers by value: the 1500 an earlier version sent is 1500.00
        name = _FIELD_NAMES.get(key, key)
        was = _shown(old.get(key))
        parts.append(f"{name} {was} (now {_shown(new.get(key))})")
    return ", ".join(parts)


def _date_moved(earlier: Entry, now: bytes) -> bool:
    """True when the purchase date of the payload sent earlier is not the current one's."""
    was = _read(earlier.payload).get(_DATE_KEY) if earlier.payload else None
    return was is not None and was != _read(now).get(_DATE_KEY)


def _read(payload: str | bytes) -> dict:
    """A payload with its numbers as Decimals, written as they were sent."""
    return json.loads(payload, parse_float=_Written, parse_int=_Written)


class _Written(Decimal):
    """A number of a payload: equal by value, shown as it was written."""

    def __new__(cls, text: str):
        number = super().__new__(cls, text)
        number.text = text
        return number

    def __str__(self) -> str:
        return self.text


def _shown(value: object) -> str:
    if value is None:
        return "empty"
    if isinstance(value, list):
        return ",".join(map(str, value))
    return str(value)
