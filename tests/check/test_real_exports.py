"""Exports shaped like those of real finance systems, made by the tests.

Each test names the system whose export it imitates; every status, reason and exit code is exact.
"""

from __future__ import annotations

import json

from conftest import LEAD_1, LEAD_2, LEAD_3, TRIGGER_1, read_results_csv, write_csv
from exporthelpers import workbook_sheet

from importer.ledger import data_dir


def csv_file(tmp_path, name: str, *lines: str, encoding: str = "utf-8"):
    return write_csv(tmp_path / name, "\r\n".join(lines) + "\r\n", encoding=encoding)


def results(path) -> list[tuple[str, str, str, str]]:
    rows = read_results_csv(path.with_name(f"{path.stem}.results.csv"))
    return [(r["row"], r["status"], r["error"], r["warnings"]) for r in rows]


# --- part 1: a purchase is never sent without an amount or a date the user chose ----------------


def test_french_invoice_export_montant_ht_is_the_amount(tmp_path, cli):
    path = csv_file(
        tmp_path,
        "factures.csv",
        "Lead ID;N° facture;Date de facture;Montant HT;Montant TTC",
        f"{LEAD_1};F-001;03/04/2026;1 250,00;1 500,00",
        f"{LEAD_2};F-002;21/04/2026;99,90;119,88",
    )

    code, err = cli("validate", path)

    assert code == 0
    assert err[1] == (
        "mapping used: lead_id <- 'Lead ID', purchase_amount <- 'Montant HT', "
        "date <- 'Date de facture'"
    )
    assert results(path) == [("2", "valid", "", ""), ("3", "valid", "", "")]


def test_unknown_amount_and_date_headers_stop_with_the_columns_that_look_right(tmp_path, cli):
    """An unfamiliar export: nothing recognised by its header, so nothing is guessed silently."""
    path = csv_file(
        tmp_path,
        "umsatz.csv",
        "Lead ID,Kunde,Umsatz,Tag",
        f"{LEAD_1},Müller GmbH,1250.00,2026-03-02",
        f"{LEAD_2},Schmidt AG,99.90,2026-03-05",
    )

    code, err = cli("validate", path)

    assert code == 2
    assert err == [
        "error: no column is mapped to purchase_amount: every purchase would be sent without "
        "an amount; no column is mapped to date: every purchase would be dated when Keen "
        "receives it",
        "hint: 'Umsatz' holds amounts: --map purchase_amount='Umsatz'; --no-amount to send "
        "without an amount (fixed rewards only); 'Tag' holds dates: --map date='Tag'; "
        "--no-date to send without a date (dated when Keen receives them); columns in the "
        "file: 'Lead ID', 'Kunde', 'Umsatz', 'Tag'",
    ]
    assert not (tmp_path / "umsatz.results.csv").exists()


def test_run_without_an_amount_column_sends_nothing(tmp_path, cli):
    path = csv_file(tmp_path, "deals.csv", "Lead ID,Close Date,Stage", f"{LEAD_1},2026-03-02,Won")

    code, err = cli("run", path, "--sandbox", "--yes")

    assert code == 2
    assert err[-2] == (
        "error: no column is mapped to purchase_amount: every purchase would be sent without "
        "an amount"
    )
    assert not (tmp_path / "deals.results.csv").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["deals.csv"]
    assert not (data_dir() / "sandbox-ledger.sqlite").exists()  # stopped before any import


def test_no_amount_and_no_date_are_asked_for_by_name_and_recorded(tmp_path, cli):
    path = csv_file(tmp_path, "leads.csv", "Lead ID,Name", f"{LEAD_1},Ada", f"{LEAD_2},Bob")

    code, _ = cli("validate", path, "--no-amount", "--no-date")

    assert code == 0
    assert results(path) == [("2", "valid", "", ""), ("3", "valid", "", "")]
    manifest = json.loads((tmp_path / "leads.manifest.json").read_text())
    assert (manifest["options"]["no_amount"], manifest["options"]["no_date"]) == (True, True)


def test_a_mapped_amount_and_date_are_recorded_as_present(tmp_path, cli):
    path = csv_file(tmp_path, "s.csv", "Lead ID,Amount,Paid at", f"{LEAD_1},10,2026-03-02")

    assert cli("validate", path)[0] == 0
    manifest = json.loads((tmp_path / "s.manifest.json").read_text())
    assert (manifest["options"]["no_amount"], manifest["options"]["no_date"]) == (False, False)


def test_no_date_in_a_mapping_file(tmp_path, cli):
    path = csv_file(tmp_path, "n.csv", "Lead ID,Amount", f"{LEAD_1},10")
    mapping = tmp_path / "m.toml"
    mapping.write_text("no_date = true\n", encoding="utf-8")

    assert cli("validate", path, "--mapping", mapping)[0] == 0


def test_map_field_empty_switches_off_an_automatic_match(tmp_path, cli):
    """Shopify's 'Total' includes shipping: switch it off and map the subtotal instead."""
    path = csv_file(
        tmp_path,
        "orders_export.csv",
        "Name,Lead ID,Paid at,Subtotal,Total",
        f"#1001,{LEAD_1},2026-03-02 10:00:00 +0100,90.00,99.00",
    )

    code, err = cli("validate", path, "--map", "purchase_amount=", "--no-amount")

    assert code == 0
    assert err[1] == "mapping used: lead_id <- 'Lead ID', date <- 'Paid at'"


# --- part 2: invoice lines are not duplicates ---------------------------------------------------


def test_xero_invoice_lines_are_both_sent_and_name_each_other(tmp_path, cli):
    path = csv_file(
        tmp_path,
        "xero.csv",
        "ContactName,Lead ID,InvoiceNumber,InvoiceDate,Description,LineAmount,Currency",
        f"Acme,{LEAD_1},INV-0042,2026-03-02,Pro plan,1000.00,EUR",
        f"Acme,{LEAD_1},INV-0042,2026-03-02,Onboarding,250.00,EUR",
        f"Beta,{LEAD_2},INV-0043,2026-03-03,Pro plan,1000.00,EUR",
        f"Beta,{LEAD_2},INV-0043,2026-03-03,Pro plan,1000.00,EUR",
    )

    code, err = cli("validate", path, "--map", "product_name=Description")

    assert code == 0
    assert results(path) == [
        ("2", "valid", "", ""),
        (
            "3",
            "valid",
            "",
            "same reference as row 2 (another line of the same invoice?), both are sent",
        ),
        ("4", "valid", "", ""),
        (
            "5",
            "skipped",
            "duplicate of row 4 (every field repeats); use --allow-duplicates if both are real "
            "purchases",
            "",
        ),
    ]
    assert err[err.index("summary:") + 2] == "  valid                  3   2,250.00 EUR"


# --- part 3: report lines are not purchases -----------------------------------------------------


def sap_export(tmp_path, total: str = "1.250,00"):
    """SAP line items (FBL5N style): '*' subtotal per customer, '**' grand total."""
    return csv_file(
        tmp_path,
        "fbl5n.csv",
        "Lead ID;Belegnummer;Belegdatum;Betrag in HW;Währung",
        f"{LEAD_1};1800001;02.03.2026;1.000,00;EUR",
        "*;;;1.000,00;EUR",
        f"{LEAD_2};1800002;05.03.2026;250,00;EUR",
        "*;;;250,00;EUR",
        f"**;;;{total};EUR",
    )


def test_sap_subtotal_lines_are_report_lines_out_of_the_total(tmp_path, cli):
    path = sap_export(tmp_path)

    code, err = cli("validate", path)

    assert code == 0
    assert results(path) == [
        ("2", "valid", "", ""),
        ("3", "skipped", "report line", ""),
        ("4", "valid", "", ""),
        ("5", "skipped", "report line", ""),
        ("6", "skipped", "report line", ""),
    ]
    summary = err[err.index("summary:") + 1 :]
    assert summary[:5] == [
        "  rows in file           5   1,250.00 EUR",
        "  valid                  2   1,250.00 EUR",
        "  skipped                3   0",
        "  report lines           3   2,500.00 (subtotals, headings, footers: skipped, not in "
        "the total)",
        "  totals reconcile: rows and amounts per status add up to the file's",
    ]
    assert "  the file's total line (1,250.00) matches the sum of its purchase rows" in summary


def test_a_total_line_that_does_not_match_is_a_warning(tmp_path, cli):
    path = sap_export(tmp_path, total="1.300,00")

    code, err = cli("validate", path)

    assert code == 0
    assert (
        "  warning: the file's total line says 1,300.00 but its purchase rows add up to "
        "1,250.00 (difference -50.00)"
    ) in err


def test_a_total_line_that_does_not_match_stops_with_expect_total(tmp_path, cli):
    path = sap_export(tmp_path, total="1.300,00")

    code, err = cli("validate", path, "--expect-total", "1250.00")

    assert code == 2
    assert err[-2:] == [
        "error: control total mismatch: the file's total line says 1,300.00 but its purchase "
        "rows add up to 1,250.00 (difference -50.00)",
        "hint: check the export is complete (hidden or filtered rows, a page cut off)",
    ]


def test_quickbooks_headings_subtotals_and_footer(tmp_path, cli):
    path = csv_file(
        tmp_path,
        "sales_by_customer.csv",
        "Sales by Customer Detail,,,,,",
        "Keen Demo Ltd,,,,,",
        "Date,Transaction Type,Num,Lead ID,Memo,Amount",
        "Acme Corp,,,,,",
        f"2026-03-02,Invoice,1001,{LEAD_1},,100.00",
        f"2026-03-05,Invoice,1002,{LEAD_1},,50.00",
        "Total for Acme Corp,,,,,150.00",
        "Beta LLC,,,,,",
        f"2026-03-07,Invoice,1003,{LEAD_2},,200.00",
        "Total for Beta LLC,,,,,200.00",
        ",,,,,75.00",
        f",,,{LEAD_3},,",
        "TOTAL,,,,,350.00",
        ",,,,,",
        '"Accrual basis Monday, April 6, 2026 10:15 AM GMT+02:00",,,,,',
    )

    code, err = cli("validate", path)

    assert code == 1
    assert results(path) == [
        ("4", "skipped", "report line", ""),
        ("5", "valid", "", ""),
        ("6", "valid", "", ""),
        ("7", "skipped", "report line", ""),
        ("8", "skipped", "report line", ""),
        ("9", "valid", "", ""),
        ("10", "skipped", "report line", ""),
        ("11", "invalid", "date is empty; lead_id is empty", ""),  # an amount: not a report line
        ("12", "invalid", "amount is empty", ""),  # a lead: not a report line
        ("13", "skipped", "report line", ""),
        ("15", "skipped", "report line", ""),
    ]
    assert (
        "  warning: the file's total line says 350.00 but its purchase rows add up to "
        "425.00 (difference +75.00)"
    ) in err


# --- part 4: hidden rows are visible in the results ---------------------------------------------


def hand_made_workbook(tmp_path, *, hide_reference: bool = False):
    """A hand-made sheet: row 3 hidden by hand, rows 5-6 filtered out by an autofilter."""
    path = tmp_path / "hand_made.xlsx"
    rows = [
        ["Lead ID", "Amount", "Date", "Reference", "Region"],
        [LEAD_1, 100, "2026-03-02", "R-1", "North"],
        [LEAD_2, 200, "2026-03-03", "R-2", "North"],
        [LEAD_3, 300, "2026-03-04", "R-3", "North"],
        [LEAD_1, 400, "2026-03-05", "R-4", "South"],
        [LEAD_2, 500, "2026-03-06", "R-5", "South"],
    ]
    with workbook_sheet(path, "Sales", rows) as sheet:
        sheet.set_row(2, None, None, {"hidden": True})
        sheet.autofilter(0, 0, len(rows) - 1, 4)
        sheet.filter_column(4, "x == North")
        for line in (4, 5):
            sheet.set_row(line, None, None, {"hidden": True})
        if hide_reference:
            sheet.set_column(3, 3, None, None, {"hidden": True})
    return path


def test_hidden_and_filtered_rows_are_warned_and_counted(tmp_path, cli):
    path = hand_made_workbook(tmp_path)

    code, err = cli("validate", path, "--results", tmp_path / "hand_made.results.csv")

    assert code == 0
    assert results(path) == [
        ("2", "valid", "", ""),
        ("3", "valid", "", "hidden in the workbook"),
        ("4", "valid", "", ""),
        ("5", "valid", "", "hidden in the workbook"),
        ("6", "valid", "", "hidden in the workbook"),
    ]
    assert (
        "  warning: 3 rows are hidden in the workbook (by hand or by a filter); they carry the "
        "warning 'hidden in the workbook': --skip-hidden skips them"
    ) in err


def test_skip_hidden_skips_them_with_that_reason(tmp_path, cli):
    path = hand_made_workbook(tmp_path)

    code, err = cli(
        "validate", path, "--skip-hidden", "--results", tmp_path / "hand_made.results.csv"
    )

    assert code == 0
    assert results(path) == [
        ("2", "valid", "", ""),
        ("3", "skipped", "hidden in the workbook", ""),
        ("4", "valid", "", ""),
        ("5", "skipped", "hidden in the workbook", ""),
        ("6", "skipped", "hidden in the workbook", ""),
    ]
    assert err[err.index("summary:") + 2] == "  valid                  2   400.00"


def test_a_hidden_column_mapped_to_a_field_is_warned(tmp_path, cli):
    path = hand_made_workbook(tmp_path, hide_reference=True)

    code, err = cli("validate", path, "--skip-hidden")

    assert code == 0
    assert "  warning: column 'Reference' (mapped to reference) is hidden in the workbook" in err
    assert err[1] == (
        "mapping used: lead_id <- 'Lead ID', purchase_amount <- 'Amount', date <- 'Date', "
        "reference <- 'Reference' (hidden in the workbook)"
    )


def test_hidden_rows_are_found_in_a_sheet_that_starts_below_a1(tmp_path):
    import xlsxwriter

    from importer.read.loader import open_table

    path = tmp_path / "offset.xlsx"
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("Data")
    sheet.write_row(2, 1, ["Lead ID", "Amount", "Notes"])
    sheet.write_row(3, 1, [LEAD_1, 10, "a"])
    sheet.write_row(4, 1, [LEAD_2, 20, "b"])
    sheet.set_row(4, None, None, {"hidden": True})
    sheet.set_column(3, 3, None, None, {"hidden": True})
    book.close()

    table = open_table(path)
    chunk = next(table.chunks())

    assert (chunk.rows, chunk.hidden) == ([4, 5], [1])
    assert table.hidden_columns == ["Notes"]


# --- part 5: what the user can already see is read as they see it -------------------------------


def test_database_dump_with_null_cells_and_four_decimal_zeros(tmp_path, cli):
    path = csv_file(
        tmp_path,
        "purchases_dump.csv",
        "id,lead_id,purchase_amount,created_at,reference,currency",
        f"1,{LEAD_1},1500.0000,2026-03-02 10:00:00,NULL,EUR",
        f"2,{LEAD_2},99.9000,2026-03-03 11:30:00,\\N,EUR",
        f"3,{LEAD_3},12.3450,2026-03-04 09:00:00,ORD-3,EUR",
    )

    code, err = cli("validate", path)

    assert code == 1
    assert results(path) == [
        ("2", "valid", "", ""),
        ("3", "valid", "", ""),
        (
            "4",
            "invalid",
            "amount '12.3450' has more than 2 decimal places; round it or use --allow-precision",
            "",
        ),
    ]
    assert err[err.index("summary:") + 2] == "  valid                  2   1,599.90 EUR"
    assert (
        "  2 cells read NULL or \\N (a database dump): read as empty; --keep-null keeps them "
        "as text"
    ) in err


def test_keep_null_keeps_null_as_text(tmp_path, cli):
    path = csv_file(
        tmp_path,
        "dump.csv",
        "lead_id,purchase_amount,created_at,reference",
        f"{LEAD_1},NULL,2026-03-02,NULL",
    )

    code, _ = cli("validate", path, "--keep-null")

    assert code == 1
    assert results(path) == [
        (
            "2",
            "invalid",
            "amount 'NULL' is not a number; enter the amount as digits, e.g. 1500.00",
            "",
        )
    ]


def test_leading_apostrophe_is_excel_text_mark_not_part_of_the_value(tmp_path):
    from conftest import check_file

    path = csv_file(
        tmp_path,
        "apostrophes.csv",
        "Lead ID,Amount,Date,Trigger IDs,Reference",
        f"'{LEAD_1},'1500.00,'2026-03-02,'{TRIGGER_1},'R-1",
        "'not-a-uuid,10,2026-03-02,,R-2",
    )

    rows = check_file(path)

    record = rows[0][4]
    assert (rows[0][1], record.lead_id, str(record.purchase_amount)) == ("valid", LEAD_1, "1500.00")
    assert (record.date.isoformat(), record.trigger_ids) == (
        "2026-03-02T00:00:00+00:00",
        (TRIGGER_1,),
    )
    assert record.reference == "'R-1"  # free text keeps what the user typed
    assert rows[1][1] == "invalid"
    assert rows[1][2].startswith("lead_id 'not-a-uuid' is not a valid UUID")


def test_currency_names_of_finance_systems_are_codes(tmp_path, cli):
    path = csv_file(
        tmp_path,
        "netsuite.csv",
        "Lead ID,Amount,Date,Currency",
        f"{LEAD_1},100.00,2026-03-02,US Dollar",
        f"{LEAD_2},50.00,2026-03-03,USD",
    )

    code, err = cli("validate", path)

    assert code == 0
    assert err[err.index("summary:") + 2] == "  valid                  2   150.00 USD"


# --- part 6: an empty trigger cell fires every active trigger ------------------------------------


def test_empty_trigger_cells_are_warned_and_counted(tmp_path, cli):
    path = csv_file(
        tmp_path,
        "triggers.csv",
        "Lead ID,Amount,Date,Trigger IDs",
        f"{LEAD_1},10,2026-03-02,{TRIGGER_1}",
        f"{LEAD_2},20,2026-03-03,",
    )

    code, err = cli("validate", path)

    assert code == 0
    assert results(path) == [
        ("2", "valid", "", ""),
        (
            "3",
            "valid",
            "",
            "trigger_ids is empty: Keen fires every active purchase trigger of the channel for "
            "this row",
        ),
    ]
    assert (
        "  warning: 1 rows have an empty trigger_ids cell: Keen fires every active purchase "
        "trigger of their channel for them"
    ) in err


def test_trigger_id_option_fills_empty_cells_so_nothing_is_warned(tmp_path, cli):
    path = csv_file(
        tmp_path, "t.csv", "Lead ID,Amount,Date,Trigger IDs", f"{LEAD_2},20,2026-03-03,"
    )

    assert cli("validate", path, "--trigger-id", TRIGGER_1)[0] == 0
    assert results(path) == [("2", "valid", "", "")]


# --- part 7: rows the export marks as not real sales --------------------------------------------


def shopify_orders(tmp_path):
    return csv_file(
        tmp_path,
        "orders_export_1.csv",
        "Name,Lead ID,Financial Status,Paid at,Total,Currency",
        f"#1001,{LEAD_1},paid,2026-03-02 10:00:00 +0100,99.00,EUR",
        f"#1002,{LEAD_2},refunded,2026-03-02 11:00:00 +0100,49.00,EUR",
        f"#1003,{LEAD_3},voided,2026-03-03 09:00:00 +0100,19.00,EUR",
        f"#1004,{LEAD_1},Paid,2026-03-04 09:00:00 +0100,29.00,EUR",
        f"#1005,{LEAD_2},pending,2026-03-05 09:00:00 +0100,39.00,EUR",
    )


def test_status_column_with_refunds_is_warned_with_counts(tmp_path, cli):
    path = shopify_orders(tmp_path)

    code, err = cli("validate", path)

    assert code == 0
    assert (
        "  warning: column 'Financial Status' marks rows as not real sales (1 pending, "
        "1 refunded, 1 voided); keep only the sales with --where "
        "'Financial Status=VALUE[,VALUE...]'"
    ) in err


def test_where_keeps_only_the_matching_rows(tmp_path, cli):
    path = shopify_orders(tmp_path)

    code, err = cli("validate", path, "--where", "Financial Status=paid")

    assert code == 0
    assert results(path) == [
        ("2", "valid", "", ""),
        ("3", "skipped", "filtered out by --where", ""),
        ("4", "skipped", "filtered out by --where", ""),
        ("5", "valid", "", ""),
        ("6", "skipped", "filtered out by --where", ""),
    ]
    assert err[err.index("summary:") + 2] == "  valid                  2   128.00 EUR"


def test_where_in_a_mapping_file_with_several_values(tmp_path, cli):
    path = shopify_orders(tmp_path)
    mapping = tmp_path / "m.toml"
    mapping.write_text('where = ["financial status = paid, pending"]\n', encoding="utf-8")

    assert cli("validate", path, "--mapping", mapping)[0] == 0
    assert [r[1] for r in results(path)] == ["valid", "skipped", "skipped", "valid", "valid"]


def test_where_naming_an_unknown_column_exits_2(tmp_path, cli):
    path = shopify_orders(tmp_path)

    code, err = cli("validate", path, "--where", "State=paid")

    assert code == 2
    assert err[0] == "error: --where 'State=paid': the file has no column 'State'"
    assert err[1] == (
        "hint: columns in the file: 'Name', 'Lead ID', 'Financial Status', 'Paid at', 'Total', "
        "'Currency'"
    )


def test_where_without_a_value_exits_2(tmp_path, cli):
    code, err = cli("validate", shopify_orders(tmp_path), "--where", "Financial Status")

    assert (code, err[0]) == (2, "error: --where 'Financial Status' is not COLUMN=VALUE[,VALUE...]")


# --- fidelity follow-ups ------------------------------------------------------------------------


def test_workbook_text_amount_with_its_own_separators_in_a_numeric_column(tmp_path):
    from conftest import check_file, write_xlsx

    path = write_xlsx(
        tmp_path / "mixed.xlsx",
        {
            "Data": [
                ["Lead ID", "Amount", "Date"],
                [LEAD_1, 1500.5, "2026-03-02"],
                [LEAD_2, "1.234,50", "2026-03-03"],
                [LEAD_3, 20, "2026-03-04"],
            ]
        },
    )

    rows = check_file(path)

    assert [(r[1], str(r[4].purchase_amount)) for r in rows] == [
        ("valid", "1500.5"),
        ("valid", "1234.50"),
        ("valid", "20"),
    ]


def test_plain_number_read_as_serial_date_is_warned(tmp_path, cli):
    path = csv_file(
        tmp_path,
        "serial.csv",
        "Lead ID,Amount,Date",
        f"{LEAD_1},10,2026-03-02",
        f"{LEAD_2},20,46085",
    )

    code, _ = cli("validate", path)

    assert code == 0
    assert results(path)[1] == (
        "3",
        "valid",
        "",
        "date '46085' was read as an Excel serial date: 2026-03-04 (Excel probably converted "
        "the cell); check it",
    )


def test_a_mistyped_lead_id_is_invalid_never_a_report_line(tmp_path, cli):
    """A purchase whose lead id lost a digit is no total, heading or footer, whatever its
    product or reference says: skipping it would leave a partner unpaid with exit 0."""
    short = LEAD_2[:-1]
    path = csv_file(
        tmp_path,
        "typo.csv",
        "Lead ID,Product,Reference,Amount,Date",
        f"{LEAD_1},Pro plan,INV-1,10.00,2026-03-01",
        f"{short},Total Care plan,INV-2,1500.00,2026-03-02",
        f"{LEAD_3}x,Pro plan,SUM-0042,20.00,2026-03-03",
        short,
        ",Total Protection Plan,D-2,2000.00,2026-03-02",  # dated: a purchase, its lead missing
        "Total,,,1530.00,",
    )

    code, err = cli("validate", path)

    assert code == 1
    not_a_uuid = "lead_id '{}' is not a valid UUID"
    got = [(row, status, reason.split(" (")[0]) for row, status, reason, _ in results(path)]
    assert got == [
        ("2", "valid", ""),
        ("3", "invalid", not_a_uuid.format(short)),
        ("4", "invalid", not_a_uuid.format(LEAD_3 + "x")),
        ("5", "invalid", not_a_uuid.format(short)),
        ("6", "invalid", "lead_id is empty"),
        ("7", "skipped", "report line"),
    ]


def test_beside_a_quantity_the_total_is_the_amount_and_the_price_is_named_as_a_rival(tmp_path, cli):
    """A unit price sent as the purchase amount pays a tenth of the commission; the column
    not taken is named, with the option that takes it."""
    path = csv_file(
        tmp_path,
        "lines.csv",
        "Lead ID,Date,Product,Quantity,Price,Total",
        f"{LEAD_1},2026-03-01,Seat,10,100.00,1000.00",
    )

    code, err = cli("validate", path)

    assert code == 0
    assert err[1:3] == [
        "mapping used: lead_id <- 'Lead ID', purchase_amount <- 'Total', date <- 'Date', "
        "product_name <- 'Product'",
        "note: purchase_amount is read from 'Total'; 'Price' could be it too: --map "
        "purchase_amount=COLUMN to read another",
    ]


def test_a_price_beside_a_quantity_is_read_with_a_note_that_it_may_be_the_units(tmp_path, cli):
    path = csv_file(
        tmp_path, "unit.csv", "Lead ID,Quantity,Price,Date", f"{LEAD_1},10,100.00,2026-03-01"
    )

    code, err = cli("validate", path)

    assert code == 0
    assert err[2] == (
        "note: purchase_amount is read from 'Price'; 'Price' stands beside 'Quantity': if it is "
        "the price of one unit, the purchase amount is the line's total: --map "
        "purchase_amount=COLUMN to read another"
    )


def test_a_total_labelled_after_the_amount_is_a_report_line(tmp_path, cli):
    """A workbook's subtotal with its label in the last column is out of the file's total."""
    path = csv_file(
        tmp_path,
        "labels_after.csv",
        "Lead ID,Amount,Date,Note",
        f"{LEAD_1},100.00,2026-03-02,",
        f"{LEAD_2},250.00,2026-03-03,",
        ",350.00,,Subtotal",
        ",350.00,,Total",
    )

    code, err = cli("validate", path)

    assert code == 0, err
    assert [(row, status) for row, status, _, _ in results(path)] == [
        ("2", "valid"),
        ("3", "valid"),
        ("4", "skipped"),
        ("5", "skipped"),
    ]
