"""Rows and columns hidden in a sheet of an OpenDocument spreadsheet (.ods).

LibreOffice marks a row hidden by hand with ``table:visibility="collapse"`` and one hidden by a
filter with ``"filter"`` on its ``<table:table-row>``; columns the same on
``<table:table-column>``. Identical neighbours are written once with
``table:number-rows-repeated`` (or ``-columns-``). python-calamine does not expose visibility,
so ``content.xml`` (every sheet in one part) is streamed in blocks: blocks inside the sheet that
mention neither visibility nor repetition only have their rows counted (``bytes.count``), the
others are read tag by tag. Like python-calamine, tags are matched with the ``table:`` prefix
that every ODF writer uses.
"""

from __future__ import annotations

import html
import re
import zipfile
from pathlib import Path

import numpy

from importer.read.hidden import HiddenCells
from importer.read.numformats import PERCENT, CurrencyRuns

_BLOCK = 1 << 20
_MAX_COLUMNS = 16_384  # past Excel's and LibreOffice's widest sheet
_MAX_ROWS = 1_048_576
_TAGS = re.compile(rb"<table:table(-row|-column)?(?:[\s/][^>]*)?>|</table:table>")
# The same with the cells, for blocks holding a currency cell (their column is counted).
_CELL_TAGS = re.compile(
    rb"<table:table(-row|-column)?(?:[\s/][^>]*)?>|</table:table>"
    rb"|<table:(?:covered-)?table-cell(?:[\s/][^>]*)?>"
)
_CELLS_REPEATED = re.compile(rb"\btable:number-columns-repeated=[\"'](\d+)[\"']")
_CURRENCY = re.compile(rb"\boffice:currency=[\"']([A-Za-z]{3})[\"']")
_CURRENCY_MARK = b"office:currency="
#: A percentage cell (LibreOffice's Percent format: 0.15 shown as 15%): recorded as PERCENT.
_PERCENT_MARKS = (b'office:value-type="percentage"', b"office:value-type='percentage'")
_MAX_SPREAD = 1_000  # repeated currency cells recorded at most (a formatted empty block)
_NAME = re.compile(rb"\btable:name=(?:\"([^\"]*)\"|'([^']*)')")
_REPEATED = re.compile(rb"\btable:number-(?:rows|columns)-repeated=[\"'](\d+)[\"']")
_HIDDEN = re.compile(rb"\btable:visibility=[\"'](?:collapse|filter)[\"']")
_CELL_MARKS = (_CURRENCY_MARK, *_PERCENT_MARKS)  # the blocks whose cells are looked at
_SLOW = (b"visibility", b"-repeated", b"<table:table ", b"</table:table>", *_CELL_MARKS)
_ROW_STARTS = (b"<table:table-row ", b"<table:table-row>")


def find_hidden_ods(path: Path, sheet: str, last_row: int | None = None) -> HiddenCells:
    """The hidden rows (1-based) and columns (0-based) of ``sheet`` in the .ods at ``path``.

    last_row: rows after it are left out (a hidden block of empty rows can run to the sheet's
    millionth row). Anything unreadable gives "nothing hidden": the loader has already read the
    workbook, so this only adds warnings.
    """
    scan = _Scan(sheet, last_row or _MAX_ROWS)
    try:
        with zipfile.ZipFile(path) as archive, archive.open("content.xml") as stream:
            tail = b""
            while not scan.done:
                block = stream.read(_BLOCK)
                data = tail + block
                # A tag may straddle two blocks: keep the text after the last '<' for the next.
                cut = data.rfind(b"<") if block else len(data)
                scan.feed(data, cut if cut >= 0 else len(data))
                tail = data[cut:] if block and cut >= 0 else b""
                if not block:
                    break
    except (OSError, zipfile.BadZipFile, KeyError, EOFError):
        return HiddenCells()
    return HiddenCells(frozenset(scan.rows), frozenset(scan.columns), currencies=scan.currencies())


class _Scan:
    """Where the scan of content.xml is: inside the wanted sheet or not, rows and columns seen."""

    def __init__(self, sheet: str, last_row: int) -> None:
        self.sheet, self.last_row = sheet, last_row
        self.inside = self.done = False
        self.row = self.column = 0  # rows and columns of the sheet read so far
        self.rows: set[int] = set()
        self.columns: set[int] = set()
        #: The current row tag's first row and repeat, and the column its next cell is in
        #: (None: unknown, its start was only counted; its cells are then not looked at).
        self.row_tag: tuple[int, int] = (0, 1)
        self.cell: int | None = None
        self.codes: list[str] = []
        self.cells: dict[int, tuple[list[int], list[int]]] = {}  # column -> rows, code ids

    def feed(self, data: bytes, cut: int) -> None:
        """Take in the complete tags of ``data[:cut]``."""
        if not any(data.find(mark, 0, cut) >= 0 for mark in _SLOW):
            if self.inside:  # plain rows: count them
                self.row += sum(data.count(start, 0, cut) for start in _ROW_STARTS)
                self.cell = None
            return
        if not self.inside and data.find(b"<table:table ", 0, cut) < 0:
            return  # only other sheets' rows and columns
        marked = any(data.find(mark, 0, cut) >= 0 for mark in _CELL_MARKS)
        tags = _CELL_TAGS if marked else _TAGS
        if tags is _TAGS:
            self.cell = None
        for tag in tags.finditer(data, 0, cut):
            if tag[0].startswith(b"<table:table-cell") or tag[0].startswith(b"<table:covered"):
                self._cell(tag[0])
                continue
            self._tag(tag[0], tag[1])
            if self.done:
                return

    def _cell(self, tag: bytes) -> None:
        """Count a cell's columns; record a currency cell (LibreOffice's Currency format:
        ``office:value-type="currency" office:currency="EUR"``) in every row of its row tag."""
        if not self.inside or self.cell is None:
            return
        repeated = _CELLS_REPEATED.search(tag)
        count = int(repeated[1]) if repeated else 1
        code = _cell_code(tag)
        if code is not None:
            if code not in self.codes:
                self.codes.append(code)
            first, rows = self.row_tag
            for column in range(self.cell, self.cell + min(count, _MAX_SPREAD)):
                found_rows, ids = self.cells.setdefault(column, ([], []))
                spread = range(first, min(first + rows, self.last_row + 1, first + _MAX_SPREAD))
                found_rows.extend(spread)
                ids.extend([self.codes.index(code)] * len(spread))
        self.cell += count

    def currencies(self) -> dict[int, CurrencyRuns]:
        """Column -> the rows whose cells hold a currency amount."""
        found = {}
        for column, (rows, ids) in self.cells.items():
            runs = found[column] = CurrencyRuns(self.codes)
            runs.add_cells(
                numpy.array(rows, dtype=numpy.int64), numpy.array(ids, dtype=numpy.int64)
            )
        return found

    def _tag(self, tag: bytes, part: bytes | None) -> None:
        if tag.startswith(b"</"):
            self.done = self.inside
            return
        if part is None:  # a sheet starts
            found = _NAME.search(tag)
            name = (found[1] if found[1] is not None else found[2]) if found else b""
            self.inside = html.unescape(name.decode("utf-8", "replace")) == self.sheet
            return
        if not self.inside:
            return
        repeated = _REPEATED.search(tag)
        count = int(repeated[1]) if repeated else 1
        hidden = _HIDDEN.search(tag) is not None
        if part == b"-row":
            if hidden and self.row < self.last_row:
                self.rows.update(range(self.row + 1, min(self.row + count, self.last_row) + 1))
            self.row_tag, self.cell = (self.row + 1, count), 0
            self.row += count
        else:
            if hidden and self.column < _MAX_COLUMNS:
                self.columns.update(range(self.column, min(self.column + count, _MAX_COLUMNS)))
            self.column += count


def _cell_code(tag: bytes) -> str | None:
    """The currency a cell tag holds its amount in, PERCENT for a percentage, else None."""
    if _CURRENCY_MARK in tag and (found := _CURRENCY.search(tag)) is not None:
        return found[1].decode().upper()
    if any(mark in tag for mark in _PERCENT_MARKS):
        return PERCENT
    return None
