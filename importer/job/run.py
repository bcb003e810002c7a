"""Planning and sending a job (ImportJob.plan and send): validate, preflight, send exactly
once where the API allows it, reconcile. The one-call form, run_import(), is in oneshot.py.

    plan pass:  loader -> validator                    (counts and totals; nothing sent)
    send pass:  loader -> validator -> ledger -> preflight -> sender (+ ledger) -> results

The file is read twice so that a million-row import never holds every row in memory: the first
pass gives the totals a user confirms before anything is sent, the second sends chunk by chunk
and writes results in input order. A resumed run reads its earlier answers from the ledger.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from importer.check.controls import (
    ExpectedTotal,
    check_control_totals,
    date_range_notes,
    file_notes,
)
from importer.check.summary import Summary, Totals
from importer.check.validator import RowValidator
from importer.errors import InputFileError, KeenImportError, ProgressCallbackError
from importer.job.adopt import adopt_journal, journals_of
from importer.job.changedrows import edited_note
from importer.job.checking import (
    PreparedFile,
    check_results_path,
    mapping_notes,
    paused_gc,
    revise_decisions,
    source_facts,
)
from importer.job.earlier import EarlierFiles
from importer.job.known import KnownRows, LedgerScan, ledger_look
from importer.job.manifests import write_manifest
from importer.job.model import ProgressCallback
from importer.job.sendpass import SOURCE_CHANGED, SendPass, file_stat
from importer.job.settings import SendSettings, check_api_url
from importer.job.writes import WriteFailed, write_failure, writing
from importer.ledger import Ledger
from importer.ledger.location import is_loopback, ledger_for
from importer.read.frame import FrameTable
from importer.records import RowStatus, format_instant
from importer.report.frames import KeptResults, results_frame, summary_frame
from importer.report.outputs import OutputNames
from importer.report.publish import collecting_held_open
from importer.report.writable import check_writable
from importer.send.changed import EditedRow
from importer.send.credentials import DEFAULT_API_URL
from importer.send.sender import SendReport

if TYPE_CHECKING:
    from importer.job.importjob import ImportJob


NAME_THE_FRAME = (
    "name the DataFrame, e.g. run_import(df, name='march', ...) or open_import(df, "
    "name='march'): the name is how the ledger tells a re-run of this import from another "
    "import, and names its results, manifest and created list"
)


class Cancelled(KeenImportError):
    """The user answered no at the confirmation prompt; nothing was sent."""

    exit_code = 1

    def __init__(self, message: str = "cancelled: nothing was sent") -> None:
        super().__init__(message)


@dataclass
class ImportPlan:
    """What is about to be sent: shown to the user before the first request."""

    path: Path
    api_url: str
    summary: Summary
    valid_rows: int
    notes: list[str] = field(default_factory=list)
    #: Valid rows an earlier run created with other content (not sent without resend_changed).
    edited_rows: int = 0
    #: Valid rows the ledger holds as created (by this file's earlier runs or other imports).
    already_imported: int = 0
    #: Valid rows the ledger holds back by status (see importer.job.known.KnownRows.held).
    held_back: dict[str, int] = field(default_factory=dict)
    #: Valid rows that are purchases of a file sent before this one by the same command.
    repeated: int = 0
    #: The line counting the rows the ledger holds back, worded for a send without and with
    #: resend_unconfirmed (False, True): see :meth:`notes_for`.
    held_notes: dict[bool, str] = field(default_factory=dict)
    #: Amounts per currency of valid rows not sent: "created", each held-back status, and
    #: "edited" unless they are resent (see PlannedRun.note_edited).
    not_sent_amounts: dict[str, dict[str, Decimal]] = field(default_factory=dict)

    def notes_for(self, *, resend_unconfirmed: bool = False) -> list[str]:
        """The plan's notes with the held-back line worded for a send with or without
        ``resend_unconfirmed`` (the unconfirmed rows are then sent, not held)."""
        worded = set(self.held_notes.values())
        notes = [note for note in self.notes if note not in worded]
        held = self.held_notes.get(resend_unconfirmed)
        return notes + [held] if held else notes

    @property
    def rows_to_send(self) -> int:
        """The valid rows this send will send: not those already created, nor edited rows or
        rows the ledger holds back (rows with a legacy lead id count: only sending can
        identify them)."""
        return self.rows_sent()

    def rows_sent(self, *, resend_unconfirmed: bool = False) -> int:
        """The valid rows a send will send; with ``resend_unconfirmed`` the unconfirmed rows
        go out again too."""
        held = sum(self.held_back.values())
        if resend_unconfirmed:
            held -= self.held_back.get(str(RowStatus.UNCONFIRMED), 0)
        held += self.already_imported + self.edited_rows + self.repeated
        return max(0, self.valid_rows - held)

    @property
    def to_this_machine(self) -> bool:
        """True when the rows go to a server on this machine (the sandbox, a test server)."""
        return is_loopback(self.api_url)

    @property
    def amounts(self):
        """Amounts of the valid rows per currency."""
        totals = self.summary.by_status.get(str(RowStatus.VALID))
        return dict(totals.amounts) if totals else {}

    def amounts_sent(self, *, resend_unconfirmed: bool = False) -> dict[str, Decimal]:
        """Amounts per currency of the rows a send will send (see :meth:`rows_sent`)."""
        left = dict(self.amounts)
        for kind, amounts in self.not_sent_amounts.items():
            if resend_unconfirmed and kind == str(RowStatus.UNCONFIRMED):
                continue
            for code, value in amounts.items():
                left[code] = left.get(code, Decimal(0)) - value
        # A currency whose rows are all held back leaves a 0.00 that no row sends ("+ 0.00 USD").
        return {code: value for code, value in left.items() if value}


@dataclass
class ImportReport:
    """What run_import() did."""

    path: Path
    results_path: Path | None  # None: a DataFrame imported without a results file
    ledger: str | None  # the ledger used (a path, or a URL without its password)
    api_url: str
    columns: dict[str, str]
    summary: Summary
    plan: ImportPlan
    dry_run: bool = False
    requests: int = 0
    duration: float = 0.0
    auth_failed: bool = False
    interrupted: bool = False
    outage: str | None = None  # sending stopped: the API stayed unreachable (SendReport.outage)
    write_error: str | None = None  # sending stopped: this file could not be written
    sent_this_run: int = 0
    #: Rows skipped because another import already created their purchase (their amounts).
    already_imported: Totals = field(default_factory=Totals)
    created_path: Path | None = None
    send_reports: list[SendReport] = field(default_factory=list)
    #: Files written beside their usual name, which another program held open (one line each).
    held_open: list[str] = field(default_factory=list)
    frame: Any = field(default=None, repr=False)  # the DataFrame imported, if one was
    kept: KeptResults | None = field(default=None, repr=False)
    prepared: Any = field(default=None, repr=False)  # reads a file's results back

    def results_frame(self) -> Any:
        """The imported DataFrame plus the result columns: status, purchase_id, error, ...,
        and the amount sent as a Decimal (see importer.report.frames)."""
        return results_frame(
            self.frame, self.kept, results_path=self.results_path, prepared=self.prepared
        )

    def summary_frame(self) -> Any:
        """Rows and amounts per status and currency, as a DataFrame (amounts as Decimal)."""
        return summary_frame(self.summary)

    @property
    def nothing_to_send(self) -> bool:
        """True when a real run sent no request (everything was done before)."""
        return not self.dry_run and self.sent_this_run == 0

    @property
    def stopped(self) -> bool:
        """True when sending stopped before its end: Ctrl-C, a refused key, the API
        unreachable, a file that could not be written (each says so in a line of its own)."""
        return bool(self.interrupted or self.auth_failed or self.outage or self.write_error)

    @property
    def exit_code(self) -> int:
        """0 every valid row created; 1 some not; 2 auth failure or a file not written;
        130 interrupted."""
        if self.auth_failed or self.write_error:
            return 2
        if self.interrupted:
            return 130
        unfinished = sum(
            self.summary.count(s)
            for s in (
                RowStatus.REJECTED,
                RowStatus.RETRIED,
                RowStatus.UNCONFIRMED,
                RowStatus.NOT_SENT,
                RowStatus.INVALID,
            )
        )
        return 1 if unfinished else 0

    @property
    def requests_per_second(self) -> float:
        """Requests of this run per second of its duration."""
        return self.requests / self.duration if self.duration > 0 else 0.0


def already_imported(
    job: ImportJob,
    *,
    api_url: str = DEFAULT_API_URL,
    target: str | None = None,
    ledger: str | Path | None = None,
    required: bool = False,
    dates: tuple[datetime | None, datetime | None] | None = None,
    earlier: EarlierFiles | None = None,
) -> str:
    """One line for people: how many valid rows of the job's file are new, and how many the
    ledger of ``api_url`` (or ``ledger``) holds as created, from which files. Nothing is sent or
    claimed. A ledger that cannot be read is said plainly (LedgerError when ``required``).
    ``dates``: the file's first and last purchase date (a check's summary has them): when the
    ledger holds nothing dated between them, the file is not read again. ``earlier``: the
    purchases of the files checked before this one in the same command (their repeats are
    said; this file's are added)."""
    url = check_api_url(api_url, insecure=True)
    location = ledger_for(url, target=target, ledger=ledger)
    between = None
    if dates and dates[0] is not None and dates[1] is not None:
        between = (format_instant(dates[0]), format_instant(dates[1]))
    prepared = job.prepared_for_sending()
    return ledger_look(
        prepared, location, target or url, required=required, between=between, earlier=earlier
    )[0]


def plan_import(
    prepared: PreparedFile,
    api_url: str,
    validator: RowValidator,
    scan: LedgerScan | None = None,
) -> ImportPlan:
    """Validate the whole file once (no records kept) to count what would be sent; ``scan``
    (a validator building records) also looks at what the ledger holds of each chunk."""
    summary = Summary()
    for chunk in paused_gc(prepared.table.chunks()):
        checked = validator.check(chunk)
        checked.add_to(summary)
        if scan is not None:
            scan.add(checked, validator)
    return ImportPlan(
        path=prepared.table.path,
        api_url=api_url,
        summary=summary,
        valid_rows=summary.count(RowStatus.VALID),
    )


@dataclass
class PlannedRun:
    """A checked file and the settings it will be sent with (made by :func:`plan_job`)."""

    settings: SendSettings
    plan: ImportPlan
    prepared: PreparedFile
    started_at: datetime
    edited: dict[int, EditedRow] = field(default_factory=dict)
    #: Amounts per currency of the edited rows.
    edited_amounts: dict[str, Decimal] = field(default_factory=dict)
    #: The source's SHA-256 when it was checked: a send refuses a source changed since.
    source_sha256: str | None = None
    #: A file's (size, mtime) then: the send stops at a chunk read after the file changed.
    source_stat: tuple[int, int] | None = None
    #: The ledger's newest purchase row when the plan began (see _edits_found_again).
    newest_claim: int | None = None

    def note_edited(self) -> None:
        """Put the line counting the edited rows (worded for ``resend_changed``) in the plan,
        and their amounts among those not sent unless they are resent."""
        plan = self.plan
        earlier = {edited_note(plan.edited_rows, resend_changed=flag) for flag in (True, False)}
        plan.notes = [note for note in plan.notes if note not in earlier]
        plan.edited_rows = len(self.edited)
        plan.not_sent_amounts.pop("edited", None)
        if self.edited_amounts and not self.settings.resend_changed:
            plan.not_sent_amounts["edited"] = dict(self.edited_amounts)
        if self.edited:
            resend = self.settings.resend_changed
            plan.notes.append(edited_note(plan.edited_rows, resend_changed=resend))


def plan_job(
    prepared: PreparedFile,
    settings: SendSettings,
    names: OutputNames,
    *,
    expect_rows: int | None = None,
    expect_total: ExpectedTotal | None = None,
    earlier: EarlierFiles | None = None,
) -> PlannedRun:
    """Check every row of a prepared file (nothing sent) and count what would be sent.

    ``settings`` come checked (:meth:`SendSettings.checked`); ``names`` are the files the run
    writes (each must be writable now); ``expect_rows`` and ``expect_total`` are the control
    totals (ControlTotalError when they differ). The ledger is opened (LedgerError when it
    cannot be: nothing is sent) and adopts the input's old journals on a real run.
    ``earlier``: the purchases of the files planned before this one in the same command (their
    repeats in this file are not counted as sent; this file's purchases are added).
    """
    started_at = datetime.now(UTC)
    # Taken before the read that checks the rows: a change made during it is seen at sending.
    table = prepared.table
    source_stat = None if isinstance(table, FrameTable) else file_stat(table.path)
    checked_sha256 = source_facts(table)[0]
    check_results_path(names.results, table.path)
    check_writable(names.run_files(dry_run=settings.dry_run))
    with Ledger.open(settings.ledger_location()) as ledger:  # unreachable: stop, nothing sent
        adopted = (
            []
            if settings.dry_run
            else adopt_journals(prepared, names.results, ledger, checked_sha256)
        )
        newest_claim = ledger.newest_claim()
        plan, scan = _plan_pass(prepared, settings, ledger, earlier)
        edited, known = scan.finish() if scan is not None else ({}, None)
    plan.notes = date_range_notes(plan.summary, prepared.table.path, period=prepared.options.period)
    plan.notes += mapping_notes(prepared) + file_notes(plan.summary) + adopted
    plan.notes += check_control_totals(
        plan.summary, expect_rows=expect_rows, expect_total=expect_total
    )
    planned = PlannedRun(
        settings=settings,
        plan=plan,
        prepared=prepared,
        started_at=started_at,
        source_sha256=checked_sha256,
        source_stat=source_stat,
        newest_claim=newest_claim,
    )
    planned.edited = edited
    planned.edited_amounts = dict(scan.edited_amounts) if scan is not None else {}
    if known is not None:
        _note_known(plan, known)
    planned.note_edited()
    return planned


def _edits_found_again(planned: PlannedRun) -> None:
    """Look for the edited rows again when another import claimed purchases of the target
    since the plan: the files of one command are all checked before the first is sent, so a
    corrected re-export checked beside the original would otherwise be sent as a second
    purchase. A dry run sends nothing: its plan stands."""
    settings = planned.settings
    if settings.dry_run or planned.newest_claim is None:
        return
    with Ledger.open(settings.ledger_location()) as ledger:
        if not ledger.claimed_since(settings.ledger_target, planned.newest_claim):
            return
        scan = LedgerScan(planned.prepared, ledger, settings.ledger_target)
        plan_import(
            planned.prepared, settings.api_url, planned.prepared.validator(build_records=True), scan
        )
        planned.edited, _ = scan.finish()
    planned.edited_amounts = dict(scan.edited_amounts)
    planned.note_edited()


def _note_known(plan: ImportPlan, known: KnownRows) -> None:
    """What the ledger holds of the file's rows, in the plan: counts, lines and amounts."""
    if known.known:
        plan.already_imported = known.known
        plan.notes.append(known.note())
    if known.repeated:
        plan.repeated = sum(known.repeated.values())
        plan.notes.append(known.repeats_note())
    if known.held:
        plan.held_back = dict(known.held)
        plan.held_notes = {flag: known.held_note(resend_unconfirmed=flag) for flag in (True, False)}
        plan.notes.append(plan.held_notes[False])
    plan.not_sent_amounts = {kind: dict(sums) for kind, sums in known.amounts.items()}


def _plan_pass(
    prepared: PreparedFile, settings: SendSettings, ledger: Ledger, earlier: EarlierFiles | None
) -> tuple[ImportPlan, LedgerScan | None]:
    """The plan's read of the file; when the ledger holds purchases of the target (or
    ``earlier`` files of the command were planned), the same read finds the edited rows and
    the rows already imported (no second read)."""
    target = settings.ledger_target
    scanning = earlier is not None or ledger.holds(target)
    while True:
        validator = prepared.validator(build_records=scanning)
        scan = LedgerScan(prepared, ledger, target, earlier) if scanning else None
        plan = plan_import(prepared, settings.api_url, validator, scan)
        if not revise_decisions(prepared, validator):
            return plan, scan


def adopt_journals(
    prepared: PreparedFile, results_path: Path, ledger: Ledger, sha256: str
) -> list[str]:
    """Take the old per-file journals of this input (whose SHA-256 is ``sha256``) into the
    ledger; the plan's lines."""
    notes = []
    for journal in journals_of(prepared, results_path.parent):
        adopted = adopt_journal(prepared, journal, ledger, sha256)
        notes.append(f"took {adopted:,} purchases of {journal.name} into the ledger")
    return notes


def _changed_since_checked(planned: PlannedRun) -> tuple[str, bool]:
    """The source's SHA-256, and whether it is another than the plan checked: a file saved
    again since has every row ``not_sent`` naming why (one file of a folder: the others are
    sent, and exit 2 keeps meaning nothing was sent). A DataFrame changed since raises
    InputFileError (nothing sent)."""
    table = planned.prepared.table
    sha256 = source_facts(table)[0]
    changed = planned.source_sha256 not in (None, sha256)
    if changed and isinstance(table, FrameTable):
        raise InputFileError(
            f"DataFrame {table.name!r} changed after it was checked: nothing was sent",
            path=table.path,
            hint="check it again (call plan() again), so that what is sent is what was checked",
        )
    return sha256, changed


def send_job(
    planned: PlannedRun,
    names: OutputNames,
    *,
    writes_results: bool,
    audit: dict[str, Any],
    on_progress: ProgressCallback | None = None,
    resend_unconfirmed: bool = False,
    on_stop_ready=None,
    shadow_path: Path | None = None,
) -> ImportReport:
    """Send a planned file, then write its manifest (with ``audit``: answers, edits, rows
    left out). ``names``: the run's files (the results file only when ``writes_results``);
    ``on_stop_ready`` receives the callable that stops the send from any thread (None once the
    send is over); ``shadow_path``: a CSV copy of workbook results, which the job pages rows
    from."""
    settings, prepared = planned.settings, planned.prepared
    names.results.parent.mkdir(parents=True, exist_ok=True)
    sha256, changed = _changed_since_checked(planned)
    if not changed:  # a changed file sends nothing: no edit to look for
        _edits_found_again(planned)
    planned.plan.notes = planned.plan.notes_for(resend_unconfirmed=resend_unconfirmed)
    report = _new_report(planned, names.results)
    report.outage = SOURCE_CHANGED if changed else None  # stops before the first chunk
    started = time.perf_counter()
    sending = SendPass(
        prepared,
        report,
        settings,
        resend_unconfirmed=resend_unconfirmed,
        on_progress=on_progress,
        total=planned.plan.summary.in_file.rows,
        on_stop_ready=on_stop_ready,
        write_results=writes_results,
        shadow_path=shadow_path,
        edited=planned.edited,
        file_sha256=sha256,
        look_up_first=planned.plan.already_imported > 0,
        source_stat=planned.source_stat,
    )
    with collecting_held_open() as held:
        with contextlib.suppress(WriteFailed):  # reported below, once the manifest is tried
            _run_async(sending.run())
        report.duration = time.perf_counter() - started
        report.results_path = held.where(report.results_path) if writes_results else None
        report.created_path = held.where(report.created_path)
        with contextlib.suppress(WriteFailed), writing(report, f"the manifest {names.manifest}"):
            write_run_manifest(
                report,
                planned,
                names,
                sha256,
                writes_results=writes_results,
                audit=audit,
                resend_unconfirmed=resend_unconfirmed,
            )
    report.held_open = held.messages()
    if report.write_error:
        raise write_failure(report)
    if (failed := sending.progress.failed) is not None:
        raise ProgressCallbackError(report) from failed
    return report


def _new_report(planned: PlannedRun, results_path: Path) -> ImportReport:
    """The report of a send about to start: nothing counted yet."""
    table = planned.prepared.table
    return ImportReport(
        path=table.path,
        results_path=results_path,
        ledger=None,
        api_url=planned.settings.api_url,
        columns=planned.prepared.columns,
        summary=Summary(),
        plan=planned.plan,
        dry_run=planned.settings.dry_run,
        frame=getattr(table, "frame", None),
        kept=KeptResults() if isinstance(table, FrameTable) else None,
        prepared=planned.prepared,
    )


def write_run_manifest(
    report: ImportReport,
    planned: PlannedRun,
    names: OutputNames,
    sha256: str,
    *,
    writes_results: bool,
    audit: dict[str, Any],
    resend_unconfirmed: bool,
) -> Path:
    """The manifest of a send (no key): options, counts, files, answers and edits."""
    settings = planned.settings
    return write_manifest(
        planned.prepared,
        names,
        "run --dry-run" if report.dry_run else "run",
        report.summary,
        planned.started_at,
        sha256=sha256,
        writes_results=writes_results,
        audit=audit,
        api_url=settings.api_url,
        options=settings.manifest_options(resend_unconfirmed),
        target=settings.ledger_target,
        requests=report.requests,
        created_list=str(report.created_path) if report.created_path else None,
        ledger=report.ledger,
        exit_code=report.exit_code,
    )


def _run_async(coroutine) -> None:
    """Run the send to its end on an event loop of its own: in this thread, or on a worker
    thread this one waits for when this thread already runs a loop (a Jupyter cell, an async
    web app), which cannot run a second one."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        with asyncio.Runner(loop_factory=_loop_factory()) as runner:
            runner.run(coroutine)
        return
    _run_on_worker(coroutine)


def _loop_factory():
    """uvloop when it is installed (a third less client CPU per request), else asyncio's."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency on Linux/macOS
        return None
    return uvloop.new_event_loop


class _SendThread(threading.Thread):
    """Runs a coroutine on a loop of its own, in the context of the thread that started it
    (the held-open collector is a context variable)."""

    def __init__(self, coroutine) -> None:
        super().__init__(name="keen-import-send", daemon=True)
        self.coroutine = coroutine
        self.context = contextvars.copy_context()
        self.started_task = threading.Event()
        self.done = threading.Event()
        self.task: asyncio.Task | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            with asyncio.Runner(loop_factory=_loop_factory()) as runner:
                runner.run(self._main(), context=self.context)
        except BaseException as exc:  # handed to the waiting thread
            self.error = exc
        finally:
            self.started_task.set()
            self.done.set()

    async def _main(self) -> None:
        self.task = asyncio.current_task()
        self.loop = asyncio.get_running_loop()
        self.started_task.set()
        await self.coroutine

    def cancel(self) -> None:
        """Cancel the coroutine, as asyncio.Runner does on Ctrl-C in the main thread."""
        self.started_task.wait()
        if self.task is not None and self.loop is not None:
            with contextlib.suppress(RuntimeError):  # the loop already closed: nothing to stop
                self.loop.call_soon_threadsafe(self.task.cancel)


def _run_on_worker(coroutine) -> None:
    """Run ``coroutine`` on a :class:`_SendThread` and wait for it. A KeyboardInterrupt while
    waiting cancels the send (its results are written as after Ctrl-C without a loop) and is
    raised once the thread is done; the thread's own exception is raised here."""
    worker = _SendThread(coroutine)
    worker.start()
    interrupted = False
    while not worker.done.is_set():
        try:
            worker.done.wait(0.25)  # a timeout keeps the wait interruptible on Windows
        except KeyboardInterrupt:
            interrupted = True
            worker.cancel()
    worker.join()
    if interrupted:
        raise KeyboardInterrupt
    if worker.error is not None:
        raise worker.error
