"""Pacing of the sender: the retry policy, the concurrency gate, the circuit breaker, the rate cap.

These decide *when* a request may go out; :mod:`importer.send.sender` decides *what* happens to a
row. Every wait returns early when the run halts (401, outage, Ctrl-C, a disk that fails).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from importer.send.client import Outcome, OutcomeKind

__all__ = ["Breaker", "Gate", "RetryPolicy", "Stopped", "TokenBucket", "sleep_unless"]


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


class Stopped(Exception):
    """Raised inside a worker when the run stops before the row's next request."""


async def sleep_unless(
    sleep: Callable[[float], Awaitable[object]], seconds: float, halt: asyncio.Event
) -> None:
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


class Gate:
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
        """Take a slot once no pause is on and fewer than ``limit`` requests are out."""
        clock = self.policy.clock
        while True:
            if self.halt.is_set():
                raise Stopped
            wait = self.pause_until - clock()
            if wait > 0:
                await sleep_unless(self.policy.sleep, wait, self.halt)
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
        """Give a slot back."""
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
        """Nobody takes a slot for ``seconds``."""
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
                await sleep_unless(self.policy.sleep, spacing, self.halt)
        self.ramping = False

    def close(self) -> None:
        """Stop the slow start (end of the run)."""
        self.ramping = False
        if self._ramp_task is not None:
            self._ramp_task.cancel()

    def on_success(self) -> None:
        """An answer that was not a rate limit: additive increase."""
        if self.ramping:
            return
        self.successes += 1
        if self.limit < self.max_limit and self.successes >= self.limit:
            self.limit += 1
            self.successes = 0

    def on_rate_limited(self, retry_after: float) -> None:
        """A 429: multiplicative decrease, once per back-off period."""
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


class Breaker:
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

    def record(self, outcome: Outcome, transient_failure: bool, gate: Gate, probe: bool) -> None:
        """Count one answer; trip (pausing ``gate``) when too many recent ones failed."""
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
            self._probe_answered(transient_failure, gate)
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

    def _probe_answered(self, transient_failure: bool, gate: Gate) -> None:
        self.probing = False
        if transient_failure:
            self._trip(gate)
            return
        self.cooldown = self.policy.breaker_cooldown
        self.open_until = None
        self.window.clear()
        self.failures = 0

    def _trip(self, gate: Gate) -> None:
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


class TokenBucket:
    """The ``--rate`` cap: at most ``rate`` requests per second, in bursts of a tenth of it."""

    def __init__(self, rate: float, policy: RetryPolicy) -> None:
        self.rate = rate
        self.capacity = max(1.0, rate / 10)
        self.tokens = self.capacity
        self.policy = policy
        self.updated = policy.clock()

    async def take(self, halt: asyncio.Event) -> None:
        """Wait for a token (raises Stopped when the run halts meanwhile)."""
        while True:
            now = self.policy.clock()
            self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
            self.updated = now
            if self.tokens >= 1:
                self.tokens -= 1
                return
            if halt.is_set():
                raise Stopped
            await sleep_unless(self.policy.sleep, (1 - self.tokens) / self.rate, halt)
