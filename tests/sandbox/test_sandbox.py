"""The Keen sandbox over real HTTP: every action, every documented error, the reward rules."""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path

import httpx
import pytest

import importer.sandbox as sandbox_package
from importer.errors import ConfigurationError
from importer.sandbox import DEFAULT_WORLD_PATH, DEMO_API_KEY, Sandbox, WorldError, load_world
from importer.sandbox.store import MemoryStore, SqliteStore, open_store

ROOT = Path(__file__).resolve().parents[2]

NORTHWIND = "bd9c66b3-ad3c-4d6d-9a3d-1fa7bc8960a9"
CONTOSO = "972a8469-1641-4f82-8b9d-2434e465e150"
FABRIKAM = "17fc695a-07a0-4a6e-8822-e8f36c031199"
CONTOSO_KEY = "23b8c1e9-3924-46de-beb1-3b9046685257"

USD_CHANNEL = "9a1de644-815e-46d1-bb8f-aa1837f8a88b"
EUR_CHANNEL = "b74d0fb1-32e7-4629-8fad-c1a606cb0fb3"
FABRIKAM_CHANNEL = "6b65a6a4-8b81-48f6-b38a-088ca65ed389"

USD_LEAD = "47378190-96da-4dac-b2ff-5d2a386ecbe0"  # legacy id 1001
EUR_LEAD = "ec1b8ca1-f91e-4d4c-9ff4-9b7889463e85"  # legacy id 2001
FABRIKAM_LEAD = "fc377a4c-4a15-444d-85e7-ce8a3a578a8e"  # legacy id 3001

PRO_PLAN = "7412b293-4729-4739-a14f-f3d719db3ad0"
FABRIKAM_PRODUCT = "ab9099a4-35a2-40ae-9af3-05535ec42e08"

USD_FIXED_50 = "aefcfad8-efc8-4849-b3aa-7efe4458a885"
USD_PERCENT_10 = "a28defe3-9bf0-4273-9247-6f57a5e5a5ab"
USD_INACTIVE = "3eabedcb-baa8-4dd4-88bd-64072bcfbe01"
USD_NEW_LEAD = "0e51f30d-c6a7-4e39-84b0-32ccd7c524a5"
EUR_PERCENT_5 = "451b4cf3-6123-4df7-b656-af7229d4beef"
EUR_FIXED_20 = "b02b61c4-a3d7-4628-ace6-6fa2fd5166e6"
FABRIKAM_FIXED_100 = "5304317f-af42-412f-b838-b3268e944239"

TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")

# USD_LEAD as get_leads lists it (get_lead_by_id adds its channel, status and properties).
OLIVIA = {
    "id": USD_LEAD,
    "email": "olivia.hansen@brightlane.com",
    "first_name": "Olivia",
    "last_name": "Hansen",
    "phone": None,
    "company_name": "Brightlane Inc",
    "source": None,
    "referring_employee": None,
    "business_id": None,
    "notes": None,
    "created_at": "2026-01-10T09:00:00.000Z",
    "status": "Qualified",
}


@pytest.fixture(scope="module")
def sandbox():
    with Sandbox() as sb:
        yield sb


@pytest.fixture(scope="module")
def client(sandbox):
    with httpx.Client(headers={"X-Api-Key": sandbox.api_key}, trust_env=False) as c:
        yield c


def call(client: httpx.Client, sandbox: Sandbox, body: dict, **kwargs) -> httpx.Response:
    return client.post(sandbox.base_url, json=body, **kwargs)


def answer(client: httpx.Client, sandbox: Sandbox, action: str, **fields) -> tuple[int, dict]:
    """(HTTP status, JSON body) of the sandbox's reply to ``action`` with these fields."""
    response = call(client, sandbox, {"action": action, **fields})
    return response.status_code, response.json()


def stored(sandbox: Sandbox, purchase_id: str) -> dict:
    matches = [p for p in sandbox.purchases() if p["id"] == purchase_id]
    assert len(matches) == 1
    return matches[0]


def rewards_of(purchase: dict) -> dict[str, str]:
    return {r["trigger_id"]: r["amount"] for r in purchase["rewards"]}


def create(client, sandbox, **fields) -> httpx.Response:
    return call(client, sandbox, {"action": "create_purchase", "lead_id": USD_LEAD, **fields})


# --- package ---------------------------------------------------------------------------------


def test_public_api_is_pinned():
    assert sandbox_package.__all__ == [
        "DEFAULT_WORLD_PATH",
        "DEMO_API_KEY",
        "Faults",
        "Sandbox",
        "WorldError",
        "load_world",
    ]
    assert load_world().demo_api_key == DEMO_API_KEY


def test_sample_world_is_the_default_world():
    assert (ROOT / "sample_data" / "world.json").read_bytes() == DEFAULT_WORLD_PATH.read_bytes()


def test_world_file_errors_are_clear(tmp_path):
    broken = tmp_path / "world.json"
    broken.write_text("{not json")
    with pytest.raises(WorldError, match=r"world.json: is not valid json"):
        load_world(broken)
    raw = json.loads(DEFAULT_WORLD_PATH.read_text())
    raw["leads"][0]["channels_id"] = str(uuid.uuid4())
    broken.write_text(json.dumps(raw))
    with pytest.raises(WorldError, match=r"lead 47378190-.*: channels_id .* is not a channel"):
        load_world(broken)
    with pytest.raises(WorldError, match="cannot be read"):
        load_world(tmp_path / "missing.json")


def test_unopenable_database_is_a_configuration_error(tmp_path):
    with pytest.raises(ConfigurationError, match="Cannot open the sandbox database"):
        Sandbox(db=tmp_path / "missing-dir" / "x.db").start()


def test_toml_world_loads(tmp_path):
    path = tmp_path / "world.toml"
    path.write_text(
        'demo_api_key = "k1"\n'
        f'[[companies]]\nid = "{NORTHWIND}"\nname = "N"\napi_keys = ["k1"]\n'
        f'[[channels]]\nid = "{USD_CHANNEL}"\ntitle = "T"\ncurrency = "USD"\n'
        f'creator = "{NORTHWIND}"\n'
        f'[[leads]]\nid = "{USD_LEAD}"\nlegacy_id = 1\nemail = "a@b.c"\n'
        f'channels_id = "{USD_CHANNEL}"\n'
    )
    world = load_world(path)
    assert world.company_by_key == {"k1": NORTHWIND}
    assert world.lead_by_legacy_id[1]["id"] == USD_LEAD


# --- create_purchase: current shape ----------------------------------------------------------


def test_create_purchase_current_shape_exact_reply(client, sandbox):
    response = create(
        client,
        sandbox,
        purchase_amount=1500,
        product_name="Pro plan",
        product_description="Annual subscription",
        date="2026-04-21T10:00:00Z",
        trigger_ids=[USD_FIXED_50],
    )
    assert response.status_code == 200
    purchase = response.json()["purchase"]
    assert uuid.UUID(purchase["id"])
    assert TIMESTAMP.match(purchase["created_at"])
    assert response.json() == {
        "purchase": {
            "id": purchase["id"],
            "created_at": purchase["created_at"],
            "leads_id": USD_LEAD,
            "name": "Pro plan",
            "description": "Annual subscription",
            "purchase_amount": 1500,
            "date": "2026-04-21T10:00:00Z",
        }
    }
    assert stored(sandbox, purchase["id"]) == {
        "id": purchase["id"],
        "lead_id": USD_LEAD,
        "purchase_amount": "1500",
        "date": "2026-04-21T10:00:00Z",
        "name": "Pro plan",
        "description": "Annual subscription",
        "product_id": None,
        "action": "create_purchase",
        "created_at": purchase["created_at"],
        "company_id": NORTHWIND,
        "rewards": [{"trigger_id": USD_FIXED_50, "amount": "50.00"}],
    }


def test_amount_is_echoed_and_stored_exactly(client, sandbox):
    response = create(client, sandbox, purchase_amount=1234.565)
    assert '"purchase_amount":1234.565,' in response.text
    purchase = stored(sandbox, response.json()["purchase"]["id"])
    assert purchase["purchase_amount"] == "1234.565"
    # 10 % of 1234.565 = 123.4565, rounded half-up to cents
    assert rewards_of(purchase) == {USD_FIXED_50: "50.00", USD_PERCENT_10: "123.46"}


def test_date_defaults_to_now_on_create_purchase(client, sandbox):
    purchase = create(client, sandbox, purchase_amount=1).json()["purchase"]
    assert purchase["date"] == purchase["created_at"]


@pytest.mark.parametrize(
    ("amount", "expected"),
    [
        pytest.param(0.05, {USD_FIXED_50: "50.00", USD_PERCENT_10: "0.01"}, id="half-up-cent"),
        pytest.param(0.04, {USD_FIXED_50: "50.00"}, id="percentage-rounds-to-zero"),
        pytest.param(0, {USD_FIXED_50: "50.00"}, id="zero-amount-fixed-only"),
        pytest.param(None, {USD_FIXED_50: "50.00"}, id="no-amount-fixed-only"),
        pytest.param(-100, {USD_FIXED_50: "50.00"}, id="negative-amount-no-percentage"),
        pytest.param(19.99, {USD_FIXED_50: "50.00", USD_PERCENT_10: "2.00"}, id="cents"),
    ],
)
def test_reward_rules_on_all_active_purchase_triggers(client, sandbox, amount, expected):
    fields = {} if amount is None else {"purchase_amount": amount}
    response = create(client, sandbox, **fields)
    assert response.status_code == 200
    # the inactive trigger and the new_lead trigger of the channel never fire
    assert rewards_of(stored(sandbox, response.json()["purchase"]["id"])) == expected


def test_eur_channel_rewards(client, sandbox):
    response = call(
        client,
        sandbox,
        {"action": "create_purchase", "lead_id": EUR_LEAD, "purchase_amount": 333.33},
    )
    purchase = stored(sandbox, response.json()["purchase"]["id"])
    assert rewards_of(purchase) == {EUR_PERCENT_5: "16.67", EUR_FIXED_20: "20.00"}


@pytest.mark.parametrize(
    ("trigger_ids", "expected"),
    [
        pytest.param([USD_PERCENT_10], {USD_PERCENT_10: "25.00"}, id="percentage-only"),
        pytest.param([USD_FIXED_50, USD_FIXED_50], {USD_FIXED_50: "50.00"}, id="duplicates"),
        pytest.param([], {}, id="empty-list-fires-nothing"),
        pytest.param([USD_FIXED_50.upper()], {USD_FIXED_50: "50.00"}, id="uppercase-uuid"),
    ],
)
def test_trigger_ids_subset(client, sandbox, trigger_ids, expected):
    response = create(client, sandbox, purchase_amount=250, trigger_ids=trigger_ids)
    assert response.status_code == 200
    assert rewards_of(stored(sandbox, response.json()["purchase"]["id"])) == expected


@pytest.mark.parametrize(
    ("trigger_id", "reason"),
    [
        pytest.param(USD_INACTIVE, "inactive", id="inactive"),
        pytest.param(USD_NEW_LEAD, "not a purchase trigger", id="new-lead-trigger"),
        pytest.param(EUR_FIXED_20, "not on the lead's channel", id="other-channel"),
        pytest.param("00000000-0000-4000-8000-000000000000", "not found", id="unknown"),
        pytest.param("not-a-uuid", "not found", id="malformed"),
    ],
)
def test_invalid_trigger_id_is_400_and_creates_nothing(client, sandbox, trigger_id, reason):
    before = len(sandbox.purchases())
    response = create(client, sandbox, purchase_amount=10, trigger_ids=[USD_FIXED_50, trigger_id])
    assert response.status_code == 400
    assert response.json() == {"error": f"Invalid trigger id {trigger_id}: {reason}"}
    assert len(sandbox.purchases()) == before


@pytest.mark.parametrize(
    ("fields", "status", "error"),
    [
        pytest.param({"lead_id": None}, 400, "lead_id required", id="lead-null"),
        pytest.param({"lead_id": ""}, 400, "lead_id required", id="lead-empty"),
        pytest.param({"lead_id": FABRIKAM_LEAD}, 403, "Lead not accessible", id="foreign-channel"),
        pytest.param({"lead_id": "nope"}, 403, "Lead not accessible", id="malformed-lead"),
        pytest.param({"lead_id": 42}, 403, "Lead not accessible", id="number-lead"),
        pytest.param(
            {"lead_id": "00000000-0000-4000-8000-000000000000"},
            403,
            "Lead not accessible",
            id="unknown-lead",
        ),
        pytest.param(
            {"purchase_amount": "100"}, 400, "purchase_amount must be a number", id="amount-text"
        ),
        pytest.param(
            {"purchase_amount": True}, 400, "purchase_amount must be a number", id="amount-bool"
        ),
        pytest.param(
            {"purchase_amount": [1]}, 400, "purchase_amount must be a number", id="amount-list"
        ),
        pytest.param(
            {"date": "21/04/2026"},
            400,
            "Invalid date: use an ISO 8601 timestamp such as 2026-04-21T10:00:00Z",
            id="date-not-iso",
        ),
        pytest.param(
            {"date": 1764251193514},
            400,
            "Invalid date: use an ISO 8601 timestamp such as 2026-04-21T10:00:00Z",
            id="date-epoch-ms",
        ),
        pytest.param(
            {"trigger_ids": USD_FIXED_50},
            400,
            "trigger_ids must be an array of trigger ids",
            id="trigger-ids-not-list",
        ),
        pytest.param({"product_name": 5}, 400, "product_name must be a string", id="name-number"),
        pytest.param(
            {"purchase_amount": 1e300}, 400, "purchase_amount is out of range", id="amount-huge"
        ),
        pytest.param(
            {"product_id": FABRIKAM_PRODUCT},
            403,
            "Product not found or not owned by your company",
            id="foreign-product",
        ),
        pytest.param(
            {"product_id": "00000000-0000-4000-8000-000000000000"},
            403,
            "Product not found or not owned by your company",
            id="unknown-product",
        ),
    ],
)
def test_create_purchase_errors(client, sandbox, fields, status, error):
    before = len(sandbox.purchases())
    fields = {"lead_id": USD_LEAD, "purchase_amount": 10, **fields}
    assert answer(client, sandbox, "create_purchase", **fields) == (status, {"error": error})
    assert len(sandbox.purchases()) == before


def test_missing_lead_id_key(client, sandbox):
    reply = answer(client, sandbox, "create_purchase", purchase_amount=1)
    assert reply == (400, {"error": "lead_id required"})


def test_other_company_sees_its_own_channels(sandbox):
    with httpx.Client(headers={"X-Api-Key": CONTOSO_KEY}, trust_env=False) as contoso:
        response = create(contoso, sandbox, lead_id=FABRIKAM_LEAD, purchase_amount=1)
        assert response.status_code == 200
        purchase = stored(sandbox, response.json()["purchase"]["id"])
        assert purchase["company_id"] == CONTOSO
        assert rewards_of(purchase) == {FABRIKAM_FIXED_100: "100.00"}


# --- create_purchase: older shape, create_purchase_custom -----------------------------------


def test_create_purchase_older_shape_with_product(client, sandbox):
    response = create(
        client,
        sandbox,
        product_id=PRO_PLAN,
        purchase_amount=12500,
        date="2025-04-01T00:00:00.000Z",
        description="Annual subscription",
    )
    assert response.status_code == 200
    purchase = response.json()["purchase"]
    assert response.json() == {
        "purchase": {
            "id": purchase["id"],
            "created_at": purchase["created_at"],
            "leads_id": USD_LEAD,
            "products_id": PRO_PLAN,
            "purchase_amount": 12500,
            "date": "2025-04-01T00:00:00.000Z",
            "description": "Annual subscription",
        }
    }
    row = stored(sandbox, purchase["id"])
    assert (row["product_id"], row["name"], row["description"]) == (
        PRO_PLAN,
        "Pro plan",
        "Annual subscription",
    )
    assert rewards_of(row) == {USD_FIXED_50: "50.00", USD_PERCENT_10: "1250.00"}


def test_create_purchase_custom_exact_reply(client, sandbox):
    response = call(
        client,
        sandbox,
        {
            "action": "create_purchase_custom",
            "lead_id": USD_LEAD,
            "product_name": "Enterprise plan",
            "product_description": "12-month enterprise subscription",
            "purchase_amount": 24000,
            "trigger_ids": [USD_PERCENT_10],
        },
    )
    assert response.status_code == 200
    purchase = response.json()["purchase"]
    assert response.json() == {
        "purchase": {
            "id": purchase["id"],
            "created_at": purchase["created_at"],
            "leads_id": USD_LEAD,
            "name": "Enterprise plan",
            "description": "12-month enterprise subscription",
            "purchase_amount": 24000,
            "date": None,
        }
    }
    row = stored(sandbox, purchase["id"])
    assert row["action"] == "create_purchase_custom"
    assert rewards_of(row) == {USD_PERCENT_10: "2400.00"}


@pytest.mark.parametrize(
    ("fields", "status", "error"),
    [
        pytest.param({}, 400, "lead_id required", id="no-lead"),
        pytest.param({"lead_id": FABRIKAM_LEAD}, 403, "Lead not accessible", id="foreign"),
        pytest.param(
            {"lead_id": USD_LEAD, "trigger_ids": [USD_INACTIVE]},
            400,
            f"Invalid trigger id {USD_INACTIVE}: inactive",
            id="inactive-trigger",
        ),
    ],
)
def test_create_purchase_custom_errors(client, sandbox, fields, status, error):
    assert answer(client, sandbox, "create_purchase_custom", **fields) == (status, {"error": error})


# --- reads -----------------------------------------------------------------------------------


def test_get_lead_by_id(client, sandbox):
    response = call(client, sandbox, {"action": "get_lead_by_id", "lead_id": USD_LEAD})
    assert response.status_code == 200
    assert response.json() == {
        "lead": {
            **OLIVIA,
            "channels_id": USD_CHANNEL,
            "lead_status_id": "7f959b1e-33ba-56ae-8e0a-9e4dbcc243ff",
            "lead_status": {"id": "7f959b1e-33ba-56ae-8e0a-9e4dbcc243ff", "status": "Qualified"},
            "property_values": [],
        }
    }


@pytest.mark.parametrize(
    ("fields", "status", "error"),
    [
        pytest.param({}, 400, "lead_id required", id="missing"),
        pytest.param({"lead_id": FABRIKAM_LEAD}, 403, "Lead not accessible", id="foreign"),
        pytest.param({"lead_id": "x"}, 403, "Lead not accessible", id="malformed"),
    ],
)
def test_get_lead_by_id_errors(client, sandbox, fields, status, error):
    assert answer(client, sandbox, "get_lead_by_id", **fields) == (status, {"error": error})


def test_get_lead_by_legacy_id(client, sandbox):
    response = call(client, sandbox, {"action": "get_lead_by_legacy_id", "legacy_id": 2001})
    assert response.status_code == 200
    assert response.json() == {
        "lead": {
            "id": EUR_LEAD,
            "legacy_id": 2001,
            "created_at": "2026-09-18T09:00:00.000Z",
            "email": "lars.nielsen@fjordtech.dk",
            "first_name": "Lars",
            "last_name": "Nielsen",
            "phone": None,
            "company_name": "Fjordtech ApS",
            "source": None,
            "employee": None,
            "status": "Qualified",
            "lead_status_id": "4a1ead35-ec53-5591-bbb1-75df514cef51",
            "notes": None,
            "business_id": None,
            "channels_id": EUR_CHANNEL,
            "property_values": [],
        }
    }


@pytest.mark.parametrize(
    ("fields", "status", "error"),
    [
        pytest.param({}, 400, "legacy_id required", id="missing"),
        pytest.param({"legacy_id": "1001"}, 400, "legacy_id must be an integer", id="text"),
        pytest.param({"legacy_id": 1001.5}, 400, "legacy_id must be an integer", id="fraction"),
        pytest.param({"legacy_id": 999999}, 404, "Lead not found", id="unknown"),
        pytest.param({"legacy_id": 3001}, 403, "Lead not accessible", id="foreign"),
    ],
)
def test_get_lead_by_legacy_id_errors(client, sandbox, fields, status, error):
    assert answer(client, sandbox, "get_lead_by_legacy_id", **fields) == (status, {"error": error})


def test_get_channels(client, sandbox):
    response = call(client, sandbox, {"action": "get_channels"})
    assert response.status_code == 200
    channels = response.json()["channels"]
    assert [c["id"] for c in channels] == [USD_CHANNEL, EUR_CHANNEL]
    assert [c["currency"] for c in channels] == ["USD", "EUR"]
    raw = next(c for c in json.loads(DEFAULT_WORLD_PATH.read_text())["channels"])
    assert channels[0] == {
        "id": USD_CHANNEL,
        "title": "Northwind x Contoso (US)",
        "created_at": "2025-03-15T10:30:00.000Z",
        "creator": NORTHWIND,
        "partner_id": CONTOSO,
        "referring_id": CONTOSO,
        "receiving_id": NORTHWIND,
        "currency": "USD",
        "no_auth_api": False,
        "property_definitions": [],
        "lead_status": raw["lead_status"],
    }


def test_get_leads_newest_first(client, sandbox):
    response = call(client, sandbox, {"action": "get_leads", "channel_id": USD_CHANNEL})
    assert response.status_code == 200
    leads = response.json()
    assert len(leads) == 8
    dates = [lead["created_at"] for lead in leads]
    assert dates == sorted(dates, reverse=True)
    assert leads[-1] == OLIVIA


def test_get_leads_caps_at_newest_100(tmp_path):
    raw = json.loads(DEFAULT_WORLD_PATH.read_text())
    for n in range(150):
        raw["leads"].append(
            {
                "id": str(uuid.UUID(int=n + 1)),
                "legacy_id": 10_000 + n,
                "email": f"lead{n}@example.com",
                "channels_id": USD_CHANNEL,
                "created_at": f"2027-01-01T00:{n // 60:02d}:{n % 60:02d}.000Z",
                "properties": {"Region": "EMEA"},
            }
        )
    world = tmp_path / "world.json"
    world.write_text(json.dumps(raw))
    with Sandbox(world=world) as sb, httpx.Client(trust_env=False) as c:
        body = {"action": "get_leads", "channel_id": USD_CHANNEL}
        leads = c.post(sb.base_url, json=body, headers={"X-Api-Key": sb.api_key}).json()
    assert len(leads) == 100
    assert leads[0]["email"] == "lead149@example.com"
    assert leads[-1]["email"] == "lead50@example.com"
    assert leads[0]["Region"] == "EMEA"


@pytest.mark.parametrize(
    ("fields", "status", "error"),
    [
        pytest.param({}, 400, "channel_id required", id="missing"),
        pytest.param({"channel_id": FABRIKAM_CHANNEL}, 403, "Channel not accessible", id="foreign"),
        pytest.param({"channel_id": "zzz"}, 403, "Channel not accessible", id="malformed"),
    ],
)
def test_get_leads_errors(client, sandbox, fields, status, error):
    assert answer(client, sandbox, "get_leads", **fields) == (status, {"error": error})


# --- transport-level errors ------------------------------------------------------------------


@pytest.mark.parametrize("action", ["get_channels", "create_purchase", "get_leads"])
@pytest.mark.parametrize("key", [None, "", "wrong", CONTOSO_KEY + "x"], ids=repr)
def test_invalid_api_key(sandbox, action, key):
    headers = {} if key is None else {"X-Api-Key": key}
    with httpx.Client(trust_env=False) as c:
        response = c.post(sandbox.base_url, json={"action": action}, headers=headers)
    assert (response.status_code, response.json()) == (401, {"error": "Invalid API key"})


def test_header_name_is_case_insensitive(sandbox):
    with httpx.Client(trust_env=False) as c:
        body = {"action": "get_channels"}
        response = c.post(sandbox.base_url, json=body, headers={"x-api-key": sandbox.api_key})
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("content", "error"),
    [
        pytest.param(b"{not json", "Invalid JSON body", id="malformed"),
        pytest.param(b"", "Invalid JSON body", id="empty"),
        pytest.param(b'{"action": "create_purchase", "purchase_amount": NaN}', "Invalid JSON body"),
        pytest.param(b"[1, 2]", "Request body must be a JSON object", id="array"),
        pytest.param(b"{}", "action required", id="missing-action"),
        pytest.param(b'{"action": "fly"}', "Unknown action: fly", id="unknown-action"),
        pytest.param(b'{"action": 7}', "Unknown action: 7", id="number-action"),
        pytest.param(b'{"action": ["a"]}', 'Unknown action: ["a"]', id="list-action"),
        pytest.param(
            b'{"action": "create_lead"}',
            "Action not supported by the sandbox: create_lead",
            id="documented-but-not-emulated",
        ),
    ],
)
def test_bad_requests(client, sandbox, content, error):
    response = client.post(sandbox.base_url, content=content)
    assert (response.status_code, response.json()) == (400, {"error": error})


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_wrong_method(client, sandbox, method):
    response = client.request(method, sandbox.base_url)
    assert response.status_code == 400
    assert response.json() == {"error": "Only POST is supported: send a JSON body"}


def test_unknown_path_is_404(client, sandbox):
    response = client.post(sandbox.root_url + "/functions/v1/other", json={})
    assert (response.status_code, response.json()) == (404, {"error": "Not found"})


def test_older_base_path_is_served(client, sandbox):
    assert sandbox.legacy_base_url.endswith("/functions/v1/openapi-operations")
    response = client.post(sandbox.legacy_base_url, json={"action": "get_channels"})
    assert response.status_code == 200
    response = client.post(
        sandbox.legacy_base_url,
        json={"action": "create_purchase", "lead_id": USD_LEAD, "product_id": PRO_PLAN},
    )
    assert response.status_code == 200
    assert response.json()["purchase"]["products_id"] == PRO_PLAN


# --- persistence, stats ----------------------------------------------------------------------


def test_purchases_survive_a_restart(tmp_path):
    db = tmp_path / "sandbox.db"
    body = {"action": "create_purchase", "lead_id": USD_LEAD, "purchase_amount": 99.95}
    with Sandbox(db=db) as sb, httpx.Client(trust_env=False) as c:
        first = c.post(sb.base_url, json=body, headers={"X-Api-Key": sb.api_key}).json()
        before = sb.purchases()
    with Sandbox(db=db) as sb, httpx.Client(trust_env=False) as c:
        assert sb.purchases() == before
        second = c.post(sb.base_url, json=body, headers={"X-Api-Key": sb.api_key}).json()
        after = sb.purchases()
        assert sb.stats()["purchases"] == 2
    assert [p["id"] for p in after] == [first["purchase"]["id"], second["purchase"]["id"]]
    assert rewards_of(after[0]) == {USD_FIXED_50: "50.00", USD_PERCENT_10: "10.00"}


@pytest.mark.parametrize("kind", ["memory", "file"])
def test_both_stores_keep_the_same_purchases(tmp_path, kind):
    """The in-memory store (default) and the SQLite file store answer alike."""
    store = open_store(None if kind == "memory" else tmp_path / "s.db")
    assert type(store) is (MemoryStore if kind == "memory" else SqliteStore)
    common = {"company_id": NORTHWIND, "action": "create_purchase", "created_at": "2026-11-23"}
    first = {
        **common,
        "id": "p1",
        "lead_id": USD_LEAD,
        "purchase_amount": "1234.50",
        "date": "2026-11-01T00:00:00.000Z",
        "name": "Plan",
        "description": None,
        "product_id": None,
    }
    second = {**first, "id": "p2", "purchase_amount": None, "name": None, "product_id": PRO_PLAN}
    store.add_purchase(first, [(USD_FIXED_50, "50.00"), (USD_PERCENT_10, "123.45")])
    store.add_purchase(second, [])
    assert store.purchase_count == 2
    assert store.counts() == {"purchases": 2, "events": 2, "rewards": 2}
    assert store.purchases() == [
        {
            **first,
            "rewards": [
                {"trigger_id": USD_FIXED_50, "amount": "50.00"},
                {"trigger_id": USD_PERCENT_10, "amount": "123.45"},
            ],
        },
        {**second, "rewards": []},
    ]
    fields = "id lead_id purchase_amount date name description product_id action created_at"
    assert list(store.purchases()[0]) == [*fields.split(), "company_id", "rewards"]
    store.close()


def test_stats_count_requests_and_creates():
    with Sandbox() as sb, httpx.Client(headers={"X-Api-Key": DEMO_API_KEY}) as c:
        c.post(sb.base_url, json={"action": "get_channels"})
        c.post(sb.base_url, json={"action": "create_purchase", "lead_id": USD_LEAD})
        c.post(sb.base_url, json={"action": "create_purchase_custom", "lead_id": FABRIKAM_LEAD})
        stats = sb.stats()
    assert isinstance(stats.pop("cpu_seconds"), float)
    assert stats == {
        "requests": 3,
        "create_calls": 2,
        "rate_limited": 0,
        "purchases": 1,
        "events": 1,
        "rewards": 1,
        "faults": {},
        "statuses": {"200": 2, "403": 1},
    }
