"""The mapping the user gives: --map options and mapping files (TOML), with their options.

Which column feeds which field, from the mapping, the headers and the cells, is decided in
:mod:`importer.check.matching`.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

# Which column feeds which field is decided in importer.check.matching; the names below stay
# importable from here for the modules and tests that import them from the mapping.
from importer.check.matching import (  # noqa: F401
    CONFIDENCES,
    REQUIRED_FIELDS,
    FieldMatch,
    column_label,
    guess_column,
    match_fields,
    require_fields,
    resolve_columns,
    suggestion,
)
from importer.check.normalise import parse_uuid
from importer.errors import ConfigurationError, KeenImportError, MappingError
from importer.read.notepad import notepad_text
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
#: Options holding several values (a single text is one value).
LIST_OPTIONS = {
    "trigger_ids": "a list of UUIDs",
    "where": 'a list of "COLUMN=VALUE[,VALUE...]"',
}
#: Options naming a file or folder: in Python a path object is taken as its text.
PATH_OPTIONS = ("out_dir", "ca_bundle")
ACTIONS = ("create_purchase", "create_purchase_custom")
MAPPING_KINDS = "a Mapping, a {field: column} dict or the path of a TOML mapping file"


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
    out_dir: str | None = None  # folder for the results, manifest and created list
    # A proxy URL (may hold a password: kept out of the repr), or "none"; see send/network.py.
    proxy: str | None = field(default=None, repr=False)
    ca_bundle: str | None = None  # a PEM file of certificates to trust besides the system's

    def __post_init__(self) -> None:
        for name in OPTION_NAMES:
            value = getattr(self, name)
            if value is None and name in LIST_OPTIONS:
                value = ()
            if value is not None:
                setattr(self, name, check_option(name, value, error=ConfigurationError))
        if not isinstance(self.columns, dict):
            raise MappingError(f"columns must be a {{field: column}} dict, not {self.columns!r}")
        # A DataFrame read with header=None has the column labels 0, 1, ...: its headers are
        # read as "0", "1", ..., so {"lead_id": 0} names the column "0".
        self.columns = {
            _check_field(name, source="mapping", column=column): str(column)
            for name, column in self.columns.items()
        }

    @classmethod
    def of(cls, given: Mapping | dict[str, str] | str | Path | None) -> Mapping:
        """A Mapping from what a caller gives: a Mapping, a {field: column} dict, the path of
        a TOML mapping file, or None (nothing mapped by hand)."""
        if given is None:
            return cls()
        if isinstance(given, Mapping):
            return given
        if isinstance(given, dict):
            return cls(columns=dict(given))
        if isinstance(given, str | os.PathLike):
            return load_mapping_file(given)
        raise MappingError(f"a mapping is {MAPPING_KINDS}, not {given!r}")

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
        columns[_check_field(name, source="--map", column=column.strip())] = column.strip()
    return Mapping(columns=columns)


def load_mapping_file(path: str | Path) -> Mapping:
    """Read a TOML mapping file: a ``[columns]`` table of field = "Column" plus options."""
    path = Path(path)
    try:
        data = tomllib.loads(notepad_text(path.read_bytes()))
    except FileNotFoundError:
        raise MappingError(f"mapping file not found: {path}") from None
    except UnicodeDecodeError:
        raise MappingError(
            f"mapping file {path} is not UTF-8 text",
            hint="save it from Notepad as UTF-8 (or Unicode)",
        ) from None
    except OSError as exc:
        raise MappingError(f"cannot read mapping file {path}: {exc.strerror or exc}") from None
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
        source = f"mapping file {path}"
        columns[_check_field(name, source=source, column=column.strip())] = column.strip()
    unknown = sorted(set(options) - set(OPTION_NAMES))
    if unknown:
        raise MappingError(
            f"mapping file {path}: unknown option {unknown[0]!r}",
            hint="known options: " + ", ".join(OPTION_NAMES),
        )
    values: dict[str, Any] = {}
    for key, value in options.items():
        value = check_option(key, value, source=f"mapping file {path}")
        if key == "trigger_ids":
            for trigger in value:
                try:
                    parse_uuid(trigger, field=f"mapping file {path}: trigger_ids entry")
                except ValueError as exc:
                    raise MappingError(str(exc)) from None
        if key == "ca_bundle":
            value = str(path.parent / Path(value).expanduser())  # relative to the mapping file
        values[key] = value
    return Mapping(columns=columns, **values)


def check_option(
    key: str, value: Any, *, source: str | None = None, error: type[KeenImportError] = MappingError
) -> Any:
    """``value`` as a Mapping holds option ``key`` (a list as a tuple, a path as its text), or
    ``error`` saying what it must be. The one rule of mapping files (``source`` names the file),
    ``Mapping(...)`` and ``ImportJob.set_options`` (ConfigurationError)."""
    where = f"{source}: " if source else ""
    if key in LIST_OPTIONS:
        value = [value] if isinstance(value, str) else value
        if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
            raise error(f"{where}{key} must be {LIST_OPTIONS[key]}")
        return tuple(value)
    if key in BOOLEAN_OPTIONS:
        if not isinstance(value, bool):
            raise error(f"{where}{key} must be true or false (without quotes), not {value!r}")
        return value
    if key in PATH_OPTIONS and isinstance(value, os.PathLike):
        value = os.fspath(value)
    if not isinstance(value, str):
        shown = type(value).__name__ if key == "proxy" else repr(value)  # may hold a password
        raise error(f"{where}{key} must be text in quotes, not {shown}")
    if key == "decimal" and value not in (".", ","):
        raise error(f'{where}decimal must be "." or ","')
    if key == "action" and value not in ACTIONS:
        raise error(f"{where}action must be create_purchase or create_purchase_custom")
    return value


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


def _check_field(name: str, *, source: str, column: object = None) -> str:
    """``name`` when it is a Keen field; else MappingError naming the fields (and saying so when
    ``name`` and the ``column`` mapped to it look swapped, as a pandas rename dict has them)."""
    if name in FIELDS:
        return name
    message = f"{source}: unknown field {name!r}"
    if isinstance(column, str) and column in FIELDS:
        message += (
            f" ({name!r} looks like a column and {column!r} like a field: the field comes first)"
        )
    raise MappingError(message, hint="known fields: " + ", ".join(FIELDS))
