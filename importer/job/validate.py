"""validate(): the one-call offline check, built on the import job. It never prints."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from importer.check.decisions import ColumnDecisions
from importer.check.mapping import Mapping
from importer.check.summary import VALIDATE_ORDER, Summary
from importer.job.checking import Source, prepare
from importer.job.importjob import ImportJob, open_import
from importer.job.model import FramesOfReport, ProgressCallback
from importer.read.zipcheck import DEFAULT_MAX_WORKBOOK_MB
from importer.records import RowStatus
from importer.report.frames import KeptResults
from importer.report.manifest import file_sha256

__all__ = [
    "VALIDATE_ORDER",
    "ValidationReport",
    "file_sha256",
    "open_mapped",
    "prepare",
    "validate",
]


@dataclass
class ValidationReport(FramesOfReport):
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
    prepared: Any = field(default=None, repr=False)  # reads a file's results back

    @property
    def exit_code(self) -> int:
        """0 when every non-blank row is valid (or skipped), 1 when some are invalid."""
        return 1 if self.summary.count(RowStatus.INVALID) else 0


def open_mapped(
    path: Source,
    mapping: Mapping | dict[str, str] | str | Path | None = None,
    *,
    max_xlsx_mb: int = DEFAULT_MAX_WORKBOOK_MB,
    out_dir: str | Path | None = None,
    name: str | None = None,
) -> ImportJob:
    """An import job with ``mapping`` (columns and options, as the CLI builds it; or a
    {field: column} dict, or a TOML mapping file's path) applied."""
    mapping = Mapping.of(mapping)
    job = open_import(
        path,
        sheet=mapping.sheet,
        encoding=mapping.encoding,
        delimiter=mapping.delimiter,
        max_xlsx_mb=max_xlsx_mb,
        out_dir=out_dir,
        name=name,
    )
    job.apply_mapping(mapping)
    return job


def validate(
    path: Source,
    mapping: Mapping | dict[str, str] | str | Path | None = None,
    *,
    name: str | None = None,
    results: str | Path | None = None,
    write_results: bool = True,
    max_xlsx_mb: int = DEFAULT_MAX_WORKBOOK_MB,
    expect_rows: int | None = None,
    expect_total: str | None = None,
    on_progress: ProgressCallback | None = None,
    out_dir: str | Path | None = None,
) -> ValidationReport:
    """Check every row of a CSV/XLSX file (or a pandas DataFrame) offline; write the results.

    A DataFrame is read under the same rules as a file (see importer.read.frame); ``name``
    (default ``dataframe``) names its files, and its results file and manifest are written
    only when ``results`` is given. ``report.results_frame()`` gives its rows with verdicts.

    The one-call form of ``open_import(...)``, ``apply_mapping(...)``, ``check()``; an open
    question raises AmbiguousDataError naming the option that answers it.

    Example::

        report = validate("march.csv", Mapping(columns={"purchase_amount": "Net"}))
        report.summary.count(RowStatus.INVALID)
    """
    job = open_mapped(path, mapping, max_xlsx_mb=max_xlsx_mb, out_dir=out_dir, name=name)
    job.set_options(results=results, expect_rows=expect_rows, expect_total=expect_total)
    checked = job.check(on_progress=on_progress, index=False, write=write_results)
    table = job.table
    return ValidationReport(
        path=table.path,
        results_path=checked.results_path if write_results else None,
        columns=job.columns,
        decisions=job.column_choices,
        summary=checked.summary,
        sheet=table.sheet,
        encoding=table.info.encoding,
        delimiter=table.delimiter,
        header_row=table.header_row,
        warnings=checked.notes,
        frame=checked.frame,
        kept=checked.kept,
        prepared=checked.prepared,
    )
