"""Check an .xlsx (a zip) before any reader opens it: damage and decompression bombs.

The central directory is read by hand (not with :mod:`zipfile`, which builds every entry in
memory first): a file declaring too many parts or too large a directory is refused before
anything is built. Declared sizes are checked against ``max_xlsx_mb``; where a lying header could
matter, suspect parts are inflated once with a byte counter (nothing kept, no CRC).
"""

from __future__ import annotations

import math
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

from importer.errors import InputFileError

MB = 1024 * 1024
DEFAULT_MAX_XLSX_MB = 500
MAX_MEMBERS = 10_000
MAX_CENTRAL_DIRECTORY = 4 * MB  # 10,000 members need well under 1 MB
SUSPICIOUS_RATIO = 100
SUSPICIOUS_MEMBER_BYTES = 50 * MB
DEFLATE_MAX_RATIO = 1032  # the most deflate can ever expand


# --- the zip directory ---------------------------------------------------------------------


@dataclass(frozen=True)
class _Member:
    name: str
    method: int
    flags: int
    compressed: int
    size: int
    header_offset: int


def check_workbook(p: Path, file_size: int, *, max_xlsx_mb: int) -> None:
    """Refuse a damaged .xlsx or one that would expand past ``max_xlsx_mb``."""
    members = _read_members(p, file_size)
    if "xl/workbook.xml" not in {m.name for m in members}:
        raise InputFileError(
            f"{p.name} is a zip file but not an Excel workbook (no xl/workbook.xml inside)",
            path=p,
            hint="open it in Excel and save it as .xlsx",
        )
    limit = _mb(max_xlsx_mb)
    declared = sum(m.size for m in members)
    if declared > limit:
        raise workbook_too_big(p, declared, max_xlsx_mb)
    if max_xlsx_mb <= DEFAULT_MAX_XLSX_MB:
        for m in members:
            ratio = m.size / max(m.compressed, 1)
            if ratio > SUSPICIOUS_RATIO and m.size > SUSPICIOUS_MEMBER_BYTES:
                raise InputFileError(
                    f"{p.name}: part {m.name[:40]} would expand {ratio:,.0f} times, to "
                    f"{m.size / MB:,.0f} MB; this looks like a decompression bomb",
                    path=p,
                    hint="if the file is genuine, raise the limit with "
                    f"--max-xlsx-mb {_suggest_mb(max(declared, limit + 1))}",
                )
    _check_declared_sizes(p, members, declared=declared, limit=limit, max_xlsx_mb=max_xlsx_mb)


def workbook_too_big(p: Path, expanded: int, max_xlsx_mb: int) -> InputFileError:
    """The refusal of a workbook that would take ``expanded`` bytes of memory."""
    return InputFileError(
        f"{p.name}: the workbook would expand to {math.ceil(expanded / MB):,} MB in memory, "
        f"over the {max_xlsx_mb:,} MB limit",
        path=p,
        hint=f"if the file is genuine, raise the limit with --max-xlsx-mb {_suggest_mb(expanded)}",
    )


def _suggest_mb(expanded: int) -> int:
    return max(1000, math.ceil(expanded / MB / 1000) * 1000)


def _damaged(p: Path, why: str = "not a valid zip") -> InputFileError:
    return InputFileError(
        f"{p.name}: the .xlsx file is damaged or incomplete ({why})",
        path=p,
        hint="download or copy it again, or open it in Excel and save it again as .xlsx",
    )


def _read_members(p: Path, file_size: int) -> list[_Member]:
    """Parse the zip central directory ourselves, refusing huge directories before reading them
    (zipfile would build one object per entry, millions for a hostile file)."""
    with p.open("rb") as f:
        tail_len = min(file_size, 22 + 65535)
        f.seek(file_size - tail_len)
        tail = f.read(tail_len)
        eocd = tail.rfind(b"PK\x05\x06")
        if eocd < 0 or len(tail) - eocd < 22:
            raise _damaged(p)
        (_, _, _, _, count, cd_size, cd_offset, _) = struct.unpack(
            "<4s4H2LH", tail[eocd : eocd + 22]
        )
        eocd_pos = file_size - tail_len + eocd
        if count == 0xFFFF or cd_size == 0xFFFFFFFF or cd_offset == 0xFFFFFFFF:
            count, cd_size, cd_offset = _read_zip64_end(p, f, eocd_pos)
        if count > MAX_MEMBERS or cd_size > MAX_CENTRAL_DIRECTORY:
            raise InputFileError(
                f"{p.name}: the workbook has {count:,} parts, far more than any real workbook",
                path=p,
                hint="open it in Excel and save it again as .xlsx",
            )
        if cd_offset + cd_size > eocd_pos:
            raise _damaged(p)
        f.seek(cd_offset)
        directory = f.read(cd_size)
    return _parse_directory(p, directory, count, file_size)


def _read_zip64_end(p: Path, f, eocd_pos: int) -> tuple[int, int, int]:
    if eocd_pos < 20:
        raise _damaged(p)
    f.seek(eocd_pos - 20)
    locator = f.read(20)
    if locator[:4] != b"PK\x06\x07":
        raise _damaged(p)
    (record_offset,) = struct.unpack("<Q", locator[8:16])
    f.seek(record_offset)
    record = f.read(56)
    if len(record) < 56 or record[:4] != b"PK\x06\x06":
        raise _damaged(p)
    count, cd_size, cd_offset = struct.unpack("<3Q", record[32:56])
    return count, cd_size, cd_offset


def _parse_directory(p: Path, data: bytes, count: int, file_size: int) -> list[_Member]:
    members: list[_Member] = []
    pos = 0
    while pos + 46 <= len(data) and len(members) <= MAX_MEMBERS:
        if data[pos : pos + 4] != b"PK\x01\x02":
            raise _damaged(p, "its table of contents is corrupt")
        flags, method = struct.unpack("<2H", data[pos + 8 : pos + 12])
        compressed, size = struct.unpack("<2L", data[pos + 20 : pos + 28])
        name_len, extra_len, comment_len = struct.unpack("<3H", data[pos + 28 : pos + 34])
        (offset,) = struct.unpack("<L", data[pos + 42 : pos + 46])
        name = data[pos + 46 : pos + 46 + name_len].decode("utf-8", "replace")
        extra = data[pos + 46 + name_len : pos + 46 + name_len + extra_len]
        if 0xFFFFFFFF in (compressed, size, offset):
            size, compressed, offset = _zip64_extra(extra, size, compressed, offset)
        members.append(_Member(name, method, flags, compressed, size, offset))
        pos += 46 + name_len + extra_len + comment_len
    if len(members) > MAX_MEMBERS:
        raise InputFileError(
            f"{p.name}: the workbook has more than {MAX_MEMBERS:,} parts, "
            "far more than any real workbook",
            path=p,
            hint="open it in Excel and save it again as .xlsx",
        )
    if len(members) != count or any(m.header_offset >= file_size for m in members):
        raise _damaged(p, "its table of contents is corrupt")
    return members


def _zip64_extra(extra: bytes, size: int, compressed: int, offset: int) -> tuple[int, int, int]:
    pos = 0
    while pos + 4 <= len(extra):
        tag, length = struct.unpack("<2H", extra[pos : pos + 4])
        if tag == 0x0001:
            values = extra[pos + 4 : pos + 4 + length]
            fields = [v[0] for v in struct.iter_unpack("<Q", values[: len(values) // 8 * 8])]
            if size == 0xFFFFFFFF and fields:
                size = fields.pop(0)
            if compressed == 0xFFFFFFFF and fields:
                compressed = fields.pop(0)
            if offset == 0xFFFFFFFF and fields:
                offset = fields.pop(0)
            break
        pos += 4 + length
    return size, compressed, offset


def _check_declared_sizes(
    p: Path, members: list[_Member], *, declared: int, limit: int, max_xlsx_mb: int
) -> None:
    """Guard against zips whose headers understate what a part inflates to.

    Deflate can expand at most ~1032 times, so a part can hide at most
    ``compressed * 1032 - declared`` bytes. While the hidden bytes of the parts not yet checked
    could push the total over the limit, inflate the part that could hide most, counting the bytes
    (nothing is kept, no CRC), and refuse if it is larger than its header says.
    """
    excess: list[tuple[int, _Member]] = []
    for m in members:
        if m.method == 0:
            if m.compressed != m.size:
                raise _damaged(p, f"part {m.name[:40]} has inconsistent sizes")
        elif m.method == 8:
            excess.append((max(0, m.compressed * DEFLATE_MAX_RATIO - m.size), m))
        else:
            raise _damaged(p, "it uses a compression method Excel never writes")
        if m.flags & 0x1:
            raise InputFileError(
                f"{p.name}: parts of the workbook are encrypted with a zip password",
                path=p,
                hint="open it in Excel and save a copy as .xlsx without a password",
            )
    excess.sort(key=lambda item: item[0], reverse=True)
    slack = limit - declared
    unchecked = sum(e for e, _ in excess)
    with p.open("rb") as f:
        for hidden, m in excess:
            if unchecked <= slack:
                return
            _inflate_counting(p, f, m, max_xlsx_mb)
            unchecked -= hidden


def _inflate_counting(p: Path, f, m: _Member, max_xlsx_mb: int) -> None:
    f.seek(m.header_offset)
    local = f.read(30)
    if len(local) < 30 or local[:4] != b"PK\x03\x04":
        raise _damaged(p, "its table of contents is corrupt")
    name_len, extra_len = struct.unpack("<2H", local[26:30])
    f.seek(m.header_offset + 30 + name_len + extra_len)
    inflater = zlib.decompressobj(-15)
    left = m.compressed
    produced = 0
    step = 1 * MB
    while left > 0 and not inflater.eof:
        data = f.read(min(step, left))
        if not data:
            raise _damaged(p)
        left -= len(data)
        try:
            while data:
                out = inflater.decompress(data, step)
                produced += len(out)
                if produced > m.size:
                    raise _damaged(p, f"part {m.name[:40]} is larger than its header says")
                data = inflater.unconsumed_tail
        except zlib.error:
            raise _damaged(p, f"part {m.name[:40]} cannot be unpacked") from None


def zip_has_workbook(p: Path) -> bool:
    """True when the zip holds an Excel workbook (xl/workbook.xml)."""
    try:
        members = _read_members(p, p.stat().st_size)
    except InputFileError:
        return False
    return any(m.name == "xl/workbook.xml" for m in members)


def _mb(value: float) -> int:
    return int(value * MB)
