"""send_all: retry policy on a fake clock, stopping, resume from the ledger, and exactly-once
over real HTTP."""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from decimal import Decimal

import pytest

from importer.ledger import Ledger, LedgerLocation, candidate_for
from importer.records import PurchaseRecord, RowResult, RowStatus
from importer.sandbox import Faults, Sandbox
from importer.send.changed import FileRow, find_edited_rows
from importer.send.client import KeenClient, Outcome, OutcomeKind
from importer.send.preflight import preflight
from importer.send.sender import UNCONFIRMED_HINT, RetryPolicy, SendReport, payload_hash, send_all

LEAD = "47378190-96da-4dac-b2ff-5d2a386ecbe0"
LEADS = (LEAD, "c241330b-01a9-471f-9e8a-774bcf36d58b", "ec1b8ca1-f91e-4d4c-9ff4-9b7889463e85")
FABRIKAM_LEAD = "fc377a4c-4a15-444d-85e7-ce8a3a578a8e"

CREATED = object()  # script marker: answer created with id p-<row>


def created(row: int) -> Outcome:
    return Outcome(OutcomeKind.CREATED, 200, purchase_id=f"p-{row}")


NOT_SENT = Outcome(OutcomeKind.NOT_SENT, error="could not connect")
UNKNOWN_500 = Outcome(OutcomeKind.UNKNOWN, 500, error="Internal server error")
AUTH = Outcome(OutcomeKind.AUTH, 401, error="Invalid API key")


def rate_limited(seconds: float | None) -> Outcome:
    return Outcome(OutcomeKind.RATE_LIMITED, 429, error="Rate Limited", retry_after=seconds)


class FakeClient:
    """Answers from a script per row (default: created); remembers every call."""

    def __init__(self, script: dict[int, list[Outcome]] | None = None, *, hang=()) -> None:
        self.script = {row: list(outcomes) for row, outcomes in (script or {}).items()}
        self.calls: list[int] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self.hang = set(hang)

    async def create_purchase(self, body: dict) -> Outcome:
        row = int(body["product_name"][1:])
        self.calls.append(row)
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if row in self.hang:
                await asyncio.Event().wait()
            await asyncio.sleep(0)
            queue = self.script.get(row)
            if queue:
                return queue.pop(0) if len(queue) > 1 else queue[0]
            return created(row)
        finally:
            self.in_flight -= 1


class FakeTime:
    """A clock that only moves when someone sleeps; remembers every sleep."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(round(seconds, 6))
        self.now += seconds
        await asyncio.sleep(0)

    def policy(self, **changes) -> RetryPolicy:
        return RetryPolicy(sleep=self.sleep, jitter=lambda: 1.0, clock=lambda: self.now, **changes)


def records(rows, lead: str = LEAD) -> list[PurchaseRecord]:
    return [
        PurchaseRecord(
            row=row, lead_id=lead, purchase_amount=Decimal("10.50"), product_name=f"r{row}"
        )
        for row in rows
    ]


def send(recs, client, **options) -> tuple[SendReport, dict[int, RowResult]]:
    results: dict[int, RowResult] = {}

    def collect(result: RowResult) -> None:
        assert result.row not in results, f"row {result.row} reported twice"
        results[result.row] = result

    report = asyncio.run(send_all(recs, client=client, on_result=collect, **options))
    return report, results


# --- retry policy on a fake clock ---------------------------------------------------------------


def test_clean_run_creates_every_row():
    client = FakeClient()
    report, results = send(records(range(2, 12)), client, concurrency=3)
    assert results == {
        row: RowResult(row, RowStatus.CREATED, f"p-{row}", 200, attempts=1) for row in range(2, 12)
    }
    assert report.counts == Counter({RowStatus.CREATED: 10})
    assert report.requests == 10
    assert not report.auth_failed and not report.interrupted


def test_not_sent_backs_off_exponentially_then_gives_up_as_retried():
    time = FakeTime()
    client = FakeClient({2: [NOT_SENT]})
    report, results = send(records([2]), client, concurrency=1, max_retries=5, policy=time.policy())
    assert time.sleeps == [0.25, 0.5, 1.0, 2.0, 4.0]
    assert results[2].status is RowStatus.RETRIED
    assert results[2].attempts == 6
    assert results[2].error.startswith("could not connect; gave up after 6 attempts")
    assert report.requests == 6


def test_backoff_is_jittered_and_capped():
    policy = RetryPolicy(base_delay=1.0, max_delay=5.0, jitter=lambda: 0.5)
    assert [policy.backoff(n) for n in (1, 2, 3, 4, 5)] == [0.5, 1.0, 2.0, 2.5, 2.5]


def test_not_sent_then_created():
    time = FakeTime()
    client = FakeClient({2: [NOT_SENT, NOT_SENT, created(2)]})
    _, results = send(records([2]), client, concurrency=1, policy=time.policy())
    assert results[2] == RowResult(2, RowStatus.CREATED, "p-2", 200, attempts=3)
    assert time.sleeps == [0.25, 0.5]


def test_rate_limited_honours_retry_after_and_halves_concurrency():
    time = FakeTime()
    client = FakeClient({2: [rate_limited(2.0), created(2)]})
    report, results = send(records([2]), client, concurrency=8, policy=time.policy())
    assert results[2] == RowResult(2, RowStatus.CREATED, "p-2", 200, attempts=2)
    assert time.sleeps == [2.0]
    assert report.rate_limited == 1
    assert report.lowest_concurrency == 4


def test_many_429s_in_one_period_halve_once():
    time = FakeTime()
    # Row 2 goes alone (slow start) and succeeds; then all the others are in flight at once
    # and every one of them meets a 429 in the same period.
    script = {row: [rate_limited(1.0), created(row)] for row in range(3, 10)}
    script[2] = [created(2)]
    client = FakeClient(script)
    report, results = send(records(range(2, 10)), client, concurrency=8, policy=time.policy())
    assert all(r.status is RowStatus.CREATED for r in results.values())
    assert report.rate_limited == 7
    assert report.lowest_concurrency == 4


def test_slow_start_sends_the_first_request_alone():
    time = FakeTime()
    in_flight, peak = [0], []

    class Counting(FakeClient):
        async def create_purchase(self, body):
            in_flight[0] += 1
            peak.append(in_flight[0])
            await asyncio.sleep(0)
            try:
                return await super().create_purchase(body)
            finally:
                in_flight[0] -= 1

    client = Counting({row: [created(row)] for row in range(2, 30)})
    report, results = send(records(range(2, 30)), client, concurrency=8, policy=time.policy())
    assert report.counts[RowStatus.CREATED] == 28
    # The second request starts only once the first is answered (without the slow start all
    # eight workers would start together: 1, 2, 3, ...).
    assert peak[:2] == [1, 1]
    assert max(peak) == 8  # then every worker joined


def test_rate_limits_do_not_use_up_max_retries():
    time = FakeTime()
    client = FakeClient({2: [rate_limited(None)] * 7 + [created(2)]})
    _, results = send(records([2]), client, concurrency=1, max_retries=2, policy=time.policy())
    assert results[2].status is RowStatus.CREATED
    assert results[2].attempts == 8


def test_unavailable_retries_with_retry_after():
    time = FakeTime()
    unavailable = Outcome(OutcomeKind.UNAVAILABLE, 503, error="Service unavailable", retry_after=1)
    client = FakeClient({2: [unavailable, created(2)]})
    _, results = send(records([2]), client, concurrency=1, policy=time.policy())
    assert results[2] == RowResult(2, RowStatus.CREATED, "p-2", 200, attempts=2)
    assert time.sleeps == [1.0]


def test_unknown_is_unconfirmed_and_never_retried():
    time = FakeTime()
    client = FakeClient({2: [UNKNOWN_500]})
    _, results = send(records([2]), client, concurrency=1, policy=time.policy())
    assert results[2] == RowResult(
        2,
        RowStatus.UNCONFIRMED,
        http_status=500,
        error=f"Internal server error; {UNCONFIRMED_HINT}",
        attempts=1,
    )
    assert client.calls == [2]


def test_rejected_is_never_retried():
    rejected = Outcome(OutcomeKind.REJECTED, 403, error="Lead not accessible")
    client = FakeClient({2: [rejected]})
    _, results = send(records([2]), client, concurrency=1)
    assert results[2] == RowResult(2, RowStatus.REJECTED, None, 403, "Lead not accessible", 1)
    assert client.calls == [2]


def test_circuit_breaker_pauses_then_probes():
    time = FakeTime()
    client = FakeClient({row: [UNKNOWN_500] for row in range(2, 40)})
    policy = time.policy(breaker_window=10, max_outage=1e9)
    report, results = send(records(range(2, 40)), client, concurrency=1, policy=policy)
    assert all(r.status is RowStatus.UNCONFIRMED for r in results.values())
    # 10 failures trip it (pause 2 s), each failed probe doubles the pause.
    assert time.sleeps[:3] == [2.0, 4.0, 8.0]
    assert report.breaker_trips >= 3


def test_an_api_down_for_max_outage_stops_the_run():
    time = FakeTime()
    client = FakeClient({row: [NOT_SENT] for row in range(3, 200)})
    policy = time.policy(breaker_window=10, max_outage=600)
    report, results = send(records(range(2, 200)), client, concurrency=1, policy=policy)
    reason = (
        "the API gave no answer for 10 minutes (last error: could not connect); sending stopped"
    )
    assert report.outage == reason
    assert 600 <= time.now < 700  # stopped at the first trip after 600 s without an answer
    assert max(time.sleeps) == 60.0  # the pauses grew to the cap first
    assert results[2].status is RowStatus.CREATED
    retried = [row for row, r in results.items() if r.status is RowStatus.RETRIED]
    assert retried == [3, 4, 5]  # each gave up after 6 attempts, before the stop
    assert report.counts == Counter(
        {RowStatus.CREATED: 1, RowStatus.RETRIED: 3, RowStatus.NOT_SENT: 194}
    )
    assert results[199] == RowResult(199, RowStatus.NOT_SENT, error=f"not sent: {reason}")
    assert len(client.calls) == 1 + 3 * 6 + 5  # then row 6 was stopped after 5 attempts


def test_rate_limit_answers_count_as_an_api_that_is_there():
    time = FakeTime()
    script = {2: [rate_limited(60.0)], **{row: [NOT_SENT] for row in range(3, 100)}}
    policy = time.policy(breaker_window=10, max_outage=600, max_rate_limited=10)
    report, results = send(records(range(2, 100)), FakeClient(script), concurrency=1, policy=policy)
    assert results[2].status is RowStatus.RETRIED  # gave up at its 11th 429, 600 s in
    # The outage is counted from the last 429, not from the start of the run.
    assert report.outage is not None
    assert 600 + 600 <= time.now < 600 + 700


def test_activity_counts_requests_and_rows_waiting_to_retry():
    time = FakeTime()
    activity: dict[str, int] = {}
    waiting_during_sleeps: list[int] = []
    sleep = time.sleep

    async def watching_sleep(seconds: float) -> None:
        waiting_during_sleeps.append(activity["retrying"])
        await sleep(seconds)

    policy = RetryPolicy(sleep=watching_sleep, jitter=lambda: 1.0, clock=lambda: time.now)
    client = FakeClient({3: [NOT_SENT, NOT_SENT, created(3)]})
    report, _ = send(records(range(2, 6)), client, concurrency=1, policy=policy, activity=activity)
    assert waiting_during_sleeps == [1, 1]  # row 3 waited twice, alone
    assert activity == {"requests": 6, "retrying": 0}
    assert report.requests == 6


def test_circuit_breaker_closes_after_a_good_probe():
    time = FakeTime()
    client = FakeClient({row: [UNKNOWN_500] for row in range(2, 12)})
    report, results = send(
        records(range(2, 30)), client, concurrency=1, policy=time.policy(breaker_window=10)
    )
    assert time.sleeps == [2.0]
    assert report.breaker_trips == 1
    assert sum(r.status is RowStatus.CREATED for r in results.values()) == 18


# --- stopping -------------------------------------------------------------------------------------


def test_401_stops_at_once_and_leaves_the_rest_unsent():
    client = FakeClient({5: [AUTH]})
    report, results = send(records(range(2, 22)), client, concurrency=1)
    assert report.auth_failed
    assert client.calls == [2, 3, 4, 5]
    assert [results[r].status for r in (2, 3, 4)] == [RowStatus.CREATED] * 3
    assert results[5] == RowResult(
        5,
        RowStatus.NOT_SENT,
        http_status=401,
        error="not sent: the API key was rejected (401 Invalid API key)",
        attempts=1,
    )
    assert all(results[r].status is RowStatus.NOT_SENT for r in range(6, 22))
    assert report.counts == Counter({RowStatus.CREATED: 3, RowStatus.NOT_SENT: 17})


def test_stop_event_finishes_in_flight_and_leaves_the_rest():
    stop = asyncio.Event()
    client = FakeClient()
    results: dict[int, RowResult] = {}

    def collect(result: RowResult) -> None:
        results[result.row] = result
        if len(results) == 3:
            stop.set()

    async def go() -> SendReport:
        return await send_all(
            records(range(2, 52)), client=client, concurrency=2, on_result=collect, stop=stop
        )

    report = asyncio.run(go())
    assert report.interrupted
    assert len(results) == 50
    created_rows = [r for r, res in results.items() if res.status is RowStatus.CREATED]
    assert 3 <= len(created_rows) <= 5
    assert sorted(created_rows) == sorted(client.calls)
    assert report.counts[RowStatus.NOT_SENT] == 50 - len(created_rows)


def test_stop_deadline_cancels_hung_requests_as_unconfirmed():
    stop = asyncio.Event()
    client = FakeClient(hang={3})

    async def go() -> tuple[SendReport, dict]:
        results: dict[int, RowResult] = {}
        asyncio.get_running_loop().call_later(0.05, stop.set)
        report = await send_all(
            records(range(2, 6)),
            client=client,
            concurrency=2,
            on_result=lambda r: results.__setitem__(r.row, r),
            stop=stop,
            policy=RetryPolicy(stop_grace=0.1),
        )
        return report, results

    report, results = asyncio.run(go())
    assert report.interrupted
    assert results[3].status is RowStatus.UNCONFIRMED
    assert results[3].error.startswith("interrupted while in flight")
    assert len(results) == 4


def test_generator_input_and_bounded_concurrency():
    pulled = 0

    def generate():
        nonlocal pulled
        for record in records(range(2, 502)):
            pulled += 1
            yield record

    class Slow(FakeClient):
        async def create_purchase(self, body: dict) -> Outcome:
            if not self.calls:
                assert pulled <= 4  # the input is not read ahead
            await asyncio.sleep(0.0005)
            return await super().create_purchase(body)

    client = Slow()
    report, results = send(generate(), client, concurrency=4)
    assert client.max_in_flight <= 4
    assert len(results) == 500 and report.counts[RowStatus.CREATED] == 500


def test_rows_without_a_lead_and_preflight_rejections():
    recs = [*records([2]), PurchaseRecord(row=3, legacy_lead_id=999, product_name="r3")]
    recs.append(PurchaseRecord(row=4, lead_id=FABRIKAM_LEAD, product_name="r4"))
    refused = RowResult(4, RowStatus.REJECTED, http_status=403, error="Lead not accessible")
    client = FakeClient()
    _, results = send(
        recs,
        client,
        rejection=lambda r: refused if r.row == 4 else None,
        lead_resolver=lambda r: None,
    )
    assert client.calls == [2]
    assert results[3] == RowResult(3, RowStatus.REJECTED, error="no lead id for this row")
    assert results[4] is refused


# --- ledger and resume ----------------------------------------------------------------------

TARGET = "https://api.example"


def open_ledger(path, *, source: str = "march", sha: str | None = None, **choices) -> Ledger:
    """The ledger at ``path`` with an import of ``<source>.csv`` begun (``sha``: its SHA-256)."""
    ledger = Ledger.open(LedgerLocation(path=path))
    ledger.begin_import(
        target=TARGET,
        file_name=f"{source}.csv",
        file_sha256=sha or f"sha-of-{source}",
        source=source,
        **choices,
    )
    return ledger


def claim(ledger: Ledger, recs, resolve=None):
    """Claim ``recs`` as the send pass does: (records to send, their candidates, held results)."""
    candidates = [
        candidate_for(r, action="create_purchase", lead_id=(resolve and resolve(r)) or r.lead_id)
        for r in recs
        if (resolve and resolve(r)) or r.lead_id
    ]
    to_send, held = ledger.claim(candidates)
    claimed = {c.row: c for c in to_send}
    return [r for r in recs if r.row in claimed], claimed, held


def send_with_ledger(path, recs, client, *, source="march", sha=None, resend_unconfirmed=False,
                     **options):  # fmt: skip
    """One import of ``recs``: claim, send what may be sent; every row's result (held or sent)."""
    with open_ledger(path, source=source, sha=sha, resend_unconfirmed=resend_unconfirmed) as ledger:
        to_send, claimed, held = claim(ledger, recs)
        report, results = send(to_send, client, ledger=ledger, candidates=claimed, **options)
    assert held.keys().isdisjoint(results)
    return report, {**held, **results}


def test_resume_never_resends_created_or_unconfirmed(tmp_path):
    path = tmp_path / "ledger.sqlite"
    recs = records(range(2, 7))
    first = FakeClient({3: [UNKNOWN_500], 4: [NOT_SENT]})
    _, results = send_with_ledger(path, recs, first, max_retries=0)
    assert [results[r].status for r in range(2, 7)] == [
        RowStatus.CREATED, RowStatus.UNCONFIRMED, RowStatus.RETRIED, RowStatus.CREATED,
        RowStatus.CREATED,
    ]  # fmt: skip

    second = FakeClient()
    report, again = send_with_ledger(path, recs, second)
    assert second.calls == [4]
    assert again[2] == results[2]  # same purchase id, not sent again
    assert again[3] == RowResult(
        3,
        RowStatus.UNCONFIRMED,
        http_status=500,
        error=f"Internal server error; {UNCONFIRMED_HINT}",
        attempts=1,
    )
    assert again[4] == RowResult(4, RowStatus.CREATED, "p-4", 200, attempts=1)
    assert report.requests == 1

    third = FakeClient()
    _, last = send_with_ledger(path, recs, third, resend_unconfirmed=True)
    assert third.calls == [3]
    assert last[3] == RowResult(3, RowStatus.CREATED, "p-3", 200, attempts=1)
    assert {row: last[row].purchase_id for row in range(2, 7)} == {
        row: f"p-{row}" for row in range(2, 7)
    }


def test_the_same_rows_of_another_file_are_skipped_with_the_purchase_they_created(tmp_path):
    path = tmp_path / "ledger.sqlite"
    send_with_ledger(path, records(range(2, 5)), FakeClient(), source="march")
    client = FakeClient()
    # april.csv repeats march's rows 2-4 at rows 7-9 (an overlapping export), then a new row.
    overlapping = [
        PurchaseRecord(row=r + 5, lead_id=LEAD, purchase_amount=Decimal("10.50"),
                       product_name=f"r{r}")
        for r in range(2, 5)
    ] + records([10])  # fmt: skip
    report, results = send_with_ledger(path, overlapping, client, source="april")
    assert client.calls == [10]
    assert report.requests == 1
    day = results[7].error.split(" on ")[1][:10]
    for row in (7, 8, 9):
        assert results[row] == RowResult(
            row,
            RowStatus.SKIPPED,
            purchase_id=f"p-{row - 5}",
            error=f"already created from march.csv row {row - 5} on {day} "
            f"(purchase p-{row - 5}); not sent again",
        )
    assert results[10] == RowResult(10, RowStatus.CREATED, "p-10", 200, attempts=1)


def test_a_fixed_file_re_run_finds_its_purchases_even_on_other_rows(tmp_path):
    path = tmp_path / "ledger.sqlite"
    send_with_ledger(path, records([2, 3]), FakeClient(), sha="first-bytes")
    # The same file (same name, other bytes) with a row inserted before them.
    moved = [
        PurchaseRecord(row=r + 1, lead_id=LEAD, purchase_amount=Decimal("10.50"),
                       product_name=f"r{r}")
        for r in (2, 3)
    ]  # fmt: skip
    client = FakeClient()
    _, results = send_with_ledger(path, moved, client, sha="fixed-bytes")
    assert client.calls == []
    assert results[3] == RowResult(
        3,
        RowStatus.CREATED,
        "p-2",
        200,
        attempts=1,
        warnings=["already created by an earlier run as row 2 (purchase p-2); not sent again"],
    )
    assert results[4].purchase_id == "p-3"


def test_changed_payload_is_another_purchase_and_an_edited_row(tmp_path):
    path = tmp_path / "ledger.sqlite"
    send_with_ledger(path, records([2]), FakeClient())
    changed = [
        PurchaseRecord(row=2, lead_id=LEAD, purchase_amount=Decimal("11"), product_name="r2")
    ]
    with open_ledger(path) as ledger:
        # Before sending, the send pass finds row 2 edited (created earlier with other content).
        rows = []
        for record in changed:
            c = candidate_for(record, action="create_purchase", lead_id=LEAD)
            rows.append(FileRow(c.row, c.payload_hash, c.content, c.lead_id, c.reference))
        edited = find_edited_rows(ledger, TARGET, "march", lambda: rows)
        assert list(edited) == [2]
        assert (edited[2].purchase_id, edited[2].changes) == ("p-2", "amount 10.50 (now 11.00)")
        # To the ledger's rule it is a new purchase: claimed, and sent if the user asks for it.
        to_send, claimed, held = claim(ledger, changed)
        assert held == {} and [r.row for r in to_send] == [2]
        client = FakeClient()
        _, results = send(to_send, client, ledger=ledger, candidates=claimed)
    assert client.calls == [2]
    assert results[2] == RowResult(2, RowStatus.CREATED, "p-2", 200, attempts=1)
    with Ledger.open(LedgerLocation(path=path)) as ledger:
        kept = ledger.created_by_source(TARGET, "march")
    assert [(e.file_row, e.amount) for e in kept] == [(2, "10.50"), (2, "11.00")]


def test_a_record_that_was_not_claimed_is_never_sent(tmp_path):
    client = FakeClient()
    with (
        open_ledger(tmp_path / "ledger.sqlite") as ledger,
        pytest.raises(ValueError, match="row 2 was not claimed in the ledger"),
    ):
        send(records([2]), client, ledger=ledger, candidates={})
    assert client.calls == []


def test_payload_hash_uses_the_resolved_lead():
    record = PurchaseRecord(row=2, legacy_lead_id=1001, purchase_amount=Decimal("1.0"))
    body = record.payload(lead_id=LEAD)
    assert payload_hash(body) != payload_hash(record.payload(lead_id=LEADS[1]))
    assert len(payload_hash(body)) == 64


# --- over real HTTP against the sandbox ---------------------------------------------------------


@pytest.fixture(scope="module")
def sandbox():
    with Sandbox() as sb:
        yield sb


def by_name(sb: Sandbox) -> dict[str, list[dict]]:
    found: dict[str, list[dict]] = {}
    for purchase in sb.purchases():
        found.setdefault(purchase["name"], []).append(purchase)
    return found


def named(rows, prefix: str, leads=LEADS) -> list[PurchaseRecord]:
    return [
        PurchaseRecord(
            row=row,
            lead_id=leads[row % len(leads)],
            purchase_amount=Decimal(f"{row}.25"),
            product_name=f"{prefix}{row}",
        )
        for row in rows
    ]


def test_mixed_file_over_http(sandbox, tmp_path):
    sandbox.set_faults(Faults())
    recs = [
        PurchaseRecord(
            row=2, lead_id=LEADS[0], purchase_amount=Decimal("100.10"), product_name="mx2"
        ),
        PurchaseRecord(
            row=3, legacy_lead_id=2001, purchase_amount=Decimal("50"), product_name="mx3"
        ),
        PurchaseRecord(
            row=4, lead_id=FABRIKAM_LEAD, purchase_amount=Decimal("1"), product_name="mx4"
        ),
        PurchaseRecord(row=5, legacy_lead_id=424242, product_name="mx5"),
        PurchaseRecord(row=6, lead_id=LEADS[1], product_name="mx6", trigger_ids=(FABRIKAM_LEAD,)),
        PurchaseRecord(
            row=7, lead_id=LEADS[1], purchase_amount=Decimal("0.01"), product_name="mx7"
        ),
    ]

    async def go():
        results: dict[int, RowResult] = {}
        async with KeenClient(sandbox.base_url, sandbox.api_key) as client:
            checked = await preflight(recs, client=client)
            with open_ledger(tmp_path / "ledger.sqlite", source="mixed") as ledger:
                _, claimed, _ = claim(ledger, recs, checked.resolve)
                # Rows preflight rejected get their result from ``rejection``, unclaimed or not.
                to_send = [r for r in recs if r.row in claimed or checked.rejection(r)]
                assert [r.row for r in to_send] == [2, 3, 4, 5, 6, 7]
                report = await send_all(
                    to_send,
                    client=client,
                    ledger=ledger,
                    candidates=claimed,
                    lead_resolver=checked.resolve,
                    rejection=checked.rejection,
                    on_result=lambda r: results.__setitem__(r.row, r),
                )
        return report, results

    report, results = asyncio.run(go())
    stored = by_name(sandbox)
    status = {row: (r.status, r.http_status, r.error) for row, r in results.items()}
    assert status == {
        2: (RowStatus.CREATED, 200, None),
        3: (RowStatus.CREATED, 200, None),
        4: (RowStatus.REJECTED, 403, "Lead not accessible"),
        5: (RowStatus.REJECTED, 404, "Lead not found"),
        6: (RowStatus.REJECTED, 400, f"Invalid trigger id {FABRIKAM_LEAD}: not found"),
        7: (RowStatus.CREATED, 200, None),
    }
    for row in (2, 3, 7):
        (purchase,) = stored[f"mx{row}"]
        assert results[row].purchase_id == purchase["id"]
    assert stored["mx3"][0]["lead_id"] == LEADS[2]  # legacy 2001 resolved
    assert "mx4" not in stored and "mx5" not in stored and "mx6" not in stored
    assert results[4].attempts == 0 and results[5].attempts == 0
    assert report.requests == 4  # rows 2, 3, 6, 7


def test_fault_run_has_no_duplicates_and_no_lost_reply_marked_done(sandbox, tmp_path):
    faults = Faults(
        rate_limit=100,
        p_503=0.08,
        p_drop_before=0.04,
        p_commit_then_drop=0.05,
        p_commit_then_500=0.03,
        seed=11,
    )
    recs = named(range(2, 402), "ft")
    sandbox.set_faults(faults)
    results: dict[int, RowResult] = {}
    try:

        async def go():
            async with KeenClient(sandbox.base_url, sandbox.api_key, timeout=5) as client:
                with open_ledger(tmp_path / "ledger.sqlite", source="faults") as ledger:
                    to_send, claimed, held = claim(ledger, recs)
                    assert held == {}
                    return await send_all(
                        to_send,
                        client=client,
                        ledger=ledger,
                        candidates=claimed,
                        concurrency=16,
                        on_result=lambda r: results.__setitem__(r.row, r),
                        policy=RetryPolicy(base_delay=0.01, breaker_window=50),
                    )

        report = asyncio.run(go())
    finally:
        sandbox.set_faults(Faults())
    stored = by_name(sandbox)
    assert sorted(results) == list(range(2, 402))
    assert all(len(stored.get(f"ft{row}", [])) <= 1 for row in range(2, 402)), "duplicate purchase"
    for row, result in results.items():
        purchase = stored.get(f"ft{row}")
        if result.status is RowStatus.CREATED:
            assert purchase and purchase[0]["id"] == result.purchase_id
        elif purchase:  # stored, but the reply was lost: must be reported as unconfirmed
            assert result.status is RowStatus.UNCONFIRMED, (row, result)
        else:
            assert result.status in (RowStatus.UNCONFIRMED, RowStatus.RETRIED), (row, result)
    counts = report.counts
    assert counts[RowStatus.UNCONFIRMED] > 0 and counts[RowStatus.CREATED] > 300
    assert report.requests > 400  # 503s were retried
    assert report.rate_limited > 0
    assert sum(counts.values()) == 400


def test_revoked_key_mid_run_stops_promptly(sandbox, tmp_path):
    sandbox.set_faults(Faults(latency_ms=5))
    recs = named(range(2, 302), "rv")
    results: dict[int, RowResult] = {}
    revoked = threading.Event()
    calls_at_revoke = 0

    def collect(result: RowResult) -> None:
        nonlocal calls_at_revoke
        results[result.row] = result
        if len(results) == 20 and not revoked.is_set():
            sandbox.revoke_key()
            calls_at_revoke = sandbox.stats()["create_calls"]
            revoked.set()

    ledger_path = tmp_path / "ledger.sqlite"

    async def go():
        async with KeenClient(sandbox.base_url, sandbox.api_key) as client:
            with open_ledger(ledger_path, source="revoke") as ledger:
                to_send, claimed, _ = claim(ledger, recs)
                return await send_all(to_send, client=client, ledger=ledger, candidates=claimed,
                                      concurrency=8, on_result=collect)  # fmt: skip

    create_before = sandbox.stats()["create_calls"]
    try:
        report = asyncio.run(go())
    finally:
        sandbox.set_faults(Faults())
    assert report.auth_failed
    assert len(results) == 300
    # At the revoke up to 8 requests are in flight; a worker whose answer predates the revoke may
    # start one more before any 401 arrives. Nothing beyond that.
    assert sandbox.stats()["create_calls"] - calls_at_revoke <= 2 * 8
    created_rows = {r for r, res in results.items() if res.status is RowStatus.CREATED}
    assert created_rows == {
        int(p["name"][2:]) for p in sandbox.purchases() if p["name"].startswith("rv")
    }
    # Every request that reached the sandbox after the revoke got a 401: only rows sent before it
    # can be created (how many depends on the disk: results are reported after their fsync).
    assert len(created_rows) <= calls_at_revoke - create_before
    assert report.counts == Counter(
        {RowStatus.CREATED: len(created_rows), RowStatus.NOT_SENT: 300 - len(created_rows)}
    )
    assert sandbox.stats()["create_calls"] - create_before == report.requests
    data = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.is_file())
    assert sandbox.api_key.encode() not in data
    assert all(sandbox.api_key not in (r.error or "") for r in results.values())
