"""KeenClient over its own transport writes each request's bytes whole (``send_prepared``, no
httpx.Request or httpx.Response per call): the bytes on the wire and the outcomes are those of
the httpx path that every other transport gets. Answers are parsed as ``json.loads`` parses
them (a shortcut for the usual UTF-8 object)."""

from __future__ import annotations

import asyncio
import gzip
import json

import httpx
import pytest
from test_transport import LEAD, created, serve

from importer.send.client import KeenClient, OutcomeKind, _json_or_none
from importer.send.transport import Http11Transport


class HttpxOnly(httpx.AsyncBaseTransport):
    """Our transport reached only through the httpx API (as any other transport is)."""

    def __init__(self) -> None:
        self.inner = Http11Transport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


ANSWERS = [
    created("p-1"),
    b"HTTP/1.1 429 Too Many Requests\r\nRetry-After: 7\r\nContent-Length: 2\r\n\r\n{}",
    b"HTTP/1.1 503 Service Unavailable\r\nretry-after: 2\r\nContent-Length: 0\r\n\r\n",
    b"HTTP/1.1 400 Bad Request\r\nContent-Length: 22\r\n\r\n" + b'{"error":"bad amount"}',
    b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: %d\r\n\r\n"
    % len(gzip.compress(b'{"purchase":{"id":"p-gz"}}'))
    + gzip.compress(b'{"purchase":{"id":"p-gz"}}'),
    b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}",
]


def exchange(transport) -> tuple[list, list[bytes]]:
    """Post one purchase per answer of ANSWERS: (outcomes, the request bytes received)."""

    async def go():
        server, url, state = await serve(
            lambda req, n: (ANSWERS[len(state["requests"]) - 1], False)
        )
        async with server, KeenClient(url, "secret-key", transport=transport) as client:
            outcomes = []
            for amount in range(len(ANSWERS)):
                body = {"action": "create_purchase", "lead_id": LEAD, "amount": amount * 1001}
                outcomes.append(await client.create_purchase(body))
        port = url.split(":")[2].split("/")[0].encode()
        return outcomes, [request.replace(port, b"PORT") for request in state["requests"]]

    return asyncio.run(go())


def test_prepared_requests_match_the_httpx_path_byte_for_byte():
    transport = Http11Transport()
    assert callable(getattr(transport, "send_prepared", None))
    prepared, sent = exchange(transport)
    reference, expected = exchange(HttpxOnly())
    assert sent == expected
    assert len({len(request) for request in sent}) > 1  # heads built for several lengths
    assert prepared == reference
    assert [(o.kind, o.http_status, o.purchase_id, o.retry_after) for o in prepared] == [
        (OutcomeKind.CREATED, 200, "p-1", None),
        (OutcomeKind.RATE_LIMITED, 429, None, 7.0),
        (OutcomeKind.UNAVAILABLE, 503, None, 2.0),
        (OutcomeKind.REJECTED, 400, None, None),
        (OutcomeKind.CREATED, 200, "p-gz", None),
        (OutcomeKind.UNKNOWN, 200, None, None),
    ]
    assert prepared[3].error == "bad amount"


@pytest.mark.parametrize(
    "content",
    [
        b'{"purchase":{"id":"p-1","purchase_amount":10.00}}',
        '{"name":"caf\u00e9"}'.encode(),
        b'{"a":"\xed\xa0\x80"}',  # a lone surrogate, as json.loads lets through
        b'{"a":1}\n',
        b'{"a":1} trailing',
        b"{",
        b"{\x80}",
        '{"a":1}'.encode("utf-16-le"),
        b'\xef\xbb\xbf{"a":1}',
        b'  {"a":1}',
        b"[1]",
    ],
)
def test_answers_are_parsed_as_json_loads_parses_them(content):
    try:
        expected = json.loads(content)
    except ValueError:
        expected = None
    assert _json_or_none(content) == expected


def test_an_unsupported_scheme_is_not_sent_on_both_paths():
    async def go(transport):
        async with KeenClient("ftp://example.org/x", "key", transport=transport) as client:
            return await client.create_purchase({"action": "create_purchase", "lead_id": LEAD})

    prepared, reference = asyncio.run(go(Http11Transport())), asyncio.run(go(HttpxOnly()))
    assert prepared == reference
    assert prepared.kind is OutcomeKind.NOT_SENT
    assert prepared.error == "could not connect (UnsupportedProtocol: unsupported URL scheme 'ftp')"
