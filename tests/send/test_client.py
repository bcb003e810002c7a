"""KeenClient: request shape and the classification of every answer and failure."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal

import httpx
import pytest

from importer.sandbox import Faults, Sandbox
from importer.send.client import (
    KeenClient,
    Outcome,
    OutcomeKind,
    classify_exception,
    classify_response,
    make_transport,
)

KEY = "0f0e0d0c-secret-key-0000-000000000001"
LEAD = "47378190-96da-4dac-b2ff-5d2a386ecbe0"
FABRIKAM_LEAD = "fc377a4c-4a15-444d-85e7-ce8a3a578a8e"


def run(coro):
    return asyncio.run(coro)


def purchase(pid: str = "p-1") -> bytes:
    return json.dumps({"purchase": {"id": pid}}).encode()


def error(text: str) -> bytes:
    return json.dumps({"error": text}).encode()


@pytest.mark.parametrize(
    ("status", "body", "headers", "kind", "expected_error", "retry_after"),
    [
        pytest.param(200, purchase("abc"), {}, OutcomeKind.CREATED, None, None, id="200-created"),
        pytest.param(201, purchase("abc"), {}, OutcomeKind.CREATED, None, None, id="201-created"),
        pytest.param(
            200, b'{"ok":true}', {}, OutcomeKind.UNKNOWN, "success status without a purchase id",
            None, id="2xx-without-id",
        ),
        pytest.param(
            200, b"<html>", {}, OutcomeKind.UNKNOWN, "success status without a JSON body", None,
            id="2xx-not-json",
        ),
        pytest.param(
            400, error("lead_id required"), {}, OutcomeKind.REJECTED, "lead_id required", None,
            id="400",
        ),
        pytest.param(
            403, error("Lead not accessible"), {}, OutcomeKind.REJECTED, "Lead not accessible",
            None, id="403",
        ),
        pytest.param(404, error("Lead not found"), {}, OutcomeKind.REJECTED, "Lead not found",
                     None, id="404"),
        pytest.param(422, b"", {}, OutcomeKind.REJECTED, "HTTP 422", None, id="422-no-body"),
        pytest.param(401, error("Invalid API key"), {}, OutcomeKind.AUTH, "Invalid API key", None,
                     id="401"),
        pytest.param(
            429, error("Rate Limited. Too many requests."), {"Retry-After": "3"},
            OutcomeKind.RATE_LIMITED, "Rate Limited. Too many requests.", 3.0, id="429",
        ),
        pytest.param(429, b"", {}, OutcomeKind.RATE_LIMITED, "HTTP 429", None, id="429-no-header"),
        pytest.param(
            503, error("Service unavailable"), {"Retry-After": "1"}, OutcomeKind.UNAVAILABLE,
            "Service unavailable", 1.0, id="503",
        ),
        pytest.param(500, error("Internal server error"), {}, OutcomeKind.UNKNOWN,
                     "Internal server error", None, id="500"),
        pytest.param(502, b"bad gateway", {}, OutcomeKind.UNKNOWN, "HTTP 502", None, id="502"),
        pytest.param(504, b"", {}, OutcomeKind.UNKNOWN, "HTTP 504", None, id="504"),
        pytest.param(408, b"", {}, OutcomeKind.UNKNOWN, "HTTP 408", None, id="408"),
    ],
)  # fmt: skip
def test_classify_response(status, body, headers, kind, expected_error, retry_after):
    outcome = classify_response(status, body, httpx.Headers(headers), expect_purchase=True)
    assert outcome.kind is kind
    assert outcome.http_status == status
    assert outcome.error == expected_error
    assert outcome.retry_after == retry_after
    if kind is OutcomeKind.CREATED:
        assert outcome.purchase_id == "abc"


@pytest.mark.parametrize(
    ("exc", "kind"),
    [
        pytest.param(httpx.ConnectError("refused"), OutcomeKind.NOT_SENT, id="connect-error"),
        pytest.param(httpx.ConnectTimeout("slow"), OutcomeKind.NOT_SENT, id="connect-timeout"),
        pytest.param(httpx.PoolTimeout("busy"), OutcomeKind.NOT_SENT, id="pool-timeout"),
        pytest.param(httpx.ReadTimeout("slow"), OutcomeKind.UNKNOWN, id="read-timeout"),
        pytest.param(httpx.WriteTimeout("slow"), OutcomeKind.UNKNOWN, id="write-timeout"),
        pytest.param(httpx.ReadError("reset"), OutcomeKind.UNKNOWN, id="read-error"),
        pytest.param(
            httpx.RemoteProtocolError("Server disconnected without sending a response."),
            OutcomeKind.UNKNOWN,
            id="server-disconnected",
        ),
    ],
)
def test_classify_httpx_exceptions(exc, kind):
    assert classify_exception(exc).kind is kind


def test_request_shape_and_created():
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, content=purchase("p-42"))

    async def go() -> Outcome:
        transport = httpx.MockTransport(handler)
        async with KeenClient("https://keen.test/api", KEY, transport=transport) as client:
            return await client.create_purchase(
                {"action": "create_purchase", "lead_id": LEAD, "purchase_amount": Decimal("0.10")}
            )

    outcome = run(go())
    assert outcome == Outcome(
        OutcomeKind.CREATED, 200, purchase_id="p-42", data={"purchase": {"id": "p-42"}}
    )
    (request,) = seen
    assert request.method == "POST"
    assert str(request.url) == "https://keen.test/api"
    assert request.headers["X-Api-Key"] == KEY
    assert request.headers["Content-Type"] == "application/json"
    assert request.content == (
        b'{"action":"create_purchase","lead_id":"' + LEAD.encode() + b'","purchase_amount":0.10}'
    )


def test_reads_send_their_action():
    bodies: list[dict] = []

    def handler(request: httpx.Request) -> httpx.Response:
        bodies.append(json.loads(request.content))
        return httpx.Response(200, json={"lead": {"id": LEAD}})

    async def go() -> list[Outcome]:
        async with KeenClient("https://k.test", KEY, transport=httpx.MockTransport(handler)) as c:
            return [
                await c.get_lead(LEAD),
                await c.get_lead_by_legacy_id(1001),
                await c.get_channels(),
            ]

    outcomes = run(go())
    assert [o.kind for o in outcomes] == [OutcomeKind.OK] * 3
    assert bodies == [
        {"action": "get_lead_by_id", "lead_id": LEAD},
        {"action": "get_lead_by_legacy_id", "legacy_id": 1001},
        {"action": "get_channels"},
    ]


def test_key_never_in_repr_or_error_text():
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError(f"cannot reach {request.url}")

    async def go() -> Outcome:
        async with KeenClient("https://k.test", KEY, transport=httpx.MockTransport(handler)) as c:
            assert KEY not in repr(c)
            return await c.create_purchase({"action": "create_purchase", "lead_id": LEAD})

    outcome = run(go())
    assert outcome.kind is OutcomeKind.NOT_SENT
    assert KEY not in repr(outcome)


@pytest.fixture(scope="module")
def sandbox():
    with Sandbox() as sb:
        yield sb


@pytest.mark.parametrize("transport", ["http11", "httpx"])
@pytest.mark.parametrize(
    ("faults", "kind", "status"),
    [
        pytest.param(Faults(p_drop_before=1.0), OutcomeKind.UNKNOWN, None, id="drop-before"),
        pytest.param(Faults(p_commit_then_drop=1.0), OutcomeKind.UNKNOWN, None, id="commit-drop"),
        pytest.param(Faults(p_commit_then_500=1.0), OutcomeKind.UNKNOWN, 500, id="commit-500"),
        pytest.param(Faults(p_503=1.0), OutcomeKind.UNAVAILABLE, 503, id="503"),
        pytest.param(Faults(p_502=1.0), OutcomeKind.UNKNOWN, 502, id="502"),
        pytest.param(Faults(), OutcomeKind.CREATED, 200, id="clean"),
    ],
)
def test_sandbox_faults_over_http(sandbox, transport, faults, kind, status):
    async def go() -> Outcome:
        client = KeenClient(
            sandbox.base_url, sandbox.api_key, timeout=5, transport=make_transport(transport)
        )
        async with client:
            return await client.create_purchase({"action": "create_purchase", "lead_id": LEAD})

    sandbox.set_faults(faults)
    try:
        outcome = run(go())
    finally:
        sandbox.set_faults(Faults())
    assert (outcome.kind, outcome.http_status) == (kind, status)
    assert sandbox.api_key not in (outcome.error or "")


def test_sandbox_slow_commit_is_unknown(sandbox):
    async def go() -> Outcome:
        async with KeenClient(sandbox.base_url, sandbox.api_key, timeout=0.3) as client:
            return await client.create_purchase({"action": "create_purchase", "lead_id": LEAD})

    sandbox.set_faults(Faults(p_commit_then_slow=1.0, slow_seconds=1.0))
    try:
        outcome = run(go())
    finally:
        sandbox.set_faults(Faults())
    assert outcome.kind is OutcomeKind.UNKNOWN
    assert outcome.error == "timed out waiting for the answer"


@pytest.mark.parametrize("transport", ["http11", "httpx"])
def test_connection_refused_is_not_sent(transport):
    async def go() -> Outcome:
        client = KeenClient(
            "http://127.0.0.1:9/x", KEY, timeout=2, transport=make_transport(transport)
        )
        async with client:
            return await client.create_purchase({"action": "create_purchase", "lead_id": LEAD})

    outcome = run(go())
    assert outcome.kind is OutcomeKind.NOT_SENT
    assert KEY not in outcome.error


def test_sandbox_rejections_carry_api_text(sandbox):
    async def go() -> list[Outcome]:
        async with KeenClient(sandbox.base_url, sandbox.api_key) as client:
            return [
                await client.create_purchase(
                    {"action": "create_purchase", "lead_id": FABRIKAM_LEAD}
                ),
                await client.create_purchase({"action": "create_purchase"}),
            ]

    forbidden, missing = run(go())
    assert (forbidden.kind, forbidden.http_status, forbidden.error) == (
        OutcomeKind.REJECTED, 403, "Lead not accessible",
    )  # fmt: skip
    assert (missing.kind, missing.http_status, missing.error) == (
        OutcomeKind.REJECTED, 400, "lead_id required",
    )  # fmt: skip


def test_legacy_flat_purchase_shape_counts_as_created():
    from importer.send.client import classify_response

    body = b'{"id":1,"created_at":1764251193514,"leads_id":1,"purchase_amount":1.00}'
    outcome = classify_response(200, body, {}, expect_purchase=True)
    assert (outcome.kind, outcome.purchase_id) == (OutcomeKind.CREATED, "1")


def test_integer_purchase_id_is_kept_as_text():
    from importer.send.client import classify_response

    outcome = classify_response(201, b'{"purchase":{"id":42}}', {}, expect_purchase=True)
    assert (outcome.kind, outcome.http_status, outcome.purchase_id) == (
        OutcomeKind.CREATED,
        201,
        "42",
    )
