"""The row index of a results CSV, built while the file is written (or read once after).

One byte per row (its status and whether it has warnings), the byte offset of every 32nd row
and the row numbers as runs: about 1.1 MB for a million rows. :class:`RowStore` pages rows
through it.
"""

from __future__ import annotations

import csv
import re
from array import array
from bisect import bisect_right
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import accumulate, islice
from pathlib import Path
from typing import BinaryIO

from importer.check.validator import CheckedChunk
from importer.records import RowStatus, split_warnings
from importer.report.results import ResultsWriter, line_lengths, result_positions

#: Quoted values, numbers and dates inside a warning's text.
VALUES = re.compile(r"'[^']*'|\d[\d\-:.,/]*")
STATUSES: tuple[str, ...] = tuple(str(s) for s in RowStatus)
STATUS_CODES = {status: code for code, status in enumerate(STATUSES)}
HAS_WARNINGS = 0x80  # the bit of a row's code that says it has warnings
ROWS_PER_OFFSET = 32  # rows per recorded byte offset (a page skips at most 31 rows)


class Lines:
    """Lines of a binary file as text, counting the bytes read (the next record's offset)."""

    def __init__(self, handle: BinaryIO, offset: int) -> None:
        self.handle = handle
        self.offset = offset

    def __iter__(self) -> Lines:
        return self

    def __next__(self) -> str:
        line = self.handle.readline()
        if not line:
            raise StopIteration
        self.offset += len(line)
        return line.decode("utf-8")


class RowIndex:
    """Where each row of a results CSV is and what it says, gathered row block by row block
    as the file is written (or read)."""

    def __init__(self) -> None:
        self.clear()

    def clear(self) -> None:
        """Forget every row (the file is written again)."""
        self.codes = bytearray()  # per row: its status code | HAS_WARNINGS
        self.offsets = array("q")  # the byte offset of rows 0, 32, 64, ...
        self.run_starts = array("l")  # row numbers as runs: a run starts at this position
        self.run_rows = array("l")  # ... with this row number, and counts up by one
        self.warnings: Counter[str] = Counter()  # rows per kind of warning
        self.end = 0  # the byte offset after the last row

    def __len__(self) -> int:
        return len(self.codes)

    def add_rows(self, start: int, lengths: Sequence[int], rows: Sequence[int], codes) -> None:
        """Rows written from byte ``start`` on, ``lengths[i]`` bytes each; ``codes`` as
        :func:`row_codes` gives them."""
        first = len(self.codes)
        skip = -first % ROWS_PER_OFFSET
        ends = list(accumulate(lengths, initial=start))
        self.offsets.extend(ends[skip : len(lengths) : ROWS_PER_OFFSET])
        self.end = ends[-1]
        self.codes += codes
        self._add_row_numbers(first, rows)

    def _add_row_numbers(self, first: int, rows: Sequence[int]) -> None:
        if not rows:
            return
        if rows[-1] - rows[0] == len(rows) - 1 and self._continues(first, rows[0]):
            return  # the usual chunk: one run, or the one before goes on
        for at, row in enumerate(rows, first):
            if not self._continues(at, row):
                self.run_starts.append(at)
                self.run_rows.append(row)

    def _continues(self, at: int, row: int) -> bool:
        """True when the row at position ``at`` carries on the last run."""
        if not self.run_starts:
            return False
        return self.run_rows[-1] + (at - self.run_starts[-1]) == row

    def note_warnings(self, texts: Iterable[str]) -> None:
        """Count the kinds of warning of the rows whose warnings cells are ``texts``."""
        for text in texts:
            self.warnings.update(set(map(warning_kind, split_warnings(text))))

    def index_of(self, row: int) -> int:
        """The position of row number ``row`` (KeyError when the file has no such row)."""
        run = bisect_right(self.run_rows, row) - 1
        if run < 0:
            raise KeyError(row)
        at = self.run_starts[run] + row - self.run_rows[run]
        ends = self.run_starts[run + 1] if run + 1 < len(self.run_starts) else len(self.codes)
        if at >= ends:
            raise KeyError(row)
        return at


class IndexedWrites:
    """Writes chunks to a CSV results file and indexes their rows as they go."""

    measures = True  # chunks rendered elsewhere come with their RenderedFacts

    def __init__(self, writer: ResultsWriter, index: RowIndex) -> None:
        self.writer, self.index = writer, index

    def write_checked(self, checked: CheckedChunk, columns: list[list[str]]) -> None:
        """Write a chunk this process judged."""
        start, lengths = self.writer.write_measured(checked.chunk, columns)
        warned = [i for i, found in checked.warnings.items() if found]
        self.index.add_rows(start, lengths, checked.chunk.rows, row_codes(checked.statuses, warned))
        self.index.note_warnings("; ".join(checked.warnings[i]) for i in warned)

    def write_rendered(self, data: bytes, count: int, facts: RenderedFacts | None) -> None:
        """Write ``count`` rows another process judged and rendered."""
        assert facts is not None
        start = self.writer.position()
        self.writer.write_rendered(data, count)
        self.index.add_rows(start, facts.lengths, facts.rows, facts.codes)
        self.index.note_warnings(facts.warnings)


@dataclass
class RenderedFacts:
    """What the index needs of a chunk rendered elsewhere: each row's byte length and index
    byte, and the warnings cells that are not empty."""

    rows: list[int]
    lengths: list[int]
    codes: bytearray
    warnings: list[str]

    @classmethod
    def of(cls, checked: CheckedChunk, lines: list[str]) -> RenderedFacts:
        """The facts of a chunk judged into ``checked`` and rendered as ``lines``."""
        warned = [i for i, found in checked.warnings.items() if found]
        return cls(
            rows=checked.chunk.rows,
            lengths=line_lengths(lines),
            codes=row_codes(checked.statuses, warned),
            warnings=["; ".join(checked.warnings[i]) for i in warned],
        )


def row_codes(statuses: Iterable[str], warned: Iterable[int]) -> bytearray:
    """One index byte per row: its status code, with HAS_WARNINGS for the rows ``warned``."""
    codes = bytearray(map(STATUS_CODES.__getitem__, statuses))
    for i in warned:
        codes[i] |= HAS_WARNINGS
    return codes


def scan_results(path: Path, headers: list[str]) -> RowIndex:
    """Read a results CSV once and index it (for a file written without an index)."""
    at = result_positions(headers)
    status_at, warnings_at, row_at = at["status"], at["warnings"], at["row"]
    index = RowIndex()
    with open(path, "rb") as handle:
        lines = Lines(handle, 0)
        reader = csv.reader(lines)
        next(reader, None)  # the header
        while True:
            start = lines.offset
            batch, ends = [], []
            for record in islice(reader, 4096):
                batch.append(record)
                ends.append(lines.offset)
            if not batch:
                break
            lengths = [end - begin for begin, end in zip([start, *ends], ends, strict=False)]
            warned = [i for i, record in enumerate(batch) if record[warnings_at]]
            codes = row_codes((record[status_at] for record in batch), warned)
            rows = [int(record[row_at]) for record in batch]
            index.add_rows(start, lengths, rows, codes)
            index.note_warnings(batch[i][warnings_at] for i in warned)
    return index


class PlainWrites:
    """Writes chunks to a results file, indexing nothing (the CLI's validate and run)."""

    measures = False  # chunks rendered elsewhere need no RenderedFacts

    def __init__(self, writer: ResultsWriter) -> None:
        self.writer = writer

    def write_checked(self, checked: CheckedChunk, columns: list[list[str]]) -> None:
        """Write a chunk this process judged."""
        self.writer.write_columns(checked.chunk, checked.statuses, columns)

    def write_rendered(self, data: bytes, count: int, facts: RenderedFacts | None) -> None:
        """Write ``count`` rows another process judged and rendered."""
        self.writer.write_rendered(data, count)


def warning_kind(text: str) -> str:
    """A warning with its values left out, so warnings of one kind count together:
    ``date 2027-01-01 is in the future`` -> ``date … is in the future``."""
    return VALUES.sub("…", text)
