"""Blank import templates (CSV and XLSX) with the recognised headers and two example rows.

Their columns, example cells and help come from the field registry (:mod:`importer.fields`).
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Sequence
from pathlib import Path

from importer.fields import PURCHASE_FIELDS, PurchaseField
from importer.report.publish import publish, temporary_beside

#: The template opens with who, how much, in what currency and when; every other field follows
#: in the registry's order (:mod:`importer.fields`).
LEADING_FIELDS = ("lead_id", "legacy_lead_id", "purchase_amount", "currency", "date")


def documented_fields(fields: Sequence[PurchaseField]) -> list[PurchaseField]:
    """Every field, in the template's order (the Columns sheet describes each)."""
    first = {name: i for i, name in enumerate(LEADING_FIELDS)}
    return sorted(fields, key=lambda f: first.get(f.name, len(first)))


def template_columns(fields: Sequence[PurchaseField]) -> list[PurchaseField]:
    """The fields with a column of their own in the template: those with example cells."""
    return [f for f in documented_fields(fields) if f.template.examples is not None]


def required_words(field: PurchaseField, fields: Sequence[PurchaseField]) -> str:
    """The Columns sheet's "Required": "yes", "yes*" (this field or its alternative) or "no"."""
    if not field.required:
        return "no"
    paired = field.alternative_to is not None or any(f.alternative_to == field.name for f in fields)
    return "yes*" if paired else "yes"


_COLUMNS = template_columns(PURCHASE_FIELDS)
TEMPLATE_HEADERS = [f.words for f in _COLUMNS]
EXAMPLE_ROWS = [[(f.template.examples or ("", ""))[i] for f in _COLUMNS] for i in (0, 1)]
COLUMN_DOCS = [
    (f.words, f.name, required_words(f, PURCHASE_FIELDS), f.template.text)
    for f in documented_fields(PURCHASE_FIELDS)
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
    forms = {"amount": money, "date": date}  # by the parser that reads the column
    for col, f in enumerate(_COLUMNS):
        sheet.write_string(0, col, f.words, head)
        sheet.set_column(col, col, f.template.width, forms.get(f.parser, text))
    for line, row in enumerate(EXAMPLE_ROWS, start=1):
        for col, (f, value) in enumerate(zip(_COLUMNS, row, strict=True)):
            if f.parser == "amount":
                sheet.write_number(line, col, float(value), money)
            elif f.parser == "date":
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
