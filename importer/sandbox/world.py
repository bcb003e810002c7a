"""The sandbox's seeded world: companies, API keys, channels, leads, products and reward triggers.

A world file is JSON (``.json``) or TOML (``.toml``) with the keys ``demo_api_key``, ``companies``,
``channels``, ``leads``, ``products`` and ``triggers`` (see ``default_world.json``). The world is
read once and never changes while the sandbox runs; only purchases, events and rewards are state
(kept in SQLite by :mod:`importer.sandbox.store`).
"""

from __future__ import annotations

import json
import tomllib
import uuid
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from importer.errors import ConfigurationError

DEFAULT_WORLD_PATH = Path(__file__).with_name("default_world.json")

_CHANNEL_ROLES = ("creator", "partner_id", "referring_id", "receiving_id")
_LEAD_TEXT_FIELDS = (
    "phone",
    "source",
    "referring_employee",
    "business_id",
    "notes",
)


class WorldError(ConfigurationError):
    """The world file cannot be read or contradicts itself."""


@dataclass(frozen=True)
class Trigger:
    """A reward trigger on a channel: a fixed amount or a percentage of the purchase amount."""

    id: str
    channel_id: str
    name: str
    event: str
    type: str
    value: Decimal
    status: str

    @property
    def fires_on_purchase(self) -> bool:
        return self.status == "Active" and self.event == "purchase"


@dataclass
class World:
    """Everything the sandbox knows before the first request, indexed for fast look-ups."""

    demo_api_key: str
    companies: dict[str, dict[str, Any]]
    channels: dict[str, dict[str, Any]]
    leads: dict[str, dict[str, Any]]
    products: dict[str, dict[str, Any]]
    triggers: dict[str, Trigger]
    company_by_key: dict[str, str] = field(default_factory=dict)
    lead_by_legacy_id: dict[int, dict[str, Any]] = field(default_factory=dict)
    leads_by_channel: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    purchase_triggers_by_channel: dict[str, list[Trigger]] = field(default_factory=dict)

    def can_access_channel(self, company_id: str, channel_id: str) -> bool:
        """True when the company is creator, partner, referring or receiving company."""
        channel = self.channels.get(channel_id)
        return channel is not None and company_id in channel["_members"]

    def accessible_channels(self, company_id: str) -> list[dict[str, Any]]:
        return [c for c in self.channels.values() if company_id in c["_members"]]


def _fail(path: object, message: str) -> WorldError:
    return WorldError(
        f"World file {path}: {message}",
        hint="Fix the world file or omit --world to use the default world.",
    )


def _uuid(value: Any, what: str, path: object) -> str:
    try:
        return str(uuid.UUID(str(value)))
    except ValueError:
        raise _fail(path, f"{what} {value!r} is not a UUID") from None


def _decimal(value: Any, what: str, path: object) -> Decimal:
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise _fail(path, f"{what} {value!r} is not a number") from None
    if not number.is_finite():
        raise _fail(path, f"{what} {value!r} is not a finite number")
    return number


def load_world(path: str | Path | None = None) -> World:
    """Read and validate a world file; ``None`` loads the default world shipped with the package."""
    path = Path(path) if path is not None else DEFAULT_WORLD_PATH
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise _fail(path, f"cannot be read ({exc.strerror or exc})") from None
    try:
        raw = tomllib.loads(text) if path.suffix.lower() == ".toml" else json.loads(text)
    except (ValueError, tomllib.TOMLDecodeError) as exc:
        raise _fail(path, f"is not valid {path.suffix.lstrip('.') or 'JSON'}: {exc}") from None
    if not isinstance(raw, dict):
        raise _fail(path, "must contain an object at the top level")
    return build_world(raw, source=path)


def build_world(raw: dict[str, Any], *, source: object = "<memory>") -> World:
    """Validate an already parsed world document and index it."""
    path = source
    companies, company_by_key = _companies(raw, path)
    demo_key = raw.get("demo_api_key")
    if demo_key not in company_by_key:
        raise _fail(path, "demo_api_key must be one of the companies' api_keys")
    channels = _channels(raw, companies, path)
    leads, lead_by_legacy_id, leads_by_channel = _leads(raw, channels, path)
    triggers, by_channel = _triggers(raw, channels, path)
    return World(
        demo_api_key=demo_key,
        companies=companies,
        channels=channels,
        leads=leads,
        products=_products(raw, companies, path),
        triggers=triggers,
        company_by_key=company_by_key,
        lead_by_legacy_id=lead_by_legacy_id,
        leads_by_channel=leads_by_channel,
        purchase_triggers_by_channel=by_channel,
    )


def _companies(raw: dict[str, Any], path: object) -> tuple[dict[str, dict], dict[str, str]]:
    """Companies by id, and which company each API key belongs to."""
    companies: dict[str, dict[str, Any]] = {}
    company_by_key: dict[str, str] = {}
    for company in raw.get("companies", []):
        cid = _uuid(company.get("id"), "company id", path)
        if cid in companies:
            raise _fail(path, f"company {cid} is defined twice")
        companies[cid] = dict(company, id=cid)
        for key in company.get("api_keys", []):
            if key in company_by_key:
                raise _fail(path, f"API key {key} belongs to two companies")
            company_by_key[str(key)] = cid
    return companies, company_by_key


def _channels(raw: dict[str, Any], companies: dict[str, dict], path: object) -> dict[str, dict]:
    """Channels by id, each with the set of its member companies (``_members``)."""
    channels: dict[str, dict[str, Any]] = {}
    for channel in raw.get("channels", []):
        chid = _uuid(channel.get("id"), "channel id", path)
        if chid in channels:
            raise _fail(path, f"channel {chid} is defined twice")
        members = set()
        for role in _CHANNEL_ROLES:
            member = channel.get(role)
            if member is None:
                continue
            if member not in companies:
                raise _fail(path, f"channel {chid}: {role} {member} is not a company")
            members.add(member)
        if "currency" not in channel:
            raise _fail(path, f"channel {chid} has no currency")
        channels[chid] = dict(channel, id=chid, _members=frozenset(members))
    return channels


def _leads(
    raw: dict[str, Any], channels: dict[str, dict], path: object
) -> tuple[dict[str, dict], dict[int, dict], dict[str, list[dict]]]:
    """Leads by id, by legacy id, and per channel (newest first)."""
    leads: dict[str, dict[str, Any]] = {}
    lead_by_legacy_id: dict[int, dict[str, Any]] = {}
    leads_by_channel: dict[str, list[dict[str, Any]]] = {c: [] for c in channels}
    for lead in raw.get("leads", []):
        record = _lead(lead, channels, path)
        if record["id"] in leads:
            raise _fail(path, f"lead {record['id']} is defined twice")
        legacy = lead.get("legacy_id")
        if legacy is not None and legacy in lead_by_legacy_id:
            raise _fail(path, f"legacy_id {legacy} is used by two leads")
        leads[record["id"]] = record
        if legacy is not None:
            lead_by_legacy_id[legacy] = record
        leads_by_channel[record["channels_id"]].append(record)
    for channel_leads in leads_by_channel.values():
        channel_leads.sort(key=lambda lead: lead.get("created_at") or "", reverse=True)
    return leads, lead_by_legacy_id, leads_by_channel


def _lead(lead: dict[str, Any], channels: dict[str, dict], path: object) -> dict[str, Any]:
    """One lead checked and completed (text fields, properties, its status id)."""
    lid = _uuid(lead.get("id"), "lead id", path)
    channel_id = lead.get("channels_id")
    if channel_id not in channels:
        raise _fail(path, f"lead {lid}: channels_id {channel_id} is not a channel")
    legacy = lead.get("legacy_id")
    if legacy is not None and (not isinstance(legacy, int) or isinstance(legacy, bool)):
        raise _fail(path, f"lead {lid}: legacy_id must be an integer")
    record = dict(lead, id=lid)
    for name in _LEAD_TEXT_FIELDS:
        record.setdefault(name, None)
    record.setdefault("properties", {})
    statuses = channels[channel_id].get("lead_status", [])
    status_name = record.get("status") or (statuses[0]["status"] if statuses else None)
    record["status"] = status_name
    match = next((s for s in statuses if s["status"] == status_name), None)
    record["lead_status_id"] = match["id"] if match else None
    return record


def _products(raw: dict[str, Any], companies: dict[str, dict], path: object) -> dict[str, dict]:
    products: dict[str, dict[str, Any]] = {}
    for product in raw.get("products", []):
        pid = _uuid(product.get("id"), "product id", path)
        if product.get("company_id") not in companies:
            raise _fail(path, f"product {pid}: company_id is not a company")
        products[pid] = dict(product, id=pid)
    return products


def _triggers(
    raw: dict[str, Any], channels: dict[str, dict], path: object
) -> tuple[dict[str, Trigger], dict[str, list[Trigger]]]:
    """Triggers by id, and the active purchase triggers of each channel."""
    triggers: dict[str, Trigger] = {}
    by_channel: dict[str, list[Trigger]] = {c: [] for c in channels}
    for item in raw.get("triggers", []):
        trigger = _trigger(item, channels, path)
        triggers[trigger.id] = trigger
        if trigger.fires_on_purchase:
            by_channel[trigger.channel_id].append(trigger)
    return triggers, by_channel


def _trigger(item: dict[str, Any], channels: dict[str, dict], path: object) -> Trigger:
    tid = _uuid(item.get("id"), "trigger id", path)
    if item.get("channel_id") not in channels:
        raise _fail(path, f"trigger {tid}: channel_id is not a channel")
    kind = item.get("type")
    if kind == "fixed":
        value = _decimal(item.get("amount"), f"trigger {tid} amount", path)
    elif kind == "percentage":
        value = _decimal(item.get("percentage"), f"trigger {tid} percentage", path)
    else:
        raise _fail(path, f"trigger {tid}: type must be 'fixed' or 'percentage'")
    status = item.get("status", "Active")
    if status not in ("Active", "Inactive"):
        raise _fail(path, f"trigger {tid}: status must be 'Active' or 'Inactive'")
    return Trigger(
        id=tid,
        channel_id=item["channel_id"],
        name=str(item.get("name", "")),
        event=str(item.get("event", "purchase")),
        type=kind,
        value=value,
        status=status,
    )
