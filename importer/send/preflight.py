"""Online preflight: look up every distinct lead once (and the channels once) before sending.

Legacy integer ids resolve to lead UUIDs here; rows whose lead is not accessible (403) or not
found (404 naming the lead) get their final ``rejected`` result without a create call. A 401 stops
everything before any purchase is sent. Look-ups are reads, so transient failures are retried.

The preflight is a safety net, never a gate the API does not ask for: when a look-up action is
not supported by the server (a 400 on a well-formed request, a 404/405/501 that does not name a
lead) or keeps failing transiently, the row is still sent and ``create_purchase`` decides. Only a
legacy id that cannot be resolved keeps its row back (``retried``: safe to send on a later run).
One exception: when the first read (the channels) never gets an answer at all, because every try
lost its connection or timed out after the request went out, the run stops with nothing sent:
every purchase sent to that URL would end ``unconfirmed`` (a wrong port or scheme, a firewall
that resets connections, an API that hangs).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field

from importer.errors import AuthenticationError, ConfigurationError, NetworkError
from importer.records import PurchaseRecord, RowResult, RowStatus
from importer.send.client import Outcome, OutcomeKind

__all__ = ["LeadLookup", "Preflight", "preflight"]

LeadKey = tuple[str, str | int]  # ("id", uuid) or ("legacy", 12345)
NO_ANSWER_HINT = (
    "check --api-url (https:// or http://, host and port) and the proxy settings (--proxy, "
    "HTTPS_PROXY, NO_PROXY); for a slow API raise --timeout; then run the same command again"
)


@dataclass(frozen=True, slots=True)
class LeadLookup:
    """The answer about one lead: its UUID and channel, or the API's refusal."""

    lead_id: str | None
    channel_id: str | None
    http_status: int | None
    error: str | None = None
    unknown: bool = False  # the API could not tell (unsupported action, transient failure)


@dataclass
class Preflight:
    """What the API said about the leads and channels of a file."""

    leads: dict[LeadKey, LeadLookup] = field(default_factory=dict)
    channels: dict[str, dict] = field(default_factory=dict)
    requests: int = 0
    notes: list[str] = field(default_factory=list)  # what the preflight could not check

    def lookup(self, record: PurchaseRecord) -> LeadLookup | None:
        """What the API said about this record's lead, if it was asked."""
        key = lead_key(record)
        return self.leads.get(key) if key else None

    def resolve(self, record: PurchaseRecord) -> str | None:
        """The lead UUID to send for this record, or None when the lead was not found."""
        found = self.lookup(record)
        if found is None or found.lead_id is None:
            return record.lead_id if found is None or found.unknown else None
        return found.lead_id

    def rejection(self, record: PurchaseRecord) -> RowResult | None:
        """A final result for rows that must not be sent: lead refused, or legacy id unresolved."""
        found = self.lookup(record)
        if found is None or found.lead_id is not None:
            return None
        if found.unknown:
            if record.lead_id:
                return None  # send it: create_purchase has the last word on the lead
            return RowResult(
                record.row,
                RowStatus.RETRIED,
                http_status=found.http_status,
                error=f"could not resolve legacy lead {record.legacy_lead_id} to a lead id "
                f"({found.error}); nothing was sent, run again later",
            )
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
    """The look-up key of a record's lead: ('id', uuid) or ('legacy', number)."""
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
    known: Preflight | None = None,
) -> Preflight:
    """Look up every distinct lead of ``records`` and the channels, before anything is sent;
    ``known``: the preflight of the file's earlier chunks (its channels, and the leads it has an
    answer about, are not asked again).

    Raises AuthenticationError on 401 (checked with the first call, get_channels),
    ConfigurationError on a redirect, and NetworkError when every try of that first call lost
    its answer; nothing has been sent when any of them is raised.
    """
    if known is None:
        result = Preflight()
        await _read_channels(client, attempts, sleep, result)
    else:
        result = Preflight(dict(known.leads), dict(known.channels), notes=list(known.notes))
    wanted = dict.fromkeys(k for r in records if (k := lead_key(r)))
    answered = {key for key, found in result.leads.items() if not found.unknown}
    keys: list[LeadKey] = [key for key in wanted if key not in answered]
    queue: asyncio.Queue[LeadKey] = asyncio.Queue()
    for key in keys:
        queue.put_nowait(key)
    lookups = _LeadLookups(client, attempts, sleep, result)

    async def worker() -> None:
        while not queue.empty():
            await lookups.look_up(queue.get_nowait())

    tasks = [asyncio.create_task(worker()) for _ in range(max(1, min(concurrency, len(keys))))]
    try:
        await asyncio.gather(*tasks)
    finally:
        for task in tasks:
            task.cancel()
    return result


async def _read_channels(client, attempts: int, sleep, result: Preflight) -> None:
    """Every channel the key can see (for their currencies); a failure is only a note, but no
    answer at all (the connection lost or timed out after the request) stops the run."""
    tries: list[Outcome] = []

    async def get_channels() -> Outcome:
        tries.append(await client.get_channels())
        return tries[-1]

    channels = await _read(get_channels, (), attempts, sleep, result, "the channels")
    _stop_unless_answered(tries)
    data = channels.data if channels.kind is OutcomeKind.OK else None
    listed = data.get("channels") if isinstance(data, dict) else None
    for channel in listed or []:
        if isinstance(channel, dict) and channel.get("id"):
            result.channels[channel["id"]] = channel
    if channels.kind is not OutcomeKind.OK:
        result.notes.append(
            f"get_channels failed ({channels.http_status or channels.kind}: {channels.error}); "
            "channel currencies were not checked"
        )


def _stop_unless_answered(tries: list[Outcome]) -> None:
    """Raise NetworkError when no try got an HTTP answer and one at least lost it after the
    request went out (tries that could not connect alone are left to the sender's retries)."""
    if any(t.http_status is not None for t in tries):
        return
    lost = [t for t in tries if t.kind is OutcomeKind.UNKNOWN]
    if lost:
        raise NetworkError(
            f"the API URL left the request for the channels without an answer after "
            f"{len(tries)} tries ({lost[-1].error}); nothing was sent, as every purchase would "
            "end unconfirmed",
            hint=NO_ANSWER_HINT,
        )


class _LeadLookups:
    """Looks leads up one by one into ``result.leads``; stops asking once an action is refused."""

    def __init__(self, client, attempts: int, sleep, result: Preflight) -> None:
        self.client = client
        self.attempts = attempts
        self.sleep = sleep
        self.result = result
        self.unsupported: dict[str, bool] = {}  # "id"/"legacy": the API has no such look-up

    async def look_up(self, key: LeadKey) -> None:
        """Ask the API about one lead and store what it said."""
        kind, value = key
        if kind == "id":
            call, what = self.client.get_lead, f"lead {value}"
        else:
            call, what = self.client.get_lead_by_legacy_id, f"legacy lead {value}"
        if self.unsupported.get(kind):
            self.result.leads[key] = LeadLookup(None, None, None, "look-up not supported", True)
            return
        outcome = await _read(call, (value,), self.attempts, self.sleep, self.result, what)
        self.result.leads[key] = self.answer(kind, outcome, what)

    def answer(self, kind: str, outcome: Outcome, what: str) -> LeadLookup:
        """What one look-up's outcome says about the lead."""
        if outcome.kind is OutcomeKind.REJECTED and not _refuses_lead(outcome):
            self.unsupported[kind] = True
            action = "get_lead_by_id" if kind == "id" else "get_lead_by_legacy_id"
            self.result.notes.append(
                f"{action} is not supported by this API ({outcome.http_status}: "
                f"{outcome.error}); leads were not checked before sending"
            )
            return LeadLookup(None, None, outcome.http_status, outcome.error, True)
        if outcome.kind not in (OutcomeKind.OK, OutcomeKind.REJECTED):
            return LeadLookup(
                None, None, outcome.http_status, outcome.error or str(outcome.kind), True
            )
        if outcome.kind is OutcomeKind.REJECTED:  # 400/403/404 about the lead
            return LeadLookup(None, None, outcome.http_status, outcome.error)
        lead = (outcome.data or {}).get("lead") or {}
        if not lead.get("id"):
            return LeadLookup(None, None, outcome.http_status, f"{what}: the API returned no lead")
        return LeadLookup(
            lead_id=lead.get("id"),
            channel_id=lead.get("channels_id"),
            http_status=outcome.http_status,
        )


def _refuses_lead(outcome: Outcome) -> bool:
    """True when a rejected look-up is about the lead itself (403, or 404 naming a lead)."""
    if outcome.http_status == 403:
        return True
    text = (outcome.error or "").lower()
    return outcome.http_status == 404 and "lead" in text and "action" not in text


async def _read(call, args: tuple, attempts: int, sleep, result: Preflight, what: str) -> Outcome:
    """A read call, retried on anything transient (reads are safe to repeat).

    Returns the last outcome; only a 401 or a redirect raises (nothing may be sent with a
    refused key, or to a URL that is not the API's).
    """
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
        if 300 <= (outcome.http_status or 0) < 400:  # not the API: stop before any row is sent
            raise ConfigurationError(
                f"the API URL answered a request for {what} with a redirect (HTTP "
                f"{outcome.http_status}): it is not the API's address, and nothing was sent",
                hint="check --api-url: give the address it redirects to",
            )
        if outcome.kind in (OutcomeKind.OK, OutcomeKind.REJECTED):
            return outcome
        if attempt < attempts:
            await sleep(
                outcome.retry_after if outcome.retry_after is not None else 0.2 * 2**attempt
            )
    assert outcome is not None
    return outcome
