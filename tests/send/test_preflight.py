"""Online preflight: one look-up per distinct lead, legacy ids resolved, 401 stops everything."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import httpx
import pytest

from importer.errors import AuthenticationError, NetworkError
from importer.records import PurchaseRecord, RowResult, RowStatus
from importer.sandbox import Faults, Sandbox
from importer.send.client import KeenClient
from importer.send.preflight import preflight

USD_LEAD = "47378190-96da-4dac-b2ff-5d2a386ecbe0"
EUR_LEAD = "ec1b8ca1-f91e-4d4c-9ff4-9b7889463e85"
FABRIKAM_LEAD = "fc377a4c-4a15-444d-85e7-ce8a3a578a8e"


@pytest.fixture(scope="module")
def sandbox():
    with Sandbox(faults=Faults()) as sb:
        yield sb


def test_preflight_against_the_sandbox(sandbox):
    recs = [
        PurchaseRecord(row=2, lead_id=USD_LEAD, purchase_amount=Decimal("1")),
        PurchaseRecord(row=3, lead_id=USD_LEAD),
        PurchaseRecord(row=4, legacy_lead_id=2001),
        PurchaseRecord(row=5, lead_id=FABRIKAM_LEAD),
        PurchaseRecord(row=6, legacy_lead_id=3001),
        PurchaseRecord(row=7, legacy_lead_id=999999),
    ]

    async def go():
        async with KeenClient(sandbox.base_url, sandbox.api_key) as client:
            return await preflight(recs, client=client)

    before = sandbox.stats()
    checked = asyncio.run(go())
    after = sandbox.stats()
    assert after["requests"] - before["requests"] == 1 + 5  # channels + 5 distinct leads
    assert after["create_calls"] == before["create_calls"]
    assert checked.requests == 6
    assert [checked.resolve(r) for r in recs] == [USD_LEAD, USD_LEAD, EUR_LEAD, None, None, None]
    assert [checked.currency_of(r) for r in recs] == ["USD", "USD", "EUR", None, None, None]
    assert [checked.rejection(r) for r in recs[:3]] == [None, None, None]
    assert checked.rejection(recs[3]) == RowResult(
        5, RowStatus.REJECTED, http_status=403, error="Lead not accessible", attempts=0
    )
    assert checked.rejection(recs[4]).http_status == 403
    assert checked.rejection(recs[5]) == RowResult(
        7, RowStatus.REJECTED, http_status=404, error="Lead not found", attempts=0
    )


def test_bad_key_stops_before_anything_is_sent(sandbox):
    async def go():
        async with KeenClient(sandbox.base_url, "not-a-key") as client:
            await preflight([PurchaseRecord(row=2, lead_id=USD_LEAD)], client=client)

    before = sandbox.stats()
    with pytest.raises(AuthenticationError) as caught:
        asyncio.run(go())
    assert str(caught.value) == "Invalid API key"
    assert caught.value.status == 401
    after = sandbox.stats()
    assert after["requests"] - before["requests"] == 1
    assert after["create_calls"] == before["create_calls"]


def test_transient_lookup_failures_are_retried_then_left_to_the_create_call():
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.content.decode())
        if b"get_channels" in request.content:
            return httpx.Response(200, json={"channels": []})
        return httpx.Response(502, content=b"bad gateway")

    async def fast(seconds: float) -> None:
        return None

    uuid_row = PurchaseRecord(row=2, lead_id=USD_LEAD)
    legacy_row = PurchaseRecord(row=3, legacy_lead_id=1001)

    async def go():
        client = KeenClient("https://k.test", "key", transport=httpx.MockTransport(handler))
        async with client:
            return await preflight([uuid_row, legacy_row], client=client, attempts=3, sleep=fast)

    checked = asyncio.run(go())
    assert len(calls) == 1 + 3 + 3
    # A UUID row is still sent (create_purchase decides); a legacy id cannot be resolved.
    assert checked.rejection(uuid_row) is None
    assert checked.resolve(uuid_row) == USD_LEAD
    held = checked.rejection(legacy_row)
    assert (held.status, held.http_status) == ("retried", 502)
    assert held.error.startswith("could not resolve legacy lead 1001 to a lead id")


def test_lookup_action_not_supported_is_skipped_with_a_note():
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.content.decode())
        if b"get_channels" in request.content:
            return httpx.Response(200, json={"channels": []})
        return httpx.Response(400, json={"error": "Unknown action: get_lead_by_id"})

    other = "c241330b-01a9-471f-9e8a-774bcf36d58b"
    rows = [PurchaseRecord(row=2, lead_id=USD_LEAD), PurchaseRecord(row=3, lead_id=other)]

    async def go():
        client = KeenClient("https://k.test", "key", transport=httpx.MockTransport(handler))
        async with client:
            return await preflight(rows, client=client, concurrency=1)

    checked = asyncio.run(go())
    assert len(calls) == 2  # channels + one look-up: the second lead is not asked again
    assert [checked.rejection(r) for r in rows] == [None, None]
    assert [checked.resolve(r) for r in rows] == [USD_LEAD, other]
    assert checked.notes == [
        "get_lead_by_id is not supported by this API (400: Unknown action: get_lead_by_id); "
        "leads were not checked before sending"
    ]


def test_an_api_url_that_redirects_stops_the_run_before_any_row(tmp_path, monkeypatch, capsys):
    """A URL that answers with a redirect (http to https, a moved endpoint) is not the API's:
    exit 2 at the first look-up, nothing sent, instead of every row `unconfirmed`."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from runhelpers import write_rows

    from importer.cli import main

    posts = []

    class Redirecting(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - the http.server name
            posts.append(self.rfile.read(int(self.headers["Content-Length"])))
            self.send_response(307)
            self.send_header("Location", "https://127.0.0.1/functions/v1/keen-api")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Redirecting)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("KEEN_API_KEY", "a-key")
    try:
        url = f"http://127.0.0.1:{server.server_port}/functions/v1/keen-api"
        source = write_rows(tmp_path / "rows.csv", 3)
        code = main(["run", str(source), "--api-url", url, "--yes"])
    finally:
        server.shutdown()
    err = capsys.readouterr().err
    assert (code, len(posts)) == (2, 1)  # the channel list, asked once
    assert b"create_purchase" not in posts[0]
    assert (
        "error: the API URL answered a request for the channels with a redirect (HTTP 307)" in err
    )
    assert not (tmp_path / "rows.created.csv").exists()


@pytest.mark.parametrize(
    ("failure", "last"),
    [
        (
            httpx.RemoteProtocolError("the server closed the connection without an answer"),
            "connection lost (RemoteProtocolError: the server closed the connection without an "
            "answer)",
        ),
        (httpx.ReadTimeout("timed out"), "timed out waiting for the answer"),
    ],
)
def test_no_answer_to_the_channels_stops_before_any_lead_or_purchase(failure, last):
    """Every try of the first read lost its answer (an http:// URL to an https port, a firewall
    that resets, an API that hangs): every purchase would be `unconfirmed`, so none is sent."""
    calls: list[bytes] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.content)
        raise failure

    caught = _preflight_refused(handler)
    assert caught.value.message == (
        f"the API URL left the request for the channels without an answer after 3 tries "
        f"({last}); nothing was sent, as every purchase would end unconfirmed"
    )
    assert [b"get_channels" in body for body in calls] == [True, True, True]


def test_no_answer_stops_even_when_the_last_try_could_not_connect():
    """A server that hangs up on every connection: some tries are lost after the write, the last
    one found the connection closed before it. Still no answer at all: nothing is sent."""
    failures = iter(
        [
            httpx.RemoteProtocolError("the server closed the connection without an answer"),
            httpx.RemoteProtocolError("the server closed the connection without an answer"),
            httpx.ConnectError("the connection closed before the request was sent"),
        ]
    )

    def handler(request: httpx.Request) -> httpx.Response:
        raise next(failures)

    caught = _preflight_refused(handler)
    assert caught.value.message == (
        "the API URL left the request for the channels without an answer after 3 tries "
        "(connection lost (RemoteProtocolError: the server closed the connection without an "
        "answer)); nothing was sent, as every purchase would end unconfirmed"
    )


def test_a_url_that_drops_every_connection_stops_the_run_with_nothing_sent(
    tmp_path, monkeypatch, capsys
):
    """End to end: a server that reads each request and hangs up without an answer. Before, the
    run sent every row (each one `unconfirmed`), then waited ten minutes."""
    import socket
    import threading

    from runhelpers import write_rows

    from importer.cli import main

    received: list[bytes] = []
    listener = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with conn:
                received.append(conn.recv(65536))

    threading.Thread(target=serve, daemon=True).start()
    url = f"http://127.0.0.1:{listener.getsockname()[1]}/functions/v1/keen-api"
    source = write_rows(tmp_path / "rows.csv", 3)
    monkeypatch.setenv("KEEN_API_KEY", "a-key")
    try:
        code = main(["run", str(source), "--api-url", url, "--yes"])
    finally:
        listener.close()
    err = capsys.readouterr().err
    assert (code, len(received)) == (2, 4)  # the channel list, tried four times
    assert not any(b"create_purchase" in request for request in received)
    assert "error: the API URL left the request for the channels without an answer" in err
    assert not (tmp_path / "rows.results.csv").exists()
    assert not (tmp_path / "rows.created.csv").exists()


def _preflight_refused(handler) -> pytest.ExceptionInfo[NetworkError]:
    """The NetworkError a preflight of one row raises against ``handler`` (3 tries, no waits)."""

    async def fast(seconds: float) -> None:
        return None

    async def go():
        client = KeenClient("https://k.test", "key", transport=httpx.MockTransport(handler))
        async with client:
            rows = [PurchaseRecord(row=2, lead_id=USD_LEAD)]
            await preflight(rows, client=client, attempts=3, sleep=fast)

    with pytest.raises(NetworkError) as caught:
        asyncio.run(go())
    return caught
