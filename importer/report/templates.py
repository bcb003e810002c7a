"""Blank import templates (CSV and XLSX) with the recognised headers and two example rows."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

from importer.report.publish import publish, temporary_beside

TEMPLATE_HEADERS = [
    "Lead ID",
    "Amount",
    "Currency",
    "Date",
    "Product name",
    "Product description",
    "Trigger IDs",
    "Reference",
]
EXAMPLE_ROWS = [
    [
        "47378190-96da-4dac-b2ff-5d2a386ecbe0",
        "1500.00",
        "USD",
        "2026-03-02",
        "Pro plan",
        "Annual subscription",
        "",
        "INV-2026-0001",
    ],
    [
        "c241330b-01a9-471f-9e8a-774bcf36d58b",
        "249.50",
        "USD",
        "2026-03-05",
        "Starter plan",
        "Monthly subscription",
        "aefcfad8-efc8-4849-b3aa-7efe4458a885",
        "INV-2026-0002",
    ],
]
COLUMN_DOCS = [
    (
        "Lead ID",
        "lead_id",
        "yes*",
        "The Keen lead's UUID (8-4-4-4-12 hex digits). *Or map a "
        "'Legacy lead ID' column with the old numeric id instead.",
    ),
    (
        "Legacy lead ID",
        "legacy_lead_id",
        "yes*",
        "The lead's integer id from the old Keen system; resolved to the UUID when sending.",
    ),
    (
        "Amount",
        "purchase_amount",
        "no",
        "Purchase amount in the channel's currency, at most two decimals. 1500, 1,500.00, "
        "1.500,00 and 1 500,00 € are all read. Negative amounts are refused.",
    ),
    (
        "Currency",
        "currency",
        "no",
        "3-letter code (USD, EUR). Checked against the lead's channel "
        "currency; never sent (Keen does not convert).",
    ),
    (
        "Date",
        "date",
        "no",
        "Purchase date. ISO (2026-03-02), 02.03.2026, slash dates (day-first or "
        "month-first is read from the column), or a real Excel date cell. Date-only = midnight in "
        "--timezone (default UTC).",
    ),
    ("Product name", "product_name", "no", "Free-text product name."),
    ("Product description", "product_description", "no", "Free text."),
    (
        "Product ID",
        "product_id",
        "no",
        "Catalog product UUID (older API shape; cannot be combined "
        "with Product name or Trigger IDs).",
    ),
    (
        "Trigger IDs",
        "trigger_ids",
        "no",
        "Reward trigger UUIDs to evaluate, separated by comma, "
        "semicolon, pipe or space. Empty = every active purchase trigger of the channel.",
    ),
    (
        "Reference",
        "reference",
        "no",
        "Your invoice/order number: never sent; used to catch "
        "duplicate rows and shown in the results.",
    ),
]


def write_csv_template(path: Path) -> Path:
    """Write the CSV template (UTF-8 with BOM so Excel opens it correctly)."""
    with open(path, "w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(TEMPLATE_HEADERS)
        writer.writerows(EXAMPLE_ROWS)
    return path


def write_xlsx_template(path: Path) -> Path:
    """Write the XLSX template: a Purchases sheet with typed cells and a Columns help sheet."""
    import xlsxwriter

    book = xlsxwriter.Workbook(str(path))
    head = book.add_format({"bold": True, "bg_color": "#D9E1F2", "border": 1})
    text = book.add_format({"num_format": "@"})
    money = book.add_format({"num_format": "#,##0.00"})
    date = book.add_format({"num_format": "yyyy-mm-dd"})
    wrap = book.add_format({"text_wrap": True, "valign": "top"})
    sheet = book.add_worksheet("Purchases")
    for col, name in enumerate(TEMPLATE_HEADERS):
        sheet.write_string(0, col, name, head)
    widths = [40, 12, 10, 12, 18, 24, 40, 16]
    for col, width in enumerate(widths):
        fmt = money if col == 1 else date if col == 3 else text
        sheet.set_column(col, col, width, fmt)
    for line, row in enumerate(EXAMPLE_ROWS, start=1):
        for col, value in enumerate(row):
            if col == 1:
                sheet.write_number(line, col, float(value), money)
            elif col == 3:
                sheet.write_datetime(line, col, dt.datetime.fromisoformat(value), date)
            else:
                sheet.write_string(line, col, value, text)
    sheet.freeze_panes(1, 0)
    docs = book.add_worksheet("Columns")
    for col, name in enumerate(["Column", "Field", "Required", "What to put in it"]):
        docs.write_string(0, col, name, head)
    docs.set_column(0, 1, 22)
    docs.set_column(2, 2, 10)
    docs.set_column(3, 3, 90, wrap)
    for line, row in enumerate(COLUMN_DOCS, start=1):
        for col, value in enumerate(row):
            docs.write_string(line, col, value, wrap if col == 3 else None)
    book.close()
    return path


def write_template(path: str | Path, kind: str = "csv") -> Path:
    """Write a blank import template: ``kind`` "csv" or "xlsx" (with a Columns help sheet)."""
    if kind not in ("csv", "xlsx"):
        raise ValueError(f"a template is csv or xlsx, not {kind!r}")
    writer = write_csv_template if kind == "csv" else write_xlsx_template
    tmp = temporary_beside(Path(path))
    try:
        return publish(writer(tmp), Path(path))
    finally:
        tmp.unlink(missing_ok=True)
