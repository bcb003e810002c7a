"""Excel-damage detection: find the cells Excel has silently changed before the file reached us.

Pure functions over the text cells of one column (no I/O, no pandas). Each scan returns one
``Finding`` per damaged row, in row order; a row gets at most one finding (the first rule that
matches, in the order listed below). ``severity`` is ``"invalid"`` when the value cannot be right
and ``"warning"`` when it may be.

Rules
-----
All columns
  * ``"########"``: what Excel writes when a number or date column is too narrow -> invalid.
  * Excel error values (``#N/A``, ``#REF!``, ``#VALUE!``, ...): a failed formula -> invalid.
  * A formula instead of its value (``=B2*1.25``): a workbook saved by a program that does not
    calculate formulas (the loader shows such cells as their formula) -> invalid.
Identifier columns (``scan_identifier_column``: reference, legacy_lead_id, numeric product names)
  * Scientific notation with an explicit exponent sign, as Excel and Python show numbers
    ("1.23457E+15", "1.2e+16", "4,5E+12") -> invalid: the digits are already gone. Codes such as
    "12E34" (no sign) are left alone: Excel never writes that form.
  * A purely numeric value with more than 15 digits: Excel keeps 15 significant digits. When
    every digit after the 15th is zero and there are at least 3 of them ("1234567890123450000"),
    that is what Excel's rounding writes (a real id ends so with odds of 1 in 1,000 or less)
    -> invalid; otherwise -> warning. A value with leading zeros was text in Excel (a number
    would have lost them), so it is not reported.
  * Date serials: a 5-digit value from 36526 (2000-01-01) to 55153 (2050-12-31) in a column whose
    non-empty values are at least 80 % non-numeric text (and at least 5 of them) -> warning.
  * Lost leading zeros: when at least 80 % (and at least 5) of the all-digit values share one
    width W and at least one of those has a leading zero, the shorter all-digit values that do
    not start with "0" -> warning. The reason quotes the first W-wide value with a leading zero
    as the example and the value padded to W as the likely original.
Amount columns (``scan_amount_column``)
  * A date where an amount belongs ("2026-10-01", "01/10/2026", "01.10.2026", "01.10.", "1-Oct",
    "Oct-01", "1. Okt"; English and German month abbreviations) -> invalid. The reason names
    the amount that was probably typed: Excel turns "1.10" into 1 October in locales where "."
    separates dates, which are day-first, so an ambiguous "01/10/2026" is read as day 1 of
    October; "10/13/2026" can only be month-first. Months 1-9 have two candidates: 1 February
    came from "1.02" or "1.2". When the dates are most of the column (at least 5 and more than
    half), the column is probably mapped wrongly and the reason says so instead.
  * Scientific notation ("1.5E+03") -> invalid.
  * A whole 5-digit date serial (36526-55153) that is at least 100 times the median of the
    column's plain amounts (at least 5 of them) -> warning: the date Excel made from "1.10" has
    been formatted back into a number. Only a warning: such an amount can be real.
Date columns (``scan_date_column``)
  * Only the "All columns" rules: serials with a time fraction ("45678.0416666667") and columns
    that mix two date formats are not damage; ``parse_date`` decides those.

Column statistics (the fixed width, the share of text values, the median amount) are computed on
the values given. The loader hands over one chunk at a time, so a chunk boundary can change them;
pass the whole column when it is available.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta

__all__ = ["Finding", "scan_amount_column", "scan_date_column", "scan_identifier_column"]

INVALID = "invalid"
WARNING = "warning"


@dataclass(frozen=True)
class Finding:
    """One damaged cell: its position in the values list, ``"invalid"``/``"warning"``, and why."""

    index: int
    severity: str
    reason: str


# --------------------------------------------------------------------------------------------
# Shared patterns
# --------------------------------------------------------------------------------------------

_HASHES = re.compile(r"#+")
_FORMULA = re.compile(r"=[A-Za-z0-9_$(+-].*", re.S)  # "=B2*1.25", "=SUM(C2:C9)", "=-A1"
DISPLAY_MARKS = "#="  # the first characters of what _display_damage finds
_EXCEL_ERRORS = frozenset(
    {
        "#N/A",
        "#NULL!",
        "#DIV/0!",
        "#VALUE!",
        "#REF!",
        "#NAME?",
        "#NUM!",
        "#SPILL!",
        "#CALC!",
        "#FIELD!",
        "#BLOCKED!",
        "#CONNECT!",
        "#BUSY!",
        "#UNKNOWN!",
        "#GETTING_DATA",
    }
)
_SCIENTIFIC = re.compile(r"[+-]?\d+(?:[.,]\d+)?[eE][+-]\d{1,3}")

_SERIAL_FIRST = 36526  # 2000-01-01
_SERIAL_LAST = 55153  # 2050-12-31
_SERIAL_EPOCH = date(1899, 12, 30)  # Excel's 1900 date system, with its phantom 1900-02-29
_MOSTLY = 0.8
_MIN_EVIDENCE = 5


def _display_damage(column: str, shown: str) -> tuple[str, str] | None:
    """Finding for "####", Excel error values and formulas, which can appear in any column."""
    if _FORMULA.fullmatch(shown):
        return _invalid(
            f"{column} '{shown}' is a formula whose result was never calculated (the file was "
            "saved by a program that does not calculate formulas): open it in Excel or "
            "LibreOffice Calc, save it, and import it again"
        )
    if _HASHES.fullmatch(shown):
        return _invalid(
            f"{column} '{shown}' is what Excel shows when a column is too narrow; "
            "widen the column in Excel and export again"
        )
    if shown.upper() in _EXCEL_ERRORS:
        return _invalid(
            f"{column} '{shown}' is an Excel error value: the formula in that cell failed; "
            "correct it in Excel and export again"
        )
    return None


def _invalid(reason: str) -> tuple[str, str]:
    return INVALID, reason


def _warning(reason: str) -> tuple[str, str]:
    return WARNING, reason


def _serial_date(serial: int) -> date:
    return _SERIAL_EPOCH + timedelta(days=serial)


def _findings(values: list[str], flagged: dict[str, tuple[str, str]]) -> list[Finding]:
    if not flagged:
        return []
    return [Finding(i, *flagged[v]) for i, v in enumerate(values) if v in flagged]


# --------------------------------------------------------------------------------------------
# Identifier columns
# --------------------------------------------------------------------------------------------


def scan_identifier_column(values: list[str], *, column: str) -> list[Finding]:
    """Find ids and references that Excel has rounded, shortened or turned into dates.

    ``values`` are the cells of one column as text; ``column`` is the name used in the reasons
    ("reference"). Only call it for id-like columns: reference, legacy_lead_id, product_name
    when it holds codes.

    >>> scan_identifier_column(["INV-1", "1.23457E+15"], column="reference")[0].severity
    'invalid'
    """
    counts = Counter(values)
    flagged: dict[str, tuple[str, str]] = {}
    digits: list[tuple[str, str]] = []  # (cell, shown) of all-digit values not yet flagged
    widths: Counter[int] = Counter()
    zero_example: dict[int, str] = {}  # width -> first value of that width with a leading zero
    non_empty = numeric = 0

    for cell, n in counts.items():
        shown = cell.strip()
        if not shown:
            continue
        non_empty += n
        if shown.isdigit() and shown.isascii():
            numeric += n
            width = len(shown)
            widths[width] += n
            if shown[0] == "0":
                zero_example.setdefault(width, shown)
            elif width > 15:
                flagged[cell] = _too_many_digits(column, shown)
                continue
            digits.append((cell, shown))
        elif shown[0] in DISPLAY_MARKS:
            if (found := _display_damage(column, shown)) is not None:
                flagged[cell] = found
        elif ("e" in shown or "E" in shown) and _SCIENTIFIC.fullmatch(shown):
            numeric += n
            flagged[cell] = _invalid(
                f"{column} '{shown}' is in scientific notation: Excel has already rounded it; "
                "re-export the column as text"
            )

    text = non_empty - numeric
    if text >= _MIN_EVIDENCE and text >= _MOSTLY * non_empty:
        for cell, shown in digits:
            if len(shown) == 5 and _SERIAL_FIRST <= int(shown) <= _SERIAL_LAST:
                flagged[cell] = _warning(
                    f"{column} '{shown}' looks like an Excel date serial "
                    f"({_serial_date(int(shown)).isoformat()}): the cell may have been converted "
                    "to a date; check it and re-export the column as text"
                )

    if widths:
        width, count = widths.most_common(1)[0]
        total = sum(widths.values())
        if count >= _MIN_EVIDENCE and count >= _MOSTLY * total and width in zero_example:
            example = zero_example[width]
            for cell, shown in digits:
                if len(shown) < width and shown[0] != "0" and cell not in flagged:
                    flagged[cell] = _warning(
                        f"{column} '{shown}' is shorter than the others ({width} digits, e.g. "
                        f"'{example}'): Excel may have dropped leading zeros; if it should be "
                        f"'{shown.zfill(width)}', re-export the column as text"
                    )

    return _findings(values, flagged)


def _too_many_digits(column: str, shown: str) -> tuple[str, str]:
    width = len(shown)
    if width >= 18 and not shown[15:].strip("0"):
        return _invalid(
            f"{column} '{shown}' has {width} digits ending in zeros: Excel keeps only 15 digits "
            "and has rounded the rest to 0; re-export the column as text"
        )
    return _warning(
        f"{column} '{shown}' has {width} digits; Excel keeps only 15, so it may have been "
        "rounded; check it against the source and re-export the column as text"
    )


# --------------------------------------------------------------------------------------------
# Amount columns
# --------------------------------------------------------------------------------------------

_MONTHS = {
    "january": 1,
    "february": 2,
    "march": 3,
    "april": 4,
    "june": 6,
    "july": 7,
    "august": 8,
    "september": 9,
    "october": 10,
    "november": 11,
    "december": 12,
    "jan": 1,
    "feb": 2,
    "mar": 3,
    "mär": 3,
    "mrz": 3,
    "apr": 4,
    "may": 5,
    "mai": 5,
    "jun": 6,
    "jul": 7,
    "aug": 8,
    "sep": 9,
    "sept": 9,
    "oct": 10,
    "okt": 10,
    "nov": 11,
    "dec": 12,
    "dez": 12,
}
_MONTH_NAMES = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
_DAYS_IN_MONTH = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)

_MONTH = "(" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\.?"
_TIME = r"(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?"
_YEAR_FIRST = re.compile(r"\d{4}([-/.])(\d{1,2})\1(\d{1,2})" + _TIME)
_NUMERIC = re.compile(r"(\d{1,2})([-/.])(\d{1,2})\2(?:\d{4}|\d{2})" + _TIME)
_DOTTED_SHORT = re.compile(r"(\d{1,2})\.(\d{1,2})\.")
_DAY_MONTH = re.compile(r"(\d{1,2})\.?[-/ ]?" + _MONTH + r"(?:[-/ ]?(?:\d{4}|\d{2}))?", re.I)
_MONTH_DAY = re.compile(_MONTH + r"[-/ ]?(\d{1,2})(?:,?[-/ ]?(?:\d{4}|\d{2}))?", re.I)
_PLAIN_AMOUNT = re.compile(r"\d{1,15}(?:[.,]\d{1,2})?")
_WHOLE_SERIAL = re.compile(r"(\d{5})(?:[.,]0{1,2})?")


def _day_month(shown: str) -> tuple[int, int] | None:
    """(day, month) of a value that looks like a date, or None."""
    if m := _YEAR_FIRST.fullmatch(shown):
        day, month = int(m[3]), int(m[2])
    elif m := _NUMERIC.fullmatch(shown):
        first, second = int(m[1]), int(m[3])
        # Excel only turns amounts into dates where "." separates dates: day-first locales.
        if m[2] != "." and second > 12 >= first:
            day, month = second, first
        else:
            day, month = first, second
    elif m := _DOTTED_SHORT.fullmatch(shown):
        day, month = int(m[1]), int(m[2])
    elif m := _DAY_MONTH.fullmatch(shown):
        day, month = int(m[1]), _MONTHS[m[2].lower()]
    elif m := _MONTH_DAY.fullmatch(shown):
        day, month = int(m[2]), _MONTHS[m[1].lower()]
    else:
        return None
    if 1 <= month <= 12 and 1 <= day <= _DAYS_IN_MONTH[month - 1]:
        return day, month
    return None


def _typed_amount(day: int, month: int) -> str:
    """The amount(s) whose typing gives this day and month: 1 Oct <- 1.10, 1 Feb <- 1.02 or 1.2."""
    if month >= 10:
        return f"{day}.{month}"
    return f"{day}.0{month} or {day}.{month}"


def scan_amount_column(values: list[str], *, column: str) -> list[Finding]:
    """Find amounts that Excel has turned into dates or shows in scientific notation.

    ``column`` is the name used in the reasons ("amount").

    >>> scan_amount_column(["12.50", "1-Oct"], column="amount")[0].reason
    "amount '1-Oct' looks like a date: Excel probably turned 1.10 into 1 October; re-enter the amount as a number"
    """  # noqa: E501
    counts = Counter(values)
    flagged: dict[str, tuple[str, str]] = {}
    dates: dict[str, tuple[str, tuple[int, int]]] = {}
    plain: list[tuple[str, int]] = []  # (shown, rows) of plain amounts, parsed only if needed
    serials: list[tuple[str, str, int]] = []  # (cell, shown, serial)
    non_empty = dated = plain_rows = 0

    for cell, n in counts.items():
        shown = cell.strip()
        if not shown:
            continue
        non_empty += n
        if _PLAIN_AMOUNT.fullmatch(shown):
            if (
                len(shown) in (5, 7, 8)
                and (m := _WHOLE_SERIAL.fullmatch(shown))
                and _SERIAL_FIRST <= (serial := int(m[1])) <= _SERIAL_LAST
            ):
                serials.append((cell, shown, serial))
            else:
                plain.append((shown, n))
                plain_rows += n
        elif shown[0] in DISPLAY_MARKS:
            if (found := _display_damage(column, shown)) is not None:
                flagged[cell] = found
        elif ("e" in shown or "E" in shown) and _SCIENTIFIC.fullmatch(shown):
            flagged[cell] = _invalid(
                f"{column} '{shown}' is in scientific notation: Excel shows the amount rounded; "
                "format the column as Number in Excel and export again"
            )
        elif (day_month := _day_month(shown)) is not None:
            dates[cell] = shown, day_month
            dated += n

    mis_mapped = dated >= _MIN_EVIDENCE and dated * 2 > non_empty
    for cell, (shown, (day, month)) in dates.items():
        if mis_mapped:
            flagged[cell] = _invalid(
                f"{column} '{shown}' is a date, as are most values in this column: check that "
                f"the right column is mapped to {column}"
            )
        else:
            flagged[cell] = _invalid(
                f"{column} '{shown}' looks like a date: Excel probably turned "
                f"{_typed_amount(day, month)} into {day} {_MONTH_NAMES[month - 1]}; "
                "re-enter the amount as a number"
            )

    if serials and plain_rows >= _MIN_EVIDENCE:
        limit = 100 * _median([(float(shown.replace(",", ".")), n) for shown, n in plain])
        for cell, shown, serial in serials:
            if serial >= limit:
                when = _serial_date(serial)
                flagged[cell] = _warning(
                    f"{column} '{shown}' looks like an Excel date serial ({when.isoformat()}) and "
                    "is far larger than the other amounts: Excel may have turned "
                    f"{_typed_amount(when.day, when.month)} into a date and then into a number; "
                    "check the amount"
                )

    return _findings(values, flagged)


def _median(weighted: list[tuple[float, int]]) -> float:
    """Median of values that occur ``n`` times each (the lower middle for an even count)."""
    ordered = sorted(weighted)
    middle = (sum(n for _, n in ordered) + 1) // 2
    seen = 0
    for value, n in ordered:
        seen += n
        if seen >= middle:
            return value
    raise ValueError("median of no values")


# --------------------------------------------------------------------------------------------
# Date columns
# --------------------------------------------------------------------------------------------


def scan_date_column(values: list[str], *, column: str) -> list[Finding]:
    """Find "####" cells and Excel error values in a date column; ``parse_date`` does the rest.

    Serials with a time fraction ("45678.0416666667") and a mix of two date formats are not
    damage and are not reported.
    """
    flagged: dict[str, tuple[str, str]] = {}
    for cell in set(values):
        shown = cell.strip()
        if (
            shown
            and shown[0] in DISPLAY_MARKS
            and (found := _display_damage(column, shown)) is not None
        ):
            flagged[cell] = found
    return _findings(values, flagged)
