"""The serialised payload is part of a purchase's identity in the ledger: its bytes never change.

The expected bytes were written by the first implementation (json.dumps with Decimal
placeholders), but for amounts, in one form since ledger schema 2 (``importer.ledger.upgrade``
gives older rows their new identities); a faster serialiser must give exactly the same, or a
resumed run would send rows an earlier run created.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from importer.records import PurchaseRecord, dumps_payload, format_instant

LEAD = "47378190-96da-4dac-b2ff-5d2a386ecbe0"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        pytest.param(
            {"action": "create_purchase", "lead_id": LEAD, "purchase_amount": Decimal("1500.00"),
             "product_name": "Pro plan", "date": "2026-04-21T10:00:00Z"},
            b'{"action":"create_purchase","lead_id":"47378190-96da-4dac-b2ff-5d2a386ecbe0",'
            b'"purchase_amount":1500.00,"product_name":"Pro plan","date":"2026-04-21T10:00:00Z"}',
            id="plain",
        ),
        pytest.param(
            {"action": "create_purchase", "lead_id": "x", "purchase_amount": Decimal("1E+3"),
             "product_name": 'Ünï "q" \\ \t\n ☃ 😀', "product_description": "\x00\u2028"},
            b'{"action":"create_purchase","lead_id":"x","purchase_amount":1000.00,"product_name":'
            b'"\\u00dcn\\u00ef \\"q\\" \\\\ \\t\\n \\u2603 \\ud83d\\ude00","product_description":'
            b'"\\u0000\\u2028"}',
            id="exponent-and-escapes",
        ),
        pytest.param(
            {"action": "create_purchase", "lead_id": "x", "trigger_ids": ["a", "b\u00e9"],
             "n": None, "flag": True, "count": 3},
            b'{"action":"create_purchase","lead_id":"x","trigger_ids":["a","b\\u00e9"],"n":null,'
            b'"flag":true,"count":3}',
            id="triggers-and-other-values",
        ),
    ],
)  # fmt: skip
def test_payload_bytes_are_pinned(body, expected):
    assert dumps_payload(body) == expected


def test_an_instant_is_written_in_utc_whatever_its_zone():
    noon_in_paris = datetime(2026, 3, 1, 12, tzinfo=timezone(timedelta(hours=1)))
    assert format_instant(datetime(2026, 3, 1, 11, tzinfo=UTC)) == "2026-03-01T11:00:00Z"
    assert format_instant(noon_in_paris) == "2026-03-01T11:00:00Z"  # same instant, same text
    record = PurchaseRecord(row=2, lead_id=LEAD, date=datetime(2026, 3, 1, 0, 0, 0, 5, tzinfo=UTC))
    assert record.payload()["date"] == "2026-03-01T00:00:00.000005Z"
