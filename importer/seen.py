"""The register of rows seen so far, for duplicate detection over files of millions of rows.

A dict of a million Python ints costs about 115 MB; this register keeps each key and its first
row in 12 bytes: sorted numpy runs, merged as they grow (as in a log-structured merge tree),
so adding a chunk and looking keys up are both vectorised.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

_KEY = np.int64  # Python's hash() is a signed 64-bit value
_ROW = np.int32  # spreadsheet rows stay far below 2**31


class SeenRows:
    """Maps the 64-bit key of each row seen so far to its (first) row number."""

    def __init__(self) -> None:
        self._runs: list[tuple[np.ndarray, np.ndarray]] = []  # (sorted keys, their rows)

    def __len__(self) -> int:
        return sum(len(keys) for keys, _ in self._runs)

    def first_rows(self, keys: Sequence[int]) -> np.ndarray:
        """The row of each key, or -1 for keys not seen."""
        wanted = np.asarray(keys, dtype=_KEY)
        found = np.full(len(wanted), -1, dtype=_ROW)
        for run_keys, run_rows in self._runs:
            at = np.searchsorted(run_keys, wanted)
            at[at == len(run_keys)] = 0
            hit = run_keys[at] == wanted
            found[hit] = run_rows[at[hit]]
        return found

    def any_seen(self, keys: Sequence[int]) -> bool:
        """True when one of ``keys`` was seen before."""
        return bool(self._runs) and bool((self.first_rows(keys) >= 0).any())

    def add(self, keys: Sequence[int], rows: Sequence[int]) -> None:
        """Record new keys (distinct, none seen before) with their rows."""
        if not len(keys):
            return
        new_keys = np.asarray(keys, dtype=_KEY)
        order = np.argsort(new_keys, kind="stable")
        self._runs.append((new_keys[order], np.asarray(rows, dtype=_ROW)[order]))
        # Keep O(log n) runs: merge while the run before is not much larger than the last.
        while len(self._runs) > 1 and len(self._runs[-2][0]) <= 2 * len(self._runs[-1][0]):
            (k1, r1), (k2, r2) = self._runs[-2], self._runs.pop()
            at = np.searchsorted(k1, k2)  # inserting one sorted run into the other
            self._runs[-1] = (np.insert(k1, at, k2), np.insert(r1, at, r2))
