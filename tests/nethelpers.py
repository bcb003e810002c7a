"""A forward proxy and a private certificate authority for the network tests, all on 127.0.0.1.

:class:`ForwardProxy` runs on its own event loop in a thread, so it serves an in-process CLI run
(on uvloop), a test's ``asyncio.run`` and a child process alike. It speaks:

- ``CONNECT host:port``: a byte-for-byte tunnel (the proxy sees only TLS records), or, with
  ``inspect=`` a server TLS context, a TLS-inspecting proxy as companies run them: it answers the
  client's handshake with its own certificate, reads the request in the clear and passes it on to
  the target over plain HTTP;
- plain HTTP requests in absolute form (``POST http://host:port/path``), passed on one by one.

Faults: ``credentials=(user, password)`` answers 407 without them (offering ``sign_ins``, its
Proxy-Authenticate headers: Basic by default); ``connect_status=502`` refuses
every CONNECT; ``drop_after_forward`` closes the client's connection (the tunnel) once the target
has the request, before its answer comes back; ``status_after_forward=502`` answers that status
itself once the target has the request. Both apply to plain HTTP and inside an inspected tunnel
(a byte-for-byte tunnel cannot tell where a request ends).
"""

from __future__ import annotations

import asyncio
import base64
import ssl
import threading
from pathlib import Path


class PrivateCA:
    """A certificate authority made for one test (trustme): a server certificate for 127.0.0.1."""

    def __init__(self) -> None:
        import trustme

        self._ca = trustme.CA(organization_name="keen-import test CA")
        self._server = self._ca.issue_cert("127.0.0.1", "localhost")

    def server_context(self) -> ssl.SSLContext:
        """A server-side TLS context presenting the certificate issued by this CA."""
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self._server.configure_cert(context)
        return context

    def write_bundle(self, path: Path) -> Path:
        """The CA certificate as PEM (what a user passes with --ca-bundle)."""
        self._ca.cert_pem.write_to_path(str(path))
        return path


class ForwardProxy:
    """A forward proxy on 127.0.0.1 in a thread (see the module docstring for its options)."""

    def __init__(
        self,
        *,
        credentials: tuple[str, str] | None = None,
        connect_status: int | None = None,
        inspect: ssl.SSLContext | None = None,
        drop_after_forward: bool = False,
        status_after_forward: int | None = None,
        sign_ins: tuple[str, ...] = ('Basic realm="test"',),
    ) -> None:
        self.credentials = credentials
        self.sign_ins = sign_ins  # the Proxy-Authenticate headers of its 407
        self.connect_status = connect_status
        self.inspect = inspect
        self.drop_after_forward = drop_after_forward
        self.status_after_forward = status_after_forward
        self.heads: list[bytes] = []  # every request head the clients sent to the proxy
        self.client_bytes = bytearray()  # everything clients sent, tunnels included
        self.forwarded = 0  # requests handed to a target
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.AbstractServer | None = None
        self._writers: list[asyncio.StreamWriter] = []
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url_with(self, user: str, password: str) -> str:
        return f"http://{user}:{password}@127.0.0.1:{self.port}"

    def __enter__(self) -> ForwardProxy:
        self._thread.start()
        future = asyncio.run_coroutine_threadsafe(self._start(), self._loop)
        future.result(10)
        return self

    def __exit__(self, *exc_info: object) -> None:
        asyncio.run_coroutine_threadsafe(self._stop(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    async def _start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _stop(self) -> None:
        assert self._server is not None
        self._server.close()
        for writer in self._writers:
            writer.close()  # open tunnels and keep-alive connections end with the proxy
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    # --- serving -------------------------------------------------------------------------

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.append(writer)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                self.heads.append(head)
                self.client_bytes += head
                if not self._authorised(head):
                    offers = "".join(f"Proxy-Authenticate: {s}\r\n" for s in self.sign_ins)
                    writer.write(
                        b"HTTP/1.1 407 Proxy Authentication Required\r\n"
                        + offers.encode()
                        + b"Content-Length: 0\r\n\r\n"
                    )
                    await writer.drain()
                    continue
                method, target = head.split(b" ")[:2]
                if method == b"CONNECT":
                    await self._connect(target.decode(), reader, writer)
                    return
                if not await self._forward(head, reader, writer):
                    return
        except (asyncio.IncompleteReadError, ConnectionError, ssl.SSLError, OSError):
            pass
        except asyncio.CancelledError:
            pass  # the proxy is stopping
        finally:
            writer.close()

    def _authorised(self, head: bytes) -> bool:
        if self.credentials is None:
            return True
        pair = ":".join(self.credentials).encode()
        expected = b"proxy-authorization: basic " + base64.b64encode(pair)
        return any(line.lower() == expected.lower() for line in head.split(b"\r\n"))

    async def _connect(self, target: str, reader, writer) -> None:
        if self.connect_status is not None:
            writer.write(b"HTTP/1.1 %d Refused\r\nContent-Length: 0\r\n\r\n" % self.connect_status)
            await writer.drain()
            return
        host, _, port = target.rpartition(":")
        if self.inspect is not None:
            writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
            await writer.drain()
            await writer.start_tls(self.inspect)
            while await self._forward(None, reader, writer, origin=(host, int(port))):
                pass
            return
        upstream_reader, upstream_writer = await asyncio.open_connection(host, int(port))
        writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        await writer.drain()
        await asyncio.gather(
            self._pipe(reader, upstream_writer, record=True), self._pipe(upstream_reader, writer)
        )

    async def _pipe(self, source, sink, *, record: bool = False) -> None:
        try:
            while data := await source.read(65536):
                if record:
                    self.client_bytes += data
                sink.write(data)
                await sink.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            sink.close()

    async def _forward(self, head, reader, writer, origin=None) -> bool:
        """Pass one request on to its target; False once the client connection is done."""
        if head is None:  # inside an inspected tunnel: the request is in origin form
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except asyncio.IncompleteReadError:
                return False
            self.heads.append(head)
        length = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        body = await reader.readexactly(length)
        self.client_bytes += body
        request_line, *headers = head.split(b"\r\n")
        method, target, version = request_line.split(b" ")
        if origin is None:
            authority, _, path = target.split(b"//", 1)[1].partition(b"/")
            host, _, port = authority.decode().rpartition(":")
            origin, target = (host, int(port)), b"/" + path
        kept = [h for h in headers if h and not h.lower().startswith((b"proxy-", b"connection"))]
        upstream = b"\r\n".join([b" ".join([method, target, version]), *kept, b"Connection: close"])
        answer = await self._exchange(origin, upstream + b"\r\n\r\n" + body)
        self.forwarded += 1
        if self.drop_after_forward:
            return False
        if self.status_after_forward is not None:
            writer.write(b"HTTP/1.1 %d Proxy Error\r\nContent-Length: 0\r\n\r\n" % (
                self.status_after_forward))  # fmt: skip
            await writer.drain()
            return True
        writer.write(answer)
        await writer.drain()
        return False  # the target's answer says Connection: close

    async def _exchange(self, origin: tuple[str, int], data: bytes) -> bytes:
        upstream_reader, upstream_writer = await asyncio.open_connection(*origin)
        upstream_writer.write(data)
        await upstream_writer.drain()
        answer = await upstream_reader.read()
        upstream_writer.close()
        return answer


def closed_port() -> int:
    """A loopback port nobody listens on (bound, then released)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
