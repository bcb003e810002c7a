"""Map spreadsheet columns to purchase fields: header spellings, --map, mapping files (TOML)."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from importer.check.normalise import parse_uuid
from importer.errors import MappingError
from importer.read.headers import BRACKETED, HEADER_SEARCH_ROWS, HEADER_SYNONYMS, fold_header
from importer.records import FIELDS

BOOLEAN_OPTIONS = ("day_first", "allow_precision", "allow_duplicates")
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
    """``--map FIELD=COLUMN`` values -> Mapping."""
    columns: dict[str, str] = {}
    for item in items:
        name, sep, column = item.partition("=")
        name = name.strip()
        if not sep or not column.strip():
            raise MappingError(
                f"--map {item!r} is not FIELD=COLUMN",
                hint="e.g. --map purchase_amount='Net amount'",
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
        if not isinstance(column, str) or not column.strip():
            raise MappingError(f"mapping file {path}: columns.{name} must be a column name")
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
        values[key] = value
    return Mapping(columns=columns, **values)


def dump_mapping(mapping: Mapping, *, comment: str | None = None) -> str:
    """A mapping as the TOML text ``load_mapping_file`` reads back (the ``--mapping`` format)."""
    lines = [f"# {line}" for line in (comment or "").splitlines()]
    lines.append("[columns]")
    lines += [f"{name} = {_toml_string(column)}" for name, column in mapping.columns.items()]
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
    tmp.replace(path)
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


def resolve_columns(headers: list[str], explicit: dict[str, str]) -> dict[str, str]:
    """Field -> header for this file: explicit choices first, then recognised spellings.

    Raises MappingError when an explicit column does not exist or no lead column is found.
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
    resolved: dict[str, str] = {}
    for name, column in explicit.items():
        header = by_exact.get(column) or by_fold.get(fold_header(column))
        if header is None:
            raise MappingError(
                f"column {column!r} (mapped to {name}) is not in the file",
                hint="columns in the file: " + ", ".join(repr(h) for h in present),
            )
        resolved[name] = header
    taken = set(resolved.values())
    for name, synonyms in HEADER_SYNONYMS.items():
        if name in resolved:
            continue
        for synonym in synonyms:
            header = by_fold.get(synonym)
            if header is not None and header not in taken:
                resolved[name] = header
                taken.add(header)
                break
    if "lead_id" not in resolved and "legacy_lead_id" not in resolved:
        # Last resort: "Partner lead ID", "Keen lead UUID" and the like.
        for h in present:
            folded = fold_header(BRACKETED.sub("", h))
            if h not in taken and folded.endswith(("leadid", "leaduuid")):
                resolved["lead_id"] = h
                break
    if "lead_id" not in resolved and "legacy_lead_id" not in resolved:
        raise MappingError(
            "no lead column found (neither lead_id nor legacy_lead_id)",
            hint="map one with --map lead_id=COLUMN; columns in the file: "
            + ", ".join(repr(h) for h in present)
            + f" (the header is looked for in rows 1-{HEADER_SEARCH_ROWS} of a CSV, "
            f"1-{HEADER_SEARCH_ROWS * 3} of a sheet)",
        )
    return {name: resolved[name] for name in FIELDS if name in resolved}
