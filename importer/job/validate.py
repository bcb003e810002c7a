"""The library API: validate() and run_import() wire the pipeline stages; they never print.

loader -> validator (normalise) -> [preflight -> batcher -> journal] -> reconciler
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from importer.check.controls import (
    check_control_totals,
    date_range_notes,
    parse_expected_total,
    parse_period,
)
from importer.check.mapping import Mapping, resolve_columns
from importer.check.summary import Summary
from importer.check.validator import (
    CheckedChunk,
    ColumnDecisions,
    RowValidator,
    ValidationOptions,
    decide_columns,
)
from importer.errors import ConfigurationError, InputFileError
from importer.job.split import can_split, judge_split
from importer.read.frame import FrameTable, is_frame, open_frame
from importer.read.loader import Chunk, Table, open_table
from importer.records import RowResult, RowStatus
from importer.report.frames import KeptResults, results_frame, summary_frame
from importer.report.manifest import build_manifest, file_sha256, manifest_path, write_json_atomic
from importer.report.results import ResultsWriter, default_results_path

#: A CSV/XLSX/XLS file, or a pandas DataFrame read under the same rules.
Source = Any

#: Progress callback: (rows done, rows total or None, counts per status).
ProgressCallback = Callable[[int, int | None, dict[str, int]], None]

VALIDATE_ORDER = (RowStatus.VALID, RowStatus.INVALID, RowStatus.SKIPPED)


@dataclass
class ValidationReport:
    """What validate() found: mapping used, decisions taken, control totals, results path."""

    path: Path
    results_path: Path | None
    columns: dict[str, str]
    decisions: ColumnDecisions
    summary: Summary
    sheet: str | None = None
    encoding: str | None = None
    delimiter: str | None = None
    header_row: int = 1
    warnings: list[str] = field(default_factory=list)
    frame: Any = field(default=None, repr=False)  # the DataFrame validated, if one was
    kept: KeptResults | None = field(default=None, repr=False)

    @property
    def exit_code(self) -> int:
        """0 when every non-blank row is valid (or skipped), 1 when some are invalid."""
        return 1 if self.summary.count(RowStatus.INVALID) else 0

    def results_frame(self) -> Any:
        """The validated DataFrame plus the result columns (see :func:`results_frame`)."""
        return results_frame(self.frame, self.kept)

    def summary_frame(self) -> Any:
        """Rows and amounts per status and currency, as a DataFrame (amounts as Decimal)."""
        return summary_frame(self.summary)


@dataclass
class PreparedFile:
    """An opened, mapped file with its column decisions: everything needed to judge rows."""

    table: Table
    columns: dict[str, str]
    options: ValidationOptions
    decisions: ColumnDecisions


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
    )


def prepare(
    path: Source, mapping: Mapping | None = None, *, max_xlsx_mb: int = 500, name: str | None = None
) -> PreparedFile:
    """Open ``path`` (or a DataFrame named ``name``), map its columns and settle how its
    amounts and dates are read."""
    mapping = mapping or Mapping()
    if mapping.decimal not in (None, ".", ","):
        raise ConfigurationError(f"--decimal must be '.' or ',', got {mapping.decimal!r}")
    if is_frame(path):
        table: Table = open_frame(path, name=name)
    else:
        table = open_table(
            path,
            sheet=mapping.sheet,
            encoding=mapping.encoding,
            delimiter=mapping.delimiter,
            max_xlsx_mb=max_xlsx_mb,
            header_hint=mapping.columns,
        )
    columns = resolve_columns(table.headers, mapping.columns)
    options = options_from(mapping)
    decisions = decide_columns(table, columns, options)
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


def results_target(table: Table, results: str | Path | None) -> tuple[Path, bool]:
    """Where the results file goes, and whether it is written.

    A file's results go to ``results`` or ``<stem>.results.<ext>`` beside it. A DataFrame's
    results file is written only when ``results`` is given; the journal, manifest and created
    list of a run still need a folder: the current one, named after the DataFrame.
    """
    if results:
        return Path(results), True
    if isinstance(table, FrameTable):
        return Path.cwd() / f"{table.name}.results.csv", False
    return default_results_path(table.path, table.info.kind), True


def source_facts(table: Table) -> tuple[str, dict | None]:
    """The source's SHA-256, and what the manifest says about a source that is not a file."""
    if isinstance(table, FrameTable):
        return table.content_sha256(), table.describe()
    return file_sha256(table.path), None


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


def validate(
    path: Source,
    mapping: Mapping | None = None,
    *,
    name: str | None = None,
    results: str | Path | None = None,
    write_results: bool = True,
    max_xlsx_mb: int = 500,
    expect_rows: int | None = None,
    expect_total: str | None = None,
    on_progress: ProgressCallback | None = None,
) -> ValidationReport:
    """Check every row of a CSV/XLSX file (or a pandas DataFrame) offline; write the results.

    A DataFrame is read under the same rules as a file (see importer.read.frame); ``name``
    (default ``dataframe``) names its files, and its results file and manifest are written
    only when ``results`` is given. ``report.results_frame()`` gives its rows with verdicts.

    Example::

        report = validate("march.csv", Mapping(columns={"purchase_amount": "Net"}))
        report.summary.count(RowStatus.INVALID)
    """
    started = datetime.now(UTC)
    expected = parse_expected_total(expect_total) if expect_total else None
    prepared = prepare(path, mapping, max_xlsx_mb=max_xlsx_mb, name=name)
    table = prepared.table
    results_path, write_results = _validate_target(table, results, write_results)
    while True:
        summary, validator, digest, kept = _validate_pass(
            prepared, results_path if write_results else None, on_progress
        )
        majority = validator.majority_currency()
        if majority is None or majority == prepared.decisions.currency:
            break
        # The first chunk's currency was not the file's majority: judge the rows again.
        prepared.decisions.currency = majority
    notes = date_range_notes(summary, table.path, period=prepared.options.period)
    if write_results:
        sha256, source_info = (digest, None) if digest else source_facts(table)
        write_json_atomic(
            manifest_path(results_path, table.path),
            build_manifest(
                command="validate",
                source=table.path,
                sha256=sha256,
                sheet=table.sheet,
                columns=prepared.columns,
                options=options_dict(prepared),
                api_url=None,
                started=started,
                finished=datetime.now(UTC),
                summary=summary,
                results_path=results_path,
                source_info=source_info,
            ),
        )
    notes += check_control_totals(summary, expect_rows=expect_rows, expect_total=expected)
    return ValidationReport(
        path=table.path,
        results_path=results_path if write_results else None,
        columns=prepared.columns,
        decisions=prepared.decisions,
        summary=summary,
        sheet=table.sheet,
        encoding=table.info.encoding,
        delimiter=table.delimiter,
        header_row=table.header_row,
        warnings=notes,
        frame=getattr(table, "frame", None),
        kept=kept,
    )


def _validate_target(
    table: Table, results: str | Path | None, write_results: bool
) -> tuple[Path, bool]:
    results_path, writes = results_target(table, results)
    check_results_path(results_path, table.path)
    return results_path, write_results and writes


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
        "encoding": prepared.table.info.encoding,
        "delimiter": prepared.table.delimiter,
    }


def _validate_pass(
    prepared: PreparedFile, results_path: Path | None, on_progress: ProgressCallback | None
) -> tuple[Summary, RowValidator, str | None, KeptResults | None]:
    """One pass over the file; also the file's SHA-256 when the split pass computed it, and
    the verdicts kept in memory for a DataFrame."""
    table = prepared.table
    validator = RowValidator(table.headers, prepared.columns, prepared.decisions, prepared.options)
    summary = Summary()
    done = 0
    digest = None
    writer = ResultsWriter(results_path, table.headers) if results_path else None
    kept = KeptResults() if isinstance(table, FrameTable) else None

    def progress(rows: int) -> None:
        nonlocal done
        done += rows
        if on_progress:
            on_progress(done, None, {k: v.rows for k, v in summary.by_status.items()})

    try:
        if writer and can_split(table, results_path):
            with paused_gc_block():
                digest = judge_split(table, validator, writer, summary, progress)
        else:
            for chunk in paused_gc(table.chunks()):
                checked = validator.check(chunk)
                checked.add_to(summary)
                if writer or kept is not None:
                    columns = checked.result_columns()
                    if writer:
                        writer.write_columns(chunk, checked.statuses, columns)
                    if kept is not None:
                        kept.add(checked, columns)
                progress(len(chunk.rows))
        if writer:
            if validator.majority_currency() not in (None, prepared.decisions.currency):
                writer.abort()  # validate() runs again with the corrected majority
            else:
                writer.commit()
    except BaseException:
        if writer:
            writer.abort()
        raise
    return summary, validator, digest, kept


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


__all__ = ["InputFileError", "ValidationReport", "validate", "prepare", "file_sha256"]
