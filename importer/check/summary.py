"""The control-total summary: rows and amounts per status and currency, and how it prints."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from importer.records import RowStatus

#: The order statuses are listed in the summary of each command.
VALIDATE_ORDER = (RowStatus.VALID, RowStatus.INVALID, RowStatus.SKIPPED)
RUN_ORDER = (
    RowStatus.CREATED,
    RowStatus.REJECTED,
    RowStatus.RETRIED,
    RowStatus.UNCONFIRMED,
    RowStatus.NOT_SENT,
    RowStatus.INVALID,
    RowStatus.SKIPPED,
    RowStatus.VALID,
)


@dataclass
class Totals:
    """A row count and the amount sum per currency ('' when the currency is unknown)."""

    rows: int = 0
    amounts: dict[str, Decimal] = field(default_factory=lambda: defaultdict(Decimal))
    #: Rows per currency ('' when unknown), whether or not their amount could be read.
    rows_in: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def as_dict(self) -> dict:
        """The totals as JSON-ready values (amounts as exact decimal text)."""
        return {
            "rows": self.rows,
            "amounts": {k: format(v, "f") for k, v in sorted(self.amounts.items())},
        }


#: Folded headers of a column that says whether a row is a real sale.
STATUS_HEADERS = frozenset(
    {
        "status",
        "financialstatus",
        "paymentstatus",
        "orderstatus",
        "invoicestatus",
        "transactionstatus",
        "chargestatus",
        "state",
    }
)
#: Folded status values of rows that are not (yet) real sales.
NOT_SALES = frozenset(
    {
        "refunded",
        "partiallyrefunded",
        "refund",
        "failed",
        "declined",
        "voided",
        "void",
        "cancelled",
        "canceled",
        "pending",
        "unpaid",
        "storniert",
        "erstattet",
        "annule",
        "annulé",
        "rembourse",
        "remboursé",
    }
)


#: Statuses of rows that are not sent (a hidden row with one of them is not "included").
NOT_INCLUDED = frozenset({str(RowStatus.INVALID), str(RowStatus.SKIPPED)})


def _fold(text: str) -> str:
    return "".join(c for c in text.casefold() if c.isalnum())


@dataclass
class ChunkFacts:
    """What one chunk adds to the summary besides rows and amounts."""

    report_lines: int = 0
    report_amount: Decimal = Decimal(0)
    last_total: Decimal | None = None  # the amount of the last total line seen
    hidden_rows: int = 0
    #: Amounts of the hidden rows per currency, and of those among the rows to send (neither
    #: invalid nor skipped): what a filtered workbook adds to the total (see see_hidden).
    hidden_amounts: dict[str, Decimal] = field(default_factory=lambda: defaultdict(Decimal))
    hidden_included: int = 0
    hidden_included_amounts: dict[str, Decimal] = field(
        default_factory=lambda: defaultdict(Decimal)
    )
    hidden_skipped: int = 0  # hidden rows skipped because of skip_hidden
    left_out: int = 0  # rows of the file named by skip_rows
    null_cells: int = 0
    empty_triggers: int = 0
    not_sales: Counter[str] = field(default_factory=Counter)  # status value -> rows
    status_column: str | None = None

    def add_report_line(self, amount: Decimal | None, *, is_total: bool) -> None:
        """Count a subtotal, heading or footer line (and keep a total line's amount)."""
        self.report_lines += 1
        if amount is not None:
            self.report_amount += amount
            if is_total:
                self.last_total = amount

    def see_hidden(self, hidden: Iterable[int], statuses, amounts, currencies) -> None:
        """Add the amounts of a chunk's hidden rows (``hidden``: their indexes), and of those
        to be sent (by their final ``statuses``)."""
        for i in hidden:
            amount, currency = amounts[i], currencies[i] or ""
            included = str(statuses[i]) not in NOT_INCLUDED
            self.hidden_included += included
            if amount is None:
                continue
            self.hidden_amounts[currency] += amount
            if included:
                self.hidden_included_amounts[currency] += amount

    def count_statuses(self, values: Iterable[str], *, column: str) -> None:
        """Count the status cells that mark a row as not a real sale (refunded, voided...)."""
        self.status_column = column
        for value, count in Counter(values).items():
            if _fold(value) in NOT_SALES:
                self.not_sales[value.strip().lower()] += count


@dataclass
class Summary:
    """Control totals: rows and amounts in the file and per status; they must reconcile."""

    blank_rows: int = 0
    facts: ChunkFacts = field(default_factory=ChunkFacts)  # report lines, hidden rows, ...
    first_date: datetime | None = None
    last_date: datetime | None = None
    in_file: Totals = field(default_factory=Totals)
    by_status: dict[str, Totals] = field(default_factory=dict)

    def add_many(self, statuses, amounts, currencies) -> None:
        """Add a chunk of rows at once (aggregated per status and currency first)."""
        if len(set(statuses)) == 1 and len(set(currencies)) == 1:  # the usual clean chunk
            self._add_uniform(statuses[0], amounts, currencies[0], len(statuses))
            return
        rows: dict[tuple[str, str], int] = defaultdict(int)
        sums: dict[tuple[str, str], list] = defaultdict(list)
        for status, amount, currency in zip(statuses, amounts, currencies, strict=True):
            rows[(status, currency or "")] += 1
            if amount is not None:
                sums[(status, currency or "")].append(amount)
        for (status, currency), count in rows.items():
            totals = self.by_status.setdefault(str(status), Totals())
            totals.rows += count
            totals.rows_in[currency] += count
            self.in_file.rows += count
            self.in_file.rows_in[currency] += count
        for (status, currency), values in sums.items():
            total = sum(values, Decimal(0))
            self.by_status[str(status)].amounts[currency] += total
            self.in_file.amounts[currency] += total

    def merge(self, other: Summary) -> None:
        """Add another summary's rows and amounts (e.g. one chunk judged elsewhere)."""
        self.blank_rows += other.blank_rows
        self.notice(other.facts)
        self.see_date(other.first_date)
        self.see_date(other.last_date)
        for status, totals in other.by_status.items():
            mine = self.by_status.setdefault(status, Totals())
            mine.rows += totals.rows
            for currency, amount in totals.amounts.items():
                mine.amounts[currency] += amount
            for currency, count in totals.rows_in.items():
                mine.rows_in[currency] += count
        self.in_file.rows += other.in_file.rows
        for currency, count in other.in_file.rows_in.items():
            self.in_file.rows_in[currency] += count
        for currency, amount in other.in_file.amounts.items():
            self.in_file.amounts[currency] += amount

    def notice(self, facts: ChunkFacts) -> None:
        """Add a later part of the file's facts (chunks arrive in file order)."""
        mine = self.facts
        mine.report_lines += facts.report_lines
        mine.report_amount += facts.report_amount
        if facts.last_total is not None:
            mine.last_total = facts.last_total
        mine.hidden_rows += facts.hidden_rows
        mine.hidden_included += facts.hidden_included
        mine.hidden_skipped += facts.hidden_skipped
        mine.left_out += facts.left_out
        for currency, amount in facts.hidden_amounts.items():
            mine.hidden_amounts[currency] += amount
        for currency, amount in facts.hidden_included_amounts.items():
            mine.hidden_included_amounts[currency] += amount
        mine.null_cells += facts.null_cells
        mine.empty_triggers += facts.empty_triggers
        mine.not_sales.update(facts.not_sales)
        mine.status_column = mine.status_column or facts.status_column

    @property
    def report_lines(self) -> int:
        """Subtotal, heading and footer lines (skipped, not purchases)."""
        return self.facts.report_lines

    def see_date(self, value: datetime | None) -> None:
        """Widen the date range found in the file."""
        if value is None:
            return
        if self.first_date is None or value < self.first_date:
            self.first_date = value
        if self.last_date is None or value > self.last_date:
            self.last_date = value

    def _add_uniform(self, status, amounts, currency, count: int) -> None:
        totals = self.by_status.setdefault(str(status), Totals())
        totals.rows += count
        totals.rows_in[currency or ""] += count
        self.in_file.rows += count
        self.in_file.rows_in[currency or ""] += count
        known = [a for a in amounts if a is not None]
        if known:
            total = sum(known, Decimal(0))
            totals.amounts[currency or ""] += total
            self.in_file.amounts[currency or ""] += total

    def restate(self, was: str, now: str, currency: str, amount: Decimal | None) -> None:
        """Move one row of ``currency`` (and its amount) from status ``was`` to ``now``."""
        for status, step in ((was, -1), (now, 1)):
            totals = self.by_status.setdefault(status, Totals())
            totals.rows += step
            totals.rows_in[currency] += step
            if amount is not None:
                totals.amounts[currency] += step * amount
            if not totals.rows_in[currency]:  # no row of that currency left: no 0.00 shown
                del totals.rows_in[currency]
                totals.amounts.pop(currency, None)
        if not self.by_status[was].rows:
            del self.by_status[was]

    def count(self, status: RowStatus) -> int:
        """Rows with this status."""
        totals = self.by_status.get(str(status))
        return totals.rows if totals else 0

    def reconciles(self) -> bool:
        """True when the per-status rows and amounts add up to the file's."""
        rows = sum(t.rows for t in self.by_status.values())
        sums: dict[str, Decimal] = defaultdict(Decimal)
        for totals in self.by_status.values():
            for currency, amount in totals.amounts.items():
                sums[currency] += amount
        return rows == self.in_file.rows and dict(sums) == {
            k: v for k, v in self.in_file.amounts.items()
        }

    def as_dict(self) -> dict:
        """The totals as JSON-ready values (amounts as exact decimal text)."""
        return {
            "blank_rows": self.blank_rows,
            "report_lines": self.facts.report_lines,
            "report_lines_amount": format(self.facts.report_amount, "f"),
            "hidden_rows": self.facts.hidden_rows,
            "null_cells": self.facts.null_cells,
            "empty_trigger_rows": self.facts.empty_triggers,
            "first_date": self.first_date.isoformat() if self.first_date else None,
            "last_date": self.last_date.isoformat() if self.last_date else None,
            "in_file": self.in_file.as_dict(),
            "by_status": {k: v.as_dict() for k, v in sorted(self.by_status.items())},
            "reconciles": self.reconciles(),
        }


#: Next to amounts in named currencies, the amount of rows that name none (Keen books them in
#: the channel's currency).
NO_CURRENCY = "(no currency)"


def labelled_amounts(amounts: dict[str, Decimal]) -> list[tuple[str, Decimal]]:
    """(currency label, amount), by currency: rows without a currency have no label, or
    NO_CURRENCY when other amounts have one."""
    unnamed = NO_CURRENCY if len(amounts) > 1 else ""
    return [(code or unnamed, value) for code, value in sorted(amounts.items())]


def format_amounts(amounts: dict[str, Decimal]) -> str:
    """'12,345.50 USD + 800.00 EUR' (see :func:`labelled_amounts`: '3,402.50 (no currency)
    + 249.50 USD')."""
    if not amounts:
        return "0"
    parts = [f"{value:,.2f} {label}".strip() for label, value in labelled_amounts(amounts)]
    return " + ".join(parts)


def format_summary(summary: Summary, *, order: tuple[RowStatus, ...]) -> list[str]:
    """The one-screen summary, as lines."""
    lines = [
        f"  {'rows in file':<14} {summary.in_file.rows:>9,}   "
        f"{format_amounts(summary.in_file.amounts)}"
    ]
    for status in order:
        totals = summary.by_status.get(str(status))
        if totals is None:
            continue
        lines.append(f"  {str(status):<14} {totals.rows:>9,}   {format_amounts(totals.amounts)}")
    if summary.blank_rows:
        lines.append(f"  {'blank (ignored)':<14} {summary.blank_rows:>9,}")
    if summary.facts.report_lines:
        amount = summary.facts.report_amount
        lines.append(
            f"  {'report lines':<14} {summary.facts.report_lines:>9,}   "
            + (f"{amount:,.2f} " if amount else "")
            + "(subtotals, headings, footers: skipped, not in the total)"
        )
    verdict = "totals reconcile" if summary.reconciles() else "TOTALS DO NOT RECONCILE"
    lines.append(
        f"  {verdict}: rows and amounts per status add up to the file's"
        if summary.reconciles()
        else f"  {verdict}"
    )
    return lines
