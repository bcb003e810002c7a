"""The month-end list of purchases created in Keen, from the ledger, as CSV or XLSX."""

from __future__ import annotations

import csv
from pathlib import Path

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
    """Write the purchases created in ``period`` (2026-03; every one when None) to ``output``
    (.xlsx or else CSV); returns how many."""
    rows = [_cells(entry) for entry in created_in_period(ledger, period)]
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


def _cells(entry) -> list[str]:
    from datetime import UTC, datetime

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


def _write_xlsx(path: Path, rows: list[list[str]]) -> None:
    import xlsxwriter

    book = xlsxwriter.Workbook(str(path), {"strings_to_formulas": False})
    sheet = book.add_worksheet("created")
    sheet.write_row(0, 0, EXPORT_COLUMNS)
    for line, row in enumerate(rows, start=1):
        sheet.write_row(line, 0, row)
    book.close()
