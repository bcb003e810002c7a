"""The reader registry: every kind of input file keen-import reads, declared once.

Each `InputKind` says how a file of its kind is recognised (its names, and the zip part or the
container stream that proves it), how it is checked before a parser touches it, how its hidden
rows are found, the format of its corrected copy, its media type and the words for people.
Recognition and checks (`filecheck`), opening and hidden rows (`loader`), the corrected copy
(`importer.job.edits`), output names (`importer.report.outputs`), the folder scan
(`importer.job.inputs`) and the web app's upload form and downloads derive from this table:
adding a kind is one entry (and a test in tests/read/test_reader_kinds.py).

    kind  suffixes            recognised by                    checked by           hidden rows
    csv   .csv .txt .tsv      text (none of the below)         encoding, line scan  -
    xlsx  .xlsx .xlsm         zip part xl/workbook.xml         zip checks           sheet XML
    xlsb  .xlsb               zip part xl/workbook.bin         zip checks           BIFF12 records
    ods   .ods                zip part mimetype (spreadsheet)  zip checks           content.xml
    xls   .xls                OLE2 stream Workbook or Book     file size            not detected

python-calamine opens every workbook kind. An encrypted .xlsx/.xlsm/.xlsb is an OLE2 container
with EncryptionInfo and EncryptedPackage streams (`filecheck`); an encrypted .ods lists
``encryption-data`` in its manifest (`zipcheck`); both end in `InputKind.password_refusal`.
Every workbook's corrected copy is written as .xlsx (xlsxwriter): nothing else is written.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from importer.errors import InputFileError
from importer.read.hidden import HiddenCells, find_hidden
from importer.read.hidden_ods import find_hidden_ods
from importer.read.hidden_xlsb import find_hidden_xlsb
from importer.read.zipcheck import MB, check_zip_workbook, workbook_too_big

__all__ = [
    "CSV",
    "KINDS",
    "ODS",
    "XLS",
    "XLSB",
    "XLSX",
    "InputKind",
    "input_suffixes",
    "kind_for_suffix",
    "kind_named",
    "media_types",
    "zip_kind",
]

#: check(path, file size, kind, max_workbook_mb): raise InputFileError if unsafe or broken.
SafetyCheck = Callable[[Path, int, "InputKind", int], None]
#: find(path, sheet, last data row): the sheet's hidden rows and columns.
HiddenFinder = Callable[[Path, str, "int | None"], HiddenCells]

EXCEL_UNLOCK = (
    "open it in Excel, remove the password (File > Info > Protect Workbook > Encrypt with "
    "Password: clear it) and save it again"
)
CALC_UNLOCK = (
    "open it in LibreOffice Calc, choose File > Save As, untick 'Save with password' and save "
    "it again"
)


@dataclass(frozen=True)
class InputKind:
    """One kind of input file and everything the reader does differently for it.

    ``name`` is `FileInfo.kind`; ``zip_part`` the part that proves a zip is this kind (and
    ``zip_mimetype`` the content of an OpenDocument's first part, ``mimetype``);
    ``ole2_streams`` the stream names (UTF-16LE, NUL-ended) that prove an OLE2 file is;
    ``check`` the safety check of a workbook (None for CSV: `filecheck` scans its text);
    ``find_hidden`` None where hidden rows are not detected; ``password_mark`` a (part, bytes)
    whose presence means the file is encrypted; ``corrected_suffix`` the corrected copy's
    format (None: the input's own, CSV text as read).
    """

    name: str
    words: str  # for people: "Excel workbook"
    suffixes: tuple[str, ...]
    media_type: str
    app: str = "Excel"  # the program to open it in, for hints
    zip_part: str | None = None
    zip_mimetype: bytes | None = None
    ole2_streams: tuple[bytes, ...] = ()
    check: SafetyCheck | None = None
    find_hidden: HiddenFinder | None = None
    password_mark: tuple[str, bytes] | None = None
    unlock_hint: str = EXCEL_UNLOCK
    corrected_suffix: str | None = ".xlsx"

    @property
    def workbook(self) -> bool:
        """True for a spreadsheet program's file (typed cells, sheets), False for CSV text."""
        return self.check is not None

    @property
    def a_words(self) -> str:
        """The words with their article: "an Excel workbook"."""
        return ("an " if self.words[0] in "AEIOU" else "a ") + self.words

    @property
    def hidden_rows_note(self) -> str | None:
        """The note a table of this kind carries when its hidden rows cannot be seen."""
        if not self.workbook or self.find_hidden is not None:
            return None
        return (
            f"note: hidden rows are not detected in {self.suffixes[0]} workbooks; if some must "
            f"not be imported, delete them in {self.app} first"
        )

    def recognises(self, parts: set[str], first: tuple[str, bytes] | None) -> bool:
        """True when a zip with these part names (and this stored first part) is this kind."""
        if self.zip_mimetype is not None:
            return first == ("mimetype", self.zip_mimetype)
        return self.zip_part is not None and self.zip_part in parts

    def password_refusal(self, p: Path) -> InputFileError:
        """The one refusal of a password-protected file of this kind."""
        return InputFileError(f"{p.name} is password-protected", path=p, hint=self.unlock_hint)


def _check_size(p: Path, size: int, kind: InputKind, max_workbook_mb: int) -> None:
    """Nothing is compressed in an .xls: what the reader holds is about the file's size."""
    if size > max_workbook_mb * MB:
        raise workbook_too_big(p, size, max_workbook_mb)


def _check_zip(p: Path, size: int, kind: InputKind, max_workbook_mb: int) -> None:
    check_zip_workbook(p, size, kind, max_workbook_mb=max_workbook_mb)


CSV = InputKind(
    name="csv",
    words="CSV file",
    suffixes=(".csv", ".txt", ".tsv"),
    media_type="text/csv; charset=utf-8",
    corrected_suffix=None,
)
XLSX = InputKind(
    name="xlsx",
    words="Excel workbook",
    suffixes=(".xlsx", ".xlsm"),
    media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    zip_part="xl/workbook.xml",
    check=_check_zip,
    find_hidden=find_hidden,
)
XLSB = InputKind(
    name="xlsb",
    words="Excel binary workbook",
    suffixes=(".xlsb",),
    media_type="application/vnd.ms-excel.sheet.binary.macroEnabled.12",
    zip_part="xl/workbook.bin",
    check=_check_zip,
    find_hidden=find_hidden_xlsb,
)
ODS = InputKind(
    name="ods",
    words="OpenDocument spreadsheet",
    suffixes=(".ods",),
    media_type="application/vnd.oasis.opendocument.spreadsheet",
    app="LibreOffice Calc",
    zip_part="content.xml",
    zip_mimetype=b"application/vnd.oasis.opendocument.spreadsheet",
    check=_check_zip,
    find_hidden=find_hidden_ods,
    password_mark=("META-INF/manifest.xml", b"encryption-data"),
    unlock_hint=CALC_UNLOCK,
)
XLS = InputKind(
    name="xls",
    words="Excel 97-2003 workbook",
    suffixes=(".xls",),
    media_type="application/vnd.ms-excel",
    ole2_streams=tuple((name + "\0").encode("utf-16-le") for name in ("Workbook", "Book")),
    check=_check_size,
)

#: Every kind, in the order a zip's content is tried against them.
KINDS: tuple[InputKind, ...] = (CSV, XLSX, XLSB, ODS, XLS)
_BY_NAME = {kind.name: kind for kind in KINDS}
_BY_SUFFIX = {suffix: kind for kind in KINDS for suffix in kind.suffixes}


def kind_named(name: str) -> InputKind | None:
    """The kind whose `FileInfo.kind` is ``name`` (None for a DataFrame's "frame")."""
    return _BY_NAME.get(name)


def kind_for_suffix(suffix: str) -> InputKind | None:
    """The kind a file name ending in ``suffix`` (".ODS", ".xlsb") claims to be."""
    return _BY_SUFFIX.get(suffix.lower())


def zip_kind(parts: set[str] | None, first: tuple[str, bytes] | None) -> InputKind | None:
    """The kind a zip's content proves (its parts and its stored first part), if any."""
    if parts is None:
        return None
    return next((kind for kind in KINDS if kind.recognises(parts, first)), None)


def input_suffixes() -> tuple[str, ...]:
    """Every file name ending keen-import reads, in the registry's order."""
    return tuple(_BY_SUFFIX)


def media_types() -> dict[str, str]:
    """File name ending -> media type, for every kind (downloads, the upload form)."""
    return {suffix: kind.media_type for kind in KINDS for suffix in kind.suffixes}
