"""Cells corrected through the import job: re-check one row, read the file with the
corrections laid over it, and write the corrected copy (the input file is never changed)."""

from __future__ import annotations

import csv
import dataclasses
from collections.abc import Iterator
from pathlib import Path

from importer.job.checking import PreparedFile
from importer.job.model import CellEdit, RowView
from importer.read.kinds import kind_named
from importer.read.loader import Chunk, Table
from importer.report.publish import publish, temporary_beside


def latest(edits: list[CellEdit], headers: list[str]) -> dict[int, dict[int, str]]:
    """Row -> {column index: value} of the last edit of each cell."""
    at = {header: i for i, header in enumerate(headers)}
    cells: dict[int, dict[int, str]] = {}
    for edit in edits:
        cells.setdefault(edit.row, {})[at[edit.column]] = edit.new
    return cells


def recheck_row(prepared: PreparedFile, row: int, cells: dict[str, str]) -> RowView:
    """The verdict of one row with these cells, judged like the whole-file check.

    A row checked alone cannot be compared with the other rows: a duplicate it creates or
    removes shows at the next check of the whole file.
    """
    table = prepared.table
    chunk = Chunk(rows=[row], cells=[[cells[h] for h in table.headers]])
    checked = prepared.validator().check(chunk)
    return RowView(
        row=row,
        status=str(checked.statuses[0]),
        error=checked.errors.get(0),
        warnings=list(checked.warnings.get(0, [])),
        cells=dict(cells),
        purchase_id=None,
    )


def patched_table(table: Table, edits: list[CellEdit]) -> Table:
    """The table, read with every edit laid over its cells."""
    changes = latest(edits, table.headers)

    def read(size: int) -> Iterator[Chunk]:
        for chunk in table.chunks(size):
            yield patch_chunk(chunk, changes)

    return dataclasses.replace(table, _reader=read)


def patch_chunk(chunk: Chunk, changes: dict[int, dict[int, str]]) -> Chunk:
    """Lay the edited cells over one chunk (in place; cached columns are dropped)."""
    hit = False
    for i, row in enumerate(chunk.rows):
        edited = changes.get(row)
        if not edited:
            continue
        hit = True
        cells = list(chunk.cells[i])
        raw = list(chunk.raw[i]) if chunk.raw is not None else None
        for at, value in edited.items():
            cells[at] = value
            if raw is not None:
                raw[at] = value
        chunk.cells[i] = cells
        if chunk.raw is not None:
            chunk.raw[i] = raw
    if hit:
        chunk.__dict__.pop("_columns", None)
    return chunk


def write_corrected(table: Table, edits: list[CellEdit], path: Path) -> Path:
    """Write the input with every edit applied to ``path``; returns it.

    The format is the input kind's corrected copy format (`InputKind.corrected_suffix`): .xlsx
    for a workbook of any kind, the CSV's own text otherwise."""
    if path.resolve() == table.path.resolve():
        raise ValueError("the corrected copy cannot replace the input file")
    path.parent.mkdir(parents=True, exist_ok=True)
    changes = latest(edits, table.headers)
    tmp = temporary_beside(path)
    try:
        kind = kind_named(table.info.kind)
        if kind is not None and kind.corrected_suffix == ".xlsx":
            _write_xlsx(table, changes, tmp)
        else:
            _write_csv(table, changes, tmp)
        return publish(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _write_csv(table: Table, changes: dict[int, dict[int, str]], path: Path) -> None:
    """Every record of the CSV (title rows included), edited cells replaced."""
    encoding = table.info.encoding or "utf-8"
    delimiter = table.delimiter or ","
    with (
        open(table.path, encoding=encoding, newline="") as source,
        open(path, "w", encoding=encoding, newline="") as target,
    ):
        writer = csv.writer(target, delimiter=delimiter, lineterminator="\r\n")
        records = csv.reader(source, delimiter=delimiter)
        for row, record in enumerate(records, start=1 - table.unseen_records):
            for at, value in changes.get(row, {}).items():
                record.extend([""] * (at + 1 - len(record)))
                record[at] = value
            writer.writerow(record)


def _write_xlsx(table: Table, changes: dict[int, dict[int, str]], path: Path) -> None:
    """The chosen sheet, header and data rows, typed cells kept, edited cells as text."""
    import xlsxwriter

    book = xlsxwriter.Workbook(str(path), {"strings_to_numbers": False})
    try:
        sheet = book.add_worksheet((table.sheet or "Sheet1")[:31])
        dates = book.add_format({"num_format": "yyyy-mm-dd"})
        line = table.header_row - 1
        for col, header in enumerate(table.headers):
            sheet.write_string(line, col, header)
        for chunk in patch_chunks(table, changes):
            for row, raw in zip(chunk.rows, chunk.raw or chunk.cells, strict=True):
                for col, value in enumerate(raw):
                    _write_cell(sheet, row - 1, col, value, dates)
    finally:
        book.close()


def patch_chunks(table: Table, changes: dict[int, dict[int, str]]) -> Iterator[Chunk]:
    """The table's chunks with the edited cells laid over them."""
    for chunk in table.chunks():
        yield patch_chunk(chunk, changes)


def _write_cell(sheet, line: int, col: int, value: object, dates) -> None:
    import datetime as dt

    if isinstance(value, bool):
        sheet.write_boolean(line, col, value)
    elif isinstance(value, (int, float)):
        sheet.write_number(line, col, value)
    elif isinstance(value, dt.datetime):
        sheet.write_datetime(line, col, value, dates)
    elif isinstance(value, dt.date):
        sheet.write_datetime(line, col, dt.datetime.combine(value, dt.time()), dates)
    elif value not in (None, ""):
        sheet.write_string(line, col, str(value))
