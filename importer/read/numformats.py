"""The currency an .xlsx workbook's number format shows beside a number.

python-calamine reads a cell formatted ``[$€-407] #,##0.00`` as the bare number 1500.0: the euro
sign Excel shows is lost, and with no currency column the amount would go to a dollar channel
as dollars. The styles part maps each cell style (the ``s`` of ``<c r="B2" s="7">``) to a number
format; :func:`currency_styles` finds the styles whose format names exactly one currency, the
sheet scan (``importer.read.hidden``) finds the cells that use them, and the loader shows such a
number as ``1500 EUR``: the amount parser then checks that currency as it checks "1.500,00 €"
in a CSV.

A format names a currency by a symbol with its locale (``[$$-409]``: US dollars, ``[$kr.-406]``:
Danish kroner), by a code (``[$EUR]``, ``0.00" EUR"``) or by a symbol of one currency (``€``,
``£``). A bare ``$``, ``¥`` or ``kr`` names a currency of the computer's locale, which the file
does not record: such a format names none (the row is sent unchecked, as a plain number is).
"""

from __future__ import annotations

import re
import zipfile
from bisect import bisect_left, bisect_right
from collections.abc import Iterator
from dataclasses import dataclass
from xml.etree import ElementTree

import numpy

from importer.currencies import SYMBOLS

_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
# A quoted literal, a [$symbol-locale] tag, another [...] tag (colour, condition), an escaped
# character, a character only padded with or repeated ("_)", "* "), or a currency symbol
# standing bare in the format.
_TOKEN = re.compile(
    r'"(?P<quoted>[^"]*)"|\[\$(?P<symbol>[^\]-]*)(?:-(?P<locale>[0-9A-Fa-f]+))?\]|\[[^\]]*\]'
    r"|\\(?P<escaped>.)|[_*].|(?P<bare>[$€£¥])"
)
_MARKS_IN_TEXT = re.compile(r"US\$|[$€£¥]|\bkr\.?|\b[A-Z]{3}\b")
#: A symbol shared by several currencies, with the Windows locale id that says which.
_BY_LOCALE = {
    ("$", 0x0409): "USD",
    ("$", 0x1009): "CAD",
    ("$", 0x0C09): "AUD",
    ("$", 0x1409): "NZD",
    ("$", 0x080A): "MXN",
    ("$", 0x4809): "SGD",
    ("$", 0x3C09): "HKD",
    ("¥", 0x0411): "JPY",
    ("¥", 0x0804): "CNY",
    ("kr", 0x0406): "DKK",
    ("kr.", 0x0406): "DKK",
    ("kr", 0x041D): "SEK",
    ("kr", 0x0414): "NOK",
    ("kr.", 0x040F): "ISK",
    ("kr", 0x040F): "ISK",
}
_SHARED = {"$", "¥", "kr", "kr."}  # without a locale: a currency of the computer's locale
_VAGUE = "?"
#: Runs of rows recorded at most a column; past it its cells read as plain numbers (sent
#: unchecked).
MAX_RUNS = 100_000


def format_currency(code: str) -> str | None:
    """The ISO code of the one currency a number format shows, or None (none, several, or one
    that depends on the computer's locale)."""
    found: set[str] = set()
    for token in _TOKEN.finditer(code):
        if token["quoted"] is not None:
            found.update(_mark_code(m, None) for m in _MARKS_IN_TEXT.findall(token["quoted"]))
        elif token["symbol"] is not None:
            locale = int(token["locale"], 16) & 0xFFFF if token["locale"] else None
            found.add(_mark_code(token["symbol"].strip(), locale))
        elif token["escaped"] is not None or token["bare"] is not None:
            found.add(_mark_code(token["escaped"] or token["bare"], None))
    found.discard("")
    return found.pop() if len(found) == 1 and _VAGUE not in found else None


def _mark_code(mark: str, locale: int | None) -> str:
    """The code a mark names, ``_VAGUE`` when it names several, "" when it is no currency."""
    if (mark, locale) in _BY_LOCALE:
        return _BY_LOCALE[mark, locale]
    if mark in _SHARED:
        return _VAGUE
    if mark in SYMBOLS:
        return SYMBOLS[mark] or _VAGUE
    return mark if re.fullmatch(r"[A-Z]{3}", mark) else ""


def currency_styles(archive: zipfile.ZipFile) -> dict[int, str]:
    """Cell style index -> the ISO code its number format shows, for the styles of the
    workbook's styles part that show one. Empty when there is none, or no readable styles."""
    try:
        root = ElementTree.fromstring(archive.read("xl/styles.xml"))
    except KeyError:
        return {}
    formats = {}
    for number_format in root.iter(f"{_MAIN}numFmt"):
        currency = format_currency(number_format.get("formatCode", ""))
        if currency is not None:
            formats[number_format.get("numFmtId")] = currency
    cell_styles = root.find(f"{_MAIN}cellXfs")
    if not formats or cell_styles is None:
        return {}
    styles = enumerate(cell_styles.iter(f"{_MAIN}xf"))
    return {i: formats[xf.get("numFmtId")] for i, xf in styles if xf.get("numFmtId") in formats}


@dataclass
class CurrencyRuns:
    """The rows of one column whose cells use a currency format, as runs of consecutive rows."""

    firsts: list[int]
    lasts: list[int]
    codes: list[str]

    @classmethod
    def empty(cls) -> CurrencyRuns:
        """No rows yet."""
        return cls([], [], [])

    def add_cells(self, rows: numpy.ndarray, code_ids: numpy.ndarray, codes: list[str]) -> None:
        """Record cells: their rows (in sheet order) and the index in ``codes`` of each one's
        currency. A row seen again (two scanned blocks overlap by a cell) is ignored."""
        if self.lasts:
            later = rows > self.lasts[-1]
            rows, code_ids = rows[later], code_ids[later]
        if not len(rows) or len(self.firsts) >= MAX_RUNS:
            return
        breaks = numpy.flatnonzero((numpy.diff(rows) != 1) | (numpy.diff(code_ids) != 0))
        starts = numpy.concatenate(([0], breaks + 1))
        ends = numpy.concatenate((breaks, [len(rows) - 1]))
        firsts, lasts = rows[starts].tolist(), rows[ends].tolist()
        run_codes = [codes[i] for i in code_ids[starts].tolist()]
        if self.lasts and self.codes[-1] == run_codes[0] and firsts[0] == self.lasts[-1] + 1:
            self.lasts[-1] = lasts[0]
            firsts, lasts, run_codes = firsts[1:], lasts[1:], run_codes[1:]
        self.firsts += firsts
        self.lasts += lasts
        self.codes += run_codes

    def spans(self, rows: list[int]) -> Iterator[tuple[int, int, str]]:
        """(start, stop, code): the indexes ``rows[start:stop]`` (1-based row numbers in
        ascending order) whose cells show currency ``code``."""
        if not rows or not self.firsts:
            return
        at = max(bisect_right(self.firsts, rows[0]) - 1, 0)
        while at < len(self.firsts) and self.firsts[at] <= rows[-1]:
            start = bisect_left(rows, self.firsts[at])
            stop = bisect_right(rows, self.lasts[at], start)
            if start < stop:
                yield start, stop, self.codes[at]
            at += 1

    def __len__(self) -> int:
        return len(self.firsts)
