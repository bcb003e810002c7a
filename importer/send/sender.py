"""Send purchases with bounded concurrency, an optional rate cap, retries and a circuit breaker.

Policy, per row:

- ``created`` / ``rejected`` answers are final; ``rejected`` is never retried.
- ``not_sent`` (the request never reached the API): exponential backoff with full jitter, up to
  ``max_retries`` retries, then ``retried`` (safe to send again on the next run).
- 503: this row waits ``Retry-After`` (or backs off) and is retried; counts against
  ``max_retries`` like not_sent. Sustained 503s trip the circuit breaker, which pauses everyone.
- 429: wait ``Retry-After`` (or back off) and retry; the whole sender pauses for Retry-After and
  halves its effective concurrency (AIMD: at most once per Retry-After period, +1 again after as
  many successes in a row as the current limit). 429s do not use up ``max_retries`` (the server
  says it did nothing) but a row gives up as ``retried`` after ``policy.max_rate_limited`` of them.
- Anything that may have been processed (read timeout, dropped connection, 500/502/504, odd 2xx)
  -> ``unconfirmed``, never retried automatically.
- 401 -> stop at once: requests in flight finish, every row not yet answered is ``not_sent``.
- Circuit breaker: when most of the last ``breaker_window`` requests failed transiently (not sent,
  unknown, 503), sending pauses for a cooldown, then one probe request decides whether to resume
  (success) or pause again for twice as long (at most ``breaker_max_cooldown``).
- Outage: when the breaker trips again and no request has had a real answer (a 429 counts) for
  ``max_outage`` seconds (10 minutes), the run stops like after a 401, with ``outage`` saying
  why: an API that stays down would otherwise be probed once a minute for days.
- The ledger cannot be written (disk full, permission, server lost): stop like after a 401,
  with ``write_error`` saying what failed. No request goes out unless its ``sending`` mark is
  committed; a row whose answer could not be written is reported ``unconfirmed``.
- ``stop`` set (Ctrl-C): no new rows; requests in flight get ``stop_grace`` seconds to finish, then
  are cancelled (their rows become ``unconfirmed``); rows waiting to retry become ``not_sent``.

Every record yields exactly one RowResult, through ``on_result`` and in the report counts. With a
ledger, every record was claimed in it before (:meth:`importer.ledger.Ledger.claim`), and a
result is reported only after it is on disk.

The steps of one row, each a method of :class:`Sender`: take a row (:meth:`~Sender.take_row`),
prepare it (:meth:`~Sender.prepare`), wait for the gate (:meth:`~Sender.wait_for_gate`), send
(:meth:`~Sender.attempt`), classify the answer (:meth:`~Sender.classify`), back off or retry
(:meth:`~Sender.back_off`), record in the ledger and report (:meth:`~Sender.finish`). The
pacing (gate, breaker, rate cap) lives in :mod:`importer.send.pacing`.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import hashlib
import sqlite3
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from importer.ledger import Candidate, Ledger
from importer.records import PurchaseRecord, RowResult, RowStatus, dumps_payload
from importer.send.client import Outcome, OutcomeKind
from importer.send.pacing import Breaker, Gate, RetryPolicy, Stopped, TokenBucket, sleep_unless

__all__ = [
    "RetryPolicy",
    "SendReport",
    "Sender",
    "describe_write_error",
    "not_sent_reason",
    "payload_hash",
    "send_all",
]

UNCONFIRMED_HINT = (
    "the purchase may have been created: check in Keen, then re-run with --resend-unconfirmed"
)
# What a SQLite ledger's write raises when the disk is full, read-only or the file went away
# (a ledger names its own: Ledger.errors).
WRITE_ERRORS = (OSError, sqlite3.Error)
_TRANSIENT = (OutcomeKind.NOT_SENT, OutcomeKind.UNKNOWN, OutcomeKind.UNAVAILABLE)
#: Allocations between two collections of the youngest generation while sending (Python's
#: default: 700). The garbage a collection finds is cycles of finished requests: a few MB at most.
_YOUNG_GC_THRESHOLD = 20_000


@dataclass
class SendReport:
    """What :func:`send_all` did."""

    counts: Counter = field(default_factory=Counter)
    requests: int = 0
    duration: float = 0.0
    auth_failed: bool = False
    interrupted: bool = False
    rate_limited: int = 0
    breaker_trips: int = 0
    lowest_concurrency: int = 0
    journal_seconds: float = 0.0
    outage: str | None = None  # why sending stopped early because the API stayed unreachable
    write_error: str | None = None  # what could not be written (the ledger): sending stopped
    unjournalled: int = 0  # rows whose answer could not be written to the ledger

    @property
    def rows(self) -> int:
        """Rows reported (one result each)."""
        return sum(self.counts.values())

    @property
    def requests_per_second(self) -> float:
        """Requests sent per second of the run."""
        return self.requests / self.duration if self.duration > 0 else 0.0


@contextlib.contextmanager
def _collector_for_sending() -> Iterator[None]:
    """Python's garbage collector tuned for a send, restored after (whatever happens)."""
    # Objects that exist before the run (the records, caches) never become garbage during it:
    # freezing them keeps the collector's full passes from walking them again and again.
    gc.freeze()
    # Each request allocates a few hundred short-lived objects: collected every 700
    # allocations, the youngest generation cost 3-4% of a run's CPU.
    thresholds = gc.get_threshold()
    gc.set_threshold(_YOUNG_GC_THRESHOLD, *thresholds[1:])
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()


def payload_hash(body: dict) -> str:
    """sha256 of the serialised payload (with the resolved lead id)."""
    return hashlib.sha256(dumps_payload(body)).hexdigest()


def not_sent_reason(
    *, auth_failed: bool, outage: str | None, write_error: str | None = None
) -> str:
    """The error of a row that was not sent because the run stopped early."""
    if auth_failed:
        return "not sent: the API key was rejected (401 Invalid API key)"
    if write_error:
        return f"not sent: could not write {write_error}"
    if outage:
        return f"not sent: {outage}"
    return "not sent: the run was interrupted"


def describe_write_error(exc: BaseException) -> str:
    """A short reason for a failed write: 'No space left on device', 'database or disk is full'."""
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__


def _outage_text(seconds: float, last_error: str | None) -> str:
    span = f"{seconds / 60:g} minutes" if seconds >= 60 else f"{seconds:g} seconds"
    last = f" (last error: {last_error})" if last_error else ""
    return f"the API gave no answer for {span}{last}; sending stopped"


@dataclass(slots=True)
class _Job:
    record: PurchaseRecord
    body: dict | bytes  # bytes (as dumps_payload wrote them) for clients that take them
    payload_hash: str
    identity: str  # the purchase identity the ledger knows the row by
    warnings: list[str]
    attempts: int = 0
    retries: int = 0  # not sent / 503: limited by max_retries
    rate_limited: int = 0  # 429s: limited by max_rate_limited
    in_flight: bool = False
    content: bytes = b""  # the serialised payload


async def send_all(
    records: Iterable[PurchaseRecord],
    *,
    client,
    ledger: Ledger | None = None,
    candidates: dict[int, Candidate] | None = None,
    action: str = "create_purchase",
    concurrency: int = 8,
    rate: float | None = None,
    max_retries: int = 5,
    resend_unconfirmed: bool = False,
    lead_resolver: Callable[[PurchaseRecord], str | None] | None = None,
    rejection: Callable[[PurchaseRecord], RowResult | None] | None = None,
    on_result: Callable[[RowResult], None] | None = None,
    stop: asyncio.Event | None = None,
    policy: RetryPolicy | None = None,
    activity: dict[str, int] | None = None,
) -> SendReport:
    """Send every record with ``client.create_purchase`` and report one RowResult per record.

    ``lead_resolver`` maps a record to the lead UUID to send (preflight's ``resolve``; None means
    the record's own ``lead_id``). With a ``ledger``, every record must be one of the
    ``candidates`` (by row) this import claimed in it. ``rejection`` returns a final result
    for rows preflight already rejected (never sent). ``rate`` caps requests per second.
    ``stop`` ends the run gracefully.
    ``policy`` tunes backoff and the breaker (``max_retries`` overrides ``policy.max_retries``).
    ``activity``, when given, is kept current for progress displays: ``requests`` is increased by
    every request sent, ``retrying`` counts the rows waiting to be sent again.
    """
    policy = policy or RetryPolicy()
    policy.max_retries = max_retries
    sender = Sender(
        records,
        client=client,
        ledger=ledger,
        candidates=candidates if candidates is not None else {},
        action=action,
        concurrency=concurrency,
        rate=rate,
        resend_unconfirmed=resend_unconfirmed,
        lead_resolver=lead_resolver,
        rejection=rejection,
        on_result=on_result,
        stop=stop or asyncio.Event(),
        policy=policy,
        activity=activity if activity is not None else {},
    )
    return await sender.run()


class Sender:
    """One run of :func:`send_all`: the shared state, and one method per step of a row."""

    def __init__(
        self,
        records: Iterable[PurchaseRecord],
        *,
        client,
        ledger: Ledger | None,
        candidates: dict[int, Candidate],
        action: str,
        concurrency: int,
        rate: float | None,
        resend_unconfirmed: bool,
        lead_resolver: Callable[[PurchaseRecord], str | None] | None,
        rejection: Callable[[PurchaseRecord], RowResult | None] | None,
        on_result: Callable[[RowResult], None] | None,
        stop: asyncio.Event,
        policy: RetryPolicy,
        activity: dict[str, int],
    ) -> None:
        self.rows: Iterator[PurchaseRecord] = iter(records)
        self.client = client
        self.ledger = ledger
        self.candidates = candidates
        self.write_errors = ledger.errors if ledger is not None else WRITE_ERRORS
        self.action = action
        self.concurrency = max(1, concurrency)
        self.resend_unconfirmed = resend_unconfirmed
        self.lead_resolver = lead_resolver
        self.rejection = rejection
        self.on_result = on_result
        self.stop = stop
        self.policy = policy
        self.activity = activity
        activity.setdefault("requests", 0)
        activity.setdefault("retrying", 0)
        self.report = SendReport()
        self.halt = asyncio.Event()  # no new requests: 401, outage, disk, stop
        self.gate = Gate(self.concurrency, policy, self.halt)
        self.breaker = Breaker(policy)
        self.bucket = TokenBucket(rate, policy) if rate else None
        self.callback_errors: list[BaseException] = []
        self.input_exhausted = False
        # KeenClient takes the serialised bytes: the payload is serialised once, for the hash and
        # the request. Other clients (tests' fakes) get the dict.
        self.send_bytes = bool(getattr(client, "accepts_payload_bytes", False))

    # -- the run -----------------------------------------------------------------------------------

    async def run(self) -> SendReport:
        """Send every row with ``concurrency`` workers; return once each row has its result."""
        started = time.perf_counter()
        journal_start = self.ledger.commit_seconds if self.ledger else 0.0
        with _collector_for_sending():
            workers = [asyncio.create_task(self.worker()) for _ in range(self.concurrency)]
            watcher = asyncio.create_task(self.watch_stop())
            try:
                await self.supervise(workers, watcher)
            finally:
                watcher.cancel()
                for task in workers:
                    task.cancel()
                await asyncio.gather(*workers, watcher, return_exceptions=True)
                await self.settle()
                if self.ledger is not None:
                    self.report.journal_seconds = self.ledger.commit_seconds - journal_start
                self.report.duration = time.perf_counter() - started
        if self.callback_errors:
            raise self.callback_errors[0]
        return self.report

    async def supervise(self, workers: list[asyncio.Task], watcher: asyncio.Task) -> None:
        """Wait for the workers; once the run halts, give requests in flight ``stop_grace``."""
        halt = self.halt
        pending = set(workers)
        while pending:
            timeout = self.policy.stop_grace if halt.is_set() else None
            done, pending = await asyncio.wait(
                pending | {watcher} if not watcher.done() else pending,
                timeout=timeout,
                return_when=asyncio.FIRST_COMPLETED,
            )
            pending.discard(watcher)
            for task in done:
                if task is not watcher and task.exception() is not None:
                    raise task.exception()
            if halt.is_set() and not done and timeout is not None:
                for task in pending:
                    task.cancel()
                await asyncio.gather(*pending, return_exceptions=True)
                return

    async def watch_stop(self) -> None:
        """The ``stop`` event (Ctrl-C) halts the run."""
        await self.stop.wait()
        self.report.interrupted = True
        self.halt_now()

    def halt_now(self) -> None:
        """No new request goes out; every waiting worker looks again."""
        self.halt.set()
        self.gate.wake()

    async def settle(self) -> None:
        """After the workers: every row not taken gets its result, the ledger is flushed."""
        if self.stop.is_set():
            self.report.interrupted = True
        if not self.input_exhausted:
            # The run stopped early: every row not taken yet still gets its one result. Rows
            # claimed on demand (importer.job.claims) that were not claimed stay unclaimed.
            halt = getattr(self.rows, "halt", None)
            if halt is not None:
                for result in halt(self.not_sent_reason()).values():
                    self.emit(result)
            for record in self.rows:
                job = self.prepare(record)
                if job is not None:
                    self.finish(job, self.stopped_result(job))
        if self.ledger is not None:
            try:
                await self.ledger.flush()
            except self.write_errors as exc:
                self.write_failed(exc)
        self.report.breaker_trips = self.breaker.trips
        self.gate.close()
        self.report.lowest_concurrency = self.gate.lowest

    # -- one row -----------------------------------------------------------------------------------

    async def worker(self) -> None:
        """Take rows one after the other until the input ends or the run halts."""
        while (record := self.take_row()) is not None:
            job = self.prepare(record)
            if job is None:
                if self.report.rows % 256 == 0:
                    await asyncio.sleep(0)
                continue
            try:
                result = await self.send_row(job)
            except Stopped:
                result = self.stopped_result(job)
            except asyncio.CancelledError:
                self.finish(job, self.cancelled_result(job))
                raise
            self.finish(job, result)

    def take_row(self) -> PurchaseRecord | None:
        """The next row to send, or None when the input is done or the run halts."""
        if self.halt.is_set():
            return None
        if self.stop.is_set():
            self.halt.set()  # do not wait for the watcher task to notice
            return None
        try:
            return next(self.rows)
        except StopIteration:
            self.input_exhausted = True
            return None

    def prepare(self, record: PurchaseRecord) -> _Job | None:
        """A job to send, or None when the row's result is already known (and reported)."""
        if self.rejection is not None and (rejected := self.rejection(record)) is not None:
            self.emit(rejected)
            return None
        lead = (self.lead_resolver(record) if self.lead_resolver else None) or record.lead_id
        if not lead:
            self.emit(RowResult(record.row, RowStatus.REJECTED, error="no lead id for this row"))
            return None
        candidate = self.candidates.get(record.row)
        if candidate is not None:
            content, digest, identity = (
                candidate.content,
                candidate.payload_hash,
                candidate.identity,
            )
        elif self.ledger is not None:  # never sent without a claim: the ledger must know it
            raise ValueError(f"row {record.row} was not claimed in the ledger")
        else:
            content = dumps_payload(record.payload(action=self.action, lead_id=lead))
            digest = identity = hashlib.sha256(content).hexdigest()
        body_sent = content if self.send_bytes else record.payload(action=self.action, lead_id=lead)
        return _Job(record, body_sent, digest, identity, [], content=content)

    async def send_row(self, job: _Job) -> RowResult:
        """Send until the answer is final, retrying what the API certainly did not process."""
        while True:
            outcome = await self.attempt(job)
            result = self.classify(job, outcome)
            if result is not None:
                return result
            await self.back_off(job, outcome)
            if self.halt.is_set():
                return self.stopped_result(job, outcome)

    async def wait_for_gate(self) -> bool | None:
        """Take a slot of the gate; returns whether this request is the breaker's probe."""
        while True:
            await self.gate.acquire()
            probe = self.breaker.claim_probe()
            if probe is not False:
                return probe
            self.gate.release()
            await sleep_unless(self.policy.sleep, 0.05, self.halt)
            if self.halt.is_set():
                raise Stopped

    async def attempt(self, job: _Job) -> Outcome:
        """One request: gate, rate cap, the ``sending`` mark, then the call."""
        probe = await self.wait_for_gate()
        gate = self.gate
        try:
            if self.bucket is not None:
                await self.bucket.take(self.halt)
            if self.stop.is_set():
                self.halt.set()
            if self.halt.is_set():
                raise Stopped
            if self.ledger is not None:
                await self.mark_sending(job)
            job.attempts += 1
            self.report.requests += 1
            self.activity["requests"] += 1
            job.in_flight = True
            sent_at = self.policy.clock()
            outcome = await self.client.create_purchase(job.body)
            job.in_flight = False
            if gate.ramping:
                gate.answered(self.policy.clock() - sent_at)
        finally:
            if probe:
                self.breaker.probing = False
            gate.release()
        self.breaker.record(outcome, outcome.kind in _TRANSIENT, gate, bool(probe))
        if self.breaker.outage and not self.halt.is_set():
            self.report.outage = _outage_text(self.policy.max_outage, self.breaker.last_error)
            self.halt_now()
        return outcome

    async def mark_sending(self, job: _Job) -> None:
        """Commit the row's ``sending`` mark; a failed mark stops the run (nothing goes out)."""
        try:
            await self.ledger.mark_sending_async(job.identity)
        except self.write_errors as exc:
            self.write_failed(exc)
            raise Stopped from None

    def classify(self, job: _Job, outcome: Outcome) -> RowResult | None:
        """The row's final result for this answer, or None when it is to be sent again."""
        kind = outcome.kind
        row = job.record.row
        if kind is OutcomeKind.CREATED:
            self.gate.on_success()
            return RowResult(
                row,
                RowStatus.CREATED,
                purchase_id=outcome.purchase_id,
                http_status=outcome.http_status,
                attempts=job.attempts,
            )
        if kind is OutcomeKind.REJECTED:
            self.gate.on_success()
            return RowResult(
                row,
                RowStatus.REJECTED,
                http_status=outcome.http_status,
                error=outcome.error,
                attempts=job.attempts,
            )
        if kind is OutcomeKind.AUTH:
            self.report.auth_failed = True
            self.halt_now()
            return self.stopped_result(job, outcome)
        if kind in (OutcomeKind.UNKNOWN, OutcomeKind.OK):
            return RowResult(
                row,
                RowStatus.UNCONFIRMED,
                http_status=outcome.http_status,
                error=f"{outcome.error or 'no answer'}; {UNCONFIRMED_HINT}",
                attempts=job.attempts,
            )
        return self.count_retry(job, outcome)

    def count_retry(self, job: _Job, outcome: Outcome) -> RowResult | None:
        """Count a retryable answer; ``retried`` once the row has had its share, else None."""
        # Retryable: the API certainly did not process this request.
        if outcome.kind is OutcomeKind.RATE_LIMITED:
            self.report.rate_limited += 1
            job.rate_limited += 1
            exhausted = job.rate_limited > self.policy.max_rate_limited
        else:
            job.retries += 1
            exhausted = job.retries > self.policy.max_retries
        if not exhausted:
            return None
        return RowResult(
            job.record.row,
            RowStatus.RETRIED,
            http_status=outcome.http_status,
            error=f"{outcome.error or 'not sent'}; gave up after {job.attempts} attempts "
            "(the API did not process it; safe to send again)",
            attempts=job.attempts,
        )

    async def back_off(self, job: _Job, outcome: Outcome) -> None:
        """Record the retry, then wait (Retry-After or backoff); a 429 slows everyone down."""
        if self.ledger is not None:
            self.ledger.record_then(
                job.identity,
                RowResult(
                    job.record.row,
                    RowStatus.RETRIED,
                    http_status=outcome.http_status,
                    error=outcome.error,
                    attempts=job.attempts,
                ),
                on_failed=self.write_failed,
            )
        rate_limited = outcome.kind is OutcomeKind.RATE_LIMITED
        if outcome.retry_after is not None:
            delay = min(outcome.retry_after, self.policy.max_retry_after)
        else:
            delay = self.policy.backoff(job.rate_limited if rate_limited else job.retries)
        if rate_limited:
            # A rate limit applies to the whole key: everyone waits, and fewer go at once.
            self.gate.on_rate_limited(delay)
            self.gate.pause(delay)
        self.activity["retrying"] += 1
        try:
            await sleep_unless(self.policy.sleep, delay, self.halt)
        finally:
            self.activity["retrying"] -= 1

    # -- results -----------------------------------------------------------------------------------

    def finish(self, job: _Job, result: RowResult) -> None:
        """Record the row's result in the ledger, then report it (once it is on disk)."""
        if job.warnings:
            result.warnings = job.warnings + result.warnings
        if self.ledger is None:
            self.emit(result)
            return
        self.ledger.record_then(
            job.identity,
            result,
            lambda: self.emit(result),
            lambda exc: self.unjournalled(job, result, exc),
        )

    def emit(self, result: RowResult) -> None:
        """Count the result and hand it to ``on_result``."""
        self.report.counts[result.status] += 1
        if self.on_result is not None:
            try:
                self.on_result(result)
            except Exception as exc:  # noqa: BLE001 - re-raised after the run, ledger intact
                self.callback_errors.append(exc)

    def unjournalled(self, job: _Job, result: RowResult, exc: BaseException) -> None:
        """The answer could not be recorded: the ledger keeps ``sending``, so: unconfirmed."""
        self.write_failed(exc)
        if job.attempts == 0:
            self.emit(result)  # nothing went out: the ledger has nothing to remember
            return
        if self.ledger is not None and self.ledger.spool_answer(job.identity, result):
            result.warnings.append(
                f"the ledger could not be written ({describe_write_error(exc)}): this answer is "
                "kept on this machine and written into the ledger by the next run"
            )
            self.emit(result)
            return
        self.report.unjournalled += 1
        answer = (
            f"created as purchase {result.purchase_id}"
            if result.status is RowStatus.CREATED
            else f"answered {result.status}" + (f" ({result.error})" if result.error else "")
        )
        unconfirmed = RowResult(
            job.record.row,
            RowStatus.UNCONFIRMED,
            http_status=result.http_status,
            error=f"{answer}, but the answer could not be written to the ledger "
            f"({describe_write_error(exc)}); {UNCONFIRMED_HINT}",
            attempts=job.attempts,
            warnings=result.warnings,
        )
        self.emit(unconfirmed)

    def write_failed(self, exc: BaseException) -> None:
        """The ledger could not be written: halt (the first failure is the one reported)."""
        if self.report.write_error is None:
            where = self.ledger.describe() if self.ledger is not None else ""
            self.report.write_error = f"the ledger {where}: {describe_write_error(exc)}"
        if not self.halt.is_set():
            self.halt_now()

    def not_sent_reason(self) -> str:
        """Why the rows not sent were not sent (401, outage, the ledger, Ctrl-C)."""
        report = self.report
        return not_sent_reason(
            auth_failed=report.auth_failed, outage=report.outage, write_error=report.write_error
        )

    def stopped_result(self, job: _Job, outcome: Outcome | None = None) -> RowResult:
        """The result of a row the run stopped before sending (again)."""
        return RowResult(
            job.record.row,
            RowStatus.NOT_SENT,
            http_status=outcome.http_status if outcome else None,
            error=self.not_sent_reason(),
            attempts=job.attempts,
        )

    def cancelled_result(self, job: _Job) -> RowResult:
        """The result of a row whose worker was cancelled (the stop grace ran out)."""
        if not job.in_flight:
            return self.stopped_result(job)
        return RowResult(
            job.record.row,
            RowStatus.UNCONFIRMED,
            error=f"interrupted while in flight; {UNCONFIRMED_HINT}",
            attempts=job.attempts,
        )
