"""Through a forward proxy and a private CA, over real sockets on 127.0.0.1.

Every proxy is :class:`nethelpers.ForwardProxy` (CONNECT and plain HTTP, with credentials, a
refused CONNECT, a TLS-inspecting mode, a dropped tunnel, a 502/504 of its own); every
certificate comes from a CA made by the test. The client is the one ``run`` uses: KeenClient on
the default transport with the :class:`NetworkSettings` of :func:`network_settings`.
"""

from __future__ import annotations

import argparse
import asyncio
import json

import pytest
from nethelpers import ForwardProxy, PrivateCA, closed_port

from importer.errors import NetworkError
from importer.sandbox import Sandbox
from importer.send.client import KeenClient, Outcome, OutcomeKind, make_transport
from importer.send.network import network_settings, parse_proxy

KEY = "0f0e0d0c-secret-key-0000-000000000001"
PASSWORD = "s3cr:t@pw"  # percent-encoded in the URL: "s3cr%3At%40pw"
QUOTED = "s3cr%3At%40pw"
LEAD = "47378190-96da-4dac-b2ff-5d2a386ecbe0"
PURCHASE = {"action": "create_purchase", "lead_id": LEAD, "purchase_amount": 12.5}


@pytest.fixture(scope="module")
def ca():
    return PrivateCA()


@pytest.fixture
def bundle(ca, tmp_path):
    return ca.write_bundle(tmp_path / "company-root.pem")


@pytest.fixture
def sandbox():
    with Sandbox() as sb:
        yield sb


class TlsKeen:
    """A TLS server with the private CA's certificate that answers every POST as created."""

    def __init__(self, ca: PrivateCA) -> None:
        self.context = ca.server_context()
        self.requests: list[bytes] = []

    async def __aenter__(self) -> str:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0, ssl=self.context)
        port = self.server.sockets[0].getsockname()[1]
        return f"https://127.0.0.1:{port}/functions/v1/keen-api"

    async def __aexit__(self, *exc_info) -> None:
        self.server.close()

    async def _handle(self, reader, writer) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
                self.requests.append(head + await reader.readexactly(length))
                body = json.dumps({"purchase": {"id": f"p-{len(self.requests)}"}}).encode()
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, OSError):
            pass
        finally:
            writer.close()


async def post(
    url: str, count: int = 1, *, key: str = KEY, environ=None, **settings
) -> list[Outcome]:
    network = network_settings(url, environ=environ or {}, **settings)
    async with KeenClient(url, key, timeout=5, network=network) as client:
        return [await client.create_purchase(PURCHASE) for _ in range(count)]


def sandbox_url(sb: Sandbox, scheme: str = "http") -> str:
    return sb.base_url.replace("http://", f"{scheme}://")


def assert_no_secret(*texts: object) -> None:
    for text in texts:
        for secret in (PASSWORD, QUOTED, KEY):
            assert secret not in str(text)


# --- CONNECT tunnels ---------------------------------------------------------------------------


def test_https_through_a_tunnel_trusting_a_private_ca(ca, bundle):
    async def go():
        server = TlsKeen(ca)
        async with server as url:
            with ForwardProxy() as proxy:
                outcomes = await post(url, 2, proxy=proxy.url, ca_bundle=bundle)
        return url, server, proxy, outcomes

    url, server, proxy, outcomes = asyncio.run(go())
    assert [(o.kind, o.purchase_id) for o in outcomes] == [
        (OutcomeKind.CREATED, "p-1"),
        (OutcomeKind.CREATED, "p-2"),
    ]
    authority = url.split("/")[2].encode()
    # One tunnel, kept alive for both requests; the proxy saw only encrypted bytes.
    assert proxy.heads == [b"CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n" % (authority, authority)]
    assert KEY.encode() not in proxy.client_bytes and b"create_purchase" not in proxy.client_bytes
    assert len(server.requests) == 2 and KEY.encode() in server.requests[0]


def test_private_ca_refused_without_ca_bundle_nothing_sent(ca):
    async def go():
        server = TlsKeen(ca)
        async with server as url:
            with ForwardProxy() as proxy, pytest.raises(NetworkError) as refused:
                await post(url, proxy=proxy.url)
        return server, proxy, refused.value

    server, proxy, error = asyncio.run(go())
    assert str(error) == (
        "the certificate of 127.0.0.1 could not be verified: unable to get local issuer "
        f"certificate (reached through the proxy 127.0.0.1:{proxy.port} from --proxy)"
    )
    assert "--ca-bundle FILE" in error.hint and "HTTPS_PROXY" in error.hint
    assert error.exit_code == 2
    assert server.requests == []


def test_direct_tls_failure_names_the_host_and_problem(ca):
    async def go():
        server = TlsKeen(ca)
        async with server as url:
            with pytest.raises(NetworkError) as refused:
                await post(url)
        return server, refused.value

    server, error = asyncio.run(go())
    assert str(error) == (
        "the certificate of 127.0.0.1 could not be verified: unable to get local issuer certificate"
    )
    assert server.requests == []


def test_proxy_credentials_are_sent_on_connect_only(ca, bundle):
    async def go():
        server = TlsKeen(ca)
        async with server as url:
            with ForwardProxy(credentials=("finance", PASSWORD)) as proxy:
                outcomes = await post(
                    url, proxy=proxy.url_with("finance", QUOTED), ca_bundle=bundle
                )
        return server, proxy, outcomes

    server, proxy, outcomes = asyncio.run(go())
    assert outcomes[0].kind is OutcomeKind.CREATED
    assert b"Proxy-Authorization: Basic " in proxy.heads[0]
    assert b"proxy-authorization" not in server.requests[0].lower()  # never inside the tunnel


@pytest.mark.parametrize(
    ("user", "expected"),
    [
        pytest.param(None, "wants credentials: 407 Proxy Authentication Required", id="none"),
        pytest.param(
            "finance",
            "refused the credentials of user 'finance': 407 Proxy Authentication Required",
            id="wrong-password",
        ),
    ],
)
def test_407_says_the_proxy_wants_credentials(ca, bundle, user, expected):
    async def go():
        server = TlsKeen(ca)
        async with server as url:
            with ForwardProxy(credentials=("finance", "other")) as proxy:
                given = proxy.url_with(user, QUOTED) if user else proxy.url
                with pytest.raises(NetworkError) as refused:
                    await post(url, proxy=given, ca_bundle=bundle)
        return server, proxy, refused.value

    server, proxy, error = asyncio.run(go())
    assert str(error) == f"the proxy 127.0.0.1:{proxy.port} (from --proxy) {expected}"
    asked = "put the proxy credentials in its url" if user is None else "check the user name"
    assert asked in error.hint.lower()
    assert server.requests == []
    assert_no_secret(error, error.hint)


@pytest.mark.parametrize("tunnel", [True, False], ids=["https-connect", "plain-http"])
def test_a_proxy_asking_only_for_a_windows_sign_in_says_so(ca, bundle, sandbox, tunnel):
    """NTLM/Negotiate (Windows' sign-in, common on company proxies) is not a wrong password."""

    async def go():
        server = TlsKeen(ca)
        async with server as url:
            with ForwardProxy(credentials=("finance", "other"), sign_ins=SIGN_INS) as proxy:
                given = proxy.url_with("finance", QUOTED)
                with pytest.raises(NetworkError) as refused:
                    target = url if tunnel else sandbox.base_url
                    await post(target, proxy=given, ca_bundle=bundle)
        return proxy, refused.value

    proxy, error = asyncio.run(go())
    assert str(error) == (
        f"the proxy 127.0.0.1:{proxy.port} (from --proxy) asks for a Windows sign-in (NTLM, "
        "Negotiate), which keen-import cannot give: 407 Proxy Authentication Required"
    )
    assert "a proxy that takes a user name and password (Basic)" in error.hint
    assert "--proxy none" in error.hint
    assert sandbox.purchases() == [] and proxy.forwarded == 0
    assert_no_secret(error, error.hint)


SIGN_INS = ("NTLM", "Negotiate", 'NTLM realm="corp"')


def test_connect_refused_with_a_5xx_is_not_sent_and_retryable(ca, bundle):
    async def go():
        server = TlsKeen(ca)
        async with server as url:
            with ForwardProxy(connect_status=502) as proxy:
                outcomes = await post(url, 2, proxy=proxy.url, ca_bundle=bundle)
        return server, proxy, outcomes

    server, proxy, outcomes = asyncio.run(go())
    assert [o.kind for o in outcomes] == [OutcomeKind.NOT_SENT] * 2
    assert outcomes[0].error.startswith(
        f"could not connect (ProxyRefused: the proxy 127.0.0.1:{proxy.port} (from --proxy) "
        "refused to connect to 127.0.0.1:"
    )
    assert outcomes[0].error.endswith(": 502 Refused)")
    assert server.requests == []


def test_connect_refused_with_403_stops_before_anything_is_sent(ca, bundle):
    async def go():
        server = TlsKeen(ca)
        async with server as url:
            with ForwardProxy(connect_status=403) as proxy, pytest.raises(NetworkError) as refused:
                await post(url, proxy=proxy.url, ca_bundle=bundle)
        return server, refused.value

    server, error = asyncio.run(go())
    assert "refused to connect to 127.0.0.1:" in str(error) and str(error).endswith("403 Refused")
    assert server.requests == []


# --- after the request went through: unconfirmed -----------------------------------------------


@pytest.mark.parametrize("status", [502, 504])
@pytest.mark.parametrize("scheme", ["https", "http"])
def test_proxy_gateway_error_after_forwarding_is_unconfirmed(ca, bundle, sandbox, status, scheme):
    """A TLS-inspecting proxy (https) or a plain one (http) hands the request on, then answers
    502/504 itself: the purchase exists, the client cannot know it."""
    inspect = ca.server_context() if scheme == "https" else None
    with ForwardProxy(inspect=inspect, status_after_forward=status) as proxy:
        url = sandbox_url(sandbox, scheme)
        outcomes = asyncio.run(post(url, key=sandbox.api_key, proxy=proxy.url, ca_bundle=bundle))
    assert (outcomes[0].kind, outcomes[0].http_status) == (OutcomeKind.UNKNOWN, status)
    assert proxy.forwarded == 1 and len(sandbox.purchases()) == 1


@pytest.mark.parametrize("scheme", ["https", "http"])
def test_tunnel_dropped_after_the_write_is_unconfirmed(ca, bundle, sandbox, scheme):
    inspect = ca.server_context() if scheme == "https" else None
    with ForwardProxy(inspect=inspect, drop_after_forward=True) as proxy:
        url = sandbox_url(sandbox, scheme)
        outcomes = asyncio.run(post(url, key=sandbox.api_key, proxy=proxy.url, ca_bundle=bundle))
    assert outcomes[0].kind is OutcomeKind.UNKNOWN
    assert outcomes[0].error == (
        "connection lost (RemoteProtocolError: the server closed the connection without an answer)"
    )
    assert proxy.forwarded == 1 and len(sandbox.purchases()) == 1


# --- plain http through the proxy, unreachable proxies, the environment ------------------------


def test_http_target_is_sent_to_the_proxy_in_absolute_form(sandbox):
    with ForwardProxy(credentials=("finance", PASSWORD)) as proxy:
        url = sandbox.base_url
        outcomes = asyncio.run(
            post(url, 2, key=sandbox.api_key, proxy=proxy.url_with("finance", QUOTED))
        )
    assert [o.kind for o in outcomes] == [OutcomeKind.CREATED] * 2
    assert [h.split(b"\r\n")[0] for h in proxy.heads] == [b"POST %s HTTP/1.1" % url.encode()] * 2
    assert all(b"Proxy-Authorization: Basic " in h for h in proxy.heads)
    assert len(sandbox.purchases()) == 2


@pytest.mark.parametrize(
    ("user", "expected"),
    [
        pytest.param(None, "wants credentials: 407 Proxy Authentication Required", id="none"),
        pytest.param(
            "finance",
            "refused the credentials of user 'finance': 407 Proxy Authentication Required",
            id="wrong-password",
        ),
    ],
)
def test_plain_http_407_is_not_a_rejection(sandbox, user, expected):
    with ForwardProxy(credentials=("finance", "other")) as proxy:
        given = proxy.url_with(user, QUOTED) if user else proxy.url
        with pytest.raises(NetworkError) as refused:
            asyncio.run(post(sandbox.base_url, proxy=given))
    assert str(refused.value) == f"the proxy 127.0.0.1:{proxy.port} (from --proxy) {expected}"
    assert sandbox.purchases() == [] and proxy.forwarded == 0
    assert_no_secret(refused.value, refused.value.hint)


def test_unreachable_proxy_says_it_was_the_proxy(sandbox):
    port = closed_port()
    with pytest.raises(NetworkError) as refused:
        asyncio.run(post(sandbox.base_url, proxy=f"http://finance:{QUOTED}@127.0.0.1:{port}"))
    error = refused.value
    assert str(error).startswith(f"cannot reach the proxy 127.0.0.1:{port} (from --proxy): ")
    assert "--proxy none" in error.hint and "NO_PROXY" in error.hint
    assert_no_secret(error, error.hint)
    assert sandbox.purchases() == []


def test_proxy_lost_after_the_first_answer_is_not_sent_not_fatal(sandbox):
    """Once the API has answered, a proxy failure is one more connection error (retried)."""

    async def go():
        with ForwardProxy() as proxy:
            network = network_settings(sandbox.base_url, proxy=proxy.url, environ={})
            client = KeenClient(sandbox.base_url, sandbox.api_key, timeout=5, network=network)
            first = await client.create_purchase(PURCHASE)
        second = await client.create_purchase(PURCHASE)  # the proxy has stopped listening
        await client.aclose()
        return first, second, proxy

    first, second, proxy = asyncio.run(go())
    assert first.kind is OutcomeKind.CREATED
    assert second.kind is OutcomeKind.NOT_SENT
    assert f"cannot reach the proxy 127.0.0.1:{proxy.port} (from --proxy)" in second.error


def test_environment_proxy_and_no_proxy_bypass(ca, bundle, sandbox):
    dead = f"http://finance:{QUOTED}@127.0.0.1:{closed_port()}"
    with ForwardProxy() as proxy:
        key = sandbox.api_key
        through = asyncio.run(post(sandbox.base_url, key=key, environ={"HTTP_PROXY": proxy.url}))
        assert proxy.forwarded == 1
        environ = {"http_proxy": dead, "ALL_PROXY": dead, "NO_PROXY": "example.com, 127.0.0.1"}
        direct = asyncio.run(post(sandbox.base_url, key=key, environ=environ))
        assert proxy.forwarded == 1  # NO_PROXY: straight to the sandbox, not via the dead proxy
    assert [through[0].kind, direct[0].kind] == [OutcomeKind.CREATED] * 2

    async def tls():
        async with TlsKeen(ca) as url:
            environ = {"HTTPS_PROXY": dead, "NO_PROXY": "localhost,127.0.0.0/8"}
            return await post(url, environ=environ, ca_bundle=bundle)

    assert asyncio.run(tls())[0].kind is OutcomeKind.CREATED


def test_httpx_own_transport_takes_the_same_proxy(sandbox):
    """make_transport("httpx", proxy=...): the reference transport goes through the proxy too."""

    async def go():
        proxy = parse_proxy(given, source="--proxy")
        transport = make_transport("httpx", proxy=proxy)
        async with KeenClient(sandbox.base_url, sandbox.api_key, transport=transport) as client:
            return await client.create_purchase(PURCHASE)

    with ForwardProxy(credentials=("finance", PASSWORD)) as server:
        given = server.url_with("finance", QUOTED)
        outcome = asyncio.run(go())
    assert outcome.kind is OutcomeKind.CREATED
    assert server.forwarded == 1 and len(sandbox.purchases()) == 1


@pytest.mark.parametrize("typed", ["jsmith:s3cret@127.0.0.1:9", "http://jsmith:s3cret@127.0.0.1:9"])
def test_a_proxy_password_typed_with_or_without_a_scheme_gets_the_note(typed, capsys):
    from importer.cli import _note_typed_proxy_password

    _note_typed_proxy_password(argparse.Namespace(proxy=typed))
    assert capsys.readouterr().err == (
        "note: the proxy password typed after --proxy stays in your shell's history and shows "
        "in the process list; HTTPS_PROXY or a mapping file's proxy option keeps it out\n"
    )
    _note_typed_proxy_password(argparse.Namespace(proxy="127.0.0.1:9"))
    assert capsys.readouterr().err == ""
