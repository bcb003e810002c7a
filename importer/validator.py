"""Validate chunks of text cells column by column and turn valid rows into purchase records.

Decisions that need a whole column (decimal separator, day-first dates, the file's currency)
are taken once by :func:`decide_columns` before any row is judged; then :class:`RowValidator`
judges each chunk. Every parser runs once per distinct value of a column, not once per cell.
"""

from __future__ import annotations

import contextlib
import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from . import damage, normalise
from .controls import Period
from .errors import AmbiguousDataError, ConfigurationError
from .loader import Chunk, Table
from .records import PurchaseRecord, RowStatus

DAMAGE_SCANS = {
    "reference": damage.scan_identifier_column,
    "legacy_lead_id": damage.scan_identifier_column,
    "product_name": damage.scan_identifier_column,
    "purchase_amount": damage.scan_amount_column,
    "date": damage.scan_date_column,
}
DAMAGE_LABELS = {"purchase_amount": "amount"}
ACTIONS = ("create_purchase", "create_purchase_custom")
TOTAL_ROW = re.compile(
    r"^\s*(grand\s*)?(sub\s*)?(total|totals|sum|summe|i alt|totalt|somme)\b", re.I
)


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

    def zone(self) -> ZoneInfo:
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


@dataclass
class CheckedChunk:
    """The verdict on every row of a chunk."""

    chunk: Chunk
    statuses: list[RowStatus]
    errors: dict[int, str]
    warnings: dict[int, list[str]]
    amounts: list[Decimal | None]  # valid rows only
    amounts_all: list[Decimal | None]  # every row whose amount could be read
    currencies: list[str | None]
    records: list[PurchaseRecord | None] | None = None
    dates: list[datetime | None] = field(default_factory=list)
    footer_rows: int = 0

    def add_to(self, summary, statuses: list[RowStatus] | None = None) -> None:
        """Add this chunk's rows to a Summary (``statuses`` overrides the validation verdicts)."""
        summary.blank_rows += self.chunk.blank
        summary.footer_rows += self.footer_rows
        for status, amount, currency, when in zip(
            statuses or self.statuses, self.amounts_all, self.currencies, self.dates, strict=True
        ):
            summary.add(status, amount, currency)
            summary.see_date(when)


def decide_columns(
    table: Table, columns: dict[str, str], options: ValidationOptions, *, chunk_size: int = 50_000
) -> ColumnDecisions:
    """Scan the amount, date and currency columns for evidence and settle how to read them.

    The scan stops as soon as every decision is settled (usually within the first chunk);
    only a mapped currency column, or a date column that stays ambiguous, is read to the end.
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
    currency_counts: Counter[str] = Counter()
    for chunk in table.chunks(chunk_size):
        if need_decimal:
            found = normalise.detect_decimal_separator(set(chunk.column(amount_at)))
            if found:
                decisions.decimal, decisions.decimal_from = found, "evidence"
                need_decimal = False
        if need_day:
            values = {v for v in chunk.column(date_at) if v.strip()}
            found = normalise.detect_day_first(values)
            if found is not None:
                decisions.day_first, decisions.day_first_from = found, "evidence"
                need_day = False
            elif ambiguous_example is None:
                ambiguous_example = _first_ambiguous(values, options)
        if currency_at is not None:
            for value, count in Counter(chunk.column(currency_at)).items():
                with contextlib.suppress(ValueError):
                    currency_counts[normalise.parse_currency(value)] += count
        elif not need_decimal and not need_day:
            break
    if need_day and ambiguous_example is not None:
        raise AmbiguousDataError(
            f"the date column {columns['date']!r} is ambiguous: {ambiguous_example!r} could be "
            "day-first or month-first, and no value in the file settles it",
            column=columns["date"],
            hint="say how to read it with --day-first (23/04/2026) or --month-first (04/23/2026)",
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


_MISSING = object()


def _parse_column(
    values: list[str], parse: Callable[[str], object]
) -> tuple[list[object], dict[str, str]]:
    """Parse each distinct non-blank value once; returns per-row values and value -> reason."""
    results: dict[str, object] = {}
    failures: dict[str, str] = {}
    for value in set(values):
        if not value.strip():
            results[value] = None
            continue
        try:
            results[value] = parse(value)
        except ValueError as exc:
            failures[value] = str(exc)
            results[value] = _MISSING
    return [results[v] for v in values], failures


class RowValidator:
    """Judges chunks of one file; keeps the state that spans chunks (duplicates)."""

    def __init__(
        self,
        headers: list[str],
        columns: dict[str, str],
        decisions: ColumnDecisions,
        options: ValidationOptions,
        *,
        build_records: bool = False,
    ) -> None:
        if options.action not in ACTIONS:
            raise ConfigurationError(
                f"unknown action {options.action!r}",
                hint="use create_purchase or create_purchase_custom",
            )
        self.columns = columns
        self.index = {name: headers.index(header) for name, header in columns.items()}
        self.decisions = decisions
        self.options = options
        self.zone = options.zone()
        self.now = options.now or datetime.now(UTC)
        self.build_records = build_records
        try:
            self.extra_triggers = tuple(
                normalise.parse_uuid(t, field="--trigger-id") for t in options.trigger_ids
            )
        except ValueError as exc:
            raise ConfigurationError(
                str(exc),
                hint="trigger ids are UUIDs from the Keen dashboard",
            ) from None
        self._seen: dict[int, int] = {}
        # Without a reference, amount or date, two rows of one lead are not evidence of a copy.
        self._can_spot_duplicates = bool({"reference", "purchase_amount", "date"} & set(columns))

    def check(self, chunk: Chunk) -> CheckedChunk:
        """Validate every row of ``chunk``."""
        n = len(chunk.rows)
        errors: dict[int, list[str]] = {}
        warnings: dict[int, list[str]] = {}

        def fail(i: int, reason: str) -> None:
            errors.setdefault(i, []).append(reason)

        parsed: dict[str, list[object]] = {}
        for name, parser in self._parsers().items():
            at = self.index.get(name)
            if at is None:
                continue
            values = chunk.column(at)
            column_values, failures = _parse_column(values, parser)
            damaged = self._scan_damage(name, values, warnings)
            if failures or damaged:
                for i, value in enumerate(values):
                    if i in damaged:
                        fail(i, damaged[i])  # says more than the parser's reason
                        column_values[i] = None
                    elif value in failures:
                        fail(i, failures[value])
                        column_values[i] = None
            parsed[name] = column_values
            if name in ("purchase_amount", "date") and any(not v.strip() for v in set(values)):
                label = "amount" if name == "purchase_amount" else "date"
                for i, value in enumerate(values):
                    if not value.strip() and i not in errors:
                        fail(i, f"{label} is empty")

        none = [None] * n
        lead = parsed.get("lead_id", none)
        legacy = parsed.get("legacy_lead_id", none)
        amounts = parsed.get("purchase_amount", none)
        dates = parsed.get("date", none)
        product_id = parsed.get("product_id", none)
        product_name = parsed.get("product_name", none)
        description = parsed.get("product_description", none)
        triggers = parsed.get("trigger_ids", none)
        reference = parsed.get("reference", none)
        currency_cells = parsed.get("currency", none)
        currencies: list[str | None] = list(currency_cells)
        if "purchase_amount" in self.index:
            implied = _parse_column(
                chunk.column(self.index["purchase_amount"]), normalise.amount_currency
            )[0]
        else:
            implied = none
        statuses = [RowStatus.VALID] * n
        footers: list[int] = []  # an export's "Total" rows: their amount is not a purchase
        action = self.options.action
        file_currency = self.decisions.currency
        for i in range(n):
            if i in chunk.overflow:
                extra = ", ".join(repr(c) for c in chunk.overflow[i] if c.strip())
                fail(
                    i,
                    f"the row has more cells than the header has columns (extra: {extra}); "
                    "is there an unquoted delimiter in a value, such as 1,500.00?",
                )
            if lead[i] is None and legacy[i] is None:
                label = self._total_label(chunk.cells[i])
                if label:
                    footers.append(i)
                    statuses[i] = RowStatus.SKIPPED
                    errors.pop(i, None)
                    warnings.setdefault(i, []).append(
                        f"looks like a totals row ({label!r}), not a purchase"
                    )
                    continue
                if not _had_failure(i, errors, ("lead_id", "legacy_lead_id")):
                    names = " or ".join(n for n in ("lead_id", "legacy_lead_id") if n in self.index)
                    fail(i, f"{names} is empty")
            if product_id[i] is not None:
                if product_name[i] is not None:
                    fail(
                        i,
                        "product_id and product_name are both filled; Keen takes either a "
                        "catalog product_id or a free-text product_name: empty one of them",
                    )
                elif action == "create_purchase_custom":
                    fail(
                        i,
                        "product_id cannot be sent with create_purchase_custom (free-text "
                        "products only): use --action create_purchase or map product_name",
                    )
                elif triggers[i] or self.extra_triggers:
                    fail(
                        i,
                        "trigger_ids cannot be combined with a catalog product_id "
                        "(the catalog shape of create_purchase has no trigger_ids)",
                    )
            if implied[i] and currencies[i] and implied[i] != currencies[i]:
                fail(
                    i, f"amount is marked {implied[i]} but the currency column says {currencies[i]}"
                )
            currency = currencies[i] or implied[i]
            currencies[i] = currency
            if "currency" in self.index and currency is None and i not in errors:
                fail(
                    i,
                    "currency is empty; every row needs a currency code when the column is mapped",
                )
            elif file_currency and currency and currency != file_currency and i not in errors:
                fail(
                    i,
                    f"currency {currency} differs from the rest of the file ({file_currency}); "
                    "amounts are in the channel's currency and nothing converts: import "
                    f"{currency} rows in a separate file",
                )
            if dates[i] is not None:
                local = dates[i][0].astimezone(self.zone)
                warnings_for_date = normalise.date_warnings(local, now=self.now)
                if warnings_for_date:
                    warnings.setdefault(i, []).extend(warnings_for_date)
                period = self.options.period
                if period is not None and not period.contains(local.date()):
                    fail(i, f"date {local.date().isoformat()} is outside the period {period.label}")
            if i in errors:
                statuses[i] = RowStatus.INVALID
                continue
            if not self._can_spot_duplicates:
                continue
            key = self._duplicate_key(
                reference[i],
                lead[i] or legacy[i],
                amounts[i],
                dates[i],
                product_id[i] or product_name[i],
            )
            first = self._seen.get(key)
            if first is None:
                self._seen[key] = chunk.rows[i]
            elif self.options.allow_duplicates:
                warnings.setdefault(i, []).append(f"same purchase as row {first}")
            else:
                statuses[i] = RowStatus.SKIPPED
                errors[i] = [
                    f"duplicate of row {first}"
                    + (
                        " (same reference)"
                        if reference[i]
                        else " (same lead, amount, date and product)"
                    )
                    + "; use --allow-duplicates if both are real purchases"
                ]
        records = None
        if self.build_records:
            records = [None] * n
            for i in range(n):
                if statuses[i] is not RowStatus.VALID:
                    continue
                trigger_list = tuple(dict.fromkeys((triggers[i] or ()) + self.extra_triggers))
                records[i] = PurchaseRecord.model_construct(
                    row=chunk.rows[i],
                    lead_id=lead[i],
                    legacy_lead_id=legacy[i],
                    purchase_amount=amounts[i],
                    date=dates[i][0] if dates[i] else None,
                    product_id=product_id[i],
                    product_name=product_name[i],
                    product_description=description[i],
                    trigger_ids=trigger_list,
                    reference=reference[i],
                    currency=currencies[i],
                )
        return CheckedChunk(
            chunk=chunk,
            statuses=statuses,
            errors={i: "; ".join(reasons) for i, reasons in errors.items()},
            warnings=warnings,
            amounts=[
                a if s is RowStatus.VALID else None for a, s in zip(amounts, statuses, strict=True)
            ],
            amounts_all=[None if i in footers else a for i, a in enumerate(amounts)]
            if footers
            else list(amounts),
            dates=[d[0] if d else None for d in dates],
            footer_rows=len(footers),
            currencies=currencies,
            records=records,
        )

    def _parsers(self) -> dict[str, Callable[[str], object]]:
        d = self.decisions
        zone = self.zone
        allow = self.options.allow_precision
        return {
            "lead_id": lambda v: normalise.parse_uuid(v, field="lead_id"),
            "legacy_lead_id": normalise.parse_legacy_id,
            "purchase_amount": lambda v: normalise.parse_amount(
                v, decimal=d.decimal, allow_precision=allow
            ),
            "date": lambda v: normalise.parse_date(v, day_first=d.day_first, tz=zone),
            "product_id": lambda v: normalise.parse_uuid(v, field="product_id"),
            "product_name": normalise.parse_text,
            "product_description": normalise.parse_text,
            "trigger_ids": lambda v: normalise.parse_uuid_list(v, field="trigger_ids") or None,
            "reference": normalise.parse_text,
            "currency": normalise.parse_currency,
        }

    def _scan_damage(
        self, name: str, values: list[str], warnings: dict[int, list[str]]
    ) -> dict[int, str]:
        """Excel-damage findings for one column: warnings are recorded, invalid ones returned."""
        scan = DAMAGE_SCANS.get(name)
        if scan is None:
            return {}
        invalid: dict[int, str] = {}
        for finding in scan(values, column=DAMAGE_LABELS.get(name, name)):
            if finding.severity == "invalid":
                invalid[finding.index] = finding.reason
            else:
                warnings.setdefault(finding.index, []).append(finding.reason)
        return invalid

    def _total_label(self, cells: list[str]) -> str | None:
        """The 'Total' label of an export's footer row, if this row is one."""
        first = next((c.strip() for c in cells if c.strip()), "")
        if not TOTAL_ROW.match(first):
            return None
        for name in ("lead_id", "legacy_lead_id"):
            at = self.index.get(name)
            if at is not None and cells[at].strip() and not TOTAL_ROW.match(cells[at]):
                return None
        return first

    def _duplicate_key(self, reference, lead, amount, date, product) -> int:
        if reference:
            return hash(("ref", reference.casefold()))
        return hash((lead, amount, date[0] if date else None, product))


def _had_failure(i: int, errors: dict[int, list[str]], names: tuple[str, ...]) -> bool:
    return any(reason.startswith(names) for reason in errors.get(i, ()))
