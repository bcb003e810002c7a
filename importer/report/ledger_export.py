"""The month-end list of purchases created in Keen, from the ledger, as CSV or XLSX."""

from __future__ import annotations

import csv
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from importer.check.controls import parse_period
from importer.check.decisions import named_zone
from importer.ledger import Ledger
from importer.ledger.queries import in_period
from importer.report.publish import publish, temporary_beside
from importer.report.results import neutralise

__all__ = ["EXPORT_COLUMNS", "Exported", "export_created"]

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


@dataclass(frozen=True)
class Exported:
    """What an export wrote, and the purchases of its period it could not list."""

    count: int
    #: Purchases sent whose answer never came (``unconfirmed``): they may exist in Keen.
    unconfirmed: int
    unconfirmed_amounts: dict[str, Decimal]


def export_created(
    ledger: Ledger, output: Path, *, period: str | None = None, timezone: str = "UTC"
) -> Exported:
    """Write the purchases created in ``period`` (2026-03 or 2026-01..2026-03, its months in
    ``timezone``; every one when None) to ``output`` (.xlsx or else CSV). ConfigurationError
    for a period that is no month or an unknown time zone."""
    bounds = _bounds(period, timezone)
    rows = [_cells(entry) for entry in in_period(ledger, bounds)]
    tmp = temporary_beside(output)
    if output.suffix.lower() == ".xlsx":
        _write_xlsx(tmp, rows)
    else:
        with open(tmp, "w", encoding="utf-8-sig", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(EXPORT_COLUMNS)
            writer.writerows([[neutralise(cell) for cell in row] for row in rows])
    publish(tmp, output)
    unconfirmed = list(in_period(ledger, bounds, status="unconfirmed"))
    amounts: dict[str, Decimal] = defaultdict(Decimal)
    for entry in unconfirmed:
        if entry.amount:
            amounts[entry.currency or ""] += Decimal(entry.amount)
    return Exported(len(rows), len(unconfirmed), dict(amounts))


def _bounds(period: str | None, timezone: str) -> tuple[str, str] | None:
    """The UTC instants a period's months in ``timezone`` start and end at (the months of
    "2026-03" in Europe/Copenhagen: "2026-02-28T23:00:00" to "2026-03-31T22:00:00")."""
    zone = named_zone(timezone)
    if not period:
        return None
    months = parse_period(period)

    def instant(day) -> str:
        start = datetime.combine(day, datetime.min.time(), tzinfo=zone)
        return start.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")

    return instant(months.start), instant(months.end)


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
