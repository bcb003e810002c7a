"""Fault injection: latency, a rate limit, and the failures a bulk sender must survive.

Latency (plus jitter) and the rate limit apply to every API request. The probabilities apply to
``create_purchase`` and ``create_purchase_custom`` only, so reads (lead look-ups, channels) stay
clean. For each create request one number is drawn from a ``random.Random(seed)`` and mapped onto
the probabilities in this order: 500, 502, 503, drop-before, commit-then-drop, commit-then-500,
commit-then-slow. Sequential requests therefore meet the same faults on every run with the same
seed. The "commit-then-..." faults act only when the purchase was actually stored; a request that
fails validation gets its normal error reply.
"""

from __future__ import annotations

import math
import random
import threading
import time
from dataclasses import asdict, dataclass, fields
from typing import Any

PRE_FAULTS = ("500", "502", "503", "drop_before")
POST_FAULTS = ("commit_then_drop", "commit_then_500", "commit_then_slow")


@dataclass(frozen=True)
class Faults:
    """What the sandbox does wrong on purpose; the default does nothing wrong.

    latency_ms, jitter_ms: every API request waits ``latency_ms + uniform(0, jitter_ms)``.
    rate_limit: requests per second over all clients; beyond it the answer is 429 with a
        ``Retry-After`` header in whole seconds (at least 1). ``None`` means no limit.
    p_500, p_502, p_503: answer that status before doing anything (503 carries ``Retry-After: 1``).
    p_drop_before: close the connection before doing anything, without a reply.
    p_commit_then_drop: store the purchase, then close the connection without a reply.
    p_commit_then_500: store the purchase, then answer 500 ``{"error": "Internal server error"}``.
    p_commit_then_slow: store the purchase, then answer only after ``slow_seconds``.
    seed: seed of the random choices (faults and jitter).
    """

    latency_ms: float = 0
    jitter_ms: float = 0
    rate_limit: float | None = None
    p_500: float = 0.0
    p_502: float = 0.0
    p_503: float = 0.0
    p_drop_before: float = 0.0
    p_commit_then_drop: float = 0.0
    p_commit_then_500: float = 0.0
    p_commit_then_slow: float = 0.0
    slow_seconds: float = 5.0
    seed: int = 0

    def __post_init__(self) -> None:
        probabilities = [getattr(self, f"p_{name}") for name in PRE_FAULTS + POST_FAULTS]
        if any(not 0.0 <= p <= 1.0 for p in probabilities):
            raise ValueError("fault probabilities must be between 0 and 1")
        if sum(probabilities) > 1.0 + 1e-9:
            raise ValueError("fault probabilities must add up to at most 1")
        if self.latency_ms < 0 or self.jitter_ms < 0 or self.slow_seconds < 0:
            raise ValueError("latency_ms, jitter_ms and slow_seconds must not be negative")
        if self.rate_limit is not None and self.rate_limit <= 0:
            raise ValueError("rate_limit must be a positive number of requests per second")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Faults:
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown fault settings: {', '.join(sorted(unknown))}")
        return cls(**data)


class FaultPlan:
    """The running state of one :class:`Faults`: its random stream and its rate-limit bucket."""

    def __init__(self, faults: Faults | None = None) -> None:
        self.faults = faults or Faults()
        self._rng = random.Random(self.faults.seed)
        self._jitter_rng = random.Random(self.faults.seed + 1)
        self._lock = threading.Lock()
        rate = self.faults.rate_limit
        self._capacity = max(1.0, rate) if rate else 0.0
        self._tokens = self._capacity
        self._refilled = time.monotonic()
        f = self.faults
        self._any_fault = any(getattr(f, f"p_{name}") for name in PRE_FAULTS + POST_FAULTS)
        self._thresholds: list[tuple[float, str]] = []
        total = 0.0
        for name in PRE_FAULTS + POST_FAULTS:
            p = getattr(f, f"p_{name}")
            if p:
                total += p
                self._thresholds.append((total, name))

    def delay_seconds(self) -> float:
        """How long this request waits before it is handled (latency plus jitter)."""
        f = self.faults
        if not f.latency_ms and not f.jitter_ms:
            return 0.0
        jitter = 0.0
        if f.jitter_ms:
            with self._lock:
                jitter = self._jitter_rng.uniform(0, f.jitter_ms)
        return (f.latency_ms + jitter) / 1000.0

    def retry_after(self) -> int | None:
        """Take one token; return ``None`` when allowed, else the whole seconds to wait (>= 1)."""
        rate = self.faults.rate_limit
        if not rate:
            return None
        with self._lock:
            now = time.monotonic()
            self._tokens = min(self._capacity, self._tokens + (now - self._refilled) * rate)
            self._refilled = now
            if self._tokens >= 1.0:
                self._tokens -= 1.0
                return None
            return max(1, math.ceil((1.0 - self._tokens) / rate))

    def draw(self) -> str | None:
        """Pick the fault of one create request (a name from PRE_FAULTS/POST_FAULTS) or None."""
        if not self._any_fault:
            return None
        with self._lock:
            r = self._rng.random()
        for threshold, name in self._thresholds:
            if r < threshold:
                return name
        return None
