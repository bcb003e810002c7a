"""Formula cells a workbook saved without their results (written by a program that does not
calculate): read as their formula, so the row is invalid and says what to do, never a purchase
without the amount or date the file holds."""

from __future__ import annotations

from conftest import LEAD_1, LEAD_2, check_file

from importer.read.hidden import find_hidden

NEVER_CALCULATED = (
    "is a formula whose result was never calculated (the file was saved by a program that does "
    "not calculate formulas): open it in Excel or LibreOffice Calc, save it, and import it again"
)


def uncalculated_workbook(path):
    """Formulas saved without results, as openpyxl writes them (``<f>B2*1.25</f><v/>``)."""
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Sales"
    sheet.append(["Lead ID", "Net", "Amount", "Date", "Note"])
    sheet.append([LEAD_1, 100, "=B2*1.25", "2026-03-02", '=A2&"x"'])
    sheet.append([LEAD_2, 200, "=B3*1.25", "=DATE(2026,3,3)", "ok"])
    book.save(path)
    return path


def xlsxwriter_workbook(path, amount_result=None):
    """Formulas as xlsxwriter writes them: the result given (0 when none) and a workbook that
    asks to be recalculated when opened (``fullCalcOnLoad``); a formula whose result is empty
    text (an empty ``<v>``)."""
    import xlsxwriter

    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("Sales")
    sheet.write_row(0, 0, ["Lead ID", "Net", "Amount", "Date", "Note"])
    sheet.write_row(1, 0, [LEAD_1, 100])
    sheet.write_formula(1, 2, "=B2*1.25", None, amount_result)
    sheet.write_string(1, 3, "2026-03-02")
    sheet.write_formula(1, 4, '=IF(B2>0,"","x")', None, "")
    book.close()
    return path


def calculated_workbook(path):
    """The formulas with their results saved as Excel saves them: no recalculation asked."""
    import zipfile

    written = xlsxwriter_workbook(path.with_suffix(".written.xlsx"), amount_result=125)
    with zipfile.ZipFile(written) as source, zipfile.ZipFile(path, "w") as copy:
        for item in source.infolist():
            data = source.read(item)
            if item.filename == "xl/workbook.xml":
                data = data.replace(b' fullCalcOnLoad="1"', b"")
            copy.writestr(item, data)
    return path


def test_the_scan_finds_each_formula_without_a_result(tmp_path):
    found = find_hidden(uncalculated_workbook(tmp_path / "f.xlsx"), "Sales")
    assert found.unread == {
        (2, 2): "=B2*1.25",
        (2, 4): '=A2&"x"',
        (3, 2): "=B3*1.25",
        (3, 3): "=DATE(2026,3,3)",
    }
    assert found.rows == frozenset() and found.columns == frozenset()


def test_formulas_with_results_are_not_reported(tmp_path):
    assert find_hidden(calculated_workbook(tmp_path / "f.xlsx"), "Sales").unread == {}


def test_rows_with_an_uncalculated_amount_or_date_are_invalid_and_say_what_to_do(tmp_path):
    rows = check_file(uncalculated_workbook(tmp_path / "f.xlsx"))
    assert [(row, status, error) for row, status, error, _, _ in rows] == [
        (2, "invalid", f"amount '=B2*1.25' {NEVER_CALCULATED}"),
        (
            3,
            "invalid",
            f"amount '=B3*1.25' {NEVER_CALCULATED}; date '=DATE(2026,3,3)' {NEVER_CALCULATED}",
        ),
    ]


def test_saved_results_are_read_as_values(tmp_path):
    rows = check_file(calculated_workbook(tmp_path / "f.xlsx"))
    assert [(row, status) for row, status, *_ in rows] == [(2, "valid")]
    assert str(rows[0][4].purchase_amount) == "125"


def test_a_cell_split_between_two_blocks_of_the_scan_is_found(tmp_path, monkeypatch):
    from importer.read import hidden

    path = uncalculated_workbook(tmp_path / "f.xlsx")
    whole = find_hidden(path, "Sales").unread
    for block in (7, 16, 33):  # every cell of the sheet crosses a block edge at one of these
        monkeypatch.setattr(hidden, "_BLOCK", block)
        assert find_hidden(path, "Sales").unread == whole


def test_excel_error_values_read_as_excel_shows_them(tmp_path):
    """openpyxl stores "#N/A" as an error cell (``t="e"``), which python-calamine reads as
    empty: the row would say "amount is empty" of a cell Excel shows as #VALUE!."""
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Sales"
    sheet.append(["Lead ID", "Amount", "Date"])
    sheet.append([LEAD_1, "#VALUE!", "2026-03-02"])
    sheet.append([LEAD_2, 20, "#N/A"])
    path = tmp_path / "errors.xlsx"
    book.save(path)
    assert find_hidden(path, "Sales").unread == {(2, 1): "#VALUE!", (3, 2): "#N/A"}
    failed = (
        "is an Excel error value: the formula in that cell failed; correct it in Excel and "
        "export again"
    )
    rows = check_file(path)
    assert [(row, status, error) for row, status, error, *_ in rows] == [
        (2, "invalid", f"amount '#VALUE!' {failed}"),
        (3, "invalid", f"date '#N/A' {failed}"),
    ]


def test_a_workbook_that_asks_to_be_recalculated_has_its_formulas_checked(tmp_path):
    """xlsxwriter saves 0 as the result of a formula given none, and asks Excel to recalculate
    on opening: that 0 is not the amount the file holds (it was sent as a purchase of 0.00)."""
    path = xlsxwriter_workbook(tmp_path / "report.xlsx")
    found = find_hidden(path, "Sales")
    assert found.stale and found.unread == {(2, 2): "=B2*1.25", (2, 4): '=IF(B2>0,"","x")'}
    rows = check_file(path)
    assert [(row, status, error) for row, status, error, *_ in rows] == [
        (2, "invalid", f"amount '=B2*1.25' {NEVER_CALCULATED}"),
    ]
