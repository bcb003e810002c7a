"""Choices about a whole column, taken once from the evidence of the file.

The decimal separator and day-first vs month-first are read from the values themselves (a
"2,25" proves a decimal comma, a "23/04/2026" proves day-first); options override evidence.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from importer.check import normalise
from importer.check.controls import Period
from importer.check.rowranges import LEFT_OUT, RowRanges
from importer.currencies import header_currency
from importer.errors import AmbiguousDataError, ConfigurationError
from importer.read.loader import Chunk, Table
from importer.read.numformats import PERCENT


@dataclass
class ValidationOptions:
    """How values are read and which rows are accepted."""

    day_first: bool | None = None
    decimal: str | None = None
    timezone: str = "UTC"
    allow_precision: bool = False
    allow_duplicates: bool = False
    trigger_ids: tuple[str, ...] = ()
    action: str = "create_purchase"
    now: datetime | None = None
    period: Period | None = None
    keep_null: bool = False  # NULL and \N cells stay text (default: they are empty cells)
    skip_hidden: bool = False  # rows hidden in the workbook are skipped (default: warned)
    where: tuple[str, ...] = ()  # "COLUMN=VALUE[,VALUE...]": keep only the matching rows
    skip_rows: RowRanges = field(default_factory=RowRanges)  # rows left out on purpose
    skip_reason: str = LEFT_OUT  # their reason in the results file

    def zone(self) -> ZoneInfo:
        """The time zone of date-only values (ConfigurationError when unknown)."""
        return named_zone(self.timezone)


def named_zone(name: str) -> ZoneInfo:
    """The time zone ``name`` (an IANA name); ConfigurationError when there is none."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigurationError(
            f"unknown time zone {name!r}",
            hint="use an IANA name such as UTC, Europe/Copenhagen or America/New_York",
        ) from None


MAX_EXAMPLES = 3  # example values kept as evidence or for a question


@dataclass
class Ambiguity:
    """A whole-column choice that only the user can settle (the file gives no evidence).

    ``kind`` is ``"day_first"`` or ``"decimal"``; ``examples`` are (row, value) pairs of the
    values that could be read either way.
    """

    kind: str
    column: str
    examples: list[tuple[int, str]]
    message: str
    hint: str

    def error(self) -> AmbiguousDataError:
        """The error the one-call API and the CLI raise for this open question."""
        return AmbiguousDataError(self.message, column=self.column, hint=self.hint)


@dataclass
class ColumnDecisions:
    """Per-column choices taken from the evidence of the whole file."""

    decimal: str = "."
    decimal_from: str = "default"  # "evidence", "option" or "default"
    day_first: bool | None = None
    day_first_from: str = "none"
    #: A date column written both ways: one value only day-first, one only month-first. Its
    #: day_first stays None and its ambiguous values are invalid (``normalise.parse_date``).
    both_orders: tuple[str, str] | None = None
    #: An amount column written with both decimal separators: one value with a decimal comma,
    #: one with a decimal point. Its values that read both ways ("1.500") are invalid.
    decimal_both: tuple[str, str] | None = None
    #: Serial dates count from 1904-01-01: the workbook uses the 1904 date system.
    date1904: bool = False
    currency: str | None = None  # the file's (majority) currency, when one is known
    decimal_evidence: list[str] = field(default_factory=list)
    day_first_evidence: list[str] = field(default_factory=list)
    currency_evidence: list[str] = field(default_factory=list)
    #: Choices the file leaves open (asked before any row is judged), dates first.
    ambiguities: list[Ambiguity] = field(default_factory=list)

    def raise_if_open(self) -> None:
        """AmbiguousDataError for the first choice the file leaves open (the user's question)."""
        if self.ambiguities:
            raise self.ambiguities[0].error()


def decide_columns(
    table: Table, columns: dict[str, str], options: ValidationOptions, *, chunk_size: int = 25_000
) -> ColumnDecisions:
    """Settle how to read the amount, date and currency columns; raise on an open question.

    Raises AmbiguousDataError for the first ambiguity :func:`scan_columns` finds (e.g. slash
    dates that are all like 03/04/2026).
    """
    decisions = scan_columns(table, columns, options, chunk_size=chunk_size)
    decisions.raise_if_open()
    return decisions


@dataclass
class _Scan:
    """What the evidence scan is still looking for, and what it has found so far."""

    amount_at: int | None
    date_at: int | None
    currency_at: int | None
    need_decimal: bool
    need_day: bool
    ambiguous_dates: list[tuple[int, str]] = field(default_factory=list)
    dotted_amounts: list[tuple[int, str]] = field(default_factory=list)  # "1.500": 1500 or 1.5?
    currency_counts: Counter[str] = field(default_factory=Counter)


def scan_columns(
    table: Table, columns: dict[str, str], options: ValidationOptions, *, chunk_size: int = 25_000
) -> ColumnDecisions:
    """Scan the amount, date and currency columns for evidence and settle how to read them.

    The scan stops as soon as every decision is settled (usually within the first chunk); only
    a date column that stays ambiguous is read to the end. The currency majority taken here is
    provisional: callers compare it with :meth:`RowValidator.majority_currency` after the full
    pass and run again in the rare file where the first chunk was not representative.
    Choices the file cannot settle are listed in ``ambiguities`` (nothing is raised).
    """
    decisions = ColumnDecisions(date1904=table.date1904)
    if options.decimal:
        decisions.decimal, decisions.decimal_from = options.decimal, "option"
    if options.day_first is not None:
        decisions.day_first, decisions.day_first_from = options.day_first, "option"
    index = {name: table.headers.index(header) for name, header in columns.items()}
    scan = _Scan(
        amount_at=index.get("purchase_amount"),
        date_at=index.get("date"),
        currency_at=index.get("currency"),
        need_decimal=index.get("purchase_amount") is not None
        and decisions.decimal_from == "default",
        need_day=index.get("date") is not None and decisions.day_first is None,
    )
    for number, chunk in enumerate(table.chunks(chunk_size)):
        if scan.need_decimal:
            _scan_amounts(chunk, scan, decisions)
        if scan.need_day:
            _scan_dates(chunk, scan, decisions, options)
        if scan.currency_at is not None:
            _count_currencies(chunk, scan, decisions)
        elif scan.amount_at is not None and number == 0:
            header = header_currency(columns["purchase_amount"])
            _count_amount_marks(chunk, scan.amount_at, header, scan.currency_counts)
        if not scan.need_decimal and not scan.need_day:
            break  # the currency majority is confirmed (or corrected) by the full pass
    _list_ambiguities(scan, columns, decisions)
    if scan.currency_counts:
        decisions.currency = sole_majority(scan.currency_counts)
    return decisions


def _scan_amounts(chunk: Chunk, scan: _Scan, decisions: ColumnDecisions) -> None:
    assert scan.amount_at is not None
    column = chunk.column(scan.amount_at)
    values = _text_cells(chunk, scan.amount_at)
    found = normalise.detect_decimal_separator(values)
    both = normalise.both_separators(v for v in dict.fromkeys(column) if v in values)
    if both is not None:
        # No separator fits every row: "1.500" is 1500 to one writer and 1.5 to the other.
        decisions.decimal_both, scan.need_decimal = both, False
    if found:
        decisions.decimal, decisions.decimal_from = found, "evidence"
        decisions.decimal_evidence = _examples(
            column, lambda v: normalise.detect_decimal_separator((v,)) == found
        )
        scan.need_decimal = False
    elif not scan.dotted_amounts:
        dotted = {v for v in values if "." in v}  # most values have none
        telling = {v for v in dotted if normalise.grouping_or_decimals(v) == "."}
        scan.dotted_amounts = _with_rows(chunk, scan.amount_at, telling)


def _scan_dates(
    chunk: Chunk, scan: _Scan, decisions: ColumnDecisions, options: ValidationOptions
) -> None:
    assert scan.date_at is not None
    column = chunk.column(scan.date_at)
    values = {v for v in column if v.strip()}
    found = normalise.detect_day_first(values)
    if found is not None:
        decisions.day_first, decisions.day_first_from = found, "evidence"
        decisions.day_first_evidence = _examples(
            column, lambda v: normalise.detect_day_first((v,)) is found
        )
        scan.need_day = False
    elif (both := normalise.both_orders(dict.fromkeys(column))) is not None:
        # No answer to "day-first or month-first?" fits every row: no question, each
        # unambiguous value keeps its only reading and the ambiguous ones are invalid.
        decisions.both_orders, decisions.day_first_from = both, "evidence"
        decisions.day_first_evidence = list(both)
        scan.need_day = False
    elif not scan.ambiguous_dates:
        ambiguous = _ambiguous_dates(values, options)
        if not ambiguous:
            # Nothing here needs the choice (e.g. ISO dates): stop looking. A rare
            # ambiguous value further down becomes an invalid row naming --day-first.
            scan.need_day = False
        scan.ambiguous_dates = _with_rows(chunk, scan.date_at, ambiguous)


def _count_currencies(chunk: Chunk, scan: _Scan, decisions: ColumnDecisions) -> None:
    assert scan.currency_at is not None
    column = chunk.column(scan.currency_at)
    for value, count in Counter(column).items():
        with contextlib.suppress(ValueError):
            code = normalise.parse_currency(value)
            scan.currency_counts[code] += count
            if len(decisions.currency_evidence) < MAX_EXAMPLES:
                decisions.currency_evidence.append(value)


def _count_amount_marks(chunk: Chunk, at: int, header: str | None, counts: Counter[str]) -> None:
    """Count the currencies the first chunk's amounts name ("1.500,00 €", a number format
    showing one, the column's header), when no column names them: the full pass then starts
    from the file's currency rather than judging every row again."""
    if header:
        counts[header] += len(chunk.rows)
    shown = chunk.shown_currencies.get(at, {})
    counts.update(code for code in shown.values() if code != PERCENT)
    for value, times in Counter(chunk.column(at)).items():
        if (code := normalise.amount_currency(value)) is not None:
            counts[code] += times


def _list_ambiguities(scan: _Scan, columns: dict[str, str], decisions: ColumnDecisions) -> None:
    if scan.need_day and scan.ambiguous_dates:
        column = columns["date"]
        first = scan.ambiguous_dates[0][1]
        decisions.ambiguities.append(
            Ambiguity(
                kind="day_first",
                column=column,
                examples=scan.ambiguous_dates,
                message=f"the date column {column!r} is ambiguous: {first!r} could be "
                "day-first or month-first, and no value in the file settles it",
                hint="say how to read it with --day-first (23/04/2026) or --month-first "
                "(04/23/2026)",
            )
        )
    if scan.need_decimal and scan.dotted_amounts:
        # Read with the default '.', "1.500" would be 1.5: a thousand times too small if the
        # file is European. Nothing in the file tells, so ask (like ambiguous dates).
        column = columns["purchase_amount"]
        first = scan.dotted_amounts[0][1]
        decisions.ambiguities.append(
            Ambiguity(
                kind="decimal",
                column=column,
                examples=scan.dotted_amounts,
                message=f"the amount column {column!r} is ambiguous: {first!r} could be a "
                "whole number with a thousands dot or a number with 3 decimals, and no value "
                "in the file settles it",
                hint="say how to read it with --decimal , (1.500,00 = 1500) or --decimal . "
                "(1.500 = 1.5; amounts with 3 decimals also need --allow-precision)",
            )
        )


def _examples(column: Iterable[str], tells: Callable[[str], bool]) -> list[str]:
    """Up to MAX_EXAMPLES distinct values of a column, in file order, for which ``tells``."""
    found: list[str] = []
    for value in dict.fromkeys(column):
        if tells(value):
            found.append(value)
            if len(found) == MAX_EXAMPLES:
                break
    return found


def _with_rows(chunk: Chunk, at: int, wanted: set[str]) -> list[tuple[int, str]]:
    """(row, value) of the first MAX_EXAMPLES distinct ``wanted`` values, sorted by value.

    Sorted by value so the first example is the one today's message has always named.
    """
    if not wanted:
        return []
    first_row: dict[str, int] = {}
    for row, value in zip(chunk.rows, chunk.column(at), strict=True):
        if value in wanted and value not in first_row:
            first_row[value] = row
    return [(first_row[v], v) for v in sorted(first_row)[:MAX_EXAMPLES]]


def _ambiguous_dates(values: Iterable[str], options: ValidationOptions) -> set[str]:
    """Up to MAX_EXAMPLES values (the first in sorted order) that read both ways."""
    zone = options.zone()
    found: set[str] = set()
    for value in sorted(values):
        try:
            normalise.parse_date(value, day_first=None, tz=zone)
        except ValueError as exc:
            if "--day-first" in str(exc):
                found.add(value)
                if len(found) == MAX_EXAMPLES:
                    break
    return found


def _text_cells(chunk: Chunk, at: int) -> set[str]:
    """The distinct cells of a column that are text: a workbook's number cells carry no
    separator of their own, so they are no evidence for the column's decimal separator."""
    if chunk.raw is None:
        return set(chunk.column(at))
    return {row[at] for row in chunk.raw if type(row[at]) is str}


def sole_majority(counts: Counter) -> str | None:
    """The currency most rows have, when no other has as many (None: none, or a tie, where
    the first row's would win by chance; each row is then held to its lead's channel alone)."""
    top = counts.most_common(2)
    if not top or (len(top) == 2 and top[0][1] == top[1][1]):
        return None
    return top[0][0]
