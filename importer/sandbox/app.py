"""The sandbox's ASGI application: the Keen actions, fault injection and the admin endpoints.

Routes (Starlette):

    POST /functions/v1/keen-api              the current base path
    POST /functions/v1/openapi-operations    the older (Supabase) base path, same behaviour
    GET  /__sandbox/health | purchases | stats     admin, loopback clients only, no API key
    POST /__sandbox/faults | revoke                admin, loopback clients only, no API key

Order of checks on an API request: latency, rate limit (429), method (400), JSON body (400),
pre-commit fault (create actions only), API key (401), action (400), then the action itself.

The actions themselves (and the behaviours chosen where keen-api.md is silent) live in
:mod:`importer.sandbox.actions`.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from decimal import Decimal
from typing import Any

from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

from importer.sandbox.actions import (
    CREATE_ACTIONS,
    INTERNAL_ERROR,
    INVALID_KEY,
    RATE_LIMITED,
    READ_ACTIONS,
    UNSUPPORTED_ACTIONS,
    ApiReply,
    create_purchase,
    encode_json,
)
from importer.sandbox.faults import POST_FAULTS, FaultPlan, Faults
from importer.sandbox.store import MemoryStore, SqliteStore
from importer.sandbox.world import World

API_PATHS = ("/functions/v1/keen-api", "/functions/v1/openapi-operations")
_ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
_LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not valid JSON")


def _error(status: int, message: str) -> tuple[int, bytes]:
    return status, encode_json({"error": message})


class SandboxState:
    """Everything the running app knows: the world, the store, the faults and the counters."""

    def __init__(
        self, world: World, store: MemoryStore | SqliteStore, faults: Faults | None = None
    ) -> None:
        self.world = world
        self.store = store
        self.plan = FaultPlan(faults)
        self.revoked_keys: set[str] = set()
        self.counters: Counter[str] = Counter()

    def set_faults(self, faults: Faults) -> None:
        self.plan = FaultPlan(faults)

    def stats(self) -> dict[str, Any]:
        counters = dict(self.counters)
        stats: dict[str, Any] = {
            "requests": counters.pop("requests", 0),
            "create_calls": counters.pop("create_calls", 0),
            "rate_limited": counters.pop("rate_limited", 0),
        }
        stats.update(self.store.counts())
        # CPU time of the whole server process: lets a benchmark measure the server's cost per
        # request even when other programs compete for the cores.
        stats["cpu_seconds"] = time.process_time()
        stats["faults"] = {k[6:]: v for k, v in counters.items() if k.startswith("fault:")}
        stats["statuses"] = {k[7:]: v for k, v in counters.items() if k.startswith("status:")}
        return stats


# --- ASGI plumbing -----------------------------------------------------------------------


async def _read_body(receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


async def _send(send, status: int, body: bytes, headers: list[tuple[bytes, bytes]] | None = None):
    raw_headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
    ]
    if headers:
        raw_headers.extend(headers)
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    await send({"type": "http.response.body", "body": body})


async def _drop_connection(scope) -> None:
    """Close the client's connection without any reply (uvicorn only)."""
    cycle = scope.get("keen.cycle")
    transport = getattr(cycle, "transport", None)
    if transport is None:
        raise RuntimeError("dropping a connection needs uvicorn's http protocol")
    transport.close()
    # uvicorn marks the cycle disconnected in connection_lost(), one loop turn later; returning
    # before that would make it answer 500 "ASGI callable returned without starting response".
    for _ in range(100):
        if cycle.disconnected or cycle.response_complete:
            return
        await asyncio.sleep(0)


def _header(scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return value.decode("latin-1")
    return None


class InjectedLatency:
    """Sleeps for the injected latency, calibrated so that the mean added latency is what was
    asked for: uvloop's timers have millisecond resolution and fire about 1 ms late, which would
    turn ``--latency 20`` into 21.5 ms round trips. A single wait may be up to ~1 ms short."""

    MAX_CORRECTION = 0.002

    def __init__(self) -> None:
        self.correction = 0.0  # seconds taken off each sleep (the measured average lateness)

    async def wait(self, delay: float) -> None:
        """Wait ``delay`` seconds (on average)."""
        started = time.perf_counter()
        await asyncio.sleep(max(0.0, delay - self.correction))
        late = time.perf_counter() - started - delay
        self.correction = min(self.MAX_CORRECTION, max(0.0, self.correction + 0.1 * late))


class KeenEndpoint:
    """One documented base path: a POST with a JSON body naming the ``action``."""

    def __init__(self, state: SandboxState) -> None:
        self.state = state
        self.latency = InjectedLatency()

    async def __call__(self, scope, receive, send) -> None:
        state = self.state
        counters = state.counters
        counters["requests"] += 1
        plan = state.plan
        delay = plan.delay_seconds()
        if delay:
            await self.latency.wait(delay)
        retry_after = plan.retry_after()
        if retry_after is not None:
            counters["rate_limited"] += 1
            return await self._reply(
                send, *_error(429, RATE_LIMITED), [(b"retry-after", str(retry_after).encode())]
            )
        body = await self._body(scope, receive, send)
        if body is None:
            return  # refused with a 400
        action = body.get("action")
        if not isinstance(action, str | None):
            action = json.dumps(action)  # unhashable or odd values still get "Unknown action"
        fault = None
        if action in CREATE_ACTIONS:
            counters["create_calls"] += 1
            fault = plan.draw()
            if fault is not None and fault not in POST_FAULTS:
                return await self._fail_before(scope, send, fault)
        key = _header(scope, b"x-api-key")
        company_id = state.world.company_by_key.get(key) if key is not None else None
        if company_id is None or key in state.revoked_keys:
            return await self._reply(send, *_error(401, INVALID_KEY))
        if action is None or action == "":
            return await self._reply(send, *_error(400, "action required"))
        try:
            status, payload = _perform(state, company_id, body, action)
        except ApiReply as reply:
            return await self._reply(send, *_error(reply.status, reply.message))
        if fault is not None:
            counters["fault:" + fault] += 1
            if fault == "commit_then_drop":
                return await _drop_connection(scope)
            if fault == "commit_then_500":
                return await self._reply(send, *_error(500, INTERNAL_ERROR))
            await asyncio.sleep(plan.faults.slow_seconds)
        await self._reply(send, status, payload)

    async def _body(self, scope, receive, send) -> dict | None:
        """The request's JSON object, or None once a 400 has been sent."""
        if scope["method"] != "POST":
            await self._reply(send, *_error(400, "Only POST is supported: send a JSON body"))
            return None
        raw = await _read_body(receive)
        try:
            body = json.loads(raw, parse_float=Decimal, parse_constant=_reject_constant)
        except (ValueError, RecursionError):
            await self._reply(send, *_error(400, "Invalid JSON body"))
            return None
        if not isinstance(body, dict):
            await self._reply(send, *_error(400, "Request body must be a JSON object"))
            return None
        return body

    async def _fail_before(self, scope, send, fault: str) -> None:
        """A fault injected before the purchase is stored: nothing was created."""
        self.state.counters["fault:" + fault] += 1
        if fault == "drop_before":
            return await _drop_connection(scope)
        if fault == "500":
            return await self._reply(send, *_error(500, INTERNAL_ERROR))
        if fault == "502":
            return await self._reply(send, *_error(502, "Bad gateway"))
        return await self._reply(
            send, *_error(503, "Service unavailable"), [(b"retry-after", b"1")]
        )

    async def _reply(self, send, status: int, body: bytes, headers=None) -> None:
        self.state.counters[f"status:{status}"] += 1
        await _send(send, status, body, headers)


def _perform(state: SandboxState, company_id: str, body: dict, action: str) -> tuple[int, bytes]:
    """Run one action for a company: (status, JSON body); ApiReply for a refusal."""
    if action in CREATE_ACTIONS:
        return create_purchase(state, company_id, body, action)
    if action in READ_ACTIONS:
        return READ_ACTIONS[action](state, company_id, body)
    if action in UNSUPPORTED_ACTIONS:
        raise ApiReply(400, f"Action not supported by the sandbox: {action}")
    raise ApiReply(400, f"Unknown action: {action}")


class AdminEndpoint:
    """``/__sandbox/<name>``: control and inspection for the Python API, loopback only."""

    def __init__(self, state: SandboxState, name: str) -> None:
        self.state = state
        self.name = name

    async def __call__(self, scope, receive, send) -> None:
        client = scope.get("client")
        if client and client[0] not in _LOOPBACK:
            return await _send(send, *_error(403, "Admin endpoints answer loopback clients only"))
        state = self.state
        raw = await _read_body(receive)
        try:
            body = json.loads(raw) if raw else {}
            if self.name == "health":
                result: Any = {"ok": True}
            elif self.name == "purchases":
                result = state.store.purchases()
            elif self.name == "stats":
                result = state.stats()
            elif self.name == "faults":
                state.set_faults(Faults.from_dict(body))
                result = state.plan.faults.to_dict()
            elif self.name == "revoke":
                state.revoked_keys.add(body.get("key") or state.world.demo_api_key)
                result = {"revoked": sorted(state.revoked_keys)}
            else:  # pragma: no cover - routes are fixed below
                raise ValueError(self.name)
        except (ValueError, TypeError) as exc:
            return await _send(send, *_error(400, str(exc)))
        await _send(send, 200, encode_json(result))


def build_app(state: SandboxState) -> Any:
    """The ASGI app of one sandbox; keeps uvicorn's request cycle in the scope for drops."""
    routes = [Route(path, KeenEndpoint(state), methods=_ALL_METHODS) for path in API_PATHS]
    for name in ("health", "purchases", "stats"):
        routes.append(Route(f"/__sandbox/{name}", AdminEndpoint(state, name), methods=["GET"]))
    for name in ("faults", "revoke"):
        routes.append(Route(f"/__sandbox/{name}", AdminEndpoint(state, name), methods=["POST"]))
    starlette = Starlette(routes=routes)

    async def not_found(request, exc):
        return JSONResponse({"error": "Not found"}, status_code=404)

    async def wrong_method(request, exc):
        return JSONResponse({"error": "Method not allowed"}, status_code=405)

    starlette.add_exception_handler(404, not_found)
    starlette.add_exception_handler(405, wrong_method)

    # The two API paths skip Starlette's middleware and router: at thousands of requests per
    # second that layer costs more than the action itself. Everything else goes through it.
    api = KeenEndpoint(state)
    fast_paths = frozenset(API_PATHS)

    async def app(scope, receive, send):
        if scope["type"] == "http":
            scope["keen.cycle"] = getattr(receive, "__self__", None)
            if scope["path"] in fast_paths:
                return await api(scope, receive, send)
        await starlette(scope, receive, send)

    app.state = state  # type: ignore[attr-defined]
    return app
