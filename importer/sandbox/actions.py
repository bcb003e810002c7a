"""The Keen actions of the sandbox: validation, access rules, purchases and rewards.

Each action takes the sandbox state, the calling company and the JSON body, and returns
``(status, body_bytes)`` or raises :class:`ApiReply` for an ``{"error": ...}`` answer.

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

import json
import uuid
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from importer.sandbox.app import SandboxState

CREATE_ACTIONS = frozenset({"create_purchase", "create_purchase_custom"})
# Documented Keen actions the sandbox does not emulate: they get a clear 400, not "Unknown action".
UNSUPPORTED_ACTIONS = frozenset(
    {"create_lead", "update_lead", "update_status", "update_status_id", "lead_external"}
)
_CENT = Decimal("0.01")
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


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")[:-6] + "Z"


def encode_json(payload: Any) -> bytes:
    """Compact UTF-8 JSON, as the replies are sent."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


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
    if amount and (amount.adjusted() > 14 or amount.as_tuple().exponent < -20):
        raise ApiReply(400, "purchase_amount is out of range")
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
    return 200, encode_json({"lead": _full_lead(_accessible_lead(state, company_id, lead_id))})


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
    return 200, encode_json({"lead": reply})


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
    return 200, encode_json({"channels": channels})


def get_leads(state: SandboxState, company_id: str, body: dict[str, Any]):
    channel_id = body.get("channel_id")
    if channel_id is None or channel_id == "":
        raise ApiReply(400, "channel_id required")
    channel_id = _canonical_uuid(channel_id) or ""
    if not state.world.can_access_channel(company_id, channel_id):
        raise ApiReply(403, CHANNEL_NOT_ACCESSIBLE)
    leads = state.world.leads_by_channel[channel_id][:100]
    return 200, encode_json([_flat_lead(lead) for lead in leads])


READ_ACTIONS = {
    "get_lead_by_id": get_lead_by_id,
    "get_lead_by_legacy_id": get_lead_by_legacy_id,
    "get_channels": get_channels,
    "get_leads": get_leads,
}
