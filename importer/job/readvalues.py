"""What each mapped cell of a page of rows was read as: the values the tool will send.

A page is judged again through the file's own validator (with purchase records), from the
cells the results file holds: a hundred rows cost a few milliseconds, and the file is not read
again. The verdict shown stays the check's (the page is not compared with the rest of the
file, so a copy of an earlier row is not found here); only rows that check passed, and that
the validator turns into a purchase again, get their values.
"""

from __future__ import annotations

import dataclasses
import re
import threading

from importer.job.checking import PreparedFile
from importer.job.model import ReadValue, RowView
from importer.read.filecheck import WORKBOOK_SUFFIXES
from importer.read.loader import Chunk
from importer.records import FIELDS, PurchaseRecord, RowStatus

#: Verdicts of rows that are no purchase: nothing of them is sent, so nothing is shown read.
NOT_READ = frozenset({str(RowStatus.INVALID), str(RowStatus.SKIPPED)})
#: A workbook's typed number as the results file holds it (1234.5): with a decimal comma its
#: text cannot say whether the workbook held the number or the text "1234.5".
TYPED_NUMBER = re.compile(r"-?\d+\.\d+")


class ReadValues:
    """Fills in ``RowView.read`` for pages of one prepared file.

    One validator serves every page (building one costs tens of milliseconds, judging a page
    of a hundred rows a few): pages are judged without comparing rows, so nothing a page
    leaves in it changes the next page's reading. Thread-safe.
    """

    def __init__(self, prepared: PreparedFile) -> None:
        self.prepared = prepared
        self._validator = None
        self._lock = threading.Lock()

    def add(self, views: list[RowView]) -> list[RowView]:
        """The views with ``read`` filled in for the rows that passed the check (new objects)."""
        wanted = [i for i, view in enumerate(views) if view.status not in NOT_READ]
        if not wanted:
            return views
        prepared = self.prepared
        headers = prepared.table.headers
        chunk = Chunk(
            rows=[views[i].row for i in wanted],
            cells=[[views[i].cells.get(h, "") for h in headers] for i in wanted],
        )
        with self._lock:
            if self._validator is None:
                self._validator = prepared.validator(build_records=True)
            checked = self._validator.check(chunk, mark_duplicates=False)
        tz, zone = self._validator.zone, prepared.options.timezone
        doubtful = _doubtful_amount(prepared)
        amount_column = prepared.columns.get("purchase_amount")
        found = list(views)
        for i, record in zip(wanted, checked.records or (), strict=True):
            if record is None:
                continue
            read = _read_values(record, prepared.columns, tz, zone)
            if doubtful and amount_column and doubtful(views[i].cells.get(amount_column, "")):
                read.pop(amount_column, None)
            found[i] = dataclasses.replace(views[i], read=read)
        return found


def _read_values(record: PurchaseRecord, columns: dict[str, str], tz, zone: str) -> dict:
    """Header -> ReadValue for every mapped field the record holds a value of."""
    read: dict[str, ReadValue] = {}
    for name in FIELDS:
        header = columns.get(name)
        value = getattr(record, name, None)
        if not header or value is None or value == () or value == "":
            continue
        if name == "purchase_amount":
            read[header] = ReadValue(name, value, currency=record.currency)
        elif name == "date":
            read[header] = ReadValue(name, value.astimezone(tz), zone=zone)
        else:
            read[header] = ReadValue(name, value)
    return read


def _doubtful_amount(prepared: PreparedFile):
    """For a workbook or DataFrame read with a decimal comma, a test of the amount texts that
    may be typed numbers (their reading from text alone could be wrong); None otherwise."""
    typed = prepared.table.info.kind in WORKBOOK_SUFFIXES or prepared.table.info.kind == "frame"
    if prepared.decisions.decimal != "," or not typed:
        return None
    return TYPED_NUMBER.fullmatch
