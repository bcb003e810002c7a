"""How a cell is read, for each parser the field registry names (:mod:`importer.fields`).

The registry sits at the bottom of the package and cannot import the parsers, which live here
in check/ (:mod:`importer.check.normalise`); so a field names its parser by a key and
:data:`PARSERS` is the one place a key becomes a function. Each entry makes the function of
one column from how the file is read: its column decisions, the options and the time zone of
date-only values. The validator builds its table once, when it is made, never per row.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from decimal import Decimal
from functools import partial

from importer.check import normalise
from importer.check.columns import (
    CANONICAL_UUID,
    PLAIN_COMMA_NUMBER,
    PLAIN_NUMBER,
    decimal_from_comma,
)
from importer.check.decisions import ColumnDecisions, ValidationOptions
from importer.fields import PurchaseField

__all__ = ["PARSERS", "Reading", "fast_paths", "parse_functions"]

Parse = Callable[[str], object]


@dataclass(frozen=True, slots=True)
class Reading:
    """How the file is read: what a column's parser depends on."""

    decisions: ColumnDecisions
    options: ValidationOptions
    zone: tzinfo  # the time zone of date-only values


def _uuid(name: str, reading: Reading) -> Parse:
    return partial(normalise.parse_uuid, field=name)


def _uuid_list(name: str, reading: Reading) -> Parse:
    return lambda v: normalise.parse_uuid_list(v, field=name) or None


def _amount(name: str, reading: Reading) -> Parse:
    decisions, allow = reading.decisions, reading.options.allow_precision
    return lambda v: normalise.parse_amount(
        v, decimal=decisions.decimal, allow_precision=allow, both_ways=decisions.decimal_both
    )


def _date(name: str, reading: Reading) -> Parse:
    """Dates, refused outside the --period when one is given."""
    decisions, options, zone = reading.decisions, reading.options, reading.zone
    said_day_first = decisions.day_first is True and decisions.day_first_from == "option"

    def parse(value: str) -> tuple[datetime, bool]:
        result = normalise.parse_date(
            value,
            day_first=decisions.day_first,
            tz=zone,
            both_orders=decisions.both_orders,
            date1904=decisions.date1904,
            said_day_first=said_day_first,
        )
        period = options.period
        if period is not None:
            local = result[0].astimezone(zone).date()
            if not period.contains(local):
                raise ValueError(f"date {local.isoformat()} is outside the period {period.label}")
        return result

    return parse


#: Parser key (``PurchaseField.parser``) -> the maker of a column's parse function, given the
#: field's name and how the file is read. "text" gives ``normalise.parse_text`` itself: the
#: validator reads such columns without a cache (``columns.TextColumn``).
PARSERS: dict[str, Callable[[str, Reading], Parse]] = {
    "uuid": _uuid,
    "uuid_list": _uuid_list,
    "legacy_id": lambda name, reading: normalise.parse_legacy_id,
    "amount": _amount,
    "date": _date,
    "text": lambda name, reading: normalise.parse_text,
    "currency": lambda name, reading: normalise.parse_currency,
}


def parse_functions(fields: Sequence[PurchaseField], reading: Reading) -> dict[str, Parse]:
    """Field name -> the function reading its cells, in the registry's order."""
    return {f.name: PARSERS[f.parser](f.name, reading) for f in fields}


def fast_paths(
    fields: Sequence[PurchaseField], decimal: str
) -> dict[str, tuple[re.Pattern[str], Callable[[str], object]]]:
    """Field name -> the plain form its cells usually take and its cheap conversion, for the
    fields whose parser has one (a plain value must convert to what the parser gives)."""
    amount = (PLAIN_NUMBER, Decimal) if decimal == "." else (PLAIN_COMMA_NUMBER, decimal_from_comma)
    forms = {"uuid": (CANONICAL_UUID, str), "amount": amount}
    return {f.name: forms[f.parser] for f in fields if f.parser in forms}
