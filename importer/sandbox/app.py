"""The sandbox's ASGI application: the Keen actions, fault injection and the admin endpoints.

Routes (Starlette):

    POST /functions/v1/keen-api              the current base path
    POST /functions/v1/openapi-operations    the older (Supabase) base path, same behaviour
    GET  /__sandbox/health | purchases | stats     admin, loopback clients only, no API key
    POST /__sandbox/faults | revoke                admin, loopback clients only, no API key

Order of checks on an API request: latency, rate limit (429), method (400), JSON body (400),
pre-commit fault (create actions only), API key (401), action (400), then the action itself.

Behaviours chosen where keen-api.md is silent (the full table is in ``docs/sandbox.md``):

- every success is 200; wrong method, malformed JSON, missing or unknown action are 400;
- a malformed, unknown or inaccessible ``lead_id`` is 403 "Lead not accessible";
- ``purchase_amount`` must be a JSON number (else 400) and is kept as the exact decimal sent;
  ``date`` must be an ISO 8601 string (else 400); omitted, create_purchase uses "now" and
  create_purchase_custom stores null, as their documented examples do;
- an invalid ``trigger_ids`` entry (unknown, inactive, other channel, not a purchase trigger)
  is 400 "Invalid trigger id <id>: <reason>" and nothing is created; ``[]`` fires nothing;
- rewards: fixed = trigger amount, percentage = amount * pct / 100 rounded half-up to cents,
  stored only when > 0, for every shape of create;
- get_lead_by_legacy_id: unknown id 404 "Lead not found", inaccessible 403 "Lead not accessible".
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections import Counter
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

from importer.sandbox.faults import POST_FAULTS, FaultPlan, Faults
from importer.sandbox.store import Store
from importer.sandbox.world import World

API_PATHS = ("/functions/v1/keen-api", "/functions/v1/openapi-operations")
CREATE_ACTIONS = frozenset({"create_purchase", "create_purchase_custom"})
# Documented Keen actions the sandbox does not emulate: they get a clear 400, not "Unknown action".
UNSUPPORTED_ACTIONS = frozenset(
    {"create_lead", "update_lead", "update_status", "update_status_id", "lead_external"}
)
_ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
_CENT = Decimal("0.01")
_LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})
# Placeholder for the amount in a reply; random so that no product name can collide with it.
_AMOUNT_TOKEN = f"\x00{uuid.uuid4().hex}\x00"

INVALID_KEY = "Invalid API key"
LEAD_NOT_ACCESSIBLE = "Lead not accessible"
CHANNEL_NOT_ACCESSIBLE = "Channel not accessible"
PRODUCT_NOT_OWNED = "Product not found or not owned by your company"
RATE_LIMITED = "Rate Limited. Too many requests."
INTERNAL_ERROR = "Internal server error"


class ApiReply(Exception):
    """Raised inside an action to answer with ``status`` and ``{"error": message}``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not valid JSON")


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")[:-6] + "Z"


def _encode(payload: Any) -> bytes:
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


def _error(status: int, message: str) -> tuple[int, bytes]:
    return status, _encode({"error": message})


class SandboxState:
    """Everything the running app knows: the world, the store, the faults and the counters."""

    def __init__(self, world: World, store: Store, faults: Faults | None = None) -> None:
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


# --- actions -------------------------------------------------------------------------------


def _canonical_uuid(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    try:
        return str(uuid.UUID(value))
    except ValueError:
        return None


def _parse_amount(body: dict[str, Any]) -> Decimal | None:
    value = body.get("purchase_amount")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        raise ApiReply(400, "purchase_amount must be a number")
    amount = Decimal(value)
    if not amount.is_finite():
        raise ApiReply(400, "purchase_amount must be a number")
    return amount


def _parse_date(body: dict[str, Any]) -> str | None:
    value = body.get("date")
    if value is None:
        return None
    if not isinstance(value, str):
        raise ApiReply(400, "Invalid date: use an ISO 8601 timestamp such as 2026-04-21T10:00:00Z")
    try:
        datetime.fromisoformat(value)
    except ValueError:
        raise ApiReply(
            400, "Invalid date: use an ISO 8601 timestamp such as 2026-04-21T10:00:00Z"
        ) from None
    return value


def _text(body: dict[str, Any], *names: str) -> str | None:
    for name in names:
        value = body.get(name)
        if value is None:
            continue
        if not isinstance(value, str):
            raise ApiReply(400, f"{name} must be a string")
        return value
    return None


def _accessible_lead(state: SandboxState, company_id: str, lead_id: Any) -> dict[str, Any]:
    lead = state.world.leads.get(_canonical_uuid(lead_id) or "")
    if lead is None or not state.world.can_access_channel(company_id, lead["channels_id"]):
        raise ApiReply(403, LEAD_NOT_ACCESSIBLE)
    return lead


def _select_triggers(state: SandboxState, lead: dict[str, Any], trigger_ids: Any) -> list:
    channel_id = lead["channels_id"]
    if trigger_ids is None:
        return state.world.purchase_triggers_by_channel[channel_id]
    if not isinstance(trigger_ids, list):
        raise ApiReply(400, "trigger_ids must be an array of trigger ids")
    chosen = []
    seen: set[str] = set()
    for raw in trigger_ids:
        trigger = state.world.triggers.get(_canonical_uuid(raw) or "")
        if trigger is None:
            reason = "not found"
        elif trigger.channel_id != channel_id:
            reason = "not on the lead's channel"
        elif trigger.status != "Active":
            reason = "inactive"
        elif trigger.event != "purchase":
            reason = "not a purchase trigger"
        else:
            if trigger.id not in seen:
                seen.add(trigger.id)
                chosen.append(trigger)
            continue
        raise ApiReply(400, f"Invalid trigger id {raw}: {reason}")
    return chosen


def _rewards(triggers: list, amount: Decimal | None) -> list[tuple[str, str]]:
    rewards = []
    for trigger in triggers:
        if trigger.type == "fixed":
            value = trigger.value
        elif amount is None:
            continue
        else:
            value = (amount * trigger.value / 100).quantize(_CENT, rounding=ROUND_HALF_UP)
        if value > 0:
            rewards.append((trigger.id, format(value, "f")))
    return rewards


def create_purchase(state: SandboxState, company_id: str, body: dict[str, Any], action: str):
    """Both create actions; returns ``(status, body_bytes)`` after committing the purchase."""
    lead_id = body.get("lead_id")
    if lead_id is None or lead_id == "":
        raise ApiReply(400, "lead_id required")
    amount = _parse_amount(body)
    date = _parse_date(body)
    product_id = body.get("product_id") if action == "create_purchase" else None
    if product_id is not None:
        name = _text(body, "product_name")
        description = _text(body, "description", "product_description")
    else:
        name = _text(body, "product_name")
        description = _text(body, "product_description", "description")
    lead = _accessible_lead(state, company_id, lead_id)
    if product_id is not None:
        product = state.world.products.get(_canonical_uuid(product_id) or "")
        if product is None or product["company_id"] != company_id:
            raise ApiReply(403, PRODUCT_NOT_OWNED)
        product_id = product["id"]
        name = name if name is not None else product.get("name")
    triggers = _select_triggers(state, lead, body.get("trigger_ids"))
    created_at = _now()
    if date is None and action == "create_purchase":
        date = created_at
    amount_text = format(amount, "f") if amount is not None else None
    purchase = {
        "id": str(uuid.uuid4()),
        "company_id": company_id,
        "lead_id": lead["id"],
        "purchase_amount": amount_text,
        "date": date,
        "name": name,
        "description": description,
        "product_id": product_id,
        "action": action,
        "created_at": created_at,
    }
    state.store.add_purchase(purchase, _rewards(triggers, amount))
    reply: dict[str, Any] = {
        "id": purchase["id"],
        "created_at": created_at,
        "leads_id": lead["id"],
    }
    if product_id is not None:
        reply["products_id"] = product_id
        reply["purchase_amount"] = _AMOUNT_TOKEN
        reply["date"] = date
        reply["description"] = description
    else:
        reply["name"] = name
        reply["description"] = description
        reply["purchase_amount"] = _AMOUNT_TOKEN
        reply["date"] = date
    text = json.dumps({"purchase": reply}, separators=(",", ":"), ensure_ascii=False)
    # Amounts go out as the exact decimal that was sent, which json.dumps cannot do for Decimal.
    text = text.replace(json.dumps(_AMOUNT_TOKEN), amount_text or "null", 1)
    return 200, text.encode()


def _flat_lead(lead: dict[str, Any]) -> dict[str, Any]:
    flat = {
        "id": lead["id"],
        "email": lead.get("email"),
        "first_name": lead.get("first_name"),
        "last_name": lead.get("last_name"),
        "phone": lead["phone"],
        "company_name": lead.get("company_name"),
        "source": lead["source"],
        "referring_employee": lead["referring_employee"],
        "business_id": lead["business_id"],
        "notes": lead["notes"],
        "created_at": lead.get("created_at"),
        "status": lead["status"],
    }
    flat.update(lead["properties"])
    return flat


def _property_values(lead: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {"value": str(value), "property_definitions": {"name": name}}
        for name, value in lead["properties"].items()
    ]


def _full_lead(lead: dict[str, Any]) -> dict[str, Any]:
    full = _flat_lead(lead)
    full.pop("status")
    for name in list(lead["properties"]):
        full.pop(name, None)
    full["channels_id"] = lead["channels_id"]
    full["lead_status_id"] = lead["lead_status_id"]
    full["lead_status"] = {"id": lead["lead_status_id"], "status": lead["status"]}
    full["status"] = lead["status"]
    full["property_values"] = _property_values(lead)
    return full


def get_lead_by_id(state: SandboxState, company_id: str, body: dict[str, Any]):
    lead_id = body.get("lead_id")
    if lead_id is None or lead_id == "":
        raise ApiReply(400, "lead_id required")
    return 200, _encode({"lead": _full_lead(_accessible_lead(state, company_id, lead_id))})


def get_lead_by_legacy_id(state: SandboxState, company_id: str, body: dict[str, Any]):
    legacy_id = body.get("legacy_id")
    if legacy_id is None or legacy_id == "":
        raise ApiReply(400, "legacy_id required")
    if isinstance(legacy_id, bool) or not isinstance(legacy_id, int):
        raise ApiReply(400, "legacy_id must be an integer")
    lead = state.world.lead_by_legacy_id.get(legacy_id)
    if lead is None:
        raise ApiReply(404, "Lead not found")
    if not state.world.can_access_channel(company_id, lead["channels_id"]):
        raise ApiReply(403, LEAD_NOT_ACCESSIBLE)
    reply = {
        "id": lead["id"],
        "legacy_id": lead["legacy_id"],
        "created_at": lead.get("created_at"),
        "email": lead.get("email"),
        "first_name": lead.get("first_name"),
        "last_name": lead.get("last_name"),
        "phone": lead["phone"],
        "company_name": lead.get("company_name"),
        "source": lead["source"],
        "employee": lead["referring_employee"],
        "status": lead["status"],
        "lead_status_id": lead["lead_status_id"],
        "notes": lead["notes"],
        "business_id": lead["business_id"],
        "channels_id": lead["channels_id"],
        "property_values": _property_values(lead),
    }
    return 200, _encode({"lead": reply})


_CHANNEL_FIELDS = (
    "id",
    "title",
    "created_at",
    "creator",
    "partner_id",
    "referring_id",
    "receiving_id",
    "currency",
    "no_auth_api",
)


def get_channels(state: SandboxState, company_id: str, body: dict[str, Any]):
    channels = []
    for channel in state.world.accessible_channels(company_id):
        item = {name: channel.get(name) for name in _CHANNEL_FIELDS}
        item["property_definitions"] = channel.get("property_definitions", [])
        item["lead_status"] = channel.get("lead_status", [])
        channels.append(item)
    return 200, _encode({"channels": channels})


def get_leads(state: SandboxState, company_id: str, body: dict[str, Any]):
    channel_id = body.get("channel_id")
    if channel_id is None or channel_id == "":
        raise ApiReply(400, "channel_id required")
    channel_id = _canonical_uuid(channel_id) or ""
    if not state.world.can_access_channel(company_id, channel_id):
        raise ApiReply(403, CHANNEL_NOT_ACCESSIBLE)
    leads = state.world.leads_by_channel[channel_id][:100]
    return 200, _encode([_flat_lead(lead) for lead in leads])


READ_ACTIONS = {
    "get_lead_by_id": get_lead_by_id,
    "get_lead_by_legacy_id": get_lead_by_legacy_id,
    "get_channels": get_channels,
    "get_leads": get_leads,
}


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


class KeenEndpoint:
    """One documented base path: a POST with a JSON body naming the ``action``."""

    def __init__(self, state: SandboxState) -> None:
        self.state = state

    async def __call__(self, scope, receive, send) -> None:
        state = self.state
        counters = state.counters
        counters["requests"] += 1
        plan = state.plan
        delay = plan.delay_seconds()
        if delay:
            await asyncio.sleep(delay)
        retry_after = plan.retry_after()
        if retry_after is not None:
            counters["rate_limited"] += 1
            return await self._reply(
                send, *_error(429, RATE_LIMITED), [(b"retry-after", str(retry_after).encode())]
            )
        if scope["method"] != "POST":
            return await self._reply(send, *_error(400, "Only POST is supported: send a JSON body"))
        raw = await _read_body(receive)
        try:
            body = json.loads(raw, parse_float=Decimal, parse_constant=_reject_constant)
        except (ValueError, RecursionError):
            return await self._reply(send, *_error(400, "Invalid JSON body"))
        if not isinstance(body, dict):
            return await self._reply(send, *_error(400, "Request body must be a JSON object"))
        action = body.get("action")
        fault = None
        if action in CREATE_ACTIONS:
            counters["create_calls"] += 1
            fault = plan.draw()
            if fault is not None and fault not in POST_FAULTS:
                counters["fault:" + fault] += 1
                if fault == "drop_before":
                    return await _drop_connection(scope)
                if fault == "500":
                    return await self._reply(send, *_error(500, INTERNAL_ERROR))
                if fault == "502":
                    return await self._reply(send, *_error(502, "Bad gateway"))
                return await self._reply(
                    send, *_error(503, "Service unavailable"), [(b"retry-after", b"1")]
                )
        key = _header(scope, b"x-api-key")
        company_id = state.world.company_by_key.get(key) if key is not None else None
        if company_id is None or key in state.revoked_keys:
            return await self._reply(send, *_error(401, INVALID_KEY))
        if action is None or action == "":
            return await self._reply(send, *_error(400, "action required"))
        try:
            if action in CREATE_ACTIONS:
                status, payload = create_purchase(state, company_id, body, action)
            elif isinstance(action, str) and action in READ_ACTIONS:
                status, payload = READ_ACTIONS[action](state, company_id, body)
            elif action in UNSUPPORTED_ACTIONS:
                raise ApiReply(400, f"Action not supported by the sandbox: {action}")
            else:
                raise ApiReply(400, f"Unknown action: {action}")
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

    async def _reply(self, send, status: int, body: bytes, headers=None) -> None:
        self.state.counters[f"status:{status}"] += 1
        await _send(send, status, body, headers)


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
        await _send(send, 200, _encode(result))


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
