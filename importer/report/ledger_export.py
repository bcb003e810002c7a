"""The month-end list of purchases created in Keen, from the ledger, as CSV or XLSX."""

from __future__ import annotations

import csv
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from importer.check.controls import parse_period
from importer.ledger import Ledger
from importer.ledger.queries import created_in_period
from importer.report.publish import publish, temporary_beside
from importer.report.results import neutralise

__all__ = ["EXPORT_COLUMNS", "export_created"]

EXPORT_COLUMNS = (
    "purchase_id",
    "purchase_date",
    "lead_id",
    "amount",
    "currency",
    "reference",
    "file_name",
    "row",
    "import",
    "target",
    "recorded_at",
)


def export_created(ledger: Ledger, output: Path, *, period: str | None = None) -> int:
    """Write the purchases created in ``period`` (2026-03 or 2026-01..2026-03; every one when
    None) to ``output`` (.xlsx or else CSV); returns how many. ConfigurationError for a period
    that is no month."""
    rows = [_cells(entry) for entry in created_in_period(ledger, _months(period))]
    tmp = temporary_beside(output)
    if output.suffix.lower() == ".xlsx":
        _write_xlsx(tmp, rows)
    else:
        with open(tmp, "w", encoding="utf-8-sig", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(EXPORT_COLUMNS)
            writer.writerows([[neutralise(cell) for cell in row] for row in rows])
    publish(tmp, output)
    return len(rows)


def _months(period: str | None) -> tuple[str, str] | None:
    """("2026-01", "2026-03") of a period, checked as --period is everywhere."""
    if not period:
        return None
    months = parse_period(period)
    last = months.end - timedelta(days=1)
    return months.start.strftime("%Y-%m"), last.strftime("%Y-%m")


def _cells(entry) -> list[str]:
    recorded = datetime.fromtimestamp(entry.updated_at, UTC).isoformat(timespec="seconds")
    return [
        entry.purchase_id or "",
        entry.purchase_date or "",
        entry.lead_id or "",
        entry.amount or "",
        entry.currency or "",
        entry.reference or "",
        entry.file_name,
        str(entry.file_row),
        str(entry.import_id),
        entry.target,
        recorded,
    ]


#: The columns a workbook holds as numbers and dates (so that SUM and filters work on them).
_AMOUNT, _INTEGERS, _INSTANTS = "amount", ("row", "import"), ("purchase_date", "recorded_at")


def _write_xlsx(path: Path, rows: list[list[str]]) -> None:
    import xlsxwriter

    book = xlsxwriter.Workbook(str(path), {"strings_to_formulas": False})
    sheet = book.add_worksheet("created")
    money = book.add_format({"num_format": "#,##0.00##"})
    instant = book.add_format({"num_format": 'yyyy-mm-dd hh:mm:ss "UTC"'})
    sheet.write_row(0, 0, EXPORT_COLUMNS)
    for line, row in enumerate(rows, start=1):
        for column, (name, text) in enumerate(zip(EXPORT_COLUMNS, row, strict=True)):
            if not text:
                continue
            if name == _AMOUNT:  # serialised here: Excel keeps numbers as binary floats
                sheet.write_number(line, column, float(Decimal(text)), money)
            elif name in _INTEGERS:
                sheet.write_number(line, column, int(text))
            elif name in _INSTANTS:
                sheet.write_datetime(line, column, _utc(text), instant)
            else:
                sheet.write_string(line, column, text)
    sheet.set_column(0, len(EXPORT_COLUMNS) - 1, 20)
    book.close()


def _utc(text: str) -> datetime:
    """An ISO instant as the naive UTC date and time a workbook cell holds."""
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC).replace(tzinfo=None)
