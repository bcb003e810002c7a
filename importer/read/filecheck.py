"""Look at an input file before any parser touches it, and refuse hostile or broken files cleanly.

`inspect_input` decides what the file is (CSV text or one of the workbook kinds of
`importer.read.kinds`: .xlsx, .xlsb, .ods, legacy .xls) from its content first and its name
second, and refuses, with one `InputFileError` written for a finance user, anything a parser
would choke on or that could exhaust memory or time:

- missing paths, folders, special files, unreadable and empty files;
- files that are not what their name says (an image or a zip named .csv), password-protected
  workbooks, and OLE2 files that hold no workbook (a Word document named .xls);
- damaged zips and decompression bombs: the declared sizes of every part of a zipped workbook are
  checked against ``max_xlsx_mb`` and, where a lying size could matter, the parts are inflated
  once with a byte counter (no CRC, nothing kept) to prove the sizes are honest. The fast reader
  (python-calamine), which materialises a whole sheet in memory, is only ever handed files that
  passed;
- CSV text in an unknown or mixed encoding, and CSV lines longer than ``max_line_mb`` (one field of
  tens of MB with no newline is not an export, it is an attack or an accident).

Everything reads the file in bounded chunks; nothing holds the whole file in memory.
"""

from __future__ import annotations

import codecs
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path

from importer.errors import InputFileError
from importer.read.codepages import CODEPAGE_CANDIDATES, single_byte_codepage
from importer.read.kinds import CSV, KINDS, XLSX, InputKind, kind_for_suffix, zip_kind
from importer.read.zipcheck import DEFAULT_MAX_XLSX_MB, first_part, zip_part_names

__all__ = ["FileInfo", "inspect_input", "DEFAULT_MAX_XLSX_MB", "DEFAULT_MAX_LINE_MB"]

DEFAULT_MAX_LINE_MB = 10

MB = 1024 * 1024
HEAD_BYTES = 64 * 1024  # what content sniffing looks at
SAMPLE_BYTES = 1 * MB  # what encoding detection decodes
SCAN_CHUNK = 8 * MB  # what the whole-file line scan reads at a time
EXCERPT_CHARS = 20

OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
# An encrypted .xlsx, .xlsm or .xlsb (MS-OFFCRYPTO) is an OLE2 container holding these streams;
# directory entries store names in UTF-16LE.
ENCRYPTION_STREAMS = tuple(
    name.encode("utf-16-le") for name in ("EncryptionInfo", "EncryptedPackage")
)
ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")
# FileInfo.kind of each workbook kind -> its names, derived from the registry for the modules
# that still ask by name (importer.read.kinds.kind_named(kind).workbook says the same).
WORKBOOK_SUFFIXES = {k.name: set(k.suffixes) for k in KINDS if k.workbook}

# Content that is certainly not CSV text, by its first bytes.
BINARY_MAGICS: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF87a", "a GIF image"),
    (b"GIF89a", "a GIF image"),
    (b"%PDF-", "a PDF document"),
    (b"PK\x03\x04", "a ZIP archive"),
    (b"PK\x05\x06", "a ZIP archive"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"Rar!\x1a\x07", "a RAR archive"),
)

BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF32_LE, "utf-32"),  # before UTF-16 LE: it starts with the same two bytes
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)

CP1252_UNDEFINED = re.compile(rb"[\x81\x8d\x8f\x90\x9d]")
CP1252_UNDEFINED_BYTES = (b"\x81", b"\x8d", b"\x8f", b"\x90", b"\x9d")
ENCODING_HINT = "name the file's encoding with --encoding (for example --encoding utf-16 or cp1252)"


@dataclass(frozen=True)
class FileInfo:
    """What `inspect_input` found out about a file that passed every check.

    ``encoding`` is the codec to open a CSV with (``"utf-8-sig"``, ``"utf-8"``, ``"utf-16"``,
    ``"utf-16-le"``, ``"utf-16-be"``, ``"cp1252"``, another Windows code page such as
    ``"cp1250"`` (see `importer.read.codepages`), ``"latin-1"`` or what ``--encoding`` named);
    it is None for a workbook.
    """

    path: Path
    kind: str  # an InputKind's name: "csv", "xlsx", "xlsb", "ods" or "xls"
    size: int
    encoding: str | None


def inspect_input(
    path: str | os.PathLike,
    *,
    max_xlsx_mb: int = DEFAULT_MAX_XLSX_MB,
    encoding: str | None = None,
    max_line_mb: int = DEFAULT_MAX_LINE_MB,
) -> FileInfo:
    """Check that `path` is a readable CSV file or workbook that is safe to parse, and say which.

    max_xlsx_mb: the most a workbook of any kind (.xlsx, .xlsb, .ods, .xls) may take in memory
        (``--max-xlsx-mb``; the name predates the other kinds and is kept). Raising it above the
        default also waives the compression-ratio check: the user vouched for the file.
    encoding: the CSV encoding the user named (``--encoding``); detected when None.
    max_line_mb: the longest CSV line accepted.

    Raises InputFileError with a message for a finance user on every refusal.

    >>> inspect_input("sales.csv")  # doctest: +SKIP
    FileInfo(path=PosixPath('sales.csv'), kind='csv', size=1234, encoding='utf-8-sig')
    """
    p = Path(path)
    size = _check_path(p)
    head = _read_head(p)
    kind = _detect_kind(p, head, encoding)
    if kind.check is not None:
        kind.check(p, size, kind, max_xlsx_mb)
        return FileInfo(path=p, kind=kind.name, size=size, encoding=None)
    if encoding is None:
        chosen = _detect_encoding(p, head)
        chosen = _scan_text(p, chosen, explicit=False, max_line_bytes=_mb(max_line_mb))
    else:
        chosen = _check_named_encoding(p, head, encoding)
        chosen = _scan_text(p, chosen, explicit=True, max_line_bytes=_mb(max_line_mb))
    return FileInfo(path=p, kind="csv", size=size, encoding=chosen)


# --- the path itself ---------------------------------------------------------------------------


def _check_path(p: Path) -> int:
    try:
        st = p.stat()
    except FileNotFoundError:
        raise InputFileError(
            f"file not found: {p}", path=p, hint="check the path and the file name"
        ) from None
    except PermissionError:
        raise InputFileError(
            f"cannot open {p}: permission denied",
            path=p,
            hint="check that you have access to the folder, or copy the file somewhere you do",
        ) from None
    except OSError as exc:
        raise InputFileError(f"cannot open {p}: {exc.strerror}", path=p) from None
    if stat.S_ISDIR(st.st_mode):
        raise InputFileError(
            f"{p} is a folder, not a file",
            path=p,
            hint="give the path of the CSV or .xlsx file inside it",
        )
    if not stat.S_ISREG(st.st_mode):
        raise InputFileError(
            f"{p} is not a regular file (it is a device, pipe or socket)",
            path=p,
            hint="give the path of a CSV or .xlsx file",
        )
    if st.st_size == 0:
        raise InputFileError(
            f"{p.name}: the file is empty (0 bytes)",
            path=p,
            hint="export the data again and check that the export finished",
        )
    return st.st_size


def _read_head(p: Path) -> bytes:
    try:
        with p.open("rb") as f:
            return f.read(HEAD_BYTES)
    except PermissionError:
        raise InputFileError(
            f"cannot read {p.name}: permission denied",
            path=p,
            hint="close the file if another program holds it, or ask for read access",
        ) from None
    except OSError as exc:
        raise InputFileError(f"cannot read {p.name}: {exc.strerror}", path=p) from None


# --- what the file is --------------------------------------------------------------------------


def _detect_kind(p: Path, head: bytes, encoding: str | None) -> InputKind:
    named = kind_for_suffix(p.suffix)
    if head.startswith(OLE2_MAGIC):
        return _ole2_kind(p, named)
    if head.startswith(ZIP_MAGICS):
        return _zip_kind(p, head, named)
    looks_like = _binary_kind(head, encoding)
    if named is not None and named.zip_part is not None:
        # (an .xls may be text: old systems export tab-separated text named .xls)
        what = looks_like or "not a zip"
        raise InputFileError(
            f"the {p.suffix.lower()} file {p.name} is damaged or not a workbook ({what})",
            path=p,
            hint=f"open it in {named.app} and save it again as {named.suffixes[0]} "
            "(if it is really a CSV, rename it)",
        )
    if looks_like:
        raise _not_csv(p, looks_like)
    return CSV


def _zip_kind(p: Path, head: bytes, named: InputKind | None) -> InputKind:
    """The kind a zip's parts prove; else the zipped kind its name claims (its check says what
    is wrong); else a refusal."""
    found = zip_kind(zip_part_names(p), first_part(head))
    if found is not None:
        return found
    if named is not None and named.zip_part is not None:
        return named
    if named is CSV:
        raise _not_csv(p, "a ZIP archive")
    raise InputFileError(
        f"{p.name} is a ZIP archive, not a CSV or .xlsx file",
        path=p,
        hint="unzip it and give the CSV or .xlsx file inside",
    )


def _ole2_kind(p: Path, named: InputKind | None) -> InputKind:
    """The OLE2 kind (a legacy .xls); refuse an encrypted workbook or any other OLE2 file."""
    # A Word or PowerPoint file holds neither encryption streams nor a workbook stream.
    if _contains(p, ENCRYPTION_STREAMS):
        raise (named if named is not None and named.workbook else XLSX).password_refusal(p)
    for kind in KINDS:
        if kind.ole2_streams and _contains(p, kind.ole2_streams):
            return kind
    raise InputFileError(
        f"{p.name}: this is an Office (OLE2) file with no workbook in it, such as a Word document",
        path=p,
        hint="export the data again from your accounting system or Excel as CSV or .xlsx",
    )


def _contains(p: Path, needles: tuple[bytes, ...], limit: int = 64 * MB) -> bool:
    """Search the first `limit` bytes for any of `needles` in one pass of bounded chunks (the
    OLE2 directory can sit after the data it describes)."""
    longest = max(map(len, needles))
    overlap = longest - 1
    tail = b""
    read = 0
    with p.open("rb") as f:
        while read < limit:
            chunk = f.read(SCAN_CHUNK)
            if not chunk:
                return False
            read += len(chunk)
            seam = tail + chunk[: overlap + longest]
            if any(needle in seam or needle in chunk for needle in needles):
                return True
            tail = chunk[-overlap:]
    return False


def _binary_kind(head: bytes, encoding: str | None) -> str | None:
    for magic, what in BINARY_MAGICS:
        if head.startswith(magic):
            return what
    start = head[:256].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if start.startswith((b"<!doctype html", b"<html")):
        return "an HTML web page"
    if start.startswith(b"<?xml"):
        return "an XML document"
    if b"\x00" not in head:
        return None
    if encoding is not None and _is_wide(encoding):
        return None
    if any(head.startswith(bom) for bom, name in BOMS if name != "utf-8-sig"):
        return None
    if _guess_utf16(head):
        return None
    return "it contains binary data"


def _not_csv(p: Path, looks_like: str) -> InputFileError:
    detail = looks_like if looks_like.startswith("it ") else f"it looks like {looks_like}"
    return InputFileError(
        f"{p.name} does not look like a CSV text file ({detail})",
        path=p,
        hint="export the data again from your accounting system or Excel as CSV or .xlsx",
    )


# --- CSV encoding ------------------------------------------------------------------------------


def _is_wide(encoding: str) -> bool:
    try:
        name = codecs.lookup(encoding).name
    except LookupError:
        return False
    return name.startswith(("utf-16", "utf-32"))


def _guess_utf16(head: bytes) -> str | None:
    """UTF-16 without a BOM: mostly-ASCII text has a NUL in every other byte."""
    sample = head[: len(head) // 2 * 2]
    if len(sample) < 4:
        return None
    even = sample[0::2].count(0)
    odd = sample[1::2].count(0)
    half = len(sample) // 2
    for zeros, others, name in ((odd, even, "utf-16-le"), (even, odd, "utf-16-be")):
        if zeros >= 0.5 * half and others <= 0.01 * half:
            try:
                text = codecs.getincrementaldecoder(name)("strict").decode(sample, final=False)
            except UnicodeDecodeError:
                continue
            printable = sum(c.isprintable() or c in "\r\n\t" for c in text)
            if printable >= 0.95 * len(text):
                return name
    return None


def _detect_encoding(p: Path, head: bytes) -> str:
    for bom, name in BOMS:
        if head.startswith(bom):
            return name
    wide = _guess_utf16(head)
    if wide:
        return wide
    with p.open("rb") as f:
        sample = f.read(SAMPLE_BYTES)
        whole = not f.read(1)
    if not whole:
        cut = sample.rfind(b"\n")
        sample = sample[: cut + 1] if cut > 0 else sample
    try:
        codecs.getincrementaldecoder("utf-8")("strict").decode(sample, final=whole)
        return "utf-8"
    except UnicodeDecodeError as exc:
        if not sample[: exc.start].isascii():
            return "utf-8"  # valid UTF-8 text, then a byte that is not: the scan refuses it
    chosen = single_byte_codepage(sample)
    return "latin-1" if chosen == "cp1252" and CP1252_UNDEFINED.search(sample) else chosen


def _check_named_encoding(p: Path, head: bytes, encoding: str) -> str:
    try:
        info = codecs.lookup(encoding)
    except LookupError:
        raise InputFileError(
            f"unknown encoding {encoding[:40]!r} given with --encoding",
            path=p,
            hint="use a name such as utf-8, utf-16, cp1252 or latin-1, "
            "or leave --encoding out to detect it",
        ) from None
    if not getattr(info, "_is_text_encoding", True):
        raise InputFileError(
            f"{encoding[:40]!r} given with --encoding is not a text encoding",
            path=p,
            hint="use a name such as utf-8, utf-16, cp1252 or latin-1",
        )
    # A BOM must never leak into the first header: pick the codec variant that strips it.
    if info.name == "utf-8" and head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if info.name.startswith(("utf-16", "utf-32")):
        family = info.name[:6]  # "utf-16" or "utf-32"
        if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            return family
        if b"\x00" not in head:
            raise InputFileError(
                f"{p.name} does not look like {encoding[:40]} text",
                path=p,
                hint="check --encoding, or leave it out to detect the encoding automatically",
            )
        if info.name == family:
            # Without a BOM Python's reader refuses plain "utf-16": name the byte order.
            return (_guess_utf16(head) if family == "utf-16" else None) or f"{family}-le"
    return encoding


def _newlines(encoding: str, head: bytes) -> tuple[bytes, bytes]:
    name = codecs.lookup(encoding).name
    if name in ("utf-16", "utf-32"):
        little = head.startswith(codecs.BOM_UTF16_LE)
        name = f"{name}-{'le' if little else 'be'}"
    if name == "utf-8-sig":
        name = "utf-8"
    try:
        return "\n".encode(name), "\r".encode(name)
    except (UnicodeError, LookupError):
        return b"\n", b"\r"


def _excerpt_codec(encoding: str, head: bytes) -> str:
    name = codecs.lookup(encoding).name
    if name in ("utf-16", "utf-32"):
        little = head.startswith(codecs.BOM_UTF16_LE)
        return f"{name}-{'le' if little else 'be'}"
    return name


# --- CSV scan: encoding over the whole file, and line lengths ----------------------------------


class _Restart(Exception):
    def __init__(self, encoding: str) -> None:
        self.encoding = encoding


def _scan_text(p: Path, encoding: str, *, explicit: bool, max_line_bytes: int) -> str:
    """Read the whole file once in bounded chunks: prove it decodes with `encoding` (switching a
    detected UTF-8 or code page such as cp1250 to cp1252/latin-1 when a later line needs it) and
    that no line is too long."""
    for _ in range(3):
        try:
            _scan_once(p, encoding, explicit=explicit, max_line_bytes=max_line_bytes)
            return encoding
        except _Restart as again:
            encoding = again.encoding
    return encoding


def _scan_once(p: Path, encoding: str, *, explicit: bool, max_line_bytes: int) -> None:
    chunk_size = max(1, min(SCAN_CHUNK, max_line_bytes))
    with p.open("rb") as f:
        head = f.read(HEAD_BYTES)
        f.seek(0)
        breaks = _line_breaks(encoding, head)
        codec = codecs.lookup(encoding).name
        fast_utf8 = codec in ("utf-8", "utf-8-sig")
        decoder = None
        if codec.startswith("utf-16"):
            decoder = codecs.getincrementaldecoder(_excerpt_codec(encoding, head))("strict")
        elif codec not in ("cp1252", "iso8859-1"):  # cp1252: five undefined bytes, found below
            decoder = codecs.getincrementaldecoder(encoding)("strict")
        seen_non_ascii = False
        line_start = 0  # absolute offset where the current line starts
        offset = 0  # absolute offset of the current chunk
        while chunk := f.read(chunk_size):
            if codec == "cp1252":
                bad = _find_cp1252_undefined(chunk)
                if bad >= 0:
                    if explicit:
                        raise _undecodable(p, encoding, _line_at(p, offset + bad, breaks))
                    raise _Restart("latin-1")
            elif decoder is not None and not (fast_utf8 and chunk.isascii()):
                try:
                    decoder.decode(chunk, final=False)
                    seen_non_ascii = True
                except UnicodeError as exc:
                    bad = getattr(exc, "start", 0)
                    if not explicit and codec in CODEPAGE_CANDIDATES:
                        raise _Restart("cp1252") from None  # the sample was evidence, not proof
                    if explicit or not fast_utf8:
                        line = _line_at(p, offset + bad, breaks)
                        raise _undecodable(p, encoding, line) from None
                    if seen_non_ascii or codec == "utf-8-sig" or not chunk[:bad].isascii():
                        raise _mixed(p, _line_at(p, offset + bad, breaks)) from None
                    raise _Restart("cp1252") from None
            # Lines strictly inside a chunk are shorter than the chunk, hence than the limit:
            # only a line running across chunk boundaries can be longer.
            first = _first_of(chunk, breaks)
            end = offset + (len(chunk) if first < 0 else first)
            if end - line_start > max_line_bytes:
                _refuse_long_line(p, encoding, head, breaks, line_start, max_line_bytes)
            if first >= 0:
                last, width = max((chunk.rfind(b), len(b)) for b in breaks)
                line_start = offset + last + width
            offset += len(chunk)
        if decoder is not None:
            try:
                decoder.decode(b"", final=True)
            except UnicodeError:
                line = _line_at(p, offset, breaks)
                if explicit or not fast_utf8:
                    raise _undecodable(p, encoding, line) from None
                if seen_non_ascii:
                    raise _mixed(p, line) from None
                raise _Restart("cp1252") from None


def _line_breaks(encoding: str, head: bytes) -> tuple[bytes, ...]:
    """The byte pattern(s) that end a line: LF (also ending CRLF lines), or CR alone for old Mac
    exports; both when the first 64 KB hold neither."""
    lf, cr = _newlines(encoding, head)
    if lf in head:
        return (lf,)
    if cr in head:
        return (cr,)
    return (lf, cr)


def _line_at(p: Path, position: int, breaks: tuple[bytes, ...]) -> int:
    """The 1-based line number of byte `position`; counted only when a message needs it."""
    count = 0
    read = 0
    tail = b""
    with p.open("rb") as f:
        while read < position:
            chunk = f.read(min(SCAN_CHUNK, position - read))
            if not chunk:
                break
            read += len(chunk)
            # a two-byte line break may straddle chunks: the one-byte tail completes it
            count += (tail + chunk).count(breaks[0])
            tail = chunk[-1:] if len(breaks[0]) > 1 else b""
    return count + 1


def _mixed(p: Path, line: int) -> InputFileError:
    return InputFileError(
        f"{p.name} mixes two text encodings (line {line:,} is not UTF-8 while earlier lines are)",
        path=p,
        hint=ENCODING_HINT + ", or save the file again as UTF-8",
    )


def _find_cp1252_undefined(chunk: bytes) -> int:
    if chunk.isascii():
        return -1
    found = [i for i in (chunk.find(b) for b in CP1252_UNDEFINED_BYTES) if i >= 0]
    return min(found, default=-1)


def _first_of(chunk: bytes, breaks: tuple[bytes, ...]) -> int:
    found = [i for i in (chunk.find(b) for b in breaks) if i >= 0]
    return min(found, default=-1)


def _undecodable(p: Path, encoding: str, line: int) -> InputFileError:
    return InputFileError(
        f"{p.name} cannot be read as {encoding[:40]} (line {line:,} has characters that are not "
        f"{encoding[:40]})",
        path=p,
        hint="check --encoding, or leave it out to detect the encoding automatically",
    )


def _refuse_long_line(
    p: Path,
    encoding: str,
    head: bytes,
    breaks: tuple[bytes, ...],
    line_start: int,
    max_line_bytes: int,
) -> None:
    line = _line_at(p, line_start, breaks)
    with p.open("rb") as f:
        f.seek(line_start)
        raw = f.read(EXCERPT_CHARS * 4 + 8)
    text = raw.decode(_excerpt_codec(encoding, head), "replace").lstrip("\ufeff")
    excerpt = "".join(c if c.isprintable() else "?" for c in text[:EXCERPT_CHARS])
    raise InputFileError(
        f"{p.name}: line {line:,} is longer than {_mb_text(max_line_bytes)} "
        f"(starts with {excerpt!r}…); this is not a normal export",
        path=p,
        hint="check that this is the right file; export it again from your accounting system",
    )


def _mb_text(n: int) -> str:
    return f"{n / MB:,.0f} MB" if n >= MB else f"{n:,} bytes"


def _mb(value: float) -> int:
    return int(value * MB)
