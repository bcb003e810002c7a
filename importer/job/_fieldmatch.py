"""Stand-in for check.mapping.FieldMatch / match_fields until that lands on main (temporary)."""

from __future__ import annotations

from dataclasses import dataclass

from importer.check.mapping import resolve_columns
from importer.errors import MappingError
from importer.read.headers import fold_header
from importer.records import FIELDS


@dataclass(frozen=True)
class FieldMatch:
    """Which column (if any) feeds one purchase field, how sure the match is, and why."""

    field: str
    column: str | None
    confidence: str
    note: str


def match_fields(
    headers: list[str], samples: dict[str, list[str]], explicit: dict[str, str]
) -> list[FieldMatch]:
    """One FieldMatch per field of records.FIELDS, in that order (never raises)."""
    try:
        found = resolve_columns(headers, {k: v for k, v in explicit.items() if v})
    except MappingError:
        found = {}
    matches = []
    for name in FIELDS:
        column = found.get(name)
        if column is None or explicit.get(name) == "":
            matches.append(FieldMatch(name, None, "none", "no column found"))
            continue
        exact = name in explicit or fold_header(column) == fold_header(name)
        how = "your mapping" if name in explicit else "the header"
        confidence = "exact" if exact else "synonym"
        matches.append(FieldMatch(name, column, confidence, f"{column!r} (from {how})"))
    return matches
