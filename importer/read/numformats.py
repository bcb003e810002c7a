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

A percentage format (``0%``, ``0.00%``) is recorded the same way as :data:`PERCENT`: the cell
shows 15% for the 0.15 it holds, which is no purchase amount (a CSV's "15%" is refused too).
"""

from __future__ import annotations

import re
import zipfile
from bisect import bisect_left, bisect_right
from collections.abc import Iterator
from xml.etree import ElementTree

import numpy

from importer.currencies import ISO_CODES, SYMBOLS

_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
# A quoted literal, a [$symbol-locale] tag, another [...] tag (colour, condition), an escaped
# character, a character only padded with or repeated ("_)", "* "), or a currency symbol
# standing bare in the format.
_TOKEN = re.compile(
    r'"(?P<quoted>[^"]*)"|\[\$(?P<symbol>[^\]-]*)(?:-(?P<locale>[^\]]+))?\]|\[[^\]]*\]'
    r"|[_*].|(?P<bare>[$€£¥₹₩₺₽])"
)
_ESCAPED = re.compile(r"(?:\\.)+")  # \E\U\R: a literal written a character at a time
_MARKS_IN_TEXT = re.compile(r"US\$|R\$|[$€£¥₹₩₺₽]|zł|Kč|\bkr\.?|\b[A-Z]{3}\b")
#: A symbol shared by several currencies, with the Windows locale (a number) or the language
#: tag (newer Excel: [$$-en-US]) that says which.
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
    ("$", "en-us"): "USD",
    ("$", "en-ca"): "CAD",
    ("$", "en-au"): "AUD",
    ("$", "en-nz"): "NZD",
    ("$", "es-mx"): "MXN",
    ("$", "en-sg"): "SGD",
    ("$", "zh-hk"): "HKD",
    ("¥", "ja-jp"): "JPY",
    ("¥", "zh-cn"): "CNY",
    ("kr", "da-dk"): "DKK",
    ("kr.", "da-dk"): "DKK",
    ("kr", "sv-se"): "SEK",
    ("kr", "nb-no"): "NOK",
    ("kr", "is-is"): "ISK",
    ("kr.", "is-is"): "ISK",
}
#: What a style "shows" instead of a currency when its format is a percentage: the amount
#: parser refuses such a cell (Excel shows 15% for the 0.15 it holds: no amount either way).
PERCENT = "%"
_PERCENT_FORMAT_IDS = ("9", "10")  # Excel's built-in 0% and 0.00%, in no numFmt element
_SHARED = {"$", "¥", "kr", "kr."}  # without a locale: a currency of the computer's locale
_VAGUE = "?"


def format_currency(code: str) -> str | None:
    """The ISO code of the one currency a number format shows, or None (none, several, or one
    that depends on the computer's locale)."""
    code = _ESCAPED.sub(lambda run: '"' + run[0].replace("\\", "") + '"', code)
    found: set[str] = set()
    for token in _TOKEN.finditer(code):
        if token["quoted"] is not None:
            found.update(_mark_code(m, None) for m in _MARKS_IN_TEXT.findall(token["quoted"]))
        elif token["symbol"] is not None:
            found.add(_mark_code(token["symbol"].strip(), _locale(token["locale"])))
        elif token["bare"] is not None:
            found.add(_mark_code(token["bare"], None))
    found.discard("")
    return found.pop() if len(found) == 1 and _VAGUE not in found else None


def _locale(text: str | None) -> int | str | None:
    """A format's locale: a Windows locale id (hex, "407"), else a language tag ("en-us")."""
    if not text:
        return None
    if re.fullmatch(r"[0-9A-Fa-f]+", text):
        return int(text, 16) & 0xFFFF
    return text.lower()


def _mark_code(mark: str, locale: int | str | None) -> str:
    """The code a mark names, ``_VAGUE`` when it names several, "" when it is no currency."""
    if (mark, locale) in _BY_LOCALE:
        return _BY_LOCALE[mark, locale]
    if mark in _SHARED:
        return _VAGUE
    if mark in SYMBOLS:
        return SYMBOLS[mark] or _VAGUE
    return mark if mark in ISO_CODES else ""


def format_percent(code: str) -> bool:
    """True when a number format shows its number as a percentage (``0.00%``: 0.15 shows 15%),
    a ``%`` outside its quoted literals and tags."""
    code = _ESCAPED.sub("", code)
    return "%" in _TOKEN.sub("", code)


def currency_styles(archive: zipfile.ZipFile) -> dict[int, str]:
    """Cell style index -> the ISO code its number format shows (:data:`PERCENT` for a
    percentage), for the styles of the workbook's styles part that show one. Empty when there
    is none, or no readable styles."""
    try:
        root = ElementTree.fromstring(archive.read("xl/styles.xml"))
    except KeyError:
        return {}
    formats = dict.fromkeys(_PERCENT_FORMAT_IDS, PERCENT)
    for number_format in root.iter(f"{_MAIN}numFmt"):
        code = number_format.get("formatCode", "")
        currency = PERCENT if format_percent(code) else format_currency(code)
        if currency is not None:
            formats[number_format.get("numFmtId")] = currency
    cell_styles = root.find(f"{_MAIN}cellXfs")
    if not formats or cell_styles is None:
        return {}
    styles = enumerate(cell_styles.iter(f"{_MAIN}xf"))
    return {i: formats[xf.get("numFmtId")] for i, xf in styles if xf.get("numFmtId") in formats}


class CurrencyRuns:
    """The rows of one column whose cells use a currency format. Cells are gathered as the
    sheet is scanned (16 bytes a cell: a sheet holds at most 1,048,576 rows), then kept as runs
    of consecutive rows in one currency (a column of one format is one run)."""

    def __init__(self, codes: list[str]) -> None:
        self.codes = codes  # the currencies the code ids index
        self._rows: list[numpy.ndarray] = []
        self._ids: list[numpy.ndarray] = []
        self._runs: tuple[numpy.ndarray, numpy.ndarray, numpy.ndarray] | None = None

    def add_cells(self, rows: numpy.ndarray, code_ids: numpy.ndarray) -> None:
        """Record cells: their rows (in sheet order) and the index in ``codes`` of each one's
        currency."""
        self._rows.append(rows)
        self._ids.append(code_ids)
        self._runs = None

    def runs(self) -> tuple[numpy.ndarray, numpy.ndarray, numpy.ndarray]:
        """(first rows, last rows, code ids) of the runs, in row order."""
        if self._runs is None:
            rows = numpy.concatenate(self._rows) if self._rows else numpy.empty(0, numpy.int64)
            ids = numpy.concatenate(self._ids) if self._ids else numpy.empty(0, numpy.int64)
            # Two scanned blocks may overlap by a cell: a row seen again is the same cell.
            order = numpy.argsort(rows, kind="stable")
            rows, ids = rows[order], ids[order]
            keep = numpy.concatenate(([True], rows[1:] != rows[:-1])) if len(rows) else []
            rows, ids = rows[keep], ids[keep]
            breaks = numpy.flatnonzero((numpy.diff(rows) != 1) | (numpy.diff(ids) != 0))
            starts = numpy.concatenate(([0], breaks + 1)).astype(numpy.int64)
            ends = numpy.concatenate((breaks, [len(rows) - 1])).astype(numpy.int64)
            if not len(rows):
                starts = ends = numpy.empty(0, numpy.int64)
            self._runs = (rows[starts], rows[ends], ids[starts])
        return self._runs

    def spans(self, rows: list[int]) -> Iterator[tuple[int, int, str]]:
        """(start, stop, code): the indexes ``rows[start:stop]`` (1-based row numbers in
        ascending order) whose cells show currency ``code``."""
        firsts, lasts, ids = self.runs()
        if not rows or not len(firsts):
            return
        at = max(int(numpy.searchsorted(firsts, rows[0], side="right")) - 1, 0)
        end = int(numpy.searchsorted(firsts, rows[-1], side="right"))
        for first, last, code in zip(
            firsts[at:end].tolist(), lasts[at:end].tolist(), ids[at:end].tolist(), strict=True
        ):
            start = bisect_left(rows, first)
            stop = bisect_right(rows, last, start)
            if start < stop:
                yield start, stop, self.codes[code]
