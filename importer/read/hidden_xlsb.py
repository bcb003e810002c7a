"""Rows and columns hidden in a sheet of an Excel binary workbook (.xlsb).

An .xlsb is a zip of BIFF12 record streams (MS-XLSB): each record is a type (1-2 bytes) and a
size (1-4 bytes), 7 bits a byte, then its body. The workbook part's BrtBundleSh records name the
sheets and their relationship ids (located through ``xl/_rels/workbook.bin.rels``, as in an
.xlsx). In a sheet, BrtColInfo records (before the data) carry a column range's ``fHidden`` bit
and each row's BrtRowHdr its ``fDyZero`` bit (hidden by hand or by a filter).

python-calamine does not expose visibility, so the sheet part is streamed in blocks and its
records walked until the end of the sheet data (BrtEndSheetData). Nearly every record has a
one-byte type and size: those take the short path. The walk takes about as long as
python-calamine's own reading of the sheet (1.3 s for 200,000 rows of 10 cells).
"""

from __future__ import annotations

import struct
import zipfile
from collections.abc import Iterator
from functools import partial
from pathlib import Path

from importer.read.hidden import HiddenCells, relationship_target, scan_sheet_member

_BLOCK = 1 << 20
_MAX_RECORD = 64 << 20  # no record is this large: the stream is damaged
_MAX_WORKBOOK_PART = 16 << 20
_MAX_COLUMN = 16_383
ROW_HEADER, COLUMN_INFO, SHEET, END_OF_SHEETS, END_OF_SHEET_DATA = 0x00, 0x3C, 0x9C, 0x90, 0x92


def find_hidden_xlsb(path: Path, sheet: str, last_row: int | None = None) -> HiddenCells:
    """The hidden rows (1-based) and columns (0-based) of ``sheet`` in the .xlsb at ``path``.

    last_row: rows after it are left out. Anything unreadable gives "nothing hidden": the
    loader has already read the workbook, so this only adds warnings.
    """
    return scan_sheet_member(path, partial(_sheet_member, sheet=sheet), _scan, last_row)


def _sheet_member(archive: zipfile.ZipFile, sheet: str) -> str | None:
    with archive.open("xl/workbook.bin") as stream:
        book = stream.read(_MAX_WORKBOOK_PART)
    for kind, body in _records(book):
        if kind == END_OF_SHEETS:
            return None
        if kind == SHEET and len(body) >= 12:
            relation, at = _wide_string(body, 8)
            name, _ = _wide_string(body, at)
            if name == sheet and relation:
                return relationship_target(archive, "xl/_rels/workbook.bin.rels", relation)
    return None


def _wide_string(body: bytes, at: int) -> tuple[str, int]:
    """An XLWideString at ``at`` (a 4-byte count of UTF-16 characters, then the characters;
    0xFFFFFFFF is an empty nullable one) and where the next field starts."""
    (count,) = struct.unpack_from("<I", body, at)
    if count == 0xFFFFFFFF:
        return "", at + 4
    end = at + 4 + 2 * count
    return body[at + 4 : end].decode("utf-16-le", "replace"), end


def _records(data: bytes) -> Iterator[tuple[int, bytes]]:
    pos = 0
    while pos < len(data):
        kind, size, body = _header(data, pos)
        if body < 0 or body + size > len(data):
            return
        yield kind, data[body : body + size]
        pos = body + size


def _header(data: bytes, pos: int) -> tuple[int, int, int]:
    """The type, size and body offset of the record at ``pos``; body -1 when the header runs
    past the end of ``data``."""
    end = len(data)
    if pos + 1 >= end:
        return 0, 0, -1
    kind = data[pos]
    pos += 1
    if kind & 0x80:
        kind = (kind & 0x7F) | ((data[pos] & 0x7F) << 7)
        pos += 1
    size = shift = 0
    for _ in range(4):
        if pos >= end:
            return kind, 0, -1
        byte = data[pos]
        pos += 1
        size |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            break
    return kind, size, pos


def _scan(stream) -> HiddenCells:
    rows: set[int] = set()
    columns: set[int] = set()
    tail = b""
    while True:
        block = stream.read(_BLOCK)
        data = tail + block
        at = _scan_records(data, rows, columns)
        if at < 0 or not block or len(data) - at > _MAX_RECORD:
            return HiddenCells(frozenset(rows), frozenset(columns))
        tail = data[at:]


def _scan_records(data: bytes, rows: set[int], columns: set[int]) -> int:
    """Note the hidden rows and columns of the complete records in ``data``; where the first
    incomplete record starts, or -1 at the end of the sheet data."""
    pos, end = 0, len(data)
    while pos + 1 < end:
        kind, size = data[pos], data[pos + 1]
        if (kind | size) < 0x80:  # a one-byte type and size: nearly every record
            body = pos + 2
        else:
            kind, size, body = _header(data, pos)
            if body < 0:
                return pos
            if kind == END_OF_SHEET_DATA:
                return -1
        following = body + size
        if following > end:
            return pos
        if kind == ROW_HEADER and size >= 12 and data[body + 11] & 0x10:  # fDyZero
            rows.add(int.from_bytes(data[body : body + 4], "little") + 1)
        elif kind == COLUMN_INFO and size >= 17 and data[body + 16] & 0x01:  # fHidden
            first, last = struct.unpack_from("<2I", data, body)
            columns.update(range(first, min(last, _MAX_COLUMN) + 1))
        pos = following
    return pos
