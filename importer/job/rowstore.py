"""Row verdicts served page by page from a results CSV on disk.

A million-row file must not be held in memory to show a page of it. The store keeps a compact
index of the results file (:class:`RowIndex`, about 1.1 MB for a million rows): one byte per
row (its status and whether it has warnings), the byte offset of every 32nd row and the row
numbers as runs. The check builds it while it writes the file; a results file written by
something else (a send, the CLI) is read once to build it, when a page or a count is first
asked for (a command-line run never asks: 0.1 s of its end per 20,000 rows). A page is read
back from disk by seeking to the block of its first row. Filtering by status uses the index
alone; a warning or search filter streams the file (only the matching positions are kept).
Rows edited through the job are laid over the file (``replace``).
"""

from __future__ import annotations

import csv
import dataclasses
from array import array
from bisect import bisect_right
from collections.abc import Iterator
from heapq import merge
from pathlib import Path

from importer.job.model import RowPage, RowView
from importer.job.rowindex import (
    HAS_WARNINGS,
    ROWS_PER_OFFSET,
    STATUSES,
    Lines,
    RowIndex,
    row_codes,
    scan_results,
    warning_kind,
)
from importer.records import RowResult, split_warnings
from importer.report.results import FORMULA_CHARS, result_positions

BLOCK_BYTES = 2 * 1024 * 1024  # the search screen reads the file in blocks of this size


def _plain(cell: str) -> str:
    """A results cell as the user typed it (the writer put a ' before formula-like text)."""
    if cell[:1] == "'" and cell[1:2] in FORMULA_CHARS:
        return cell[1:]
    return cell


class RowStore:
    """A compact index over a results CSV; pages of :class:`RowView` read from disk."""

    def __init__(self, path: Path, headers: list[str], index: RowIndex | None = None) -> None:
        self.path = Path(path)
        self.headers = list(headers)
        self.at = result_positions(self.headers)
        self._index = index
        self.overlay: dict[int, RowView] = {}  # index -> an edited row's view
        self._cached: tuple[tuple, array] | None = None

    @property
    def index(self) -> RowIndex:
        """The index of the file (read from it the first time it is asked for)."""
        if self._index is None:
            self._index = scan_results(self.path, self.headers)
        return self._index

    def warning_counts(self) -> dict[str, int]:
        """Rows per kind of warning (the warning with its values left out), most common first."""
        return dict(self.index.warnings.most_common())

    def status_counts(self) -> dict[str, int]:
        """Rows per status (edited rows' latest verdicts included), in STATUSES order."""
        codes = self.index.codes
        counts = {}
        for code, status in enumerate(STATUSES):
            rows = codes.count(bytes([code])) + codes.count(bytes([code | HAS_WARNINGS]))
            if rows:
                counts[status] = rows
        return counts

    def __len__(self) -> int:
        return len(self.index)

    def index_of(self, row: int) -> int:
        """The position of spreadsheet row ``row`` (KeyError when the file has no such row)."""
        return self.index.index_of(row)

    def status_of(self, index: int) -> str:
        """The status of the row at ``index`` (an edited row's latest), from the index alone."""
        return STATUSES[self.index.codes[index] & ~HAS_WARNINGS]

    def view(self, index: int) -> RowView:
        """The verdict of the row at ``index`` (an edited row's latest)."""
        if index in self.overlay:
            return self.overlay[index]
        return next(self._read([index]))

    def replace(self, index: int, view: RowView) -> None:
        """Lay an edited row's new verdict over the file's."""
        self.overlay[index] = view
        self.index.codes[index] = row_codes([view.status], [0] if view.warnings else [])[0]
        self._cached = None

    def restate(self, results: dict[int, RowResult]) -> None:
        """Lay what a run would give these rows (row -> result: status, reason, purchase id)
        over the file's verdicts, e.g. rows the ledger holds as created already."""
        positions = {self.index_of(row): result for row, result in results.items()}
        chosen = sorted(i for i in positions if i not in self.overlay)
        views = dict(zip(chosen, self._read(chosen), strict=True))
        for i, result in positions.items():
            view = self.overlay.get(i) or views[i]
            self.replace(
                i,
                dataclasses.replace(
                    view,
                    status=str(result.status),
                    error=result.error,
                    purchase_id=result.purchase_id,
                    read={},
                ),
            )

    def page(
        self,
        *,
        offset: int = 0,
        limit: int = 100,
        status: str | None = None,
        warning: str | None = None,
        search: str | None = None,
    ) -> RowPage:
        """Rows ``offset`` to ``offset + limit`` of those matching every filter given."""
        if status is not None and status not in STATUSES:
            raise ValueError(f"unknown status {status!r}; statuses: {', '.join(STATUSES)}")
        matches = self._matches(status, warning, search)
        if matches is None:
            total, chosen = len(self), range(offset, min(offset + limit, len(self)))
        else:
            total, chosen = len(matches), matches[offset : offset + limit]
        views = [self.overlay.get(i) for i in chosen]
        unread = [i for i, v in zip(chosen, views, strict=True) if v is None]
        read = dict(zip(unread, self._read(unread), strict=True))
        rows = [v if v is not None else read[i] for i, v in zip(chosen, views, strict=True)]
        return RowPage(total=total, offset=offset, rows=rows)

    def _matches(self, status: str | None, warning: str | None, search: str | None):
        """Positions matching the filters (None: every row); the last answer is kept."""
        if status is None and not warning and not search:
            return None
        key = (status, warning, search)
        if self._cached is not None and self._cached[0] == key:
            return self._cached[1]
        code = STATUSES.index(status) if status is not None else None
        if search and _screenable(search):
            hits = self._raw_hits(search.lower().encode("ascii"))
            candidates = sorted({*hits, *self.overlay})
            found = array("l", (i for i in candidates if self._fits(i, code, bool(warning))))
        else:
            found = array("l", self._all_fitting(code, bool(warning)))
        if warning or search:
            found = array("l", self._by_text(found, (warning or "").casefold(), search))
        self._cached = (key, found)
        return found

    def _all_fitting(self, code: int | None, warned: bool) -> Iterator[int]:
        codes = self.index.codes
        if code is not None and not warned:  # a status alone: found by bytes.find
            yield from merge(_positions_of(codes, code), _positions_of(codes, code | HAS_WARNINGS))
            return
        yield from (i for i in range(len(codes)) if self._fits(i, code, warned))

    def _fits(self, index: int, code: int | None, warned: bool) -> bool:
        """True when the row has this status code (None: any) and, if asked, a warning."""
        value = self.index.codes[index]
        return (code is None or value & ~HAS_WARNINGS == code) and (
            not warned or bool(value & HAS_WARNINGS)
        )

    def _raw_hits(self, needle: bytes) -> Iterator[int]:
        """Rows that may hold ``needle`` (ASCII, lower case) in any case: every row of each
        32-row block whose bytes in the file contain it.

        A cheap screen before rows are parsed: the file is read in blocks and searched with
        bytes.find; only the rows it finds are parsed and checked exactly.
        """
        offsets, rows, end = self.index.offsets, len(self), self.index.end
        with open(self.path, "rb") as handle:
            block = 0  # the row block the next read starts at
            while block < len(offsets):
                start = offsets[block]
                last = max(bisect_right(offsets, start + BLOCK_BYTES) - 1, block + 1)
                stop = offsets[last] if last < len(offsets) else end
                handle.seek(start)
                data = handle.read(stop - start).lower()
                at = data.find(needle)
                while at >= 0:
                    hit = bisect_right(offsets, start + at) - 1
                    first = hit * ROWS_PER_OFFSET
                    yield from range(first, min(first + ROWS_PER_OFFSET, rows))
                    after = offsets[hit + 1] if hit + 1 < len(offsets) else end
                    at = data.find(needle, after - start)
                block = last

    def _by_text(self, candidates: array, warning: str, search: str | None) -> Iterator[int]:
        needle = search.casefold() if search else None
        for i, view in zip(candidates, self._read(candidates), strict=True):
            view = self.overlay.get(i, view)
            if warning and not any(_warns(w, warning) for w in view.warnings):
                continue
            if needle is not None and not _contains(view, needle):
                continue
            yield i

    def _read(self, indices) -> Iterator[RowView]:
        """The views at ``indices`` (ascending), read from disk; neighbours without a seek."""
        with open(self.path, "rb") as handle:
            lines = Lines(handle, 0)
            reader = csv.reader(lines)
            position = -1
            for i in indices:
                if i != position + 1 or position < 0:
                    block = i // ROWS_PER_OFFSET
                    handle.seek(self.index.offsets[block])
                    for _ in range(i - block * ROWS_PER_OFFSET):
                        next(reader)
                yield self._to_view(next(reader))
                position = i

    def _to_view(self, record: list[str]) -> RowView:
        at = self.at
        warnings = record[at["warnings"]]
        return RowView(
            row=int(record[at["row"]]),
            status=record[at["status"]],
            error=record[at["error"]] or None,
            warnings=split_warnings(warnings),
            cells={h: _plain(record[n]) for n, h in enumerate(self.headers)},
            purchase_id=record[at["purchase_id"]] or None,
        )


def _positions_of(codes: bytearray, value: int) -> Iterator[int]:
    """The positions of one byte value, found by bytes.find (no Python step per row)."""
    wanted = bytes([value])
    at = codes.find(wanted)
    while at >= 0:
        yield at
        at = codes.find(wanted, at + 1)


def _warns(text: str, wanted: str) -> bool:
    """True when a warning is of the kind ``wanted`` or contains it (any case)."""
    return wanted in text.casefold() or warning_kind(text).casefold() == wanted


def _screenable(search: str) -> bool:
    """True when a search can be screened on the file's bytes: ASCII letters whose lower case
    is their casefold, and nothing the CSV format quotes or the writer prefixes."""
    return search.isascii() and not any(c in search for c in "\"',\r\n'") and bool(search)


def _contains(view: RowView, needle: str) -> bool:
    """True when the search text appears in a cell, the error or a warning (any case)."""
    texts = [*view.cells.values(), view.error or "", *view.warnings, view.purchase_id or ""]
    return any(needle in text.casefold() for text in texts)
