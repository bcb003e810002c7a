"""Map spreadsheet columns to purchase fields: header spellings, --map, mapping files (TOML)."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from importer.check import normalise
from importer.check.normalise import parse_uuid
from importer.errors import MappingError
from importer.read.headers import BRACKETED, HEADER_SEARCH_ROWS, HEADER_SYNONYMS, fold_header
from importer.records import FIELDS

BOOLEAN_OPTIONS = (
    "day_first",
    "allow_precision",
    "allow_duplicates",
    "no_amount",
    "no_date",
    "skip_hidden",
    "keep_null",
)
OPTION_NAMES = (
    "day_first",
    "decimal",
    "sheet",
    "timezone",
    "trigger_ids",
    "encoding",
    "delimiter",
    "allow_precision",
    "allow_duplicates",
    "action",
    "period",
    "no_amount",
    "no_date",
    "skip_hidden",
    "keep_null",
    "where",
    "out_dir",
    "proxy",
    "ca_bundle",
)


@dataclass
class Mapping:
    """Which column feeds which field, plus the options a saved mapping may carry."""

    columns: dict[str, str] = field(default_factory=dict)  # field -> column header
    day_first: bool | None = None
    decimal: str | None = None
    sheet: str | None = None
    timezone: str | None = None
    trigger_ids: tuple[str, ...] = ()
    encoding: str | None = None
    delimiter: str | None = None
    allow_precision: bool | None = None
    allow_duplicates: bool | None = None
    action: str | None = None
    period: str | None = None
    no_amount: bool | None = None  # send without an amount, asked for by name
    no_date: bool | None = None  # send without a date (Keen dates them on arrival)
    skip_hidden: bool | None = None
    keep_null: bool | None = None
    where: tuple[str, ...] = ()  # "COLUMN=VALUE[,VALUE...]" row filters
    out_dir: str | None = None  # folder for the results, journal, manifest and created list
    # A proxy URL (may hold a password: kept out of the repr), or "none"; see send/network.py.
    proxy: str | None = field(default=None, repr=False)
    ca_bundle: str | None = None  # a PEM file of certificates to trust besides the system's

    def merged(self, other: Mapping) -> Mapping:
        """This mapping with every explicitly set value of ``other`` laid over it."""
        result = replace(self, columns={**self.columns, **other.columns})
        for f in fields(self):
            if f.name == "columns":
                continue
            value = getattr(other, f.name)
            if value not in (None, ()):
                setattr(result, f.name, value)
        return result


def parse_map_options(items: list[str]) -> Mapping:
    """``--map FIELD=COLUMN`` values -> Mapping (``FIELD=`` switches an automatic match off)."""
    columns: dict[str, str] = {}
    for item in items:
        name, sep, column = item.partition("=")
        name = name.strip()
        if not sep:
            raise MappingError(
                f"--map {item!r} is not FIELD=COLUMN",
                hint="e.g. --map purchase_amount='Net amount' (or --map reference= to switch "
                "off a column matched automatically)",
            )
        columns[_check_field(name, source="--map")] = column.strip()
    return Mapping(columns=columns)


def load_mapping_file(path: str | Path) -> Mapping:
    """Read a TOML mapping file: a ``[columns]`` table of field = "Column" plus options."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except FileNotFoundError:
        raise MappingError(f"mapping file not found: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise MappingError(f"cannot read mapping file {path}: {exc.__class__.__name__}") from None
    except tomllib.TOMLDecodeError as exc:
        raise MappingError(
            f"mapping file {path} is not valid TOML: {exc}",
            hint="see templates/mapping.example.toml",
        ) from None
    raw_columns = data.pop("columns", {})
    options = data.pop("options", {})
    if not isinstance(raw_columns, dict) or not isinstance(options, dict):
        raise MappingError(f"mapping file {path}: [columns] and [options] must be tables")
    options = {**data, **options}  # options may also sit at the top level
    columns = {}
    for name, column in raw_columns.items():
        if not isinstance(column, str):
            raise MappingError(
                f"mapping file {path}: columns.{name} must be a column name in quotes "
                '(or "" to switch the field off)'
            )
        columns[_check_field(name, source=f"mapping file {path}")] = column.strip()
    unknown = sorted(set(options) - set(OPTION_NAMES))
    if unknown:
        raise MappingError(
            f"mapping file {path}: unknown option {unknown[0]!r}",
            hint="known options: " + ", ".join(OPTION_NAMES),
        )
    values: dict[str, Any] = {}
    for key, value in options.items():
        if key == "trigger_ids":
            value = [value] if isinstance(value, str) else value
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise MappingError(f"mapping file {path}: trigger_ids must be a list of UUIDs")
            for trigger in value:
                try:
                    parse_uuid(trigger, field=f"mapping file {path}: trigger_ids entry")
                except ValueError as exc:
                    raise MappingError(str(exc)) from None
            value = tuple(value)
        elif key == "where":
            value = [value] if isinstance(value, str) else value
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise MappingError(
                    f'mapping file {path}: where must be a list of "COLUMN=VALUE[,VALUE...]"'
                )
            value = tuple(value)
        elif key in BOOLEAN_OPTIONS:
            if not isinstance(value, bool):
                raise MappingError(
                    f"mapping file {path}: {key} must be true or false (without quotes), "
                    f"not {value!r}"
                )
        elif not isinstance(value, str):
            raise MappingError(f"mapping file {path}: {key} must be text in quotes, not {value!r}")
        if key == "decimal" and value not in (".", ","):
            raise MappingError(f'mapping file {path}: decimal must be "." or ","')
        if key == "action" and value not in ("create_purchase", "create_purchase_custom"):
            raise MappingError(
                f"mapping file {path}: action must be create_purchase or create_purchase_custom"
            )
        if key == "ca_bundle":
            value = str(path.parent / Path(value).expanduser())  # relative to the mapping file
        values[key] = value
    return Mapping(columns=columns, **values)


def dump_mapping(mapping: Mapping, *, comment: str | None = None) -> str:
    """A mapping as the TOML text ``load_mapping_file`` reads back (the ``--mapping`` format)."""
    lines = [f"# {line}" for line in (comment or "").splitlines()]
    lines.append("[columns]")
    # A field switched off ("") is left out: the file then maps only what it names.
    lines += [f"{k} = {_toml_string(v)}" for k, v in mapping.columns.items() if v]
    options = []
    for name in OPTION_NAMES:
        value = getattr(mapping, name)
        if value in (None, ()):
            continue
        if isinstance(value, bool):
            options.append(f"{name} = {'true' if value else 'false'}")
        elif isinstance(value, tuple):
            options.append(f"{name} = [{', '.join(_toml_string(v) for v in value)}]")
        else:
            options.append(f"{name} = {_toml_string(value)}")
    if options:
        lines += ["", "[options]", *options]
    return "\n".join(lines) + "\n"


def save_mapping_file(mapping: Mapping, path: str | Path, *, comment: str | None = None) -> Path:
    """Write ``mapping`` as a TOML mapping file (replaced whole, never half-written)."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(dump_mapping(mapping, comment=comment), encoding="utf-8")
    tmp.replace(path)  # the tool's own file: Excel does not open it
    return path


def _toml_string(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    escaped = "".join(
        c if (c >= " " and c != "\x7f") or c == "\t" else f"\\u{ord(c):04x}" for c in escaped
    )
    return f'"{escaped}"'


def _check_field(name: str, *, source: str) -> str:
    if name not in FIELDS:
        raise MappingError(
            f"{source}: unknown field {name!r}", hint="known fields: " + ", ".join(FIELDS)
        )
    return name


#: How a field found its column, strongest first. "values" is a guess from the cells alone:
#: it is offered for confirmation and never applied silently.
CONFIDENCES = ("exact", "synonym", "values", "none")

#: Fields sent empty when no column feeds them: a missing one stops the run unless the user
#: opts out by name (--no-amount, --no-date).
REQUIRED_FIELDS = {"purchase_amount": "--no-amount", "date": "--no-date"}
_VALUE_LABELS = {"purchase_amount": "amounts", "date": "dates"}
_UTC = ZoneInfo("UTC")
_PLAIN_NUMBER = re.compile(r"\d+(?:\.\d+)?")


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


def match_fields(
    headers: list[str], samples: dict[str, list[str]], explicit: dict[str, str]
) -> list[FieldMatch]:
    """One :class:`FieldMatch` per field of :data:`records.FIELDS`, in that order.

    ``samples`` maps a header to a few of its non-empty cells (used only for the "values"
    guesses of the amount and the date); ``explicit`` is the user's field -> column mapping,
    where an empty column switches the field off. Never raises: problems become notes.
    """
    found, problems = _match_headers(headers, explicit)
    taken = {column for column, _ in found.values()}
    matches = []
    for name in FIELDS:
        if name in found:
            column, confidence = found[name]
            how = "your mapping" if name in explicit else "the header"
            matches.append(FieldMatch(name, column, confidence, f"{column!r} (from {how})"))
        elif name in problems:
            matches.append(FieldMatch(name, None, "none", problems[name]))
        elif name in _VALUE_LABELS and (guess := guess_column(name, headers, samples, taken)):
            matches.append(FieldMatch(name, guess, "values", suggestion(name, guess)))
        else:
            matches.append(FieldMatch(name, None, "none", "no column found"))
    return matches


def resolve_columns(headers: list[str], explicit: dict[str, str]) -> dict[str, str]:
    """Field -> header for this file: explicit choices first, then recognised spellings.

    Value guesses are never applied here. Raises MappingError when an explicit column does not
    exist or no lead column is found.
    """
    found, problems = _match_headers(headers, explicit)
    present = [h for h in headers if h.strip()]
    for name, column in explicit.items():
        if name in problems and column:
            raise MappingError(
                problems[name], hint="columns in the file: " + ", ".join(repr(h) for h in present)
            )
    if "lead_id" not in found and "legacy_lead_id" not in found:
        raise MappingError(
            "no lead column found (neither lead_id nor legacy_lead_id)",
            hint="map one with --map lead_id=COLUMN; columns in the file: "
            + ", ".join(repr(h) for h in present)
            + f" (the header is looked for in rows 1-{HEADER_SEARCH_ROWS} of a CSV, "
            f"1-{HEADER_SEARCH_ROWS * 3} of a sheet)",
        )
    return {name: found[name][0] for name in FIELDS if name in found}


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
    return f"{column!r} holds {_VALUE_LABELS[name]}: --map {name}={column!r}"


def guess_column(
    name: str, headers: list[str], samples: dict[str, list[str]], taken: set[str]
) -> str | None:
    """The first free column whose sample cells all look like amounts (or dates), or None."""
    looks_right = _looks_like_amounts if name == "purchase_amount" else _looks_like_dates
    for header in headers:
        values = [v.strip() for v in samples.get(header, []) if v.strip()]
        if header.strip() and header not in taken and values and looks_right(values):
            return header
    return None


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


def _match_headers(
    headers: list[str], explicit: dict[str, str]
) -> tuple[dict[str, tuple[str, str]], dict[str, str]]:
    """Field -> (header, confidence) from the headers alone, and field -> problem text.

    An explicit empty column switches the field off (no automatic match either).
    """
    present = [h for h in headers if h.strip()]
    by_exact = {h.strip(): h for h in present}
    by_fold: dict[str, str] = {}
    for h in present:
        by_fold.setdefault(fold_header(h), h)
    for h in present:
        # "Amount (EUR)", "Date [UTC]": the unit in brackets does not change the field.
        bare = fold_header(BRACKETED.sub("", h))
        if bare:
            by_fold.setdefault(bare, h)
    found: dict[str, tuple[str, str]] = {}
    problems: dict[str, str] = {}
    for name, column in explicit.items():
        if not column:
            problems[name] = "switched off by the mapping"
            continue
        header = by_exact.get(column) or by_fold.get(fold_header(column))
        if header is None:
            problems[name] = f"column {column!r} (mapped to {name}) is not in the file"
        else:
            found[name] = (header, "exact")
    taken = {header for header, _ in found.values()}
    for name, synonyms in HEADER_SYNONYMS.items():
        if name in found or name in problems:
            continue
        for synonym in synonyms:
            header = by_fold.get(synonym)
            if header is not None and header not in taken:
                exact = synonym == fold_header(name)
                found[name] = (header, "exact" if exact else "synonym")
                taken.add(header)
                break
    if not {"lead_id", "legacy_lead_id"} & (set(found) | set(problems)):
        # Last resort: "Partner lead ID", "Keen lead UUID" and the like.
        for h in present:
            folded = fold_header(BRACKETED.sub("", h))
            if h not in taken and folded.endswith(("leadid", "leaduuid")):
                found["lead_id"] = (h, "synonym")
                break
    return found, problems
