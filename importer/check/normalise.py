"""Pure parsing of the text cells of a purchase file: money, dates, ids, lists, text.

Every function takes the cell text (plus options) and returns a clean value or raises
``ValueError(reason)``, where the reason is written for a finance user: what is wrong, the value
found, and what to do. No I/O, no pandas, no global state: each function is a plain function of
``(text, options)``, so callers may cache results per distinct value of a column.

Conventions chosen
------------------
Amounts
  * The decimal separator is decided once per column (``detect_decimal_separator``), never per
    cell. With decimal ".", thousands separators may be "," space NBSP narrow-NBSP thin-space or
    an apostrophe ("1'500.00"); with decimal ",", the same with "." instead of ",".
  * Thousands separators must group by 3 ("1,500,000"); one kind per value.
  * A currency symbol ($ € £ ¥ kr CHF) or a 3-letter upper-case code may stand before or after.
  * Negative amounts ("-12", "12-", "(12.00)", also "-0") are refused: refunds are not imported.
    Zero is accepted (whether a zero purchase makes sense is the record's business).
  * The result keeps the decimals as written ("1500.00" -> Decimal("1500.00")), never an exponent.
  * Decimal evidence: "2,25" (1, 2 or 4+ digits after a single separator) or "1.500,00" (last of
    two different separators) is decisive; "1,500" / "1.500" alone is not. A separator that can
    not be a thousands separator ("1234.567", "0,500") or one that occurs twice ("1,500,000") is
    decisive too. Ties give None.
  * Evidence both ways ("2,25" and "4.75" in one column) is no answer for the values that read
    both ways: ``both_separators`` names one value of each, and ``parse_amount`` refuses
    "1.500" and "1,500" there (1500 or 1.5?) rather than read them as the majority writes;
    every other value keeps its only reading, as a date column written both ways does.
Dates
  * Output is an aware datetime in UTC. Values without an offset are wall-clock time in ``tz``;
    date-only values mean midnight in ``tz``. DST follows Python (fold=0): a local time skipped
    by the spring jump is read with the offset before the jump, a repeated autumn hour as its
    first (summer-time) occurrence.
  * Day-first evidence is per value ("23/04/2026" can only be day-first, "04/23/2026" only
    month-first). Evidence one way decides the column, and a value that contradicts that
    reading is refused. No evidence gives None (the caller stops and asks for --day-first /
    --month-first). Evidence both ways is no majority vote: the file proves both orders are
    written, so ``both_orders`` names one value of each, each unambiguous value keeps its only
    reading, and ``parse_date`` refuses the ambiguous ones ("03/04/2026", dotted too).
  * Day-first vs month-first is decided per column (``detect_day_first``). Dotted dates
    ("05.04.2026") are the European day-first convention: a column whose only ambiguous evidence
    is dotted dates is day-first, ``parse_date`` reads a dotted date day-first when the column
    setting is None, and refuses an ambiguous dotted date in a month-first column.
    Year-first dates ("2026/04/21") are always year-month-day.
  * Two-digit years: 00-69 -> 2000-2069, 70-99 -> 1970-1999.
  * Plain numbers are Excel serial dates (1900 date system; with ``date1904``, for a workbook
    saved in the 1904 date system, counted from 1904-01-01), fractions are the time of day
    rounded to the second, but only from 1970-01-01 (25569; 24107 in 1904) to 2099-12-31
    (73050; 71588): a smaller or larger number in a date column ("12", "500.00", an amount or a
    day of the month in the wrong column) is refused rather than sent as a purchase of 1900.
    Eight digits ("20260421") are read as YYYYMMDD.
  * Month names are English, full or abbreviated ("21 Apr 2026", "Apr 21, 2026", "April 21 2026").
Ids
  * UUIDs: any case, spaces, braces, "urn:uuid:" prefix, or 32 hex digits -> lowercase 8-4-4-4-12.
  * Legacy ids: positive whole numbers; "12345.0" (an Excel number cell) is accepted, "12,345" is
    refused as ambiguous.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from decimal import Decimal
from itertools import filterfalse

from importer.currencies import SYMBOLS

__all__ = [
    "amount_currency",
    "both_orders",
    "both_separators",
    "date_warnings",
    "decimal_vote",
    "detect_day_first",
    "detect_decimal_separator",
    "is_serial_date",
    "parse_amount",
    "parse_currency",
    "parse_date",
    "parse_legacy_id",
    "parse_number_like_text",
    "parse_text",
    "parse_uuid",
    "parse_uuid_list",
    "vague_currency_mark",
    "without_marks",
]

# --------------------------------------------------------------------------------------------
# Amounts and currencies
# --------------------------------------------------------------------------------------------


#: Currency names finance systems print instead of the code (Xero, Sage, NetSuite exports).
CURRENCY_NAMES: dict[str, str] = {
    "us dollar": "USD",
    "us dollars": "USD",
    "u.s. dollar": "USD",
    "united states dollar": "USD",
    "euro": "EUR",
    "euros": "EUR",
    "pound sterling": "GBP",
    "british pound": "GBP",
    "great british pound": "GBP",
    "danish krone": "DKK",
    "danish kroner": "DKK",
    "swedish krona": "SEK",
    "swedish kronor": "SEK",
    "norwegian krone": "NOK",
    "norwegian kroner": "NOK",
    "icelandic krona": "ISK",
    "swiss franc": "CHF",
    "japanese yen": "JPY",
    "canadian dollar": "CAD",
    "australian dollar": "AUD",
    "new zealand dollar": "NZD",
    "polish zloty": "PLN",
    "czech koruna": "CZK",
    "hungarian forint": "HUF",
}

#: Keen refuses an amount of 10**15 or more ("purchase_amount is out of range"). The plain
#: forms below stop there, and parse_amount refuses a longer amount of any other form.
MAX_WHOLE_DIGITS = 15
_WHOLE = rf"\d{{1,{MAX_WHOLE_DIGITS}}}"
PLAIN_POINT_AMOUNT = re.compile(_WHOLE + r"(?:\.\d{1,2})?")
PLAIN_COMMA_AMOUNT = re.compile(_WHOLE + r"(?:,\d{1,2})?")
PLAIN_POINT_DECIMALS = re.compile(_WHOLE + r"\.\d{1,2}")  # evidence of a decimal point
PLAIN_COMMA_DECIMALS = re.compile(_WHOLE + r",\d{1,2}")  # evidence of a decimal comma
PLAIN_AMOUNT = re.compile(_WHOLE + r"(?:[.,]\d{1,2})?")  # either of those, or bare digits
#: Characters that show nothing and mean nothing in a cell copied from a web page, a PDF or a
#: right-to-left document: zero-width space, non-joiner, joiner and word joiner, the BOM, and
#: the bidi marks (LRM, RLM, ALM, embeddings, overrides, isolates). Text keeps those inside it
#: (a joiner shapes a word); amounts and dates hold none (:func:`without_marks`).
INVISIBLE_MARKS = (
    "\u200b\u200c\u200d\u2060\ufeff\u200e\u200f\u061c"
    "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)
#: What parse_text trims besides ASCII whitespace: the spaces Excel and accounting systems write
#: (no-break, narrow no-break, thin) and the invisible marks.
UNUSUAL_BLANKS = "\u00a0\u202f\u2009" + INVISIBLE_MARKS
_NO_MARKS = dict.fromkeys(map(ord, INVISIBLE_MARKS))
_SPACES = str.maketrans(
    {"\u00a0": " ", "\u202f": " ", "\u2009": " ", "\u2019": "'", "\u2212": "-", **_NO_MARKS}
)
# Lower-case codes are accepted only for common currencies ("1500 eur"): any three letters
# would also let typos such as "l5O0 abc" through as a currency mark.
_LOWER_CODES = "usd|eur|gbp|dkk|sek|nok|chf|jpy|cad|aud|nzd|pln|czk|huf|isk"
# "15 Euro", "Euros 15": the word is as plain as the sign (dollars are not: several currencies).
_WORDS = {"euro": "EUR", "euros": "EUR"}
_CURRENCY_PREFIX = re.compile(
    r"(US\$|[$€£¥]|(?i:euros?)(?![A-Za-z])|kr\.?(?![a-z])|[A-Z]{3}(?![A-Za-z])|(?:"
    + _LOWER_CODES
    + r")(?![A-Za-z]))\s*"
)
_CURRENCY_SUFFIX = re.compile(
    r"\s*(US\$|[$€£¥]|(?<![A-Za-z])(?i:euros?)|(?<![A-Za-z])kr\.?|(?<![A-Za-z])[A-Z]{3}|"
    r"(?<![A-Za-z])(?:" + _LOWER_CODES + r"))$"
)
_WHOLE_DASH = re.compile(r"[.,]-{1,2}$")  # "1500,-": a whole amount, common in DE/AT/CH/DK
_SCIENTIFIC = re.compile(r"[+-]?\d*[.,]?\d+[eE][+-]?\d+")
_NOT_FINITE = frozenset({"nan", "inf", "infinity", "+inf", "-inf", "+infinity", "-infinity"})
_NUMBER_CHARS = re.compile(r"[0-9.,' ]+")
_THOUSANDS = {".": ",", ",": "."}
_GROUP_OR_DECIMALS = re.compile(r"[1-9]\d{0,2}([.,])\d{3}")  # "1.500": 1500 or 1.5?
_GROUPED = {sep: re.compile(r"\d{1,3}(?:" + re.escape(sep) + r"\d{3})+") for sep in ",. '"}
_DIGITS = re.compile(r"\d+")
_NOT_DIGIT = re.compile(r"\D")
_DIGIT_SET = frozenset("0123456789")


def _strip_currency(s: str) -> tuple[str, list[str]]:
    """Remove one leading and one trailing currency mark; return the rest and the marks found."""
    marks: list[str] = []
    m = _CURRENCY_PREFIX.match(s)
    if m and m.end() < len(s):
        marks.append(m.group(1))
        s = s[m.end() :]
    m = _CURRENCY_SUFFIX.search(s)
    if m and m.start() > 0:
        marks.append(m.group(1))
        s = s[: m.start()]
    return s, marks


def _mark_code(mark: str) -> str | None:
    if mark.lower() in _WORDS:
        return _WORDS[mark.lower()]
    return SYMBOLS.get(mark, mark.upper() if len(mark) == 3 and mark.isalpha() else mark)


def _split_sign(s: str) -> tuple[str, bool]:
    """Strip signs and accounting parentheses; return the rest and whether it was negative."""
    negative = False
    while s:
        if s[0] == "(" and s[-1] == ")":
            negative, s = True, s[1:-1].strip()
        elif s[0] == "-":
            negative, s = True, s[1:].strip()
        elif s[-1] == "-":
            negative, s = True, s[:-1].strip()
        elif s[0] == "+":
            s = s[1:].strip()
        else:
            break
    return s, negative


def _clean_amount(text: str) -> tuple[str, bool, list[str]]:
    """Return the bare number text, whether it was negative, and the currency marks around it."""
    s = _WHOLE_DASH.sub("", text.translate(_SPACES).strip())
    s, negative = _split_sign(s)
    s, marks = _strip_currency(s)
    s, negative_inside = _split_sign(_WHOLE_DASH.sub("", s.strip()))
    return s, negative or negative_inside, marks


def _not_a_number(text: str, body: str) -> ValueError:
    hint = ""
    if any(c.isdigit() for c in body):
        if "O" in body or "o" in body:
            hint = " (letter O instead of zero?)"
        elif "l" in body or "I" in body:
            hint = " (letter l instead of 1?)"
    return ValueError(
        f"amount '{text}' is not a number{hint}; enter the amount as digits, e.g. 1500.00"
    )


def parse_amount(
    text: str,
    *,
    decimal: str = ".",
    allow_precision: bool = False,
    both_ways: tuple[str, str] | None = None,
) -> Decimal:
    """Parse a purchase amount cell into a non-negative Decimal.

    ``decimal`` is the column's decimal separator ("." or ","), from ``detect_decimal_separator``
    or ``--decimal``. ``allow_precision`` accepts more than 2 decimal places. ``both_ways`` is
    the evidence of a column written with both separators (see :func:`both_separators`): a
    value that reads both ways there ("1.500") is refused, each other keeps its only reading
    ("2,25" and "4.75" alike), whichever separator ``decimal`` says.

    >>> parse_amount("1.500,00 €", decimal=",")
    Decimal('1500.00')
    """
    if decimal == ".":
        if PLAIN_POINT_AMOUNT.fullmatch(text):
            return Decimal(text)
    elif decimal == ",":
        if PLAIN_COMMA_AMOUNT.fullmatch(text):
            return Decimal(text.replace(",", "."))
    else:
        raise ValueError(f"decimal separator must be '.' or ',', not {decimal!r}")

    shown = without_marks(text).strip()
    if not shown:
        raise ValueError("amount is empty; enter the purchase amount")
    if shown.lower() in _NOT_FINITE:
        raise ValueError(
            f"amount '{shown}' is not a number; enter the amount as digits, e.g. 1500.00"
        )
    body, negative, marks = _clean_amount(text)
    if _SCIENTIFIC.fullmatch(body):
        raise ValueError(
            f"amount '{shown}' looks like scientific notation (Excel damage); format the column "
            "as Number in Excel and export again"
        )
    if len(marks) == 2:
        codes = {_mark_code(m) for m in marks}
        if len(codes) > 1 and None not in codes:
            raise ValueError(
                f"amount '{shown}' names two different currencies; keep one currency mark"
            )
    if not body or not _NUMBER_CHARS.fullmatch(body) or not any(c.isdigit() for c in body):
        raise _not_a_number(shown, body)
    if both_ways is not None:
        _refuse_if_read_both_ways(shown, body, both_ways)
        # Each other value has one reading: its own separator's ("4.75" beside "2,25").
        decimal = decimal_vote(body) or decimal

    parts = _split_number(body, decimal)
    if parts is None:
        raise _wrong_separator(shown, body, decimal)
    whole, fraction = parts
    if negative:
        raise ValueError(
            f"amount '{shown}' is negative; negative amounts (refunds) are not imported, "
            "remove the row or enter the purchase amount"
        )
    digits = len(whole.lstrip("0"))
    if digits > MAX_WHOLE_DIGITS:
        raise ValueError(
            f"amount '{shown}' has {digits} digits before the decimals; Keen takes at most "
            f"{MAX_WHOLE_DIGITS} (less than {10**MAX_WHOLE_DIGITS:,}): check the value"
        )
    fraction = _checked_fraction(shown, body, (whole, fraction), decimal, allow_precision)
    return Decimal(f"{whole}.{fraction}" if fraction else whole)


def _checked_fraction(
    shown: str, body: str, parts: tuple[str, str], decimal: str, allow_precision: bool
) -> str:
    """The decimals of an amount, zeros past the cents dropped; refused beyond the cents."""
    whole, fraction = parts
    if (
        len(fraction) > 2
        and not fraction[2:].strip("0")
        and _grouping_separator(_compact(body)) != decimal  # "150.000" may be 150 thousand
    ):
        fraction = fraction[:2]  # "1500.0000" from a database is exact: nothing is rounded
    if len(fraction) > 2 and not allow_precision:
        if _grouping_separator(_compact(body)) == decimal:
            raise ValueError(
                f"amount '{shown}' reads as {whole}.{fraction}, with 3 decimal places, because "
                f"'{decimal}' is this column's decimal separator; if '{decimal}' separates "
                f"thousands here, use --decimal {_THOUSANDS[decimal]}; otherwise round it or use "
                "--allow-precision"
            )
        raise ValueError(
            f"amount '{shown}' has more than 2 decimal places; round it or use --allow-precision"
        )
    return fraction


def _split_number(body: str, decimal: str) -> tuple[str, str] | None:
    """Whole-part digits and fraction digits of ``body`` read with ``decimal``, or None."""
    whole, _, fraction = body.partition(decimal)
    if fraction and not _DIGITS.fullmatch(fraction):
        return None
    if not whole:
        return ("0", fraction) if fraction else None
    if _DIGITS.fullmatch(whole):
        return whole, fraction
    kinds = set(whole) - _DIGIT_SET
    if len(kinds) != 1 or not _GROUPED[kinds.pop()].fullmatch(whole):
        return None
    return _NOT_DIGIT.sub("", whole), fraction


def _refuse_if_read_both_ways(text: str, body: str, both_ways: tuple[str, str]) -> None:
    """Refuse "1.500" or "1,500" in a column written with both decimal separators."""
    compact = _compact(body)
    sep = _grouping_separator(compact)
    if sep is None:
        return
    small = format(Decimal(compact.replace(sep, ".")).normalize(), "f")
    comma, point = both_ways
    raise ValueError(
        f"amount '{text}' is ambiguous ({compact.replace(sep, '')} or {small}?) and this column "
        f"is written with both decimal separators ('{comma}' has a decimal comma, '{point}' a "
        "decimal point), so its separator cannot be known; write it without a thousands "
        "separator, or rerun with --decimal , or --decimal . to read the whole column one way"
    )


def _wrong_separator(text: str, body: str, decimal: str) -> ValueError:
    other = _THOUSANDS[decimal]
    if other in body and _split_number(body, other) is not None:
        return ValueError(
            f"amount '{text}' uses '{other}' as decimal separator but this column uses "
            f"'{decimal}'; correct the value or use --decimal {other}"
        )
    return ValueError(
        f"amount '{text}' has a thousands separator in the wrong place; write it like "
        f"1{other}500{other}000{decimal}00 or without thousands separators"
    )


def amount_currency(text: str) -> str | None:
    """The ISO currency code an amount cell names ("$1,500" -> "USD"), or None.

    Symbols that name several currencies ("kr") give None.
    """
    if PLAIN_POINT_AMOUNT.fullmatch(text):
        return None
    _, _, marks = _clean_amount(text)
    for mark in marks:
        code = _mark_code(mark)
        if code:
            return code
    return None


def vague_currency_mark(text: str) -> str | None:
    """The mark of an amount cell that names several currencies and no other ("1.234,50 kr."
    -> "kr."), or None."""
    if PLAIN_POINT_AMOUNT.fullmatch(text):
        return None
    marks = _clean_amount(text)[2]
    if marks and all(mark in SYMBOLS and SYMBOLS[mark] is None for mark in marks):
        return marks[0]
    return None


def grouping_or_decimals(value: str) -> str | None:
    """The separator of an amount that reads both as thousands and as 3 decimals ("1.500",
    "12,000"), or None."""
    return _grouping_separator(_compact(_clean_amount(value)[0]))


def _compact(body: str) -> str:
    """A cleaned amount without its digit-group spaces and apostrophes ("1'500.00")."""
    return body.replace(" ", "").replace("'", "")


def _grouping_separator(compact: str) -> str | None:
    found = _GROUP_OR_DECIMALS.fullmatch(compact)
    return found[1] if found else None


def detect_decimal_separator(values: Iterable[str]) -> str | None:
    """Decide a column's decimal separator ("." or ",") from the evidence of all its cells.

    Cells that cannot tell ("1500", "1,500", "1.500") are ignored; if both separators have
    decisive evidence the majority wins; None when no cell tells or the evidence is tied.

    >>> detect_decimal_separator(["1,500", "2,25"])
    ','
    """
    values = list(values)
    # Plain amounts ("1234.50", "1234,5", "1500") settle it at C speed; the rest one by one.
    votes = {
        ".": _count(PLAIN_POINT_DECIMALS.fullmatch, values),
        ",": _count(PLAIN_COMMA_DECIMALS.fullmatch, values),
    }
    for value in filterfalse(PLAIN_AMOUNT.fullmatch, values):
        vote = _decimal_evidence(value)
        if vote:
            votes[vote] += 1
    if votes["."] == votes[","]:
        return None
    return "." if votes["."] > votes[","] else ","


def both_separators(values: Iterable[str]) -> tuple[str, str] | None:
    """The first value that proves a decimal comma and the first that proves a decimal
    point, when a column holds both ("2,25", "4.75"); else None.

    Pass the pair to :func:`parse_amount` as ``both_ways``.
    """
    found: dict[str, str] = {}
    for value in values:
        vote = decimal_vote(value.strip())
        if vote is not None and vote not in found:
            found[vote] = value.strip()
            if len(found) == 2:
                return found[","], found["."]
    return None


def decimal_vote(value: str) -> str | None:
    """The decimal separator one value proves, or None (as detect_decimal_separator counts)."""
    if PLAIN_POINT_DECIMALS.fullmatch(value):
        return "."
    if PLAIN_COMMA_DECIMALS.fullmatch(value):
        return ","
    return None if PLAIN_AMOUNT.fullmatch(value) else _decimal_evidence(value)


def _count(matches: Callable[[str], object], values: list[str]) -> int:
    return sum(1 for _ in filter(matches, values))


def _decimal_evidence(value: str) -> str | None:
    body = _compact(_clean_amount(value)[0])
    points, commas = body.count("."), body.count(",")
    if not _NUMBER_CHARS.fullmatch(body) or not (points or commas):
        return None
    if points and commas:
        return "." if body.rfind(".") > body.rfind(",") else ","
    sep = "." if points else ","
    if points + commas > 1:
        # a separator used twice is a thousands separator: the decimal is the other one
        return _THOUSANDS[sep]
    if not _DIGITS.fullmatch(body.partition(sep)[2]):
        return None
    return None if _grouping_separator(body) else sep  # "1.500" tells nothing


def parse_currency(text: str) -> str:
    """Parse a currency cell into a 3-letter ISO code ("usd " -> "USD", "€" -> "EUR")."""
    s = without_marks(text).strip()
    if not s:
        raise ValueError("currency is empty; enter a 3-letter code such as EUR or USD")
    if s in SYMBOLS or s.lower() in ("kr", "kr."):
        code = SYMBOLS.get(s)
        if code is None:
            raise ValueError(
                f"currency '{s}' is ambiguous (DKK, SEK, NOK or ISK?); enter the 3-letter code"
            )
        return code
    upper = s.upper()
    if len(upper) == 3 and upper.isascii() and upper.isalpha():
        return upper
    named = CURRENCY_NAMES.get(" ".join(s.casefold().split()))
    if named:
        return named
    raise ValueError(
        f"currency '{s}' is not a 3-letter currency code; enter a code such as EUR or USD"
    )


# --------------------------------------------------------------------------------------------
# Dates
# --------------------------------------------------------------------------------------------

_FAST_ISO_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_ISO_DATETIME = re.compile(
    r"(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ]\s*(\d{1,2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?"
    r"\s*(Z|z|UTC|GMT|[+-]\d{2}(?::?\d{2})?)?"
)
_TIME = (
    r"(?:[ T]\s*(?P<hour>\d{1,2}):(?P<minute>\d{2})(?::(?P<second>\d{2}))?"
    r"\s*(?P<ampm>[AaPp]\.?[Mm]\.?)?)?"
)
_NUMERIC_DATE = re.compile(r"(\d{1,2})([./-])(\d{1,2})\2(\d{4}|\d{2})" + _TIME)
_YEAR_FIRST = re.compile(r"(\d{4})([./])(\d{1,2})\2(\d{1,2})" + _TIME)
_DAY_MONTH_NAME = re.compile(
    r"(\d{1,2})(?:st|nd|rd|th)?\.?[ \-/]*([A-Za-z]{3,9})\.?,?[ \-/]*(\d{4}|\d{2})" + _TIME
)
_MONTH_NAME_DAY = re.compile(
    r"([A-Za-z]{3,9})\.?[ \-/]*(\d{1,2})(?:st|nd|rd|th)?,?[ \-/]+(\d{4}|\d{2})" + _TIME
)
_SERIAL = re.compile(r"(\d{1,7})(?:\.(\d+))?")
_COMPACT = re.compile(r"(\d{4})(\d{2})(\d{2})")
_MONTHS = {
    name: number
    for number, names in enumerate(
        (
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ),
        start=1,
    )
    for name in names
}
#: date1904 -> serial 0 (in the 1900 system, for every serial after 1900-02-28).
_EXCEL_EPOCHS = {False: datetime(1899, 12, 30), True: datetime(1904, 1, 1)}
_FIRST_SERIAL_DAY, _LAST_SERIAL_DAY = datetime(1970, 1, 1), datetime(2099, 12, 31)
_YEAR_2000 = datetime(2000, 1, 1)


#: How far from this year a two-digit year may be read: up to next year in this century,
#: back to 30 years ago in the last. Any other ("69": 1969 or 2069?) is not guessed.
_SHORT_YEAR_AHEAD, _SHORT_YEAR_BACK = 1, 30


def _full_year(year: str, text: str) -> int:
    """The four-digit year of ``year`` as written in the date ``text``."""
    if len(year) != 2:
        return int(year)
    short, this_year = int(year), datetime.now().year
    if 2000 + short <= this_year + _SHORT_YEAR_AHEAD:
        return 2000 + short
    if 1900 + short >= this_year - _SHORT_YEAR_BACK:
        return 1900 + short
    raise ValueError(
        f"date '{text}' has a two-digit year (19{year} or 20{year}?); write the year with four "
        "digits"
    )


def _build(text: str, year: int, month: int, day: int) -> datetime:
    """A naive midnight, or a reason naming the part of the date that does not exist."""
    if 1 <= month <= 12 and 1 <= day <= 28 and year >= 1:
        return datetime(year, month, day)
    if year < 1:
        raise ValueError(f"date '{text}' has year {year}, which does not exist; check the value")
    if not 1 <= month <= 12:
        raise ValueError(f"date '{text}' has month {month}, which does not exist; check the value")
    last = calendar.monthrange(year, month)[1]
    if not 1 <= day <= last:
        raise ValueError(
            f"date '{text}' does not exist ({calendar.month_name[month]} {year} has {last} days); "
            "check the value"
        )
    return datetime(year, month, day)


def _with_time(text: str, base: datetime, m: re.Match[str]) -> tuple[datetime, bool]:
    if m.group("hour") is None:
        return base, False
    hour, minute = int(m.group("hour")), int(m.group("minute"))
    second = int(m.group("second") or 0)
    ampm = m.group("ampm")
    if ampm:
        if not 1 <= hour <= 12:
            raise ValueError(f"date '{text}' has hour {hour} with {ampm}; use 1-12 with AM/PM")
        hour = hour % 12 + (12 if ampm[0] in "Pp" else 0)
    if hour > 23 or minute > 59 or second > 59:
        raise ValueError(f"date '{text}' has a time that does not exist; check the value")
    return base.replace(hour=hour, minute=minute, second=second), True


def _localise(naive: datetime, tz: tzinfo) -> datetime:
    if tz is UTC:
        return naive.replace(tzinfo=UTC)
    try:
        return naive.replace(tzinfo=tz).astimezone(UTC)
    except OverflowError:
        raise ValueError(
            f"date {naive.date().isoformat()} is out of range; check the value"
        ) from None


def parse_date(
    text: str,
    *,
    day_first: bool | None,
    tz: tzinfo,
    both_orders: tuple[str, str] | None = None,
    date1904: bool = False,
    said_day_first: bool = False,
) -> tuple[datetime, bool]:
    """Parse a date cell into ``(aware UTC datetime, had_time)``.

    ``day_first`` is the column's reading of slash/dot/dash dates (None: not decided; ambiguous
    values are then refused). ``tz`` is the timezone of values without an offset (a zoneinfo).
    ``both_orders`` is the evidence of a column written both ways (see :func:`both_orders`);
    an ambiguous value of such a column is refused naming it, dotted or not. ``date1904``: a
    plain number is a serial of the 1904 date system (its workbook's), not of the 1900 one.
    ``said_day_first``: the user said the column is day-month-year (``--day-first``, an
    answer): a dashed date of two-digit numbers ("05-03-26") is then not year-first.

    >>> parse_date("21/04/2026", day_first=True, tz=UTC)
    (datetime.datetime(2026, 4, 21, 0, 0, tzinfo=datetime.timezone.utc), False)
    """
    m = _FAST_ISO_DATE.fullmatch(text)
    if m:
        naive = _build(text, int(m[1]), int(m[2]), int(m[3]))
        return _localise(naive, tz), False

    s = without_marks(text).strip()
    if not s:
        raise ValueError("date is empty; enter the purchase date")

    m = _ISO_DATETIME.fullmatch(s)
    if m:
        return _parse_iso(s, m, tz)
    m = _NUMERIC_DATE.fullmatch(s)
    if m:
        if m[2] == "-" and len(m[4]) == 2 and not said_day_first:
            _refuse_if_year_first(s, int(m[1]), int(m[3]), m[4])
        return _parse_numeric(s, m, day_first, tz, both_orders)
    m = _YEAR_FIRST.fullmatch(s)
    if m:
        naive, had_time = _with_time(s, _build(s, int(m[1]), int(m[3]), int(m[4])), m)
        return _localise(naive, tz), had_time
    m = _DAY_MONTH_NAME.fullmatch(s)
    if m and m[2].lower() in _MONTHS:
        base = _build(s, _full_year(m[3], s), _MONTHS[m[2].lower()], int(m[1]))
        naive, had_time = _with_time(s, base, m)
        return _localise(naive, tz), had_time
    m = _MONTH_NAME_DAY.fullmatch(s)
    if m and m[1].lower() in _MONTHS:
        base = _build(s, _full_year(m[3], s), _MONTHS[m[1].lower()], int(m[2]))
        naive, had_time = _with_time(s, base, m)
        return _localise(naive, tz), had_time
    m = _COMPACT.fullmatch(s)
    if m:
        return _localise(_build(s, int(m[1]), int(m[2]), int(m[3])), tz), False
    m = _SERIAL.fullmatch(s)
    if m:
        return _parse_serial(s, m, tz, _EXCEL_EPOCHS[date1904])
    raise ValueError(
        f"date '{s}' is not a date I can read; use YYYY-MM-DD (e.g. 2026-04-21) or DD/MM/YYYY"
    )


def _parse_numeric(
    s: str,
    m: re.Match[str],
    day_first: bool | None,
    tz: tzinfo,
    both_orders: tuple[str, str] | None,
) -> tuple[datetime, bool]:
    """A slash/dot/dash date ("21/04/2026", "04.21.26 14:05") read as the column reads them."""
    first, sep, second = int(m[1]), m[2], int(m[3])
    year = _full_year(m[4], s)
    if day_first is None:
        day_first = _reading(s, first, second, sep, year, both_orders)
    elif not day_first and sep == "." and first <= 12 and second <= 12 and first != second:
        # Dots are the European day-first style; the month-first reading of this column
        # comes from its slash dates (or --month-first) and may not be what this row meant.
        raise ValueError(
            f"date '{s}' is written with dots, the day-first European style, but this column "
            f"reads dates month-first ({first} {calendar.month_name[second]} or "
            f"{second} {calendar.month_name[first]}?); write it as YYYY-MM-DD"
        )
    day, month = (first, second) if day_first else (second, first)
    if month > 12:
        order = "day/month/year" if day_first else "month/day/year"
        raise ValueError(
            f"date '{s}' does not fit this column, which reads dates as {order} "
            f"(month {month}?); correct the value or use "
            f"{'--month-first' if day_first else '--day-first'}"
        )
    naive, had_time = _with_time(s, _build(s, year, month, day), m)
    return _localise(naive, tz), had_time


def _refuse_if_year_first(s: str, first: int, second: int, last: str) -> None:
    """Refuse a dashed date of two-digit numbers that also reads year-first: "26-03-05" is 26
    March 2005 to one system and 2026-03-05 to another (a purchase's year is no guess)."""
    try:
        year = _full_year(f"{first:02d}", s)
        datetime(year, second, int(last))
    except ValueError:
        return  # no year-first reading
    raise ValueError(
        f"date '{s}' may be year-first ({year}-{second:02d}-{last}) as well as day or month "
        "first; write the year with four digits, or rerun with --day-first when every date of "
        "the column is day-month-year"
    )


def _reading(
    s: str, first: int, second: int, sep: str, year: int, both_orders: tuple[str, str] | None
) -> bool:
    """Day-first or not for one value when the column has not decided; refuse if ambiguous."""
    if first > 12 >= second:
        return True
    if second > 12 >= first:
        return False
    if first > 12:  # both > 12: let the month check give the reason
        return True
    if first == second:
        return True  # same either way
    day_reading = f"{first} {calendar.month_name[second]}"
    month_reading = f"{second} {calendar.month_name[first]}"
    if both_orders is not None:
        day_value, month_value = both_orders
        raise ValueError(
            f"date '{s}' is ambiguous ({day_reading} or {month_reading} {year}?) and this "
            f"column is written both ways ('{day_value}' can only be day-first, "
            f"'{month_value}' only month-first), so its order cannot be known; write it as "
            "YYYY-MM-DD, or rerun with --day-first or --month-first to read the whole column "
            "one way"
        )
    if sep == ".":
        return True  # dotted dates are day-first by European convention
    raise ValueError(
        f"date '{s}' is ambiguous ({day_reading} or {month_reading} {year}?); "
        "rerun with --day-first or --month-first"
    )


def _parse_iso(s: str, m: re.Match[str], tz: tzinfo) -> tuple[datetime, bool]:
    naive = _build(s, int(m[1]), int(m[2]), int(m[3]))
    had_time = m[4] is not None
    if had_time:
        hour, minute, second = int(m[4]), int(m[5]), int(m[6] or 0)
        if hour > 23 or minute > 59 or second > 59:
            raise ValueError(f"date '{s}' has a time that does not exist; check the value")
        micro = int((m[7] or "").ljust(6, "0")[:6])
        naive = naive.replace(hour=hour, minute=minute, second=second, microsecond=micro)
    offset = m[8]
    if offset is None:
        return _localise(naive, tz), had_time
    if offset in ("Z", "z", "UTC", "GMT"):
        return naive.replace(tzinfo=UTC), had_time
    digits = offset[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:] or 0)
    if hours > 23 or minutes > 59:
        raise ValueError(f"date '{s}' has an impossible UTC offset '{offset}'; check the value")
    delta = timedelta(hours=hours, minutes=minutes)
    aware = naive.replace(tzinfo=timezone(-delta if offset[0] == "-" else delta))
    return aware.astimezone(UTC), had_time


def _parse_serial(s: str, m: re.Match[str], tz: tzinfo, epoch: datetime) -> tuple[datetime, bool]:
    serial = int(m[1])
    first, last = (_FIRST_SERIAL_DAY - epoch).days, (_LAST_SERIAL_DAY - epoch).days
    if not first <= serial <= last:
        system = " of the 1904 date system (this workbook's)" if epoch.year == 1904 else ""
        raise ValueError(
            f"date '{s}' is not a date: a number in a date column is read as an Excel serial "
            f"date{system}, and only {first} to {last} (1970 to 2099) are plausible; "
            "check the column, or use YYYY-MM-DD"
        )
    day = epoch + timedelta(days=serial)
    seconds = 0
    if m[2]:
        seconds = round(Decimal("0." + m[2]) * 86400)
        if seconds == 86400:
            seconds = 0
            day += timedelta(days=1)
    return _localise(day + timedelta(seconds=seconds), tz), seconds != 0


def is_serial_date(text: str) -> bool:
    """True when ``parse_date`` reads this text as an Excel serial (a plain number)."""
    # str methods first: this runs on every distinct date of a column
    s = without_marks(text).strip()
    return s.replace(".", "", 1).isdigit() and _SERIAL.fullmatch(s) is not None


def _only_order(m: re.Match[str] | None) -> bool | None:
    """True for a slash/dot/dash date that can only be day-first ("23/04/2026"), False for one
    that can only be month-first ("04/23/2026"), None for any other (or no) match."""
    if not m:
        return None
    first, second = int(m[1]), int(m[3])
    if first > 12 >= second:
        return True
    if second > 12 >= first:
        return False
    return None


def detect_day_first(values: Iterable[str]) -> bool | None:
    """Decide whether a column's slash/dot/dash dates are day-first, from all its cells.

    True if some values can only be day-first ("23/04/2026") and none only month-first, False
    for the reverse; None when no value settles it (all ambiguous or none present) or values
    settle it both ways (see :func:`both_orders`), except that a column whose ambiguous dates
    are all dotted ("05.04.2026") and that has no evidence is day-first by European convention.
    """
    day = month = False
    seen = dotted_only = False
    for value in values:
        m = _NUMERIC_DATE.fullmatch(without_marks(value).strip())
        if not m:
            continue
        order = _only_order(m)
        if order is not None:
            day, month = day or order, month or not order
        elif int(m[1]) <= 12 and int(m[3]) <= 12:
            dotted_only = (dotted_only or not seen) and m[2] == "."
            seen = True
    if day != month:
        return day
    if not day and seen and dotted_only:
        return True
    return None


def both_orders(values: Iterable[str]) -> tuple[str, str] | None:
    """The first value that can only be day-first and the first that can only be
    month-first, when a column holds both ("23/04/2026", "04/23/2026"); else None.

    Such a column has no order: pass the pair to :func:`parse_date` as ``both_orders``.
    """
    found: dict[bool, str] = {}
    for value in values:
        order = _only_order(_NUMERIC_DATE.fullmatch(value.strip()))
        if order is not None and order not in found:
            found[order] = value.strip()
            if len(found) == 2:
                return found[True], found[False]
    return None


def date_warnings(value: datetime, *, now: datetime) -> list[str]:
    """Warnings for a valid but suspicious date: in the future, or before 2000.

    Pass ``value`` in the user's timezone (``value.astimezone(tz)``) so the date shown is the
    one the user typed. ``now`` must be aware.
    """
    warnings = []
    if value > now:
        warnings.append(f"date {value.date().isoformat()} is in the future")
    if value.replace(tzinfo=None) < _YEAR_2000:
        warnings.append(f"date {value.date().isoformat()} is before 2000")
    return warnings


# --------------------------------------------------------------------------------------------
# Ids and text
# --------------------------------------------------------------------------------------------

CANONICAL_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_HEX32 = re.compile(r"[0-9a-f]{32}")
_HEX_AND_DASHES = re.compile(r"[0-9a-f-]+")
_LIST_SEPARATORS = re.compile(r"[\s,;|]+")
_WHOLE_NUMBER = re.compile(r"(\d+)(?:\.0+)?")
_UUID_EXAMPLE = "e.g. 3f2b8c1e-9d4a-4e6b-8f1a-2c3d4e5f6a7b"


def parse_uuid(text: str, *, field: str = "lead_id") -> str:
    """Parse a UUID cell into canonical lowercase 8-4-4-4-12 form.

    Accepts any case, surrounding spaces, braces, a "urn:uuid:" prefix, or 32 hex digits.
    ``field`` names the column in the reason.
    """
    if CANONICAL_UUID.fullmatch(text):
        return text
    s = without_marks(text).strip().lower()  # a zero-width space copied from a web page
    if not s:
        raise ValueError(f"{field} is empty; enter the UUID")
    if s.startswith("urn:uuid:"):
        s = s[9:]
    if s.startswith("{") and s.endswith("}"):
        s = s[1:-1].strip()
    if CANONICAL_UUID.fullmatch(s):
        return s
    if _HEX32.fullmatch(s):
        return f"{s[:8]}-{s[8:12]}-{s[12:16]}-{s[16:20]}-{s[20:]}"
    found = ""
    if _HEX_AND_DASHES.fullmatch(s):
        found = f"; it has {len(s.replace('-', ''))} hex digits instead of 32"
    raise ValueError(
        f"{field} '{text.strip()}' is not a valid UUID (expected 8-4-4-4-12 hex digits, "
        f"{_UUID_EXAMPLE}){found}"
    )


def parse_uuid_list(text: str, *, field: str = "trigger_ids") -> tuple[str, ...]:
    """Parse a cell holding UUIDs separated by commas, semicolons, pipes or whitespace.

    The ids are a set to Keen (the triggers it evaluates): duplicates are dropped and the rest
    sorted, so a re-export listing them in another order is the same purchase. An empty cell
    gives ().
    """
    ids = {parse_uuid(item, field=field) for item in _LIST_SEPARATORS.split(text) if item}
    return tuple(sorted(ids))


def parse_legacy_id(text: str) -> int:
    """Parse a legacy (numeric) lead id: a positive whole number; "12345.0" is accepted."""
    s = without_marks(text).strip()
    m = _WHOLE_NUMBER.fullmatch(s)
    if m:
        value = int(m[1])
        if value > 0:
            return value
        raise ValueError(f"legacy_lead_id '{s}' must be a positive number; check the value")
    if not s:
        raise ValueError("legacy_lead_id is empty; enter the numeric lead id")
    if _SCIENTIFIC.fullmatch(s):
        raise ValueError(
            f"legacy_lead_id '{s}' looks like scientific notation (Excel damage); format the "
            "column as Number without decimals (or Text) in Excel and export again"
        )
    if re.fullmatch(r"\d{1,3}(?:[,.' ]\d{3})+", s):
        raise ValueError(
            f"legacy_lead_id '{s}' contains a separator; enter the id as plain digits (e.g. 12345)"
        )
    if re.fullmatch(r"-\s*\d+(?:\.\d+)?", s):
        raise ValueError(f"legacy_lead_id '{s}' must be a positive number; check the value")
    if re.fullmatch(r"\d+\.\d+", s):
        raise ValueError(f"legacy_lead_id '{s}' is not a whole number; check the value")
    raise ValueError(f"legacy_lead_id '{s}' is not a number; enter the numeric lead id")


_INVISIBLE = " \t\r\n" + UNUSUAL_BLANKS


def without_marks(text: str) -> str:
    """An amount or date cell without the invisible marks (:data:`INVISIBLE_MARKS`) in it."""
    return text if text.isascii() else text.translate(_NO_MARKS)


def parse_text(text: str) -> str | None:
    """Trim a text cell (also non-breaking spaces and invisible marks); an empty cell gives
    None."""
    s = text.strip(_INVISIBLE).strip()
    return s or None


_FLOAT_REPR = re.compile(r"-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?")


def parse_number_like_text(text: str) -> str:
    """Show an Excel number cell as the user sees it: "1500.0" -> "1500", "12.50" -> "12.5".

    Text that is not a plain number is only trimmed.
    """
    s = parse_text(text) or ""
    if not _FLOAT_REPR.fullmatch(s) or s.isdigit():
        return s  # digits alone stay as typed: a text id "00123" keeps its zeros
    value = Decimal(s)
    if value == value.to_integral_value():
        return str(int(value))
    return format(value.normalize(), "f")
