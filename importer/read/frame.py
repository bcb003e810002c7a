"""Read a pandas DataFrame as the loader reads a workbook: a Table of Chunks of text cells.

A DataFrame is presented exactly as a sheet of typed Excel cells, so nothing after the read
stage knows the difference:

- object and string columns are text cells; a number, Decimal, date or bool found in one is
  the typed cell it would be in a workbook; a Decimal is a number cell that keeps its exact
  digits (never read by the column's thousands and decimal separators);
- numeric dtypes are number cells; a float is written as Excel shows it, to 15 significant
  digits (``1500`` not ``1500.0``, 0.1 + 0.2 is ``0.3``), from 10^13 on with every digit it
  has (99999999999999.98 is not 100000000000000), never with an exponent;
- datetime64 columns are date cells: naive ones are wall-clock times read in the import's
  timezone, tz-aware ones keep their UTC offset (``2026-03-02T10:15:00+01:00``);
- NaN, None, NA and NaT are empty cells; a row with nothing in it is dropped and counted, like a
  blank line.

The column labels are the headers (row 1); data row ``i`` (0-based position) is row ``i + 2``,
the row it has in ``df.to_csv(index=False)``. The index is not read: ``df.reset_index()`` first
to import it. pandas is imported only here, and only when a DataFrame is given.
"""

from __future__ import annotations

import datetime as dt
import decimal
import hashlib
import math
import re
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy

from importer.errors import ConfigurationError, InputFileError
from importer.read.filecheck import FileInfo
from importer.read.loader import Chunk, Table, cell_text

#: FileInfo.kind of a DataFrame source.
FRAME_KIND = "frame"
DEFAULT_FRAME_NAME = "dataframe"
PANDAS_HINT = "install it with: pip install 'keen-import[pandas]'"
_NAME = re.compile(r"[^\\/:*?\"<>|\x00-\x1f]+")


def is_frame(source: object) -> bool:
    """True when ``source`` is a pandas DataFrame (pandas is not imported to find out)."""
    pandas = sys.modules.get("pandas")
    return pandas is not None and isinstance(source, pandas.DataFrame)


def require_pandas(purpose: str) -> Any:
    """The pandas module, or a ConfigurationError saying what needs it and how to install it."""
    try:
        import pandas
    except ImportError:
        raise ConfigurationError(f"{purpose} needs pandas, which is not installed",
                                 hint=PANDAS_HINT) from None  # fmt: skip
    return pandas


@dataclass
class FrameTable(Table):
    """A DataFrame opened as a Table; ``frame`` is the caller's DataFrame, never modified."""

    frame: Any = None
    name: str = DEFAULT_FRAME_NAME

    def content_sha256(self) -> str:
        """SHA-256 over the column labels, dtypes and pandas' hash of every row (index included).

        Identifies the data in the manifest as a file's SHA-256 identifies a file: the same
        DataFrame content gives the same value in every session.
        """
        pandas = require_pandas("hashing a DataFrame")
        hash_values = pandas.util.hash_pandas_object
        digest = hashlib.sha256()
        digest.update(repr([(str(c), str(t)) for c, t in self.frame.dtypes.items()]).encode())
        digest.update(hash_values(self.frame.index).to_numpy().tobytes())
        for _, column in self.frame.items():
            try:
                hashes = hash_values(column, index=False)
            except TypeError:  # unhashable cells (a list, a dict): their text identifies them
                hashes = hash_values(column.astype(str), index=False)
            digest.update(hashes.to_numpy().tobytes())
        return digest.hexdigest()

    def describe(self) -> dict:
        """What the manifest records about the source: a DataFrame, its name, shape and hash."""
        rows, columns = self.frame.shape
        return {"name": self.name, "kind": "DataFrame", "rows": rows, "columns": columns}


def frame_name(name: str | None) -> str:
    """The stem of the files a DataFrame's import writes (``<name>.results.csv``, ...)."""
    if name is None:
        return DEFAULT_FRAME_NAME
    if not isinstance(name, str) or not _NAME.fullmatch(name.strip()) or not name.strip(". "):
        raise ConfigurationError(
            f"name={name!r} cannot name files; give a plain name such as name='march' "
            '(no folder, no / \\ : * ? " < > |)'
        )
    return name.strip()


def open_frame(frame: Any, *, name: str | None = None) -> FrameTable:
    """Open a DataFrame as a :class:`Table` (headers in row 1, data from row 2).

    ``name`` is the stem of the files the import writes (default ``dataframe``).
    Raises InputFileError when the columns cannot be headers (duplicates, several levels).
    """
    require_pandas("reading a DataFrame")
    stem = frame_name(name)
    headers = _headers(frame, stem)
    info = FileInfo(path=Path(f"{stem}.dataframe"), kind=FRAME_KIND, size=0, encoding=None)

    def read(size: int) -> Iterator[Chunk]:
        return _frame_chunks(frame, len(headers), size)

    return FrameTable(
        info=info, headers=headers, header_row=1, _reader=read, frame=frame, name=stem
    )


def _headers(frame: Any, name: str) -> list[str]:
    if getattr(frame.columns, "nlevels", 1) > 1:
        raise InputFileError(
            f"DataFrame {name!r} has column labels on {frame.columns.nlevels} levels; "
            "flatten them to one header per column first",
            hint="for example: df.columns = [' '.join(map(str, c)) for c in df.columns]",
        )
    headers = ["" if label is None else str(label).strip() for label in frame.columns]
    seen: dict[str, int] = {}
    for position, header in enumerate(headers, start=1):
        key = header.casefold()
        if header and key in seen:
            raise InputFileError(
                f"DataFrame {name!r}: the column {header!r} appears twice (columns "
                f"{seen[key]} and {position}); rename one of them so it is clear which to import"
            )
        seen.setdefault(key, position)
    if not frame.shape[1]:
        raise InputFileError(f"DataFrame {name!r} has no columns")
    return headers


def _frame_chunks(frame: Any, width: int, size: int) -> Iterator[Chunk]:
    for start in range(0, len(frame), size):
        part = frame.iloc[start : start + size]
        texts, raws = [], []
        for position in range(width):
            text, raw = column_cells(part.iloc[:, position])
            texts.append(text)
            raws.append(raw)
        yield _chunk(texts, raws, first_row=start + 2)


def _chunk(texts: list[list[str]], raws: list[list[object]], first_row: int) -> Chunk:
    """Columns -> a Chunk of rows; a row with nothing in any cell is dropped and counted."""
    cells = [list(row) for row in zip(*texts, strict=True)]
    typed = [list(row) for row in zip(*raws, strict=True)]
    filled = [any(map(str.strip, row)) for row in cells]
    if all(filled):
        rows = list(range(first_row, first_row + len(cells)))
        return Chunk(rows=rows, cells=cells, raw=typed)
    keep = [i for i, full in enumerate(filled) if full]
    return Chunk(
        rows=[first_row + i for i in keep],
        cells=[cells[i] for i in keep],
        raw=[typed[i] for i in keep],
        blank=len(cells) - len(keep),
    )


def column_cells(series: Any) -> tuple[list[str], list[object]]:
    """One column as (cell texts, typed values for an XLSX results file), by its dtype."""
    import pandas

    dtype = series.dtype
    if isinstance(dtype, pandas.DatetimeTZDtype):
        return _cells(series.tolist(), _aware_cell)
    kind = getattr(dtype, "kind", "O")
    if kind == "M":
        return _naive_dates(series)
    if kind in "iufb" and not isinstance(dtype, pandas.api.extensions.ExtensionDtype):
        if kind == "f" and dtype.itemsize < 8:
            # A float32 holds about 7 digits; as a Python float it carries the rest as noise
            # (0.1 is 0.100000001490116): numpy's shortest digits of its own precision.
            return _numbers([float(str(v)) for v in series.to_numpy()], kind)
        return _numbers(series.tolist(), kind)
    values = series.astype(object).tolist()
    if all(type(v) is str for v in values):
        return values, values  # plain text: the usual object or string column
    return _cells(values, object_cell)


def _numbers(values: list, kind: str) -> tuple[list[str], list[object]]:
    """Python ints/floats/bools, as a workbook reader gives them; NaN is an empty cell."""
    if kind == "f":
        texts = [_float_text(v) if v == v else "" for v in values]
        return texts, [v if v == v else "" for v in values]
    return [cell_text(v) for v in values], values


def _naive_dates(series: Any) -> tuple[list[str], list[object]]:
    """A datetime64 column without a timezone: dates at midnight, else date and time."""
    if (series.dropna().dt.normalize() == series.dropna()).all():
        texts = series.dt.strftime("%Y-%m-%d").fillna("").tolist()
        stamps = series.dt.to_pydatetime().tolist()
        return texts, [t if t == t else "" for t in stamps]  # NaT: an empty cell
    return _cells(series.tolist(), _naive_cell)


def _cells(values: list, convert: Callable[[object], tuple[str, object]]):
    pairs = [convert(value) for value in values]
    return [text for text, _ in pairs], [raw for _, raw in pairs]


def object_cell(value: object) -> tuple[str, object]:
    """One value of an object column as (text, typed value): a typed cell where it is one."""
    if isinstance(value, str):
        return value, value
    if _is_missing(value):
        return "", ""
    if isinstance(value, decimal.Decimal):
        text = _decimal_text(value)
        return text, decimal.Decimal(text)
    if isinstance(value, dt.datetime):
        return (_aware_cell if value.utcoffset() is not None else _naive_cell)(value)
    if isinstance(value, numpy.datetime64):
        return _naive_cell(sys.modules["pandas"].Timestamp(value))
    if isinstance(value, numpy.generic):
        value = value.item()  # a NumPy scalar: its Python value
    if type(value) is float:
        return _float_text(value), value
    if isinstance(value, bool | int | float | dt.date | dt.time):
        return cell_text(value), value
    return str(value), str(value)


def _decimal_text(value: decimal.Decimal) -> str:
    """A Decimal's exact digits without an exponent, as a CSV would hold them ("1500.00" keeps
    its zeros), but no zeros past the second decimal place: "3.250" is the number 3.25, and as
    text it would read as three thousand two hundred and fifty where "." groups thousands."""
    whole, point, fraction = format(value, "f").partition(".")
    if len(fraction) > 2:
        fraction = fraction[:2] + fraction[2:].rstrip("0")
    return whole + point + fraction


def _float_text(value: float) -> str:
    """A DataFrame's float as a person reads it: 15 significant digits, as Excel shows a cell
    (0.1 + 0.2 is 0.3: the float's binary noise is no amount), except from 10^13 on, where 15
    digits cannot hold the cents: there the shortest digits that read back as the same float
    (99999999999999.98, not 100000000000000). Never an exponent."""
    if not math.isfinite(value):
        return repr(value)
    value += 0.0  # -0.0 is 0
    digits = repr(value) if abs(value) >= 1e13 else format(value, ".15g")
    if "e" in digits:
        digits = format(decimal.Decimal(digits), "f")
    return digits[:-2] if digits.endswith(".0") else digits


def _naive_cell(value: Any) -> tuple[str, object]:
    if _is_missing(value):
        return "", ""
    stamp = value.to_pydatetime() if hasattr(value, "to_pydatetime") else value
    return cell_text(stamp), stamp


def _aware_cell(value: Any) -> tuple[str, object]:
    if _is_missing(value):
        return "", ""
    # The offset is part of the instant: never dropped, even at midnight. An XLSX results file
    # cannot hold an offset, so the cell is written as this text there.
    text = value.isoformat()
    return text, text


def _is_missing(value: object) -> bool:
    if value is None:
        return True
    try:
        return bool(value != value)  # NaN, NaT and pandas.NA are not equal to themselves
    except TypeError:  # pandas.NA refuses bool(): it is missing
        return True
    except ValueError:  # an array in a cell: not missing
        return False
