"""Failures of the network set-up: the contract every transport under the client keeps, and
httpx's own transport (:class:`HttpxTransport`) keeping it.

Until the API has answered once, :class:`~importer.send.client.KeenClient` turns an exception
with ``setup = True`` into one :class:`~importer.errors.NetworkError` (one message, exit 2,
nothing sent); every other transport error is classified and, before a write, retried. So each
transport raises these classes for the failures every later request would meet too:

    CertificateError   httpx.ConnectError   the TLS handshake with the API failed       setup
    ProxyUnreachable   httpx.ProxyError     the proxy refused or timed out the connect  setup
    ProxyRefused       httpx.ProxyError     the proxy answered itself with a 4xx (407)  setup
                                            ... or with a 5xx (it cannot reach the API) retried

:class:`~importer.send.transport.Http11Transport` raises them where it meets the failure;
:class:`HttpxTransport` is httpx's own transport with its exceptions translated by
:func:`translate_httpx_error`. tests/send/test_transport_contract.py runs the same failure cases
against every kind :func:`~importer.send.client.make_transport` makes.

The texts name hosts and the proxy's address, never its password.
"""

from __future__ import annotations

import re
import ssl
import traceback
from collections.abc import Iterator

import httpx

from importer.send.network import Proxy

__all__ = [
    "PROXY_AUTH",
    "CertificateError",
    "HttpxTransport",
    "ProxyRefused",
    "ProxyUnreachable",
    "translate_httpx_error",
]

PROXY_AUTH = "Proxy Authentication Required"
_TLS_HINT = (
    "nothing was sent. If your company inspects HTTPS with its own root certificate, give that "
    "certificate with --ca-bundle FILE (PEM); check the proxy settings too (--proxy, HTTPS_PROXY, "
    "NO_PROXY)"
)
_NOT_TLS_FAILURES = (
    ssl.SSLEOFError,
    ssl.SSLSyscallError,
    ssl.SSLWantReadError,
    ssl.SSLWantWriteError,
    ssl.SSLZeroReturnError,
)
_STATUS_LINE = re.compile(r"(\d{3})\b ?(.*)", re.S)  # httpcore's "407 Proxy Authentication ..."


class CertificateError(httpx.ConnectError):
    """The TLS handshake with the API failed (most often: its certificate does not verify)."""

    setup = True

    def __init__(self, host: str, port: int, exc: ssl.SSLError, proxy: Proxy | None) -> None:
        if isinstance(exc, ssl.SSLCertVerificationError):
            problem = exc.verify_message or exc.reason or "certificate verify failed"
            text = f"the certificate of {host} could not be verified: {problem}"
        else:
            problem = exc.reason or str(exc) or type(exc).__name__
            text = f"the TLS handshake with {host}:{port} failed: {problem}"
        if proxy is not None:
            text += f" (reached through the proxy {proxy.address} from {proxy.source})"
        super().__init__(text)
        self.host, self.port, self.problem = host, port, problem
        self.hint = _TLS_HINT


class ProxyUnreachable(httpx.ProxyError):
    """The proxy itself could not be reached: nothing was sent."""

    setup = True

    def __init__(self, proxy: Proxy, reason: str) -> None:
        super().__init__(f"cannot reach the proxy {proxy.address} (from {proxy.source}): {reason}")
        self.proxy = proxy
        self.hint = (
            f"nothing was sent. Check the proxy in {proxy.source}; if the API is reached without "
            "a proxy here, use --proxy none or list its host in NO_PROXY"
        )


class ProxyRefused(httpx.ProxyError):
    """The proxy answered the CONNECT (or a forwarded request) itself: nothing reached the API.

    A 4xx refusal (407 credentials, 403 a blocked host) is a set-up failure; a 5xx is the proxy
    failing to reach the API, retried like a connection error."""

    def __init__(self, proxy: Proxy, status: int, reason: str, host: str, port: int) -> None:
        self.proxy, self.status = proxy, status
        self.setup = 400 <= status < 500
        reason = "".join(c for c in reason.strip() if c.isprintable())[:80]  # the proxy's words
        where = f"the proxy {proxy.address} (from {proxy.source})"
        if status == 407 and proxy.username is None:
            text = f"{where} wants credentials: 407 {PROXY_AUTH}"
        elif status == 407:
            text = f"{where} refused the credentials of user {proxy.username!r}: 407 {PROXY_AUTH}"
        else:
            text = f"{where} refused to connect to {host}:{port}: {status} {reason}".rstrip()
        super().__init__(text)
        if status == 407 and proxy.username is None:
            self.hint = (
                f"nothing was sent. Put the proxy credentials in its URL: "
                f"http://USER:PASSWORD@{proxy.address} (in {proxy.source})"
            )
        elif status == 407:
            self.hint = (
                f"nothing was sent. Check the user name and password in {proxy.source}; in the "
                "URL, write @ : % / as %40 %3A %25 %2F; a Windows domain user is DOMAIN%5Cuser"
            )
        else:
            self.hint = f"nothing was sent. Ask your network team whether {host} is allowed"


class HttpxTransport(httpx.AsyncBaseTransport):
    """httpx's own transport (httpcore), reporting set-up failures as our transport does.

    ``verify``: a ready ``SSLContext`` or False. ``proxy``: every request goes through it.
    """

    def __init__(
        self,
        *,
        limits: httpx.Limits,
        verify: bool | ssl.SSLContext,
        proxy: Proxy | None = None,
    ) -> None:
        self.proxy = proxy
        self._inner = httpx.AsyncHTTPTransport(
            limits=limits, verify=verify, proxy=_httpx_proxy(proxy) if proxy else None
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send one request through httpx; set-up failures come out as this module's classes."""
        try:
            response = await self._inner.handle_async_request(request)
        except httpx.TransportError as exc:
            translated = translate_httpx_error(exc, request, self.proxy)
            if translated is exc:
                raise
            raise translated from exc
        if response.status_code == 407 and self.proxy is not None and request.url.scheme == "http":
            # A plain http request is handed to the proxy as is: this 407 is the proxy's own.
            await response.aclose()
            host, port = _host_and_port(request.url)
            raise ProxyRefused(self.proxy, 407, PROXY_AUTH, host, port)
        return response

    async def aclose(self) -> None:
        """Close the pooled connections."""
        await self._inner.aclose()


def translate_httpx_error(
    exc: httpx.TransportError, request: httpx.Request, proxy: Proxy | None
) -> httpx.TransportError:
    """httpx's exception for a set-up failure as the class of this module; any other unchanged.

    A failed TLS handshake (an ``ssl.SSLError`` in the cause chain) is a
    :class:`CertificateError`; with a proxy, a failure to open the TCP connection (which can
    only be the one to the proxy) is :class:`ProxyUnreachable`; a CONNECT the proxy answered
    with a status of its own is :class:`ProxyRefused`.
    """
    host, port = _host_and_port(request.url)
    if isinstance(exc, httpx.ProxyError):
        answered = _STATUS_LINE.fullmatch(str(exc))
        if proxy is None or answered is None:
            return exc
        return ProxyRefused(proxy, int(answered[1]), answered[2], host, port)
    if not isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout):
        return exc
    causes = list(_causes(exc))
    if isinstance(exc, httpx.ConnectError):  # a handshake cut short by a timeout is retried
        for cause in causes:
            if _handshake_failure(cause):
                return CertificateError(host, port, cause, proxy)
    if proxy is not None and _opening_tcp(causes):
        return ProxyUnreachable(proxy, _reason(exc, causes))
    return exc


def _httpx_proxy(proxy: Proxy) -> httpx.Proxy:
    auth = (proxy.username, proxy.password or "") if proxy.username is not None else None
    return httpx.Proxy(f"http://{proxy.address}", auth=auth)


def _host_and_port(url: httpx.URL) -> tuple[str, int]:
    return url.host, url.port or (80 if url.scheme == "http" else 443)


def _causes(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _handshake_failure(cause: BaseException) -> bool:
    # These subclasses are the connection failing, not TLS: a hang-up (which asyncio, under our
    # transport, reports as a reset) or a handshake interrupted by the connect timeout.
    return isinstance(cause, ssl.SSLError) and not isinstance(cause, _NOT_TLS_FAILURES)


def _opening_tcp(causes: list[BaseException]) -> bool:
    # httpcore raises the same ConnectError/ConnectTimeout for the TCP connect and for the TLS
    # handshake; only the traceback tells them apart: the first passes through its network
    # backend's connect_tcp (the documented interface of httpcore's backends).
    return any(
        frame.f_code.co_name == "connect_tcp"
        for cause in causes
        for frame, _ in traceback.walk_tb(cause.__traceback__)
    )


def _reason(exc: httpx.TransportError, causes: list[BaseException]) -> str:
    """The words our transport uses: "timed out", or the operating system's (as asyncio's)."""
    if isinstance(exc, httpx.ConnectTimeout):
        return "timed out"
    for cause in reversed(causes):
        if isinstance(cause, OSError) and cause.strerror:
            return cause.strerror
    return str(exc) or type(exc).__name__
