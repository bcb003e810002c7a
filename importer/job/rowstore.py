"""Row verdicts served page by page from a results CSV on disk.

A million-row file must not be held in memory to show a page of it. The store reads the
results file once and keeps a compact index: the byte offset of each row (8 bytes), its row
number (4), a status code (1) and a has-warnings flag (1), about 14 MB for a million rows.
A page is read back from disk by seeking to its rows. Filtering by status uses the index
alone; a warning or search filter streams the file (only the matching positions are kept).
Rows edited through the job are laid over the file (``replace``).
"""

from __future__ import annotations

import csv
import re
from array import array
from bisect import bisect_left, bisect_right
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from importer.job.model import RowPage, RowView
from importer.records import RowStatus
from importer.report.results import FORMULA_CHARS, result_positions

#: Quoted values, numbers and dates inside a warning's text.
VALUES = re.compile(r"'[^']*'|\d[\d\-:.,/]*")
BLOCK_BYTES = 2 * 1024 * 1024  # the search screen reads the file in blocks of this size
STATUSES: tuple[str, ...] = tuple(str(s) for s in RowStatus)
HAS_WARNINGS = 1


class _Lines:
    """Lines of a binary file as text, counting the bytes read (the next record's offset)."""

    def __init__(self, handle: BinaryIO, offset: int) -> None:
        self.handle = handle
        self.offset = offset

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        line = self.handle.readline()
        if not line:
            raise StopIteration
        self.offset += len(line)
        return line.decode("utf-8")


def _plain(cell: str) -> str:
    """A results cell as the user typed it (the writer put a ' before formula-like text)."""
    if cell[:1] == "'" and cell[1:2] in FORMULA_CHARS:
        return cell[1:]
    return cell


class RowStore:
    """An offset index over a results CSV; pages of :class:`RowView` read from disk."""

    def __init__(self, path: Path, headers: list[str]) -> None:
        self.path = Path(path)
        self.headers = list(headers)
        self.at = result_positions(self.headers)
        # Byte offsets: 4 bytes each while the file is under 4 GiB (4 MB less per 1M rows).
        self.offsets = array("I" if self.path.stat().st_size < 2**32 else "q")
        self.rows = array("i")  # spreadsheet row numbers fit in 32 bits (Excel: 1,048,576)
        self.statuses = bytearray()
        self.flags = bytearray()
        self.overlay: dict[int, RowView] = {}  # index -> an edited row's view
        self._data_start = 0
        self._cached: tuple[tuple, array] | None = None
        self._warnings: Counter[str] = Counter()
        self._build()

    def _build(self) -> None:
        codes = {status: code for code, status in enumerate(STATUSES)}
        status_at, warnings_at, row_at = self.at["status"], self.at["warnings"], self.at["row"]
        with open(self.path, "rb") as handle:
            lines = _Lines(handle, 0)
            reader = csv.reader(lines)
            next(reader, None)  # the header
            self._data_start = start = lines.offset
            for record in reader:
                self.offsets.append(start)
                self.rows.append(int(record[row_at]))
                self.statuses.append(codes[record[status_at]])
                warnings = record[warnings_at]
                self.flags.append(HAS_WARNINGS if warnings else 0)
                if warnings:
                    self._warnings.update(set(map(warning_kind, warnings.split("; "))))
                start = lines.offset

    def warning_counts(self) -> dict[str, int]:
        """Rows per kind of warning (the warning with its values left out), most common first."""
        return dict(self._warnings.most_common())

    def __len__(self) -> int:
        return len(self.offsets)

    def index_of(self, row: int) -> int:
        """The position of spreadsheet row ``row`` (KeyError when the file has no such row)."""
        i = bisect_left(self.rows, row)
        if i == len(self.rows) or self.rows[i] != row:
            raise KeyError(row)
        return i

    def view(self, index: int) -> RowView:
        """The verdict of the row at ``index`` (an edited row's latest)."""
        if index in self.overlay:
            return self.overlay[index]
        return next(self._read([index]))

    def replace(self, index: int, view: RowView) -> None:
        """Lay an edited row's new verdict over the file's."""
        self.overlay[index] = view
        self.statuses[index] = STATUSES.index(view.status)
        self.flags[index] = HAS_WARNINGS if view.warnings else 0
        self._cached = None

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
            found = array("l", (i for i in range(len(self)) if self._fits(i, code, bool(warning))))
        if warning or search:
            found = array("l", self._by_text(found, (warning or "").casefold(), search))
        self._cached = (key, found)
        return found

    def _fits(self, index: int, code: int | None, warned: bool) -> bool:
        """True when the row has this status code (None: any) and, if asked, a warning."""
        return (code is None or self.statuses[index] == code) and (
            not warned or bool(self.flags[index])
        )

    def _raw_hits(self, needle: bytes) -> Iterator[int]:
        """Rows whose bytes in the file contain ``needle`` (ASCII, lower case) in any case.

        A cheap screen before rows are parsed: the file is read in blocks and searched with
        bytes.find; only the rows it finds are parsed and checked exactly.
        """
        offsets, rows = self.offsets, len(self)
        with open(self.path, "rb") as handle:
            size = handle.seek(0, 2)
            first = 0
            while first < rows:
                start = offsets[first]
                last = max(bisect_right(offsets, start + BLOCK_BYTES) - 1, first + 1)
                end = offsets[last] if last < rows else size
                handle.seek(start)
                block = handle.read(end - start).lower()
                at = block.find(needle)
                while at >= 0:
                    row = bisect_right(offsets, start + at) - 1
                    yield row
                    after = offsets[row + 1] if row + 1 < rows else size
                    at = block.find(needle, after - start)
                first = last

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
            lines = _Lines(handle, 0)
            reader = csv.reader(lines)
            position = -1
            for i in indices:
                if i != position + 1 or position < 0:
                    handle.seek(self.offsets[i])
                    lines.offset = self.offsets[i]
                yield self._to_view(next(reader))
                position = i

    def _to_view(self, record: list[str]) -> RowView:
        at = self.at
        warnings = record[at["warnings"]]
        return RowView(
            row=int(record[at["row"]]),
            status=record[at["status"]],
            error=record[at["error"]] or None,
            warnings=warnings.split("; ") if warnings else [],
            cells={h: _plain(record[n]) for n, h in enumerate(self.headers)},
            purchase_id=record[at["purchase_id"]] or None,
        )


def warning_kind(text: str) -> str:
    """A warning with its values left out, so warnings of one kind count together:
    ``date 2027-01-01 is in the future`` -> ``date … is in the future``."""
    return VALUES.sub("…", text)


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
