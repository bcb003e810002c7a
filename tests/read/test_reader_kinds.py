"""The reader registry: every input kind is recognised, checked, opened, has its hidden rows
found and its corrected copy written as `importer.read.kinds` declares, and the web app's upload
form and downloads agree with it.

The .ods and .xlsb files are written by hand: an .ods is a zip of a stored ``mimetype`` part,
a manifest and ``content.xml``; an .xlsb a zip of BIFF12 record streams (MS-XLSB), the few
records python-calamine needs. Both are valid files Excel and LibreOffice open.
"""

from __future__ import annotations

import re
import struct
import zipfile
from pathlib import Path
from xml.sax.saxutils import escape

import openpyxl
import pytest
from conftest import LEAD_1, LEAD_2, LEAD_3, write_xlsx

import importer
from importer.errors import InputFileError
from importer.job.inputs import INPUT_SUFFIXES
from importer.read.filecheck import WORKBOOK_SUFFIXES, inspect_input
from importer.read.hidden import HiddenCells
from importer.read.hidden_ods import find_hidden_ods
from importer.read.kinds import KINDS, ODS, XLS, XLSB, input_suffixes, media_types
from importer.read.loader import open_table
from importer.report.outputs import OutputNames

MB = 1024 * 1024
ODS_MIME = "application/vnd.oasis.opendocument.spreadsheet"
HEADER = ["Lead ID", "Amount", "Date", "Reference"]
ROWS = [
    [LEAD_1, 10.5, "2026-03-02", "R-1"],
    [LEAD_2, 24000, "2026-03-03", "R-2"],  # hidden in the files below
    [LEAD_3, 7, "2026-03-04", "R-3"],
]
UPLOAD_FORM = Path(importer.__file__).parent / "ui" / "templates" / "upload.html"
EXCEL_UNLOCK = (
    "open it in Excel, remove the password (File > Info > Protect Workbook > Encrypt with "
    "Password: clear it) and save it again"
)


# --- files written by hand ---------------------------------------------------------------------


def _ods_cell(value: object) -> str:
    if value is None:
        return "<table:table-cell/>"
    if isinstance(value, tuple) and value[1] == "%":  # LibreOffice's Percent format
        return (
            f'<table:table-cell office:value-type="percentage" office:value="{value[0]}">'
            f"<text:p>{value[0] * 100:g}%</text:p></table:table-cell>"
        )
    if isinstance(value, tuple):  # (amount, currency): LibreOffice's Currency format
        amount, code = value
        return (
            f'<table:table-cell office:value-type="currency" office:currency="{code}" '
            f'office:value="{amount}"><text:p>{amount} {code}</text:p></table:table-cell>'
        )
    if isinstance(value, (int, float)):
        return (
            f'<table:table-cell office:value-type="float" office:value="{value}">'
            f"<text:p>{value}</text:p></table:table-cell>"
        )
    text = escape(value)
    return (
        f'<table:table-cell office:value-type="string"><text:p>{text}</text:p></table:table-cell>'
    )


def _ods_sheet(name: str, rows: list, hidden: dict[int, str], hidden_columns: set[int]) -> str:
    """A sheet: two blank rows written once (repeated), then ``rows``; ``hidden`` maps an index
    of ``rows`` to its visibility ("collapse" by hand, "filter" by a filter)."""
    width = max(len(r) for r in rows)
    columns = "".join(
        '<table:table-column table:visibility="collapse"/>'
        if c in hidden_columns
        else "<table:table-column/>"
        for c in range(width)
    )
    lines = [
        '<table:table-row table:number-rows-repeated="2"><table:table-cell/></table:table-row>'
    ]
    for i, row in enumerate(rows):
        seen = f' table:visibility="{hidden[i]}"' if i in hidden else ""
        lines.append(
            f"<table:table-row{seen}>" + "".join(map(_ods_cell, row)) + "</table:table-row>"
        )
    quoted = escape(name, {'"': "&quot;"})
    return f'<table:table table:name="{quoted}">{columns}{"".join(lines)}</table:table>'


def write_ods(
    path: Path,
    sheets: dict[str, list],
    *,
    hidden: dict[int, str] | None = None,
    hidden_columns: set[int] = frozenset(),
    encrypted: bool = False,
) -> Path:
    """An OpenDocument spreadsheet; ``hidden`` and ``hidden_columns`` apply to the last sheet."""
    *others, (name, rows) = sheets.items()
    body = "".join(_ods_sheet(n, r, {}, set()) for n, r in others)
    body += _ods_sheet(name, rows, hidden or {}, hidden_columns)
    content = (
        '<?xml version="1.0" encoding="UTF-8"?><office:document-content '
        'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
        'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
        'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2">'
        f"<office:body><office:spreadsheet>{body}</office:spreadsheet></office:body>"
        "</office:document-content>"
    )
    secret = (
        '<manifest:encryption-data manifest:checksum-type="SHA1/1K" manifest:checksum="x"/>'
        if encrypted
        else ""
    )
    manifest = (
        '<?xml version="1.0" encoding="UTF-8"?><manifest:manifest '
        'xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" '
        'manifest:version="1.2">'
        f'<manifest:file-entry manifest:full-path="/" manifest:media-type="{ODS_MIME}"/>'
        '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml">'
        f"{secret}</manifest:file-entry></manifest:manifest>"
    )
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(zipfile.ZipInfo("mimetype"), ODS_MIME, compress_type=zipfile.ZIP_STORED)
        archive.writestr("META-INF/manifest.xml", manifest)
        archive.writestr("content.xml", content)
    return path


def _record(kind: int, body: bytes = b"") -> bytes:
    """One BIFF12 record: its type and size, 7 bits a byte, then its body."""
    head = bytes([kind]) if kind < 0x80 else bytes([(kind & 0x7F) | 0x80, kind >> 7])
    size, length = len(body), bytearray()
    while True:
        length.append((size & 0x7F) | (0x80 if size > 0x7F else 0))
        size >>= 7
        if not size:
            return head + bytes(length) + body


def _wide(text: str) -> bytes:
    return struct.pack("<I", len(text)) + text.encode("utf-16-le")


def _xlsb_cell(column: int, value: object) -> bytes:
    if isinstance(value, str):  # BrtCellSt: column, style, text
        return _record(0x06, struct.pack("<II", column, 0) + _wide(value))
    return _record(0x05, struct.pack("<IId", column, 0, float(value)))  # BrtCellReal


def _xlsb_sheet(rows: list, hidden: set[int], hidden_columns: set[int]) -> bytes:
    width = max(len(r) for r in rows)
    parts = [_record(0x81), _record(0x94, struct.pack("<4I", 0, len(rows) - 1, 0, width - 1))]
    if hidden_columns:  # BrtBeginColInfos, BrtColInfo (first, last, width, style, fHidden)
        parts += [_record(0x186), *(_record(0x3C, struct.pack("<4IH", c, c, 2560, 0, 1))
                                    for c in sorted(hidden_columns)), _record(0x187)]  # fmt: skip
    parts.append(_record(0x91))  # BrtBeginSheetData
    for i, row in enumerate(rows):
        flags = bytes([0, 0x10 if i in hidden else 0, 0])  # fDyZero: the row is hidden
        parts.append(_record(0x00, struct.pack("<IIH", i, 0, 300) + flags + struct.pack("<I", 0)))
        parts += [_xlsb_cell(c, v) for c, v in enumerate(row) if v is not None]
    return b"".join(parts) + _record(0x92) + _record(0x82)


def write_xlsb(
    path: Path, name: str, rows: list, *, hidden: set[int] = frozenset(), hidden_columns=()
) -> Path:
    """An Excel binary workbook of one sheet; ``hidden`` holds indexes of ``rows``."""
    book = _record(0x83) + _record(0x8F)  # BrtBeginBook, BrtBeginBundleShs
    book += _record(0x9C, struct.pack("<II", 0, 1) + _wide("rId1") + _wide(name))  # BrtBundleSh
    book += _record(0x90) + _record(0x84)  # BrtEndBundleShs, BrtEndBook
    rels = (
        '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/'
        '2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/'
        'officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.bin"/>'
        "</Relationships>"
    )
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/workbook.bin", book)
        archive.writestr("xl/_rels/workbook.bin.rels", rels)
        archive.writestr(
            "xl/worksheets/sheet1.bin", _xlsb_sheet(rows, set(hidden), set(hidden_columns))
        )
    return path


def encrypted_ooxml() -> bytes:
    """An encrypted .xlsx/.xlsb as Office writes it, reduced to its container: an OLE2 header
    and a directory sector naming the EncryptionInfo and EncryptedPackage streams."""
    header = bytearray(512)
    header[:8] = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
    struct.pack_into("<HHHHH", header, 24, 0x3E, 3, 0xFFFE, 9, 6)  # versions, byte order, sizes
    struct.pack_into("<I", header, 48, 0)  # the directory starts in sector 0
    directory = b""
    for name, kind in (("Root Entry", 5), ("EncryptionInfo", 2), ("EncryptedPackage", 2)):
        entry = bytearray(128)
        encoded = (name + "\0").encode("utf-16-le")
        entry[: len(encoded)] = encoded
        struct.pack_into("<HB", entry, 64, len(encoded), kind)
        directory += bytes(entry)
    return bytes(header) + directory + bytes(512 - len(directory))


def refusal(path: Path, **options) -> InputFileError:
    with pytest.raises(InputFileError) as caught:
        inspect_input(path, **options)
    return caught.value


def sales_ods(path: Path, **options) -> Path:
    cover = [["March sales"], ["See the Sales sheet"]]
    return write_ods(path, {"Cover": cover, "Sales": [HEADER, *ROWS]}, **options)


# --- opened, values exact, hidden rows found ----------------------------------------------------


def test_ods_opens_with_exact_values_and_its_hidden_rows(tmp_path):
    path = sales_ods(tmp_path / "march.ods", hidden={2: "collapse"}, hidden_columns={3})

    table = open_table(path)
    chunks = list(table.chunks())

    assert (table.info.kind, table.sheet, table.sheets) == ("ods", "Sales", ["Cover", "Sales"])
    assert (table.headers, table.header_row) == (HEADER, 3)  # two blank rows above the header
    assert [c for chunk in chunks for c in chunk.cells] == [
        [LEAD_1, "10.5", "2026-03-02", "R-1"],
        [LEAD_2, "24000", "2026-03-03", "R-2"],
        [LEAD_3, "7", "2026-03-04", "R-3"],
    ]
    assert [r for chunk in chunks for r in chunk.rows] == [4, 5, 6]
    assert [chunk.rows[i] for chunk in chunks for i in chunk.hidden] == [5]
    assert (table.hidden_columns, table.notes) == (["Reference"], [])


def test_ods_rows_hidden_by_a_filter_are_hidden_too(tmp_path):
    path = sales_ods(tmp_path / "march.ods", hidden={1: "filter", 3: "filter"})
    chunk = next(open_table(path).chunks())
    assert [chunk.rows[i] for i in chunk.hidden] == [4, 6]


def test_ods_hidden_rows_past_the_data_are_not_listed(tmp_path):
    """LibreOffice writes the empty rows after the data as one element repeated a million
    times; hidden, they must not become a million row numbers."""
    path = write_ods(
        tmp_path / "march.ods", {'Sales & "Co"': [HEADER, *ROWS]}, hidden={2: "collapse"}
    )
    with zipfile.ZipFile(path) as archive:
        content = archive.read("content.xml").decode()
        manifest = archive.read("META-INF/manifest.xml")
    tail = '<table:table-row table:number-rows-repeated="1048000" table:visibility="collapse">'
    content = content.replace(
        "</table:table>", tail + "<table:table-cell/></table:table-row></table:table>"
    )
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(zipfile.ZipInfo("mimetype"), ODS_MIME)
        archive.writestr("META-INF/manifest.xml", manifest)
        archive.writestr("content.xml", content)

    assert find_hidden_ods(path, 'Sales & "Co"', 6) == HiddenCells(frozenset({5}))
    table = open_table(path)
    assert table.sheet == 'Sales & "Co"'
    assert [r for chunk in table.chunks() for r in (chunk.rows[i] for i in chunk.hidden)] == [5]


def test_xlsb_opens_with_exact_values_and_its_hidden_rows(tmp_path):
    path = write_xlsb(
        tmp_path / "march.xlsb", "Sales", [HEADER, *ROWS], hidden={2}, hidden_columns={3}
    )

    table = open_table(path)
    chunk = next(table.chunks())

    assert (table.info.kind, table.sheet, table.headers, table.header_row) == (
        "xlsb",
        "Sales",
        HEADER,
        1,
    )
    assert chunk.cells == [
        [LEAD_1, "10.5", "2026-03-02", "R-1"],
        [LEAD_2, "24000", "2026-03-03", "R-2"],
        [LEAD_3, "7", "2026-03-04", "R-3"],
    ]
    assert chunk.raw[0][1] == 10.5  # typed, as for .xlsx
    assert ([chunk.rows[i] for i in chunk.hidden], chunk.rows) == ([3], [2, 3, 4])
    assert (table.hidden_columns, table.notes) == (["Reference"], [])


def test_xls_says_its_hidden_rows_are_not_detected(tmp_path):
    table = open_table(Path(__file__).parents[1] / "data" / "legacy_march_2026.xls")
    assert table.notes == [XLS.hidden_rows_note]
    assert table.notes == [
        "note: hidden rows are not detected in .xls workbooks; if some must not be imported, "
        "delete them in Excel first"
    ]


def test_a_hidden_ods_row_is_reported_like_a_hidden_xlsx_row(tmp_path, cli):
    ods = sales_ods(tmp_path / "march.ods", hidden={2: "collapse"})
    xlsx = tmp_path / "march.xlsx"
    write_xlsx(xlsx, {"Cover": [["March sales"]], "Sales": [[], [], HEADER, *ROWS]})
    book = openpyxl.load_workbook(xlsx)
    book["Sales"].row_dimensions[5].hidden = True
    book.save(xlsx)

    ods_code, ods_err = cli("validate", ods, "--results", tmp_path / "ods.results.csv")
    xlsx_code, xlsx_err = cli("validate", xlsx, "--results", tmp_path / "xlsx.results.csv")

    assert ods_code == xlsx_code == 0
    assert ods_err[0] == "march.ods: sheet 'Sales', header on row 3"
    assert [line.replace("xlsx", "ods") for line in xlsx_err] == ods_err
    results = (tmp_path / "ods.results.csv").read_text(encoding="utf-8-sig")
    assert results == (tmp_path / "xlsx.results.csv").read_text(encoding="utf-8-sig")
    assert "hidden in the workbook" in results


# --- the command line --------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["ods", "xlsb"])
def test_validate_exit_0_then_1_and_the_header_line_names_the_sheet(tmp_path, cli, kind):
    def write(path, rows):
        if kind == "ods":
            return write_ods(path, {"Sales": rows})
        return write_xlsb(path, "Sales", rows)

    good = write(tmp_path / f"good.{kind}", [HEADER, *ROWS])
    bad = write(tmp_path / f"bad.{kind}", [HEADER, *ROWS, ["not-a-lead", 5, "2026-03-05", "R-4"]])

    code, err = cli("validate", good)
    assert (code, err[0]) == (
        0,
        f"good.{kind}: sheet 'Sales', header on row {3 if kind == 'ods' else 1}",
    )
    assert err[-1] == f"results: {tmp_path / 'good.results.xlsx'}"

    code, err = cli("validate", bad)
    assert code == 1
    assert "  invalid                1   5.00" in err


# --- recognised by content ---------------------------------------------------------------------


@pytest.mark.parametrize("name", ["export.xlsx", "export.xls", "export.dat", "export"])
def test_ods_and_xlsb_under_another_name_are_read_by_their_content(tmp_path, name):
    ods = sales_ods(tmp_path / "march.ods")
    (tmp_path / "ods").mkdir()
    renamed = ods.rename(tmp_path / "ods" / name)
    assert inspect_input(renamed).kind == "ods"
    assert open_table(renamed).sheet == "Sales"

    xlsb = write_xlsb(tmp_path / "march.xlsb", "Sales", [HEADER, *ROWS])
    renamed = xlsb.rename(tmp_path / name)
    assert inspect_input(renamed).kind == "xlsb"
    assert open_table(renamed).headers == HEADER


def test_an_opendocument_text_is_not_a_spreadsheet(tmp_path):
    path = tmp_path / "letter.dat"
    with zipfile.ZipFile(path, "w") as archive:
        mime = "application/vnd.oasis.opendocument.text"
        archive.writestr(zipfile.ZipInfo("mimetype"), mime, compress_type=zipfile.ZIP_STORED)
        archive.writestr("content.xml", "<office:document-content/>")
    assert str(refusal(path)) == "letter.dat is a ZIP archive, not a CSV or .xlsx file"


@pytest.mark.parametrize(
    ("name", "message", "hint"),
    [
        pytest.param(
            "calc.ods",
            "calc.ods is a zip file but not an OpenDocument spreadsheet (no content.xml inside)",
            "open it in LibreOffice Calc and save it as .ods",
            id="ods",
        ),
        pytest.param(
            "big.xlsb",
            "big.xlsb is a zip file but not an Excel binary workbook (no xl/workbook.bin inside)",
            "open it in Excel and save it as .xlsb",
            id="xlsb",
        ),
    ],
)
def test_a_zip_named_as_a_workbook_without_its_part(tmp_path, name, message, hint):
    path = tmp_path / name
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("hello.txt", "hi")
    error = refusal(path)
    assert (str(error), error.hint) == (message, hint)


# --- refused: damaged, too big, password-protected ---------------------------------------------


@pytest.mark.parametrize("suffix", [".ods", ".xlsb"])
def test_damaged_workbooks(tmp_path, suffix):
    kind = ODS if suffix == ".ods" else XLSB
    whole = (
        sales_ods(tmp_path / "whole.ods")
        if kind is ODS
        else write_xlsb(tmp_path / "whole.xlsb", "Sales", [HEADER, *ROWS])
    )
    cut = tmp_path / f"cut{suffix}"
    cut.write_bytes(whole.read_bytes()[:-40])
    error = refusal(cut)
    assert (
        str(error) == f"cut{suffix}: the {suffix} file is damaged or incomplete (not a valid zip)"
    )
    assert error.hint == (
        f"download or copy it again, or open it in {kind.app} and save it again as {suffix}"
    )

    text = tmp_path / f"text{suffix}"
    text.write_text("Lead ID,Amount\n", encoding="utf-8")
    assert str(refusal(text)) == (
        f"the {suffix} file text{suffix} is damaged or not a workbook (not a zip)"
    )


def _bomb(path: Path, kind: str, megabytes: int) -> Path:
    """A workbook of ``kind`` with one part of ``megabytes`` MB of zeros."""
    first = {"xlsx": "xl/workbook.xml", "xlsb": "xl/workbook.bin", "ods": "META-INF/manifest.xml"}
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        if kind == "ods":
            archive.writestr(
                zipfile.ZipInfo("mimetype"), ODS_MIME, compress_type=zipfile.ZIP_STORED
            )
        archive.writestr(first[kind], "<x/>")
        with archive.open(
            "content.xml" if kind == "ods" else "xl/worksheets/sheet1.bin", "w"
        ) as part:
            for _ in range(megabytes):
                part.write(bytes(MB))
    return path


@pytest.mark.parametrize("kind", ["xlsx", "xlsb", "ods"])
def test_a_zip_bomb_gets_the_same_message_whatever_the_kind(tmp_path, kind):
    path = _bomb(tmp_path / f"bomb.{kind}", kind, 12)
    assert inspect_input(path, max_xlsx_mb=20).kind == kind
    error = refusal(path, max_xlsx_mb=10)
    assert (
        str(error)
        == f"bomb.{kind}: the workbook would expand to 13 MB in memory, over the 10 MB limit"
    )
    assert error.hint == "if the file is genuine, raise the limit with --max-xlsx-mb 1000"


@pytest.mark.parametrize("name", ["secret.xlsx", "secret.xlsb", "secret.xlsm"])
def test_a_password_protected_excel_workbook_exit_2(tmp_path, cli, name):
    (tmp_path / name).write_bytes(encrypted_ooxml())

    code, err = cli("validate", tmp_path / name)

    assert (code, err) == (2, [f"error: {name} is password-protected", f"hint: {EXCEL_UNLOCK}"])


def test_a_password_protected_ods_exit_2(tmp_path, cli):
    path = sales_ods(tmp_path / "secret.ods", encrypted=True)

    code, err = cli("validate", path)

    assert (code, err) == (
        2,
        [
            "error: secret.ods is password-protected",
            "hint: open it in LibreOffice Calc, choose File > Save As, untick 'Save with "
            "password' and save it again",
        ],
    )


# --- the corrected copy ------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["ods", "xlsb"])
def test_the_corrected_copy_of_any_workbook_is_an_xlsx(tmp_path, kind):
    rows = [HEADER, *ROWS[:2], [LEAD_3, "abc", "2026-03-04", "R-3"]]
    path = (
        write_ods(tmp_path / f"march.{kind}", {"Sales": rows})
        if kind == "ods"
        else write_xlsb(tmp_path / f"march.{kind}", "Sales", rows)
    )
    assert OutputNames.beside(path, kind).corrected(path, kind) == tmp_path / "march.corrected.xlsx"

    job = importer.open_import(path)
    assert job.check().exit_code == 1
    last = 6 if kind == "ods" else 4
    job.edit(last, "Amount", "30")
    corrected = job.save_corrected()

    assert corrected == tmp_path / "march.corrected.xlsx"
    sheet = openpyxl.load_workbook(corrected)["Sales"]
    values = [list(r) for r in sheet.iter_rows(min_row=last - 3, values_only=True)]
    assert values == [
        HEADER,
        [LEAD_1, 10.5, "2026-03-02", "R-1"],
        [LEAD_2, 24000, "2026-03-03", "R-2"],
        [LEAD_3, "30", "2026-03-04", "R-3"],
    ]
    assert importer.open_import(corrected).check().exit_code == 0


# --- everything else derives from the registry --------------------------------------------------


def test_the_upload_form_accepts_exactly_the_registered_kinds():
    accept = re.search(r'accept="([^"]*)"', UPLOAD_FORM.read_text(encoding="utf-8"))[1]
    assert sorted(accept.split(",")) == sorted(input_suffixes())


def test_names_and_media_types_derive_from_the_registry():
    from importer.ui.routes.files import MEDIA_TYPES

    assert set(INPUT_SUFFIXES) == {s for kind in KINDS for s in kind.suffixes}
    assert dict(WORKBOOK_SUFFIXES) == {k.name: set(k.suffixes) for k in KINDS if k.workbook}
    assert {s: MEDIA_TYPES[s] for s in input_suffixes()} == media_types()
    assert MEDIA_TYPES[".ods"] == "application/vnd.oasis.opendocument.spreadsheet"
    assert [(k.name, k.words, k.corrected_suffix) for k in KINDS] == [
        ("csv", "CSV file", None),
        ("xlsx", "Excel workbook", ".xlsx"),
        ("xlsb", "Excel binary workbook", ".xlsx"),
        ("ods", "OpenDocument spreadsheet", ".xlsx"),
        ("xls", "Excel 97-2003 workbook", ".xlsx"),
    ]
