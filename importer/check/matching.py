"""Which column feeds which purchase field, and how sure that is.

    your mapping -> a known export's own headers -> header synonyms -> the cells (proposals)

A column found by its header is applied; a column found only by its cells ("values") is
offered for confirmation and never applied silently. Every match found is kept whatever else
is missing: a file without a lead column still has its amount, date and the rest matched.
Cells come only from the sampled rows the caller passes (the first few hundred rows, as
``importer.read.loader.column_samples`` and the job's overview read them), never the whole file.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from importer.check import normalise
from importer.errors import MappingError
from importer.fields import PURCHASE_FIELDS
from importer.read.headers import BRACKETED, HEADER_SEARCH_ROWS, HEADER_SYNONYMS, fold_header
from importer.records import FIELDS

#: How a field found its column, strongest first. "values" is a guess from the cells alone:
#: it is offered for confirmation and never applied silently.
CONFIDENCES = ("exact", "synonym", "values", "none")
#: The confidences applied without asking (by :func:`resolve_columns`, so by every command).
APPLIED = ("exact", "synonym")

#: Headers of a quantity, and of a price that beside one may be a unit's (folded).
QUANTITY_HEADERS = frozenset(
    {"quantity", "qty", "menge", "anzahl", "antal", "quantité", "cantidad", "aantal", "units"}
)
UNIT_PRICE_HEADERS = frozenset({"price", "unitprice", "einzelpreis", "prix", "precio", "pris"})

#: Fields sent empty when no column feeds them: a missing one stops the run unless the user
#: opts out by name (--no-amount, --no-date).
REQUIRED_FIELDS = {"purchase_amount": "--no-amount", "date": "--no-date"}
LEAD_FIELDS = ("lead_id", "legacy_lead_id")

#: Fields whose header says nothing sure about what their cells hold: when no header names the
#: lead, a column of UUIDs matched to one of these by its header (a Xero export's "Reference")
#: is proposed as the lead column, and the field takes its next candidate.
FREE_TEXT_FIELDS = tuple(f.name for f in PURCHASE_FIELDS if f.parser == "text")


@dataclass(frozen=True)
class KnownExport:
    """A system's export whose own headers name a field only inside that export ("Name" is a
    Shopify order's number, "No." a QuickBooks invoice's), recognised when the file carries
    two or more of the headers typical of it (``signature``)."""

    name: str
    signature: frozenset[str]  # folded headers
    columns: dict[str, tuple[str, ...]]  # field -> folded headers, best first

    def describes(self, folded: Iterable[str]) -> bool:
        """True when headers (folded) carry two or more of this export's typical headers."""
        return len(self.signature.intersection(folded)) >= 2


#: Exports whose headers mean a field only in that export; header spellings good in any file
#: belong in ``importer.read.headers.HEADER_SYNONYMS``, not here.
KNOWN_EXPORTS = (
    KnownExport(
        "Shopify",
        frozenset(
            {"financialstatus", "fulfillmentstatus", "acceptsmarketing", "billingname"}
            | {"lineitemname", "lineitemquantity", "lineitemprice", "lineitemsku"}
        ),
        {"reference": ("name",), "product_name": ("lineitemname",)},
    ),
    KnownExport(
        "QuickBooks",
        frozenset({"transactiontype", "memodescription", "productservice", "salesprice"}),
        {
            "reference": ("no", "num"),
            "product_name": ("productservice",),
            "product_description": ("memodescription",),
        },
    ),
    KnownExport(
        "Stripe",
        frozenset(
            {"amountrefunded", "convertedamount", "convertedcurrency", "sellermessage"}
            | {"statementdescriptor", "customeremail"}
        ),
        {"reference": ("id",)},
    ),
)

#: The currency column that belongs to an amount column (folded headers, best first). SAP's
#: "Betrag in HW" is in house currency ("HWähr") and "Betrag in BW" in document currency
#: ("Währung"): the generic "Währung" beside "Betrag in HW" would check the wrong currency.
CURRENCY_OF_AMOUNT: dict[str, tuple[str, ...]] = {
    "betraginhw": ("hwähr", "hauswährung"),
    "betraghw": ("hwähr", "hauswährung"),
    "betraginbw": ("währung", "bwähr", "belegwährung"),
    "betragbw": ("währung", "bwähr", "belegwährung"),
    "convertedamount": ("convertedcurrency",),  # Stripe
}

#: What the cells of a column found by its values hold, by the parser of its field.
_VALUE_LABELS = {
    "uuid": "UUIDs",
    "legacy_id": "whole numbers like legacy lead ids",
    "amount": "amounts",
    "date": "dates",
}
_PARSER_OF = {f.name: f.parser for f in PURCHASE_FIELDS}
_UTC = ZoneInfo("UTC")
_PLAIN_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_LEGACY_ID = re.compile(r"[1-9]\d*")


@dataclass(frozen=True)
class FieldMatch:
    """Which column (if any) feeds one purchase field, how sure the match is, and why.

    ``confidence`` is one of :data:`CONFIDENCES`: "exact" (the header is the field's name or
    the user's own mapping), "synonym" (a known header spelling), "values" (only the cells look
    right: a suggestion, never applied), "none".
    """

    field: str
    column: str | None
    confidence: str
    note: str
    #: Other columns whose header names this field too ("Price" and "Total" for the amount),
    #: when the match came from a header rather than the user's mapping: a front end says so.
    also: tuple[str, ...] = ()
    #: Why the column may not be the field after all ("Price" beside "Quantity": a unit's).
    doubt: str | None = None


def match_fields(
    headers: list[str], samples: dict[str, list[str]], explicit: dict[str, str]
) -> list[FieldMatch]:
    """One :class:`FieldMatch` per field of :data:`records.FIELDS`, in that order.

    ``samples`` maps a header to non-empty cells of the sampled rows (a header left out was not
    sampled); they decide the "values" proposals and which columns are empty. ``explicit`` is
    the user's field -> column mapping, where an empty column switches the field off. Never
    raises: problems become notes, and a missing field never drops the others' matches.
    """
    empty = empty_columns(headers, samples)
    found = _match_headers(headers, explicit, empty=empty)
    lead = _propose_lead(headers, samples, found, explicit)
    if lead is not None:
        if lead.column in _columns(found):  # a free-text field held it: that field looks again
            found = _match_headers(headers, explicit, empty=empty, reserved={lead.column})
        found[lead.field] = lead
    taken = _columns(found)
    for name in ("purchase_amount", "date"):
        if _is_open(name, found, explicit) and (
            guess := guess_column(name, headers, samples, taken)
        ):
            found[name] = FieldMatch(name, guess, "values", suggestion(name, guess))
            taken.add(guess)
    amount = found.get("purchase_amount")
    if amount is not None and amount.confidence == "synonym":
        found["purchase_amount"] = _with_rivals(amount, headers, empty, _columns(found))
    return [found.get(name) or FieldMatch(name, None, "none", "no column found") for name in FIELDS]


def _with_rivals(match: FieldMatch, headers: list[str], empty: set[str], taken: set[str]):
    """The match with the other free, non-empty columns whose header names its field too."""
    synonyms = set(HEADER_SYNONYMS.get(match.field, ()))
    rivals = tuple(
        h
        for h in dict.fromkeys(h for h in headers if h.strip())
        if h not in taken
        and h not in empty
        and (fold_header(h) in synonyms or _bare_fold(h) in synonyms)
    )
    doubt = _unit_price_doubt(match, headers)
    if not rivals and doubt is None:
        return match
    note = match.note
    if rivals:
        note += "; also named like it: " + ", ".join(repr(h) for h in rivals)
    if doubt:
        note += f"; {doubt}"
    return FieldMatch(match.field, match.column, match.confidence, note, rivals, doubt)


def _unit_price_doubt(match: FieldMatch, headers: list[str]) -> str | None:
    """Beside a quantity column, a column named "Price" may be the price of one unit."""
    quantity = next((h for h in headers if _bare_fold(h) in QUANTITY_HEADERS), None)
    if quantity is None or _bare_fold(match.column or "") not in UNIT_PRICE_HEADERS:
        return None
    return (
        f"{match.column!r} stands beside {quantity!r}: if it is the price of one unit, the "
        "purchase amount is the line's total"
    )


def resolve_columns(
    headers: list[str], explicit: dict[str, str], *, samples: dict[str, list[str]] | None = None
) -> dict[str, str]:
    """Field -> header for this file: the matches of :func:`match_fields` made by the user's
    mapping or a header ("exact" or "synonym"); proposals from the cells are never applied.

    ``samples`` (as :func:`match_fields` takes them) keeps a column that is empty in every
    sampled row from being applied, and lets the error for a missing lead name the column
    proposed by its cells. Raises MappingError when an explicit column does not exist or no
    lead column is found.
    """
    matches = {m.field: m for m in match_fields(headers, samples or {}, explicit)}
    present = [h for h in headers if h.strip()]
    for name, column in explicit.items():
        match = matches.get(name)
        if column and match is not None and match.column is None:
            raise MappingError(
                match.note, hint="columns in the file: " + ", ".join(repr(h) for h in present)
            )
    applied = {
        name: m.column for name, m in matches.items() if m.column and m.confidence in APPLIED
    }
    if not set(LEAD_FIELDS) & set(applied):
        raise _no_lead(matches, present)
    return applied


def _no_lead(matches: dict[str, FieldMatch], present: list[str]) -> MappingError:
    proposals = [matches[n].note for n in LEAD_FIELDS if matches[n].confidence == "values"]
    return MappingError(
        "no lead column found (neither lead_id nor legacy_lead_id)",
        hint="; ".join(proposals or ["map one with --map lead_id=COLUMN"])
        + "; columns in the file: "
        + ", ".join(repr(h) for h in present)
        + f" (the header is looked for in rows 1-{HEADER_SEARCH_ROWS} of a CSV, "
        f"1-{HEADER_SEARCH_ROWS * 3} of a sheet)",
    )


def require_fields(
    matches: list[FieldMatch], headers: list[str], *, no_amount: bool, no_date: bool
) -> None:
    """Stop (MappingError) when no column feeds the amount or the date and the user did not
    say --no-amount / --no-date: a purchase is never sent without what the user chose."""
    waived = {"purchase_amount": no_amount, "date": no_date}
    by_field = {m.field: m for m in matches}
    missing = [
        name
        for name in REQUIRED_FIELDS
        if not waived[name] and by_field[name].confidence in ("values", "none")
    ]
    if not missing:
        return
    consequence = {
        "purchase_amount": "every purchase would be sent without an amount",
        "date": "every purchase would be dated when Keen receives it",
    }
    message = "; ".join(f"no column is mapped to {n}: {consequence[n]}" for n in missing)
    hints = []
    for name in missing:
        match = by_field[name]
        if match.confidence == "values":
            hints.append(match.note)
        hints.append(f"{REQUIRED_FIELDS[name]} to send without {_FIELD_WORDS[name]}")
    present = [h for h in headers if h.strip()]
    hints.append("columns in the file: " + ", ".join(repr(h) for h in present))
    raise MappingError(message, hint="; ".join(hints))


_FIELD_WORDS = {
    "purchase_amount": "an amount (fixed rewards only)",
    "date": "a date (dated when Keen receives them)",
}


def suggestion(name: str, column: str) -> str:
    """The one sentence that offers a column found by its values: "'Montant HT' holds amounts:
    --map purchase_amount='Montant HT'"."""
    return f"{column!r} holds {_VALUE_LABELS[_PARSER_OF[name]]}: --map {name}={column!r}"


def column_label(headers: list[str], index: int, *, first_column: int = 0) -> str:
    """A column as a person sees it: its header, or "(column C, no header)" when the header
    cell is blank (spreadsheet letters A..Z, AA..; ``first_column`` is the 0-based position in
    the sheet of the table's first column, for a sheet whose data does not start at A).

    Example: ``column_label(["Lead ID", "Amount", ""], 2)`` -> "(column C, no header)".
    """
    header = headers[index]
    if header.strip():
        return header
    return f"(column {column_letters(first_column + index)}, no header)"


def column_letters(index: int) -> str:
    """A sheet's column as Excel names it: 0 -> "A", 25 -> "Z", 26 -> "AA"."""
    letters = ""
    number = index + 1
    while number:
        number, rest = divmod(number - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


# -- proposals from the cells of the sampled rows: one rule each -----------------------------


def empty_columns(headers: list[str], samples: dict[str, list[str]]) -> set[str]:
    """Headers whose cells are empty in every sampled row: never applied by their header.

    A header left out of ``samples`` was not sampled; when no column has a value (no row was
    sampled) nothing is known to be empty.
    """
    sampled = [h for h in headers if h.strip() and h in samples]
    if not any(_values(samples, h) for h in sampled):
        return set()
    return {h for h in sampled if not _values(samples, h)}


def uuid_column(headers: list[str], samples: dict[str, list[str]]) -> str | None:
    """The first of ``headers`` whose sampled cells are all UUIDs (one UUID each), or None."""
    for header in headers:
        values = _values(samples, header)
        if values and all(_is_uuid(value) for value in values):
            return header
    return None


def legacy_id_column(headers: list[str], samples: dict[str, list[str]]) -> str | None:
    """The first of ``headers`` whose sampled cells all look like legacy lead ids, or None:
    whole numbers without a leading zero or separator, some of three digits or more (a column
    of 1, 2 and 3 is a quantity)."""
    for header in headers:
        values = _values(samples, header)
        if (
            values
            and all(_LEGACY_ID.fullmatch(value) for value in values)
            and any(len(value) >= 3 for value in values)
        ):
            return header
    return None


def _propose_lead(
    headers: list[str],
    samples: dict[str, list[str]],
    found: dict[str, FieldMatch],
    explicit: dict[str, str],
) -> FieldMatch | None:
    """The lead column proposed by its cells when neither the mapping nor a header names one:
    a column of UUIDs (lead_id), else, only when no such column exists, a column of whole
    numbers like legacy lead ids (legacy_lead_id). ``found`` holds the header matches.

    A UUID column may be one a free-text field took by its header (:data:`FREE_TEXT_FIELDS`);
    a legacy id column is never one a header named (numbers under "No." are invoice numbers).
    """
    if not all(_is_open(name, found, explicit) for name in LEAD_FIELDS):
        return None
    movable = {
        m.column
        for name, m in found.items()
        if name in FREE_TEXT_FIELDS and name not in explicit and m.column
    }
    free = [h for h in headers if h.strip() and h not in _columns(found) - movable]
    if column := uuid_column(free, samples):
        return FieldMatch("lead_id", column, "values", suggestion("lead_id", column))
    if column := legacy_id_column([h for h in free if h not in movable], samples):
        return FieldMatch("legacy_lead_id", column, "values", suggestion("legacy_lead_id", column))
    return None


def guess_column(
    name: str, headers: list[str], samples: dict[str, list[str]], taken: set[str]
) -> str | None:
    """The first free column whose sample cells all look like amounts (or dates), or None."""
    looks_right = _looks_like_amounts if name == "purchase_amount" else _looks_like_dates
    for header in headers:
        values = _values(samples, header)
        if header.strip() and header not in taken and values and looks_right(values):
            return header
    return None


def _values(samples: dict[str, list[str]], header: str) -> list[str]:
    return [v.strip() for v in samples.get(header, []) if v.strip()]


def _is_uuid(value: str) -> bool:
    try:
        normalise.parse_uuid(value)
    except ValueError:
        return False
    return True


def _looks_like_amounts(values: list[str]) -> bool:
    """Every value reads as an amount, and some carry cents or a currency mark (whole numbers
    alone are as likely quantities or ids)."""
    decimal = normalise.detect_decimal_separator(values) or "."
    try:
        for value in values:
            normalise.parse_amount(value, decimal=decimal, allow_precision=True)
    except ValueError:
        return False
    return any(
        not value.isdigit() and (normalise.amount_currency(value) or value[-3:-2] in ".,")
        for value in values
    )


def _looks_like_dates(values: list[str]) -> bool:
    """Every value reads as a date; plain numbers (serials, ids) do not count as evidence."""
    if all(_PLAIN_NUMBER.fullmatch(value) for value in values):
        return False
    for value in values:
        try:
            normalise.parse_date(value, day_first=None, tz=_UTC)
        except ValueError as exc:
            if "--day-first" not in str(exc):  # ambiguous 03/04/2026 is still a date
                return False
    return True


# -- matches by header -----------------------------------------------------------------------


class _Headers:
    """The file's non-blank headers, found by their exact text or folded spelling."""

    def __init__(self, headers: list[str]) -> None:
        self.present = [h for h in headers if h.strip()]
        self.by_exact = {h.strip(): h for h in self.present}
        self.by_fold: dict[str, str] = {}
        for h in self.present:
            self.by_fold.setdefault(fold_header(h), h)
        for h in self.present:
            # "Amount (EUR)", "Date [UTC]": the unit in brackets does not change the field.
            if bare := _bare_fold(h):
                self.by_fold.setdefault(bare, h)

    def find(self, column: str) -> str | None:
        """The header a mapping's column names (exactly, else by its folded spelling)."""
        return self.by_exact.get(column) or self.by_fold.get(fold_header(column))


def _match_headers(
    headers: list[str],
    explicit: dict[str, str],
    *,
    empty: set[str],
    reserved: set[str] | frozenset[str] = frozenset(),
) -> dict[str, FieldMatch]:
    """Field -> match by the mapping or a header (problems as matches without a column).

    An explicit empty column switches the field off; a column in ``empty`` or ``reserved`` is
    not matched by its header.
    """
    lookup = _Headers(headers)
    found = _explicit_matches(lookup, explicit)
    taken = _columns(found) | set(reserved)
    export = next((e for e in KNOWN_EXPORTS if e.describes(lookup.by_fold)), None)
    for name in FIELDS:
        if name in found:
            continue
        match = _first_free(name, _candidates(name, found, export), lookup, taken, empty)
        if match is not None:
            found[name] = match
            taken |= _columns({name: match})
    if all(_is_open(name, found, explicit) for name in LEAD_FIELDS):
        # Last resort: "Partner lead ID", "Keen lead UUID" and the like.
        for h in lookup.present:
            if h not in taken | empty and _bare_fold(h).endswith(("leadid", "leaduuid")):
                found["lead_id"] = FieldMatch("lead_id", h, "synonym", f"{h!r} (from the header)")
                break
    return found


def _explicit_matches(lookup: _Headers, explicit: dict[str, str]) -> dict[str, FieldMatch]:
    found = {}
    for name, column in explicit.items():
        if not column:
            found[name] = FieldMatch(name, None, "none", "switched off by the mapping")
        elif (header := lookup.find(column)) is None:
            note = f"column {column!r} (mapped to {name}) is not in the file"
            found[name] = FieldMatch(name, None, "none", note)
        else:
            found[name] = FieldMatch(name, header, "exact", f"{header!r} (from your mapping)")
    return found


def _candidates(
    name: str, found: dict[str, FieldMatch], export: KnownExport | None
) -> Iterator[tuple[str, str]]:
    """(folded header, why) for one field, best first: the export's own header, the currency
    of the amount column, then the synonyms."""
    if export is not None:
        for folded in export.columns.get(name, ()):
            yield folded, f"from the header of a {export.name} export"
    amount = found.get("purchase_amount")
    if name == "currency" and amount is not None and amount.column:
        for folded in CURRENCY_OF_AMOUNT.get(_bare_fold(amount.column), ()):
            yield folded, f"the currency of {amount.column!r}"
    for folded in HEADER_SYNONYMS.get(name, ()):
        yield folded, "from the header"


def _first_free(
    name: str,
    candidates: Iterator[tuple[str, str]],
    lookup: _Headers,
    taken: set[str],
    empty: set[str],
) -> FieldMatch | None:
    """The first candidate in the file and free; a column empty in the sampled rows is noted."""
    skipped = None
    for folded, why in candidates:
        header = lookup.by_fold.get(folded)
        if header is None or header in taken:
            continue
        if header in empty:
            skipped = skipped or header
        else:
            confidence = "exact" if folded == fold_header(name) else "synonym"
            return FieldMatch(name, header, confidence, f"{header!r} ({why})")
    if skipped is not None:
        note = f"{skipped!r} is empty in every sampled row: not used"
        return FieldMatch(name, None, "none", note)
    return None


def _bare_fold(header: str) -> str:
    return fold_header(BRACKETED.sub("", header))


def _columns(found: dict[str, FieldMatch]) -> set[str]:
    return {m.column for m in found.values() if m.column}


def _is_open(name: str, found: dict[str, FieldMatch], explicit: dict[str, str]) -> bool:
    """No column feeds the field and the user's mapping does not speak of it."""
    match = found.get(name)
    return name not in explicit and (match is None or match.column is None)
