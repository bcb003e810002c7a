"""The transport seam's contract: every kind :func:`make_transport` makes fails the same way.

Each case runs, unchanged, against every kind of ``TRANSPORT_KINDS`` (``"http11"``, ours, and
``"httpx"``, httpx's own transport; a kind added there is run here too):
a certificate that does not verify, an unreachable proxy and a proxy that wants credentials or
refuses the tunnel stop the run at once with the same message (nothing sent, no password in
it); the API refusing connections is retried; a POST is never written twice and a connection
the server closed is never used. A swap of transport cannot silently turn a set-up failure into
ten minutes of retries.

Servers and proxies are the ones of the other network tests (:mod:`nethelpers`, ``TlsKeen``),
all on 127.0.0.1; the client is built as ``KeenClient`` builds its own, from
:func:`network_settings`.
"""

from __future__ import annotations

import asyncio
import json
import socket
import sys

import pytest
from nethelpers import ForwardProxy, PrivateCA, closed_port
from test_proxy import TlsKeen

from importer.errors import NetworkError
from importer.send.client import (
    TRANSPORT_KINDS,
    KeenClient,
    Outcome,
    OutcomeKind,
    make_transport,
)
from importer.send.network import network_settings

KEY = "0f0e0d0c-secret-key-0000-000000000002"
PASSWORD = "s3cr:t@pw"
QUOTED = "s3cr%3At%40pw"  # PASSWORD as it is written in a proxy URL
PURCHASE = {"action": "create_purchase", "lead_id": "47378190-96da-4dac-b2ff-5d2a386ecbe0"}
PATH = "/functions/v1/keen-api"
UNVERIFIED = (
    "the certificate of 127.0.0.1 could not be verified: unable to get local issuer certificate"
)
WANTS = "wants credentials: 407 Proxy Authentication Required"
WRONG = "refused the credentials of user 'finance': 407 Proxy Authentication Required"


@pytest.fixture(params=TRANSPORT_KINDS)
def kind(request) -> str:
    return request.param


@pytest.fixture(scope="module")
def ca() -> PrivateCA:
    return PrivateCA()


@pytest.fixture
def bundle(ca, tmp_path):
    return ca.write_bundle(tmp_path / "company-root.pem")


async def post(
    kind: str, url: str, count: int = 1, *, proxy=None, ca_bundle=None, timeout: float = 5
) -> list[Outcome]:
    """``count`` purchases through a client built as ``KeenClient`` builds its own."""
    network = network_settings(url, proxy=proxy, ca_bundle=ca_bundle, environ={})
    transport = make_transport(kind, verify=network.tls or True, proxy=network.proxy)
    async with KeenClient(url, KEY, timeout=timeout, transport=transport) as client:
        return [await client.create_purchase(PURCHASE) for _ in range(count)]


def assert_no_secret(error: BaseException) -> None:
    """Neither the proxy password nor the key in the message, the hint, a repr or a cause."""
    texts = [error.hint]
    current: BaseException | None = error
    while current is not None:
        texts += [str(current), repr(current)]
        current = current.__cause__ or current.__context__
    for text in texts:
        for secret in (PASSWORD, QUOTED, KEY):
            assert secret not in str(text)


class PlainKeen:
    """A plain HTTP API on 127.0.0.1 counting connections and requests.

    ``answer=False`` reads a request and closes without answering; ``idle_close`` closes a
    connection that has waited that many seconds for its next request; ``greeting`` is written
    as soon as a client connects, before the connection is closed (no request is read)."""

    def __init__(
        self, *, answer: bool = True, idle_close: float | None = None, greeting: bytes = b""
    ) -> None:
        self.answer, self.idle_close, self.greeting = answer, idle_close, greeting
        self.connections = self.requests = 0

    async def __aenter__(self) -> str:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        return f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}{PATH}"

    async def __aexit__(self, *exc_info) -> None:
        self.server.close()

    async def _handle(self, reader, writer) -> None:
        self.connections += 1
        try:
            if self.greeting:
                writer.write(self.greeting)
                await writer.drain()
                return
            while await self._answer_one(reader, writer):
                pass
        except (TimeoutError, asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            pass  # the client left, the connection idled out, or the test is over
        finally:
            writer.close()

    async def _answer_one(self, reader, writer) -> bool:
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), self.idle_close)
        length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
        await reader.readexactly(length)
        self.requests += 1
        if not self.answer:
            return False
        body = json.dumps({"purchase": {"id": f"p-{self.requests}"}}).encode()
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
        await writer.drain()
        return True


# --- certificates -----------------------------------------------------------------------------


@pytest.mark.parametrize("via", ["direct", "proxy"])
def test_an_untrusted_certificate_stops_the_run_before_anything_is_sent(kind, ca, via):
    async def go():
        server = TlsKeen(ca)
        async with server as url:
            with ForwardProxy() as proxy, pytest.raises(NetworkError) as refused:
                await post(kind, url, proxy=proxy.url if via == "proxy" else None)
        return server, proxy, refused.value

    server, proxy, error = asyncio.run(go())
    through = f" (reached through the proxy 127.0.0.1:{proxy.port} from --proxy)"
    assert str(error) == UNVERIFIED + (through if via == "proxy" else "")
    assert "--ca-bundle FILE" in error.hint and error.exit_code == 2
    assert server.requests == []


@pytest.mark.parametrize("via", ["direct", "proxy"])
def test_a_trusted_private_ca_gets_answers_on_one_connection(kind, ca, bundle, via):
    async def go():
        server = TlsKeen(ca)
        async with server as url:
            with ForwardProxy() as proxy:
                given = proxy.url if via == "proxy" else None
                outcomes = await post(kind, url, 2, proxy=given, ca_bundle=bundle)
        return server, proxy, outcomes

    server, proxy, outcomes = asyncio.run(go())
    assert [(o.kind, o.purchase_id) for o in outcomes] == [
        (OutcomeKind.CREATED, "p-1"),
        (OutcomeKind.CREATED, "p-2"),
    ]
    assert len(server.requests) == 2
    assert len(proxy.heads) == (1 if via == "proxy" else 0)  # one tunnel, kept alive


def test_a_server_not_speaking_tls_stops_the_run(kind):
    async def go():
        server = PlainKeen(greeting=b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
        async with server as url:
            with pytest.raises(NetworkError) as refused:
                await post(kind, url.replace("http://", "https://"))
        return url, refused.value

    url, error = asyncio.run(go())
    port = url.split("/")[2].split(":")[1]
    assert str(error) == f"the TLS handshake with 127.0.0.1:{port} failed: WRONG_VERSION_NUMBER"
    assert "--ca-bundle FILE" in error.hint


def test_a_handshake_that_times_out_is_retried_not_fatal(kind):
    async def go():
        server = PlainKeen()  # waits for an HTTP request: never answers the TLS hello
        async with server as url:
            return await post(kind, url.replace("http://", "https://"), timeout=0.3)

    outcome = asyncio.run(go())[0]
    assert (outcome.kind, outcome.retryable) == (OutcomeKind.NOT_SENT, True)
    assert outcome.error.startswith("could not connect (ConnectTimeout")


# --- proxies ----------------------------------------------------------------------------------


@pytest.mark.parametrize("scheme", ["https", "http"])
def test_an_unreachable_proxy_stops_the_run(kind, scheme):
    port = closed_port()
    url = f"{scheme}://127.0.0.1:{closed_port()}{PATH}"
    with pytest.raises(NetworkError) as refused:
        asyncio.run(post(kind, url, proxy=f"http://finance:{QUOTED}@127.0.0.1:{port}"))
    error = refused.value
    prefix = f"cannot reach the proxy 127.0.0.1:{port} (from --proxy): "
    assert str(error).startswith(prefix) and len(str(error)) > len(prefix)
    assert "--proxy none" in error.hint and "NO_PROXY" in error.hint
    assert_no_secret(error)


@pytest.mark.skipif(sys.platform != "linux", reason="a full accept queue drops SYNs on Linux only")
def test_a_proxy_that_never_accepts_stops_the_run(kind):
    with socket.socket() as listening:
        listening.bind(("127.0.0.1", 0))
        listening.listen(0)
        port = listening.getsockname()[1]
        queued = [socket.socket() for _ in range(4)]  # fill the queue: the next connect hangs
        for sock in queued:
            sock.setblocking(False)
            sock.connect_ex(("127.0.0.1", port))
        url = f"https://127.0.0.1:{closed_port()}{PATH}"
        try:
            with pytest.raises(NetworkError) as refused:
                asyncio.run(post(kind, url, proxy=f"http://127.0.0.1:{port}", timeout=0.3))
        finally:
            for sock in queued:
                sock.close()
    expected = f"cannot reach the proxy 127.0.0.1:{port} (from --proxy): timed out"
    assert str(refused.value) == expected


@pytest.mark.parametrize(
    ("user", "expected"),
    [pytest.param(None, WANTS, id="no-credentials"), pytest.param("finance", WRONG, id="wrong")],
)
@pytest.mark.parametrize("scheme", ["https", "http"], ids=["connect", "forwarded"])
def test_a_proxy_wanting_credentials_stops_the_run(kind, ca, bundle, scheme, user, expected):
    async def go():
        server = TlsKeen(ca)
        async with server as tls_url:
            url = tls_url if scheme == "https" else f"http://127.0.0.1:{closed_port()}{PATH}"
            with ForwardProxy(credentials=("finance", "other")) as proxy:
                given = proxy.url_with(user, QUOTED) if user else proxy.url
                with pytest.raises(NetworkError) as refused:
                    await post(kind, url, proxy=given, ca_bundle=bundle)
        return server, proxy, refused.value

    server, proxy, error = asyncio.run(go())
    assert str(error) == f"the proxy 127.0.0.1:{proxy.port} (from --proxy) {expected}"
    asked = "put the proxy credentials in its url" if user is None else "check the user name"
    assert asked in error.hint.lower()
    assert server.requests == [] and proxy.forwarded == 0
    assert_no_secret(error)


def test_a_proxy_refusing_the_tunnel_with_403_stops_the_run(kind, ca, bundle):
    async def go():
        server = TlsKeen(ca)
        async with server as url:
            with ForwardProxy(connect_status=403) as proxy, pytest.raises(NetworkError) as refused:
                await post(kind, url, proxy=proxy.url, ca_bundle=bundle)
        return server, proxy, refused.value

    server, proxy, error = asyncio.run(go())
    assert str(error).startswith(
        f"the proxy 127.0.0.1:{proxy.port} (from --proxy) refused to connect to 127.0.0.1:"
    )
    assert str(error).endswith(": 403 Refused")
    assert server.requests == []


def test_a_proxy_failing_the_tunnel_with_502_is_retried(kind, ca, bundle):
    async def go():
        server = TlsKeen(ca)
        async with server as url:
            with ForwardProxy(connect_status=502) as proxy:
                outcomes = await post(kind, url, 2, proxy=proxy.url, ca_bundle=bundle)
        return server, proxy, outcomes

    server, proxy, outcomes = asyncio.run(go())
    assert [(o.kind, o.retryable) for o in outcomes] == [(OutcomeKind.NOT_SENT, True)] * 2
    assert outcomes[0].error.startswith(
        f"could not connect (ProxyRefused: the proxy 127.0.0.1:{proxy.port} (from --proxy) "
        "refused to connect to 127.0.0.1:"
    )
    assert outcomes[0].error.endswith(": 502 Refused)")
    assert server.requests == []


# --- the API itself -----------------------------------------------------------------------------


@pytest.mark.parametrize("scheme", ["https", "http"])
def test_the_api_refusing_connections_is_retried_not_fatal(kind, scheme):
    url = f"{scheme}://127.0.0.1:{closed_port()}{PATH}"
    outcomes = asyncio.run(post(kind, url, 2))
    assert [(o.kind, o.retryable) for o in outcomes] == [(OutcomeKind.NOT_SENT, True)] * 2
    assert outcomes[0].error.startswith("could not connect (ConnectError: ")


# --- keep-alive ---------------------------------------------------------------------------------


def test_a_post_lost_after_the_write_is_unknown_and_never_written_twice(kind):
    async def go():
        server = PlainKeen(answer=False)
        async with server as url:
            outcomes = await post(kind, url)
        return server, outcomes

    server, outcomes = asyncio.run(go())
    assert (outcomes[0].kind, outcomes[0].retryable) == (OutcomeKind.UNKNOWN, False)
    assert server.requests == 1


def test_a_connection_the_server_closed_while_idle_is_not_used(kind):
    async def go():
        server = PlainKeen(idle_close=0.2)
        async with server as url:
            network = network_settings(url, environ={})
            transport = make_transport(kind, verify=True, proxy=network.proxy)
            async with KeenClient(url, KEY, timeout=5, transport=transport) as client:
                outcomes = [await client.create_purchase(PURCHASE) for _ in range(2)]
                await asyncio.sleep(0.5)  # the server has closed the idle connection
                outcomes.append(await client.create_purchase(PURCHASE))
        return server, outcomes

    server, outcomes = asyncio.run(go())
    assert [o.purchase_id for o in outcomes] == ["p-1", "p-2", "p-3"]
    assert (server.connections, server.requests) == (2, 3)


def test_an_unknown_kind_is_refused_naming_the_kinds():
    with pytest.raises(ValueError, match="unknown transport 'h2': use one of http11, httpx"):
        make_transport("h2")
