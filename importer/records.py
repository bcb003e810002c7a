"""The purchase record, row statuses and per-row results shared by every stage."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from functools import lru_cache
from json.encoder import encode_basestring_ascii as _quote
from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator

from importer.fields import (
    PURCHASE_FIELDS,
    PurchaseField,
    field_labels,
    field_names,
    sent_fields,
)

#: Fields a column can be mapped to (declared in :mod:`importer.fields`).
FIELDS: tuple[str, ...] = field_names(PURCHASE_FIELDS)

#: Each field in words, as a finance user calls it (the web app shows its API name beside).
FIELD_LABELS: dict[str, str] = field_labels(PURCHASE_FIELDS)

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
        catalog = bool(self.product_id)  # the catalog shape names some keys its own way
        values = self.__dict__  # pydantic keeps the fields here: read once, not per getattr
        for name, key, catalog_key, form in SENT:
            value = values[name]
            if value is None or (not value and type(value) is not Decimal):
                continue  # an empty cell is never sent (an amount of 0 is)
            body[catalog_key if catalog else key] = value if form is None else form(value)
        return body


def record_maker(names: Sequence[str]) -> Callable[[Sequence[Any]], PurchaseRecord]:
    """A function building the PurchaseRecord of values already checked, given in the order of
    ``names`` (other fields keep their defaults), validating nothing: what ``model_construct``
    (or ``model_copy(update=...)`` of a blank record) gives, at a quarter of the cost. The send
    pass builds one per valid row before its first request (9 us a row through model_copy)."""
    blank = PurchaseRecord.model_construct(row=0)
    defaults = dict(blank.__dict__)
    fields_set = set(blank.model_fields_set) | set(names)
    new, set_slot = PurchaseRecord.__new__, object.__setattr__

    def make(values: Sequence[Any]) -> PurchaseRecord:
        # The attributes pydantic's own BaseModel.__copy__ sets (a test compares the two).
        record = new(PurchaseRecord)
        state = defaults.copy()
        state.update(zip(names, values, strict=True))
        set_slot(record, "__dict__", state)
        set_slot(record, "__pydantic_extra__", None)
        set_slot(record, "__pydantic_fields_set__", fields_set.copy())
        set_slot(record, "__pydantic_private__", None)
        return record

    return make


@lru_cache(maxsize=4096)
def format_instant(value: datetime) -> str:
    """ISO-8601 UTC with a Z suffix, e.g. ``2026-04-21T10:00:00Z``."""
    # Cached: a file's purchases share a few hundred dates, and strftime is a third of a payload.
    utc = value.astimezone(UTC)
    if utc.microsecond:
        return utc.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return utc.strftime("%Y-%m-%dT%H:%M:%SZ")


#: How a value is written in the body, by the parser that read it: a date as an instant, a
#: list of ids as a list; other values as they are.
#: How a parsed value is written in the body. Trigger ids are a set to Keen: sent (and so
#: identified) sorted, whatever order the file and --trigger-id gave them in.
_JSON_FORMS: dict[str, Callable[[Any], object]] = {"date": format_instant, "uuid_list": sorted}
Sent = tuple[str, str, str, Callable[[Any], object] | None]


def payload_plan(fields: Sequence[PurchaseField]) -> tuple[Sent, ...]:
    """(field, body key, body key in the catalog shape, JSON form or None) of the fields sent
    besides the lead, in the order of the body's keys (:func:`importer.fields.sent_fields`)."""
    return tuple(
        (f.name, f.payload_key, f.catalog_key or f.payload_key, _JSON_FORMS.get(f.parser))
        for f in sent_fields(fields)
        if f.name != "lead_id" and f.payload_key is not None
    )


#: What :meth:`PurchaseRecord.payload` sends, derived once from the registry.
SENT: tuple[Sent, ...] = payload_plan(PURCHASE_FIELDS)


_CENTS = Decimal("0.01")


def dumps_payload(body: dict) -> bytes:
    """Serialise a payload to JSON, writing Decimals as exact JSON numbers (no float round trip).

    The bytes are those of ``json.dumps(body, separators=(",", ":"))`` with each Decimal written
    by :func:`format_decimal`: they identify a purchase in the ledger, so they never change. Text is
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
    """A Decimal as a plain JSON number in fixed notation, in the one form an amount is sent
    and identified by: two decimal places, more only when it has them (``Decimal("1500")`` ->
    ``1500.00``, ``Decimal("99.5")`` -> ``99.50``, ``Decimal("1E+3")`` -> ``1000.00``,
    ``Decimal("12.345")`` -> ``12.345``). The file's ``1500``, ``1500.0`` and ``1500.00`` are
    one purchase: a file saved again by Excel must find the purchase it created."""
    text = format(value, "f")
    if text[-3:-2] == ".":
        return text  # the usual cell, 1234.50
    cents = value.quantize(_CENTS)
    return format(cents if cents == value else value.normalize(), "f")


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
