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
import time
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from importer.check.controls import date_range_notes, file_notes
from importer.check.mapping import Mapping
from importer.check.summary import Summary, Totals
from importer.check.validator import RowValidator
from importer.errors import ConfigurationError, KeenImportError
from importer.job.adopt import adopt_journal, journals_of
from importer.job.changedrows import edited_note
from importer.job.checking import (
    PreparedFile,
    check_results_path,
    mapping_notes,
    paused_gc,
    source_facts,
)
from importer.job.known import LedgerScan, ledger_note
from importer.job.model import ProgressCallback
from importer.job.sendpass import SendPass
from importer.job.writes import WriteFailed, write_failure, writing
from importer.ledger import Ledger, LedgerLocation
from importer.ledger.location import is_loopback, ledger_for
from importer.read.frame import FrameTable
from importer.records import RowStatus, format_instant
from importer.report.frames import KeptResults, results_frame, summary_frame
from importer.report.publish import collecting_held_open
from importer.report.writable import check_writable
from importer.send.changed import EditedRow
from importer.send.client import DEFAULT_BASE_URL
from importer.send.network import NetworkSettings, network_settings
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
    #: Amounts per currency of valid rows not sent: "created" and each held-back status.
    not_sent_amounts: dict[str, dict[str, Decimal]] = field(default_factory=dict)

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
        return max(0, self.valid_rows - self.already_imported - self.edited_rows - held)

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
        return left


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
    api_url: str = DEFAULT_BASE_URL,
    target: str | None = None,
    ledger: str | Path | None = None,
    required: bool = False,
    dates: tuple[datetime | None, datetime | None] | None = None,
) -> str:
    """One line for people: how many valid rows of the job's file are new, and how many the
    ledger of ``api_url`` (or ``ledger``) holds as created, from which files. Nothing is sent or
    claimed. A ledger that cannot be read is said plainly (LedgerError when ``required``).
    ``dates``: the file's first and last purchase date (a check's summary has them): when the
    ledger holds nothing dated between them, the file is not read again."""
    url = check_api_url(api_url, insecure=True)
    location = ledger_for(url, target=target, ledger=ledger)
    between = None
    if dates and dates[0] is not None and dates[1] is not None:
        between = (format_instant(dates[0]), format_instant(dates[1]))
    prepared = job.prepared_for_sending()
    return ledger_note(prepared, location, target or url, required=required, between=between)


def check_api_url(url: str, *, insecure: bool = False) -> str:
    """Refuse URLs that would leak the API key: plain http to anything but loopback."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigurationError(f"--api-url {url!r} is not an http(s) URL")
    if parts.scheme == "http" and not is_loopback(url) and not insecure:
        raise ConfigurationError(
            f"refusing to send the API key over plain http to {parts.hostname}",
            hint="use https, or --insecure if you really mean it",
        )
    if parts.path in ("", "/"):
        # A bare host: every documented Keen base has this path (keen-api.md section 1.1).
        return url.rstrip("/") + "/functions/v1/keen-api"
    return url


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
class SendSettings:
    """Where and how a job sends: the target, the key and the pace (never written anywhere)."""

    api_url: str
    api_key: str = field(repr=False)
    target: str | None = None
    ledger: str | Path | None = None  # --ledger: a SQLite file or a PostgreSQL URL
    dry_run: bool = False
    resend_changed: bool = False  # send edited rows as new purchases (importer.send.changed)
    concurrency: int = 8
    rate: float | None = None
    max_retries: int = 5
    timeout: float = 30.0
    transport: Any = None
    handle_signals: bool = False
    client_options: dict[str, Any] = field(default_factory=dict)
    proxy: str | None = field(default=None, repr=False)  # a URL (may hold a password) or "none"
    proxy_source: str = "--proxy"
    ca_bundle: str | Path | None = None
    network: NetworkSettings | None = None  # settled by checked()

    def checked(self, *, insecure: bool) -> SendSettings:
        """These settings with the URL checked (and completed); ConfigurationError if unsafe."""
        if not self.api_key:
            raise ConfigurationError(
                "no API key: set KEEN_API_KEY or use --api-key-file PATH",
                hint="the key is a UUID from Settings > API keys in the Keen dashboard",
            )
        api_url = check_api_url(self.api_url, insecure=insecure)
        rate = self.rate
        if (
            self.concurrency < 1
            or self.max_retries < 0
            or self.timeout <= 0
            or (rate is not None and rate <= 0)
        ):
            raise ConfigurationError("--concurrency, --rate and --timeout must be positive")
        network = network_settings(
            api_url, proxy=self.proxy, proxy_source=self.proxy_source, ca_bundle=self.ca_bundle
        )
        return replace(self, api_url=api_url, network=network)

    @property
    def ledger_target(self) -> str:
        """The account the ledger files purchases under: rows created against one target are
        never taken as created against another. Never the API key (a new key is the same
        account)."""
        return self.target or self.api_url

    def ledger_location(self) -> LedgerLocation:
        """The ledger of this send (see :func:`ledger_for`)."""
        return ledger_for(self.api_url, target=self.target, ledger=self.ledger)

    def manifest_options(self, resend_unconfirmed: bool) -> dict[str, Any]:
        """The sending options for the manifest (no key)."""
        return {
            "concurrency": self.concurrency,
            "rate": self.rate,
            "max_retries": self.max_retries,
            "timeout": self.timeout,
            "resend_unconfirmed": resend_unconfirmed,
            "resend_changed": self.resend_changed,
            **(self.network or NetworkSettings()).describe(),
        }


@dataclass
class PlannedRun:
    """A checked file and the settings it will be sent with (made by :func:`plan_job`)."""

    settings: SendSettings
    plan: ImportPlan
    prepared: PreparedFile
    started_at: datetime
    edited: dict[int, EditedRow] = field(default_factory=dict)

    def note_edited(self) -> None:
        """Put the line counting the edited rows (worded for ``resend_changed``) in the plan."""
        plan = self.plan
        earlier = {edited_note(plan.edited_rows, resend_changed=flag) for flag in (True, False)}
        plan.notes = [note for note in plan.notes if note not in earlier]
        plan.edited_rows = len(self.edited)
        if self.edited:
            resend = self.settings.resend_changed
            plan.notes.append(edited_note(plan.edited_rows, resend_changed=resend))


def plan_job(job: ImportJob, *, insecure: bool = False, **settings: Any) -> PlannedRun:
    """Check every row of the job's file (nothing sent) and count what would be sent.

    ``settings`` are :class:`SendSettings` fields (api_url, api_key, target, dry_run,
    concurrency, rate, max_retries, timeout, transport, handle_signals, client_options, proxy,
    ca_bundle); ``proxy`` and ``ca_bundle`` default to the mapping's options.
    """
    settings.update(network_options(job.mapping, settings.get("proxy"), settings.get("ca_bundle")))
    checked = SendSettings(**settings).checked(insecure=insecure)
    started_at = datetime.now(UTC)
    prepared = job.prepared_for_sending()
    if isinstance(prepared.table, FrameTable) and job.name is None:
        raise ConfigurationError(NAME_THE_FRAME)
    check_results_path(job.results_path, prepared.table.path)
    check_writable(job.output_names.run_files(dry_run=checked.dry_run))
    with Ledger.open(checked.ledger_location()) as ledger:  # unreachable: stop, nothing sent
        adopted = [] if checked.dry_run else adopt_journals(prepared, job.results_path, ledger)
        plan, scan = _plan_pass(prepared, checked, ledger)
        edited, known = scan.finish() if scan is not None else ({}, None)
    plan.notes = date_range_notes(plan.summary, prepared.table.path, period=prepared.options.period)
    plan.notes += mapping_notes(prepared) + file_notes(plan.summary) + adopted
    plan.notes += job.control_total_notes(plan.summary)
    planned = PlannedRun(settings=checked, plan=plan, prepared=prepared, started_at=started_at)
    planned.edited = edited
    if known is not None and known.known:
        plan.already_imported = known.known
        plan.notes.append(known.note())
    if known is not None and known.held:
        plan.held_back = dict(known.held)
        plan.notes.append(known.held_note())
    if known is not None:
        plan.not_sent_amounts = {kind: dict(sums) for kind, sums in known.amounts.items()}
    planned.note_edited()
    return planned


def _plan_pass(
    prepared: PreparedFile, settings: SendSettings, ledger: Ledger
) -> tuple[ImportPlan, LedgerScan | None]:
    """The plan's read of the file; when the ledger holds purchases of the target, the same
    read finds the edited rows and the rows already imported (no second read)."""
    scanning = ledger.has_created(settings.ledger_target)
    while True:
        validator = prepared.validator(build_records=scanning)
        scan = LedgerScan(prepared, ledger, settings.ledger_target) if scanning else None
        plan = plan_import(prepared, settings.api_url, validator, scan)
        majority = validator.majority_currency()
        if majority is None or majority == prepared.decisions.currency:
            return plan, scan
        prepared.decisions.currency = majority  # the first chunk was not representative


def adopt_journals(prepared: PreparedFile, results_path: Path, ledger: Ledger) -> list[str]:
    """Take the old per-file journals of this input into the ledger; the plan's lines."""
    notes = []
    for journal in journals_of(prepared, results_path.parent):
        adopted = adopt_journal(prepared, journal, ledger, source_facts(prepared.table)[0])
        notes.append(f"took {adopted:,} purchases of {journal.name} into the ledger")
    return notes


def network_options(mapping: Mapping | None, proxy, ca_bundle) -> dict[str, Any]:
    """The proxy and CA bundle settings: the arguments win over the mapping's options."""
    options: dict[str, Any] = {"proxy": proxy, "ca_bundle": ca_bundle}
    if proxy is None and mapping is not None and mapping.proxy:
        options.update(proxy=mapping.proxy, proxy_source="the mapping file's proxy option")
    if ca_bundle is None and mapping is not None and mapping.ca_bundle:
        options["ca_bundle"] = mapping.ca_bundle
    return options


def send_job(
    job: ImportJob,
    planned: PlannedRun,
    *,
    on_progress: ProgressCallback | None = None,
    resend_unconfirmed: bool = False,
    on_stop_ready=None,
    shadow_path: Path | None = None,
) -> ImportReport:
    """Send a planned job, then write its manifest. ``on_stop_ready`` receives the callable
    that stops the send from any thread (None once the send is over); ``shadow_path``: a CSV
    copy of workbook results, which the job pages rows from."""
    settings, prepared = planned.settings, planned.prepared
    table = prepared.table
    results_path = job.results_path
    results_path.parent.mkdir(parents=True, exist_ok=True)
    report = ImportReport(
        path=table.path,
        results_path=results_path,
        ledger=None,
        api_url=settings.api_url,
        columns=prepared.columns,
        summary=Summary(),
        plan=planned.plan,
        dry_run=settings.dry_run,
        frame=getattr(table, "frame", None),
        kept=KeptResults() if isinstance(table, FrameTable) else None,
        prepared=prepared,
    )
    sha256, _ = source_facts(table)
    started = time.perf_counter()
    sending = SendPass(
        prepared,
        report,
        settings,
        resend_unconfirmed=resend_unconfirmed,
        on_progress=on_progress,
        total=planned.plan.summary.in_file.rows,
        on_stop_ready=on_stop_ready,
        write_results=job.writes_results,
        shadow_path=shadow_path,
        edited=planned.edited,
        file_sha256=sha256,
        look_up_first=planned.plan.already_imported > 0,
    )
    with collecting_held_open() as held:
        with contextlib.suppress(WriteFailed):  # reported below, once the manifest is tried
            _run_async(sending.run())
        report.duration = time.perf_counter() - started
        report.results_path = held.where(report.results_path) if job.writes_results else None
        report.created_path = held.where(report.created_path)
        manifest = job.output_names.manifest
        with contextlib.suppress(WriteFailed), writing(report, f"the manifest {manifest}"):
            job.write_run_manifest(report, planned, sha256, resend_unconfirmed)
    report.held_open = held.messages()
    if report.write_error:
        raise write_failure(report)
    return report


def _run_async(coroutine) -> None:
    """Run on uvloop when it is installed (a third less client CPU per request), else asyncio."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency on Linux/macOS
        asyncio.run(coroutine)
        return
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(coroutine)
