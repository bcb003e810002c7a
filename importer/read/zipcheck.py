"""Check a zipped workbook (.xlsx, .xlsb, .ods) before any reader opens it: damage,
decompression bombs and password-protected parts.

The central directory is read by hand (not with :mod:`zipfile`, which builds every entry in
memory first): a file declaring too many parts or too large a directory is refused before
anything is built. Declared sizes are checked against ``max_workbook_mb``; where a lying header
could matter, suspect parts are inflated once with a byte counter (nothing kept, no CRC).

What differs between the kinds (the part that proves the kind, where a password shows, the words
and the program for the messages) comes from the kind's entry in `importer.read.kinds`.
"""

from __future__ import annotations

import math
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from importer.errors import InputFileError

if TYPE_CHECKING:
    from importer.read.kinds import InputKind

MB = 1024 * 1024
DEFAULT_MAX_WORKBOOK_MB = 500
DEFAULT_MAX_XLSX_MB = DEFAULT_MAX_WORKBOOK_MB  # the name before .xlsb and .ods were read
MARK_BYTES = 1 * MB  # how much of a part is read to find a password mark
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


def check_zip_workbook(p: Path, file_size: int, kind: InputKind, *, max_workbook_mb: int) -> None:
    """Refuse a zipped workbook of ``kind`` that is damaged, password-protected or would expand
    past ``max_workbook_mb``."""
    members = _read_members(p, file_size, kind)
    if kind.zip_part not in {m.name for m in members}:
        raise InputFileError(
            f"{p.name} is a zip file but not {kind.a_words} (no {kind.zip_part} inside)",
            path=p,
            hint=f"open it in {kind.app} and save it as {kind.suffixes[0]}",
        )
    if any(m.flags & 0x1 for m in members) or _has_password_mark(p, members, kind):
        raise kind.password_refusal(p)
    limit = _mb(max_workbook_mb)
    declared = sum(m.size for m in members)
    if declared > limit:
        raise workbook_too_big(p, declared, max_workbook_mb)
    if max_workbook_mb <= DEFAULT_MAX_WORKBOOK_MB:
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
    _check_declared_sizes(p, members, kind, declared=declared, limit=limit)


def workbook_too_big(p: Path, expanded: int, max_workbook_mb: int) -> InputFileError:
    """The refusal of a workbook that would take ``expanded`` bytes of memory (the flag keeps
    its first name, ``--max-xlsx-mb``, for every kind of workbook)."""
    return InputFileError(
        f"{p.name}: the workbook would expand to {math.ceil(expanded / MB):,} MB in memory, "
        f"over the {max_workbook_mb:,} MB limit",
        path=p,
        hint=f"if the file is genuine, raise the limit with --max-xlsx-mb {_suggest_mb(expanded)}",
    )


def _suggest_mb(expanded: int) -> int:
    return max(1000, math.ceil(expanded / MB / 1000) * 1000)


def _damaged(p: Path, kind: InputKind | None, why: str = "not a valid zip") -> InputFileError:
    suffix = kind.suffixes[0] if kind else ".xlsx"
    return InputFileError(
        f"{p.name}: the {suffix} file is damaged or incomplete ({why})",
        path=p,
        hint=f"download or copy it again, or {_save_again(kind)}",
    )


def _save_again(kind: InputKind | None) -> str:
    if kind is None:
        return "open it in Excel and save it again as .xlsx"
    return f"open it in {kind.app} and save it again as {kind.suffixes[0]}"


def _read_members(p: Path, file_size: int, kind: InputKind | None) -> list[_Member]:
    """Parse the zip central directory ourselves, refusing huge directories before reading them
    (zipfile would build one object per entry, millions for a hostile file)."""
    with p.open("rb") as f:
        tail_len = min(file_size, 22 + 65535)
        f.seek(file_size - tail_len)
        tail = f.read(tail_len)
        eocd = tail.rfind(b"PK\x05\x06")
        if eocd < 0 or len(tail) - eocd < 22:
            raise _damaged(p, kind)
        (_, _, _, _, count, cd_size, cd_offset, _) = struct.unpack(
            "<4s4H2LH", tail[eocd : eocd + 22]
        )
        eocd_pos = file_size - tail_len + eocd
        if count == 0xFFFF or cd_size == 0xFFFFFFFF or cd_offset == 0xFFFFFFFF:
            count, cd_size, cd_offset = _read_zip64_end(p, f, eocd_pos, kind)
        if count > MAX_MEMBERS or cd_size > MAX_CENTRAL_DIRECTORY:
            raise InputFileError(
                f"{p.name}: the workbook has {count:,} parts, far more than any real workbook",
                path=p,
                hint=_save_again(kind),
            )
        if cd_offset + cd_size > eocd_pos:
            raise _damaged(p, kind)
        f.seek(cd_offset)
        directory = f.read(cd_size)
    return _parse_directory(p, directory, count, file_size, kind)


def _read_zip64_end(p: Path, f, eocd_pos: int, kind: InputKind | None) -> tuple[int, int, int]:
    if eocd_pos < 20:
        raise _damaged(p, kind)
    f.seek(eocd_pos - 20)
    locator = f.read(20)
    if locator[:4] != b"PK\x06\x07":
        raise _damaged(p, kind)
    (record_offset,) = struct.unpack("<Q", locator[8:16])
    f.seek(record_offset)
    record = f.read(56)
    if len(record) < 56 or record[:4] != b"PK\x06\x06":
        raise _damaged(p, kind)
    count, cd_size, cd_offset = struct.unpack("<3Q", record[32:56])
    return count, cd_size, cd_offset


def _parse_directory(
    p: Path, data: bytes, count: int, file_size: int, kind: InputKind | None
) -> list[_Member]:
    members: list[_Member] = []
    pos = 0
    while pos + 46 <= len(data) and len(members) <= MAX_MEMBERS:
        if data[pos : pos + 4] != b"PK\x01\x02":
            raise _damaged(p, kind, "its table of contents is corrupt")
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
            hint=_save_again(kind),
        )
    if len(members) != count or any(m.header_offset >= file_size for m in members):
        raise _damaged(p, kind, "its table of contents is corrupt")
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
    p: Path, members: list[_Member], kind: InputKind, *, declared: int, limit: int
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
                raise _damaged(p, kind, f"part {m.name[:40]} has inconsistent sizes")
        elif m.method == 8:
            excess.append((max(0, m.compressed * DEFLATE_MAX_RATIO - m.size), m))
        else:
            raise _damaged(p, kind, f"it uses a compression method {kind.app} never writes")
    excess.sort(key=lambda item: item[0], reverse=True)
    slack = limit - declared
    unchecked = sum(e for e, _ in excess)
    with p.open("rb") as f:
        for hidden, m in excess:
            if unchecked <= slack:
                return
            _inflate_counting(p, f, m, kind)
            unchecked -= hidden


def _inflate_counting(p: Path, f, m: _Member, kind: InputKind) -> None:
    f.seek(m.header_offset)
    local = f.read(30)
    if len(local) < 30 or local[:4] != b"PK\x03\x04":
        raise _damaged(p, kind, "its table of contents is corrupt")
    name_len, extra_len = struct.unpack("<2H", local[26:30])
    f.seek(m.header_offset + 30 + name_len + extra_len)
    inflater = zlib.decompressobj(-15)
    left = m.compressed
    produced = 0
    step = 1 * MB
    while left > 0 and not inflater.eof:
        data = f.read(min(step, left))
        if not data:
            raise _damaged(p, kind)
        left -= len(data)
        try:
            while data:
                out = inflater.decompress(data, step)
                produced += len(out)
                if produced > m.size:
                    raise _damaged(p, kind, f"part {m.name[:40]} is larger than its header says")
                data = inflater.unconsumed_tail
        except zlib.error:
            raise _damaged(p, kind, f"part {m.name[:40]} cannot be unpacked") from None


def _has_password_mark(p: Path, members: list[_Member], kind: InputKind) -> bool:
    """True when the kind's password mark is in the first MB of its part (an encrypted .ods
    lists ``encryption-data`` in its manifest; its parts are not zip-encrypted)."""
    if kind.password_mark is None:
        return False
    part, mark = kind.password_mark
    member = next((m for m in members if m.name == part), None)
    if member is None:
        return False
    with p.open("rb") as f:
        f.seek(member.header_offset)
        local = f.read(30)
        if len(local) < 30 or local[:4] != b"PK\x03\x04":
            return False
        name_len, extra_len = struct.unpack("<2H", local[26:30])
        f.seek(member.header_offset + 30 + name_len + extra_len)
        raw = f.read(min(member.compressed, MARK_BYTES))
    if member.method == 0:
        return mark in raw
    try:
        return mark in zlib.decompressobj(-15).decompress(raw, MARK_BYTES)
    except zlib.error:
        return False  # the size checks name the damage


def zip_part_names(p: Path) -> set[str] | None:
    """The names of the parts of the zip at ``p``; None when its directory cannot be read."""
    try:
        return {m.name for m in _read_members(p, p.stat().st_size, None)}
    except (InputFileError, OSError):
        return None


def first_part(head: bytes) -> tuple[str, bytes] | None:
    """The name and stored content of a zip's first part, from the file's first bytes (where
    an OpenDocument file keeps its ``mimetype``); None if the part is compressed or longer."""
    if len(head) < 30 or head[:4] != b"PK\x03\x04":
        return None
    method, size, name_len, extra_len = struct.unpack("<H8xL4x2H", head[8:30])
    start = 30 + name_len + extra_len
    if method != 0 or start + size > len(head):
        return None
    return head[30 : 30 + name_len].decode("utf-8", "replace"), head[start : start + size]


def _mb(value: float) -> int:
    return int(value * MB)
