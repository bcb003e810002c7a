"""The values of one column with their row counts: the choices of a "keep only rows whose
COLUMN holds ..." filter (``--where``), read in one pass over the file.

Counting stops taking new values after :data:`MAX_DISTINCT`: a column of references or
amounts has a value per row, and no filter is sensible there; memory stays bounded.
"""

from __future__ import annotations

import contextlib
from collections import Counter

from importer.errors import ConfigurationError
from importer.job.model import ColumnValues
from importer.read.loader import Table

MAX_DISTINCT = 5_000  # different values counted before a column is called too varied
MAX_SHOWN = 50  # values offered (the most frequent)


def count_values(table: Table, column: str, *, limit: int = MAX_SHOWN) -> ColumnValues:
    """The ``limit`` most frequent non-empty values of ``column`` with their row counts, in
    any case as the filter compares them (shown as first written, spaces around trimmed);
    ConfigurationError when there is no such column."""
    if column not in table.headers:
        raise ConfigurationError(
            f"no column {column!r} in the file",
            hint="columns: " + ", ".join(repr(h) for h in table.headers if h.strip()),
        )
    at = table.headers.index(column)
    counts: Counter[str] = Counter()  # by the value in any case, as the filter compares them
    spelling: dict[str, str] = {}  # ... shown as first written
    empty, complete = 0, True
    with contextlib.closing(table.chunks()) as chunks:
        for chunk in chunks:
            found = Counter(value.strip() for value in chunk.column(at))
            empty += found.pop("", 0)
            for value, rows in found.items() if complete else ():
                key = value.casefold()
                counts[key] += rows
                spelling.setdefault(key, value)
            complete = complete and len(counts) <= MAX_DISTINCT
    return ColumnValues(
        column=column,
        values=[(spelling[k], n) for k, n in counts.most_common(limit)] if complete else [],
        distinct=len(counts),
        complete=complete,
        empty=empty,
    )
