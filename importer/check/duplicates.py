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
    """Maps the 64-bit key of each row seen so far to its (first) row number.

    Two sorted levels: a large one and a recent one, merged into the large one when it grows
    past an eighth of it, so a lookup is two binary searches and merging stays linear overall.
    """

    def __init__(self) -> None:
        empty = (np.empty(0, dtype=_KEY), np.empty(0, dtype=_ROW))
        self._levels: list[tuple[np.ndarray, np.ndarray]] = [empty, empty]  # large, recent

    def __len__(self) -> int:
        return sum(len(keys) for keys, _ in self._levels)

    def first_rows(self, keys: Sequence[int]) -> np.ndarray:
        """The row of each key, or -1 for keys not seen."""
        wanted = np.asarray(keys, dtype=_KEY)
        found = np.full(len(wanted), -1, dtype=_ROW)
        for level_keys, level_rows in self._levels:
            if not len(level_keys):
                continue
            at = np.searchsorted(level_keys, wanted)
            at[at == len(level_keys)] = 0
            hit = level_keys[at] == wanted
            found[hit] = level_rows[at[hit]]
        return found

    def any_seen(self, keys: Sequence[int]) -> bool:
        """True when one of ``keys`` was seen before."""
        return len(self) > 0 and bool((self.first_rows(keys) >= 0).any())

    def add(self, keys: Sequence[int], rows: Sequence[int]) -> None:
        """Record new keys (distinct, none seen before) with their rows."""
        if not len(keys):
            return
        new_keys = np.asarray(keys, dtype=_KEY)
        order = np.argsort(new_keys)
        recent = _merge(self._levels[1], (new_keys[order], np.asarray(rows, dtype=_ROW)[order]))
        if len(recent[0]) * 8 > max(len(self._levels[0][0]), 1 << 16):
            self._levels = [_merge(self._levels[0], recent), (recent[0][:0], recent[1][:0])]
        else:
            self._levels[1] = recent


def _merge(
    into: tuple[np.ndarray, np.ndarray], run: tuple[np.ndarray, np.ndarray]
) -> tuple[np.ndarray, np.ndarray]:
    """Insert one sorted (keys, rows) run into another."""
    at = np.searchsorted(into[0], run[0])
    return np.insert(into[0], at, run[0]), np.insert(into[1], at, run[1])
