"""Exports of real finance systems, recreated as small files (made here, not copied).

Each builder writes one export into a folder and returns its path. The column matching tests
(tests/check/test_matching_exports.py) and the web app's flow through each export
(tests/ui/test_exports_flow.py) read the same files. ``leads`` are the lead ids of the three
rows, in order: the matching tests keep the defaults; a send to the sandbox passes leads of a
channel in the export's currency. ``workbook_sheet`` is for the tests that build a workbook of
their own (hidden rows, filters).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from conftest import LEAD_1, LEAD_2, LEAD_3, write_csv

Leads = tuple[str, str, str]
THREE = (LEAD_1, LEAD_2, LEAD_3)


def csv_export(folder: Path, name: str, *lines: str, encoding: str = "utf-8") -> Path:
    """A CSV file of these lines, ended the Windows way as most exports are."""
    return write_csv(folder / name, "\r\n".join(lines) + "\r\n", encoding=encoding)


def shopify_orders(folder: Path, leads: Leads = THREE) -> Path:
    """Shopify's orders export: the order number is "Name", the lead UUID sits in "Notes" and
    "Receipt Number" is empty in every row."""
    return csv_export(
        folder,
        "orders_export.csv",
        "Name,Email,Financial Status,Paid at,Fulfillment Status,Accepts Marketing,Currency,"
        "Subtotal,Shipping,Taxes,Total,Created at,Lineitem quantity,Lineitem name,"
        "Lineitem price,Lineitem sku,Billing Name,Notes,Id,Receipt Number",
        "#1001,anna@example.com,paid,2026-04-02 10:14:03 +0200,fulfilled,yes,EUR,49.00,4.90,"
        "9.31,63.21,2026-04-02 10:13:55 +0200,1,Starter plan,49.00,STARTER,Anna Berg,"
        f"{leads[0]},5912345678901,",
        "#1002,ole@example.com,paid,2026-04-03 16:40:12 +0200,fulfilled,no,EUR,99.00,4.90,"
        "18.81,122.71,2026-04-03 16:39:58 +0200,1,Pro plan,99.00,PRO,Ole Hansen,"
        f"{leads[1]},5912345678902,",
        "#1003,mia@example.com,paid,2026-04-05 08:02:45 +0200,unfulfilled,yes,EUR,98.00,0.00,"
        "18.62,116.62,2026-04-05 08:01:30 +0200,2,Starter plan,49.00,STARTER,Mia Lund,"
        f"{leads[2]},5912345678903,",
    )


def stripe_payments(folder: Path, leads: Leads = THREE) -> Path:
    """Stripe's unified payments: the lead in a metadata column, the third charge refunded."""
    return csv_export(
        folder,
        "unified_payments.csv",
        "id,Created date (UTC),Amount,Amount Refunded,Currency,Converted Amount,"
        "Converted Currency,Fee,Status,Description,Customer ID,Customer Email,lead_id (metadata)",
        "ch_3PqXb2LkdIwHu7ix0a1b2c3d,2026-04-01 09:12:44,49.00,0.00,eur,49.00,eur,1.71,Paid,"
        f"Starter plan,cus_PqXa1b2c3d4e5f,anna@example.com,{leads[0]}",
        "ch_3PqXc7LkdIwHu7ix1b2c3d4e,2026-04-02 14:30:01,99.00,0.00,eur,99.00,eur,3.21,Paid,"
        f"Pro plan,cus_PqXb2c3d4e5f6g,ole@example.com,{leads[1]}",
        "ch_3PqXd9LkdIwHu7ix2c3d4e5f,2026-04-03 18:05:17,49.00,49.00,eur,49.00,eur,1.71,"
        f"Refunded,Starter plan,cus_PqXc3d4e5f6g7h,mia@example.com,{leads[2]}",
    )


def quickbooks_sales(folder: Path) -> Path:
    """QuickBooks' sales by customer detail: US dates, legacy lead ids under "Keen ID", invoice
    numbers under "No." and quantities under "Qty"."""
    return csv_export(
        folder,
        "sales_by_customer_detail.csv",
        "Date,Transaction type,No.,Customer,Product/Service,Memo/Description,Qty,Sales price,"
        "Amount,Keen ID",
        "04/02/2026,Invoice,1043,Berg Consulting,Starter,Starter plan - April,1,49.00,49.00,1001",
        "04/03/2026,Sales Receipt,1044,Nordic Foods,Pro,Pro plan - April,2,99.00,198.00,1002",
        "04/07/2026,Invoice,1047,Berg Consulting,Seats,Extra seats,10,5.00,50.00,1001",
    )


def xero_invoices(folder: Path, leads: Leads = THREE) -> Path:
    """Xero's invoices: the lead UUIDs are in "Reference", dates day first."""
    return csv_export(
        folder,
        "Invoices.csv",
        "*ContactName,EmailAddress,*InvoiceNumber,Reference,*InvoiceDate,*DueDate,Total,"
        "*Description,*Quantity,*UnitAmount,*AccountCode,Currency",
        f"Berg Consulting,anna@example.com,INV-0041,{leads[0]},21/04/2026,05/05/2026,58.80,"
        "Starter plan,1,49.00,200,EUR",
        f"Nordic Foods,ole@example.com,INV-0042,{leads[1]},22/04/2026,06/05/2026,118.80,"
        "Pro plan,1,99.00,200,EUR",
        f"Lund & Co,mia@example.com,INV-0043,{leads[2]},23/04/2026,07/05/2026,58.80,"
        "Starter plan,1,49.00,200,EUR",
    )


def sap_line_items(folder: Path, leads: Leads = THREE) -> Path:
    """SAP FBL5N customer line items: amounts in house currency ("Betrag in HW", "HWähr") beside
    the document currency ("Währung"), decimal comma, German dates, semicolons."""
    return csv_export(
        folder,
        "FBL5N.csv",
        "Zuordnung;Belegnummer;Belegart;Buchungsdatum;Betrag in HW;HWähr;Währung;Referenz;Text",
        f"{leads[0]};1800000123;DR;21.04.2026;1.250,00;EUR;USD;RE-2026-041;Lizenz Starter",
        f"{leads[1]};1800000124;DR;22.04.2026;99,90;EUR;EUR;RE-2026-042;Lizenz Pro",
        f"{leads[2]};1800000125;DR;23.04.2026;2.500,00;EUR;USD;RE-2026-043;Lizenz Starter",
    )


def french_invoices(folder: Path, leads: Leads = THREE) -> Path:
    """A French invoicing tool: Montant TTC, Devise, Libellé, decimal comma, dates day first."""
    return csv_export(
        folder,
        "factures.csv",
        "N° facture;Date;Client (UUID);Libellé;Montant TTC;Devise",
        f"F-2026-041;21/04/2026;{leads[0]};Abonnement Starter;58,80;EUR",
        f"F-2026-042;22/04/2026;{leads[1]};Abonnement Pro;118,80;EUR",
        f"F-2026-043;23/04/2026;{leads[2]};Abonnement Starter;58,80;EUR",
    )


def sage_audit_trail(folder: Path, leads: Leads = THREE) -> Path:
    """Sage's audit trail: the lead UUID in "Ex.Ref", amounts as Net, Tax and Gross."""
    return csv_export(
        folder,
        "audit_trail.csv",
        "No.,Type,Account,Date,Reference,Ex.Ref,Details,Net,Tax,Gross,Currency",
        f"1,SI,BERG001,21/04/2026,INV041,{leads[0]},Starter plan,49.00,9.80,58.80,GBP",
        f"2,SI,NORD001,22/04/2026,INV042,{leads[1]},Pro plan,99.00,19.80,118.80,GBP",
        f"3,SI,LUND001,23/04/2026,INV043,{leads[2]},Starter plan,49.00,9.80,58.80,GBP",
    )


@contextmanager
def workbook_sheet(path: Path, name: str, rows: list[list]) -> Iterator:
    """An .xlsx workbook at ``path`` whose sheet ``name`` holds ``rows`` from A1: the sheet
    (xlsxwriter's), to hide rows or columns in; the workbook is saved when the block ends."""
    import xlsxwriter

    book = xlsxwriter.Workbook(str(path))
    try:
        sheet = book.add_worksheet(name)
        for line, row in enumerate(rows):
            sheet.write_row(line, 0, row)
        yield sheet
    finally:
        book.close()


#: The hand-made workbook's title, above its header row.
WORKBOOK_TITLE = "April sales (typed by hand)"


def hand_made_workbook(folder: Path, leads: Leads | None = None) -> Path:
    """A workbook typed by hand: a title row above the headers, a column without a header (E,
    notes) and a third sale hidden by hand. Without ``leads`` it has no lead column; with them
    the lead ids are in a last column, "Keen".

    File rows: 1 title, 2 blank, 3 headers, 4-6 sales (6 hidden).
    """
    import xlsxwriter

    header = ["Customer", "Amount", "Date", "Product", None, "Our ref"]
    sales = [
        ["Berg Consulting", "49.00", "2026-04-21", "Starter", "call back", "A-1"],
        ["Nordic Foods", "99.00", "2026-04-22", "Pro", None, "A-2"],
        ["Lund & Co", "49.00", "2026-04-23", "Starter", "cancelled", "A-3"],
    ]
    if leads is not None:
        header.append("Keen")
        sales = [[*sale, lead] for sale, lead in zip(sales, leads, strict=True)]
    path = folder / "april.xlsx"
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("April")
    sheet.write_string(0, 0, WORKBOOK_TITLE)
    for at, row in enumerate([header, *sales], start=2):
        for col, value in enumerate(row):
            if value is not None:
                sheet.write_string(at, col, value)
    sheet.set_row(5, None, None, {"hidden": True})
    book.close()
    return path
