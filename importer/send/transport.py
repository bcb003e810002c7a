"""A lean HTTP/1.1 transport for httpx: asyncio protocol objects and the httptools parser.

Why not aiohttp under httpx: every request through aiohttp builds a ClientRequest, a cookie
filter, a timer context and a response object before httpx builds its own; on a 2-core machine
that client CPU, not the network, caps the import at about 2,000 requests/s. This transport
does one ``write`` of the prepared request bytes and lets llhttp (httptools, the parser uvicorn
uses) read the answer, which halves the client CPU per request.

What it does: keep-alive connections per origin (most recently used first, dropped after
``keepalive_expiry`` or the server's ``Keep-Alive: timeout``), a connection limit with a pool
timeout, TLS through ``ssl`` (the operating system's trust store by default), Content-Length,
chunked and close-delimited bodies, interim 1xx answers skipped, and a forward proxy: an https
target through a ``CONNECT`` tunnel (TLS inside it, end to end), an http target by sending the
absolute URL to the proxy. Errors are the httpx exceptions whose meaning
:func:`importer.send.client.classify_exception` relies on:

- ``ConnectError`` / ``ConnectTimeout`` / ``PoolTimeout`` / ``ProxyError``: nothing was written,
  safe to retry (a refused or failed ``CONNECT`` is a ``ProxyError``: the API never saw it);
- ``ReadTimeout``: the request was written and no complete answer came in time;
- ``RemoteProtocolError``: the request was written and the connection closed or the answer
  could not be parsed.

A POST is never written twice: a connection that fails after the write is reported, not
retried, because the server may have acted on it. A tunnel dropped after the write, or a 502/504
answered through it, is therefore as uncertain as a direct connection that does the same.

Failures of the set-up itself (a certificate that does not verify, a TLS handshake that fails, a
proxy that cannot be reached or refuses the tunnel with a 4xx such as 407) are raised as the
classes of :mod:`importer.send.setup_errors`, the contract every transport keeps: they carry
``setup = True`` and a ``hint``, so the client stops the run at once instead of retrying them.
"""

from __future__ import annotations

import asyncio
import re
import ssl
from collections import deque

import httptools
import httpx

from importer.send.network import Proxy, trust_context
from importer.send.setup_errors import (
    PROXY_AUTH,
    CertificateError,
    ProxyRefused,
    ProxyUnreachable,
)

Origin = tuple[str, str, int]
_KEEP_ALIVE_TIMEOUT = re.compile(rb"timeout\s*=\s*(\d+)", re.I)
_DEFAULT_PORTS = {"http": 80, "https": 443}


class Http11Transport(httpx.AsyncBaseTransport):
    """An httpx transport speaking HTTP/1.1 over pooled asyncio connections.

    ``verify``: True (the operating system's trust store), False, or a ready ``SSLContext``.
    ``proxy``: every request goes through this forward proxy (see the module docstring).
    """

    def __init__(
        self,
        *,
        limits: httpx.Limits | None = None,
        verify: bool | ssl.SSLContext = True,
        proxy: Proxy | None = None,
    ) -> None:
        limits = limits or httpx.Limits(max_connections=100, keepalive_expiry=5.0)
        self.max_connections = limits.max_connections or 100
        self.keepalive_expiry = limits.keepalive_expiry if limits.keepalive_expiry else 5.0
        self.verify = verify
        self.proxy = proxy
        self._ssl_context: ssl.SSLContext | None = None
        self._idle: dict[Origin, list[_Connection]] = {}
        self._open = 0  # connections open or being opened, idle ones included
        self._waiters: deque[asyncio.Future] = deque()
        self._closed = False

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send one request on a pooled connection and return the complete response."""
        if self._closed:
            raise RuntimeError("the transport is closed")
        url = request.url
        if url.scheme not in _DEFAULT_PORTS:
            raise httpx.UnsupportedProtocol(f"unsupported URL scheme {url.scheme!r}")
        origin = (url.scheme, url.host, url.port or _DEFAULT_PORTS[url.scheme])
        try:
            body = request.content
        except httpx.RequestNotRead:
            body = await request.aread()
        forwarded = self.proxy is not None and origin[0] == "http"
        data = _request_bytes(request, body, self.proxy if forwarded else None)
        timeouts = request.extensions.get("timeout") or {}
        status, headers, content, encoded = await self.send_prepared(
            origin, data, timeouts, head=request.method == "HEAD"
        )
        return read_response(request, status, headers, content, encoded=encoded)

    def prepared_head(self, request: httpx.Request) -> tuple[Origin, bytes]:
        """The origin of ``request`` and its request line and headers exactly as
        :meth:`handle_async_request` writes them, without the body: a caller that sends many
        bodies of one shape (KeenClient) builds them once and calls :meth:`send_prepared`."""
        url = request.url
        if url.scheme not in _DEFAULT_PORTS:
            raise httpx.UnsupportedProtocol(f"unsupported URL scheme {url.scheme!r}")
        origin = (url.scheme, url.host, url.port or _DEFAULT_PORTS[url.scheme])
        forwarded = self.proxy is not None and origin[0] == "http"
        return origin, _request_bytes(request, b"", self.proxy if forwarded else None)

    async def send_prepared(
        self, origin: Origin, data: bytes, timeouts: dict, *, head: bool = False
    ) -> tuple[int, list[tuple[bytes, bytes]], bytes, bool]:
        """Write ``data`` (a whole request) on a pooled connection to ``origin``: (status,
        raw headers, body, whether the body is content-encoded) of the answer, without the
        httpx objects (about a tenth of the client's CPU per request)."""
        if self._closed:
            raise RuntimeError("the transport is closed")
        connection = await self._acquire(origin, timeouts)
        try:
            status, headers, content, reusable = await connection.exchange(
                data, timeouts.get("read"), head=head
            )
        except BaseException:
            self._drop(connection)
            raise
        if status == 407 and self.proxy is not None and origin[0] == "http":
            self._drop(connection)  # the proxy's own answer: the request went no further
            schemes = _auth_schemes(headers)
            raise ProxyRefused(self.proxy, status, PROXY_AUTH, origin[1], origin[2], schemes)
        keep_alive, encoded = _answer_hints(headers)
        if reusable and not self._closed:
            connection.expiry = min(self.keepalive_expiry, keep_alive)
            self._idle.setdefault(origin, []).append(connection)
            self._wake()
        else:
            self._drop(connection)
        return status, headers, content, encoded

    async def aclose(self) -> None:
        """Close every idle connection; busy ones close when their answer is in."""
        self._closed = True
        for connections in self._idle.values():
            for connection in connections:
                connection.close()
                self._open -= 1
        self._idle.clear()
        self._wake()

    # --- the pool ---------------------------------------------------------------------------

    async def _acquire(self, origin: Origin, timeouts: dict) -> _Connection:
        loop = asyncio.get_running_loop()
        deadline = None
        while True:
            idle = self._idle.get(origin)
            now = loop.time()
            while idle:
                connection = idle.pop()  # the most recently used is the least likely closed
                if connection.usable(now):
                    return connection
                self._drop(connection)
            if self._open >= self.max_connections:
                self._close_one_idle()
            if self._open < self.max_connections:
                self._open += 1
                try:
                    return await self._connect(origin, timeouts.get("connect"))
                except BaseException:
                    self._open -= 1
                    self._wake()
                    raise
            pool = timeouts.get("pool")
            if deadline is None and pool is not None:
                deadline = now + pool
            waiter = loop.create_future()
            self._waiters.append(waiter)
            try:
                if deadline is None:
                    await waiter
                else:
                    await asyncio.wait_for(waiter, max(0.0, deadline - loop.time()))
            except TimeoutError:
                raise httpx.PoolTimeout("no free connection in time") from None
            finally:
                if waiter in self._waiters:
                    self._waiters.remove(waiter)

    async def _connect(self, origin: Origin, timeout: float | None) -> _Connection:
        scheme, host, port = origin
        step = ["connect"]  # how far the opening got, for the timeout message
        try:
            async with asyncio.timeout(timeout):
                return await self._open_connection(origin, step)
        except TimeoutError:
            if self.proxy is not None and step[0] == "proxy":
                raise ProxyUnreachable(self.proxy, "timed out") from None
            doing = "in the TLS handshake with" if step[0] == "tls" else "connecting to"
            via = f" through the proxy {self.proxy.address}" if self.proxy else ""
            raise httpx.ConnectTimeout(f"timed out {doing} {host}:{port}{via}") from None

    async def _open_connection(self, origin: Origin, step: list[str]) -> _Connection:
        """A connection ready for requests to ``origin``, through the proxy when there is one."""
        scheme, host, port = origin
        loop = asyncio.get_running_loop()
        context = self._tls() if scheme == "https" else None
        if self.proxy is None:
            return await _dial(loop, host, port, context)
        step[0] = "proxy"
        try:
            connection = await _dial(loop, self.proxy.host, self.proxy.port, None)
        except httpx.ConnectError as exc:
            raise ProxyUnreachable(self.proxy, getattr(exc, "reason", str(exc))) from exc
        if context is None:
            return connection  # plain http: requests carry the absolute URL to the proxy
        try:
            step[0] = "connect"
            await connection.open_tunnel(self.proxy, host, port)
            step[0] = "tls"
            await connection.start_tls(context, host, port, self.proxy)
        except BaseException:
            connection.close()
            raise
        return connection

    def _tls(self) -> ssl.SSLContext:
        if self._ssl_context is None:
            if isinstance(self.verify, ssl.SSLContext):
                self._ssl_context = self.verify
            elif self.verify:
                self._ssl_context = trust_context()
            else:
                self._ssl_context = httpx.create_ssl_context(verify=False)
        return self._ssl_context

    def _drop(self, connection: _Connection) -> None:
        connection.close()
        self._open -= 1
        self._wake()

    def _close_one_idle(self) -> None:
        for connections in self._idle.values():
            if connections:
                self._drop(connections.pop(0))
                return

    def _wake(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return


async def _dial(
    loop: asyncio.AbstractEventLoop, host: str, port: int, context: ssl.SSLContext | None
) -> _Connection:
    """A TCP (and TLS, with ``context``) connection; nothing is written on it yet."""
    try:
        _, connection = await loop.create_connection(
            lambda: _Connection(loop),
            host,
            port,
            ssl=context,
            server_hostname=host if context else None,
        )
    except ssl.SSLError as exc:
        raise CertificateError(host, port, exc, None) from exc
    except OSError as exc:  # refused, unreachable, DNS: nothing was sent
        reason = exc.strerror or str(exc) or type(exc).__name__
        error = httpx.ConnectError(f"cannot connect to {host}:{port}: {reason}")
        error.reason = reason  # type: ignore[attr-defined]
        raise error from exc
    return connection


class _Connection(asyncio.Protocol):
    """One HTTP/1.1 connection: one request at a time, the answer parsed by llhttp."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._transport: asyncio.Transport | None = None
        self._parser = httptools.HttpResponseParser(self)
        self._waiter: asyncio.Future | None = None
        self._headers: list[tuple[bytes, bytes]] = []
        self._body: list[bytes] = []
        self._headers_done = False
        self._received = False
        self._answered = False
        self._head = False
        self._tunnel: bytearray | None = None  # the proxy's answer to CONNECT, while awaited
        self.closed = False
        self.idle_since = 0.0
        self.expiry = 0.0

    def usable(self, now: float) -> bool:
        """True when the connection can carry another request now."""
        return (
            not self.closed
            and self._transport is not None
            and not self._transport.is_closing()
            and now - self.idle_since < self.expiry
        )

    async def exchange(
        self, data: bytes, read_timeout: float | None, *, head: bool = False
    ) -> tuple[int, list[tuple[bytes, bytes]], bytes, bool]:
        """Write one request; (status, headers, body, reusable) of its answer.

        ``head``: the answer to a HEAD request has no body whatever its headers say; the
        connection is then not reused (the parser cannot be told).
        """
        if self.closed or self._transport is None:
            # Nothing of this request was written (the server hung up between the connect and
            # the write): as safe to send again as a refused connection.
            raise httpx.ConnectError("the connection closed before the request was sent")
        self._headers, self._body = [], []
        self._headers_done = self._received = self._answered = False
        self._head = head
        waiter = self._waiter = self._loop.create_future()
        self._transport.write(data)
        timer = (
            self._loop.call_later(read_timeout, self._fail_timeout)
            if read_timeout is not None
            else None
        )
        try:
            return await waiter
        finally:
            if timer is not None:
                timer.cancel()
            self._waiter = None
            self.idle_since = self._loop.time()

    async def open_tunnel(self, proxy: Proxy, host: str, port: int) -> None:
        """Ask the proxy for a tunnel to ``host:port``; raise :class:`ProxyRefused` unless 2xx."""
        authority = b"%s:%d" % (host.encode("idna"), port)
        lines = [b"CONNECT %s HTTP/1.1" % authority, b"Host: %s" % authority]
        if proxy.authorization is not None:
            lines.append(b"Proxy-Authorization: " + proxy.authorization)
        self._tunnel = bytearray()
        waiter = self._waiter = self._loop.create_future()
        assert self._transport is not None
        self._transport.write(b"\r\n".join(lines) + b"\r\n\r\n")
        try:
            status, reason, schemes = await waiter
        finally:
            self._waiter, self._tunnel = None, None
        if not 200 <= status < 300:
            raise ProxyRefused(proxy, status, reason, host, port, schemes)

    async def start_tls(
        self, context: ssl.SSLContext, host: str, port: int, proxy: Proxy | None
    ) -> None:
        """TLS with ``host`` inside the open tunnel (the proxy sees only encrypted bytes)."""
        assert self._transport is not None
        try:
            self._transport = await self._loop.start_tls(
                self._transport, self, context, server_hostname=host
            )
        except ssl.SSLError as exc:
            raise CertificateError(host, port, exc, proxy) from exc
        except OSError as exc:
            reason = exc.strerror or str(exc) or type(exc).__name__
            raise httpx.ConnectError(f"cannot connect to {host}:{port}: {reason}") from exc

    def close(self) -> None:
        """Close the socket (idempotent)."""
        self.closed = True
        if self._transport is not None:
            self._transport.close()

    # --- asyncio.Protocol ------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        if self._tunnel is not None:
            self._tunnel_data(data)
            return
        self._received = True
        if self._waiter is None or self._waiter.done():
            self.close()  # bytes nobody asked for: the connection cannot be trusted any more
            return
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(httpx.RemoteProtocolError(f"invalid HTTP answer: {exc}"))
            self.close()

    def eof_received(self) -> bool:
        self.closed = True
        return False  # close the transport; connection_lost settles a pending answer

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        waiter = self._waiter
        if waiter is None or waiter.done():
            return
        if self._tunnel is not None:
            self._fail(httpx.ProxyError("the proxy closed the connection instead of a tunnel"))
        elif self._headers_done and self._delimited_by_close():
            status = self._parser.get_status_code()
            waiter.set_result((status, self._headers, b"".join(self._body), False))
        elif self._received:
            self._fail(httpx.RemoteProtocolError("the server closed the connection mid-answer"))
        else:
            self._fail(
                httpx.RemoteProtocolError("the server closed the connection without an answer")
            )

    # --- httptools callbacks ---------------------------------------------------------------

    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers.append((name, value))

    def on_message_begin(self) -> None:
        if self._answered:
            self.closed = True  # a second answer to one request: do not reuse this connection

    def on_headers_complete(self) -> None:
        self._headers_done = True
        status = self._parser.get_status_code()
        if self._head and status >= 200:
            self.closed = True
            self._answered = True
            waiter = self._waiter
            if waiter is not None and not waiter.done():
                waiter.set_result((status, self._headers, b"", False))

    def on_body(self, body: bytes) -> None:
        self._body.append(body)

    def on_message_complete(self) -> None:
        status = self._parser.get_status_code()
        if 100 <= status < 200:  # an interim answer (100 Continue): the real one follows
            self._headers, self._body = [], []
            self._headers_done = False
            return
        self._answered = True
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            keep = self._parser.should_keep_alive() and not self.closed
            waiter.set_result((status, self._headers, b"".join(self._body), keep))

    # --- helpers ---------------------------------------------------------------------------

    def _tunnel_data(self, data: bytes) -> None:
        """Collect the proxy's answer to CONNECT up to its blank line: (status, reason, the
        sign-ins its Proxy-Authenticate headers offer)."""
        assert self._tunnel is not None
        self._tunnel += data
        end = self._tunnel.find(b"\r\n\r\n")
        if end < 0:
            if len(self._tunnel) > 65536:
                self._fail(httpx.ProxyError("the proxy's answer to CONNECT is not HTTP"))
                self.close()
            return
        status_line = bytes(self._tunnel[: self._tunnel.find(b"\r\n")])
        version, _, rest = status_line.partition(b" ")
        code, _, reason = rest.partition(b" ")
        if not version.startswith(b"HTTP/") or not code.isdigit():
            self._fail(httpx.ProxyError("the proxy's answer to CONNECT is not HTTP"))
            self.close()
            return
        text = reason.decode("latin-1").strip()
        printable = "".join(c for c in text if c.isprintable())[:80]
        lines = bytes(self._tunnel[:end]).split(b"\r\n")[1:]
        schemes = _auth_schemes([line.partition(b":")[::2] for line in lines])
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result((int(code), printable, schemes))

    def _delimited_by_close(self) -> bool:
        names = {name.lower() for name, _ in self._headers}
        return b"content-length" not in names and b"transfer-encoding" not in names

    def _fail(self, exc: Exception) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_exception(exc)

    def _fail_timeout(self) -> None:
        self._fail(httpx.ReadTimeout("timed out waiting for the answer"))
        self.close()


def read_response(
    request: httpx.Request,
    status: int,
    headers: list[tuple[bytes, bytes]],
    body: bytes,
    *,
    encoded: bool,
) -> httpx.Response:
    """An httpx.Response for an answer read in full (shared by our transports)."""
    response = httpx.Response(
        status,
        headers=headers,
        stream=httpx.ByteStream(body),
        request=request,
        extensions={"http_version": b"HTTP/1.1"},
    )
    if encoded:
        response.read()  # let httpx decode it (we never ask for compression)
    else:
        # What Response.read() would store, without running the bytes through httpx's
        # decoder and chunker again (~13 us per response).
        response._content = body
    return response


def _request_bytes(request: httpx.Request, body: bytes, proxy: Proxy | None = None) -> bytes:
    """The request line, headers and body as one buffer (one write, one segment).

    ``proxy``: the request goes to this proxy in the clear (an http target), so the request
    line carries the absolute URL and the proxy's credentials are added."""
    target = str(request.url).encode("ascii") if proxy else request.url.raw_path
    lines = [b"%s %s HTTP/1.1" % (request.method.encode("ascii"), target)]
    if proxy is not None and proxy.authorization is not None:
        lines.append(b"Proxy-Authorization: " + proxy.authorization)
    has_host = False
    for name, value in request.headers.raw:
        if name.lower() == b"host":
            has_host = True
        lines.append(b"%s: %s" % (name, value))
    if not has_host:
        lines.insert(1, b"Host: %s" % request.url.netloc)
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


def _answer_hints(headers: list[tuple[bytes, bytes]]) -> tuple[float, bool]:
    """(seconds the server keeps an idle connection less a margin, or inf when it does not
    say; whether the body is content-encoded), from one pass over the raw headers."""
    keep_alive, encoded = float("inf"), False
    for name, value in headers:
        lowered = name.lower()
        if lowered == b"keep-alive":
            found = _KEEP_ALIVE_TIMEOUT.search(value)
            if found:
                # A second less, to stay clear of the server's own timer; half of a short one.
                announced = int(found.group(1))
                keep_alive = max(announced - 1.0, announced / 2)
        elif lowered == b"content-encoding" and value.strip().lower() != b"identity":
            encoded = True
    return keep_alive, encoded


def _auth_schemes(headers: list[tuple[bytes, bytes]]) -> tuple[str, ...]:
    """The sign-ins a proxy's 407 offers: the first word of each Proxy-Authenticate header
    ("NTLM", "Negotiate", "Basic"), in order, each once."""
    found = [
        value.strip().split(b" ", 1)[0].decode("latin-1")
        for name, value in headers
        if name.strip().lower() == b"proxy-authenticate" and value.strip()
    ]
    return tuple(dict.fromkeys("".join(c for c in s if c.isprintable())[:20] for s in found))
