"""The Keen API over HTTP: one method per action, every answer classified as an :class:`Outcome`.

Classification (issue 4) decides what the batcher may do with a row:

    created       2xx with ``purchase.id``                         done
    ok            2xx with a JSON object (read actions)            done
    rejected      400/403/404 and other permanent 4xx              never retried
    auth          401                                              stop the whole run
    rate_limited  429 (Retry-After honoured)                       retry
    unavailable   503 (Retry-After honoured)                       retry
    not_sent      connect error/timeout, DNS, pool timeout         retry: the API never saw it
    unknown       read timeout, dropped after sending, 500/502/504,
                  2xx without a purchase id or not JSON           may have been created: unconfirmed

The API key is sent in ``X-Api-Key`` and never appears in a repr, a log line or an exception.
"""

from __future__ import annotations

import json
import ssl
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from enum import StrEnum
from time import time
from typing import Any

import httpx

from importer.records import dumps_payload
from importer.send.transport import read_response

__all__ = ["KeenClient", "Outcome", "OutcomeKind", "make_transport"]

DEFAULT_BASE_URL = "https://data.keenpartner.com/functions/v1/keen-api"


class OutcomeKind(StrEnum):
    """What one request did, as far as the client can tell."""

    CREATED = "created"
    OK = "ok"
    REJECTED = "rejected"
    AUTH = "auth"
    RATE_LIMITED = "rate_limited"
    UNAVAILABLE = "unavailable"
    NOT_SENT = "not_sent"
    UNKNOWN = "unknown"


#: Outcomes after which sending the same request again cannot create a duplicate.
RETRYABLE = frozenset({OutcomeKind.RATE_LIMITED, OutcomeKind.UNAVAILABLE, OutcomeKind.NOT_SENT})


@dataclass(frozen=True, slots=True)
class Outcome:
    """The classified answer to one request.

    ``error`` is the API's ``error`` text for HTTP errors, or a short description of the transport
    failure (never containing the key). ``retry_after`` is in seconds when the server gave one.
    ``data`` is the parsed JSON body of a 2xx answer.
    """

    kind: OutcomeKind
    http_status: int | None = None
    purchase_id: str | None = None
    error: str | None = None
    retry_after: float | None = None
    data: Any = None

    @property
    def retryable(self) -> bool:
        return self.kind in RETRYABLE


def make_transport(
    kind: str = "http11", *, max_connections: int = 100, verify: bool | ssl.SSLContext = True
) -> httpx.AsyncBaseTransport:
    """The HTTP transport under :class:`KeenClient`: ``"http11"`` (default, our lean HTTP/1.1
    transport, :mod:`importer.send.transport`), ``"aiohttp"`` (an aiohttp session behind httpx),
    ``"httpx"`` (httpx's own httpcore) or ``"httpx-aiohttp"`` (the httpx_aiohttp package).

    The client CPU per request decides the throughput on a small machine: plain httpx tops out
    near 300 req/s on one core, aiohttp near 2,000; benchmarks/bench_send.py has the figures.
    """
    limits = httpx.Limits(
        max_connections=max_connections,
        max_keepalive_connections=max_connections,
        # Shorter than common server idle timeouts (uvicorn: 5 s) so we rarely reuse a connection
        # the server is closing: a POST lost in that race would come back as "unknown".
        keepalive_expiry=3.0,
    )
    if kind == "http11":
        from importer.send.transport import Http11Transport

        return Http11Transport(limits=limits, verify=verify)
    if kind == "httpx":
        return httpx.AsyncHTTPTransport(limits=limits, verify=verify)
    if kind == "aiohttp":
        return AiohttpTransport(limits=limits, verify=verify)
    if kind == "httpx-aiohttp":
        from httpx_aiohttp import AiohttpTransport as PackagedTransport

        return PackagedTransport(limits=limits, verify=verify)
    raise ValueError(f"unknown transport {kind!r}: use 'http11', 'aiohttp' or 'httpx'")


class AiohttpTransport(httpx.AsyncBaseTransport):
    """An httpx transport on one aiohttp ``ClientSession``, lean for small JSON requests.

    Same contract and error mapping as the httpx_aiohttp package (an aiohttp failure is raised as
    the httpx exception of its kind, ``from`` the aiohttp one, so :func:`classify_exception` sees
    the original), with the per-request work cut down: the aiohttp headers, URL and timeout
    objects are built once per distinct value and reused, the body is read in full before the
    response is returned (the answers are small JSON documents), and the httpx objects are built
    without re-normalising headers.
    """

    def __init__(
        self,
        *,
        limits: httpx.Limits | None = None,
        verify: bool | ssl.SSLContext = True,
    ) -> None:
        self.limits = limits or httpx.Limits(max_connections=100, max_keepalive_connections=20)
        self.verify = verify
        self._session: Any = None
        self._headers: dict[tuple, Any] = {}
        self._urls: dict[str, Any] = {}
        self._timeouts: dict[tuple, Any] = {}

    def _open(self) -> Any:
        import aiohttp

        if isinstance(self.verify, ssl.SSLContext):
            ssl_context: ssl.SSLContext | bool = self.verify
        elif self.verify:
            ssl_context = httpx.create_ssl_context(verify=True)
        else:
            ssl_context = False
        connector = aiohttp.TCPConnector(
            limit=self.limits.max_connections or 0,
            keepalive_timeout=self.limits.keepalive_expiry,
            ssl=ssl_context,
        )
        # No Accept-Encoding: the answers are tiny, and an uncompressed body can be handed to
        # httpx as it is.
        self._session = aiohttp.ClientSession(
            connector=connector, skip_auto_headers=("Accept-Encoding",), auto_decompress=False
        )
        return self._session

    def _aiohttp_headers(self, raw: list[tuple[bytes, bytes]]) -> Any:
        key = tuple(raw)
        headers = self._headers.get(key)
        if headers is None:
            from multidict import CIMultiDict, CIMultiDictProxy

            if len(self._headers) > 1024:
                self._headers.clear()
            headers = CIMultiDictProxy(
                CIMultiDict((k.decode("latin-1"), v.decode("latin-1")) for k, v in raw)
            )
            self._headers[key] = headers
        return headers

    def _aiohttp_url(self, url: httpx.URL) -> Any:
        text = str(url)
        found = self._urls.get(text)
        if found is None:
            from yarl import URL

            if len(self._urls) > 64:
                self._urls.clear()
            found = self._urls[text] = URL(text, encoded=True)
        return found

    def _aiohttp_timeout(self, timeout: dict | None) -> Any:
        timeout = timeout or {}
        key = (timeout.get("connect"), timeout.get("read"), timeout.get("pool"))
        found = self._timeouts.get(key)
        if found is None:
            import aiohttp

            found = self._timeouts[key] = aiohttp.ClientTimeout(
                sock_connect=key[0], sock_read=key[1], connect=key[2]
            )
        return found

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        import aiohttp

        session = self._session or self._open()
        try:
            data: bytes | None = request.content
        except httpx.RequestNotRead:
            data = await request.aread()
        try:
            async with session.request(
                request.method,
                self._aiohttp_url(request.url),
                headers=self._aiohttp_headers(request.headers.raw),
                data=data or None,
                allow_redirects=False,
                timeout=self._aiohttp_timeout(request.extensions.get("timeout")),
                server_hostname=request.extensions.get("sni_hostname"),
            ) as answer:
                body = await answer.read()
                status = answer.status
                raw_headers = answer.raw_headers
                encoded = "Content-Encoding" in answer.headers
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise _httpx_error(exc) from exc
        return read_response(request, status, raw_headers, body, encoded=encoded)

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


def _httpx_error(exc: BaseException) -> httpx.TransportError:
    """The httpx exception httpx_aiohttp would raise for this aiohttp failure (same table)."""
    import aiohttp

    table: list[tuple[type[BaseException], type[httpx.TransportError]]] = [
        (aiohttp.ServerTimeoutError, httpx.TimeoutException),
        (aiohttp.SocketTimeoutError, httpx.ReadTimeout),
        (aiohttp.ClientConnectionError, httpx.ConnectTimeout),
        (aiohttp.ClientConnectorError, httpx.ConnectError),
        (aiohttp.ClientPayloadError, httpx.ReadError),
        (aiohttp.ClientProxyConnectionError, httpx.ProxyError),
        (aiohttp.ClientHttpProxyError, httpx.ProxyError),
        (aiohttp.client_exceptions.NonHttpUrlClientError, httpx.UnsupportedProtocol),
        (aiohttp.client_exceptions.InvalidUrlClientError, httpx.UnsupportedProtocol),
    ]
    mapped: type[httpx.TransportError] | None = None
    for source, target in table:
        if isinstance(exc, source) and (mapped is None or issubclass(target, mapped)):
            mapped = target
    if mapped is None:
        # A plain timeout or another client error: the request may have gone out.
        mapped = httpx.ReadTimeout if isinstance(exc, TimeoutError) else httpx.ReadError
    return mapped(str(exc))


class KeenClient:
    """Async client of the Keen partner API (single POST endpoint, ``action`` in the JSON body).

    ``timeout`` is in seconds and applies to connect, read, write and pool waits separately.
    ``transport`` is injectable (tests use :class:`httpx.MockTransport`); the default is
    :func:`make_transport`. Use as ``async with KeenClient(...) as client:``.
    """

    #: :meth:`create_purchase` also takes the payload's bytes (the batcher serialises once).
    accepts_payload_bytes = True

    def __init__(
        self,
        base_url: str = DEFAULT_BASE_URL,
        api_key: str = "",
        *,
        timeout: float = 30.0,
        transport: httpx.AsyncBaseTransport | None = None,
        max_connections: int = 100,
    ) -> None:
        self.base_url = base_url
        self.timeout = timeout
        self.requests_made = 0
        self._url = httpx.URL(base_url)
        self._base_headers = [
            (b"Host", self._url.netloc),
            (b"Accept", b"application/json"),
            (b"Content-Type", b"application/json"),
            (b"User-Agent", b"keen-import"),
            (b"X-Api-Key", api_key.encode("latin-1")),
        ]
        # Complete request headers per body length, built once: httpx.Request copies a Headers
        # object cheaply, while content=... would re-normalise and add Content-Length each time.
        self._headers_by_length: dict[int, httpx.Headers] = {}
        self._extensions = {"timeout": httpx.Timeout(timeout).as_dict()}
        # The transport is called directly: AsyncClient's auth, redirect, cookie and hook layers
        # cost ~0.3 ms of CPU per request and none of them applies to one fixed POST endpoint.
        self._transport = transport or make_transport(max_connections=max_connections)

    def __repr__(self) -> str:
        return f"KeenClient(base_url={self.base_url!r}, timeout={self.timeout!r})"

    async def __aenter__(self) -> KeenClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._transport.aclose()

    async def create_purchase(self, body: dict | bytes) -> Outcome:
        """POST one purchase payload (with its ``action``); ``created`` carries the purchase id.

        ``body`` is the payload dict, or its bytes as :func:`dumps_payload` wrote them (the batcher
        serialises once, for the journal's payload hash and for the request).
        """
        content = body if isinstance(body, bytes) else dumps_payload(body)
        return await self._call(content, expect_purchase=True)

    async def get_lead(self, lead_id: str) -> Outcome:
        """get_lead_by_id; ``ok`` carries ``{"lead": {...}}`` in ``data``."""
        return await self._call(dumps_payload({"action": "get_lead_by_id", "lead_id": lead_id}))

    async def get_lead_by_legacy_id(self, legacy_id: int) -> Outcome:
        """get_lead_by_legacy_id (the integer id of the old system); ``ok`` carries the lead."""
        body = {"action": "get_lead_by_legacy_id", "legacy_id": int(legacy_id)}
        return await self._call(dumps_payload(body))

    async def get_channels(self) -> Outcome:
        """get_channels; ``ok`` carries ``{"channels": [...]}`` in ``data``."""
        return await self._call(dumps_payload({"action": "get_channels"}))

    async def _call(self, content: bytes, *, expect_purchase: bool = False) -> Outcome:
        self.requests_made += 1
        headers = self._headers_by_length.get(len(content))
        if headers is None:
            if len(self._headers_by_length) > 4096:
                self._headers_by_length.clear()
            length = str(len(content)).encode("ascii")
            headers = httpx.Headers([*self._base_headers, (b"Content-Length", length)])
            self._headers_by_length[len(content)] = headers
        request = httpx.Request(
            "POST",
            self._url,
            headers=headers,
            stream=httpx.ByteStream(content),
            extensions=self._extensions,
        )
        request.read()  # content=... semantics (request.content readable) without re-parsing
        try:
            response = await self._transport.handle_async_request(request)
            try:
                await response.aread()
            finally:
                if not isinstance(response.stream, httpx.ByteStream):
                    await response.aclose()  # a ByteStream holds no connection: nothing to free
        except (httpx.TransportError, httpx.DecodingError) as exc:
            return classify_exception(exc)
        return classify_response(
            response.status_code, response.content, response.headers, expect_purchase
        )


def classify_response(
    status: int, content: bytes, headers: httpx.Headers | dict, expect_purchase: bool = False
) -> Outcome:
    """Turn an HTTP answer into an :class:`Outcome` (see the module docstring)."""
    data = _json_or_none(content)
    if 200 <= status < 300:
        if not isinstance(data, dict):
            return Outcome(OutcomeKind.UNKNOWN, status, error="success status without a JSON body")
        if not expect_purchase:
            return Outcome(OutcomeKind.OK, status, data=data)
        purchase = data.get("purchase")
        if purchase is None and "leads_id" in data:
            purchase = data  # the legacy (Xano) shape: the purchase object without a wrapper
        purchase_id = purchase.get("id") if isinstance(purchase, dict) else None
        if not purchase_id:
            error = "success status without a purchase id"
            return Outcome(OutcomeKind.UNKNOWN, status, error=error)
        return Outcome(OutcomeKind.CREATED, status, purchase_id=str(purchase_id), data=data)
    error = _error_text(data, status)
    if status == 401:
        return Outcome(OutcomeKind.AUTH, status, error=error)
    if status in (429, 503):
        kind = OutcomeKind.RATE_LIMITED if status == 429 else OutcomeKind.UNAVAILABLE
        return Outcome(kind, status, error=error, retry_after=_retry_after(headers))
    if 400 <= status < 500 and status != 408:
        return Outcome(OutcomeKind.REJECTED, status, error=error)
    # 408, 500, 502, 504 and anything else: the server may have written the purchase.
    return Outcome(OutcomeKind.UNKNOWN, status, error=error)


def classify_exception(exc: BaseException) -> Outcome:
    """Transport failure -> ``not_sent`` only when the request certainly never left.

    httpx_aiohttp maps every aiohttp ``ClientConnectionError`` (including ServerDisconnectedError,
    a connection dropped after the request was written) to ``httpx.ConnectTimeout``, so the
    original aiohttp exception in ``__cause__`` decides, not the httpx class.
    """
    original = _aiohttp_cause(exc)
    if original is not None:
        import aiohttp

        if isinstance(original, aiohttp.ClientConnectorError | aiohttp.ConnectionTimeoutError):
            return Outcome(OutcomeKind.NOT_SENT, error=_describe(original, "could not connect"))
        if isinstance(original, aiohttp.SocketTimeoutError):
            return Outcome(OutcomeKind.UNKNOWN, error="timed out waiting for the answer")
        return Outcome(OutcomeKind.UNKNOWN, error=_describe(original, "connection lost"))
    if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout):
        return Outcome(OutcomeKind.NOT_SENT, error=_describe(exc, "could not connect"))
    if isinstance(exc, httpx.UnsupportedProtocol | httpx.ProxyError):
        return Outcome(OutcomeKind.NOT_SENT, error=_describe(exc, "could not connect"))
    if isinstance(exc, httpx.ReadTimeout):
        return Outcome(OutcomeKind.UNKNOWN, error="timed out waiting for the answer")
    if isinstance(exc, httpx.DecodingError):  # answered, but the body is damaged: created or not?
        return Outcome(OutcomeKind.UNKNOWN, error=_describe(exc, "the answer could not be read"))
    # Write errors/timeouts, read errors, RemoteProtocolError (server disconnected): the request
    # may have reached the API in full.
    return Outcome(OutcomeKind.UNKNOWN, error=_describe(exc, "connection lost"))


def _aiohttp_cause(exc: BaseException) -> BaseException | None:
    seen = 0
    current: BaseException | None = exc
    while current is not None and seen < 5:
        if type(current).__module__.startswith("aiohttp"):
            return current
        current = current.__cause__ or current.__context__
        seen += 1
    return None


def _describe(exc: BaseException, fallback: str) -> str:
    # Exception texts from aiohttp/httpx name host and port, never headers, so the key cannot leak.
    text = str(exc).strip()
    name = type(exc).__name__
    return f"{fallback} ({name}: {text})" if text else f"{fallback} ({name})"


def _json_or_none(content: bytes) -> Any:
    if not content:
        return None
    try:
        return json.loads(content)
    except ValueError:
        return None


def _error_text(data: Any, status: int) -> str:
    if isinstance(data, dict) and isinstance(data.get("error"), str):
        return data["error"]
    return f"HTTP {status}"


def _retry_after(headers: httpx.Headers | dict) -> float | None:
    value = headers.get("retry-after") or headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time())
    except (TypeError, ValueError):
        return None
