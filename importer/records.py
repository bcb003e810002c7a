"""The purchase record, row statuses and per-row results shared by every stage."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from functools import lru_cache
from json.encoder import encode_basestring_ascii as _quote

from pydantic import BaseModel, ConfigDict, field_validator

#: Fields a column can be mapped to.
FIELDS: tuple[str, ...] = (
    "lead_id",
    "legacy_lead_id",
    "purchase_amount",
    "date",
    "product_id",
    "product_name",
    "product_description",
    "trigger_ids",
    "reference",
    "currency",
)

#: Each field in words, as a finance user calls it (the web app shows its API name beside).
FIELD_LABELS: dict[str, str] = {
    "lead_id": "Lead ID",
    "legacy_lead_id": "Legacy lead ID",
    "purchase_amount": "Amount",
    "date": "Date",
    "product_id": "Product ID",
    "product_name": "Product name",
    "product_description": "Product description",
    "trigger_ids": "Trigger IDs",
    "reference": "Reference",
    "currency": "Currency",
}

#: Columns the results file appends to every input row, in this order.
RESULT_COLUMNS: tuple[str, ...] = (
    "row",
    "status",
    "purchase_id",
    "http_status",
    "error",
    "attempts",
    "warnings",
)


class RowStatus(StrEnum):
    """Where a row stands. validate uses the first three; run uses the rest as well."""

    VALID = "valid"
    INVALID = "invalid"
    SKIPPED = "skipped"
    CREATED = "created"
    REJECTED = "rejected"
    RETRIED = "retried"  # transient failures exhausted --max-retries; safe to send again
    UNCONFIRMED = "unconfirmed"  # the request may have been processed; not resent automatically
    NOT_SENT = "not_sent"  # valid, but the run stopped before sending it (401, Ctrl-C)


class PurchaseRecord(BaseModel):
    """One validated purchase, ready to become a create_purchase payload.

    ``row`` is the spreadsheet row number the user sees (header = row 1).
    ``date`` is always timezone-aware UTC. ``purchase_amount`` stays a Decimal until serialised.
    """

    model_config = ConfigDict(frozen=True)

    row: int
    lead_id: str | None = None
    legacy_lead_id: int | None = None
    purchase_amount: Decimal | None = None
    date: datetime | None = None
    product_id: str | None = None
    product_name: str | None = None
    product_description: str | None = None
    trigger_ids: tuple[str, ...] = ()
    reference: str | None = None
    currency: str | None = None

    @field_validator("date")
    @classmethod
    def _date_is_aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.utcoffset() is None:
            raise ValueError("date must be timezone-aware")
        return value

    def payload(self, *, action: str = "create_purchase", lead_id: str | None = None) -> dict:
        """The JSON body for this record (only non-empty fields).

        ``lead_id`` overrides the record's own (used once a legacy id is resolved to a UUID).
        The amount stays a Decimal here; serialise with :func:`dumps_payload`.
        """
        body: dict = {"action": action, "lead_id": lead_id or self.lead_id}
        if self.purchase_amount is not None:
            body["purchase_amount"] = self.purchase_amount
        if self.product_id:
            body["product_id"] = self.product_id
        if self.product_name:
            body["product_name"] = self.product_name
        if self.product_description:
            # The catalog (product_id) shape calls it "description" (keen-api.md §2.2).
            key = "description" if self.product_id else "product_description"
            body[key] = self.product_description
        if self.date is not None:
            body["date"] = format_instant(self.date)
        if self.trigger_ids:
            body["trigger_ids"] = list(self.trigger_ids)
        return body


@lru_cache(maxsize=4096)
def format_instant(value: datetime) -> str:
    """ISO-8601 UTC with a Z suffix, e.g. ``2026-04-21T10:00:00Z``."""
    # Cached: a file's purchases share a few hundred dates, and strftime is a third of a payload.
    utc = value.astimezone(UTC)
    if utc.microsecond:
        return utc.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return utc.strftime("%Y-%m-%dT%H:%M:%SZ")


def dumps_payload(body: dict) -> bytes:
    """Serialise a payload to JSON, writing Decimals as exact JSON numbers (no float round trip).

    The bytes are those of ``json.dumps(body, separators=(",", ":"))`` with each Decimal written
    by :func:`format_decimal`: they identify a row in the journal, so they never change. Text is
    escaped by the same function json.dumps uses; other values go through json.dumps itself.
    """
    parts = []
    for key, value in body.items():
        if type(value) is str:
            text = _quote(value)
        elif isinstance(value, Decimal):
            text = format_decimal(value)
        else:
            text = json.dumps(value, separators=(",", ":"))
        parts.append(f"{_quote(key)}:{text}")
    return ("{" + ",".join(parts) + "}").encode()


def format_decimal(value: Decimal) -> str:
    """A Decimal as a plain JSON number in fixed notation (``Decimal("1E+3")`` -> ``1000``)."""
    return format(value, "f")


@dataclass
class RowResult:
    """What happened to one input row; one line of the results file."""

    row: int
    status: RowStatus
    purchase_id: str | None = None
    http_status: int | None = None
    error: str | None = None
    attempts: int = 0
    warnings: list[str] = field(default_factory=list)

    def cells(self) -> list[str]:
        """The values of :data:`RESULT_COLUMNS` as text."""
        return [
            str(self.row),
            str(self.status),
            self.purchase_id or "",
            "" if self.http_status is None else str(self.http_status),
            self.error or "",
            str(self.attempts) if self.attempts else "",
            WARNING_SEPARATOR.join(self.warnings),
        ]


#: A row's warnings share one cell of the results file, joined by this.
WARNING_SEPARATOR = "; "
#: Advice a warning itself ends with after "; " ("...converted the cell); check it").
_ADVICE = ("check ",)


def split_warnings(text: str) -> list[str]:
    """The warnings of a results file's cell, each whole: a warning's own closing advice
    ("; check it") stays with it instead of counting as a warning of its own."""
    warnings: list[str] = []
    for piece in text.split(WARNING_SEPARATOR) if text else ():
        if warnings and piece.startswith(_ADVICE):
            warnings[-1] += WARNING_SEPARATOR + piece
        else:
            warnings.append(piece)
    return warnings
