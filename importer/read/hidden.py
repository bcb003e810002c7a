"""What an .xlsx sheet hides from its reader: rows and columns hidden (by hand or by an
autofilter), formulas whose result was never calculated, Excel error values, and the currency
a cell's number format shows (``importer.read.numformats``).

python-calamine does not expose row visibility, so the sheet's XML is scanned for
``<row ... hidden="1">`` and ``<col ... hidden="1">`` tags. It reads a formula cell as its saved
result, and a workbook written by a program that does not calculate (a report generator, a
script) saves none: such a cell would read as empty, as if the file held no amount or date, so
the scan also finds formula cells without a result (``<c><f>B2*1.25</f><v/></c>``) and the
loader shows them as their formula. An error value (``<c t="e"><v>#N/A</v></c>``) also reads
as empty; the loader shows it as Excel does. The scan streams the decompressed XML in blocks
and looks at tags only in blocks that mention ``hidden``, a formula, an error or a currency
style: a sheet of
millions of rows is never held in memory, and a sheet with nothing hidden costs one pass of
``bytes.find``.
"""

from __future__ import annotations

import html
import posixpath
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import IO
from xml.etree import ElementTree

import numpy

from importer.read.numformats import CurrencyRuns, currency_styles

_BLOCK = 1 << 20
_HIDDEN_ROW = re.compile(rb"<(?:\w+:)?row\b[^>]*?\bhidden=\"(?:1|true)\"[^>]*>")
_HIDDEN_COL = re.compile(rb"<(?:\w+:)?col\b[^>]*?\bhidden=\"(?:1|true)\"[^>]*>")
_ROW_NUMBER = re.compile(rb"\br=\"(\d+)\"")
# The end of a formula with no result after it: "</f>" or "<f .../>", then no <v> or "<v/>",
# then the cell's end. A formula with a result fails at its "<v>1" at once; "<v></v>" is an
# empty text result (Excel, LibreOffice and xlsxwriter write it so). Two patterns that start
# with a literal ("f>", "/>"): the regex engine then skips to it (4x faster than one pattern
# starting with "<" on a sheet of 100,000 formulas: 0.07 s instead of 0.25 s).
_UNCALCULATED = tuple(
    re.compile(end + rb"\s*(?:<(?:\w+:)?v\s*/>)?\s*</(?:\w+:)?c>") for end in (rb"f>", rb"/>")
)
_WITH_RESULT = re.compile(rb"f>\s*<(?:\w+:)?v>[^<]*</(?:\w+:)?v>\s*</(?:\w+:)?c>")
_CELL = re.compile(rb"<(?:\w+:)?c\b([^>]*)>\s*<(?:\w+:)?f\b[^>]*?(?:/>|>([^<]*)<)")
_CELL_REF = re.compile(rb"\br=\"([A-Z]{1,3})(\d+)\"")
_TEXT_RESULT = re.compile(rb"\bt=\"(?:str|e)\"")  # an empty text result is a result
_ERROR_CELL = re.compile(
    rb"<(?:\w+:)?c\b([^>]*\bt=\"e\"[^>]*)>(?:\s*<(?:\w+:)?f\b[^>]*(?:/>|>[^<]*</(?:\w+:)?f>))?"
    rb"\s*<(?:\w+:)?v>([^<]*)</(?:\w+:)?v>"
)
_LONGEST_CELL = 64 * 1024
MAX_UNREAD = 100_000  # cells shown as the file holds them; past it they read as empty
_COL_RANGE = re.compile(
    rb"\bmin=\"(\d+)\"[^>]*?\bmax=\"(\d+)\"|\bmax=\"(\d+)\"[^>]*?\bmin=\"(\d+)\""
)
_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_PACKAGE_REL = "{http://schemas.openxmlformats.org/package/2006/relationships}"


@dataclass(frozen=True)
class HiddenCells:
    """The 1-based row numbers and 0-based column indexes hidden in one sheet."""

    rows: frozenset[int] = field(default_factory=frozenset)
    columns: frozenset[int] = field(default_factory=frozenset)
    #: (1-based row, 0-based column) -> what the cell holds that the reader reads as empty:
    #: "=formula" of a formula with no saved result, or an error value such as "#N/A".
    unread: dict[tuple[int, int], str] = field(default_factory=dict)
    #: The workbook asks to be recalculated when opened: every formula's saved result may be
    #: a placeholder, so ``unread`` holds every formula, and the loader shows them all.
    stale: bool = False
    #: 0-based column -> the rows whose cells show a currency by their number format.
    currencies: dict[int, CurrencyRuns] = field(default_factory=dict)
    #: The workbook uses the 1904 date system (``<workbookPr date1904="1"/>``, Mac Excel's):
    #: the reader applies it to date cells, but a number cell holding a serial date is only a
    #: number, and counts from 1904-01-01 (1462 days later than in the 1900 system).
    date1904: bool = False

    def up_to(self, last_row: int | None) -> HiddenCells:
        """These cells without the rows after ``last_row`` (None: all of them)."""
        if last_row is None or not self.rows or max(self.rows) <= last_row:
            return self
        return replace(self, rows=frozenset(r for r in self.rows if r <= last_row))


def find_hidden(path: Path, sheet: str, last_row: int | None = None) -> HiddenCells:
    """The hidden rows and columns of ``sheet`` in the .xlsx at ``path``.

    last_row: rows after it are left out (the sheet's data ends there).
    Anything that cannot be read (not a zip, a sheet stored unusually) gives "nothing hidden":
    the loader has already read the workbook, so this only adds warnings.
    """
    stale, styles, date1904 = _workbook_facts(path)
    scan = partial(_scan, stale=stale, styles=styles)
    cells = scan_sheet_member(path, partial(_sheet_member, sheet=sheet), scan, last_row)
    return replace(cells, date1904=True) if date1904 else cells


def _workbook_facts(path: Path) -> tuple[bool, dict[int, str], bool]:
    """Whether the workbook asks to be recalculated when opened (``fullCalcOnLoad``: written by
    a program that does not calculate; xlsxwriter saves 0 as every formula's result), its
    cell styles that show a currency (see importer.read.numformats), and whether it uses the
    1904 date system."""
    try:
        with zipfile.ZipFile(path) as archive:
            workbook = ElementTree.fromstring(archive.read("xl/workbook.xml"))
            styles = currency_styles(archive)
    except (OSError, zipfile.BadZipFile, KeyError, EOFError, ElementTree.ParseError):
        return False, {}, False
    calc = workbook.find(f"{_MAIN}calcPr")
    properties = workbook.find(f"{_MAIN}workbookPr")
    return (
        calc is not None and calc.get("fullCalcOnLoad") in ("1", "true"),
        styles,
        properties is not None and properties.get("date1904") in ("1", "true"),
    )


def scan_sheet_member(
    path: Path,
    find_member: Callable[[zipfile.ZipFile], str | None],
    scan: Callable[[IO[bytes]], HiddenCells],
    last_row: int | None,
) -> HiddenCells:
    """Open the zip member ``find_member`` names and ``scan`` it for hidden cells (rows after
    ``last_row`` left out); anything unreadable gives "nothing hidden"."""
    try:
        with zipfile.ZipFile(path) as archive:
            member = find_member(archive)
            if member is None:
                return HiddenCells()
            with archive.open(member) as stream:
                return scan(stream).up_to(last_row)
    except (OSError, zipfile.BadZipFile, KeyError, EOFError, ElementTree.ParseError):
        return HiddenCells()


def _sheet_member(archive: zipfile.ZipFile, sheet: str) -> str | None:
    """The zip member holding ``sheet`` (workbook.xml names it, its .rels locates it)."""
    workbook = ElementTree.fromstring(archive.read("xl/workbook.xml"))
    rel_id = next(
        (s.get(f"{_REL}id") for s in workbook.iter(f"{_MAIN}sheet") if s.get("name") == sheet),
        None,
    )
    if rel_id is None:
        return None
    return relationship_target(archive, "xl/_rels/workbook.xml.rels", rel_id)


def relationship_target(archive: zipfile.ZipFile, rels: str, rel_id: str) -> str | None:
    """The zip member that relationship ``rel_id`` of the workbook's ``rels`` part points to
    (the same for .xlsx and .xlsb)."""
    for rel in ElementTree.fromstring(archive.read(rels)).iter(f"{_PACKAGE_REL}Relationship"):
        if rel.get("Id") == rel_id:
            target = rel.get("Target", "")
            if target.startswith("/"):
                return target.lstrip("/")
            return posixpath.normpath(posixpath.join("xl", target))
    return None


def _scan(stream, stale: bool = False, styles: dict[int, str] | None = None) -> HiddenCells:
    rows: set[int] = set()
    columns: set[int] = set()
    unread: dict[tuple[int, int], str] = {}
    currencies: dict[int, CurrencyRuns] = {}
    styled = _CurrencyCells(styles) if styles else None
    tail = b""
    while True:
        block = stream.read(_BLOCK)
        data = tail + block
        # A tag may straddle two blocks: keep the text after the last '<' for the next round,
        # or from the last cell's start (a formula cell is several tags; sets forget repeats).
        cut = data.rfind(b"<") if block else len(data)
        if cut < 0:
            cut = len(data)
        if b"hidden" in data[:cut]:
            _hidden_tags(data, cut, rows, columns)
        if b"f>" in data[:cut] or b"<f " in data[:cut]:
            _uncalculated(data, cut, unread, stale)
        if b't="e"' in data[:cut]:
            _error_values(data, cut, unread)
        if styled is not None:
            styled.add(data, cut, currencies)
        cell = max(data.rfind(b"<c ", 0, cut), data.rfind(b":c ", 0, cut))
        keep = cell if block and cell >= 0 and cut - cell < _LONGEST_CELL else cut
        tail = data[keep:]
        if not block:
            return HiddenCells(frozenset(rows), frozenset(columns), unread, stale, currencies)


def _hidden_tags(data: bytes, cut: int, rows: set[int], columns: set[int]) -> None:
    for tag in _HIDDEN_ROW.finditer(data, 0, cut):
        number = _ROW_NUMBER.search(tag[0])
        if number:
            rows.add(int(number[1]))
    for tag in _HIDDEN_COL.finditer(data, 0, cut):
        found = _COL_RANGE.search(tag[0])
        if found:
            low, high = (found[1], found[2]) if found[1] else (found[4], found[3])
            columns.update(range(int(low) - 1, int(high)))


def _uncalculated(data: bytes, cut: int, unread: dict[tuple[int, int], str], stale: bool) -> None:
    """Add the formula cells ending before ``cut`` that have no saved result (``stale``:
    every formula cell, whatever result it saved)."""
    patterns = (*_UNCALCULATED, _WITH_RESULT) if stale else _UNCALCULATED
    ends = (end for pattern in patterns for end in pattern.finditer(data, 0, cut))
    for end in ends:
        if len(unread) >= MAX_UNREAD:
            return
        start = max(data.rfind(b"<c ", 0, end.start()), data.rfind(b":c ", 0, end.start()))
        if start < 0:
            continue
        cell = _CELL.match(data, data.rfind(b"<", 0, start + 1), end.end())
        if cell is None or (_TEXT_RESULT.search(cell[1]) and not stale):
            continue
        where = _CELL_REF.search(cell[1])
        if where is not None:
            text = html.unescape((cell[2] or b"").decode("utf-8", "replace")).strip()
            unread[int(where[2]), _column_index(where[1])] = "=" + (text or "(formula)")


def _error_values(data: bytes, cut: int, unread: dict[tuple[int, int], str]) -> None:
    """Add the cells before ``cut`` holding an error value ("#N/A", "#VALUE!")."""
    for cell in _ERROR_CELL.finditer(data, 0, cut):
        where = _CELL_REF.search(cell[1])
        if where is not None and len(unread) < MAX_UNREAD:
            value = html.unescape(cell[2].decode("utf-8", "replace")).strip()
            unread[int(where[2]), _column_index(where[1])] = value or "#VALUE!"


class _CurrencyCells:
    """Finds the cells whose style shows a currency (``styles``: style index -> code)."""

    def __init__(self, styles: dict[int, str]) -> None:
        self.marks = [b's="%d"' % style for style in styles]
        self.codes = sorted(set(styles.values()))
        # style index -> index in self.codes
        self.code_ids = numpy.full(max(styles) + 1, -1, dtype=numpy.int64)
        for style, code in styles.items():
            self.code_ids[style] = self.codes.index(code)
        numbers = b"|".join(b"%d" % style for style in styles)
        # Excel, openpyxl and xlsxwriter write r= before s=; a cell written otherwise is not
        # found, and its number is sent unchecked, as a number without a currency format is.
        self.cell = re.compile(
            rb"<(?:\w+:)?c\s+r=\"([A-Z]{1,3})(\d+)\"[^>]*?\ss=\"(" + numbers + rb")\""
        )

    def add(self, data: bytes, cut: int, currencies: dict[int, CurrencyRuns]) -> None:
        """Record the currency cells that end before ``cut`` (numpy: a sheet of a million
        currency cells would otherwise take a second of Python loops)."""
        if not any(data.find(mark, 0, cut) >= 0 for mark in self.marks):
            return
        found = self.cell.findall(data, 0, cut)
        if not found:
            return
        letters, rows, styles = (numpy.array(part) for part in zip(*found, strict=True))
        rows, styles = rows.astype(numpy.int64), styles.astype(numpy.int64)
        for column_letters in numpy.unique(letters):
            here = letters == column_letters
            runs = currencies.get(column := _column_index(bytes(column_letters)))
            if runs is None:
                runs = currencies[column] = CurrencyRuns(self.codes)
            runs.add_cells(rows[here], self.code_ids[styles[here]])


def _column_index(letters: bytes) -> int:
    """0-based index of column letters ("A" 0, "Z" 25, "AA" 26)."""
    index = 0
    for letter in letters:
        index = index * 26 + letter - 64
    return index - 1
