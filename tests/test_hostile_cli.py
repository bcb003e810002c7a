"""Hostile and broken files through the real command: `python -m importer validate FILE`.

Every refusal: exit 2, a few lines on stderr, no traceback, nothing left beside the input."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import xlsxwriter

ROOT = Path(__file__).resolve().parents[1]
MB = 1024 * 1024
OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
LEAD = "3f2504e0-4f89-11d3-9a0c-0305e82c3301"


def validate(path: Path, *options: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "importer", "validate", str(path), *options],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        env=env,
    )


def assert_refused(path: Path, *options: str, folder: Path | None = None) -> str:
    """Run validate, check the refusal contract, and return stderr."""
    folder = folder or path.parent
    before = sorted(os.listdir(folder))
    done = validate(path, *options)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) <= 5, done.stderr
    assert len(done.stderr) < 1000
    assert sorted(os.listdir(folder)) == before, "a results or temporary file was left behind"
    return done.stderr


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_missing_file(tmp_path):
    assert "file not found" in assert_refused(tmp_path / "sales.csv")


def test_directory(tmp_path):
    folder = tmp_path / "exports"
    folder.mkdir()
    # A folder's inputs are its CSV and Excel files: none of keen-import's own, no lock files.
    for name in ("march.results.csv", "march.manifest.json", "~$march.xlsx", "notes.pdf"):
        (folder / name).write_text("x")
    err = assert_refused(folder, folder=tmp_path)
    assert err == f"error: the folder {folder} holds no CSV or Excel file\n"


def test_empty_file(tmp_path):
    assert "the file is empty" in assert_refused(write(tmp_path, "sales.csv", b""))


def test_png_named_csv(tmp_path):
    path = write(tmp_path, "sales.csv", b"\x89PNG\r\n\x1a\n" + bytes(2000))
    assert "does not look like a CSV text file (it looks like a PNG image)" in assert_refused(path)


def test_binary_named_csv(tmp_path):
    path = write(tmp_path, "sales.csv", b"\x00\x01\x02\xff\xfe" * 2000)
    assert "does not look like a CSV text file" in assert_refused(path)


def test_ole2_file_without_a_workbook(tmp_path):
    stderr = assert_refused(write(tmp_path, "sales.xls", OLE2_MAGIC + bytes(4096)))
    assert "Office (OLE2) file with no workbook in it" in stderr
    assert "as CSV or .xlsx" in stderr


def test_password_protected(tmp_path):
    data = OLE2_MAGIC + bytes(2048) + "EncryptedPackage".encode("utf-16-le") + bytes(2048)
    stderr = assert_refused(write(tmp_path, "sales.xlsx", data))
    assert "password-protected" in stderr
    assert "remove the password" in stderr


def test_truncated_xlsx(tmp_path):
    full = tmp_path / "full.bin"
    book = xlsxwriter.Workbook(str(full))
    book.add_worksheet().write_row(0, 0, ["Lead ID", "Amount"])
    book.close()
    data = full.read_bytes()
    full.unlink()
    path = write(tmp_path, "sales.xlsx", data[: len(data) // 2])
    assert "damaged or incomplete" in assert_refused(path)


def test_zip_without_workbook(tmp_path):
    path = tmp_path / "sales.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("word/document.xml", "<w/>")
    assert "not an Excel workbook" in assert_refused(path)


def test_zip_bomb(tmp_path):
    path = tmp_path / "sales.xlsx"
    zeros = bytes(MB)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/workbook.xml", "<workbook/>")
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as part:
            for _ in range(60):
                part.write(zeros)
    stderr = assert_refused(path)
    assert "decompression bomb" in stderr
    assert "--max-xlsx-mb" in stderr
    stderr = assert_refused(path, "--max-xlsx-mb", "50")
    assert "over the 50 MB limit" in stderr


def test_single_line_of_20_mb(tmp_path):
    path = write(tmp_path, "sales.csv", b"Lead ID,Amount\n" + b"A" * (20 * MB))
    stderr = assert_refused(path)
    assert "line 2 is longer than 10 MB" in stderr
    assert "A" * 21 not in stderr


def test_unknown_encoding(tmp_path):
    path = write(tmp_path, "sales.csv", f"Lead ID,Amount\n{LEAD},1\n".encode())
    assert "--encoding" in assert_refused(path, "--encoding", "utf-99")


def test_wrong_encoding_named(tmp_path):
    path = write(tmp_path, "sales.csv", f"Lead ID,Amount\n{LEAD},1\n".encode())
    assert "utf-16" in assert_refused(path, "--encoding", "utf-16")


def test_duplicate_header(tmp_path):
    path = write(tmp_path, "sales.csv", f"Lead ID,Amount,Amount\n{LEAD},1,2\n".encode())
    stderr = assert_refused(path)
    assert "Amount" in stderr
    assert "rename one" in stderr


def test_utf16_without_bom_is_read_not_garbled(tmp_path):
    text = f"Lead ID,Amount,Date\n{LEAD},15.00,2026-01-05\n"
    path = write(tmp_path, "sales.csv", text.encode("utf-16-le"))
    done = validate(path, "--results", str(tmp_path / "out.csv"))
    assert "Traceback" not in done.stderr
    assert done.returncode == 0, done.stderr


def test_output_read_by_a_program_that_stops_reading_is_no_traceback(tmp_path):
    """``keen-import ledger list | head -2``: the reader leaves before the list is printed."""
    env = {**os.environ, "KEEN_IMPORT_DATA_DIR": str(tmp_path / "data")}
    command = [sys.executable, "-m", "importer", "ledger", "list"]  # this user's new ledger
    listing = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    listing.stdout.close()  # before the tool has started: its first line meets a closed pipe
    err = listing.stderr.read().decode()
    assert (listing.wait(60), err) == (1, "")
