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

from importer.check.controls import (
    check_control_totals,
    date_range_notes,
    file_notes,
    parse_expected_total,
    parse_period,
)
from importer.check.mapping import Mapping, match_fields, require_fields, resolve_columns
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
from importer.read.loader import Chunk, Table, column_samples, open_table
from importer.records import RowResult, RowStatus
from importer.report.manifest import build_manifest, file_sha256, manifest_path, write_json_atomic
from importer.report.results import ResultsWriter, default_results_path

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

    @property
    def exit_code(self) -> int:
        """0 when every non-blank row is valid (or skipped), 1 when some are invalid."""
        return 1 if self.summary.count(RowStatus.INVALID) else 0


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
        keep_null=bool(mapping.keep_null),
        skip_hidden=bool(mapping.skip_hidden),
        where=tuple(mapping.where),
    )


def prepare(
    path: str | Path, mapping: Mapping | None = None, *, max_xlsx_mb: int = 500
) -> PreparedFile:
    """Open ``path``, map its columns and settle how its amounts and dates are read."""
    mapping = mapping or Mapping()
    if mapping.decimal not in (None, ".", ","):
        raise ConfigurationError(f"--decimal must be '.' or ',', got {mapping.decimal!r}")
    table = open_table(
        path,
        sheet=mapping.sheet,
        encoding=mapping.encoding,
        delimiter=mapping.delimiter,
        max_xlsx_mb=max_xlsx_mb,
        header_hint=mapping.columns,
    )
    columns = resolve_columns(table.headers, mapping.columns)
    if not (mapping.no_amount and mapping.no_date) and not {"purchase_amount", "date"} <= set(
        columns
    ):
        matches = match_fields(table.headers, column_samples(table), mapping.columns)
        require_fields(
            matches,
            table.headers,
            no_amount=bool(mapping.no_amount),
            no_date=bool(mapping.no_date),
        )
    options = options_from(mapping)
    decisions = decide_columns(table, columns, options)
    return PreparedFile(table=table, columns=columns, options=options, decisions=decisions)


def mapping_notes(prepared: PreparedFile) -> list[str]:
    """Warnings about the mapping itself (a mapped column hidden in the workbook)."""
    fields = {header: name for name, header in prepared.columns.items()}
    return [
        f"warning: column {header!r} (mapped to {fields[header]}) is hidden in the workbook"
        for header in prepared.table.hidden_columns
        if header in fields
    ]


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


def validate(
    path: str | Path,
    mapping: Mapping | None = None,
    *,
    results: str | Path | None = None,
    write_results: bool = True,
    max_xlsx_mb: int = 500,
    expect_rows: int | None = None,
    expect_total: str | None = None,
    on_progress: ProgressCallback | None = None,
) -> ValidationReport:
    """Check every row of a CSV/XLSX file offline and write the results file.

    Example::

        report = validate("march.csv", Mapping(columns={"purchase_amount": "Net"}))
        report.summary.count(RowStatus.INVALID)
    """
    started = datetime.now(UTC)
    expected = parse_expected_total(expect_total) if expect_total else None
    prepared = prepare(path, mapping, max_xlsx_mb=max_xlsx_mb)
    table = prepared.table
    results_path = Path(results) if results else default_results_path(table.path, table.info.kind)
    check_results_path(results_path, table.path)
    while True:
        summary, validator, digest = _validate_pass(
            prepared, results_path if write_results else None, on_progress
        )
        majority = validator.majority_currency()
        if majority is None or majority == prepared.decisions.currency:
            break
        # The first chunk's currency was not the file's majority: judge the rows again.
        prepared.decisions.currency = majority
    notes = date_range_notes(summary, table.path, period=prepared.options.period)
    notes += mapping_notes(prepared) + file_notes(summary)
    if write_results:
        write_json_atomic(
            manifest_path(results_path, table.path),
            build_manifest(
                command="validate",
                source=table.path,
                sha256=digest or file_sha256(table.path),
                sheet=table.sheet,
                columns=prepared.columns,
                options=options_dict(prepared),
                api_url=None,
                started=started,
                finished=datetime.now(UTC),
                summary=summary,
                results_path=results_path,
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
        "encoding": prepared.table.info.encoding,
        "delimiter": prepared.table.delimiter,
    }


def _validate_pass(
    prepared: PreparedFile, results_path: Path | None, on_progress: ProgressCallback | None
) -> tuple[Summary, RowValidator, str | None]:
    """One pass over the file; also the file's SHA-256 when the split pass computed it."""
    table = prepared.table
    validator = RowValidator(table.headers, prepared.columns, prepared.decisions, prepared.options)
    summary = Summary()
    done = 0
    digest = None
    writer = ResultsWriter(results_path, table.headers) if results_path else None

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
                if writer:
                    writer.write_columns(chunk, checked.statuses, checked.result_columns())
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


__all__ = ["InputFileError", "ValidationReport", "validate", "prepare", "file_sha256"]
