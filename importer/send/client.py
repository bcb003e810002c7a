"""The Keen API over HTTP: one method per action, every answer classified as an :class:`Outcome`.

Classification decides what the sender may do with a row:

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

from importer.errors import NetworkError
from importer.records import dumps_payload
from importer.send.credentials import DEFAULT_API_URL
from importer.send.httpx_transport import HttpxTransport
from importer.send.network import NetworkSettings, Proxy, trust_context

__all__ = ["TRANSPORT_KINDS", "KeenClient", "Outcome", "OutcomeKind", "make_transport"]

DEFAULT_BASE_URL = DEFAULT_API_URL
#: Every kind of transport :func:`make_transport` makes, the default first. Each is run through
#: the same failure cases (tests/send/test_transport_contract.py takes its kinds from here).
TRANSPORT_KINDS = ("http11", "httpx")


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


#: The headers :func:`classify_response` gets for an answer whose headers it never reads.
_NO_HEADERS: dict[str, str] = {}

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
    kind: str = TRANSPORT_KINDS[0],
    *,
    max_connections: int = 100,
    verify: bool | ssl.SSLContext = True,
    proxy: Proxy | None = None,
) -> httpx.AsyncBaseTransport:
    """The HTTP transport under :class:`KeenClient`: ``"http11"`` (default, our lean HTTP/1.1
    transport with CONNECT support, :mod:`importer.send.transport`) or ``"httpx"`` (httpx's own
    httpcore, kept as the reference the benchmark compares against).

    Both report certificate and proxy failures as the classes of
    :mod:`importer.send.setup_errors`, so either stops a run at once on them.

    ``verify``: True (the operating system's trust store), False, or a ready ``SSLContext``.
    The client CPU per request decides the throughput on a small machine: plain httpx tops out
    near 300 req/s on one core, ours above 2,000; benchmarks/bench_send.py has the figures.
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

        return Http11Transport(limits=limits, verify=verify, proxy=proxy)
    if kind == "httpx":
        return HttpxTransport(
            limits=limits, verify=trust_context() if verify is True else verify, proxy=proxy
        )
    raise ValueError(f"unknown transport {kind!r}: use one of {', '.join(TRANSPORT_KINDS)}")


class KeenClient:
    """Async client of the Keen partner API (single POST endpoint, ``action`` in the JSON body).

    ``timeout`` is in seconds and applies to connect, read, write and pool waits separately.
    ``network`` gives the proxy and the trusted certificates (default: direct, the operating
    system's trust store). ``transport`` is injectable (tests use :class:`httpx.MockTransport`);
    the default is :func:`make_transport`. Use as ``async with KeenClient(...) as client:``.

    Until the API has answered once, a failure of the network set-up (a certificate that does
    not verify, a proxy that cannot be reached or wants credentials) raises
    :class:`~importer.errors.NetworkError` instead of returning ``not_sent``: every request would
    meet it, and retrying it for ten minutes tells the user nothing. The first request of a run
    is the preflight's read, so nothing has been sent when it raises.
    """

    #: :meth:`create_purchase` also takes the payload's bytes (the sender serialises once).
    accepts_payload_bytes = True

    def __init__(
        self,
        base_url: str = DEFAULT_BASE_URL,
        api_key: str = "",
        *,
        timeout: float = 30.0,
        transport: httpx.AsyncBaseTransport | None = None,
        max_connections: int = 100,
        network: NetworkSettings | None = None,
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
        network = network or NetworkSettings()
        self._transport = transport or make_transport(
            max_connections=max_connections, verify=network.tls or True, proxy=network.proxy
        )
        self._answered = False  # set-up failures stop the run until the API has answered once
        # Our own transport takes the request's bytes whole (see _call_prepared); any other
        # (tests' MockTransport, httpx's) gets httpx.Requests.
        self._send_prepared = getattr(self._transport, "send_prepared", None)
        self._heads: dict[int, tuple[tuple[str, str, int], bytes]] = {}

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

        ``body`` is the payload dict, or its bytes as :func:`dumps_payload` wrote them (the sender
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

    def _headers(self, length: int) -> httpx.Headers:
        headers = self._headers_by_length.get(length)
        if headers is None:
            if len(self._headers_by_length) > 4096:
                self._headers_by_length.clear()
            size = str(length).encode("ascii")
            headers = httpx.Headers([*self._base_headers, (b"Content-Length", size)])
            self._headers_by_length[length] = headers
        return headers

    async def _call(self, content: bytes, *, expect_purchase: bool = False) -> Outcome:
        self.requests_made += 1
        if self._send_prepared is not None:
            return await self._call_prepared(content, expect_purchase)
        request = httpx.Request(
            "POST",
            self._url,
            headers=self._headers(len(content)),
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
            if getattr(exc, "setup", False) and not self._answered:
                raise NetworkError(str(exc), hint=getattr(exc, "hint", None)) from None
            return classify_exception(exc)
        self._answered = True
        return classify_response(
            response.status_code, response.content, response.headers, expect_purchase
        )

    def _prepare(self, length: int) -> tuple[tuple[str, str, int], bytes]:
        """The origin and the request line and headers of a body of ``length`` bytes."""
        if len(self._heads) > 4096:
            self._heads.clear()
        request = httpx.Request("POST", self._url, headers=self._headers(length))
        prepared = self._heads[length] = self._transport.prepared_head(request)
        return prepared

    async def _call_prepared(self, content: bytes, expect_purchase: bool) -> Outcome:
        """:meth:`_call` through our own transport: the same bytes on the wire (the request
        line and headers built once per body length) and the same classification, without an
        httpx.Request and httpx.Response per call."""
        timeouts = self._extensions["timeout"]
        try:
            origin, head = self._heads.get(len(content)) or self._prepare(len(content))
            status, raw, body, encoded = await self._send_prepared(origin, head + content, timeouts)
            # classify_response reads the headers only for these answers (Retry-After).
            headers = httpx.Headers(raw) if status in (429, 503) else _NO_HEADERS
            if encoded:  # let httpx decode it, as a Response would (we never ask for it)
                body = httpx.Response(status, headers=raw, stream=httpx.ByteStream(body)).read()
        except (httpx.TransportError, httpx.DecodingError) as exc:
            if getattr(exc, "setup", False) and not self._answered:
                raise NetworkError(str(exc), hint=getattr(exc, "hint", None)) from None
            return classify_exception(exc)
        self._answered = True
        return classify_response(status, body, headers, expect_purchase)


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

    A failed or refused CONNECT is a ``ProxyError``: the request never reached the API. A tunnel
    that drops after the write is a ``RemoteProtocolError`` like a direct connection's: unknown.
    """
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


def _describe(exc: BaseException, fallback: str) -> str:
    # Exception texts from httpx and our transport name host and port (the proxy's with its
    # password masked), never headers: neither the key nor a proxy password can leak.
    text = str(exc).strip()
    name = type(exc).__name__
    return f"{fallback} ({name}: {text})" if text else f"{fallback} ({name})"


_DECODER = json.JSONDecoder()  # what json.loads uses when given no options


def _json_or_none(content: bytes) -> Any:
    if not content:
        return None
    try:
        if content[:1] == b"{" and content[1:2] != b"\x00":
            # What json.loads does with these bytes (json.detect_encoding says UTF-8 for them),
            # without its encoding detection and dispatch: a few microseconds per answer.
            return _DECODER.decode(content.decode("utf-8", "surrogatepass"))
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
