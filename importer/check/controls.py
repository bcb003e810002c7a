"""Finance controls: the period gate (--period), expected control totals and date-range notes."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path

from importer.check.summary import Summary, format_amounts
from importer.errors import ConfigurationError, ControlTotalError

MONTH = re.compile(r"^\s*(\d{4})-(\d{1,2})\s*$")


@dataclass(frozen=True)
class Period:
    """A range of whole months, first day inclusive, ``end`` exclusive (local dates)."""

    start: date
    end: date
    label: str

    def contains(self, day: date) -> bool:
        """True when ``day`` falls inside the period."""
        return self.start <= day < self.end


def parse_period(text: str) -> Period:
    """``2026-03`` or ``2026-01..2026-03`` -> Period."""
    first, _, last = text.partition("..")
    start = _month(first, text)
    stop = _month(last, text) if last else start
    if stop < start:
        raise ConfigurationError(f"--period {text!r} ends before it starts")
    end = date(stop.year + (stop.month == 12), stop.month % 12 + 1, 1)
    return Period(start=start, end=end, label=text.strip())


def _month(part: str, whole: str) -> date:
    match = MONTH.match(part)
    if not match or not 1 <= int(match.group(2)) <= 12:
        raise ConfigurationError(
            f"--period {whole!r} is not a month (YYYY-MM) or a range (YYYY-MM..YYYY-MM)"
        )
    return date(int(match.group(1)), int(match.group(2)), 1)


@dataclass(frozen=True)
class ExpectedTotal:
    """A control total given by the user: an amount, optionally in one currency."""

    amount: Decimal
    currency: str | None


def parse_expected_total(text: str) -> ExpectedTotal:
    """``12345.67`` or ``12345.67:EUR`` -> ExpectedTotal."""
    amount, _, currency = text.partition(":")
    try:
        value = Decimal(amount.strip().replace(",", ""))
    except InvalidOperation:
        raise ConfigurationError(
            f"--expect-total {text!r} is not AMOUNT or AMOUNT:CURRENCY"
        ) from None
    return ExpectedTotal(value, currency.strip().upper() or None)


def expected_rows(value: object) -> int | None:
    """``expect_rows`` given in Python: a whole number of rows, or its digits as text."""
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if value is None or (type(value) is int and value >= 0):
        return value
    raise ConfigurationError(f"expect_rows must be a whole number of rows, not {value!r}")


def expected_total_text(value: object) -> str | None:
    """``expect_total`` given in Python as the text --expect-total takes (checked now): the
    text itself, an int, a Decimal, or a float whose digits are its exact value (3750.5; 0.1
    is not exactly 0.1: give it as text)."""
    if isinstance(value, float) and Decimal(str(value)) == Decimal(value):
        value = str(value)
    elif isinstance(value, Decimal) and value.is_finite() or type(value) is int:
        value = format(value, "f") if isinstance(value, Decimal) else str(value)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ConfigurationError(
            f"expect_total must be an amount (text such as '3750.00:EUR', an int or a "
            f"Decimal; a float only when exact), not {value!r}"
        )
    parse_expected_total(value)
    return value


def check_control_totals(
    summary: Summary, *, expect_rows: int | None, expect_total: ExpectedTotal | None
) -> list[str]:
    """Compare the file with the user's control totals; raises ControlTotalError on a mismatch.

    Rows counted are the file's purchase rows (blank rows and report lines excluded); the
    amount is the sum of every amount that could be read, in the given currency if one is named.
    """
    lines = file_total_line(summary, stop=expect_total is not None)
    rows = summary.in_file.rows - summary.report_lines
    if expect_rows is not None:
        if rows != expect_rows:
            raise ControlTotalError(
                f"control total mismatch: the file has {rows:,} purchase rows, expected "
                f"{expect_rows:,} (difference {rows - expect_rows:+,})",
                hint="check the export is complete, or correct --expect-rows",
            )
        lines.append(f"rows match the control total ({expect_rows:,})")
    if expect_total is not None:
        amounts = summary.in_file.amounts
        code = expect_total.currency
        if code is None:
            found = sum(amounts.values(), Decimal(0))
        else:
            found = amounts.get(code, Decimal(0))
            if code not in amounts and "" in amounts and len(amounts) == 1:
                found = amounts[""]  # the file names no currency: take the user's word for it
        if found != expect_total.amount:
            raise ControlTotalError(
                f"control total mismatch: amounts in the file add up to {found:,} {code or ''}"
                f" but {expect_total.amount:,} was expected (difference "
                f"{found - expect_total.amount:+,})".replace("  ", " "),
                hint="check the export is complete, or correct --expect-total",
            )
        lines.append(f"amount matches the control total ({format_amounts({code or '': found})})")
    return lines


MONTHLY_NAME = re.compile(
    r"((19|20)\d\d[-_ .]?(0[1-9]|1[0-2])(?!\d))|(?<![a-z])(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|"
    r"nov|dec)[a-z]*(?![a-z])",
    re.I,
)


def date_range_notes(summary: Summary, source: Path, *, period: Period | None) -> list[str]:
    """The date range found, and a warning when a monthly file spans several months."""
    if summary.first_date is None or summary.last_date is None:
        return []
    first, last = summary.first_date.date(), summary.last_date.date()
    notes = [f"dates from {first.isoformat()} to {last.isoformat()}"]
    months = (last.year - first.year) * 12 + last.month - first.month + 1
    if period is None and months > 1 and MONTHLY_NAME.search(source.stem):
        notes.append(
            f"warning: {source.name} looks like a monthly file but its dates span {months} "
            "months; use --period YYYY-MM to reject rows outside the month"
        )
    return notes


def file_total_line(summary: Summary, *, stop: bool) -> list[str]:
    """Compare the file's last total line with the sum of its purchase rows.

    A mismatch is a warning, or a ControlTotalError when ``stop`` (--expect-total given).
    """
    stated = summary.facts.last_total
    if stated is None:
        return []
    found = sum(summary.in_file.amounts.values(), Decimal(0))
    if found == stated:
        return [f"the file's total line ({stated:,.2f}) matches the sum of its purchase rows"]
    facts = summary.facts
    hidden = sum(facts.hidden_amounts.values(), Decimal(0))
    if hidden and found - hidden == stated and facts.hidden_skipped == facts.hidden_rows:
        return [
            f"the file's total line ({stated:,.2f}) matches the sum of its purchase rows "
            f"without the {_hidden(facts.hidden_rows)} (skipped)"
        ]
    text = (
        f"the file's total line says {stated:,.2f} but its purchase rows add up to "
        f"{found:,.2f} (difference {found - stated:+,.2f})"
    )
    if hidden and found - hidden == stated:
        text += f"; the difference is the {_hidden(facts.hidden_rows)} ({hidden:,.2f})"
    if stop:
        raise ControlTotalError(
            f"control total mismatch: {text}",
            hint="check the export is complete (hidden or filtered rows, a page cut off)",
        )
    return [f"warning: {text}"]


def _hidden(rows: int) -> str:
    return "hidden row" if rows == 1 else f"{rows:,} hidden rows"


def file_notes(summary: Summary) -> list[str]:
    """What the summary should say about rows that need a second look."""
    facts = summary.facts
    notes = []
    if facts.hidden_rows and facts.hidden_skipped == facts.hidden_rows:
        notes.append(
            f"{facts.hidden_rows:,} rows are hidden in the workbook (by hand or by a filter): "
            "skipped (--skip-hidden)"
        )
    elif facts.hidden_rows:
        notes.append(
            f"warning: {facts.hidden_rows:,} rows are hidden in the workbook (by hand or by a "
            "filter); they carry the warning 'hidden in the workbook': --skip-hidden skips them"
        )
    if facts.null_cells:
        notes.append(
            f"{facts.null_cells:,} cells read NULL or \\N (a database dump): read as empty; "
            "--keep-null keeps them as text"
        )
    if facts.empty_triggers:
        notes.append(
            f"warning: {facts.empty_triggers:,} rows have an empty trigger_ids cell: Keen fires "
            "every active purchase trigger of their channel for them"
        )
    if facts.not_sales:
        counts = ", ".join(f"{n:,} {value}" for value, n in sorted(facts.not_sales.items()))
        column = facts.status_column
        notes.append(
            f"warning: column {column!r} marks rows as not real sales ({counts}); keep only "
            f"the sales with --where '{column}=VALUE[,VALUE...]'"
        )
    return notes
