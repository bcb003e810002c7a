"""Checking a whole file: open and map it, settle its columns, judge every row, write results.

    loader -> column decisions -> validator (normalise) -> results writer

The import job (:mod:`importer.job.importjob`) drives these steps; ``run`` reuses them before
sending. Nothing here prints.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from importer.check.controls import (
    parse_period,
)
from importer.check.decisions import scan_columns
from importer.check.mapping import Mapping, match_fields, require_fields, resolve_columns
from importer.check.summary import Summary
from importer.check.validator import (
    CheckedChunk,
    ColumnDecisions,
    RowValidator,
    ValidationOptions,
)
from importer.errors import ConfigurationError
from importer.job.model import ProgressCallback
from importer.job.rowindex import IndexedWrites, PlainWrites, RowIndex
from importer.job.split import can_split, judge_split
from importer.read.frame import FrameTable, is_frame, open_frame
from importer.read.kinds import KINDS
from importer.read.loader import Chunk, Table, column_samples, open_table
from importer.read.zipcheck import DEFAULT_MAX_WORKBOOK_MB
from importer.records import RowResult
from importer.report.frames import KeptResults
from importer.report.manifest import file_sha256
from importer.report.results import ResultsWriter

#: A CSV file or a workbook (any kind of importer.read.kinds), or a pandas DataFrame read under
#: the same rules.
Source = Any


@dataclass
class PreparedFile:
    """An opened, mapped file with its column decisions: everything needed to judge rows."""

    table: Table
    columns: dict[str, str]
    options: ValidationOptions
    decisions: ColumnDecisions

    def validator(self, *, build_records: bool = False) -> RowValidator:
        """A validator of this file's rows (``build_records``: with purchase records)."""
        return RowValidator(
            self.table.headers, self.columns, self.decisions, self.options,
            build_records=build_records,
        )  # fmt: skip


def options_from(mapping: Mapping) -> ValidationOptions:
    """The validation options a mapping carries."""
    return ValidationOptions(
        day_first=mapping.day_first,
        decimal=mapping.decimal,
        timezone=mapping.timezone or "UTC",
        allow_precision=bool(mapping.allow_precision),
        allow_duplicates=bool(mapping.allow_duplicates),
        trigger_ids=tuple(mapping.trigger_ids),
        action=mapping.action or "create_purchase",
        period=parse_period(mapping.period) if mapping.period else None,
        keep_null=bool(mapping.keep_null),
        skip_hidden=bool(mapping.skip_hidden),
        where=tuple(mapping.where),
    )


def prepare(
    path: Source,
    mapping: Mapping | None = None,
    *,
    max_xlsx_mb: int = DEFAULT_MAX_WORKBOOK_MB,
    name: str | None = None,
) -> PreparedFile:
    """Open ``path`` (or a DataFrame named ``name``), map its columns and settle how its
    amounts and dates are read.

    Raises AmbiguousDataError when the file leaves a column choice open.
    """
    mapping = mapping or Mapping()
    table = open_source(path, mapping, max_xlsx_mb=max_xlsx_mb, name=name)
    prepared = prepare_table(table, mapping)
    require_settled(prepared, mapping)
    return prepared


def require_settled(prepared: PreparedFile, mapping: Mapping) -> None:
    """AmbiguousDataError while a question is open, MappingError while no column feeds the
    amount or the date and the mapping does not opt out: what every pass checks first."""
    prepared.decisions.raise_if_open()
    require_mapped_fields(prepared, mapping)


def revise_decisions(
    prepared: PreparedFile, validator: RowValidator, *, apply: bool = True
) -> bool:
    """True when a pass over the whole file must run again because its first chunk was not
    representative: the rows' majority currency is not the one assumed, or a later chunk
    proved a column written both ways (``validator.contrary``: a month-first date in a
    day-first column, an amount with the other decimal separator), whose values that read
    both ways are then invalid wherever they are, as when the first chunk shows both.
    ``apply``: change the decisions for the next pass."""
    decisions = prepared.decisions
    majority = validator.majority_currency()
    changes: dict = {}
    if majority not in (None, decisions.currency):
        changes["currency"] = majority
    contrary = validator.contrary
    if "date" in contrary and decisions.both_orders is None and decisions.day_first_evidence:
        pair = (decisions.day_first_evidence[0], contrary["date"])
        changes["both_orders"] = pair if decisions.day_first else pair[::-1]
        changes["day_first"] = None
        # As the scan of a first chunk showing both: the evidence is the pair (day, month).
        changes["day_first_evidence"] = list(changes["both_orders"])
    amount = contrary.get("purchase_amount")
    if amount and decisions.decimal_both is None and decisions.decimal_evidence:
        pair = (amount, decisions.decimal_evidence[0])
        changes["decimal_both"] = pair if decisions.decimal == "." else pair[::-1]
    if apply:
        for name, value in changes.items():
            setattr(decisions, name, value)
    return bool(changes)


def require_mapped_fields(prepared: PreparedFile, mapping: Mapping) -> None:
    """MappingError (exit 2, before anything is sent) when no column feeds the amount or the
    date and the mapping does not say --no-amount / --no-date; the message names the columns
    whose values look right (the same guess the job's suggest_mapping offers)."""
    if {"purchase_amount", "date"} <= set(prepared.columns):
        return
    if mapping.no_amount and mapping.no_date:
        return
    table = prepared.table
    matches = match_fields(table.headers, column_samples(table), mapping.columns)
    require_fields(
        matches, table.headers, no_amount=bool(mapping.no_amount), no_date=bool(mapping.no_date)
    )


def mapping_notes(prepared: PreparedFile) -> list[str]:
    """Warnings about the mapping itself (a mapped column hidden in the workbook), then what
    the reader could not check (hidden rows of an .xls)."""
    fields = {header: name for name, header in prepared.columns.items()}
    return [
        f"warning: column {header!r} (mapped to {fields[header]}) is hidden in the workbook"
        for header in getattr(prepared.table, "hidden_columns", [])
        if header in fields
    ] + list(getattr(prepared.table, "notes", []))


def open_source(
    source: Source,
    mapping: Mapping,
    *,
    max_xlsx_mb: int = DEFAULT_MAX_WORKBOOK_MB,
    name: str | None = None,
    header_row: int | None = None,
) -> Table:
    """Open a file (sheet, encoding, delimiter from ``mapping``) or a DataFrame as a Table."""
    source = as_source(source)
    if is_frame(source):
        return open_frame(source, name=name)
    return open_table(
        source,
        sheet=mapping.sheet,
        encoding=mapping.encoding,
        delimiter=mapping.delimiter,
        max_xlsx_mb=max_xlsx_mb,
        header_hint={k: v for k, v in mapping.columns.items() if v},
        header_row=header_row,
    )


def as_source(source: Source) -> Source:
    """A DataFrame as it is, a path as a Path; ConfigurationError for anything else."""
    if is_frame(source):
        return source
    if not isinstance(source, str | os.PathLike):
        raise ConfigurationError(
            f"cannot import a {type(source).__name__}: give the path of a CSV file or a "
            f"workbook ({', '.join(k.suffixes[0] for k in KINDS if k.workbook)}), or a pandas "
            "DataFrame",
            hint="a pandas Series becomes a DataFrame with series.to_frame()",
        )
    return Path(source)


def source_facts(table: Table) -> tuple[str, dict | None]:
    """The source's SHA-256, and what the manifest says about a source that is not a file."""
    if isinstance(table, FrameTable):
        return table.content_sha256(), table.describe()
    return file_sha256(table.path), None


def prepare_table(table: Table, mapping: Mapping) -> PreparedFile:
    """Map an opened table's columns and scan them for evidence (open questions are listed in
    ``decisions.ambiguities``, not raised)."""
    if mapping.decimal not in (None, ".", ","):
        raise ConfigurationError(f"--decimal must be '.' or ',', got {mapping.decimal!r}")
    columns = resolve_columns(table.headers, mapping.columns, samples=column_samples(table))
    options = options_from(mapping)
    decisions = scan_columns(table, columns, options)
    return PreparedFile(table=table, columns=columns, options=options, decisions=decisions)


def row_results(checked: CheckedChunk) -> list[RowResult]:
    """The validation verdicts of a chunk as RowResults."""
    rows = checked.chunk.rows
    return [
        RowResult(
            row=rows[i],
            status=status,
            error=checked.errors.get(i),
            warnings=checked.warnings.get(i, []),
        )
        for i, status in enumerate(checked.statuses)
    ]


def check_results_path(results: Path, source: Path) -> None:
    """Refuse to overwrite the input with its own results, or to write a legacy .xls."""
    if results.resolve() == source.resolve():
        raise ConfigurationError(
            f"--results {results} is the input file itself; choose another path"
        )
    if results.suffix.lower() == ".xls":
        raise ConfigurationError(
            f"--results {results}: results are written as .xlsx or .csv, not as a legacy .xls; "
            "choose a name ending in .xlsx"
        )


def options_dict(prepared: PreparedFile) -> dict:
    """The reading options actually used, for the manifest."""
    o, d = prepared.options, prepared.decisions
    return {
        "decimal": d.decimal,
        "day_first": d.day_first,
        "timezone": o.timezone,
        "allow_precision": o.allow_precision,
        "allow_duplicates": o.allow_duplicates,
        "trigger_ids": list(o.trigger_ids),
        "action": o.action,
        "period": o.period.label if o.period else None,
        "no_amount": "purchase_amount" not in prepared.columns,
        "no_date": "date" not in prepared.columns,
        "skip_hidden": o.skip_hidden,
        "keep_null": o.keep_null,
        "where": list(o.where),
        "skip_rows": str(o.skip_rows) or None,
        "encoding": prepared.table.info.encoding,
        "delimiter": prepared.table.delimiter,
    }


def check_all(
    prepared: PreparedFile,
    results_path: Path | None,
    on_progress: ProgressCallback | None = None,
    *,
    shadow_path: Path | None = None,
    allow_split: bool = True,
    kept: KeptResults | None = None,
    index: RowIndex | None = None,
) -> tuple[Summary, str | None]:
    """Judge every row and write the results file; the summary and, when the two-process pass
    computed it, the file's SHA-256. ``allow_split=False`` keeps the pass in this process (the
    helper process reads the file itself, so it would not see rows edited through the job).

    ``shadow_path``: a CSV copy of the results as well (the job pages rows from it when the
    results file is a workbook). When the first chunk's currency was not the file's majority,
    the rows are judged again with the majority. ``kept``: the verdicts are kept there too
    (a DataFrame's, for results_frame()). ``index``: the rows of the CSV file written (the
    shadow copy when there is one) are indexed there as they are written.
    """
    while True:
        if kept is not None:
            kept.clear()
        if index is not None:
            index.clear()
        summary, validator, digest = _check_pass(
            prepared,
            results_path,
            on_progress,
            shadow_path,
            allow_split and kept is None,
            kept,
            index,
        )
        if not revise_decisions(prepared, validator):
            return summary, digest


def _writers(
    table: Table, results_path: Path | None, shadow_path: Path | None
) -> list[ResultsWriter]:
    paths = [p for p in (results_path, shadow_path) if p is not None]
    writers: list[ResultsWriter] = []
    try:
        for path in paths:
            writers.append(ResultsWriter(path, table.headers))
    except BaseException:
        for writer in writers:
            writer.abort()
        raise
    return writers


def _check_pass(
    prepared: PreparedFile,
    results_path: Path | None,
    on_progress: ProgressCallback | None,
    shadow_path: Path | None,
    allow_split: bool,
    kept: KeptResults | None = None,
    index: RowIndex | None = None,
) -> tuple[Summary, RowValidator, str | None]:
    """One pass over the file; also the file's SHA-256 when the split pass computed it."""
    table = prepared.table
    validator = prepared.validator()
    summary = Summary()
    done = 0
    digest = None
    writers = _writers(table, results_path, shadow_path)
    # The file rows are paged from is the last one: the shadow copy, if any.
    last = writers[-1] if writers else None
    if index is not None and last is not None and last.kind == "csv":
        writes = [PlainWrites(w) for w in writers[:-1]] + [IndexedWrites(last, index)]
    else:
        writes = [PlainWrites(w) for w in writers]

    def progress(rows: int) -> None:
        nonlocal done
        done += rows
        if on_progress:
            on_progress(done, None, {k: v.rows for k, v in summary.by_status.items()})

    try:
        if allow_split and len(writes) == 1 and can_split(table, results_path):
            with paused_gc_block():
                digest = judge_split(table, validator, writes[0], summary, progress)
        else:
            for chunk in paused_gc(table.chunks()):
                checked = validator.check(chunk)
                checked.add_to(summary)
                columns = checked.result_columns()
                for write in writes:
                    write.write_checked(checked, columns)
                if kept is not None:
                    kept.add(checked, columns)
                progress(len(chunk.rows))
        again = revise_decisions(prepared, validator, apply=False)
        for writer in writers:
            if again:
                writer.abort()  # judged again with the majority currency
            else:
                writer.commit()
    except BaseException:
        for writer in writers:
            writer.abort()
        raise
    return summary, validator, digest


def paused_gc(chunks: Iterator[Chunk]) -> Iterator[Chunk]:
    """Iterate with the cyclic garbage collector paused.

    Reading a file allocates millions of small lists that live only as long as their chunk;
    the collector's full passes over them cost about a third of a large validate. The rows
    hold no reference cycles, so pausing it while chunks flow is safe; it is restored after.
    """
    with paused_gc_block():
        yield from chunks


@contextmanager
def paused_gc_block() -> Iterator[None]:
    """The cyclic garbage collector paused for the block (see :func:`paused_gc`)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
