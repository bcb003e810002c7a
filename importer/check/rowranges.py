"""Rows left out on purpose, named by their row numbers ("3,5-6"): ``--skip-rows`` and the web
app's "Skip row N" both end here, so a command and a browser leave out the same rows.

Row numbers are the results file's ``row`` column: the row as Excel shows it, the record's line
in a CSV file. A range costs two numbers however many rows it spans (``1-1000000``).
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Iterator, Sequence

#: The reason in the results file of a row left out with ``--skip-rows`` (the job's default).
LEFT_OUT = "left out with --skip-rows"

_ITEM = re.compile(r"^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$")


class RowRanges:
    """A set of row numbers kept as sorted, merged ranges.

    Example::

        rows = RowRanges.parse("3, 5-6")
        5 in rows, str(rows), len(rows)      # True, "3,5-6", 3
    """

    __slots__ = ("_starts", "_ends")

    def __init__(self, ranges: Iterable[tuple[int, int]] = ()) -> None:
        merged: list[list[int]] = []
        for start, end in sorted(ranges):
            if merged and start <= merged[-1][1] + 1:
                merged[-1][1] = max(merged[-1][1], end)
            else:
                merged.append([start, end])
        self._starts = tuple(s for s, _ in merged)
        self._ends = tuple(e for _, e in merged)

    @classmethod
    def parse(cls, text: str | None) -> RowRanges:
        """``"3,5-6"`` -> RowRanges (empty text: no rows); ValueError saying what is wrong."""
        ranges = []
        for item in (text or "").split(","):
            if not item.strip():
                continue
            found = _ITEM.match(item)
            if found is None:
                raise ValueError(f"{item.strip()!r} is not a row number or a range N-M")
            start = int(found[1])
            end = int(found[2]) if found[2] else start
            if start < 1 or end < start:
                raise ValueError(f"{item.strip()!r} is not a range of rows (1 or more, N-M)")
            ranges.append((start, end))
        return cls(ranges)

    @classmethod
    def of(cls, rows: Iterable[int]) -> RowRanges:
        """The set of these row numbers."""
        return cls((row, row) for row in rows)

    def union(self, other: RowRanges) -> RowRanges:
        """These rows and the other's."""
        return RowRanges([*self.ranges(), *other.ranges()])

    def difference(self, other: RowRanges) -> RowRanges:
        """These rows without the other's."""
        kept: list[tuple[int, int]] = []
        for start, end in self.ranges():
            for cut_start, cut_end in other.ranges():
                if cut_end < start or cut_start > end:
                    continue
                if cut_start > start:
                    kept.append((start, cut_start - 1))
                start = cut_end + 1
                if start > end:
                    break
            if start <= end:
                kept.append((start, end))
        return RowRanges(kept)

    def ranges(self) -> list[tuple[int, int]]:
        """The (first, last) row of each range, in order."""
        return list(zip(self._starts, self._ends, strict=True))

    def positions(self, rows: Sequence[int]) -> list[int]:
        """The indexes of ``rows`` (a chunk's row numbers, ascending) that are in the set.

        Only the ranges that reach into the chunk are looked at: a chunk far from every range
        costs two comparisons.
        """
        if not self._starts or not rows or rows[0] > self._ends[-1] or rows[-1] < self._starts[0]:
            return []
        found: list[int] = []
        first = bisect_left(self._ends, rows[0])
        for at in range(first, len(self._starts)):
            start, end = self._starts[at], self._ends[at]
            if start > rows[-1]:
                break
            found.extend(range(bisect_left(rows, start), bisect_right(rows, end)))
        return found

    def __contains__(self, row: object) -> bool:
        if not isinstance(row, int):
            return False
        at = bisect_right(self._starts, row) - 1
        return at >= 0 and row <= self._ends[at]

    def __iter__(self) -> Iterator[int]:
        for start, end in self.ranges():
            yield from range(start, end + 1)

    def __len__(self) -> int:
        return sum(end - start + 1 for start, end in self.ranges())

    def __bool__(self) -> bool:
        return bool(self._starts)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RowRanges) and self.ranges() == other.ranges()

    def __hash__(self) -> int:
        return hash((self._starts, self._ends))

    def __str__(self) -> str:
        return ",".join(str(s) if s == e else f"{s}-{e}" for s, e in self.ranges())

    def __repr__(self) -> str:
        return f"RowRanges({str(self)!r})"
