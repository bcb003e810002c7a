"""Send purchases with bounded concurrency, an optional rate cap, retries and a circuit breaker.

Policy (issue 4), per row:

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
- ``stop`` set (Ctrl-C): no new rows; requests in flight get ``stop_grace`` seconds to finish, then
  are cancelled (their rows become ``unconfirmed``); rows waiting to retry become ``not_sent``.

Every record yields exactly one RowResult, through ``on_result`` and in the report counts. With a
journal, a result is reported only after it is on disk.
"""

from __future__ import annotations

import asyncio
import gc
import hashlib
import random
import time
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass, field

from importer.records import PurchaseRecord, RowResult, RowStatus, dumps_payload
from importer.send.client import Outcome, OutcomeKind
from importer.send.journal import Journal

__all__ = ["RetryPolicy", "SendReport", "not_sent_reason", "payload_hash", "send_all"]

UNCONFIRMED_HINT = (
    "the purchase may have been created: check in Keen, then re-run with --resend-unconfirmed"
)


@dataclass
class RetryPolicy:
    """Tuning of retries, backoff and the circuit breaker. ``sleep``/``jitter``/``clock`` are
    injectable so tests can run the policy on a fake clock."""

    max_retries: int = 5
    base_delay: float = 0.25
    max_delay: float = 30.0
    max_retry_after: float = 300.0
    max_rate_limited: int = 50
    breaker_window: int = 20
    breaker_threshold: float = 0.6
    breaker_cooldown: float = 2.0
    breaker_max_cooldown: float = 60.0
    max_outage: float = 600.0
    stop_grace: float = 5.0
    sleep: Callable[[float], Awaitable[object]] = asyncio.sleep
    jitter: Callable[[], float] = random.random
    clock: Callable[[], float] = time.monotonic

    def backoff(self, retry: int) -> float:
        """Full-jitter exponential backoff before retry number ``retry`` (1-based)."""
        return self.jitter() * min(self.max_delay, self.base_delay * 2 ** (retry - 1))


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

    @property
    def rows(self) -> int:
        return sum(self.counts.values())

    @property
    def requests_per_second(self) -> float:
        return self.requests / self.duration if self.duration > 0 else 0.0


def payload_hash(body: dict) -> str:
    """sha256 of the serialised payload (with the resolved lead id): the journal's row identity."""
    return hashlib.sha256(dumps_payload(body)).hexdigest()


def _bytes_hash(content: bytes) -> str:
    """:func:`payload_hash` of a payload already serialised with :func:`dumps_payload`."""
    return hashlib.sha256(content).hexdigest()


class _Stopped(Exception):
    """Raised inside a worker when the run stops before the row's next request."""


class _Gate:
    """Adaptive concurrency limit (AIMD) plus a shared pause (Retry-After, open breaker).

    Slow start: the first request goes alone; once it is answered the others join one by one
    over one round trip (its latency, at most a second), so the API sees an even stream rather
    than a burst of ``limit`` requests that would keep arriving in waves.
    """

    def __init__(self, limit: int, policy: RetryPolicy, halt: asyncio.Event) -> None:
        self.max_limit = limit
        self.limit = 1
        self.ramping = limit > 1
        self._ramp_task: asyncio.Task | None = None
        self.lowest = limit
        self.in_use = 0
        self.successes = 0
        self.pause_until = 0.0
        self.last_decrease = -1e9
        self.policy = policy
        self.halt = halt
        self._waiters: list[asyncio.Future] = []  # acquirers waiting for a change

    async def acquire(self) -> None:
        clock = self.policy.clock
        while True:
            if self.halt.is_set():
                raise _Stopped
            wait = self.pause_until - clock()
            if wait > 0:
                await _sleep_unless(self.policy.sleep, wait, self.halt)
                continue
            if self.in_use < self.limit:
                self.in_use += 1  # no await since the checks: nobody else can take the slot
                return
            waiter = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            try:
                await waiter
            finally:
                if waiter in self._waiters:
                    self._waiters.remove(waiter)

    def release(self) -> None:
        self.in_use -= 1
        if self._waiters:
            self.wake()

    def wake(self) -> None:
        """Every waiting acquirer checks again (halt, pause, limit)."""
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    def pause(self, seconds: float) -> None:
        self.pause_until = max(self.pause_until, self.policy.clock() + seconds)

    def answered(self, latency: float) -> None:
        """The first answer is in: let the other requests join, spread over ``latency``."""
        if self.ramping and self._ramp_task is None:
            spacing = min(latency, 1.0) / self.max_limit
            self._ramp_task = asyncio.get_running_loop().create_task(self._ramp(spacing))

    async def _ramp(self, spacing: float) -> None:
        while self.ramping and self.limit < self.max_limit and not self.halt.is_set():
            self.limit += 1
            self.wake()
            if spacing > 0:
                await _sleep_unless(self.policy.sleep, spacing, self.halt)
        self.ramping = False

    def close(self) -> None:
        """Stop the slow start (end of the run)."""
        self.ramping = False
        if self._ramp_task is not None:
            self._ramp_task.cancel()

    def on_success(self) -> None:
        if self.ramping:
            return
        self.successes += 1
        if self.limit < self.max_limit and self.successes >= self.limit:
            self.limit += 1
            self.successes = 0

    def on_rate_limited(self, retry_after: float) -> None:
        now = self.policy.clock()
        # During the slow start the limit is still growing: halve the configured one.
        base = self.max_limit if self.ramping else self.limit
        self.ramping = False  # from here AIMD decides
        self.successes = 0
        # Halve once per back-off period, not once per 429 already in flight.
        if now - self.last_decrease >= max(retry_after, 0.05):
            self.limit = max(1, base // 2)
            self.lowest = min(self.lowest, self.limit)
            self.last_decrease = now


class _Breaker:
    """Opens when most recent requests failed transiently; lets one probe through after a pause."""

    def __init__(self, policy: RetryPolicy) -> None:
        self.policy = policy
        self.window: deque[bool] = deque(maxlen=policy.breaker_window)
        self.failures = 0  # True values in window
        self.cooldown = policy.breaker_cooldown
        self.open_until: float | None = None
        self.probing = False
        self.trips = 0
        self.last_answer = policy.clock()  # the last request that was not a transient failure
        self.last_error: str | None = None
        self.outage = False  # no real answer for policy.max_outage seconds

    def record(self, outcome: Outcome, transient_failure: bool, gate: _Gate, probe: bool) -> None:
        if outcome.kind is OutcomeKind.RATE_LIMITED:
            self.last_answer = self.policy.clock()  # the API is there, only busy: not a failure
            return
        if transient_failure:
            self.last_error = outcome.error or (
                f"HTTP {outcome.http_status}" if outcome.http_status else None
            )
        else:
            self.last_answer = self.policy.clock()
        if probe:
            self.probing = False
            if transient_failure:
                self._trip(gate)
            else:
                self.cooldown = self.policy.breaker_cooldown
                self.open_until = None
                self.window.clear()
                self.failures = 0
            return
        window = self.window
        if len(window) == window.maxlen and window[0]:
            self.failures -= 1  # about to drop out of the window
        window.append(transient_failure)
        if transient_failure:
            self.failures += 1
        if (
            self.open_until is None
            and len(window) == window.maxlen
            and self.failures >= self.policy.breaker_threshold * len(window)
        ):
            self._trip(gate)

    def _trip(self, gate: _Gate) -> None:
        self.trips += 1
        if self.policy.clock() - self.last_answer >= self.policy.max_outage:
            self.outage = True
        self.open_until = self.policy.clock() + self.cooldown
        gate.pause(self.cooldown)
        self.cooldown = min(self.cooldown * 2, self.policy.breaker_max_cooldown)
        self.window.clear()
        self.failures = 0

    def claim_probe(self) -> bool | None:
        """None: closed, send freely. True: this request is the probe. False: wait."""
        if self.open_until is None:
            return None
        if self.probing or self.policy.clock() < self.open_until:
            return False
        self.probing = True
        return True


class _TokenBucket:
    def __init__(self, rate: float, policy: RetryPolicy) -> None:
        self.rate = rate
        self.capacity = max(1.0, rate / 10)
        self.tokens = self.capacity
        self.policy = policy
        self.updated = policy.clock()

    async def take(self, halt: asyncio.Event) -> None:
        while True:
            now = self.policy.clock()
            self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
            self.updated = now
            if self.tokens >= 1:
                self.tokens -= 1
                return
            if halt.is_set():
                raise _Stopped
            await _sleep_unless(self.policy.sleep, (1 - self.tokens) / self.rate, halt)


def not_sent_reason(*, auth_failed: bool, outage: str | None) -> str:
    """The error of a row that was not sent because the run stopped early."""
    if auth_failed:
        return "not sent: the API key was rejected (401 Invalid API key)"
    if outage:
        return f"not sent: {outage}"
    return "not sent: the run was interrupted"


def _outage_text(seconds: float, last_error: str | None) -> str:
    span = f"{seconds / 60:g} minutes" if seconds >= 60 else f"{seconds:g} seconds"
    last = f" (last error: {last_error})" if last_error else ""
    return f"the API gave no answer for {span}{last}; sending stopped"


async def _sleep_unless(sleep: Callable[[float], Awaitable[object]], seconds: float, halt) -> None:
    """Sleep, but return early when ``halt`` is set."""
    if halt.is_set() or seconds <= 0:
        return
    sleeper = asyncio.ensure_future(sleep(seconds))
    halted = asyncio.ensure_future(halt.wait())
    try:
        await asyncio.wait({sleeper, halted}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        sleeper.cancel()
        halted.cancel()


@dataclass(slots=True)
class _Job:
    record: PurchaseRecord
    body: dict | bytes  # bytes (as dumps_payload wrote them) for clients that take them
    payload_hash: str
    warnings: list[str]
    attempts: int = 0
    in_flight: bool = False


async def send_all(
    records: Iterable[PurchaseRecord],
    *,
    client,
    journal: Journal | None = None,
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
    the record's own ``lead_id``). ``rejection`` returns a final result for rows preflight already
    rejected (never sent). ``rate`` caps requests per second. ``stop`` ends the run gracefully.
    ``policy`` tunes backoff and the breaker (``max_retries`` overrides ``policy.max_retries``).
    ``activity``, when given, is kept current for progress displays: ``requests`` is increased by
    every request sent, ``retrying`` counts the rows waiting to be sent again.
    """
    policy = policy or RetryPolicy()
    policy.max_retries = max_retries
    report = SendReport()
    started = time.perf_counter()
    halt = asyncio.Event()  # no new requests: 401 or stop
    stop = stop or asyncio.Event()
    gate = _Gate(max(1, concurrency), policy, halt)
    breaker = _Breaker(policy)
    bucket = _TokenBucket(rate, policy) if rate else None
    callback_errors: list[BaseException] = []
    journal_start = journal.commit_seconds if journal else 0.0
    activity = activity if activity is not None else {}
    activity.setdefault("requests", 0)
    activity.setdefault("retrying", 0)

    def emit(result: RowResult) -> None:
        report.counts[result.status] += 1
        if on_result is not None:
            try:
                on_result(result)
            except Exception as exc:  # noqa: BLE001 - re-raised after the run, journal intact
                callback_errors.append(exc)

    # KeenClient takes the serialised bytes: the payload is serialised once, for the hash and the
    # request. Other clients (tests' fakes) get the dict.
    send_bytes = bool(getattr(client, "accepts_payload_bytes", False))

    def finish(job: _Job, result: RowResult) -> None:
        if job.warnings:
            result.warnings = job.warnings + result.warnings
        if journal is None:
            emit(result)
        else:
            journal.record_then(job.record.row, job.payload_hash, result, lambda: emit(result))

    def prepare(record: PurchaseRecord) -> _Job | None:
        """A job to send, or None when the row's result is already known (and emitted)."""
        if rejection is not None and (rejected := rejection(record)) is not None:
            emit(rejected)
            return None
        lead = (lead_resolver(record) if lead_resolver else None) or record.lead_id
        if not lead:
            emit(RowResult(record.row, RowStatus.REJECTED, error="no lead id for this row"))
            return None
        body = record.payload(action=action, lead_id=lead)
        content = dumps_payload(body)
        digest = _bytes_hash(content)
        warnings: list[str] = []
        if journal is not None:
            known = journal.decide(record.row, digest, resend_unconfirmed=resend_unconfirmed)
            if known is not None:
                emit(known)
                return None
            before = journal.previous(record.row)
            if before is not None and before.payload_hash != digest and before.status == "created":
                warnings.append(
                    f"payload changed since an earlier run created purchase {before.purchase_id} "
                    "for this row; sent as a new purchase"
                )
        return _Job(record, content if send_bytes else body, digest, warnings)

    def stopped_result(job: _Job, outcome: Outcome | None = None) -> RowResult:
        return RowResult(
            job.record.row,
            RowStatus.NOT_SENT,
            http_status=outcome.http_status if outcome else None,
            error=not_sent_reason(auth_failed=report.auth_failed, outage=report.outage),
            attempts=job.attempts,
        )

    async def attempt(job: _Job) -> Outcome:
        while True:
            await gate.acquire()
            probe = breaker.claim_probe()
            if probe is False:
                gate.release()
                await _sleep_unless(policy.sleep, 0.05, halt)
                if halt.is_set():
                    raise _Stopped
                continue
            break
        try:
            if bucket is not None:
                await bucket.take(halt)
            if stop.is_set():
                halt.set()
            if halt.is_set():
                raise _Stopped
            if journal is not None:
                await journal.mark_sending_async(job.record.row, job.payload_hash)
            job.attempts += 1
            report.requests += 1
            activity["requests"] += 1
            job.in_flight = True
            sent_at = policy.clock()
            outcome = await client.create_purchase(job.body)
            job.in_flight = False
            if gate.ramping:
                gate.answered(policy.clock() - sent_at)
        finally:
            if probe:
                breaker.probing = False
            gate.release()
        transient = outcome.kind in (
            OutcomeKind.NOT_SENT,
            OutcomeKind.UNKNOWN,
            OutcomeKind.UNAVAILABLE,
        )
        breaker.record(outcome, transient, gate, bool(probe))
        if breaker.outage and not halt.is_set():
            report.outage = _outage_text(policy.max_outage, breaker.last_error)
            halt.set()
            gate.wake()
        return outcome

    async def send_one(job: _Job) -> RowResult:
        retries = 0
        rate_limited = 0
        while True:
            outcome = await attempt(job)
            kind = outcome.kind
            if kind is OutcomeKind.CREATED:
                gate.on_success()
                return RowResult(
                    job.record.row,
                    RowStatus.CREATED,
                    purchase_id=outcome.purchase_id,
                    http_status=outcome.http_status,
                    attempts=job.attempts,
                )
            if kind is OutcomeKind.REJECTED:
                gate.on_success()
                return RowResult(
                    job.record.row,
                    RowStatus.REJECTED,
                    http_status=outcome.http_status,
                    error=outcome.error,
                    attempts=job.attempts,
                )
            if kind is OutcomeKind.AUTH:
                report.auth_failed = True
                halt.set()
                gate.wake()
                return stopped_result(job, outcome)
            if kind in (OutcomeKind.UNKNOWN, OutcomeKind.OK):
                return RowResult(
                    job.record.row,
                    RowStatus.UNCONFIRMED,
                    http_status=outcome.http_status,
                    error=f"{outcome.error or 'no answer'}; {UNCONFIRMED_HINT}",
                    attempts=job.attempts,
                )
            # Retryable: the API certainly did not process this request.
            if kind is OutcomeKind.RATE_LIMITED:
                report.rate_limited += 1
                rate_limited += 1
                exhausted = rate_limited > policy.max_rate_limited
            else:
                retries += 1
                exhausted = retries > policy.max_retries
            if exhausted:
                return RowResult(
                    job.record.row,
                    RowStatus.RETRIED,
                    http_status=outcome.http_status,
                    error=f"{outcome.error or 'not sent'}; gave up after {job.attempts} attempts "
                    "(the API did not process it; safe to send again)",
                    attempts=job.attempts,
                )
            if journal is not None:
                journal.record_then(
                    job.record.row,
                    job.payload_hash,
                    RowResult(
                        job.record.row,
                        RowStatus.RETRIED,
                        http_status=outcome.http_status,
                        error=outcome.error,
                        attempts=job.attempts,
                    ),
                )
            if outcome.retry_after is not None:
                delay = min(outcome.retry_after, policy.max_retry_after)
            else:
                count = rate_limited if kind is OutcomeKind.RATE_LIMITED else retries
                delay = policy.backoff(count)
            if kind is OutcomeKind.RATE_LIMITED:
                # A rate limit applies to the whole key: everyone waits, and fewer go at once.
                gate.on_rate_limited(delay)
                gate.pause(delay)
            activity["retrying"] += 1
            try:
                await _sleep_unless(policy.sleep, delay, halt)
            finally:
                activity["retrying"] -= 1
            if halt.is_set():
                return stopped_result(job, outcome)

    iterator: Iterator[PurchaseRecord] = iter(records)
    exhausted_input = False

    async def worker() -> None:
        nonlocal exhausted_input
        while not halt.is_set():
            if stop.is_set():
                halt.set()  # do not wait for the watcher task to notice
                break
            try:
                record = next(iterator)
            except StopIteration:
                exhausted_input = True
                return
            job = prepare(record)
            if job is None:
                await asyncio.sleep(0) if report.rows % 256 == 0 else None
                continue
            try:
                result = await send_one(job)
            except _Stopped:
                result = stopped_result(job)
            except asyncio.CancelledError:
                if job.in_flight:
                    result = RowResult(
                        job.record.row,
                        RowStatus.UNCONFIRMED,
                        error=f"interrupted while in flight; {UNCONFIRMED_HINT}",
                        attempts=job.attempts,
                    )
                else:
                    result = stopped_result(job)
                finish(job, result)
                raise
            finish(job, result)

    async def watch_stop() -> None:
        await stop.wait()
        report.interrupted = True
        halt.set()
        gate.wake()

    # Objects that exist before the run (the records, caches) never become garbage during it:
    # freezing them keeps the collector's full passes from walking them again and again.
    gc.freeze()
    workers = [asyncio.create_task(worker()) for _ in range(max(1, concurrency))]
    watcher = asyncio.create_task(watch_stop())
    try:
        pending = set(workers)
        while pending:
            timeout = policy.stop_grace if halt.is_set() else None
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
                break
    finally:
        watcher.cancel()
        for task in workers:
            task.cancel()
        await asyncio.gather(*workers, watcher, return_exceptions=True)
        if stop.is_set():
            report.interrupted = True
        if not exhausted_input:
            # The run stopped early: every row not taken yet still gets its one result.
            for record in iterator:
                job = prepare(record)
                if job is not None:
                    finish(job, stopped_result(job))
        if journal is not None:
            await journal.flush()
            report.journal_seconds = journal.commit_seconds - journal_start
        report.breaker_trips = breaker.trips
        gate.close()
        gc.unfreeze()
        report.lowest_concurrency = gate.lowest
        report.duration = time.perf_counter() - started
    if callback_errors:
        raise callback_errors[0]
    return report
