"""How the review grid words what a cell was read as ("1500.00 EUR", "3 April 2026").

The job hands over plain values (importer.job.model.ReadValue): the amount stays a Decimal
and is written here exactly as it is sent, never through a float.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from importer.job.model import ReadValue
from importer.records import format_decimal, format_instant

MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December")  # fmt: skip


def read_text(read: ReadValue) -> str:
    """The value as people read it: "1500.00 EUR", "3 April 2026", "3 April 2026 14:30"."""
    value = read.value
    if isinstance(value, Decimal):
        return f"{format_decimal(value)} {read.currency or ''}".rstrip()
    if isinstance(value, datetime):
        return local_date(value)
    if isinstance(value, tuple):
        return ", ".join(value)
    return str(value)


def read_title(read: ReadValue) -> str | None:
    """A date's zone and the instant sent ("in Europe/Copenhagen; sent as 2026-04-02T22:00:00Z");
    None for other values."""
    if not isinstance(read.value, datetime):
        return None
    return f"{read_text(read)} in {read.zone or 'UTC'}; sent as {format_instant(read.value)}"


def local_date(value: datetime) -> str:
    """The date as people write it, "3 April 2026", with its time when it has one
    ("3 April 2026 14:30", "3 April 2026 14:30:05")."""
    text = f"{value.day} {MONTHS[value.month - 1]} {value.year}"
    if value.second or value.microsecond:
        return f"{text} {value:%H:%M:%S}"
    if value.hour or value.minute:
        return f"{text} {value:%H:%M}"
    return text
