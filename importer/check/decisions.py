"""Choices about a whole column, taken once from the evidence of the file.

The decimal separator and day-first vs month-first are read from the values themselves (a
"2,25" proves a decimal comma, a "23/04/2026" proves day-first); options override evidence.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from importer.check import normalise
from importer.check.controls import Period
from importer.errors import AmbiguousDataError, ConfigurationError
from importer.read.loader import Table


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

    def zone(self) -> ZoneInfo:
        """The time zone of date-only values (ConfigurationError when unknown)."""
        try:
            return ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigurationError(
                f"unknown time zone {self.timezone!r}",
                hint="use an IANA name such as UTC, Europe/Copenhagen or America/New_York",
            ) from None


@dataclass
class ColumnDecisions:
    """Per-column choices taken from the evidence of the whole file."""

    decimal: str = "."
    decimal_from: str = "default"  # "evidence", "option" or "default"
    day_first: bool | None = None
    day_first_from: str = "none"
    currency: str | None = None  # the file's (majority) currency, when one is known


def decide_columns(
    table: Table, columns: dict[str, str], options: ValidationOptions, *, chunk_size: int = 25_000
) -> ColumnDecisions:
    """Scan the amount, date and currency columns for evidence and settle how to read them.

    The scan stops as soon as every decision is settled (usually within the first chunk); only
    a date column that stays ambiguous is read to the end. The currency majority taken here is
    provisional: callers compare it with :meth:`RowValidator.majority_currency` after the full
    pass and run again in the rare file where the first chunk was not representative.
    Raises AmbiguousDataError when slash dates cannot be told apart (e.g. only 03/04/2026).
    """
    decisions = ColumnDecisions()
    if options.decimal:
        decisions.decimal, decisions.decimal_from = options.decimal, "option"
    if options.day_first is not None:
        decisions.day_first, decisions.day_first_from = options.day_first, "option"
    index = {name: table.headers.index(header) for name, header in columns.items()}
    amount_at, date_at, currency_at = (
        index.get(k) for k in ("purchase_amount", "date", "currency")
    )
    need_decimal = amount_at is not None and decisions.decimal_from == "default"
    need_day = date_at is not None and decisions.day_first is None
    ambiguous_example: str | None = None
    dotted_amount: str | None = None  # "1.500" with nothing in the file to say 1500 or 1.5
    currency_counts: Counter[str] = Counter()
    for chunk in table.chunks(chunk_size):
        if need_decimal:
            values = _text_cells(chunk, amount_at)
            found = normalise.detect_decimal_separator(values)
            if found:
                decisions.decimal, decisions.decimal_from = found, "evidence"
                need_decimal = False
            elif dotted_amount is None:
                dotted = sorted(v for v in values if "." in v)  # most values have none
                dotted_amount = next(
                    (v for v in dotted if normalise.grouping_or_decimals(v) == "."), None
                )
        if need_day:
            values = {v for v in chunk.column(date_at) if v.strip()}
            found = normalise.detect_day_first(values)
            if found is not None:
                decisions.day_first, decisions.day_first_from = found, "evidence"
                need_day = False
            elif ambiguous_example is None:
                ambiguous_example = _first_ambiguous(values, options)
                if ambiguous_example is None:
                    # Nothing here needs the choice (e.g. ISO dates): stop looking. A rare
                    # ambiguous value further down becomes an invalid row naming --day-first.
                    need_day = False
        if currency_at is not None:
            for value, count in Counter(chunk.column(currency_at)).items():
                with contextlib.suppress(ValueError):
                    currency_counts[normalise.parse_currency(value)] += count
        if not need_decimal and not need_day:
            break  # the currency majority is confirmed (or corrected) by the full pass
    if need_day and ambiguous_example is not None:
        raise AmbiguousDataError(
            f"the date column {columns['date']!r} is ambiguous: {ambiguous_example!r} could be "
            "day-first or month-first, and no value in the file settles it",
            column=columns["date"],
            hint="say how to read it with --day-first (23/04/2026) or --month-first (04/23/2026)",
        )
    if need_decimal and dotted_amount is not None:
        # Read with the default '.', "1.500" would be 1.5: a thousand times too small if the
        # file is European. Nothing in the file tells, so ask (like ambiguous dates).
        raise AmbiguousDataError(
            f"the amount column {columns['purchase_amount']!r} is ambiguous: {dotted_amount!r} "
            "could be a whole number with a thousands dot or a number with 3 decimals, and no "
            "value in the file settles it",
            column=columns["purchase_amount"],
            hint="say how to read it with --decimal , (1.500,00 = 1500) or --decimal . "
            "(1.500 = 1.5)",
        )
    if currency_counts:
        decisions.currency = currency_counts.most_common(1)[0][0]
    return decisions


def _first_ambiguous(values: Iterable[str], options: ValidationOptions) -> str | None:
    zone = options.zone()
    for value in sorted(values):
        try:
            normalise.parse_date(value, day_first=None, tz=zone)
        except ValueError as exc:
            if "--day-first" in str(exc):
                return value
    return None


def _text_cells(chunk, at: int) -> set[str]:
    """The distinct cells of a column that are text: a workbook's number cells carry no
    separator of their own, so they are no evidence for the column's decimal separator."""
    if chunk.raw is None:
        return set(chunk.column(at))
    return {row[at] for row in chunk.raw if type(row[at]) is str}
