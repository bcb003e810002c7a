"""Online preflight: look up every distinct lead once (and the channels once) before sending.

Legacy integer ids resolve to lead UUIDs here; rows whose lead is not accessible or not found get
their final ``rejected`` result without a create call. A 401 stops everything before any purchase
is sent. Look-ups are reads, so any transient failure is retried a few times.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field

from .client import Outcome, OutcomeKind
from .errors import ApiError, AuthenticationError
from .records import PurchaseRecord, RowResult, RowStatus

__all__ = ["LeadLookup", "Preflight", "preflight"]

LeadKey = tuple[str, str | int]  # ("id", uuid) or ("legacy", 12345)


@dataclass(frozen=True, slots=True)
class LeadLookup:
    """The answer about one lead: its UUID and channel, or the API's refusal."""

    lead_id: str | None
    channel_id: str | None
    http_status: int | None
    error: str | None = None


@dataclass
class Preflight:
    """What the API said about the leads and channels of a file."""

    leads: dict[LeadKey, LeadLookup] = field(default_factory=dict)
    channels: dict[str, dict] = field(default_factory=dict)
    requests: int = 0

    def lookup(self, record: PurchaseRecord) -> LeadLookup | None:
        key = lead_key(record)
        return self.leads.get(key) if key else None

    def resolve(self, record: PurchaseRecord) -> str | None:
        """The lead UUID to send for this record, or None when the lead was not found."""
        found = self.lookup(record)
        return found.lead_id if found else None

    def rejection(self, record: PurchaseRecord) -> RowResult | None:
        """A final ``rejected`` result when the lead is not accessible or not found."""
        found = self.lookup(record)
        if found is None or found.lead_id is not None:
            return None
        return RowResult(
            record.row,
            RowStatus.REJECTED,
            http_status=found.http_status,
            error=found.error,
            attempts=0,
        )

    def currency_of(self, record: PurchaseRecord) -> str | None:
        """The currency code of the lead's channel, when known."""
        found = self.lookup(record)
        if found is None or found.channel_id is None:
            return None
        channel = self.channels.get(found.channel_id)
        return channel.get("currency") if channel else None


def lead_key(record: PurchaseRecord) -> LeadKey | None:
    if record.lead_id:
        return ("id", record.lead_id)
    if record.legacy_lead_id is not None:
        return ("legacy", record.legacy_lead_id)
    return None


async def preflight(
    records: Iterable[PurchaseRecord],
    *,
    client,
    concurrency: int = 8,
    attempts: int = 4,
    sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
) -> Preflight:
    """Look up every distinct lead of ``records`` and the channels, before anything is sent.

    Raises AuthenticationError on 401 (checked with the first call, get_channels) and ApiError when
    a look-up still fails after ``attempts`` tries.
    """
    result = Preflight()
    channels = await _read(client.get_channels, (), attempts, sleep, result, "the channels")
    for channel in (channels.data or {}).get("channels") or []:
        if isinstance(channel, dict) and channel.get("id"):
            result.channels[channel["id"]] = channel

    keys: list[LeadKey] = list(dict.fromkeys(k for r in records if (k := lead_key(r))))
    queue: asyncio.Queue[LeadKey] = asyncio.Queue()
    for key in keys:
        queue.put_nowait(key)

    async def worker() -> None:
        while not queue.empty():
            key = queue.get_nowait()
            kind, value = key
            if kind == "id":
                call, what = client.get_lead, f"lead {value}"
            else:
                call, what = client.get_lead_by_legacy_id, f"legacy lead {value}"
            outcome = await _read(call, (value,), attempts, sleep, result, what)
            if outcome.kind is OutcomeKind.OK:
                lead = (outcome.data or {}).get("lead") or {}
                result.leads[key] = LeadLookup(
                    lead_id=lead.get("id"),
                    channel_id=lead.get("channels_id"),
                    http_status=outcome.http_status,
                )
                if not lead.get("id"):
                    result.leads[key] = LeadLookup(
                        None, None, outcome.http_status, f"{what}: the API returned no lead"
                    )
            else:  # rejected: 400/403/404
                result.leads[key] = LeadLookup(None, None, outcome.http_status, outcome.error)

    tasks = [asyncio.create_task(worker()) for _ in range(max(1, min(concurrency, len(keys))))]
    try:
        await asyncio.gather(*tasks)
    finally:
        for task in tasks:
            task.cancel()
    return result


async def _read(call, args: tuple, attempts: int, sleep, result: Preflight, what: str) -> Outcome:
    """A read call, retried on anything transient (reads are safe to repeat)."""
    outcome: Outcome | None = None
    for attempt in range(1, attempts + 1):
        result.requests += 1
        outcome = await call(*args)
        if outcome.kind is OutcomeKind.AUTH:
            raise AuthenticationError(
                "Invalid API key",
                status=401,
                hint="Check KEEN_API_KEY or --api-key-file; nothing was sent.",
            )
        if outcome.kind in (OutcomeKind.OK, OutcomeKind.REJECTED):
            return outcome
        if attempt < attempts:
            await sleep(
                outcome.retry_after if outcome.retry_after is not None else 0.2 * 2**attempt
            )
    assert outcome is not None
    raise ApiError(
        f"Could not look up {what}: {outcome.error or outcome.kind} after {attempts} tries.",
        status=outcome.http_status,
        hint="Check the API URL and your network, then run again; nothing was sent.",
    )
