"""Parse the values of one column, each distinct value once, with fast paths for plain forms."""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal

from . import normalise

# The plain forms are normalise's own fast paths, so a fast-path value parses exactly as the
# general parser would parse it.
CANONICAL_UUID = normalise.CANONICAL_UUID
PLAIN_NUMBER = normalise.PLAIN_POINT_AMOUNT
PLAIN_COMMA_NUMBER = normalise.PLAIN_COMMA_AMOUNT


def decimal_from_comma(text: str) -> Decimal:
    """'1500,25' -> Decimal('1500.25') (the comma fast path)."""
    return Decimal(text.replace(",", "."))


MISSING = object()
CACHE_LIMIT = 100_000  # distinct values remembered per column (bounded memory)
# Amounts rarely repeat across chunks: remembering them costs more than parsing them again.
CACHE_LIMITS = {"purchase_amount": 0}


class ColumnParser:
    """Parses the distinct values of a column once, remembering them across chunks (bounded).

    ``fast`` is an optional (pattern, convert) pair for the plain form most values take
    ("1500.00", a canonical UUID): those are converted by C-level map() without the general
    parser, which then sees only the unusual values.
    """

    def __init__(
        self,
        parse: Callable[[str], object],
        fast: tuple[re.Pattern[str], Callable[[str], object] | None] | None = None,
        limit: int = CACHE_LIMIT,
    ) -> None:
        self.parse = parse
        self.fast = fast
        self.limit = limit
        self.last_plain: set[str] = set()  # values of the last run that took the fast path
        self.values: dict[str, object] = {}
        self.failures: dict[str, str] = {}

    def run(self, values: list[str]) -> tuple[list[object], set[str], dict[str, str]]:
        """Per-row parsed values (``MISSING`` where parsing failed), distinct values, failures."""
        distinct = set(values)
        known = self.values
        if len(known) > self.limit:
            known.clear()
            self.failures.clear()
        new = distinct.difference(known)
        self.last_plain = set()
        if self.fast is not None and new:
            pattern, convert = self.fast
            plain = list(filter(pattern.fullmatch, new))
            if convert is None:
                known.update(dict.fromkeys(plain))
            else:
                known.update(zip(plain, map(convert, plain), strict=True))
            new.difference_update(plain)
            self.last_plain = set(plain)
        for value in new:
            if not value.strip():
                known[value] = None
                continue
            try:
                known[value] = self.parse(value)
            except ValueError as exc:
                self.failures[value] = str(exc)
                known[value] = MISSING
        failures = {v: self.failures[v] for v in distinct & self.failures.keys()}
        return list(map(known.__getitem__, values)), distinct, failures


class TextColumn:
    """Free text (names, references): nothing can fail and values rarely repeat, so no cache."""

    def run(self, values: list[str]) -> tuple[list[object], set[str], dict[str, str]]:
        """Per-row values, the distinct values, and value -> reason for the ones that failed."""
        blob = "".join(values)
        if any(char in blob for char in "\u00a0\u202f\u2009\u200b\ufeff"):
            return list(map(normalise.parse_text, values)), set(), {}
        return [text or None for text in map(str.strip, values)], set(), {}
