"""Validate chunks of text cells column by column and turn valid rows into purchase records.

Decisions that need a whole column (decimal separator, day-first dates, the file's currency)
are taken once by :func:`importer.check.decisions.decide_columns` before any row is judged; then
:class:`RowValidator` judges each chunk. Every parser runs once per distinct value of a column
(:mod:`importer.check.columns`), not once per cell.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from decimal import Decimal

from importer.check import damage, normalise
from importer.check.columns import (
    CACHE_LIMIT,
    CACHE_LIMITS,
    CANONICAL_UUID,
    MISSING,
    PLAIN_COMMA_NUMBER,
    PLAIN_NUMBER,
    ColumnParser,
    TextColumn,
    decimal_from_comma,
)
from importer.check.decisions import ColumnDecisions, ValidationOptions, decide_columns
from importer.check.duplicates import SeenRows
from importer.errors import ConfigurationError
from importer.read.loader import Chunk
from importer.records import PurchaseRecord, RowStatus

__all__ = ["CheckedChunk", "ColumnDecisions", "RowValidator", "ValidationOptions", "decide_columns"]

DAMAGE_SCANS = {
    "reference": damage.scan_identifier_column,
    "legacy_lead_id": damage.scan_identifier_column,
    "product_name": damage.scan_identifier_column,
    "purchase_amount": damage.scan_amount_column,
    "date": damage.scan_date_column,
}
DAMAGE_LABELS = {"purchase_amount": "amount"}
# What damage.scan_identifier_column can flag: all-digit values, "#..." cells, "1.2E+15".
ALL_DIGIT_LINE = re.compile(r"\n[ \t]*\d+[ \t]*\n")


def _may_be_damaged_identifiers(blob: str) -> bool:
    """Cheap screen (literal searches first) before the full identifier scan."""
    return (
        "#" in blob
        or any(mark in blob for mark in ("E+", "e+", "E-", "e-"))
        or ALL_DIGIT_LINE.search(blob) is not None
    )


SERIAL_LIKE = re.compile(r"\n[ \t]*[3-5]\d{4}(?:\.0+)?[ \t]*\n")  # 36526..55153: dates 2000-2050
VALID = RowStatus.VALID
ACTIONS = ("create_purchase", "create_purchase_custom")
TOTAL_ROW = re.compile(
    r"^\s*(grand\s*)?(sub\s*)?(total|totals|sum|summe|i alt|totalt|somme)\b", re.I
)


@dataclass
class CheckedChunk:
    """The verdict on every row of a chunk."""

    chunk: Chunk
    statuses: list[RowStatus]
    errors: dict[int, str]
    warnings: dict[int, list[str]]
    amounts_all: list[Decimal | None]  # every row whose amount could be read
    currencies: list[str | None]
    records: list[PurchaseRecord | None] | None = None
    dates: list[datetime | None] = field(default_factory=list)
    footer_rows: int = 0
    #: With ``check(..., mark_duplicates=False)``: the duplicate keys of the valid rows, in order,
    #: and their row numbers (for :meth:`RowValidator.accept_keys`).
    valid_keys: list[int] | None = None
    valid_rows: list[int] | None = None

    def add_to(self, summary, statuses: list[RowStatus] | None = None) -> None:
        """Add this chunk's rows to a Summary (``statuses`` overrides the validation verdicts)."""
        summary.blank_rows += self.chunk.blank
        summary.footer_rows += self.footer_rows
        summary.add_many(statuses or self.statuses, self.amounts_all, self.currencies)
        known = [d for d in set(self.dates) if d is not None]
        if known:
            summary.see_date(min(known))
            summary.see_date(max(known))

    def result_columns(self) -> list[list[str]]:
        """The verdicts as results-file columns (row, status, ..., warnings)."""
        n = len(self.statuses)
        blank = [""] * n
        error = list(blank)
        for i, text in self.errors.items():
            error[i] = text
        notes = list(blank)
        for i, found in self.warnings.items():
            notes[i] = "; ".join(found)
        return [
            list(map(str, self.chunk.rows)),
            list(map(str, self.statuses)),
            blank,
            blank,
            error,
            blank,
            notes,
        ]


class RowValidator:
    """Judges chunks of one file; keeps the state that spans chunks (duplicates, caches)."""

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
        self._seen = SeenRows()
        # Without a reference, amount or date, two rows of one lead are not evidence of a copy.
        self._can_spot_duplicates = bool({"reference", "purchase_amount", "date"} & set(columns))
        fast = self._fast_paths()
        self._parsers = {
            name: TextColumn()
            if parse is normalise.parse_text
            else ColumnParser(parse, fast.get(name), CACHE_LIMITS.get(name, CACHE_LIMIT))
            for name, parse in self._parse_functions().items()
            if name in self.index
        }
        #: Currency codes per row over every chunk checked (the file's majority).
        self.currency_counts: Counter[str] = Counter()

    def majority_currency(self) -> str | None:
        """The most common currency of the rows checked so far."""
        return self.currency_counts.most_common(1)[0][0] if self.currency_counts else None

    def check(self, chunk: Chunk, *, mark_duplicates: bool = True) -> CheckedChunk:
        """Validate every row of ``chunk``.

        Work is done per column and per distinct value; Python-level loops touch only the rows
        a rule can apply to, so a clean chunk costs a few list operations per column.
        With ``mark_duplicates=False`` the rows are not compared with earlier chunks; the
        result carries ``valid_keys`` for :meth:`accept_keys` instead.
        """
        n = len(chunk.rows)
        errors: dict[int, list[str]] = {}
        warnings: dict[int, list[str]] = {}

        def fail(i: int, reason: str) -> None:
            errors.setdefault(i, []).append(reason)

        none = [None] * n
        parsed: dict[str, list[object]] = {}
        failed_fields: dict[str, set[int]] = {}
        for name, parser in self._parsers.items():
            values = chunk.column(self.index[name])
            # distinct: the distinct values not of the column's plain form
            column_values, distinct, failures = parser.run(values)
            damaged = self._scan_damage(name, values, warnings)
            if failures or damaged:
                bad: set[int] = set()
                for i, value in enumerate(values):
                    if i in damaged:
                        fail(i, damaged[i])  # says more than the parser's reason
                    elif value in failures:
                        fail(i, failures[value])
                    else:
                        continue
                    column_values[i] = None
                    bad.add(i)
                failed_fields[name] = bad
            if name in ("purchase_amount", "date") and not all(map(str.strip, distinct)):
                label = "amount" if name == "purchase_amount" else "date"
                for i, value in enumerate(values):
                    if not value.strip() and i not in errors:
                        fail(i, f"{label} is empty")
            if name == "date":
                self._date_notes(column_values, distinct, parser, warnings)
            if name == "purchase_amount":
                # Plain numbers carry no currency mark: only the others are looked at.
                marks = {
                    v: mark for v in distinct if (mark := normalise.amount_currency(v)) is not None
                }
                implied = list(map(marks.get, values)) if marks else none
            parsed[name] = column_values

        lead = parsed.get("lead_id", none)
        legacy = parsed.get("legacy_lead_id", none)
        amounts = parsed.get("purchase_amount", none)
        dates = parsed.get("date", none)
        product_id = parsed.get("product_id", none)
        product_name = parsed.get("product_name", none)
        description = parsed.get("product_description", none)
        triggers = parsed.get("trigger_ids", none)
        reference = parsed.get("reference", none)
        currencies: list[str | None] = list(parsed.get("currency", none))
        if "purchase_amount" not in parsed:
            implied = none

        for i in chunk.overflow:
            extra = ", ".join(repr(c) for c in chunk.overflow[i] if c.strip())
            fail(
                i,
                f"the row has more cells than the header has columns (extra: {extra}); "
                "is there an unquoted delimiter in a value, such as 1,500.00?",
            )
        footers: list[int] = []  # an export's "Total" rows: their amount is not a purchase
        lead_failed = failed_fields.get("lead_id", set()) | failed_fields.get(
            "legacy_lead_id", set()
        )
        if None in lead and (legacy is none or None in legacy):
            no_lead = [i for i, value in enumerate(lead) if value is None and legacy[i] is None]
        else:
            no_lead = []
        for i in no_lead:
            label = self._total_label(chunk.cells[i])
            if label:
                footers.append(i)
                errors.pop(i, None)
                warnings.setdefault(i, []).append(
                    f"looks like a totals row ({label!r}), not a purchase"
                )
            elif i not in lead_failed:
                names = " or ".join(n for n in ("lead_id", "legacy_lead_id") if n in self.index)
                fail(i, f"{names} is empty")
        if "product_id" in parsed:
            self._check_products(product_id, product_name, triggers, fail)
        if implied is not none or "currency" in parsed:
            self._check_currencies(currencies, implied, errors, fail)
            counts = Counter(currencies)
            counts.pop(None, None)
            self.currency_counts.update(counts)

        statuses = [RowStatus.VALID] * n
        for i in errors:
            statuses[i] = RowStatus.INVALID
        for i in footers:
            statuses[i] = RowStatus.SKIPPED
        valid_keys = valid_rows = None
        if self._can_spot_duplicates:
            keys = self._duplicate_keys(
                (reference, lead, legacy, amounts, dates, product_id, product_name)
            )
            if mark_duplicates:
                self._mark_duplicates(chunk, statuses, errors, warnings, keys, reference)
            else:
                valid = [i for i, s in enumerate(statuses) if s is VALID]
                valid_keys = [keys[i] for i in valid]
                valid_rows = [chunk.rows[i] for i in valid]
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
        amounts_all = list(amounts)
        for i in footers:
            amounts_all[i] = None
        return CheckedChunk(
            chunk=chunk,
            statuses=statuses,
            errors={i: "; ".join(reasons) for i, reasons in errors.items()},
            warnings=warnings,
            amounts_all=amounts_all,
            dates=[d[0] if d else None for d in dates] if dates is not none else none,
            footer_rows=len(footers),
            currencies=currencies,
            records=records,
            valid_keys=valid_keys,
            valid_rows=valid_rows,
        )

    def accept_keys(self, keys: list[int], rows: list[int]) -> bool:
        """Record the valid rows of a chunk checked with ``mark_duplicates=False`` as seen.

        ``keys`` and ``rows`` are its ``valid_keys`` and their row numbers. False (and nothing
        recorded) when one of them repeats an earlier row or another row of the chunk: then
        the chunk must be checked again with duplicates marked.
        """
        if len(set(keys)) != len(keys) or self._seen.any_seen(keys):
            return False
        self._seen.add(keys, rows)
        return True

    def _date_notes(self, column_values, distinct, parser, warnings) -> None:
        """Warnings (future, before 2000) per distinct date, then spread to its rows."""
        noted = {}
        for value in distinct:
            result = parser.values.get(value)
            if result is None or result is MISSING:
                continue
            found = normalise.date_warnings(result[0].astimezone(self.zone), now=self.now)
            if found:
                noted[result] = found
        if noted:
            for i, result in enumerate(column_values):
                if result in noted:
                    warnings.setdefault(i, []).extend(noted[result])

    def _check_products(self, product_id, product_name, triggers, fail) -> None:
        action = self.options.action
        for i, value in enumerate(product_id):
            if value is None:
                continue
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

    def _check_currencies(self, currencies, implied, errors, fail) -> None:
        file_currency = self.decisions.currency
        column_mapped = "currency" in self.index
        if (
            not any(implied)
            and not (column_mapped and None in currencies)
            and (
                not file_currency
                or currencies.count(file_currency) + currencies.count(None) == len(currencies)
            )
        ):
            return  # no amount marks, no empty codes, one currency: nothing to flag
        for i, marked in enumerate(implied):
            if marked and currencies[i] and marked != currencies[i]:
                fail(i, f"amount is marked {marked} but the currency column says {currencies[i]}")
            currency = currencies[i] or marked
            currencies[i] = currency
            if i in errors:
                continue
            if column_mapped and currency is None:
                fail(
                    i,
                    "currency is empty; every row needs a currency code when the column is mapped",
                )
            elif file_currency and currency and currency != file_currency:
                fail(
                    i,
                    f"currency {currency} differs from the rest of the file ({file_currency}); "
                    "amounts are in the channel's currency and nothing converts: import "
                    f"{currency} rows in a separate file",
                )

    @staticmethod
    def _duplicate_keys(columns) -> list[int]:
        """One 64-bit key per row: its reference, else its lead, amount, date and product.

        Computed with C-level map(); keys are hashes, so they are only comparable within one
        process (a forked child shares the parent's hash secret).
        """
        reference, lead, legacy, amounts, dates, product_id, product_name = columns
        references = [r and r.casefold() for r in reference]
        has_reference = any(references)
        if has_reference and all(references):
            return list(map(hash, references))
        when = [d[0] if d else None for d in dates]
        who = [a or b for a, b in zip(lead, legacy, strict=True)]
        what = [a or b for a, b in zip(product_id, product_name, strict=True)]
        keys = list(map(hash, zip(who, amounts, when, what, strict=True)))
        if has_reference:
            keys = [hash(r) if r else k for r, k in zip(references, keys, strict=True)]
        return keys

    def _mark_duplicates(self, chunk, statuses, errors, warnings, keys, reference) -> None:
        """Skip rows that repeat an earlier valid row (by reference, else by content).

        The per-row loop runs only when some key of the chunk was seen before.
        """
        n = len(statuses)
        seen = self._seen
        rows = chunk.rows
        if statuses.count(RowStatus.VALID) == n:
            valid, valid_keys, valid_rows = range(n), keys, rows
        else:
            valid = [i for i in range(n) if statuses[i] is RowStatus.VALID]
            valid_keys = [keys[i] for i in valid]
            valid_rows = [rows[i] for i in valid]
        if self.accept_keys(valid_keys, valid_rows):
            return  # no repeats: the usual chunk
        earlier = seen.first_rows(valid_keys).tolist()
        in_chunk: dict[int, int] = {}
        allow = self.options.allow_duplicates
        for i, before in zip(valid, earlier, strict=True):
            first = before if before >= 0 else in_chunk.get(keys[i])
            if first is None:
                in_chunk[keys[i]] = rows[i]
            elif allow:
                warnings.setdefault(i, []).append(f"same purchase as row {first}")
            else:
                statuses[i] = RowStatus.SKIPPED
                how = "same reference" if reference[i] else "same lead, amount, date and product"
                errors[i] = [
                    f"duplicate of row {first} ({how}); use --allow-duplicates if both are real "
                    "purchases"
                ]
        seen.add(list(in_chunk), list(in_chunk.values()))

    def _parse_date_in_period(self, value: str) -> tuple[datetime, bool]:
        result = normalise.parse_date(value, day_first=self.decisions.day_first, tz=self.zone)
        period = self.options.period
        if period is not None:
            local = result[0].astimezone(self.zone).date()
            if not period.contains(local):
                raise ValueError(f"date {local.isoformat()} is outside the period {period.label}")
        return result

    def _fast_paths(self) -> dict[str, tuple[re.Pattern[str], Callable[[str], object]]]:
        """Plain forms that need no general parser (they must parse to the same value)."""
        paths = {"lead_id": (CANONICAL_UUID, str), "product_id": (CANONICAL_UUID, str)}
        if self.decisions.decimal == ".":
            paths["purchase_amount"] = (PLAIN_NUMBER, Decimal)
        else:
            paths["purchase_amount"] = (PLAIN_COMMA_NUMBER, decimal_from_comma)
        return paths

    def _parse_functions(self) -> dict[str, Callable[[str], object]]:
        d = self.decisions
        allow = self.options.allow_precision
        return {
            "lead_id": lambda v: normalise.parse_uuid(v, field="lead_id"),
            "legacy_lead_id": normalise.parse_legacy_id,
            "purchase_amount": lambda v: normalise.parse_amount(
                v, decimal=d.decimal, allow_precision=allow
            ),
            "date": self._parse_date_in_period,
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
        label = DAMAGE_LABELS.get(name, name)
        if name in ("purchase_amount", "date"):
            # Amounts and dates repeat: judge each distinct value once, then spread to its rows.
            parser = self._parsers[name]
            if (
                name == "purchase_amount"
                and parser.failures.keys().isdisjoint(values)
                and not SERIAL_LIKE.search("\n" + "\n".join(values) + "\n")
            ):
                return {}  # every amount reads as a number and none could be a date serial
            distinct = list(dict.fromkeys(values))
            found = {distinct[f.index]: f for f in scan(distinct, column=label)}
            findings = (
                [replace(found[value], index=i) for i, value in enumerate(values) if value in found]
                if found
                else []
            )
        elif _may_be_damaged_identifiers("\n" + "\n".join(values) + "\n"):
            findings = scan(values, column=label)
        else:
            findings = []  # no all-digit value, no '#', no exponent: nothing Excel could have hurt
        for finding in findings:
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
