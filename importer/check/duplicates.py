"""The register of rows seen so far, for duplicate detection over files of millions of rows.

A dict of a million Python ints costs about 115 MB. This register keeps each key, its first
row and a second value in compact numpy arrays (20 bytes a key) and finds them through an
open-addressing hash table of 32-bit positions (at most half full: 8 MB at a million keys), so
adding a chunk and looking its keys up are a few vectorised passes whatever the register's
size (a sorted register paid a binary search per key and a merge per chunk: twice as slow at
a million keys).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

_KEY = np.int64  # Python's hash() is a signed 64-bit value
_ROW = np.int32  # spreadsheet rows stay far below 2**31
_FREE = -1  # a table slot that points to no key
#: Fibonacci hashing: the top bits of key * this odd constant pick a key's first slot, so
#: every bit of the key counts (the keys of rows that differ in one column only included).
_SPREAD = np.uint64(0x9E3779B97F4A7C15)
_MIN_SLOTS = 1 << 20  # 4 MB: no rebuild below half a million keys
_MIN_STORED = 1 << 15


class SeenRows:
    """Maps the 64-bit key of each row seen so far to its (first) row number and a second
    64-bit value of that row (the hash of its whole payload).

    Keys, rows and values are stored in the order they were added; the table holds their
    positions (linear probing over a power-of-two table that doubles before it is half full).
    """

    def __init__(self) -> None:
        self._count = 0
        self._keys = np.zeros(_MIN_STORED, dtype=_KEY)
        self._rows = np.zeros(_MIN_STORED, dtype=_ROW)
        self._values = np.zeros(_MIN_STORED, dtype=_KEY)
        self._new_table(_MIN_SLOTS)

    def _new_table(self, slots: int) -> None:
        self._table = np.full(slots, _FREE, dtype=np.int32)
        self._shift = np.uint64(64 - (slots.bit_length() - 1))

    def __len__(self) -> int:
        return self._count

    def first_rows(self, keys: Sequence[int]) -> np.ndarray:
        """The row of each key, or -1 for keys not seen."""
        return self.lookup(keys)[0]

    def lookup(self, keys: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
        """The row and the second value of each key (-1 and 0 for keys not seen)."""
        wanted = np.asarray(keys, dtype=_KEY)
        where = self._positions(wanted)
        seen = where != _FREE
        found = np.full(len(wanted), -1, dtype=_ROW)
        values = np.zeros(len(wanted), dtype=_KEY)
        found[seen] = self._rows[where[seen]]
        values[seen] = self._values[where[seen]]
        return found, values

    def any_seen(self, keys: Sequence[int]) -> bool:
        """True when one of ``keys`` was seen before."""
        return self._count > 0 and bool((self._positions(np.asarray(keys, _KEY)) != _FREE).any())

    def add(
        self, keys: Sequence[int], rows: Sequence[int], values: Sequence[int] | None = None
    ) -> None:
        """Record new keys (distinct, none seen before) with their rows (and second values)."""
        n = len(keys)
        if not n:
            return
        total = self._count + n
        if total > len(self._keys):
            self._reserve(total)
        stored = slice(self._count, total)
        self._keys[stored] = np.asarray(keys, dtype=_KEY)
        self._rows[stored] = np.asarray(rows, dtype=_ROW)
        self._values[stored] = 0 if values is None else np.asarray(values, dtype=_KEY)
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
        for name in ("_keys", "_rows", "_values"):
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
