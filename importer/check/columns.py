"""Parse the values of one column, each distinct value once, with fast paths for plain forms."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from decimal import Decimal

from importer.check import normalise

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


#: Whole cells a database dump writes for "no value".
NULL_MARKS = frozenset({"NULL", "null", "\\N"})
SEPARATOR = "\x1f"  # joins a column into one string for a single regex pass


class ColumnParser:
    """Parses the distinct values of a column once, remembering them across chunks (bounded).

    ``fast`` is an optional (pattern, convert) pair for the plain form most values take
    ("1500.00", a canonical UUID). When every value of a chunk has that form (one regex pass
    over the joined column proves it), the values are converted by C-level map() with no set
    or cache work; otherwise the plain ones are still converted without the general parser,
    which then sees only the unusual values.
    """

    def __init__(
        self,
        parse: Callable[[str], object],
        fast: tuple[re.Pattern[str], Callable[[str], object]] | None = None,
        limit: int = CACHE_LIMIT,
    ) -> None:
        self.parse = parse
        self.fast = fast
        self.limit = limit
        self.values: dict[str, object] = {}
        self.failures: dict[str, str] = {}
        if fast is not None:
            self._plain_run = plain_run(fast[0].pattern)

    def run(self, values: Sequence[str]) -> tuple[list[object], set[str], dict[str, str]]:
        """Per-row parsed values (``MISSING`` where parsing failed), the distinct values not
        of the plain form, and value -> reason for those that failed."""
        if self.fast is not None and values:
            blob = SEPARATOR.join(values)
            # The count proves no value holds the separator itself.
            if blob.count(SEPARATOR) == len(values) - 1:
                if self._plain_run.fullmatch(blob):
                    return list(map(self.fast[1], values)), set(), {}
                # Many unusual cells: the distinct-value path with its cache is better.
                unusual = unusual_cells(self._plain_run, blob, limit=len(values) // 8)
                if unusual is not None:
                    return self._run_mostly_plain(values, unusual)
        return self._run_distinct(values)

    def _run_mostly_plain(self, values: Sequence[str], unusual: list[int]):
        """Convert the plain cells in one map(); parse only the unusual ones."""
        self._trim_cache()
        odd = {i: values[i] for i in unusual}
        cells = list(values)
        stand_in = next(values[i] for i in range(len(values)) if i not in odd)
        for i in odd:
            cells[i] = stand_in
        parsed = list(map(self.fast[1], cells))
        distinct = set(odd.values())
        failures = self._parse_new(distinct)
        for i, value in odd.items():
            parsed[i] = self.values[value]
        return parsed, distinct, failures

    def _run_distinct(self, values: Sequence[str]):
        """Parse each distinct value once (cached across chunks)."""
        self._trim_cache()
        distinct = set(values)
        if self.fast is not None:
            pattern, convert = self.fast
            plain = list(filter(pattern.fullmatch, distinct.difference(self.values)))
            self.values.update(zip(plain, map(convert, plain), strict=True))
            distinct.difference_update(plain)
        failures = self._parse_new(distinct)
        return list(map(self.values.__getitem__, values)), distinct, failures

    def _trim_cache(self) -> None:
        if len(self.values) > self.limit:
            self.values.clear()
            self.failures.clear()

    def _parse_new(self, distinct: set[str]) -> dict[str, str]:
        """Parse the values not yet known; value -> reason for those of ``distinct`` that fail."""
        known = self.values
        for value in distinct.difference(known):
            if not value.strip():
                known[value] = None
                continue
            try:
                known[value] = self.parse(value)
            except ValueError as exc:
                self.failures[value] = str(exc)
                known[value] = MISSING
        return {v: self.failures[v] for v in distinct & self.failures.keys()}


def plain_run(form: str) -> re.Pattern[str]:
    """The longest run of whole cells of a plain ``form`` from a position of a column joined
    with SEPARATOR (fullmatch: every cell is plain)."""
    cell = f"(?:{form})(?={SEPARATOR}|\\Z)"
    return re.compile(f"{cell}(?:{SEPARATOR}{cell})*")


def unusual_cells(run: re.Pattern[str], blob: str, *, limit: int | None = None) -> list[int] | None:
    """Indexes of the cells of a joined column (``blob``) not of the plain form whose runs
    ``run`` matches (see :func:`plain_run`), or None when there are more than ``limit``.

    Runs of plain cells are consumed by one regex match each; only the unusual cells between
    them cost a Python step.
    """
    found: list[int] = []
    cell, at, end = 0, 0, len(blob)
    while True:
        match = run.match(blob, at)
        if match is not None:
            cell += blob.count(SEPARATOR, at, match.end()) + 1
            if match.end() == end:
                return found
            at = match.end() + 1  # past the separator: an unusual cell starts here
        found.append(cell)
        if limit is not None and len(found) > limit:
            return None
        at = blob.find(SEPARATOR, at)
        if at < 0:
            return found
        at += 1
        cell += 1


class TextColumn:
    """Free text (names, references): nothing can fail and values rarely repeat, so no cache."""

    def run(self, values: Sequence[str]) -> tuple[list[object], set[str], dict[str, str]]:
        """Per-row values, unusual distinct values (the cells that are a database's NULL
        mark, when there are any), and failures (none)."""
        blob = "".join(values)
        marked = "NULL" in blob or "\\N" in blob or "null" in blob
        unusual = set(values) & NULL_MARKS if marked else set()
        if not blob.isascii() and any(char in blob for char in normalise.UNUSUAL_BLANKS):
            return list(map(normalise.parse_text, values)), unusual, {}
        return [text or None for text in map(str.strip, values)], unusual, {}
