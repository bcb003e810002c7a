"""run_import(): validate, preflight, send exactly once where the API allows it, reconcile.

    plan pass:  loader -> validator                    (counts and totals; nothing sent)
    send pass:  loader -> validator -> preflight -> batcher (+ journal) -> reconciler

The file is read twice so that a million-row import never holds every row in memory: the first
pass gives the totals a user confirms before anything is sent, the second sends chunk by chunk
and writes results in input order. A resumed run reads its earlier answers from the journal.
"""

from __future__ import annotations

import asyncio
import ipaddress
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

from importer.check.controls import (
    check_control_totals,
    date_range_notes,
    file_notes,
    parse_expected_total,
)
from importer.check.mapping import Mapping
from importer.check.summary import Summary
from importer.check.validator import RowValidator
from importer.errors import AuthenticationError, ConfigurationError, KeenImportError
from importer.job.validate import (
    PreparedFile,
    ProgressCallback,
    check_results_path,
    file_sha256,
    mapping_notes,
    options_dict,
    paused_gc,
    prepare,
    row_results,
)
from importer.records import RowResult, RowStatus
from importer.report.created import CreatedListWriter, created_list_path
from importer.report.manifest import build_manifest, manifest_path, write_json_atomic
from importer.report.results import ResultsWriter, default_results_path
from importer.send.client import DEFAULT_BASE_URL, KeenClient
from importer.send.journal import Journal
from importer.send.preflight import preflight
from importer.send.resume import EarlierRuns, drop_already_created, journal_path_for
from importer.send.sender import SendReport, not_sent_reason, send_all

RUN_ORDER = (
    RowStatus.CREATED,
    RowStatus.REJECTED,
    RowStatus.RETRIED,
    RowStatus.UNCONFIRMED,
    RowStatus.NOT_SENT,
    RowStatus.INVALID,
    RowStatus.SKIPPED,
    RowStatus.VALID,
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

    @property
    def amounts(self):
        """Amounts of the valid rows per currency."""
        totals = self.summary.by_status.get(str(RowStatus.VALID))
        return dict(totals.amounts) if totals else {}


@dataclass
class ImportReport:
    """What run_import() did."""

    path: Path
    results_path: Path
    journal_path: Path | None
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
    sent_this_run: int = 0
    created_path: Path | None = None
    send_reports: list[SendReport] = field(default_factory=list)

    @property
    def nothing_to_send(self) -> bool:
        """True when a real run sent no request (everything was done before)."""
        return not self.dry_run and self.sent_this_run == 0

    @property
    def exit_code(self) -> int:
        """0 every valid row created; 1 some not; 2 auth failure; 130 interrupted."""
        if self.auth_failed:
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


def is_loopback(url: str) -> bool:
    """True for http(s)://127.x.x.x, [::1] and localhost URLs."""
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


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


def plan_import(prepared: PreparedFile, api_url: str, validator: RowValidator) -> ImportPlan:
    """Validate the whole file once (no records kept) to count what would be sent."""
    summary = Summary()
    for chunk in paused_gc(prepared.table.chunks()):
        validator.check(chunk).add_to(summary)
    return ImportPlan(
        path=prepared.table.path,
        api_url=api_url,
        summary=summary,
        valid_rows=summary.count(RowStatus.VALID),
    )


def run_import(
    path: str | Path,
    mapping: Mapping | None = None,
    *,
    api_key: str,
    api_url: str = DEFAULT_BASE_URL,
    target: str | None = None,
    concurrency: int = 8,
    rate: float | None = None,
    max_retries: int = 5,
    timeout: float = 30.0,
    results: str | Path | None = None,
    dry_run: bool = False,
    resend_unconfirmed: bool = False,
    insecure: bool = False,
    max_xlsx_mb: int = 500,
    expect_rows: int | None = None,
    expect_total: str | None = None,
    confirm: Callable[[ImportPlan], bool] | None = None,
    on_progress: ProgressCallback | None = None,
    handle_signals: bool = False,
    transport=None,
) -> ImportReport:
    """Import a CSV/XLSX file of purchases into Keen and write the results file.

    ``target`` names the Keen account for the journal (defaults to ``api_url``): rows created
    against one target are never taken as created against another. ``confirm`` is called with
    the plan before the first request; returning False cancels (nothing is sent).
    ``handle_signals`` installs SIGINT/SIGTERM handlers (the CLI does): the first stops taking
    rows and lets requests in flight finish; the second aborts at once.
    """
    if not api_key:
        raise ConfigurationError(
            "no API key: set KEEN_API_KEY or use --api-key-file PATH",
            hint="the key is a UUID from Settings > API keys in the Keen dashboard",
        )
    api_url = check_api_url(api_url, insecure=insecure)
    if concurrency < 1 or max_retries < 0 or timeout <= 0 or (rate is not None and rate <= 0):
        raise ConfigurationError("--concurrency, --rate and --timeout must be positive")
    expected = parse_expected_total(expect_total) if expect_total else None
    started_at = datetime.now(UTC)
    prepared = prepare(path, mapping, max_xlsx_mb=max_xlsx_mb)
    table = prepared.table
    results_path = Path(results) if results else default_results_path(table.path, table.info.kind)
    check_results_path(results_path, table.path)
    while True:
        plan_validator = RowValidator(
            table.headers, prepared.columns, prepared.decisions, prepared.options
        )
        plan = plan_import(prepared, api_url, plan_validator)
        majority = plan_validator.majority_currency()
        if majority is None or majority == prepared.decisions.currency:
            break
        prepared.decisions.currency = majority  # the first chunk was not representative
    plan.notes = date_range_notes(plan.summary, table.path, period=prepared.options.period)
    plan.notes += mapping_notes(prepared) + file_notes(plan.summary)
    plan.notes += check_control_totals(plan.summary, expect_rows=expect_rows, expect_total=expected)
    if confirm is not None and plan.valid_rows and not dry_run and not confirm(plan):
        raise Cancelled("cancelled: nothing was sent")
    report = ImportReport(
        path=table.path,
        results_path=results_path,
        journal_path=None if dry_run else journal_path_for(results_path, table.path),
        api_url=api_url,
        columns=prepared.columns,
        summary=Summary(),
        plan=plan,
        dry_run=dry_run,
    )
    sha256 = file_sha256(table.path)
    file_hash = "target:" + (target or api_url)  # see EarlierRuns: rows, not bytes, identify
    started = time.perf_counter()
    _run_async(
        _send_pass(
            prepared,
            report,
            api_key=api_key,
            file_hash=file_hash,
            concurrency=concurrency,
            rate=rate,
            max_retries=max_retries,
            timeout=timeout,
            resend_unconfirmed=resend_unconfirmed,
            on_progress=on_progress,
            handle_signals=handle_signals,
            transport=transport,
            total=plan.summary.in_file.rows,
        )
    )
    report.duration = time.perf_counter() - started
    write_json_atomic(
        manifest_path(results_path, table.path),
        build_manifest(
            command="run --dry-run" if dry_run else "run",
            source=table.path,
            sha256=sha256,
            sheet=table.sheet,
            columns=prepared.columns,
            options={
                **options_dict(prepared),
                "concurrency": concurrency,
                "rate": rate,
                "max_retries": max_retries,
                "timeout": timeout,
                "resend_unconfirmed": resend_unconfirmed,
            },
            api_url=api_url,
            started=started_at,
            finished=datetime.now(UTC),
            summary=report.summary,
            results_path=results_path,
            extra={
                "target": target or api_url,
                "requests": report.requests,
                "created_list": str(report.created_path) if report.created_path else None,
                "journal": str(report.journal_path) if report.journal_path else None,
                "exit_code": report.exit_code,
            },
        ),
    )
    return report


async def _send_pass(
    prepared: PreparedFile,
    report: ImportReport,
    *,
    api_key: str,
    file_hash: str,
    concurrency: int,
    rate: float | None,
    max_retries: int,
    timeout: float,
    resend_unconfirmed: bool,
    on_progress: ProgressCallback | None,
    handle_signals: bool,
    transport,
    total: int,
) -> None:
    table = prepared.table
    options = prepared.options
    validator = RowValidator(
        table.headers, prepared.columns, prepared.decisions, options, build_records=True
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    if handle_signals:
        _install_signal_handlers(loop, stop)
    writer = ResultsWriter(report.results_path, table.headers)
    created = None
    if not report.dry_run:
        report.created_path = created_list_path(report.results_path, table.path)
        created = CreatedListWriter(report.created_path)
    journal = None
    done = 0
    live: dict[str, int] = {}  # rows per status, including those answered in the current chunk
    last_progress = [0.0]
    activity = {"requests": 0, "retrying": 0}  # kept current by send_all
    sending_since = [0.0]  # when the first purchase request of this run went out

    def sending_progress(rows: int) -> None:
        last_progress[0] = time.monotonic()
        elapsed = last_progress[0] - sending_since[0]
        rate = round(activity["requests"] / elapsed) if elapsed > 0 else 0
        on_progress(rows, total, {**live, "retrying": activity["retrying"], "req/s": rate})

    async def tick(rows: Callable[[], int]) -> None:
        # Progress also moves while no row finishes (a long Retry-After, a paused breaker).
        while True:
            await asyncio.sleep(0.5)
            if time.monotonic() - last_progress[0] >= 0.5:
                sending_progress(rows())

    try:
        earlier = None
        if report.journal_path is not None:
            journal = Journal.open(report.journal_path, file_hash=file_hash)
            earlier = EarlierRuns(journal, options.action)
        async with KeenClient(
            report.api_url,
            api_key,
            timeout=timeout,
            transport=transport,
            max_connections=concurrency,
        ) as client:
            first_chunk = True
            for chunk in table.chunks():
                checked = validator.check(chunk)
                results = row_results(checked)
                by_row = {r.row: i for i, r in enumerate(results)}
                records = [r for r in (checked.records or []) if r is not None]
                if earlier is not None:
                    records = drop_already_created(records, earlier, results, by_row)
                halted = report.auth_failed or report.interrupted or report.outage or stop.is_set()
                if records and not halted:
                    try:
                        checked_leads = await preflight(records, client=client)
                        for note in checked_leads.notes:
                            if note not in report.plan.notes:
                                report.plan.notes.append(note)
                    except AuthenticationError:
                        if first_chunk:
                            raise
                        report.auth_failed = True
                        checked_leads = None
                    first_chunk = False
                else:
                    checked_leads = None
                if earlier is not None and checked_leads is not None:
                    records = drop_already_created(
                        records, earlier, results, by_row, resolve=checked_leads.resolve
                    )
                to_send = []
                for record in records:
                    i = by_row[record.row]
                    if checked_leads is None:
                        results[i].status = RowStatus.NOT_SENT
                        results[i].error = not_sent_reason(
                            auth_failed=report.auth_failed, outage=report.outage
                        )
                        continue
                    rejected = checked_leads.rejection(record)
                    if rejected is not None:
                        rejected.warnings = results[i].warnings + rejected.warnings
                        results[i] = rejected
                        continue
                    channel_currency = checked_leads.currency_of(record)
                    if (
                        "currency" in prepared.columns
                        and record.currency
                        and channel_currency
                        and record.currency != channel_currency
                    ):
                        results[i].status = RowStatus.INVALID
                        results[i].error = (
                            f"currency {record.currency} does not match the lead's channel "
                            f"currency {channel_currency}; Keen does not convert amounts"
                        )
                        continue
                    to_send.append(record)
                if report.dry_run:
                    pass  # valid rows stay "valid": nothing is created
                elif to_send:
                    sent_in_chunk = [0]

                    def collect(
                        result: RowResult,
                        by_row=by_row,
                        results=results,
                        sent_in_chunk=sent_in_chunk,
                        done=done,
                    ) -> None:
                        i = by_row[result.row]
                        result.warnings = results[i].warnings + result.warnings
                        results[i] = result
                        sent_in_chunk[0] += 1
                        status = str(result.status)
                        live[status] = live.get(status, 0) + 1
                        if on_progress and time.monotonic() - last_progress[0] > 0.2:
                            sending_progress(done + sent_in_chunk[0])

                    sending_since[0] = sending_since[0] or time.monotonic()
                    ticker = None
                    if on_progress:
                        ticker = loop.create_task(
                            tick(lambda done=done, sent=sent_in_chunk: done + sent[0])
                        )
                    try:
                        send_report = await send_all(
                            to_send,
                            client=client,
                            journal=journal,
                            action=options.action,
                            concurrency=concurrency,
                            rate=rate,
                            max_retries=max_retries,
                            resend_unconfirmed=resend_unconfirmed,
                            lead_resolver=checked_leads.resolve,
                            on_result=collect,
                            stop=stop,
                            activity=activity,
                        )
                    finally:
                        if ticker is not None:
                            ticker.cancel()
                    report.send_reports.append(send_report)
                    report.sent_this_run += send_report.requests
                    report.auth_failed |= send_report.auth_failed
                    report.outage = report.outage or send_report.outage
                    report.interrupted |= send_report.interrupted or stop.is_set()
                checked.add_to(report.summary, [r.status for r in results])
                if created is not None:
                    for i, result in enumerate(results):
                        if result.status is RowStatus.CREATED and result.purchase_id:
                            record = checked.records[i] if checked.records else None
                            created.add(
                                result.row,
                                result.purchase_id,
                                _sent_lead(record, checked_leads),
                                record.purchase_amount if record else None,
                                record.date if record else None,
                                record.reference if record else None,
                            )
                writer.write(chunk, results)
                done += len(results)
                live.clear()
                live.update({k: v.rows for k, v in report.summary.by_status.items()})
                if on_progress:
                    on_progress(done, total, live)
            report.requests = client.requests_made
        writer.commit()
        if created is not None:
            created.commit()
    except BaseException:
        writer.abort()
        if created is not None:
            created.abort()
        raise
    finally:
        if journal is not None:
            journal.close()
        if handle_signals:
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(sig)


def _run_async(coroutine) -> None:
    """Run on uvloop when it is installed (a third less client CPU per request), else asyncio."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop ships with uvicorn[standard] on Linux/macOS
        asyncio.run(coroutine)
        return
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(coroutine)


def _sent_lead(record, checked_leads) -> str | None:
    if record is None:
        return None
    if checked_leads is not None:
        return checked_leads.resolve(record) or record.lead_id
    return record.lead_id


def _install_signal_handlers(loop: asyncio.AbstractEventLoop, stop: asyncio.Event) -> None:
    import os
    import sys

    def on_signal() -> None:
        if stop.is_set():
            print("\nsecond interrupt: aborting now (the journal is consistent)", file=sys.stderr)
            os._exit(130)
        print(
            "\ninterrupt: finishing requests in flight, then writing results "
            "(press Ctrl-C again to abort at once)",
            file=sys.stderr,
        )
        stop.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, on_signal)
