"""httpx's own transport (httpcore) under the client, its set-up failures reported as
:mod:`importer.send.setup_errors` asks of every transport (a certificate, a proxy that cannot be
reached or refuses: one message, nothing sent, never retried).
"""

from __future__ import annotations

import re
import ssl
import traceback
from collections.abc import Iterator

import httpx

from importer.send.network import Proxy
from importer.send.setup_errors import (
    PROXY_AUTH,
    CertificateError,
    ProxyRefused,
    ProxyUnreachable,
)

__all__ = ["HttpxTransport", "translate_httpx_error"]

_NOT_TLS_FAILURES = (
    ssl.SSLEOFError,
    ssl.SSLSyscallError,
    ssl.SSLWantReadError,
    ssl.SSLWantWriteError,
    ssl.SSLZeroReturnError,
)
_STATUS_LINE = re.compile(r"(\d{3})\b ?(.*)", re.S)  # httpcore's "407 Proxy Authentication ..."


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
