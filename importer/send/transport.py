"""A lean HTTP/1.1 transport for httpx: asyncio protocol objects and the httptools parser.

Why not aiohttp under httpx: every request through aiohttp builds a ClientRequest, a cookie
filter, a timer context and a response object before httpx builds its own; on a 2-core machine
that client CPU, not the network, caps the import at about 2,000 requests/s. This transport
does one ``write`` of the prepared request bytes and lets llhttp (httptools, the parser uvicorn
uses) read the answer, which halves the client CPU per request.

What it does: keep-alive connections per origin (most recently used first, dropped after
``keepalive_expiry`` or the server's ``Keep-Alive: timeout``), a connection limit with a pool
timeout, TLS through ``ssl`` with httpx's default context, Content-Length, chunked and
close-delimited bodies, interim 1xx answers skipped. Errors are the httpx exceptions whose
meaning :func:`importer.send.client.classify_exception` relies on:

- ``ConnectError`` / ``ConnectTimeout`` / ``PoolTimeout``: nothing was written, safe to retry;
- ``ReadTimeout``: the request was written and no complete answer came in time;
- ``RemoteProtocolError``: the request was written and the connection closed or the answer
  could not be parsed.

A POST is never written twice: a connection that fails after the write is reported, not
retried, because the server may have acted on it.
"""

from __future__ import annotations

import asyncio
import re
import ssl
from collections import deque

import httptools
import httpx

Origin = tuple[str, str, int]
_KEEP_ALIVE_TIMEOUT = re.compile(rb"timeout\s*=\s*(\d+)", re.I)
_DEFAULT_PORTS = {"http": 80, "https": 443}


class Http11Transport(httpx.AsyncBaseTransport):
    """An httpx transport speaking HTTP/1.1 over pooled asyncio connections."""

    def __init__(
        self,
        *,
        limits: httpx.Limits | None = None,
        verify: bool | ssl.SSLContext = True,
    ) -> None:
        limits = limits or httpx.Limits(max_connections=100, keepalive_expiry=5.0)
        self.max_connections = limits.max_connections or 100
        self.keepalive_expiry = limits.keepalive_expiry if limits.keepalive_expiry else 5.0
        self.verify = verify
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
        data = _request_bytes(request, body)
        timeouts = request.extensions.get("timeout") or {}
        connection = await self._acquire(origin, timeouts)
        try:
            status, headers, content, reusable = await connection.exchange(
                data, timeouts.get("read"), head=request.method == "HEAD"
            )
        except BaseException:
            self._drop(connection)
            raise
        keep_alive, encoded = _answer_hints(headers)
        if reusable and not self._closed:
            connection.expiry = min(self.keepalive_expiry, keep_alive)
            self._idle.setdefault(origin, []).append(connection)
            self._wake()
        else:
            self._drop(connection)
        return read_response(request, status, headers, content, encoded=encoded)

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
        loop = asyncio.get_running_loop()
        context = self._tls() if scheme == "https" else None
        try:
            _, connection = await asyncio.wait_for(
                loop.create_connection(
                    lambda: _Connection(loop),
                    host,
                    port,
                    ssl=context,
                    server_hostname=host if context else None,
                ),
                timeout,
            )
        except TimeoutError:
            raise httpx.ConnectTimeout(f"timed out connecting to {host}:{port}") from None
        except OSError as exc:  # refused, unreachable, DNS, TLS handshake: nothing was sent
            reason = exc.strerror or str(exc) or type(exc).__name__
            raise httpx.ConnectError(f"cannot connect to {host}:{port}: {reason}") from exc
        return connection

    def _tls(self) -> ssl.SSLContext:
        if self._ssl_context is None:
            if isinstance(self.verify, ssl.SSLContext):
                self._ssl_context = self.verify
            else:
                self._ssl_context = httpx.create_ssl_context(verify=self.verify)
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
            raise httpx.RemoteProtocolError("the connection closed before the request was sent")
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

    def close(self) -> None:
        """Close the socket (idempotent)."""
        self.closed = True
        if self._transport is not None:
            self._transport.close()

    # --- asyncio.Protocol ------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
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
        if self._headers_done and self._delimited_by_close():
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


def _request_bytes(request: httpx.Request, body: bytes) -> bytes:
    """The request line, headers and body as one buffer (one write, one segment)."""
    lines = [b"%s %s HTTP/1.1" % (request.method.encode("ascii"), request.url.raw_path)]
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
