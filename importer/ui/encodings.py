"""The encodings the match page offers for a CSV file, and how a few cells read in each.

ENCODINGS is the one list: the page's dropdown, its preview and the check of a posted choice
are all derived from it (plus the encoding the loader detected, offered first).
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import io
from dataclasses import dataclass
from itertools import islice
from pathlib import Path

from importer.read.loader import is_excel_sep_line

#: (codec, what a finance user reads), in the order the dropdown shows them.
ENCODINGS = (
    ("utf-8", "UTF-8"),
    ("cp1252", "Windows Western European (cp1252)"),
    ("cp1250", "Central European (cp1250)"),
    ("cp1251", "Cyrillic (cp1251)"),
    ("cp1253", "Greek (cp1253)"),
    ("cp1254", "Turkish (cp1254)"),
    ("cp1255", "Hebrew (cp1255)"),
    ("cp1256", "Arabic (cp1256)"),
    ("cp1257", "Baltic (cp1257)"),
    ("latin-1", "Latin-1 (latin-1)"),
    ("utf-16", "UTF-16"),
)
PREVIEW_BYTES = 64 * 1024  # the preview never decodes more than this of the file
PREVIEW_CELLS = 3
UNREADABLE = "cannot read this file"


@dataclass
class Preview:
    """How the sample cells read in one encoding; ``cells`` is None when they cannot be read."""

    codec: str
    label: str
    cells: list[str] | None


def offered(detected: str | None) -> list[tuple[str, str]]:
    """The (codec, label) choices of the dropdown: the detected encoding first, then ENCODINGS."""
    if not detected:
        return list(ENCODINGS)
    label = dict(ENCODINGS).get(detected, detected)
    return [(detected, f"{label} (detected)"), *ENCODINGS]


def previews(
    path: Path,
    choices: list[tuple[str, str]],
    *,
    encoding: str,
    delimiter: str,
    header_row: int,
    column: int = 0,
) -> list[Preview]:
    """A few cells of the file's first bytes as each choice reads them (each codec once).

    ``encoding``, ``delimiter`` and ``header_row`` say how the file is read now: the cells
    shown are picked in that reading (the first cells holding non-ASCII text, else the first
    cells of ``column``, such as the product name's), then taken from the same place in
    every other reading.
    """
    with path.open("rb") as handle:
        head = handle.read(PREVIEW_BYTES)
        whole = not handle.read(1)
    now = _records(head, encoding, delimiter, whole=whole)
    places = _sample_places(now[header_row:] if now else [], column)
    labels: dict[str, str] = {}
    for codec, label in choices:
        labels.setdefault(codec, label)
    shown = []
    for codec, label in labels.items():
        records = _records(head, codec, delimiter, whole=whole)
        cells = None if records is None else _cells_at(records[header_row:], places)
        shown.append(Preview(codec, label, cells))
    return shown


def _records(head: bytes, codec: str, delimiter: str, *, whole: bool) -> list[list[str]] | None:
    """The CSV records of ``head`` read as ``codec``; None when it cannot be read that way."""
    try:
        text = codecs.getincrementaldecoder(codec)("strict").decode(head, final=whole)
    except (UnicodeError, LookupError):
        return None
    if "\x00" in text:  # CSV text holds no NUL: this is text of another width (UTF-16 or not)
        return None
    if not whole:
        text = text[: text.rfind("\n") + 1]  # the last line may be cut
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff"), newline=""), delimiter=delimiter)
    records: list[list[str]] = []
    with contextlib.suppress(csv.Error):  # the records before one the cut broke still read
        records.extend(reader)
    if records and is_excel_sep_line(records[0], delimiter):
        del records[0]  # rows are counted as Excel shows them, without this line
    return records


def _sample_places(rows: list[list[str]], column: int) -> list[tuple[int, int]]:
    """(row, column) of the first distinct cells holding non-ASCII text, else of the first
    non-empty cells of ``column``."""
    places, seen = [], set()
    for at, cells in enumerate(rows):
        for where, cell in enumerate(cells):
            if not cell.isascii() and cell not in seen:
                seen.add(cell)
                places.append((at, where))
                if len(places) == PREVIEW_CELLS:
                    return places
    if places:
        return places
    filled = (
        (at, column)
        for at, cells in enumerate(rows)
        if column < len(cells) and cells[column].strip()
    )
    return list(islice(filled, PREVIEW_CELLS))


def _cells_at(rows: list[list[str]], places: list[tuple[int, int]]) -> list[str] | None:
    cells = []
    for at, column in places:
        if at >= len(rows) or column >= len(rows[at]):
            return None  # another layout of rows and columns: not this file's encoding
        cells.append(rows[at][column])
    return cells
