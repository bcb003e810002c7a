"""The duplicate rule of a file: when two rows are one purchase, and the register it keeps.

:class:`DuplicateRule` is the rule: a row's key is its reference (else its whole purchase), two
rows with the same key and the same purchase are one purchase (the later one is skipped, or
counted as a repeat on purpose with --allow-duplicates), and two rows sharing only a reference
are the lines of one invoice (both sent, the later one warned). Its verdicts do not depend on
how the file is cut into chunks: the register remembers every row of every chunk checked.

:class:`SeenRows` is the register. A dict of a million Python ints costs about 115 MB. The
register keeps each key and its first row in compact numpy arrays (12 bytes a key) and finds
them through an open-addressing hash table of 32-bit positions (at most half
full: 8 MB at a million keys), so adding a chunk and looking its keys up are a few vectorised
passes whatever the register's size (a sorted register paid a binary search per key and a
merge per chunk: twice as slow at a million keys).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from importer import fields

_KEY = np.int64  # Python's hash() is a signed 64-bit value
_ROW = np.int32  # spreadsheet rows stay far below 2**31
_FREE = -1  # a table slot that points to no key
#: Fibonacci hashing: the top bits of key * this odd constant pick a key's first slot, so
#: every bit of the key counts (the keys of rows that differ in one column only included).
_SPREAD = np.uint64(0x9E3779B97F4A7C15)
_MIN_SLOTS = 1 << 20  # 4 MB: no rebuild below half a million keys
_MIN_STORED = 1 << 15


class SeenRows:
    """Maps the 64-bit key of each row seen so far to its (first) row number.

    Keys and rows are stored in the order they were added; the table holds their
    positions (linear probing over a power-of-two table that doubles before it is half full).
    """

    def __init__(self) -> None:
        self._count = 0
        self._keys = np.zeros(_MIN_STORED, dtype=_KEY)
        self._rows = np.zeros(_MIN_STORED, dtype=_ROW)
        self._new_table(_MIN_SLOTS)

    def _new_table(self, slots: int) -> None:
        self._table = np.full(slots, _FREE, dtype=np.int32)
        self._shift = np.uint64(64 - (slots.bit_length() - 1))

    def __len__(self) -> int:
        return self._count

    def first_rows(self, keys: Sequence[int]) -> np.ndarray:
        """The row of each key, or -1 for keys not seen."""
        wanted = np.asarray(keys, dtype=_KEY)
        where = self._positions(wanted)
        seen = where != _FREE
        found = np.full(len(wanted), -1, dtype=_ROW)
        found[seen] = self._rows[where[seen]]
        return found

    def any_seen(self, keys: Sequence[int]) -> bool:
        """True when one of ``keys`` was seen before."""
        return self._count > 0 and bool((self._positions(np.asarray(keys, _KEY)) != _FREE).any())

    def add(self, keys: Sequence[int], rows: Sequence[int]) -> None:
        """Record new keys (distinct, none seen before) with their rows."""
        n = len(keys)
        if not n:
            return
        total = self._count + n
        if total > len(self._keys):
            self._reserve(total)
        stored = slice(self._count, total)
        self._keys[stored] = np.asarray(keys, dtype=_KEY)
        self._rows[stored] = np.asarray(rows, dtype=_ROW)
        if total * 2 > len(self._table):
            self._count = total
            self._rebuild()
        else:
            self._place(np.arange(self._count, total, dtype=np.int32))
            self._count = total

    def _reserve(self, total: int) -> None:
        capacity = len(self._keys)
        while capacity < total:
            capacity *= 2
        for name in ("_keys", "_rows"):
            old = getattr(self, name)
            grown = np.zeros(capacity, dtype=old.dtype)
            grown[: self._count] = old[: self._count]
            setattr(self, name, grown)

    def _rebuild(self) -> None:
        """A table twice as large (or more) for every key stored."""
        slots = len(self._table)
        while self._count * 2 > slots:
            slots *= 2
        self._new_table(slots)
        self._place(np.arange(self._count, dtype=np.int32))

    def _positions(self, wanted: np.ndarray) -> np.ndarray:
        """The stored position of each key, or _FREE."""
        where = np.full(len(wanted), _FREE, dtype=np.int32)
        slots = self._first_slots(wanted)
        pending = np.arange(len(wanted))
        mask = len(self._table) - 1
        while pending.size:
            at = slots[pending]
            entry = self._table[at]
            taken = entry != _FREE
            hit = taken & (self._keys[entry] == wanted[pending])
            where[pending[hit]] = entry[hit]
            pending = pending[taken & ~hit]  # a free slot ends the search: not seen
            slots[pending] = (slots[pending] + 1) & mask
        return where

    def _place(self, positions: np.ndarray) -> None:
        """Point free slots at the stored keys at ``positions`` (not in the table yet)."""
        slots = self._first_slots(self._keys[positions])
        pending = np.arange(len(positions))
        mask = len(self._table) - 1
        while pending.size:
            at = slots[pending]
            free = self._table[at] == _FREE
            claims, claimed = pending[free], at[free]
            # Several keys may reach one free slot: one write lands, and reading the slot
            # back tells which.
            self._table[claimed] = positions[claims]
            won = self._table[claimed] == positions[claims]
            waiting = np.ones(len(positions), dtype=bool)
            waiting[claims[won]] = False
            pending = pending[waiting[pending]]
            slots[pending] = (slots[pending] + 1) & mask

    def _first_slots(self, keys: np.ndarray) -> np.ndarray:
        spread = keys.view(np.uint64) * _SPREAD
        return (spread >> self._shift).astype(np.int64)


#: The field that is a row's key for duplicates: rows sharing it are the lines of one invoice,
#: or copies when the rest of their purchase is the same too.
REFERENCE = "reference"
#: Without one of these mapped, two rows of one lead are no evidence of a copy.
_EVIDENCE = frozenset({REFERENCE, "purchase_amount", "date"})
#: An odd 64-bit constant (the golden ratio's bits) that spreads one column's hash over the
#: next one's.
_MIX = np.uint64(0x9E3779B97F4A7C15)


class RowKeys(NamedTuple):
    """Per row of a chunk: its key (the reference, else the purchase) and its purchase key
    (every part of the purchase's identity but the reference). Hashes: comparable within one
    process only (a forked child shares its parent's hash secret)."""

    keys: np.ndarray
    payloads: np.ndarray

    def take(self, indices: Sequence[int]) -> RowKeys:
        """The keys of the rows at ``indices`` only."""
        at = list(indices)
        return RowKeys(self.keys[at], self.payloads[at])


@dataclass(frozen=True)
class Repeat:
    """The rule's verdict on one row that repeats another: a reason, and whether the row is
    skipped (a copy) or sent with a warning."""

    index: int  # in the chunk
    reason: str
    skip: bool = False


class DuplicateRule:
    """Decides which rows of one file repeat an earlier row, over every chunk checked.

    Call :meth:`row_keys` for a chunk, then :meth:`judge` with its valid rows, chunk after chunk
    in file order. :meth:`accept` is the fast path of a chunk that repeats nothing (and of a
    chunk judged in another process).
    """

    def __init__(
        self,
        mapped: Iterable[str],
        *,
        allow_duplicates: bool = False,
        registry: Sequence[fields.PurchaseField] | None = None,
    ) -> None:
        self.allow_duplicates = allow_duplicates
        self.applies = not _EVIDENCE.isdisjoint(mapped)
        #: The parts of a row's purchase key: the identity's parts but the reference (a part:
        #: a field and its alternatives, such as the lead's UUID and its legacy id).
        parts = fields.identity_parts(registry or fields.PURCHASE_FIELDS)
        self.purchase_parts = [p for p in parts if REFERENCE not in p]
        self._seen = SeenRows()  # by key: its first row and purchase key
        self._exact = SeenRows()  # by key and purchase together: every distinct row
        #: Rows repeating an earlier row on purpose (allow_duplicates): row -> how many came
        #: before it. The ledger keeps them apart as distinct purchases.
        self.occurrences: dict[int, int] = {}
        self._repeat_counts: dict[int, int] = {}

    def row_keys(self, n: int, column: Callable[[str], list | None]) -> RowKeys:
        """The keys of a chunk of ``n`` rows; ``column(name)`` gives a field's values in a form
        equal exactly when the values are (None when no column feeds the field)."""
        found = (_first_filled(column, part) for part in self.purchase_parts)
        parts = [values for values in found if values is not None]
        payloads = rows_hash(parts, n)
        references = column(REFERENCE)
        if references is None or not any(references):
            return RowKeys(payloads, payloads)
        if None not in references and "" not in references:
            return RowKeys(column_hash(list(map(str.casefold, references)), n), payloads)
        folded = [r and r.casefold() for r in references]
        has_reference = np.fromiter(map(bool, folded), dtype=bool, count=n)
        return RowKeys(np.where(has_reference, column_hash(folded, n), payloads), payloads)

    def accept(self, keys: RowKeys, rows: Sequence[int]) -> bool:
        """Record rows (their keys and row numbers) as seen when none repeats an earlier row or
        another of them; False, recording nothing, when one does (then :meth:`judge` them)."""
        if _repeats(keys.keys) or self._seen.any_seen(keys.keys):
            return False
        self._seen.add(keys.keys, rows)
        self._exact.add(_combined(keys.keys, keys.payloads), rows)
        return True

    def judge(self, keys: RowKeys, rows: np.ndarray, valid: Sequence[int]) -> list[Repeat]:
        """The verdicts on the ``valid`` rows (indices into ``keys`` and ``rows``, the chunk's
        row numbers) that repeat an earlier row, recording every valid row as seen. The
        per-row loop runs only when some key of the chunk was seen before or repeats in it."""
        if self.accept(*only(keys, rows, valid)):
            return []
        rows = rows.tolist()
        combined = _combined(keys.keys, keys.payloads).tolist()
        plain = keys.keys.tolist()
        earlier = self._seen.first_rows([plain[i] for i in valid]).tolist()
        exact = self._exact.first_rows([combined[i] for i in valid]).tolist()
        found: list[Repeat] = []
        firsts: dict[int, int] = {}  # key -> index of its first row in this chunk
        same: dict[int, int] = {}  # key and purchase -> its first row in this chunk
        for i, before, exact_before in zip(valid, earlier, exact, strict=True):
            key, whole = plain[i], combined[i]
            first = exact_before if exact_before >= 0 else same.get(whole)
            if first is not None:
                found.append(self._copy(i, first, rows[i], whole))
                continue
            same[whole] = rows[i]
            if before >= 0:
                found.append(Repeat(i, same_reference(before)))
            elif key in firsts:
                # Only the later line is warned, as when its first line sat in an earlier
                # chunk: a verdict on a row never depends on where the chunks are cut.
                found.append(Repeat(i, same_reference(rows[firsts[key]])))
            else:
                firsts[key] = i
        self._seen.add(list(firsts), [rows[i] for i in firsts.values()])
        self._exact.add(list(same), list(same.values()))
        return found

    def _copy(self, i: int, first: int, row: int, whole: int) -> Repeat:
        """Row ``row`` repeats row ``first`` field for field."""
        if not self.allow_duplicates:
            return Repeat(i, copy_of(first), skip=True)
        count = self._repeat_counts.get(whole, 0) + 1
        self._repeat_counts[whole] = count
        self.occurrences[int(row)] = count
        return Repeat(i, f"same purchase as row {first}")


def only(keys: RowKeys, rows: np.ndarray, valid: Sequence[int]) -> tuple[RowKeys, np.ndarray]:
    """The keys and row numbers of the ``valid`` rows (indices) of a chunk."""
    if len(valid) == len(rows):  # the usual chunk: every row valid
        return keys, rows
    return keys.take(valid), rows[list(valid)]


def copy_of(row: int) -> str:
    """The reason a copy of ``row`` is skipped."""
    return (
        f"duplicate of row {row} (every field repeats); use --allow-duplicates if both are real "
        "purchases"
    )


def same_reference(row: int) -> str:
    """The warning on a row that shares only its reference with ``row``."""
    return f"same reference as row {row} (another line of the same invoice?), both are sent"


def _first_filled(column: Callable[[str], list | None], part: tuple[str, ...]) -> list | None:
    """Per row, the value of the first field of ``part`` that the row has (the lead's UUID,
    else its legacy id); None when no column feeds any field of it."""
    present = [values for values in map(column, part) if values is not None]
    if not present:
        return None
    values = present[0]
    for other in present[1:]:
        values = [a or b for a, b in zip(values, other, strict=True)]
    return values


def _combined(keys, payloads) -> np.ndarray:
    """One 64-bit key of a row's key and purchase key together."""
    mixed = np.asarray(keys, dtype=np.int64).view(np.uint64) * _MIX
    return (mixed ^ np.asarray(payloads, dtype=np.int64).view(np.uint64)).view(np.int64)


def _repeats(keys: Sequence[int]) -> bool:
    """True when a key appears twice (a sort, not np.unique: that one hashes, 10x slower)."""
    ordered = np.sort(np.asarray(keys, dtype=np.int64))
    return bool((ordered[1:] == ordered[:-1]).any())


def column_hash(values: Sequence[object], n: int) -> np.ndarray:
    """Python's hash() of every value of a column, as int64."""
    return np.fromiter(map(hash, values), dtype=np.int64, count=n)


def rows_hash(columns: list[Sequence[object]], n: int) -> np.ndarray:
    """One 64-bit hash per row over several columns (equal rows, equal hashes), built column
    by column: no tuple per row."""
    mixed = np.zeros(n, dtype=np.uint64)
    for values in columns:
        mixed *= _MIX
        mixed ^= column_hash(values, n).view(np.uint64)
    return mixed.view(np.int64)
