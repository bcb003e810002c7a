"""The send pass: read the file chunk by chunk, judge, look up leads, claim, send, report.

    chunk -> judge -> hold edited rows -> settle rows the ledger knows as created -> preflight
          -> screen -> claim in the ledger -> send -> record

Edited rows (:mod:`importer.send.changed`) are held back as ``not_sent`` unless the settings say
``resend_changed``. Every row is claimed in the ledger before it is sent; the ledger's rule
(:mod:`importer.ledger.rule`) holds back what another import created or is sending. A dry run
asks the ledger the same questions without claiming. The created list ends with every purchase
the ledger knows was created for this file and target that this run did not report (earlier
content of edited rows).

One :class:`SendPass` per run. It stops taking rows when ``stop`` is set (Ctrl-C, SIGTERM or
:meth:`ImportJob.cancel` from any thread): requests in flight finish, results are written, and
the ledger lets the next run resume.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from importer.check.validator import CheckedChunk
from importer.errors import AuthenticationError
from importer.job.changedrows import source_name
from importer.job.checking import PreparedFile, row_results
from importer.job.claims import ClaimingRows
from importer.job.model import ProgressCallback
from importer.job.writes import writing
from importer.ledger import Candidate, ImportContext, Ledger, candidate_for
from importer.read.loader import Chunk
from importer.records import PurchaseRecord, RowResult, RowStatus
from importer.report.created import CreatedListWriter
from importer.report.outputs import OutputNames
from importer.report.publish import abandon_temporaries
from importer.report.results import ResultsWriter
from importer.send.changed import EditedRow
from importer.send.client import KeenClient
from importer.send.preflight import Preflight, preflight
from importer.send.sender import not_sent_reason, send_all

if TYPE_CHECKING:
    from importer.job.run import ImportReport, SendSettings


@dataclass
class _Rows:
    """One chunk's rows on their way: verdicts by row, and the records still to be sent."""

    chunk: Chunk
    checked: CheckedChunk
    results: list[RowResult]
    by_row: dict[int, int]
    records: list[PurchaseRecord]
    leads: Preflight | None = None


@dataclass
class SendProgress:
    """Progress of a send: rows done, rows per status, retrying rows and requests per second."""

    on_progress: ProgressCallback | None
    total: int
    done: int = 0
    live: dict[str, int] = field(default_factory=dict)
    activity: dict[str, int] = field(default_factory=lambda: {"requests": 0, "retrying": 0})
    last: float = 0.0
    since: float = 0.0  # when the first purchase request of this run went out
    #: What the caller's callback raised: it is not called again, and the send stops as
    #: cancel() stops it (``stop`` is set); send() raises it once the results are written.
    failed: BaseException | None = None
    stop: asyncio.Event | None = None

    def _report(self, rows: int, counts: dict) -> None:
        # Raised inside the answer of a request, it would leave that answer unrecorded.
        try:
            self.on_progress(rows, self.total, counts)
        except Exception as exc:
            self.failed, self.on_progress = exc, None
            if self.stop is not None:
                self.stop.set()

    def sending(self, rows: int) -> None:
        """Report ``rows`` done while a chunk is being sent."""
        if self.on_progress is None:
            return
        self.last = time.monotonic()
        elapsed = self.last - self.since
        rate = round(self.activity["requests"] / elapsed) if elapsed > 0 else 0
        counts = {**self.live, "retrying": self.activity["retrying"], "req/s": rate}
        self._report(rows, counts)

    def answered(self, status: str, rows: int) -> None:
        """One row answered: count it, and report at most five times a second."""
        self.live[status] = self.live.get(status, 0) + 1
        if time.monotonic() - self.last > 0.2:
            self.sending(rows)

    async def tick(self, rows: Callable[[], int]) -> None:
        """Progress also moves while no row finishes (a long Retry-After, a paused breaker)."""
        while True:
            await asyncio.sleep(0.5)
            if time.monotonic() - self.last >= 0.5:
                self.sending(rows())

    def chunk_done(self, rows: int, counts: dict[str, int]) -> None:
        """A chunk is written: the counts are the run's totals so far."""
        self.done += rows
        self.live = dict(counts)
        if self.on_progress:
            self._report(self.done, self.live)


class SendPass:
    """Sends one prepared file; fills ``report`` (summary, counts, flags) as it goes."""

    #: Rows read and judged at a time (the records of one chunk are in memory at once).
    CHUNK_ROWS = 25_000

    def __init__(
        self,
        prepared: PreparedFile,
        report: ImportReport,
        settings: SendSettings,
        *,
        resend_unconfirmed: bool,
        on_progress: ProgressCallback | None,
        total: int,
        on_stop_ready: Callable[[Callable[[], None] | None], None] | None = None,
        write_results: bool = True,
        shadow_path: Path | None = None,
        edited: dict[int, EditedRow] | None = None,
        file_sha256: str = "",
        look_up_first: bool = True,
        source_stat: tuple[int, int] | None = None,
    ) -> None:
        self.prepared = prepared
        #: (size, mtime) of the file when it was checked: a chunk read after the file changed
        #: holds rows nobody checked (Excel saving over it while it is sent): sending stops.
        self.source_stat = source_stat
        self.write_results = write_results  # False: a DataFrame's verdicts stay in report.kept
        self.shadow_path = shadow_path  # a CSV copy of workbook results (the job pages it)
        self.shadow: ResultsWriter | None = None
        self.report = report
        self.settings = settings
        self.resend_unconfirmed = resend_unconfirmed
        self.edited = {} if settings.resend_changed else (edited or {})
        self.resent = (edited or {}) if settings.resend_changed else {}
        self.progress = SendProgress(on_progress, total)
        self.on_stop_ready = on_stop_ready
        self.validator = prepared.validator(build_records=True)
        self.first_chunk = True
        self.file_sha256 = file_sha256
        # The plan found rows the ledger holds as created: find them before the lead look-up
        # (the claims check every row anyway, whatever happened since the plan).
        self.look_up_first = look_up_first
        self.ledger: Ledger | None = None
        self.context: ImportContext | None = None
        self.candidates: dict[int, Candidate] = {}  # rows looked up before preflight
        self.leads: Preflight | None = None  # what the preflight of the chunks so far found
        self.created: CreatedListWriter | None = None

    async def run(self) -> None:
        """Send the whole file and write the results (and created list) atomically."""
        loop = asyncio.get_running_loop()
        self.stop = self.progress.stop = asyncio.Event()
        self._offer_stop(loop)
        self.results_file = f"the results file {self.report.results_path}"
        writer = None
        if self.write_results:
            with writing(self.report, self.results_file):
                writer = ResultsWriter(self.report.results_path, self.prepared.table.headers)
        if writer is not None and self.shadow_path is not None:
            self.shadow = ResultsWriter(self.shadow_path, self.prepared.table.headers)
        try:
            self._open_created_list()
            self._open_ledger()
            async with self._client() as client:
                await self._send_chunks(client, writer)
                self.report.requests = client.requests_made
            if writer is not None:
                with writing(self.report, self.results_file):
                    writer.commit()
            if self.shadow is not None:
                self.shadow.commit()
            if self.created is not None:
                with writing(self.report, self.created_file):
                    self._list_created_earlier()
                    self.created.commit()
        except BaseException:
            for open_writer in (writer, self.shadow):
                if open_writer is not None:
                    open_writer.abort()
            if self.created is not None:
                self.created.abort()
            raise
        finally:
            self._close(loop)

    # -- setting up and tearing down --------------------------------------------------------

    def _offer_stop(self, loop: asyncio.AbstractEventLoop) -> None:
        self._previous_handlers: dict = {}
        # Only the main thread may set signal handlers; a send on a worker thread (called from
        # a running event loop) is stopped by its caller's KeyboardInterrupt instead.
        self._signals = self.settings.handle_signals and _in_main_thread()
        if self._signals:
            self._previous_handlers = _install_signal_handlers(loop, self.stop)
        if self.on_stop_ready is not None:
            self.on_stop_ready(lambda: loop.call_soon_threadsafe(self.stop.set))

    def _open_created_list(self) -> None:
        if not self.report.dry_run:
            path = OutputNames.around(self.report.results_path, self.prepared.table.path).created
            self.report.created_path = path
            self.created_file = f"the created list {path}"
            with writing(self.report, self.created_file):
                self.created = CreatedListWriter(path)

    def _open_ledger(self) -> None:
        settings, options = self.settings, self.prepared.options
        self.ledger = Ledger.open(settings.ledger_location())
        self.report.ledger = self.ledger.describe()
        facts = dict(
            file_sha256=self.file_sha256,
            source=source_name(self.prepared),
            resend_unconfirmed=self.resend_unconfirmed,
            allow_duplicates=options.allow_duplicates,
        )
        if self.report.dry_run:
            self.context = ImportContext(import_id=-1, **facts)
            return
        self.ledger.begin_import(
            target=settings.ledger_target, file_name=self.prepared.table.path.name, **facts
        )
        self.context = self.ledger.context

    def _client(self) -> KeenClient:
        s = self.settings
        return KeenClient(
            self.report.api_url,
            s.api_key,
            timeout=s.timeout,
            transport=s.transport,
            max_connections=s.concurrency,
            network=s.network,
            **s.client_options,
        )

    def _close(self, loop: asyncio.AbstractEventLoop) -> None:
        if self.on_stop_ready is not None:
            self.on_stop_ready(None)
        if self.ledger is not None:
            r = self.report
            stopped = r.auth_failed or r.interrupted or r.outage or r.write_error
            try:
                self.ledger.finish_import("stopped" if stopped else "finished")
            except self.ledger.errors as exc:
                r.write_error = r.write_error or f"the ledger {self.ledger.describe()}: {exc}"
            self.ledger.close()
        if self._signals:
            _remove_signal_handlers(loop, self._previous_handlers)

    # -- one chunk --------------------------------------------------------------------------

    async def _send_chunks(self, client: KeenClient, writer: ResultsWriter | None) -> None:
        """Send the file chunk by chunk, each judged when its turn comes (judging the next on a
        thread while one is sent gained nothing: benchmarks/README.md, session 13)."""
        for chunk in self.prepared.table.chunks(self.CHUNK_ROWS):
            if self._source_changed():
                self.report.outage = self.report.outage or SOURCE_CHANGED
            await self._chunk(self._judge(chunk), client, writer)
        self.report.interrupted |= self.stop.is_set()  # also when it stopped between two sends

    def _source_changed(self) -> bool:
        """True when the file is not the one checked any more (one stat, before each chunk)."""
        stat = self.source_stat
        return stat is not None and file_stat(self.prepared.table.path) != stat

    async def _chunk(self, rows: _Rows, client: KeenClient, writer: ResultsWriter | None) -> None:
        if self.edited:
            self._hold_edited(rows)
        for record in rows.records if self.resent else ():
            if (edited := self.resent.get(record.row)) is not None:
                rows.results[rows.by_row[record.row]].warnings.append(
                    f"payload changed since an earlier run created purchase {edited.purchase_id} "
                    "for this row; sent as a new purchase"
                )
        self._settle_known(rows)
        rows.leads = await self._preflight(rows.records, client)
        to_send = self._screen(rows)
        if to_send and self.report.dry_run:  # a dry run asks the ledger, leaves the rest "valid"
            self._apply(rows, self._preview(to_send, rows))
        elif to_send:
            await self._send(self._claiming(to_send, rows), rows, client)
        self._record(rows, writer)

    def _judge(self, chunk: Chunk) -> _Rows:
        checked = self.validator.check(chunk)
        results = row_results(checked)
        records = [r for r in (checked.records or []) if r is not None]
        by_row = {r.row: i for i, r in enumerate(results)}
        return _Rows(chunk, checked, results, by_row, records)

    def _hold_edited(self, rows: _Rows) -> None:
        """Edited rows get ``not_sent`` with the earlier purchase id and what changed."""
        pending = []
        for record in rows.records:
            edited = self.edited.get(record.row)
            if edited is None:
                pending.append(record)
                continue
            result = rows.results[rows.by_row[record.row]]
            result.status = RowStatus.NOT_SENT
            result.error = edited.reason()
        rows.records = pending

    def _candidate(self, record: PurchaseRecord, lead_id: str) -> Candidate:
        known = self.candidates.pop(record.row, None)
        if known is not None and known.lead_id == lead_id:
            return known
        occurrence = self.validator.occurrences.get(record.row, 0)
        action = self.prepared.options.action
        return candidate_for(record, action=action, lead_id=lead_id, occurrence=occurrence)

    def _apply(self, rows: _Rows, held: dict[int, RowResult]) -> None:
        for row, result in held.items():
            i = rows.by_row[row]
            result.warnings = rows.results[i].warnings + result.warnings
            rows.results[i] = result

    def _settle_known(self, rows: _Rows) -> None:
        """Rows the ledger holds as created (found before any lead lookup): their result.

        Only rows with a lead UUID can be identified now; rows with a legacy lead id are
        identified once preflight has resolved it.
        """
        assert self.ledger is not None and self.context is not None
        if not self.look_up_first or not self.ledger.has_created(self.settings.ledger_target):
            return  # a first import: nothing to find (the claims still check every row)
        candidates = [self._candidate(r, r.lead_id) for r in rows.records if r.lead_id]
        if not candidates:
            return
        self.candidates = {c.row: c for c in candidates}
        _, held = self.ledger.preview(self.settings.ledger_target, candidates, self.context)
        done = {
            row: result
            for row, result in held.items()
            if result.status is RowStatus.CREATED
            or (result.status is RowStatus.SKIPPED and result.purchase_id)
        }
        self._apply(rows, done)
        rows.records = [r for r in rows.records if r.row not in done]

    def _candidates(self, records: list[PurchaseRecord], rows: _Rows) -> list[Candidate]:
        assert rows.leads is not None
        resolve = rows.leads.resolve
        return [self._candidate(r, resolve(r) or r.lead_id) for r in records]

    def _preview(self, to_send: list[PurchaseRecord], rows: _Rows) -> dict[int, RowResult]:
        """What the ledger would hold back of these rows (a dry run claims nothing)."""
        assert self.ledger is not None
        target = self.settings.ledger_target
        return self.ledger.preview(target, self._candidates(to_send, rows), self.context)[1]

    def _claiming(self, to_send: list[PurchaseRecord], rows: _Rows) -> ClaimingRows:
        """The rows to send, claimed a batch at a time as the sender takes them; the ledger's
        results for the others go into the chunk's results."""
        assert self.ledger is not None
        ledger = self.ledger

        def failed(exc: BaseException, unsent: list[PurchaseRecord]) -> None:
            report = self.report
            report.write_error = report.write_error or f"the ledger {ledger.describe()}: {exc}"
            reason = not_sent_reason(auth_failed=False, outage=None, write_error=report.write_error)
            self._apply(rows, {r.row: RowResult(r.row, RowStatus.NOT_SENT, error=reason)
                               for r in unsent})  # fmt: skip

        backend = ledger.backend

        def claim(batch: list[PurchaseRecord]):
            with backend.side_connection():
                return ledger.claim(self._candidates(batch, rows))

        claiming = ClaimingRows(
            to_send,
            claim,
            lambda held: self._apply(rows, held),
            failed,
            ledger.errors,
            in_thread=True,
        )
        claiming.batch = ledger.backend.claim_batch
        return claiming

    def _halted(self) -> bool:
        r = self.report
        return bool(
            r.auth_failed or r.interrupted or r.outage or r.write_error or self.stop.is_set()
        )

    async def _preflight(
        self, records: list[PurchaseRecord], client: KeenClient
    ) -> Preflight | None:
        """Look up this chunk's leads and channels (None: the run stopped, nothing is sent)."""
        if not records or self._halted():
            return None
        try:
            found = self.leads = await preflight(records, client=client, known=self.leads)
        except AuthenticationError:
            if self.first_chunk:
                raise  # nothing was sent: the whole run stops with the error
            self.report.auth_failed = True
            return None
        finally:
            self.first_chunk = False
        for note in found.notes:
            if note not in self.report.plan.notes:
                self.report.plan.notes.append(note)
        return found

    def _screen(self, rows: _Rows) -> list[PurchaseRecord]:
        """The records that may be sent; the others get their final verdict here."""
        to_send = []
        for record in rows.records:
            i = rows.by_row[record.row]
            verdict = self._verdict_before_sending(record, rows.results[i], rows.leads)
            if verdict is None:
                to_send.append(record)
            else:
                rows.results[i] = verdict
        return to_send

    def _verdict_before_sending(
        self, record: PurchaseRecord, result: RowResult, leads: Preflight | None
    ) -> RowResult | None:
        if leads is None:
            result.status = RowStatus.NOT_SENT
            result.error = not_sent_reason(
                auth_failed=self.report.auth_failed,
                outage=self.report.outage,
                write_error=self.report.write_error,
            )
            return result
        rejected = leads.rejection(record) or self._not_checked(record, leads)
        if rejected is not None:
            rejected.warnings = result.warnings + rejected.warnings
            return rejected
        channel = leads.currency_of(record)
        # A currency named by a column, the amount cell ("1.500,00 €", "100.00 EUR") or the
        # amount column's header: the amount is in it, and Keen would read it as the channel's.
        if record.currency and channel and record.currency != channel:
            result.status = RowStatus.INVALID
            result.error = (
                f"currency {record.currency}{self._named_where(record.currency)} does not "
                f"match the lead's channel currency {channel}; Keen does not convert amounts"
            )
            return result
        return None

    def _named_where(self, currency: str) -> str:
        """Where a row's currency comes from, when not from a currency column."""
        columns = self.prepared.columns
        if "currency" in columns:
            return ""
        if self.validator.header_currency == currency:
            return f" (named in the header {columns['purchase_amount']!r})"
        return " (named in the amount cell)"

    def _not_checked(self, record: PurchaseRecord, leads: Preflight) -> RowResult | None:
        """In a dry run, a row whose lead could not be looked up (the API unreachable): a real
        run would let create_purchase decide; a check that checked nothing must not say valid."""
        found = leads.lookup(record)
        if not self.settings.dry_run or found is None or not found.unknown:
            return None
        return RowResult(
            record.row,
            RowStatus.RETRIED,
            http_status=found.http_status,
            error=f"lead not checked ({found.error}); nothing was sent, check again later",
        )

    async def _send(self, to_send: ClaimingRows, rows: _Rows, client: KeenClient) -> None:
        progress, settings = self.progress, self.settings
        sent = 0

        def collect(result: RowResult) -> None:
            nonlocal sent
            i = rows.by_row[result.row]
            result.warnings = rows.results[i].warnings + result.warnings
            rows.results[i] = result
            created = result.status is RowStatus.CREATED and self.created is not None
            if created and result.purchase_id:
                self._list_one(rows, i, result)  # while the loop waits for answers anyway
            sent += 1
            progress.answered(str(result.status), progress.done + sent)

        progress.since = progress.since or time.monotonic()
        ticker = None
        if progress.on_progress:
            ticker = asyncio.get_running_loop().create_task(
                progress.tick(lambda: progress.done + sent)
            )
        try:
            sent_report = await send_all(
                to_send,
                client=client,
                ledger=self.ledger,
                candidates=to_send.candidates,
                action=self.prepared.options.action,
                concurrency=settings.concurrency,
                rate=settings.rate,
                max_retries=settings.max_retries,
                resend_unconfirmed=self.resend_unconfirmed,
                lead_resolver=rows.leads.resolve if rows.leads else None,
                on_result=collect,
                stop=self.stop,
                activity=progress.activity,
            )
        finally:
            to_send.close()
            if ticker is not None:
                ticker.cancel()
        self._add_send_report(sent_report)

    def _add_send_report(self, sent) -> None:
        report = self.report
        report.send_reports.append(sent)
        report.sent_this_run += sent.requests
        report.auth_failed |= sent.auth_failed
        report.outage = report.outage or sent.outage
        report.write_error = report.write_error or sent.write_error
        report.interrupted |= sent.interrupted or self.stop.is_set()

    def _record(self, rows: _Rows, writer: ResultsWriter | None) -> None:
        """Count the chunk, list its created purchases and write its results, in input order."""
        summary = self.report.summary
        rows.checked.add_to(summary, [r.status for r in rows.results])
        self._count_already_imported(rows)
        if self.created is not None:
            with writing(self.report, self.created_file):
                self._list_created(rows)
        if writer is not None:
            with writing(self.report, self.results_file):
                writer.write(rows.chunk, rows.results)
        if self.shadow is not None:
            self.shadow.write(rows.chunk, rows.results)
        if self.report.kept is not None:
            self.report.kept.add_results(rows.checked, rows.results)
        counts = {k: v.rows for k, v in summary.by_status.items()}
        self.progress.chunk_done(len(rows.results), counts)

    def _count_already_imported(self, rows: _Rows) -> None:
        totals = self.report.already_imported
        checked = rows.checked
        for i, result in enumerate(rows.results):
            if result.status is RowStatus.SKIPPED and result.purchase_id:
                totals.rows += 1
                amount = checked.amounts_all[i]
                if amount is not None:
                    totals.amounts[checked.currencies[i] or ""] += amount

    def _list_created(self, rows: _Rows) -> None:
        """List the chunk's created purchases not listed as they came, then write them all."""
        assert self.created is not None
        for i, result in enumerate(rows.results):
            created = result.status is RowStatus.CREATED and result.purchase_id
            if created and result.purchase_id not in self.created:
                self._list_one(rows, i, result)
        self.created.write_listed()

    def _list_one(self, rows: _Rows, i: int, result: RowResult) -> None:
        assert self.created is not None and result.purchase_id
        records = rows.checked.records
        record = records[i] if records else None
        self.created.add(
            result.row,
            result.purchase_id,
            _sent_lead(record, rows.leads),
            record.purchase_amount if record else None,
            record.date if record else None,
            record.reference if record else None,
        )

    def _list_created_earlier(self) -> None:
        """Purchases of earlier runs for this file and target that no row reported this run."""
        assert self.created is not None and self.ledger is not None
        target, source = self.settings.ledger_target, source_name(self.prepared)
        try:
            earlier = self.ledger.created_by_source(target, source)
        except self.ledger.errors as exc:  # the ledger was lost: the run stops with its message
            r = self.report
            r.write_error = r.write_error or f"the ledger {self.ledger.describe()}: {exc}"
            return
        for entry in earlier:
            if entry.purchase_id:
                self.created.add_earlier(entry.file_row, entry.purchase_id, entry.payload)


def _sent_lead(record: PurchaseRecord | None, leads: Preflight | None) -> str | None:
    if record is None:
        return None
    if leads is not None:
        return leads.resolve(record) or record.lead_id
    return record.lead_id


SOURCE_CHANGED = (
    "the file changed after it was checked (saved again?): the rows read since were not checked"
)


def file_stat(path: Path) -> tuple[int, int] | None:
    """(size, modification time in ns) of a file, None when it cannot be read: a file saved
    again has another."""
    try:
        found = os.stat(path)
    except OSError:
        return None
    return found.st_size, found.st_mtime_ns


#: The signals that stop a send like Ctrl-C (SIGBREAK: Ctrl-Break in a Windows console).
_STOP_SIGNALS = tuple(
    getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGBREAK") if hasattr(signal, name)
)


def _in_main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


def _install_signal_handlers(loop: asyncio.AbstractEventLoop, stop: asyncio.Event) -> dict:
    """Stop the send on the first signal, abort on the second. Where the event loop has no
    signal handlers (Windows), ``signal.signal`` hands the signal to the loop's thread; returns
    the handlers it replaced there."""

    def on_signal() -> None:
        if stop.is_set():
            abandon_temporaries()
            print(
                "\nsecond interrupt: stopped at once. The ledger is consistent, but the results "
                "file was not updated: run the same command again to write it (purchases "
                "already created are not sent again)",
                file=sys.stderr,
            )
            os._exit(130)
        print(
            "\ninterrupt: finishing requests in flight, then writing results "
            "(press Ctrl-C again to abort at once)",
            file=sys.stderr,
        )
        stop.set()

    replaced = {}
    for sig in _STOP_SIGNALS:
        try:
            loop.add_signal_handler(sig, on_signal)
        except (NotImplementedError, RuntimeError, ValueError):
            replaced[sig] = signal.signal(sig, lambda *_: loop.call_soon_threadsafe(on_signal))
    return replaced


def _remove_signal_handlers(loop: asyncio.AbstractEventLoop, replaced: dict) -> None:
    for sig in _STOP_SIGNALS:
        if sig in replaced:
            signal.signal(sig, replaced[sig])
        else:
            loop.remove_signal_handler(sig)


__all__ = ["SendPass", "SendProgress"]
