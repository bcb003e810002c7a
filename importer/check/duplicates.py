"""The register of rows seen so far, for duplicate detection over files of millions of rows.

A dict of a million Python ints costs about 115 MB; this register keeps each key and its first
row in 12 bytes, in sorted numpy arrays, so adding a chunk and looking keys up are both
vectorised.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

_KEY = np.int64  # Python's hash() is a signed 64-bit value
_ROW = np.int32  # spreadsheet rows stay far below 2**31


class SeenRows:
    """Maps the 64-bit key of each row seen so far to its (first) row number and a second
    64-bit value of that row (the hash of its whole payload).

    Two sorted levels: a large one and a recent one, merged into the large one when it grows
    past an eighth of it, so a lookup is two binary searches and merging stays linear overall.
    """

    def __init__(self) -> None:
        empty = (np.empty(0, dtype=_KEY), np.empty(0, dtype=_ROW), np.empty(0, dtype=_KEY))
        self._levels: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = [empty, empty]

    def __len__(self) -> int:
        return sum(len(level[0]) for level in self._levels)

    def first_rows(self, keys: Sequence[int]) -> np.ndarray:
        """The row of each key, or -1 for keys not seen."""
        return self.lookup(keys)[0]

    def lookup(self, keys: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
        """The row and the second value of each key (-1 and 0 for keys not seen)."""
        wanted = np.asarray(keys, dtype=_KEY)
        found = np.full(len(wanted), -1, dtype=_ROW)
        values = np.zeros(len(wanted), dtype=_KEY)
        for level_keys, level_rows, level_values in self._levels:
            if not len(level_keys):
                continue
            at = np.searchsorted(level_keys, wanted)
            at[at == len(level_keys)] = 0
            hit = level_keys[at] == wanted
            found[hit] = level_rows[at[hit]]
            values[hit] = level_values[at[hit]]
        return found, values

    def any_seen(self, keys: Sequence[int]) -> bool:
        """True when one of ``keys`` was seen before."""
        return len(self) > 0 and bool((self.first_rows(keys) >= 0).any())

    def add(
        self, keys: Sequence[int], rows: Sequence[int], values: Sequence[int] | None = None
    ) -> None:
        """Record new keys (distinct, none seen before) with their rows (and second values)."""
        if not len(keys):
            return
        new_keys = np.asarray(keys, dtype=_KEY)
        order = np.argsort(new_keys)
        new_values = (
            np.zeros(len(new_keys), dtype=_KEY) if values is None else np.asarray(values, _KEY)
        )
        run = (new_keys[order], np.asarray(rows, dtype=_ROW)[order], new_values[order])
        recent = _merge(self._levels[1], run)
        if len(recent[0]) * 8 > max(len(self._levels[0][0]), 1 << 16):
            self._levels = [_merge(self._levels[0], recent), tuple(a[:0] for a in recent)]
        else:
            self._levels[1] = recent


def _merge(into: tuple, run: tuple) -> tuple:
    """Insert one sorted (keys, rows, values) run into another."""
    at = np.searchsorted(into[0], run[0])
    return tuple(np.insert(a, at, b) for a, b in zip(into, run, strict=True))
