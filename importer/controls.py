"""Finance controls: the period gate, control totals, the audit manifest and the reversal list."""

from __future__ import annotations

import csv
import hashlib
import json
import os
import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path

from .errors import ConfigurationError, ControlTotalError
from .reconciler import Summary, format_amounts, neutralise

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


def check_control_totals(
    summary: Summary, *, expect_rows: int | None, expect_total: ExpectedTotal | None
) -> list[str]:
    """Compare the file with the user's control totals; raises ControlTotalError on a mismatch.

    Rows counted are the file's purchase rows (blank rows and totals footers excluded); the
    amount is the sum of every amount that could be read, in the given currency if one is named.
    """
    lines = []
    rows = summary.in_file.rows - summary.footer_rows
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


def write_json_atomic(path: Path, data: dict) -> Path:
    """Write JSON to a temporary name, then rename it into place."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=2, default=str), encoding="utf-8")
    os.replace(tmp, path)
    return path


def manifest_path(results_path: Path, source: Path) -> Path:
    """``<input stem>.manifest.json`` beside the results file."""
    return results_path.with_name(f"{source.stem}.manifest.json")


def created_list_path(results_path: Path, source: Path) -> Path:
    """``<input stem>.created.csv`` beside the results file."""
    return results_path.with_name(f"{source.stem}.created.csv")


class CreatedListWriter:
    """``<stem>.created.csv``: every purchase the import created, for a reversal request."""

    HEADER = ["row", "purchase_id", "lead_id", "purchase_amount", "date", "reference"]

    def __init__(self, path: Path) -> None:
        self.path = path
        self.tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        self._handle = open(self.tmp, "w", encoding="utf-8-sig", newline="")  # noqa: SIM115
        self._csv = csv.writer(self._handle)
        self._csv.writerow(self.HEADER)
        self._ids: set[str] = set()
        self.rows = 0

    def add(
        self,
        row: int,
        purchase_id: str,
        lead_id: str | None,
        amount: Decimal | None,
        when: datetime | None,
        reference: str | None,
    ) -> None:
        """List one created purchase (a purchase id is listed once)."""
        if purchase_id in self._ids:
            return
        self._ids.add(purchase_id)
        self.rows += 1
        self._csv.writerow(
            [
                row,
                purchase_id,
                lead_id or "",
                "" if amount is None else format(amount, "f"),
                when.isoformat().replace("+00:00", "Z") if when else "",
                neutralise(reference or ""),
            ]
        )

    def commit(self) -> None:
        """Finish the list and move it to its final name."""
        self._handle.close()
        os.replace(self.tmp, self.path)

    def abort(self) -> None:
        """Drop the temporary file."""
        self._handle.close()
        self.tmp.unlink(missing_ok=True)


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


def build_manifest(
    *,
    command: str,
    source: Path,
    sha256: str,
    sheet: str | None,
    columns: dict[str, str],
    options: dict,
    api_url: str | None,
    started: datetime,
    finished: datetime,
    summary: Summary,
    results_path: Path | None,
    extra: dict | None = None,
) -> dict:
    """The audit manifest of one validate/run (never contains the API key)."""
    from . import __version__

    data = {
        "tool": "keen-import",
        "version": __version__,
        "command": command,
        "input": {
            "name": source.name,
            "path": str(source.resolve()),
            "size_bytes": source.stat().st_size,
            "sha256": sha256,
            "sheet": sheet,
        },
        "mapping": columns,
        "options": {k: v for k, v in options.items() if "key" not in k.lower()},
        "api_url": api_url,
        "started_at": started.isoformat(),
        "finished_at": finished.isoformat(),
        "summary": summary.as_dict(),
        "results": str(results_path) if results_path else None,
    }
    if extra:
        data.update(extra)
    return data


def file_sha256(path: Path) -> str:
    """SHA-256 of a file's bytes (identifies an input across runs)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(4 * 1024 * 1024):
            digest.update(block)
    return digest.hexdigest()
