"""The import job: one file taken step by step from opening to sending, for the CLI and the UI.

    open -> map -> decide (questions, answers) -> check -> rows / edits -> plan -> send -> report

Example::

    job = open_import("march.xlsx", out_dir="imports/march")
    job.apply_mapping({"purchase_amount": "Net amount"})
    for question in job.questions():
        job.answer(question.id, question.choices[0].value)
    report = job.check()
    page = job.rows(status="invalid", limit=20)

Every step is a method call; nothing prints. See docs/job-api.md for the contract.
"""

from __future__ import annotations

import contextlib
import dataclasses
import shutil
import tempfile
import threading
import weakref
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from importer.check.controls import (
    ExpectedTotal,
    check_control_totals,
    date_range_notes,
    expected_rows,
    expected_total_text,
    file_notes,
    parse_expected_total,
)
from importer.check.decisions import ColumnDecisions
from importer.check.mapping import (
    OPTION_NAMES,
    FieldMatch,
    Mapping,
    match_fields,
)
from importer.check.rowranges import LEFT_OUT
from importer.errors import ConfigurationError
from importer.job import edits as editing
from importer.job.checking import (
    PreparedFile,
    Source,
    as_source,
    check_all,
    check_results_path,
    mapping_notes,
    open_source,
    prepare_table,
    require_settled,
)
from importer.job.isolated import can_isolate, run_forked
from importer.job.leftout import LeftOut, parse_rows, refuse_rows_in_keen, refuse_rows_in_ledger
from importer.job.manifests import write_manifest
from importer.job.model import (
    Answer,
    CellEdit,
    CheckReport,
    ColumnDecision,
    ColumnValues,
    FileOverview,
    ProgressCallback,
    Question,
    ReportFiles,
    RowPage,
    RowSkip,
    RowView,
)
from importer.job.questions import column_decisions, option_for, to_question
from importer.job.readvalues import ReadValues
from importer.job.rowindex import RowIndex
from importer.job.rowstore import RowStore
from importer.job.values import MAX_SHOWN, count_values
from importer.read.frame import FrameTable, frame_name, is_frame
from importer.read.loader import Table
from importer.read.zipcheck import DEFAULT_MAX_WORKBOOK_MB
from importer.records import RowStatus
from importer.report.frames import KeptResults
from importer.report.outputs import OutputNames
from importer.report.publish import collecting_held_open
from importer.report.writable import check_writable

if TYPE_CHECKING:
    from importer.job.earlier import EarlierFiles
    from importer.job.known import KnownRows
    from importer.job.run import ImportPlan, ImportReport
    from importer.job.settings import SendSettings

SAMPLE_ROWS = 200  # rows read for the sample values of each column
SAMPLES_PER_COLUMN = 3
#: Options that change how the file is opened (the job opens it again).
OPENING_OPTIONS = ("sheet", "encoding", "delimiter")
CONTROL_OPTIONS = ("expect_rows", "expect_total", "results")
#: Options naming rows of this one file (never part of a mapping another file could reuse).
ROW_OPTIONS = ("skip_rows",)
#: How set_options checks a control option's value (the others are kept as given).
_CONTROL_CHECKS = {"expect_rows": expected_rows, "expect_total": expected_total_text}


def _same(value: Any) -> Any:
    return value


def open_import(
    source: Source,
    *,
    sheet: str | None = None,
    header_row: int | None = None,
    encoding: str | None = None,
    delimiter: str | None = None,
    max_xlsx_mb: int = DEFAULT_MAX_WORKBOOK_MB,
    out_dir: str | Path | None = None,
    name: str | None = None,
) -> ImportJob:
    """Open a CSV/TSV/TXT/XLSX/XLS file, or a pandas DataFrame, as an import job.

    Raises InputFileError (file checks, hostile files) exactly like :func:`importer.validate`.
    ``out_dir``: the folder for the results, manifest and created list (default:
    beside the input). A DataFrame (read as in importer.read.frame) is named by ``name``
    (default ``dataframe``) in those files' names; its results file is written only when the
    ``results`` option names one (the rows are kept in memory for ``results_frame()``).
    """
    mapping = Mapping(sheet=sheet, encoding=encoding, delimiter=delimiter)
    return ImportJob(
        as_source(source),
        mapping=mapping,
        header_row=header_row,
        max_xlsx_mb=max_xlsx_mb,
        out_dir=Path(out_dir) if out_dir is not None else None,
        name=name,
    )


class ImportJob:
    """One input file on its way into Keen. Create it with :func:`open_import`."""

    def __init__(
        self,
        source: Source,
        *,
        mapping: Mapping,
        header_row: int | None,
        max_xlsx_mb: int,
        out_dir: Path | None,
        name: str | None = None,
    ) -> None:
        self.source = source
        self.name = name
        self.max_xlsx_mb = max_xlsx_mb
        self.out_dir = out_dir
        self._mapping = mapping
        self._header_row = header_row
        self._controls: dict[str, Any] = {}
        self._answers: list[Answer] = []
        self._edits: list[CellEdit] = []
        self._left_out = LeftOut()  # rows left out on purpose (skip_rows, skip_rows())
        self._values: dict[tuple[str, int], ColumnValues] = {}  # column_values(), read once
        self._prepared: PreparedFile | None = None
        self._index: RowStore | None = None
        self._store_state: tuple[int, int] | None = None  # the indexed file's (inode, mtime)
        self._checked_edits = 0  # edits already in the results file
        self._reader: ReadValues | None = None  # what the cells of a page were read as
        self._scratch: Path | None = None
        self._sending = threading.Lock()
        self._stop: Any = None  # set while send() runs: stops it from any thread
        self._planned: Any = None
        self._last_pass: str | None = None  # "check" or "send": what wrote the results last
        self._cancelled = False
        self.last_check: CheckReport | None = None
        self.table = self._open()

    # -- opening ----------------------------------------------------------------------------

    @property
    def _store(self) -> RowStore | None:
        """The row index of the results file; its file's state is noted whenever it is set."""
        return self._index

    @_store.setter
    def _store(self, store: RowStore | None) -> None:
        self._index = store
        self._store_state = _file_state(store.path) if store is not None else None

    def _open(self) -> Table:
        if self._edits:
            # Edits name rows and columns of the file as it is read now.
            raise ConfigurationError(
                "cells were edited: the file cannot be read another way (sheet, header row, "
                "encoding, delimiter) now",
                hint="save the corrected copy with save_corrected() and open that instead",
            )
        if is_frame(self.source) and self._header_row not in (None, 1):
            raise ConfigurationError(
                "a DataFrame's header is its column labels: there is no other header row"
            )
        table = open_source(
            self.source,
            self._mapping,
            max_xlsx_mb=self.max_xlsx_mb,
            name=self.name,
            header_row=self._header_row,
        )
        self._overview = _overview(table)
        self._values.clear()
        self._forget_checks()
        return table

    def _forget_checks(self) -> None:
        self._planned = None
        self._prepared = None
        self._store = None
        self.last_check = None

    @property
    def overview(self) -> FileOverview:
        """The opened file: sheets, header row, headers and up to 3 sample values per column."""
        return self._overview

    def has_rows(self) -> bool:
        """True when the file holds a row below its header row (blank rows aside)."""
        with contextlib.closing(self.table.chunks(SAMPLE_ROWS)) as chunks:
            return any(chunk.rows for chunk in chunks)

    def choose_sheet(self, name: str) -> None:
        """Open another sheet of the workbook (the header row is looked for again)."""
        self._mapping = dataclasses.replace(self._mapping, sheet=name)
        self._header_row = None
        self.table = self._open()

    def choose_header_row(self, row: int) -> None:
        """Read the file with ``row`` (1-based, as the user sees it) as its header row."""
        self._header_row = row
        self.table = self._open()

    def choose_encoding(self, encoding: str | None) -> None:
        """Read the CSV file again as ``encoding`` (None: detect it), like ``--encoding``.

        Column choices whose header is still in the file are kept. When the file cannot be
        read that way (InputFileError) the job stays as it was.
        """
        if self._overview.encoding is None:
            raise ConfigurationError("only a CSV file has an encoding; a workbook has none")
        before = self._mapping
        self._mapping = dataclasses.replace(before, encoding=encoding)
        try:
            self.table = self._open()
        except Exception:
            self._mapping = before
            raise
        headers = set(self._overview.headers)
        kept = {f: c for f, c in before.columns.items() if not c or c in headers}
        self._mapping = dataclasses.replace(self._mapping, columns=kept)

    # -- mapping ----------------------------------------------------------------------------

    def suggest_mapping(self) -> list[FieldMatch]:
        """One match per Keen field (records.FIELDS order) with its confidence.

        A "values" match is a guess from the cells alone: it is never applied silently.
        """
        return match_fields(self._overview.headers, self._overview.samples, self._mapping.columns)

    def apply_mapping(self, mapping: Mapping | dict[str, str] | str | Path) -> None:
        """Use this mapping: a Mapping, a {field: column} dict ("" switches a field off) or the
        path of a TOML mapping file. Options it carries are laid over the job's."""
        loaded = Mapping.of(mapping)
        if isinstance(mapping, dict):
            new = dataclasses.replace(self._mapping, columns=loaded.columns)
        else:
            new = dataclasses.replace(self._mapping.merged(loaded), columns=dict(loaded.columns))
        self._use(new)
        self.columns  # noqa: B018 - a column that is not in the file fails here, not later

    def _use(self, mapping: Mapping) -> None:
        old = self._mapping
        self._mapping = mapping
        reopen = any(getattr(old, o) != getattr(mapping, o) for o in OPENING_OPTIONS)
        wanted = {c for c in mapping.columns.values() if c}
        if reopen or not wanted <= set(self._overview.headers):
            self.table = self._open()  # the mapping may also find a header below title rows
        else:
            self._forget_checks()

    @property
    def mapping(self) -> Mapping:
        """The mapping and options in force."""
        return self._mapping

    @property
    def columns(self) -> dict[str, str]:
        """Field -> header actually used (MappingError when the mapping does not fit the file)."""
        return self._prepare().columns

    @property
    def controls(self) -> dict[str, Any]:
        """The control options set with :meth:`set_options` (expect_rows, expect_total,
        results) and skip_rows, the rows left out now (``"3,5-6"``, as ``--skip-rows`` takes
        them; absent when none); the reading options are in :attr:`mapping`."""
        left_out = self.rows_left_out
        return {**self._controls, **({"skip_rows": left_out} if left_out else {})}

    def set_options(self, **options: Any) -> None:
        """Set reading and control options: decimal, day_first, timezone, period, trigger_ids,
        action, allow_precision, allow_duplicates, no_amount, no_date, skip_hidden, keep_null,
        where, sheet, encoding, delimiter, expect_rows, expect_total, results (the results
        file's path), skip_rows (``"3,5-6"``: these rows are left out, like ``--skip-rows``;
        it replaces the rows of an earlier skip_rows option, not those of :meth:`skip_rows`)."""
        known = OPTION_NAMES + CONTROL_OPTIONS + ROW_OPTIONS
        unknown = sorted(set(options) - set(known))
        if unknown:
            raise ConfigurationError(
                f"unknown option {unknown[0]!r}", hint="known options: " + ", ".join(known)
            )
        # Every value is checked before any is taken: a refused one changes nothing.
        controls = {n: options.pop(n) for n in CONTROL_OPTIONS if n in options}
        controls = {n: _CONTROL_CHECKS.get(n, _same)(v) for n, v in controls.items()}
        skip = parse_rows(options.pop("skip_rows")) if "skip_rows" in options else None
        mapping = dataclasses.replace(self._mapping, **options) if options else None
        if skip is not None:
            self._left_out.option = skip
            self._left_out_changed()
        if controls:
            self._controls.update(controls)
            self.last_check = None  # a check under other controls says nothing of these
        if mapping is not None:  # only reading options make the file be mapped and scanned again
            self._use(mapping)

    # -- decisions and questions ------------------------------------------------------------

    def _prepare(self) -> PreparedFile:
        if self._prepared is None:
            self._prepared = self._with_left_out(prepare_table(self.table, self._mapping))
        return self._prepared

    def _with_left_out(self, prepared: PreparedFile) -> PreparedFile:
        """``prepared`` judging the rows left out now as skipped."""
        options = dataclasses.replace(
            prepared.options, skip_rows=self._left_out.rows, skip_reason=self._left_out.reason
        )
        return dataclasses.replace(prepared, options=options)

    def _left_out_changed(self) -> None:
        """Rows were left out or put back: the next check, plan and send judge them anew (the
        column decisions stand: they are taken from every row, left out or not)."""
        if self._prepared is not None:
            self._prepared = self._with_left_out(self._prepared)
        self._planned = None
        self.last_check = None

    def decisions(self) -> list[ColumnDecision]:
        """How the amount, date and currency columns are read, each with its evidence."""
        prepared = self._prepare()
        return column_decisions(prepared.decisions, prepared.columns)

    def questions(self) -> list[Question]:
        """The open ambiguities (empty when none); :meth:`check` refuses to run while any is."""
        return [to_question(a) for a in self._prepare().decisions.ambiguities]

    def answer(self, question_id: str, value: str) -> None:
        """Answer an open question (e.g. ``answer("day_first:Date", "day-first")``).

        The answer sets the same option as the CLI flag and is recorded in the manifest.
        """
        asked = {q.id: q for q in self.questions()}
        question = asked.get(question_id)
        if question is None:
            raise ConfigurationError(
                f"no open question {question_id!r}",
                hint="open questions: " + (", ".join(asked) or "none"),
            )
        name, option = option_for(question.kind, value)
        self._answers.append(Answer(question_id, value, datetime.now(UTC)))
        self._use(dataclasses.replace(self._mapping, **{name: option}))

    @property
    def answers(self) -> list[Answer]:
        """The answers given so far, oldest first."""
        return list(self._answers)

    # -- checking ---------------------------------------------------------------------------

    @property
    def results_path(self) -> Path:
        """Where the results file goes: ``<stem>.results.<ext>`` beside the input or in
        ``out_dir``; the ``results`` option names another file (relative: inside out_dir)."""
        chosen = self._controls.get("results")
        folder = self.out_dir
        if folder is None and self._mapping.out_dir:
            folder = Path(self._mapping.out_dir)
        if chosen:
            path = Path(chosen)
            if folder is not None and not path.is_absolute():
                path = folder / path
        elif isinstance(self.table, FrameTable):
            # Not written (see writes_results); names the manifest and created list.
            path = (folder or Path.cwd()) / f"{frame_name(self.name)}.results.csv"
        else:
            path = OutputNames.beside(self.table.path, self.table.info.kind, folder).results
        return path

    @property
    def output_names(self) -> OutputNames:
        """Every file this job writes: results, manifest, created list, corrected copy."""
        return OutputNames.around(self.results_path, self.table.path)

    @property
    def writes_results(self) -> bool:
        """False for a DataFrame without a ``results`` path: its verdicts stay in memory."""
        return bool(self._controls.get("results")) or not isinstance(self.table, FrameTable)

    def check(
        self,
        *,
        on_progress: ProgressCallback | None = None,
        index: bool = True,
        isolated: bool = False,
        write: bool = True,
    ) -> CheckReport:
        """Judge every row, write the results file and the manifest; return the totals.

        ``write=False`` writes neither (the verdicts stay in the report: a DataFrame checked
        without a results file). ``index=False`` skips the row index :meth:`rows` and
        :meth:`edit` read from (a one-shot check of a large file saves its build).
        ``isolated=True`` (for a process that stays up, such as the web app) judges a file of
        16 MB or more in a forked child on Linux, so its working memory goes back to the
        system when the check ends; without a progress callback only. Raises
        AmbiguousDataError while a question is open, ControlTotalError when
        ``expect_rows``/``expect_total`` do not match (the results are written first).
        """
        return self._check(on_progress=on_progress, index=index, write=write, isolated=isolated)

    @property
    def column_choices(self) -> ColumnDecisions:
        """The column decisions as the pipeline holds them (see :meth:`decisions`)."""
        return self._prepare().decisions

    def _check(
        self,
        *,
        on_progress: ProgressCallback | None,
        index: bool,
        write: bool,
        isolated: bool = False,
    ) -> CheckReport:
        prepared = self._prepare()
        require_settled(prepared, self._mapping)
        expected = self._expected_total()
        started = datetime.now(UTC)
        results = self.results_path
        check_results_path(results, self.table.path)
        write = write and self.writes_results
        if write:
            check_writable(self.output_names.run_files(dry_run=True), sending=False)
            results.parent.mkdir(parents=True, exist_ok=True)
        shadow = self._shadow_path(results, always=not write) if index else None
        kept = KeptResults() if isinstance(self.table, FrameTable) else None
        with collecting_held_open() as held:
            summary, digest, row_index = self._check_pass(
                prepared,
                results if write else None,
                shadow,
                kept,
                on_progress=on_progress,
                index=index,
                isolated=isolated,
            )
            if write:
                self._write_manifest("validate", summary, started, digest)
        self._checked_edits = len(self._edits)
        self._last_pass = "check" if write else self._last_pass
        notes = date_range_notes(summary, self.table.path, period=prepared.options.period)
        notes += mapping_notes(prepared) + file_notes(summary)
        rows_file = shadow or held.where(results)
        self._store = RowStore(rows_file, self.table.headers, row_index) if index else None
        notes += check_control_totals(
            summary, expect_rows=self._controls.get("expect_rows"), expect_total=expected
        )
        self.last_check = CheckReport(
            summary=summary,
            notes=notes,
            warnings_count=self._store.warning_counts() if self._store else {},
            exit_code=1 if summary.count(RowStatus.INVALID) else 0,
            results_path=held.where(results) if write else None,
            frame=getattr(self.table, "frame", None),
            kept=kept,
            prepared=prepared,
            held_open=held.messages(),
        )
        return self.last_check

    def _check_pass(self, prepared, results, shadow, kept, *, on_progress, index, isolated):
        """Judge every row (in a forked child when ``isolated`` and worth it); the summary,
        the file's SHA-256 when the pass computed it, and the row index when asked for."""
        row_index = RowIndex() if index else None
        prepared = self._with_edits(prepared)

        def judge() -> tuple:
            summary, digest = check_all(
                prepared,
                results,
                on_progress,
                shadow_path=shadow,
                allow_split=not self._edits,
                kept=kept,
                index=row_index,
            )
            return summary, digest, row_index, prepared.decisions.currency

        alone = on_progress is None and kept is None and isolated
        if alone and can_isolate(getattr(self.table, "path", None)):
            done, outcome = run_forked(judge)
            if done:
                summary, digest, row_index, prepared.decisions.currency = outcome
                return summary, digest, row_index
        summary, digest, row_index, _ = judge()
        return summary, digest, row_index

    def _shadow_path(self, results: Path, *, always: bool = False) -> Path | None:
        """A CSV copy of workbook results, in the job's scratch folder (rows are paged from it);
        ``always``: also for results that are not written to a file (a DataFrame's)."""
        if results.suffix.lower() not in (".xlsx", ".xlsm") and not always:
            return None
        if self._scratch is None:
            self._scratch = Path(tempfile.mkdtemp(prefix="keen-import-job-"))
            weakref.finalize(self, shutil.rmtree, self._scratch, True)
        return self._scratch / "rows.csv"

    def _with_edits(self, prepared: PreparedFile) -> PreparedFile:
        if not self._edits:
            return prepared
        table = editing.patched_table(prepared.table, self._edits)
        return dataclasses.replace(prepared, table=table)

    def _write_manifest(self, command: str, summary, started: datetime, digest: str | None) -> Path:
        return write_manifest(
            self._prepare(),
            self.output_names,
            command,
            summary,
            started,
            sha256=digest,
            writes_results=self.writes_results,
            audit=self._audit(),
        )

    def _expected_total(self) -> ExpectedTotal | None:
        """The ``expect_total`` control total, parsed (ConfigurationError when it is not)."""
        expected = self._controls.get("expect_total")
        return parse_expected_total(expected) if expected else None

    def _audit(self) -> dict[str, Any]:
        """Answers and edits, for the manifest."""
        return {
            "answers": [
                {"question": a.question_id, "answer": a.value, "at": a.at.isoformat()}
                for a in self._answers
            ],
            "edits": [
                {
                    "row": e.row,
                    "column": e.column,
                    "old": e.old,
                    "new": e.new,
                    "at": e.at.isoformat(),
                }
                for e in self._edits
            ],  # fmt: skip
            "skips": self._left_out.audit(),
        }

    def rows(
        self,
        *,
        offset: int = 0,
        limit: int = 100,
        status: str | None = None,
        warning: str | None = None,
        search: str | None = None,
    ) -> RowPage:
        """A page of row verdicts, optionally only rows with this status, a warning containing
        this text, or this text anywhere in the row (any case); after a send, the send's
        verdicts (created, rejected...). Read from disk: memory stays flat however large the
        file. Each row that passed the check carries what its mapped cells were read as
        (``RowView.read``: the amount, date, lead... as they are sent)."""
        page = self._rows_store().page(
            offset=offset, limit=limit, status=status, warning=warning, search=search
        )
        page.rows = self._read_values().add(page.rows)
        return page

    def _read_values(self) -> ReadValues:
        prepared = self._prepare()
        if self._reader is None or self._reader.prepared is not prepared:
            self._reader = ReadValues(prepared)
        return self._reader

    def show_known(self, found: KnownRows) -> None:
        """Show the valid rows the ledger would not send (``found``, see
        importer.job.known.known_rows with ``keep_rows``) as a run would give them: created or
        skipped with the earlier purchase's id, or held back with why, in :meth:`rows`,
        :meth:`status_counts` and the last check's totals (the results file keeps the check's
        verdicts: it is what ``validate`` writes)."""
        if self.last_check is None or not found.results:
            return
        self._rows_store().restate(found.results)
        summary = self.last_check.summary
        for row, result in found.results.items():
            currency, amount = found.money.get(row) or ("", None)
            summary.restate(str(RowStatus.VALID), str(result.status), currency, amount)

    def status_counts(self) -> dict[str, int]:
        """Rows per status as :meth:`rows` filters them (statuses without rows left out); from
        the row index, so they are those of the check or send whose results it pages."""
        return self._rows_store().status_counts()

    def _rows_store(self) -> RowStore:
        if self._store is None:
            raise ConfigurationError("the rows are not checked yet: call check() first")
        if _file_state(self._store.path) != self._store_state:
            self._reindex()
        return self._store

    def _reindex(self) -> None:
        """The results file was rewritten (by a send, an online check, another job or the
        CLI): its offsets changed, so the index is built again from the file as it is now."""
        path = self._store.path
        if not path.is_file():
            self._store = None
            raise ConfigurationError(f"the results file {path.name} is gone: call check() again")
        self._store = RowStore(path, self.table.headers)

    # -- editing ----------------------------------------------------------------------------

    def edit(self, row: int, column: str, value: str) -> RowView:
        """Correct one cell and re-check that row at once; returns its new verdict.

        The input file is never changed: :meth:`save_corrected` writes a corrected copy, and
        the next check or send reads the corrected value.
        """
        store = self._rows_store()
        index = store.index_of(row)
        before = store.view(index)
        if column not in before.cells:
            raise ConfigurationError(
                f"no column {column!r} in the file",
                hint="columns: " + ", ".join(repr(h) for h in self.table.headers),
            )
        cells = {**before.cells, column: value}
        view = editing.recheck_row(self._prepare(), row, cells)
        store.replace(index, view)
        self._edits.append(CellEdit(row, column, before.cells[column], value, datetime.now(UTC)))
        self._values.clear()
        return self._read_values().add([view])[0]

    @property
    def edits(self) -> list[CellEdit]:
        """Every cell edit made through the job, oldest first."""
        return list(self._edits)

    # -- rows left out ----------------------------------------------------------------------

    def skip_rows(
        self,
        rows: str | Iterable[int],
        *,
        reason: str = LEFT_OUT,
        api_url: str | None = None,
        target: str | None = None,
        ledger: str | Path | None = None,
    ) -> None:
        """Leave these rows out (``"3,5-6"`` or row numbers), like ``--skip-rows``: the next
        check, plan and send give them the status skipped with ``reason`` as their error.
        Each row is listed with its time in :attr:`skips` and the manifest; :meth:`check`
        gives the new totals.

        Refused (ConfigurationError) for a row the file does not have and for one that may be
        a purchase in Keen: created or unconfirmed in the results of the last check or send,
        or, when ``api_url`` is given, in the ledger of that target (``target`` and ``ledger``
        as for :meth:`plan`). The rows must be checked first.
        """
        wanted = parse_rows(rows)
        store = self._rows_store()
        positions = refuse_rows_in_keen(store, wanted)
        if api_url is not None:
            where = {"api_url": api_url, "target": target, "ledger": ledger}
            refuse_rows_in_ledger(self._prepare(), store, positions, **where)
        self._left_out.record(wanted, skipped=True, reason=reason)
        self._left_out_changed()

    def unskip_rows(self, rows: str | Iterable[int]) -> None:
        """Put rows left out back (each listed in :attr:`skips`); :meth:`check` judges them."""
        self._left_out.record(parse_rows(rows), skipped=False, reason="put back")
        self._left_out_changed()

    def restore_skips(self, skips: Iterable[RowSkip]) -> None:
        """Take up the skips of an earlier job of the same import (a front end that kept
        :attr:`skips`, opened again), without checking them again."""
        self._left_out.skips = list(skips)
        self._left_out_changed()

    def restore_edits(self, edits: Iterable[CellEdit]) -> None:
        """Take up the cell edits of an earlier job of the same import (a manifest's, the job
        opened again): the next check or send reads the corrected values."""
        self._edits = list(edits)
        self._forget_checks()

    @property
    def skips(self) -> list[RowSkip]:
        """Every row left out or put back through :meth:`skip_rows`, oldest first."""
        return list(self._left_out.skips)

    @property
    def rows_left_out(self) -> str:
        """The rows left out now, as ``--skip-rows`` takes them (``"3,5-6"``; "" for none)."""
        return str(self._left_out.rows)

    def column_values(self, column: str, *, limit: int = MAX_SHOWN) -> ColumnValues:
        """The ``limit`` most frequent values of ``column`` with their row counts (the choices
        of a ``where`` filter); the file is read once per column, edits included."""
        key = (column, limit)
        if key not in self._values:
            table = editing.patched_table(self.table, self._edits) if self._edits else self.table
            self._values[key] = count_values(table, column, limit=limit)
        return self._values[key]

    def save_corrected(self, path: Path | None = None) -> Path:
        """Write ``<stem>.corrected.<ext>`` (beside the results) with every edit applied; the
        input file is never changed."""
        if isinstance(self.table, FrameTable):
            raise ConfigurationError(
                "save_corrected() writes a corrected copy of a file; a DataFrame is corrected "
                "in the notebook (the edits are listed in job.edits)"
            )
        target = path or self.output_names.corrected(self.table.path, self.table.info.kind)
        return editing.write_corrected(self.table, self._edits, Path(target))

    # -- sending ----------------------------------------------------------------------------

    def plan(
        self,
        settings: SendSettings | None = None,
        /,
        *,
        earlier: EarlierFiles | None = None,
        **fields: Any,
    ) -> ImportPlan:
        """Check every row (nothing is sent) and say what :meth:`send` would send.

        ``settings`` say where and how to send (:class:`importer.SendSettings`: ``api_url`` and
        ``api_key`` at least); its fields may be given as keywords instead, or to change some
        (``job.plan(api_url=..., api_key=...)``). The proxy and CA bundle default to the
        mapping's. Raises AmbiguousDataError while a question is open, ControlTotalError when
        the control totals do not match, ConfigurationError for settings that cannot be used
        (no key, plain http to another machine, a proxy URL or CA bundle that does not work).
        ``earlier``: the purchases of the files planned before this one in the same command
        (:class:`importer.job.earlier.EarlierFiles`): their repeats are not counted as sent.
        """
        # The sending stack is imported on first use: validate starts faster without httpx.
        from importer.job.run import NAME_THE_FRAME, plan_job
        from importer.job.settings import SendSettings

        if settings is None:
            chosen = SendSettings(**fields)
        else:
            chosen = dataclasses.replace(settings, **fields)
        checked = chosen.with_mapping(self._mapping).checked()
        with self._sending:
            self._cancelled = False
        prepared = self.prepared_for_sending()
        if isinstance(prepared.table, FrameTable) and self.name is None:
            raise ConfigurationError(NAME_THE_FRAME)
        self._planned = plan_job(
            prepared,
            checked,
            self.output_names,
            expect_rows=self._controls.get("expect_rows"),
            expect_total=self._expected_total(),
            earlier=earlier,
        )
        return self._planned.plan

    def send(
        self,
        *,
        on_progress: ProgressCallback | None = None,
        resend_unconfirmed: bool = False,
        resend_changed: bool | None = None,
    ) -> ImportReport:
        """Send what :meth:`plan` planned; record it in the ledger; write the results, created
        list and manifest. :meth:`cancel` (from any thread) stops it like a first Ctrl-C; running
        the same job (or the same command) again resumes from the ledger. ``resend_changed``
        (default: as planned) sends rows an earlier run created with other content as new
        purchases. Raises NetworkError, with nothing sent, when a certificate or the proxy
        stops the first request."""
        from importer.job.run import send_job

        planned = self._planned
        if planned is None:
            raise ConfigurationError("nothing is planned yet: call plan() first")
        if resend_changed is not None and resend_changed != planned.settings.resend_changed:
            planned.settings = dataclasses.replace(planned.settings, resend_changed=resend_changed)
            planned.note_edited()
        shadow = self._shadow_path(self.results_path) if self.writes_results else None
        before = _file_state(shadow or self.results_path)
        try:
            report = send_job(
                planned,
                self.output_names,
                writes_results=self.writes_results,
                audit=self._audit(),
                on_progress=on_progress,
                resend_unconfirmed=resend_unconfirmed,
                on_stop_ready=self._stop_ready,
                shadow_path=shadow,
            )
        finally:
            if _file_state(shadow or self.results_path) != before:
                self._store = None  # the index pointed into the file the send replaced
        rows_file = shadow or report.results_path
        if rows_file is not None and rows_file.suffix.lower() == ".csv" and rows_file.is_file():
            self._store = RowStore(rows_file, self.table.headers)  # the send's verdicts
        self._last_pass = "send"
        return report

    def _stop_ready(self, stop: Any) -> None:
        with self._sending:
            self._stop = stop
            if stop is not None and self._cancelled:
                stop()

    def cancel(self) -> None:
        """Stop taking rows, let requests in flight finish, write the results (resumable).

        Thread-safe: call it from any thread or task while :meth:`send` runs; called before,
        the next send stops before its first request.
        """
        with self._sending:
            self._cancelled = True
            if self._stop is not None:
                self._stop()

    def prepared_for_sending(self) -> PreparedFile:
        """The mapped file with its decisions and edits (AmbiguousDataError while a question
        is open)."""
        prepared = self._prepare()
        require_settled(prepared, self._mapping)
        return self._with_edits(prepared)

    def write_reports(self) -> ReportFiles:
        """The files of the last check or send (ConfigurationError when this job did neither);
        after a check, cells edited since are checked again into its files (a send's files
        are its own record)."""
        unwritten = isinstance(self.table, FrameTable) and not self.writes_results
        if self._last_pass is None and unwritten:
            raise ConfigurationError(
                "a DataFrame's check writes no files: its verdicts are in results_frame()",
                hint="to have files, name the results file first: "
                "job.set_options(results='march.results.csv'), then check()",
            )
        if self._last_pass is None:
            # Never a silent check: the results on disk may be a send's (this job's file
            # resumed by the CLI, or an earlier server), and a check would overwrite them.
            raise ConfigurationError(
                "nothing to report yet: call check() or send() first",
                hint="the files of an earlier run are beside the input, or in out_dir",
            )
        if self._last_pass == "check" and self._checked_edits != len(self._edits):
            self.check()  # the check's own files, with the cells edited since
        if not self.writes_results:
            raise ConfigurationError(
                "a DataFrame's results file is written only when you name one, e.g. "
                "job.set_options(results='march.results.xlsx')"
            )
        names = self.output_names
        return ReportFiles(
            results=names.results,
            manifest=names.manifest,
            created=names.created if names.created.exists() else None,
        )


def _file_state(path: Path) -> tuple[int, int] | None:
    """(inode, modification time) of a file, None when it does not exist: a replaced file
    (written elsewhere, renamed into place) differs."""
    try:
        found = path.stat()
    except OSError:
        return None
    return found.st_ino, found.st_mtime_ns


def _overview(table: Table) -> FileOverview:
    """What the UI shows before mapping: headers and a few sample values per column."""
    samples: dict[str, list[str]] = {h: [] for h in table.headers}
    with contextlib.closing(table.chunks(SAMPLE_ROWS)) as chunks:
        first = next(chunks, None)
    for at, header in enumerate(table.headers if first is not None else ()):
        found = samples[header]
        for value in first.column(at):
            if len(found) == SAMPLES_PER_COLUMN:
                break
            if value.strip():
                found.append(value)
    return FileOverview(
        path=table.path,
        kind=table.info.kind,
        sheets=list(table.sheets),
        sheet=table.sheet,
        header_row=table.header_row,
        headers=list(table.headers),
        samples=samples,
        encoding=table.info.encoding,
        delimiter=table.delimiter,
    )
