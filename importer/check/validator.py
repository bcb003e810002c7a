"""Validate chunks of text cells column by column and turn valid rows into purchase records.

Decisions that need a whole column (decimal separator, day-first dates, the file's currency)
are taken once by :func:`importer.check.decisions.decide_columns` before any row is judged; then
:class:`RowValidator` judges each chunk. Every parser runs once per distinct value of a column
(:mod:`importer.check.columns`), not once per cell.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, tzinfo
from decimal import Decimal, InvalidOperation
from operator import itemgetter

import numpy as np

from importer import fields
from importer.check import damage, normalise
from importer.check.columns import (
    CACHE_LIMIT,
    CACHE_LIMITS,
    MISSING,
    NULL_MARKS,
    SEPARATOR,
    ColumnParser,
    TextColumn,
    plain_run,
    unusual_cells,
)
from importer.check.decisions import (
    ColumnDecisions,
    ValidationOptions,
    decide_columns,
    sole_majority,
)
from importer.check.duplicates import DuplicateRule, Repeat, RowKeys, only
from importer.check.matching import column_letters
from importer.check.parsers import Reading, fast_paths, parse_functions
from importer.check.summary import STATUS_HEADERS, ChunkFacts
from importer.currencies import header_currency
from importer.errors import ConfigurationError, MappingError
from importer.read.headers import fold_header
from importer.read.loader import Chunk, is_number_cell
from importer.read.numformats import PERCENT
from importer.records import PurchaseRecord, RowStatus, record_maker

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
        or "=" in blob
        or any(mark in blob for mark in ("E+", "e+", "E-", "e-"))
        or ALL_DIGIT_LINE.search(blob) is not None
    )


SERIAL_LIKE = re.compile(r"\n[ \t]*[3-5]\d{4}(?:\.0+)?[ \t]*\n")  # 36526..55153: dates 2000-2050
VALID = RowStatus.VALID
SKIPPED = RowStatus.SKIPPED
ACTIONS = ("create_purchase", "create_purchase_custom")
TOTAL_ROW = re.compile(
    r"^\s*(\*|(grand\s*)?(sub\s*)?(total|totals|sum|summe|gesamt|gesamtsumme|zwischensumme|"
    r"i alt|totalt|somme|suma)\b)",
    re.I,
)
REPORT_LINE = "report line"
# Six hex digits in a row: a lead id typed or pasted wrong, not a label of a report.
_ID_LIKE = re.compile(r"[0-9A-Fa-f]{6}")
HIDDEN = "hidden in the workbook"
FILTERED_OUT = "filtered out by --where"
NULL_CELLS = NULL_MARKS
#: Fields where a leading apostrophe (Excel's mark for text) is not part of the value: all
#: but free text (ids, amounts, dates, currency codes).
APOSTROPHE_FIELDS = frozenset(f.name for f in fields.PURCHASE_FIELDS if f.parser != "text")
#: A row whose amount is 0 (a free item, a line of a credit note?): Keen takes it as a purchase.
ZERO_AMOUNT = (
    "amount is 0: Keen records it as a purchase, and a trigger with a fixed reward pays for it; "
    "leave the row out if nothing was sold"
)
_ZERO = Decimal(0)
EMPTY_TRIGGERS = (
    "trigger_ids is empty: Keen fires every active purchase trigger of the channel for this row"
)


@dataclass
class CheckedChunk:
    """The verdict on every row of a chunk."""

    chunk: Chunk
    statuses: list[RowStatus]
    errors: dict[int, str]
    warnings: dict[int, list[str]]
    amounts_all: list[Decimal | None]  # every purchase row whose amount could be read
    currencies: list[str | None]
    records: list[PurchaseRecord | None] | None = None
    dates: list[datetime | None] = field(default_factory=list)
    #: The file's time zone: the summary's date range is in its dates, as the file wrote them
    #: (in UTC, a file of March in Copenhagen began on 28 February).
    zone: tzinfo | None = None
    #: Facts for the summary (report lines, hidden rows, NULL cells, ...): see Summary.notice.
    facts: ChunkFacts = field(default_factory=lambda: ChunkFacts())
    #: With ``check(..., mark_duplicates=False)``: the duplicate keys of the valid rows, in
    #: order, and their row numbers (for ``validator.duplicates.accept``).
    valid_keys: RowKeys | None = None
    valid_rows: np.ndarray | None = None

    def add_to(self, summary, statuses: list[RowStatus] | None = None) -> None:
        """Add this chunk's rows to a Summary (``statuses`` overrides the validation verdicts)."""
        summary.blank_rows += self.chunk.blank
        summary.add_many(statuses or self.statuses, self.amounts_all, self.currencies)
        summary.notice(self.facts)
        if self.chunk.hidden:
            summary.facts.see_hidden(
                self.chunk.hidden, statuses or self.statuses, self.amounts_all, self.currencies
            )
        known = [d for d in set(self.dates) if d is not None]
        if known:
            for instant in (min(known), max(known)):
                summary.see_date(instant.astimezone(self.zone) if self.zone else instant)

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


@dataclass
class _Verdict:
    """The working state of one chunk while its rows are judged, step by step."""

    n: int
    errors: dict[int, list[str]] = field(default_factory=dict)
    warnings: dict[int, list[str]] = field(default_factory=dict)
    parsed: dict[str, list] = field(default_factory=dict)
    failed: dict[str, set[int]] = field(default_factory=dict)
    implied: list | None = None  # the currency each amount cell names, when some do
    amount_cells: list[str] | None = None  # the amount cells as parsed (for duplicate keys)
    skipped: dict[int, str] = field(default_factory=dict)  # index -> why it is not a purchase
    facts: ChunkFacts = field(default_factory=lambda: ChunkFacts())

    def fail(self, i: int, reason: str) -> None:
        """Record a reason that makes row ``i`` invalid."""
        self.errors.setdefault(i, []).append(reason)

    def warn(self, i: int, reason: str) -> None:
        """Record a warning on row ``i``."""
        self.warnings.setdefault(i, []).append(reason)

    def get(self, name: str) -> list:
        """The parsed values of a field (all None when it is not mapped)."""
        found = self.parsed.get(name)
        return found if found is not None else [None] * self.n


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
        self.headers = headers
        self.index = {name: headers.index(header) for name, header in columns.items()}
        self.decisions = decisions
        self.options = options
        self.zone = options.zone()
        self.now = options.now or datetime.now(UTC)
        self.build_records = build_records
        self.extra_triggers = _extra_triggers(options)
        self.filters = row_filters(headers, options.where)
        self.status_at = find_status_column(headers, set(columns.values()))
        amount_column = columns.get("purchase_amount")
        #: The currency the amount column's header names ("Amount (EUR)"), when no column does.
        self.header_currency = (
            header_currency(amount_column) if amount_column and "currency" not in columns else None
        )
        # Every table of the fields is derived here, once per validator, from the registry.
        registry = fields.PURCHASE_FIELDS
        self.duplicates = DuplicateRule(
            columns, allow_duplicates=options.allow_duplicates, registry=registry
        )
        reading = Reading(decisions, options, self.zone)
        fast = fast_paths(registry, decisions.decimal)
        self._parsers = {
            name: TextColumn()
            if parse is normalise.parse_text
            else ColumnParser(parse, fast.get(name), CACHE_LIMITS.get(name, CACHE_LIMIT))
            for name, parse in parse_functions(registry, reading).items()
            if name in self.index
        }
        self._record_names = ("row", *fields.field_names(registry))
        self._make_record = record_maker(self._record_names)
        self._dates = frozenset(f.name for f in registry if f.parser == "date")
        self._lists = frozenset(f.name for f in registry if f.parser == "uuid_list")
        #: Currency codes per row over every chunk checked (the file's majority).
        self.currency_counts: Counter[str] = Counter()
        #: Field -> the first value a chunk after the decision held that proves the other
        #: reading of its column (a date only month-first in a day-first column, an amount with
        #: the other decimal separator): the column is written both ways (see contrary_values).
        self.contrary: dict[str, str] = {}

    @property
    def occurrences(self) -> dict[int, int]:
        """Rows repeating an earlier row on purpose: row -> how many came before it."""
        return self.duplicates.occurrences

    def majority_currency(self) -> str | None:
        """The most common currency of the rows checked so far."""
        return sole_majority(self.currency_counts)

    def check(self, chunk: Chunk, *, mark_duplicates: bool = True) -> CheckedChunk:
        """Validate every row of ``chunk``.

        Work is done per column and per distinct value; Python-level loops touch only the rows
        a rule can apply to, so a clean chunk costs a few list operations per column.
        With ``mark_duplicates=False`` the rows are not compared with earlier chunks; the
        result carries ``valid_keys`` for ``self.duplicates.accept`` instead.
        """
        verdict = _Verdict(n=len(chunk.rows))
        for name, parser in self._parsers.items():
            self._parse_column(name, parser, self._cells(chunk, name), verdict)
        if chunk.shown_currencies or self.header_currency:
            self._currencies_beside_amounts(chunk, verdict)
        self._check_record(chunk, verdict)
        self._check_leads(chunk, verdict)
        if "product_id" in verdict.parsed:
            self._check_products(verdict)
        if verdict.implied is not None or "currency" in verdict.parsed:
            self._check_currencies(verdict)
        if "trigger_ids" in verdict.parsed and not self.extra_triggers:
            self._note_empty_triggers(verdict)
        self._note_zero_amounts(verdict)
        self._filter_rows(chunk, verdict)
        statuses = self._statuses(verdict)
        valid_keys = valid_rows = None
        if self.duplicates.applies:
            keys = self.duplicates.row_keys(verdict.n, lambda name: self._key_column(name, verdict))
            rows = _row_numbers(chunk.rows)
            n = len(statuses)
            valid = range(n) if statuses.count(VALID) == n else _valid_indices(statuses)
            if mark_duplicates:
                _apply(self.duplicates.judge(keys, rows, valid), statuses, verdict)
            else:
                valid_keys, valid_rows = only(keys, rows, valid)
        return self._checked(chunk, statuses, verdict, valid_keys, valid_rows)

    # --- the steps of check(), in order -----------------------------------------------------

    def _cells(self, chunk: Chunk, name: str) -> list[str]:
        """The cells of a field's column (a workbook's number cells in the column's form)."""
        values = chunk.column(self.index[name])
        if name == "purchase_amount" and chunk.raw is not None and self.decisions.decimal == ",":
            values = _numbers_in_comma_form(values, chunk.raw, self.index[name])
        return values

    def _clean(self, name: str, values, distinct: set[str], verdict: _Verdict) -> list | None:
        """The cells without NULL marks and Excel's leading apostrophe, or None when no cell
        has either. Only the unusual values (``distinct``) are looked at: plain cells have none.
        """
        nulls = not self.options.keep_null and not NULL_CELLS.isdisjoint(distinct)
        quoted = name in APOSTROPHE_FIELDS and any(v.lstrip()[:1] == "'" for v in distinct)
        if not (nulls or quoted):
            return None
        values = list(values)
        if nulls:
            found = [i for i, v in enumerate(values) if v in NULL_CELLS]
            verdict.facts.null_cells += len(found)
            for i in found:
                values[i] = ""
        if quoted:
            values = [_without_apostrophe(v) for v in values]
        return values

    def _parse_column(self, name: str, parser, values: list[str], verdict: _Verdict) -> None:
        """Parse one column; failures and Excel damage become reasons on their rows."""
        # distinct: the distinct values not of the column's plain form
        column_values, distinct, failures = parser.run(values)
        if distinct and (cleaned := self._clean(name, values, distinct, verdict)) is not None:
            values = cleaned
            column_values, distinct, failures = parser.run(values)
        damaged = self._scan_damage(name, values, verdict.warnings)
        if failures and name not in self.contrary:
            self._note_contrary(name, values, failures)
        if failures or damaged:
            bad: set[int] = set()
            for i, value in enumerate(values):
                if i in damaged:
                    verdict.fail(i, damaged[i])  # says more than the parser's reason
                elif value in failures:
                    verdict.fail(i, failures[value])
                else:
                    continue
                column_values[i] = None
                bad.add(i)
            verdict.failed[name] = bad
        if name in ("purchase_amount", "date") and not all(map(str.strip, distinct)):
            label = "amount" if name == "purchase_amount" else "date"
            for i, value in enumerate(values):
                if not value.strip() and i not in verdict.errors:
                    verdict.fail(i, f"{label} is empty")
        if name == "date":
            self._date_notes(values, distinct, parser, verdict.warnings)
        if name == "purchase_amount":
            verdict.amount_cells = values
            # Plain numbers carry no currency mark: only the others are looked at.
            marks = {v: m for v in distinct if (m := normalise.amount_currency(v)) is not None}
            verdict.implied = list(map(marks.get, values)) if marks else None
            if "currency" not in self.index:
                self._note_vague_marks(distinct, values, verdict)
        verdict.parsed[name] = column_values

    def _note_contrary(self, name: str, values: list[str], failures: dict) -> None:
        """Keep the first failing value (in file order) that proves the other reading of a
        column the decision scan read one way from evidence (only failing values can)."""
        failing = (v for v in values if v in failures)
        found = contrary_value(name, failing, self.decisions)
        if found is not None:
            self.contrary[name] = found

    def _currencies_beside_amounts(self, chunk: Chunk, verdict: _Verdict) -> None:
        """An amount whose number format shows a currency, or whose column's header names one
        ("Amount (EUR)"), is in it, as "1.500,00 €" is: the cell's own mark comes first."""
        shown = chunk.shown_currencies.get(self.index.get("purchase_amount", -1), {})
        implied = verdict.implied or [None] * verdict.n
        for i, code in shown.items():
            if code == PERCENT:
                self._refuse_percentage(i, verdict)
            else:
                implied[i] = implied[i] or code
        if self.header_currency:
            implied = self._with_header_currency(implied, verdict)
        verdict.implied = implied

    @staticmethod
    def _refuse_percentage(i: int, verdict: _Verdict) -> None:
        """A number cell formatted as a percentage: Excel shows 15% for its 0.15."""
        try:
            shown = format((Decimal(verdict.amount_cells[i]) * 100).normalize(), "f")
        except (InvalidOperation, TypeError, IndexError):
            return  # no number: refused already
        verdict.fail(
            i,
            f"amount cell is formatted as a percentage ({shown}%), not an amount; check that the "
            "column mapped to the amount holds amounts",
        )

    def _with_header_currency(self, implied: list, verdict: _Verdict) -> list:
        """Each amount in the header's currency; a cell naming another contradicts it."""
        header, column = self.header_currency, self.columns["purchase_amount"]
        amounts = verdict.get("purchase_amount")
        for i, marked in enumerate(implied):
            if marked is not None and marked != header:
                verdict.fail(
                    i, f"amount is marked {marked} but its header {column!r} says {header}"
                )
            elif amounts[i] is not None:
                implied[i] = header
        return implied

    def _check_record(self, chunk: Chunk, verdict: _Verdict) -> None:
        """Rows the file's quoting broke: cells past the header, lines swallowed by a quote,
        a file cut off in a quoted cell."""
        if chunk.raw is not None:  # a workbook
            self._note_unheaded_cells(chunk, verdict)
        else:
            for i, cells in chunk.overflow.items():
                extra = ", ".join(repr(c) for c in cells if c.strip())
                verdict.fail(
                    i,
                    f"the row has more cells than the header has columns (extra: {extra}); "
                    "is there an unquoted delimiter in a value, such as 1,500.00?",
                )
        for i, (column, rows) in chunk.run_on.items():
            lines = "1 line that looks" if rows == 1 else f"{rows:,} lines that look"
            verdict.fail(
                i,
                f"a quote in column {self.headers[column]!r} is not closed: the cell runs on "
                f"over {lines} like rows of their own, which are not read as purchases; "
                'close the quote (or remove the ") in the file and check it again',
            )
        if chunk.cut_off is not None:
            i, column = chunk.cut_off
            name = self.headers[column] if column < len(self.headers) else f"column {column + 1}"
            verdict.fail(
                i,
                f"the file ends inside a quoted value in column {name!r} — it looks cut off "
                "(truncated download/copy): export it again",
            )

    def _note_unheaded_cells(self, chunk: Chunk, verdict: _Verdict) -> None:
        """A workbook's cells right of the last header (a note typed beside a row) are not
        imported: say so. No delimiter can have shifted them, so the row stands on its own."""
        width = chunk.first_column + len(self.headers)
        for i, extra in chunk.overflow.items():
            for at, cell in enumerate(extra):
                if cell.strip():
                    verdict.warn(
                        i,
                        f"column {column_letters(width + at)} has no header: {cell!r} "
                        "is not imported",
                    )

    def _check_leads(self, chunk: Chunk, verdict: _Verdict) -> None:
        """Rows without a lead: report lines (totals, headings, footers) or invalid."""
        lead, legacy = verdict.get("lead_id"), verdict.get("legacy_lead_id")
        if None not in lead or None not in legacy:
            return
        lead_failed = verdict.failed.get("lead_id", set()) | verdict.failed.get(
            "legacy_lead_id", set()
        )
        amounts, dates = verdict.get("purchase_amount"), verdict.get("date")
        for i, value in enumerate(lead):
            if value is not None or legacy[i] is not None:
                continue
            cells = chunk.cells[i]
            if i in lead_failed:
                kind = self._report_label(cells)
            elif dates[i] is not None and amounts[i] is not None:
                kind = None  # a dated amount is a purchase whose lead is missing, not a total
            else:
                kind = self._report_line(cells, has_amount=amounts[i] is not None)
            if kind:
                verdict.skipped[i] = REPORT_LINE
                verdict.facts.add_report_line(amounts[i], is_total=kind == "total")
            elif i not in lead_failed:
                names = " or ".join(n for n in ("lead_id", "legacy_lead_id") if n in self.index)
                verdict.fail(i, f"{names} is empty")

    def _check_products(self, verdict: _Verdict) -> None:
        action = self.options.action
        product_name, triggers = verdict.get("product_name"), verdict.get("trigger_ids")
        for i, value in enumerate(verdict.parsed["product_id"]):
            if value is None:
                continue
            if product_name[i] is not None:
                verdict.fail(
                    i,
                    "product_id and product_name are both filled; Keen takes either a "
                    "catalog product_id or a free-text product_name: empty one of them",
                )
            elif action == "create_purchase_custom":
                verdict.fail(
                    i,
                    "product_id cannot be sent with create_purchase_custom (free-text "
                    "products only): use --action create_purchase or map product_name",
                )
            elif triggers[i] or self.extra_triggers:
                verdict.fail(
                    i,
                    "trigger_ids cannot be combined with a catalog product_id "
                    "(the catalog shape of create_purchase has no trigger_ids)",
                )

    def _check_currencies(self, verdict: _Verdict) -> None:
        currencies = verdict.parsed["currency"] = list(verdict.get("currency"))
        implied = verdict.implied or [None] * verdict.n
        file_currency = self.decisions.currency
        column_mapped = "currency" in self.index
        flag = (
            any(implied)
            or (column_mapped and None in currencies)
            or (
                file_currency
                and currencies.count(file_currency) + currencies.count(None) != len(currencies)
            )
        )
        if flag:  # amount marks, empty codes or a second currency: look at the rows concerned
            usual = file_currency if column_mapped else None
            # A mark of the file's currency with no column to contradict it: nothing to say.
            agreed = None if column_mapped else file_currency
            for i, marked in enumerate(implied):
                if marked is not None and marked == agreed:
                    currencies[i] = marked
                elif marked is not None or currencies[i] != usual:
                    currencies[i] = self._row_currency(i, marked, currencies[i], verdict)
        counts = Counter(currencies)
        counts.pop(None, None)
        self.currency_counts.update(counts)

    def _row_currency(self, i: int, marked, named, verdict: _Verdict) -> str | None:
        if marked and named and marked != named:
            verdict.fail(i, f"amount is marked {marked} but the currency column says {named}")
        currency = named or marked
        if i in verdict.errors:
            return currency
        file_currency = self.decisions.currency
        if "currency" in self.index and currency is None:
            verdict.fail(
                i, "currency is empty; every row needs a currency code when the column is mapped"
            )
        elif file_currency and currency and currency != file_currency:
            verdict.fail(
                i,
                f"currency {currency} differs from the rest of the file ({file_currency}); "
                "amounts are in the channel's currency and nothing converts: import "
                f"{currency} rows in a separate file",
            )
        return currency

    @staticmethod
    def _note_vague_marks(distinct, values: list[str], verdict: _Verdict) -> None:
        """Amounts marked "kr" (DKK, SEK, NOK or ISK) name no currency the lead's channel can
        be checked against: say so on their rows (a Currency column gets them checked)."""
        vague = {v: m for v in distinct if (m := normalise.vague_currency_mark(v)) is not None}
        if not vague:
            return
        for i, value in enumerate(values):
            if value in vague and i not in verdict.errors:
                verdict.warn(
                    i,
                    f"amount is marked '{vague[value]}', which several currencies use (DKK, SEK, "
                    "NOK or ISK): it is sent as an amount in the lead's channel currency, "
                    "unchecked; map a Currency column to have it checked",
                )

    @staticmethod
    def _note_zero_amounts(verdict: _Verdict) -> None:
        """Rows of amount 0 are sent (an amount of 0 is a value): say what that means."""
        amounts = verdict.parsed.get("purchase_amount")
        if amounts is None or not amounts.count(_ZERO):  # one C loop: a clean chunk costs 1 ms
            return
        for i, amount in enumerate(amounts):
            if amount == _ZERO:
                verdict.warn(i, ZERO_AMOUNT)

    @staticmethod
    def _note_empty_triggers(verdict: _Verdict) -> None:
        """Rows whose trigger cell is empty fire every active trigger: say so."""
        triggers = verdict.parsed["trigger_ids"]
        if None not in triggers:
            return
        failed = verdict.failed.get("trigger_ids", set())
        for i, value in enumerate(triggers):
            if value is None and i not in failed:
                verdict.warn(i, EMPTY_TRIGGERS)
                verdict.facts.empty_triggers += 1

    def _filter_rows(self, chunk: Chunk, verdict: _Verdict) -> None:
        """Rows left out on purpose (--skip-rows), hidden rows (warned or skipped), --where
        filters, and the status column's counts."""
        for i in self.options.skip_rows.positions(chunk.rows):
            verdict.facts.left_out += 1
            verdict.skipped.setdefault(i, self.options.skip_reason)
        for i in chunk.hidden:
            verdict.facts.hidden_rows += 1
            if self.options.skip_hidden:
                verdict.facts.hidden_skipped += 1
                verdict.skipped.setdefault(i, HIDDEN)
            else:
                verdict.warn(i, HIDDEN)
        for at, wanted in self.filters:
            values = chunk.column(at)
            for i, value in enumerate(values):
                if value.strip().casefold() not in wanted:
                    verdict.skipped.setdefault(i, FILTERED_OUT)
        if self.status_at is not None:
            column = self.headers[self.status_at]
            values = chunk.column(self.status_at)
            if verdict.skipped:  # a row filtered or left out is no sale to warn about
                values = [v for i, v in enumerate(values) if i not in verdict.skipped]
            verdict.facts.count_statuses(values, column=column)

    @staticmethod
    def _statuses(verdict: _Verdict) -> list[RowStatus]:
        statuses = [VALID] * verdict.n
        for i in verdict.errors:
            statuses[i] = RowStatus.INVALID
        for i, reason in verdict.skipped.items():
            statuses[i] = SKIPPED
            verdict.errors[i] = [reason]  # a row that is not a purchase has no other reasons
        return statuses

    def _checked(self, chunk, statuses, verdict: _Verdict, valid_keys, valid_rows) -> CheckedChunk:
        """The chunk's verdict, with the purchase records when asked for."""
        amounts_all = list(verdict.get("purchase_amount"))
        for i, reason in verdict.skipped.items():
            if reason == REPORT_LINE:
                amounts_all[i] = None  # a subtotal's amount is no purchase
        dates = verdict.parsed.get("date")
        return CheckedChunk(
            chunk=chunk,
            statuses=statuses,
            errors={i: "; ".join(reasons) for i, reasons in verdict.errors.items()},
            warnings=verdict.warnings,
            amounts_all=amounts_all,
            dates=[d[0] if d else None for d in dates] if dates is not None else [None] * verdict.n,
            zone=self.zone,
            currencies=verdict.get("currency"),
            records=self._records(chunk, statuses, verdict) if self.build_records else None,
            facts=verdict.facts,
            valid_keys=valid_keys,
            valid_rows=valid_rows,
        )

    def _records(self, chunk, statuses, verdict: _Verdict) -> list[PurchaseRecord | None]:
        """A purchase record of every valid row (None for the others), with every field
        (built by :func:`importer.records.record_maker`: the values are checked already)."""
        names, make = self._record_names, self._make_record
        columns = [chunk.rows, *(self._record_values(name, verdict) for name in names[1:])]
        records: list[PurchaseRecord | None] = [None] * verdict.n
        for i, values in enumerate(zip(*columns, strict=True)):
            if statuses[i] is VALID:
                records[i] = make(values)
        return records

    def _record_values(self, name: str, verdict: _Verdict) -> list:
        """A field's values as its record attribute holds them: a date without its "had a
        time" flag, a list of ids as a tuple (with the --trigger-id ones after a row's own)."""
        values = verdict.get(name)
        if name in self._dates:
            return _first_items(values)
        if name in self._lists:
            extra = self.extra_triggers if name == "trigger_ids" else ()
            if not extra:
                return [ids or () for ids in values]
            return [tuple(dict.fromkeys((ids or ()) + extra)) for ids in values]
        return values

    def _date_notes(self, values, distinct, parser, warnings) -> None:
        """Warnings (future, before 2000, read as a serial) per distinct date, then spread."""
        noted = {}
        for value in distinct:
            result = parser.values.get(value)
            if result is None or result is MISSING:
                continue
            local = result[0].astimezone(self.zone)
            found = normalise.date_warnings(local, now=self.now)
            if normalise.is_serial_date(value):
                found.append(
                    f"date {value.strip()!r} was read as an Excel serial date: "
                    f"{local.date().isoformat()} (Excel probably converted the cell); check it"
                )
            if found:
                noted[value] = found
        if noted:
            for i, value in enumerate(values):
                if value in noted:
                    warnings.setdefault(i, []).extend(noted[value])

    def _key_column(self, name: str, verdict: _Verdict) -> list | None:
        """A field's values as its part of a row's duplicate key (None when no column feeds
        it): amounts as :meth:`_amount_keys`, dates without their "had a time" flag."""
        if name not in verdict.parsed:
            return None
        if name == "purchase_amount":
            return self._amount_keys(verdict)
        if name in self._dates:
            return _first_items(verdict.get(name))
        return verdict.get(name)

    def _amount_keys(self, verdict: _Verdict) -> list:
        """Per row, a stand-in for its amount that is equal exactly when the amounts are:
        the cell itself when it is written 1234.50, else the amount in that form.

        Hashing a Decimal costs more than the rest of a row's key together; the text of the
        usual cell hashes ten times faster, and only the other cells are formatted.
        """
        amounts = verdict.get("purchase_amount")
        cells = verdict.amount_cells
        if cells is None or self.decisions.decimal != ".":
            return amounts
        blob = SEPARATOR.join(cells)
        odd = None
        if blob.count(SEPARATOR) == len(cells) - 1:
            odd = unusual_cells(CANONICAL_AMOUNTS, blob)
        if odd is None:
            return list(map(_amount_text, amounts))
        texts = list(cells)
        for i in odd:
            texts[i] = _amount_text(amounts[i])
        return texts

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

    def _report_label(self, cells: list[str]) -> str | None:
        """ "total" or "heading" when a lead cell that is not an id is a report's label ("Total",
        "Grand total", "March 2026" alone on its row); None when it looks like an id mistyped
        (a purchase: invalid, never skipped as a line of a report)."""
        leads = [cells[self.index[n]] for n in ("lead_id", "legacy_lead_id") if n in self.index]
        label = next((c for c in leads if c.strip()), "")
        if _ID_LIKE.search(label):
            return None
        if TOTAL_ROW.match(label):
            return "total"
        return "heading" if sum(1 for c in cells if c.strip()) == 1 else None

    def _report_line(self, cells: list[str], *, has_amount: bool) -> str | None:
        """ "total", "heading" (or footer) when a row without a lead (and without a dated
        amount: that is a purchase) is a line of a report; its label may stand anywhere, after
        the amount too (a workbook's "Subtotal" in the last column)."""
        if any(TOTAL_ROW.match(cell) for cell in cells):
            return "total"
        filled = [c for c in cells if c.strip()]
        if len(filled) == 1 and not has_amount:
            return "heading"  # a section heading, or a footer such as "Accrual basis ..."
        return None


def _without_apostrophe(value: str) -> str:
    """'0012345 -> 0012345: Excel's text mark is not part of the value."""
    stripped = value.lstrip()
    return stripped[1:] if stripped.startswith("'") else value


def _numbers_in_comma_form(values, raw: list[list], at: int) -> list[str]:
    """Number cells of a workbook written with the decimal comma their text cells use.

    A typed number carries no separator of its own, so its text (``1234.5``) is rewritten to
    the column's form (``1234,5``) rather than misread as a wrong separator.
    """
    numbers = [i for i, cells in enumerate(raw) if is_number_cell(cells[at])]
    if not numbers:
        return values
    values = list(values)
    for i in numbers:
        values[i] = values[i].replace(".", ",")
    return values


def _extra_triggers(options: ValidationOptions) -> tuple[str, ...]:
    """The --trigger-id values as canonical UUIDs (ConfigurationError when one is not)."""
    try:
        return tuple(normalise.parse_uuid(t, field="--trigger-id") for t in options.trigger_ids)
    except ValueError as exc:
        raise ConfigurationError(
            str(exc), hint="trigger ids are UUIDs from the Keen dashboard"
        ) from None


def row_filters(headers: list[str], where: tuple[str, ...]) -> list[tuple[int, frozenset[str]]]:
    """``--where COLUMN=VALUE[,VALUE...]`` -> (column index, accepted values casefolded).

    Raises MappingError for a filter that is not COLUMN=VALUE or names no column of the file.
    """
    filters = []
    for text in where:
        column, sep, accepted = text.partition("=")
        wanted = frozenset(v.strip().casefold() for v in accepted.split(",") if v.strip())
        if not sep or not column.strip() or not wanted:
            raise MappingError(
                f"--where {text!r} is not COLUMN=VALUE[,VALUE...]",
                hint="e.g. --where 'Financial Status=paid'",
            )
        folded = [fold_header(h) for h in headers]
        if fold_header(column) not in folded:
            raise MappingError(
                f"--where {text!r}: the file has no column {column.strip()!r}",
                hint="columns in the file: " + ", ".join(repr(h) for h in headers if h.strip()),
            )
        filters.append((folded.index(fold_header(column)), wanted))
    return filters


def find_status_column(headers: list[str], mapped: set[str]) -> int | None:
    """The index of a status-like column (Status, Financial Status, ...) not mapped to a field."""
    for i, header in enumerate(headers):
        if header not in mapped and fold_header(header) in STATUS_HEADERS:
            return i
    return None


#: Amount cells in the form _amount_text gives: a cell of this form reads as exactly the
#: Decimal of its text, so the text can stand in for the amount in a key.
CANONICAL_AMOUNTS = plain_run(rf"(?:0|[1-9]\d{{0,{normalise.MAX_WHOLE_DIGITS - 1}}})\.\d\d")


def _amount_text(amount: object) -> object:
    """An amount as 1234.50 (more decimals only when it has them); other values as they are."""
    if not isinstance(amount, Decimal):
        return amount
    text = f"{amount:.2f}"
    return text if Decimal(text) == amount else str(amount.normalize())


def _row_numbers(rows: list[int]) -> np.ndarray:
    """A chunk's row numbers (ascending) as an array; a run without gaps costs no list walk."""
    if rows and rows[-1] - rows[0] == len(rows) - 1:
        return np.arange(rows[0], rows[-1] + 1, dtype=np.int32)
    return np.asarray(rows, dtype=np.int32)


def _valid_indices(statuses: list[RowStatus]) -> list[int]:
    """The indices of the valid rows."""
    return [i for i, s in enumerate(statuses) if s is VALID]


def _apply(repeats: list[Repeat], statuses: list[RowStatus], verdict: _Verdict) -> None:
    """The duplicate rule's verdicts: a copy is skipped with its reason, the rest warned."""
    for repeat in repeats:
        if repeat.skip:
            statuses[repeat.index] = SKIPPED
            verdict.errors[repeat.index] = [repeat.reason]
        else:
            verdict.warn(repeat.index, repeat.reason)


def _first_items(values: list) -> list:
    """The first item of each value, None for None (a date without its "had a time" flag)."""
    if None in values:
        return [v[0] if v else None for v in values]
    return list(map(itemgetter(0), values))


def contrary_value(name: str, values: Iterable[str], decisions: ColumnDecisions) -> str | None:
    """The first of ``values`` (of field ``name``) that proves the other reading of a column
    the decisions read one way from evidence: a date that can only be month-first in a
    day-first column (or the reverse), an amount with the other decimal separator; else None."""
    if name == "date" and decisions.day_first_from == "evidence":
        if decisions.day_first is None:
            return None
        other = not decisions.day_first
        return next((v for v in values if normalise.detect_day_first((v,)) is other), None)
    if name == "purchase_amount" and decisions.decimal_from == "evidence":
        if decisions.decimal_both is not None:
            return None
        other = "," if decisions.decimal == "." else "."
        return next((v for v in values if normalise.decimal_vote(v) == other), None)
    return None
