"""`keen-import validate` and `keen-import template` run for real: exit codes and messages."""

from __future__ import annotations

import zipfile
from pathlib import Path

import openpyxl
import pytest
from conftest import LEAD_1, LEAD_2, read_results_csv, write_bytes, write_csv, write_xlsx

GOOD = f"Lead ID,Amount,Date\r\n{LEAD_1},10,2026-03-02\r\n{LEAD_2},20,2026-03-03\r\n"


def test_all_valid_exit_0(tmp_path, cli):
    path = write_csv(tmp_path / "ok.csv", GOOD)

    code, err = cli("validate", path)

    assert code == 0
    assert err[0] == "ok.csv: encoding utf-8, delimiter ',', header on row 1"
    assert "  valid                  2   30.00" in err
    assert err[-1] == f"results: {tmp_path / 'ok.results.csv'}"


def test_some_invalid_exit_1(tmp_path, cli):
    path = write_csv(tmp_path / "bad.csv", GOOD + "not-a-lead,30,2026-03-04\r\n")

    code, err = cli("validate", path)

    assert code == 1
    assert "  invalid                1   30.00" in err
    assert [r["status"] for r in read_results_csv(tmp_path / "bad.results.csv")] == [
        "valid",
        "valid",
        "invalid",
    ]


def test_python_dash_m_entry_point(tmp_path):
    import subprocess
    import sys

    path = write_csv(tmp_path / "ok.csv", GOOD)
    done = subprocess.run(
        [sys.executable, "-m", "importer", "validate", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert done.returncode == 0, done.stderr
    assert "mapping used: lead_id <- 'Lead ID', purchase_amount <- 'Amount', date <- 'Date'" in (
        done.stderr
    )


OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 2048


@pytest.mark.parametrize(
    ("name", "make", "expected"),
    [
        pytest.param(
            "missing.csv",
            None,
            ["error: file not found: missing.csv", "hint: check the path and the file name"],
            id="missing",
        ),
        pytest.param(
            "folder.csv",
            "dir",
            ["error: the folder folder.csv holds no CSV or Excel file"],
            id="directory",
        ),
        pytest.param(
            "empty.csv",
            b"",
            [
                "error: empty.csv: the file is empty (0 bytes)",
                "hint: export the data again and check that the export finished",
            ],
            id="empty",
        ),
        pytest.param(
            "image.csv",
            b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4,
            [
                "error: image.csv does not look like a CSV text file (it looks like a PNG image)",
                "hint: export the data again from your accounting system or Excel as CSV or .xlsx",
            ],
            id="png-named-csv",
        ),
        pytest.param(
            "binary.csv",
            bytes(range(256)) * 20,
            [
                "error: binary.csv does not look like a CSV text file (it contains binary data)",
                "hint: export the data again from your accounting system or Excel as CSV or .xlsx",
            ],
            id="binary-csv",
        ),
        pytest.param(
            "old.xls",
            OLE2,
            [
                "error: old.xls: this is an Office (OLE2) file with no workbook in it, such as a "
                "Word document",
                "hint: export the data again from your accounting system or Excel as CSV or .xlsx",
            ],
            id="ole2-without-workbook",
        ),
        pytest.param(
            "damaged.xls",
            OLE2[:1024] + "Workbook\0".encode("utf-16-le") + OLE2[1024:],
            [
                "error: damaged.xls: the workbook cannot be read (CalamineError)",
                "hint: open it in Excel and save it again as .xlsx",
            ],
            id="damaged-xls",
        ),
        pytest.param(
            "corrupt.xlsx",
            b"PK\x03\x04" + b"garbage" * 100,
            [
                "error: corrupt.xlsx: the .xlsx file is damaged or incomplete (not a valid zip)",
                "hint: download or copy it again, or open it in Excel and save it again as .xlsx",
            ],
            id="corrupt-xlsx",
        ),
    ],
)
def test_bad_input_exit_2_with_one_message(tmp_path, cli, monkeypatch, name, make, expected):
    monkeypatch.chdir(tmp_path)
    if make == "dir":
        (tmp_path / name).mkdir()
    elif make is not None:
        write_bytes(tmp_path / name, make)

    code, err = cli("validate", name)

    assert code == 2
    assert err == expected
    assert not [p for p in tmp_path.iterdir() if ".results." in p.name]


def test_zip_that_is_not_a_workbook(tmp_path, cli):
    path = tmp_path / "fake.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("hello.txt", "hi")

    code, err = cli("validate", path)

    assert code == 2
    assert err[0] == (
        "error: fake.xlsx is a zip file but not an Excel workbook (no xl/workbook.xml inside)"
    )


def test_truncated_xlsx(tmp_path, cli):
    from conftest import write_xlsx

    source = write_xlsx(tmp_path / "full.xlsx", {"Data": [["Lead ID", "Amount"], [LEAD_1, 10]]})
    path = write_bytes(tmp_path / "cut.xlsx", source.read_bytes()[:-200])

    code, err = cli("validate", path)

    assert code == 2
    assert err[0].startswith("error: cut.xlsx")
    assert not (tmp_path / "cut.results.xlsx").exists()


def test_password_protected_workbook(tmp_path, cli):
    path = write_bytes(
        tmp_path / "secret.xlsx", OLE2[:512] + "EncryptedPackage".encode("utf-16-le") + OLE2[512:]
    )

    code, err = cli("validate", path)

    assert code == 2
    assert err[0].startswith("error: secret.xlsx")
    assert "password" in " ".join(err).lower()


def test_header_only_file_says_zero_rows(tmp_path, cli):
    path = write_csv(tmp_path / "head.csv", "Lead ID,Amount\r\n")

    code, err = cli("validate", "--no-date", path)

    assert code == 0
    assert "  rows in file           0   0" in err


def test_blank_lines_only_file_exit_2(tmp_path, cli):
    path = write_csv(tmp_path / "blank.csv", "\r\n\r\n,,\r\n")

    code, err = cli("validate", path)

    assert code == 2
    assert err[0].startswith("error: ")


def test_cp1252_file_with_wrong_encoding_option(tmp_path, cli):
    path = write_csv(
        tmp_path / "cp.csv", f"Lead ID;Amount;Product\r\n{LEAD_1};10;Café\r\n", encoding="cp1252"
    )

    code, err = cli("validate", path, "--encoding", "utf-8")

    assert code == 2
    assert err[0].startswith("error: cp.csv cannot be read as utf-8")


def test_encoding_option_cp1252(tmp_path, cli):
    path = write_csv(
        tmp_path / "cp.csv", f"Lead ID;Amount;Product\r\n{LEAD_1};10;Café\r\n", encoding="cp1252"
    )

    code, err = cli("validate", "--no-date", path, "--encoding", "cp1252")

    assert code == 0
    assert err[0] == "cp.csv: encoding cp1252, delimiter ';', header on row 1"
    assert read_results_csv(tmp_path / "cp.results.csv")[0]["Product"] == "Café"


def test_legacy_xls_export_validates_into_an_xlsx_results_file(tmp_path, cli):
    """An Excel 97-2003 workbook (as older ERPs export) with a notes sheet in front, a title row,
    typed amount and date cells and invoice numbers with leading zeros."""
    source = tmp_path / "legacy.xls"
    source.write_bytes((Path(__file__).parent / "data" / "legacy_march_2026.xls").read_bytes())

    code, err = cli("validate", source)

    assert code == 1
    assert err[0] == "legacy.xls: sheet 'Sales', header on row 3"
    assert "  valid                  3   1,849.49" in err
    assert "  invalid                1   10.00" in err
    results = openpyxl.load_workbook(tmp_path / "legacy.results.xlsx").worksheets[0]
    rows = list(results.iter_rows(min_row=2, values_only=True))
    assert [(row[5], row[6]) for row in rows] == [
        (4, "valid"),
        (5, "valid"),
        (6, "valid"),
        (7, "invalid"),
    ]
    assert rows[3][9].startswith("lead_id 'not-a-lead' is not a valid UUID")
    assert [row[4] for row in rows] == ["00123", "00124", "00125", "00126"]  # zeros kept
    assert [row[2].date().isoformat() for row in rows] == [
        "2026-03-02",
        "2026-03-09",
        "2026-03-16",
        "2026-03-17",
    ]
    assert [row[1] for row in rows] == [1500, 249.5, 99.99, 10]


XLS_STATUSES = ["status", "valid", "valid", "valid", "invalid"]


@pytest.mark.parametrize(
    ("name", "kind", "header", "code", "statuses"),
    [
        ("saved-as.xls", "xlsx", "sheet 'Data', header on row 1", 0, ["status", "valid", "valid"]),
        ("saved-as.xlsx", "xls", "sheet 'Sales', header on row 3", 1, XLS_STATUSES),
        ("download", "xls", "sheet 'Sales', header on row 3", 1, XLS_STATUSES),
    ],
)
def test_workbook_under_another_name_is_read_by_its_content(
    tmp_path, cli, name, kind, header, code, statuses
):
    source = tmp_path / name
    if kind == "xls":
        source.write_bytes((Path(__file__).parent / "data" / "legacy_march_2026.xls").read_bytes())
    else:
        write_xlsx(source, {"Data": [["Lead ID", "Amount"], [LEAD_1, 12.5], [LEAD_2, 99]]})

    exit_code, err = cli("validate", "--no-date", source, "--results", tmp_path / "out.xlsx")

    assert (exit_code, err[0]) == (code, f"{name}: {header}")
    rows = openpyxl.load_workbook(tmp_path / "out.xlsx").worksheets[0].values
    assert [row[-6] for row in rows] == statuses


def test_amounts_with_only_a_thousands_dot_ask_for_the_decimal_separator(tmp_path, cli):
    rows = "".join(f"{LEAD_1};{amount};2026-03-0{i + 1}\r\n" for i, amount in enumerate(
        ["1.500", "2.000", "12.000"]))  # fmt: skip
    source = write_csv(tmp_path / "eu.csv", "Lead ID;Amount;Date\r\n" + rows)

    code, err = cli("validate", source)

    assert code == 2
    assert err == [
        "error: the amount column 'Amount' is ambiguous: '1.500' could be a whole number with a "
        "thousands dot or a number with 3 decimals, and no value in the file settles it",
        "hint: say how to read it with --decimal , (1.500,00 = 1500) or --decimal . (1.500 = 1.5; "
        "amounts with 3 decimals also need --allow-precision)",
    ]
    assert not (tmp_path / "eu.results.csv").exists()

    code, err = cli("validate", source, "--decimal", ",")

    assert code == 0
    assert "  valid                  3   15,500.00" in err


def test_old_mac_csv_with_cr_line_endings(tmp_path, cli):
    text = f"Report March\rLead ID;Amount;Product\r{LEAD_1};10,50;A\r{LEAD_2};20,00;B\r"
    source = write_csv(tmp_path / "mac.csv", text, encoding="cp1252")

    code, err = cli("validate", "--no-date", source)

    assert code == 0
    assert err[0] == "mac.csv: encoding utf-8, delimiter ';', header on row 2"  # all ASCII
    assert "  valid                  2   30.50" in err
    rows = read_results_csv(tmp_path / "mac.results.csv")
    assert [(r["row"], r["status"], r["Amount"]) for r in rows] == [
        ("3", "valid", "10,50"),
        ("4", "valid", "20,00"),
    ]


def test_results_cannot_be_a_legacy_xls(tmp_path, cli):
    source = write_csv(tmp_path / "in.csv", f"Lead ID,Amount\r\n{LEAD_1},10\r\n")

    code, err = cli("validate", "--no-date", source, "--results", tmp_path / "out.xls")

    assert code == 2
    assert err[0] == (
        f"error: --results {tmp_path / 'out.xls'}: results are written as .xlsx or .csv, not as "
        "a legacy .xls; choose a name ending in .xlsx"
    )
    assert not (tmp_path / "out.xls").exists()


# --- templates --------------------------------------------------------------------------------


def test_template_csv_validates(tmp_path, cli):
    target = tmp_path / "t.csv"

    code, err = cli("template", "--format", "csv", "--output", target)

    assert (code, err) == (0, [f"wrote {target}"])
    assert target.read_bytes().startswith(b"\xef\xbb\xbfLead ID,Amount,Currency,Date,")
    code, err = cli("validate", target)
    assert code == 0
    assert err[1] == (
        "mapping used: lead_id <- 'Lead ID', purchase_amount <- 'Amount', date <- 'Date', "
        "product_name <- 'Product name', product_description <- 'Product description', "
        "trigger_ids <- 'Trigger IDs', reference <- 'Reference', currency <- 'Currency'"
    )
    assert [r["status"] for r in read_results_csv(tmp_path / "t.results.csv")] == [
        "valid",
        "valid",
    ]


def test_template_xlsx_validates(tmp_path, cli):
    target = tmp_path / "t.xlsx"

    code, err = cli("template", "--format", "xlsx", "--output", target)

    assert (code, err) == (0, [f"wrote {target}"])
    book = openpyxl.load_workbook(target)
    assert book.sheetnames == ["Purchases", "Columns"]
    code, err = cli("validate", target)
    assert code == 0
    assert err[0] == "t.xlsx: sheet 'Purchases', header on row 1"
    assert "  valid                  2   1,749.50 USD" in err
    results = openpyxl.load_workbook(tmp_path / "t.results.xlsx").worksheets[0]
    assert [results.cell(r, 10).value for r in (2, 3)] == ["valid", "valid"]


def test_template_default_output_name(tmp_path, cli, monkeypatch):
    monkeypatch.chdir(tmp_path)

    code, err = cli("template")

    assert (code, err) == (0, ["wrote purchases_template.csv"])
    assert (tmp_path / "purchases_template.csv").exists()


def test_control_totals_match_without_footer(tmp_path, cli):
    path = write_csv(tmp_path / "c.csv", f"Lead ID,Amount\r\n{LEAD_1},10\r\n{LEAD_2},20\r\n")

    code, err = cli("validate", "--no-date", path, "--expect-rows", "2", "--expect-total", "30")

    assert code == 0
    assert "  amount matches the control total (30.00)" in err


def test_totals_footer_not_counted_in_control_total(tmp_path, cli):
    path = write_csv(
        tmp_path / "c.csv", f"Lead ID,Amount\r\n{LEAD_1},10\r\n{LEAD_2},20\r\nTotal,30\r\n"
    )

    code, err = cli("validate", "--no-date", path, "--expect-rows", "2", "--expect-total", "30")

    assert code == 0
    assert "  rows match the control total (2)" in err
