"""inspect_input: every hostile or broken file gets one clear InputFileError; good files get their
kind and encoding. Every file is generated here, in tmp_path."""

from __future__ import annotations

import os
import struct
import sys
import zipfile
from pathlib import Path

import pytest
import xlsxwriter

from importer.errors import InputFileError
from importer.read.filecheck import FileInfo, inspect_input

MB = 1024 * 1024
HEADER = "Lead ID,Amount,Product\n"
OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def refusal(path: Path, **options) -> InputFileError:
    with pytest.raises(InputFileError) as caught:
        inspect_input(path, **options)
    error = caught.value
    assert len(str(error).splitlines()) <= 2
    assert error.path is not None
    return error


def make_xlsx(path: Path) -> Path:
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("Sales")
    sheet.write_row(0, 0, ["Lead ID", "Amount"])
    for row in range(1, 200):
        sheet.write_row(row, 0, [f"lead-{row:05d}", row * 1.5])
    book.close()
    return path


def write_zip_bomb(path: Path, member_mb: int) -> Path:
    """A workbook-shaped zip with one part of `member_mb` MB of zeros, written in 1 MB chunks."""
    zeros = bytes(MB)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/workbook.xml", "<workbook/>")
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as part:
            for _ in range(member_mb):
                part.write(zeros)
    return path


@pytest.fixture(scope="module")
def zip_bomb(tmp_path_factory) -> Path:
    path = write_zip_bomb(tmp_path_factory.mktemp("bomb") / "bomb.xlsx", 600)
    assert path.stat().st_size < 2 * MB
    return path


# --- good files --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "encoding"),
    [
        pytest.param(HEADER.encode("utf-8"), "utf-8", id="ascii"),
        pytest.param((HEADER + "x,1,Café\n").encode("utf-8"), "utf-8", id="utf-8"),
        pytest.param((HEADER + "x,1,Café\n").encode("utf-8-sig"), "utf-8-sig", id="utf-8-bom"),
        pytest.param((HEADER + "x,1,Café\n").encode("utf-16"), "utf-16", id="utf-16-bom-le"),
        pytest.param(
            b"\xfe\xff" + (HEADER + "x,1,Café\n").encode("utf-16-be"), "utf-16", id="utf-16-bom-be"
        ),
        pytest.param((HEADER + "x,1,Café\n").encode("utf-16-le"), "utf-16-le", id="utf-16-le"),
        pytest.param((HEADER + "x,1,Café\n").encode("utf-16-be"), "utf-16-be", id="utf-16-be"),
        pytest.param((HEADER + "x,1,Café 5€\n").encode("cp1252"), "cp1252", id="cp1252"),
        pytest.param(HEADER.encode() + b"x,1,\x81\xe9\n", "latin-1", id="latin-1-fallback"),
        pytest.param(
            HEADER.encode() * 100_000 + "x,1,Café\n".encode("cp1252"),
            "cp1252",
            id="cp1252-after-first-megabyte",
        ),
        pytest.param(b"Lead ID\r1\r2\r", "utf-8", id="old-mac-line-ends"),
    ],
)
def test_csv_encoding_is_detected(tmp_path, data, encoding):
    path = write(tmp_path, "sales.csv", data)
    assert inspect_input(path) == FileInfo(path=path, kind="csv", size=len(data), encoding=encoding)


def test_cp1252_euro_sign_decodes(tmp_path):
    path = write(tmp_path, "sales.csv", (HEADER + "x,1,Café 5€\n").encode("cp1252"))
    info = inspect_input(path)
    assert path.read_bytes().decode(info.encoding).endswith("Café 5€\n")


def test_utf16_without_bom_is_read_not_garbled(tmp_path):
    text = HEADER + "x,1,Café\n"
    path = write(tmp_path, "sales.csv", text.encode("utf-16-le"))
    info = inspect_input(path)
    assert path.read_bytes().decode(info.encoding) == text


def test_xlsx(tmp_path):
    path = make_xlsx(tmp_path / "sales.xlsx")
    info = inspect_input(path)
    assert (info.kind, info.encoding, info.size) == ("xlsx", None, path.stat().st_size)


@pytest.mark.parametrize("name", ["sales.csv", "sales.dat", "sales"])
def test_workbook_under_another_name_is_an_xlsx(tmp_path, name):
    path = make_xlsx(tmp_path / name)
    assert inspect_input(path).kind == "xlsx"


@pytest.mark.parametrize("name", ["sales.txt", "sales.dat", "sales"])
def test_text_under_another_name_is_a_csv(tmp_path, name):
    path = write(tmp_path, name, HEADER.encode())
    assert inspect_input(path).kind == "csv"


def test_accepts_str_path(tmp_path):
    path = write(tmp_path, "sales.csv", HEADER.encode())
    assert inspect_input(str(path)).path == path


# --- the path itself ---------------------------------------------------------------------------


def test_missing_file(tmp_path):
    error = refusal(tmp_path / "nope.csv")
    assert str(error) == f"file not found: {tmp_path / 'nope.csv'}"


def test_directory(tmp_path):
    assert str(refusal(tmp_path)) == f"{tmp_path} is a folder, not a file"


def test_empty_file(tmp_path):
    error = refusal(write(tmp_path, "sales.csv", b""))
    assert str(error) == "sales.csv: the file is empty (0 bytes)"


def test_device_is_not_a_file():
    assert "is not a regular file" in str(refusal(Path("/dev/zero")))


def test_unreadable_file(tmp_path, monkeypatch):
    path = write(tmp_path, "sales.csv", HEADER.encode())
    if sys.platform == "win32":
        pytest.skip("Windows has no unreadable mode bits")
    path.chmod(0)
    if os.geteuid() == 0:
        # root reads every file whatever its mode: refuse the read the way the kernel would.
        real_open = Path.open

        def refused(self, *args, **kwargs):
            if self == path:
                raise PermissionError(13, "Permission denied", str(self))
            return real_open(self, *args, **kwargs)

        monkeypatch.setattr(Path, "open", refused)
    try:
        assert str(refusal(path)) == "cannot read sales.csv: permission denied"
    finally:
        path.chmod(0o644)


# --- not what the name says --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "looks_like"),
    [
        pytest.param(b"\x89PNG\r\n\x1a\n" + bytes(100), "it looks like a PNG image", id="png"),
        pytest.param(b"\xff\xd8\xff\xe0" + bytes(100), "it looks like a JPEG image", id="jpeg"),
        pytest.param(b"GIF89a" + bytes(100), "it looks like a GIF image", id="gif"),
        pytest.param(b"%PDF-1.7\n", "it looks like a PDF document", id="pdf"),
        pytest.param(b"\x1f\x8b\x08\x00" + bytes(20), "it looks like a gzip archive", id="gzip"),
        pytest.param(b"<!DOCTYPE html><html>", "it looks like an HTML web page", id="html"),
        pytest.param(b"abc\x00\x01\x02\xff" * 500, "it contains binary data", id="nul-bytes"),
        pytest.param(os.urandom(4096), "it contains binary data", id="random"),
    ],
)
def test_binary_named_csv(tmp_path, data, looks_like):
    if looks_like == "it contains binary data" and b"\x00" not in data[: 64 * 1024]:
        data += b"\x00\x00"
    path = write(tmp_path, "sales.csv", data)
    assert str(refusal(path)) == f"sales.csv does not look like a CSV text file ({looks_like})"


def test_zip_named_csv(tmp_path):
    path = tmp_path / "sales.csv"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("sales.csv", HEADER)
    error = refusal(path)
    assert (
        str(error) == "sales.csv does not look like a CSV text file (it looks like a ZIP archive)"
    )


# written once by xlwt
LEGACY_XLS = (
    Path(__file__).resolve().parents[1] / "data" / "legacy_march_2026.xls"
)  # written by xlwt


def test_ole2_file_without_a_workbook(tmp_path):
    path = write(tmp_path, "sales.xls", OLE2_MAGIC + bytes(4096))
    error = refusal(path)
    assert str(error) == (
        "sales.xls: this is an Office (OLE2) file with no workbook in it, such as a Word document"
    )
    assert error.hint == (
        "export the data again from your accounting system or Excel as CSV or .xlsx"
    )


@pytest.mark.parametrize("name", ["legacy.xls", "legacy.csv", "legacy"])
def test_legacy_xls_workbook_is_read_whatever_its_name(tmp_path, name):
    path = write(tmp_path, name, LEGACY_XLS.read_bytes())
    info = inspect_input(path)
    assert (info.kind, info.size, info.encoding) == ("xls", 5632, None)


def test_legacy_xls_over_the_size_limit(tmp_path):
    data = LEGACY_XLS.read_bytes() + bytes(2 * MB)  # an .xls is not compressed: size is memory
    error = refusal(write(tmp_path, "big.xls", data), max_xlsx_mb=1)
    assert str(error) == "big.xls: the workbook would expand to 3 MB in memory, over the 1 MB limit"
    assert error.hint == "if the file is genuine, raise the limit with --max-xlsx-mb 1000"


@pytest.mark.parametrize("name", ["sales.xlsx", "sales.csv", "sales.xls"])
def test_password_protected_workbook(tmp_path, name):
    data = OLE2_MAGIC + bytes(3000) + "EncryptedPackage".encode("utf-16-le") + bytes(5000)
    error = refusal(write(tmp_path, name, data))
    assert str(error) == f"{name} is password-protected"
    assert error.hint == (
        "open it in Excel, remove the password (File > Info > Protect Workbook > Encrypt with "
        "Password: clear it) and save it again"
    )


def test_password_protected_marker_across_read_chunks(tmp_path):
    marker = "EncryptedPackage".encode("utf-16-le")
    data = OLE2_MAGIC + bytes(8 * MB - 8 - 10) + marker + bytes(100)
    assert "password-protected" in str(refusal(write(tmp_path, "sales.xlsx", data)))


def test_truncated_xlsx(tmp_path):
    full = make_xlsx(tmp_path / "full.xlsx").read_bytes()
    path = write(tmp_path, "sales.xlsx", full[: len(full) // 2])
    error = refusal(path)
    assert str(error) == "sales.xlsx: the .xlsx file is damaged or incomplete (not a valid zip)"


def test_xlsx_that_is_not_a_zip(tmp_path):
    error = refusal(write(tmp_path, "sales.xlsx", HEADER.encode()))
    assert str(error) == "the .xlsx file sales.xlsx is damaged or not a workbook (not a zip)"


def test_zip_without_workbook(tmp_path):
    path = tmp_path / "sales.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("word/document.xml", "<w/>")
    error = refusal(path)
    assert str(error) == (
        "sales.xlsx is a zip file but not an Excel workbook (no xl/workbook.xml inside)"
    )


def test_zip_under_unknown_name(tmp_path):
    path = tmp_path / "sales.dat"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("a.txt", "x")
    assert str(refusal(path)) == "sales.dat is a ZIP archive, not a CSV or .xlsx file"


# --- decompression bombs -----------------------------------------------------------------------


def test_zip_bomb_refused_with_default_limit(zip_bomb):
    error = refusal(zip_bomb)  # read from the zip's directory; bench_hostile.py times it
    assert str(error) == (
        "bomb.xlsx: the workbook would expand to 601 MB in memory, over the 500 MB limit"
    )
    assert error.hint == "if the file is genuine, raise the limit with --max-xlsx-mb 1000"


def test_zip_bomb_accepted_with_raised_limit(zip_bomb):
    assert inspect_input(zip_bomb, max_xlsx_mb=1000).kind == "xlsx"


def test_suspicious_ratio_under_the_limit(tmp_path):
    path = write_zip_bomb(tmp_path / "sales.xlsx", 60)
    error = refusal(path)
    assert "this looks like a decompression bomb" in str(error)
    assert "xl/worksheets/sheet1.xml" in str(error)
    assert "--max-xlsx-mb" in error.hint
    assert inspect_input(path, max_xlsx_mb=1000).kind == "xlsx"


def test_too_many_parts(tmp_path):
    path = tmp_path / "sales.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("xl/workbook.xml", "<workbook/>")
        for n in range(10_001):
            archive.writestr(f"p{n}", "")
    assert "parts, far more than any real workbook" in str(refusal(path))


def _understate_size(path: Path, member: str, claimed: int) -> None:
    """Make both the local header and the central directory lie about a part's size."""
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo(member)
    data = bytearray(path.read_bytes())
    struct.pack_into("<L", data, info.header_offset + 22, claimed)
    name = member.encode()
    entry = data.find(b"PK\x01\x02", 0)
    while entry >= 0:
        if data[entry + 46 : entry + 46 + len(name)] == name:
            struct.pack_into("<L", data, entry + 24, claimed)
            break
        entry = data.find(b"PK\x01\x02", entry + 4)
    assert entry >= 0
    path.write_bytes(bytes(data))


def test_lying_size_header(tmp_path):
    path = tmp_path / "sales.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/workbook.xml", "<workbook/>")
        archive.writestr("xl/worksheets/sheet1.xml", bytes(40 * MB))
    _understate_size(path, "xl/worksheets/sheet1.xml", 1000)
    error = refusal(path, max_xlsx_mb=10)
    assert str(error) == (
        "sales.xlsx: the .xlsx file is damaged or incomplete "
        "(part xl/worksheets/sheet1.xml is larger than its header says)"
    )


# --- CSV encodings given by the user -----------------------------------------------------------


def test_unknown_encoding_name(tmp_path):
    error = refusal(write(tmp_path, "sales.csv", HEADER.encode()), encoding="utf-99")
    assert str(error) == "unknown encoding 'utf-99' given with --encoding"


def test_encoding_that_is_not_text(tmp_path):
    error = refusal(write(tmp_path, "sales.csv", HEADER.encode()), encoding="base64")
    assert "--encoding is not a text encoding" in str(error)


def test_named_encoding_that_does_not_fit(tmp_path):
    path = write(tmp_path, "sales.csv", (HEADER + "x,1,Café\n").encode("cp1252"))
    error = refusal(path, encoding="utf-8")
    assert str(error) == (
        "sales.csv cannot be read as utf-8 (line 2 has characters that are not utf-8)"
    )
    assert "--encoding" in error.hint


def test_named_utf16_on_ascii_file(tmp_path):
    error = refusal(write(tmp_path, "sales.csv", HEADER.encode()), encoding="utf-16")
    assert str(error) == "sales.csv does not look like utf-16 text"
    assert "--encoding" in error.hint


@pytest.mark.parametrize(
    ("data", "named", "chosen"),
    [
        pytest.param(HEADER.encode("utf-8-sig"), "utf-8", "utf-8-sig", id="bom-never-leaks"),
        pytest.param(HEADER.encode("utf-16"), "utf-16-le", "utf-16", id="utf-16-bom"),
        pytest.param(HEADER.encode("utf-16-le"), "utf-16", "utf-16-le", id="utf-16-no-bom"),
        pytest.param(HEADER.encode("cp1252"), "cp1252", "cp1252", id="cp1252"),
    ],
)
def test_named_encoding(tmp_path, data, named, chosen):
    assert inspect_input(write(tmp_path, "sales.csv", data), encoding=named).encoding == chosen


def test_mixed_utf8_and_cp1252(tmp_path):
    data = (HEADER + "x,1,Café\n").encode("utf-8") + "y,2,Café\n".encode("cp1252")
    error = refusal(write(tmp_path, "sales.csv", data))
    assert str(error) == (
        "sales.csv mixes two text encodings (line 3 is not UTF-8 while earlier lines are)"
    )
    assert "--encoding" in error.hint


# --- oversized lines ---------------------------------------------------------------------------


def test_single_line_of_20_mb(tmp_path):
    path = write(tmp_path, "sales.csv", HEADER.encode() + b"A" * (20 * MB))
    error = refusal(path, max_line_mb=10)  # time and memory: benchmarks/bench_hostile.py
    message = str(error)
    assert message == (
        "sales.csv: line 2 is longer than 10 MB (starts with 'AAAAAAAAAAAAAAAAAAAA'…); "
        "this is not a normal export"
    )
    assert "A" * 21 not in message


def test_long_line_excerpt_is_printable(tmp_path):
    data = b"x\n" + b"\x01\x02=cmd|" * (3 * MB) + b"\n"
    message = str(refusal(write(tmp_path, "sales.csv", data), max_line_mb=1))
    assert "line 2 is longer than 1 MB (starts with '??=cmd|??=cmd|??=cmd'…)" in message


def test_long_utf16_line(tmp_path):
    data = HEADER.encode("utf-16") + ("B" * (3 * MB)).encode("utf-16-le")
    message = str(refusal(write(tmp_path, "sales.csv", data), max_line_mb=1))
    assert "line 2 is longer than 1 MB (starts with 'BBBBBBBBBBBBBBBBBBBB'…)" in message


def test_line_just_under_the_limit(tmp_path):
    data = HEADER.encode() + b"A" * (MB - 10) + b"\n" + b"x,1,2\n"
    assert inspect_input(write(tmp_path, "sales.csv", data), max_line_mb=1).kind == "csv"


def test_many_lines_across_chunks(tmp_path):
    data = HEADER.encode() + b"0123456789abcdef,1,2\n" * 500_000
    assert inspect_input(write(tmp_path, "sales.csv", data), max_line_mb=1).encoding == "utf-8"


def test_utf16_with_lone_surrogate(tmp_path):
    data = "Lead ID\n".encode("utf-16") + b"\x00\xd8a\x00\n\x00"
    error = refusal(write(tmp_path, "sales.csv", data))
    assert str(error) == (
        "sales.csv cannot be read as utf-16 (line 2 has characters that are not utf-16)"
    )


def test_named_cp1252_with_undefined_byte(tmp_path):
    data = HEADER.encode() + b"x,1,2\n" * 3 + b"x,\x81,2\n"
    error = refusal(write(tmp_path, "sales.csv", data), encoding="cp1252")
    assert str(error) == (
        "sales.csv cannot be read as cp1252 (line 5 has characters that are not cp1252)"
    )
