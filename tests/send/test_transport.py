"""The HTTP/1.1 transport against raw loopback servers that answer in every legal and broken way.

Each server is a few lines of asyncio on 127.0.0.1 speaking bytes, so the test controls exactly
what comes back: chunked and close-delimited bodies, 100 Continue, Keep-Alive hints, a close
without an answer, half an answer, garbage, silence.
"""

from __future__ import annotations

import asyncio
import gzip
import json

import httpx
import pytest

from importer.errors import NetworkError
from importer.send.client import KeenClient, OutcomeKind
from importer.send.transport import Http11Transport

LEAD = "47378190-96da-4dac-b2ff-5d2a386ecbe0"


def run(coro):
    return asyncio.run(coro)


async def serve(answer):
    """Start a server; ``answer(request_bytes, connection_number)`` returns (bytes, close)."""
    state = {"connections": 0, "requests": []}

    async def handle(reader, writer):
        state["connections"] += 1
        number = state["connections"]
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                body = await reader.readexactly(length)
                state["requests"].append(head + body)
                data, close = answer(head + body, number)
                if data:
                    writer.write(data)
                    await writer.drain()
                if close:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    return server, f"http://127.0.0.1:{port}/functions/v1/keen-api", state


def created(purchase_id: str = "p-1", extra: bytes = b"") -> bytes:
    body = json.dumps({"purchase": {"id": purchase_id}}).encode()
    return (
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
        + extra
        + b"Content-Length: %d\r\n\r\n" % len(body)
        + body
    )


def post_to(answer, count: int):
    """Start a server answering with ``answer``, post ``count`` purchases: (outcomes, state)."""

    async def go():
        server, url, state = await serve(answer)
        async with server:
            outcomes = await post_many(url, count)
        return outcomes, state

    return run(go())


async def post_many(url: str, count: int, transport=None, timeout: float = 2.0):
    transport = transport or Http11Transport()
    async with KeenClient(url, "secret-key", timeout=timeout, transport=transport) as client:
        return [
            await client.create_purchase({"action": "create_purchase", "lead_id": LEAD})
            for _ in range(count)
        ]


def test_keep_alive_reuses_one_connection_and_sends_exact_bytes():
    async def go():
        server, url, state = await serve(lambda req, n: (created(f"p-{len(req)}"), False))
        async with server:
            outcomes = await post_many(url, 3)
        return outcomes, state

    outcomes, state = run(go())
    assert [o.kind for o in outcomes] == [OutcomeKind.CREATED] * 3
    assert state["connections"] == 1
    first = state["requests"][0]
    head, body = first.split(b"\r\n\r\n")
    assert head.split(b"\r\n")[0] == b"POST /functions/v1/keen-api HTTP/1.1"
    assert b"X-Api-Key: secret-key" in head
    assert b"Content-Length: %d" % len(body) in head
    assert json.loads(body) == {"action": "create_purchase", "lead_id": LEAD}


def test_chunked_gzip_and_interim_answers_are_read():
    body = json.dumps({"purchase": {"id": "p-chunked"}}).encode()
    packed = gzip.compress(json.dumps({"purchase": {"id": "p-gzip"}}).encode())
    answers = [
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        + b"%x\r\n%s\r\n" % (10, body[:10])
        + b"%x\r\n%s\r\n0\r\n\r\n" % (len(body) - 10, body[10:]),
        b"HTTP/1.1 100 Continue\r\n\r\n" + created("p-after-100"),
        b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: %d\r\n\r\n" % len(packed)
        + packed,
    ]

    async def go():
        server, url, state = await serve(
            lambda req, n: (answers[len(state["requests"]) - 1], False)
        )
        async with server:
            return await post_many(url, 3)

    outcomes = run(go())
    assert [(o.kind, o.purchase_id) for o in outcomes] == [
        (OutcomeKind.CREATED, "p-chunked"),
        (OutcomeKind.CREATED, "p-after-100"),
        (OutcomeKind.CREATED, "p-gzip"),
    ]


def test_close_delimited_body_and_connection_close_open_a_new_connection():
    body = json.dumps({"purchase": {"id": "p-eof"}}).encode()

    def answer(req, n):
        if n == 1:
            return b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n" + body, True
        return created("p-close", b"Connection: close\r\n"), True

    outcomes, state = post_to(answer, 3)
    assert [o.purchase_id for o in outcomes] == ["p-eof", "p-close", "p-close"]
    assert state["connections"] == 3


def test_server_keep_alive_timeout_is_honoured():
    async def go():
        hint = b"Keep-Alive: timeout=1\r\n"
        server, url, state = await serve(lambda req, n: (created(extra=hint), False))
        async with server:
            transport = Http11Transport(limits=httpx.Limits(max_connections=4, keepalive_expiry=30))
            async with KeenClient(url, "k", transport=transport) as client:
                first = await client.create_purchase({"action": "create_purchase"})
                await asyncio.sleep(0.6)  # a 1 s timeout is trusted for half of it: stale
                second = await client.create_purchase({"action": "create_purchase"})
                third = await client.create_purchase({"action": "create_purchase"})  # reused
        return [first, second, third], state

    outcomes, state = run(go())
    assert [o.kind for o in outcomes] == [OutcomeKind.CREATED] * 3
    assert state["connections"] == 2


def test_idle_connection_is_reused_within_expiry():
    async def go():
        server, url, state = await serve(lambda req, n: (created(), False))
        async with server:
            transport = Http11Transport(limits=httpx.Limits(max_connections=4, keepalive_expiry=30))
            async with KeenClient(url, "k", transport=transport) as client:
                for _ in range(3):
                    await client.create_purchase({"action": "create_purchase"})
                    await asyncio.sleep(0.05)
        return state

    assert run(go())["connections"] == 1


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (b"", "the server closed the connection without an answer"),
        (b'HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n{"purch', "mid-answer"),
        (b"NOT HTTP AT ALL\r\n\r\n", "invalid HTTP answer"),
    ],
    ids=["no-answer", "half-answer", "garbage"],
)
def test_a_request_lost_after_the_write_is_unknown_never_resent(data, error):
    async def go():
        server, url, state = await serve(lambda req, n: (data, True))
        async with server:
            outcomes = await post_many(url, 1)
        return outcomes, state

    outcomes, state = run(go())
    assert outcomes[0].kind is OutcomeKind.UNKNOWN
    assert error in outcomes[0].error
    assert len(state["requests"]) == 1  # written once, never again


def test_a_connection_closed_before_the_write_is_not_sent_and_retried():
    """The server hangs up between the connect and the write (a server at its connection limit,
    seen under uvloop): nothing was written, so the row is `not_sent` and retried, never
    `unconfirmed`."""

    class ClosedOnArrival(Http11Transport):
        async def _connect(self, origin, timeout):
            connection = await super()._connect(origin, timeout)
            connection.eof_received()  # the server's FIN, read before the request is written
            return connection

    async def go():
        server, url, state = await serve(lambda req, n: (created(), False))
        async with server:
            outcomes = await post_many(url, 1, transport=ClosedOnArrival())
        return outcomes, state

    outcomes, state = run(go())
    assert outcomes[0].kind is OutcomeKind.NOT_SENT
    assert outcomes[0].error == (
        "could not connect (ConnectError: the connection closed before the request was sent)"
    )
    assert state["requests"] == []


def test_silence_is_a_read_timeout():
    async def go():
        server, url, state = await serve(lambda req, n: (b"", False))
        async with server:
            return await post_many(url, 1, timeout=0.3)

    outcome = run(go())[0]
    assert outcome.kind is OutcomeKind.UNKNOWN
    assert outcome.error == "timed out waiting for the answer"


def test_refused_connection_is_not_sent_and_pool_limit_waits():
    async def refused():
        async with KeenClient("http://127.0.0.1:9/x", "k", transport=Http11Transport()) as client:
            return await client.create_purchase({"action": "create_purchase"})

    outcome = run(refused())
    assert outcome.kind is OutcomeKind.NOT_SENT
    assert "cannot connect to 127.0.0.1:9" in outcome.error

    async def limited():
        def answer(req, n):
            return created(f"p-{n}"), False

        server, url, state = await serve(answer)
        async with server:
            transport = Http11Transport(limits=httpx.Limits(max_connections=2))
            client = KeenClient(url, "k", transport=transport)
            async with client:
                results = await asyncio.gather(
                    *(client.create_purchase({"action": "create_purchase"}) for _ in range(10))
                )
        return results, state

    results, state = run(limited())
    assert [r.kind for r in results] == [OutcomeKind.CREATED] * 10
    assert state["connections"] == 2


def test_unsupported_scheme():
    async def go():
        transport = Http11Transport()
        with pytest.raises(httpx.UnsupportedProtocol):
            await transport.handle_async_request(httpx.Request("GET", "ftp://example.org/"))

    run(go())


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    """A certificate for 127.0.0.1 signed by a private CA the test makes (trustme)."""
    import trustme

    authority = trustme.CA()
    issued = authority.issue_cert("127.0.0.1")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    issued.cert_chain_pems[0].write_to_path(str(cert))
    issued.private_key_pem.write_to_path(str(key))
    authority.cert_pem.write_to_path(str(folder / "ca.pem"))
    return cert, key, folder / "ca.pem"


def test_https_with_a_trusted_certificate_and_refusal_of_an_untrusted_one(certificate):
    import ssl

    cert, key, ca = certificate

    async def go():
        server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        server_context.load_cert_chain(cert, key)

        async def handle(reader, writer):
            head = await reader.readuntil(b"\r\n\r\n")
            length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
            await reader.readexactly(length)
            writer.write(created("p-tls"))
            await writer.drain()
            writer.close()

        server = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=server_context)
        port = server.sockets[0].getsockname()[1]
        url = f"https://127.0.0.1:{port}/functions/v1/keen-api"
        async with server:
            trusting = ssl.create_default_context(cafile=str(ca))
            good = await post_many(url, 1, Http11Transport(verify=trusting))
            with pytest.raises(NetworkError) as refused:  # system CAs: not trusted
                await post_many(url, 1, Http11Transport())
        return good[0], refused.value

    good, bad = run(go())
    assert (good.kind, good.purchase_id) == (OutcomeKind.CREATED, "p-tls")
    # The handshake failed before anything was written: the run stops, naming the problem.
    assert str(bad) == (
        "the certificate of 127.0.0.1 could not be verified: unable to get local issuer certificate"
    )


def test_a_damaged_compressed_answer_is_unknown_not_a_crash():
    def answer(req, n):
        body = b"\x1f\x8b\x08\x00garbage, not gzip"
        head = b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: %d\r\n\r\n"
        return head % len(body) + body, False

    outcomes, state = post_to(answer, 2)
    assert [o.kind for o in outcomes] == [OutcomeKind.UNKNOWN] * 2
    assert outcomes[0].error.startswith("the answer could not be read (DecodingError:")
    assert len(state["requests"]) == 2


def test_extra_bytes_after_an_answer_retire_the_connection():
    def answer(req, n):
        return created(f"p-{n}") + created("p-extra"), False  # two answers to one request

    outcomes, state = post_to(answer, 3)
    assert [o.purchase_id for o in outcomes] == ["p-1", "p-2", "p-3"]
    assert state["connections"] == 3  # never reused after the unasked-for answer


def test_head_answer_has_no_body_whatever_its_length():
    async def go():
        server, url, state = await serve(
            lambda req, n: (b"HTTP/1.1 200 OK\r\nContent-Length: 120\r\n\r\n", False)
        )
        async with server:
            transport = Http11Transport()
            request = httpx.Request("HEAD", url, extensions={"timeout": {"read": 2}})
            response = await transport.handle_async_request(request)
            await transport.aclose()
        return response

    response = run(go())
    assert (response.status_code, response.content) == (200, b"")
