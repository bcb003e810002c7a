"""Results as pandas DataFrames: every row with its verdict, and the control totals.

``results_frame`` gives the input columns plus the result columns, ``summary_frame`` the rows and
amounts per status and currency. Amounts are ``Decimal`` objects, never floats: a float cannot
hold 0.10 exactly, and these are the amounts the import sent or would send. pandas is imported
only when a frame is asked for.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from importer.check.summary import Summary
from importer.check.validator import CheckedChunk, RowValidator
from importer.errors import ConfigurationError
from importer.read.frame import require_pandas
from importer.read.loader import Chunk, open_table
from importer.records import RESULT_COLUMNS, RowResult
from importer.report.results import FORMULA_CHARS, free_name, result_positions

#: Result columns after RESULT_COLUMNS: the amount as read (a Decimal) and its currency.
AMOUNT_COLUMNS = ("purchase_amount", "purchase_currency")
_WHOLE_NUMBERS = ("row", "http_status", "attempts")


class KeptResults:
    """The verdict, amount and currency of every judged row, kept in memory for a frame."""

    def __init__(self) -> None:
        self.clear()

    def clear(self) -> None:
        """Forget every row (the rows are judged again)."""
        self.rows: list[int] = []
        self.columns: list[list[str]] = [[] for _ in RESULT_COLUMNS]
        self.amounts: list[Decimal | None] = []
        self.currencies: list[str | None] = []

    def add(self, checked: CheckedChunk, columns: Sequence[Sequence[str]]) -> None:
        """Keep one judged chunk, given its result columns (one list per RESULT_COLUMNS)."""
        self.rows.extend(checked.chunk.rows)
        for kept, column in zip(self.columns, columns, strict=True):
            kept.extend(column)
        self.amounts.extend(checked.amounts_all)
        self.currencies.extend(checked.currencies)

    def add_results(self, checked: CheckedChunk, results: list[RowResult]) -> None:
        """Keep one chunk whose rows were sent (or not): their final RowResults."""
        cells = [r.cells() for r in results]
        self.add(checked, [[c[i] for c in cells] for i in range(len(RESULT_COLUMNS))])

    def by_row(self) -> dict[int, int]:
        """Row number -> position in the kept lists."""
        return {row: i for i, row in enumerate(self.rows)}


def results_frame(
    source: Any,
    kept: KeptResults | None,
    *,
    results_path: Path | None = None,
    prepared: Any = None,
) -> Any:
    """Every row with its verdict, as a DataFrame.

    A DataFrame input: the caller's DataFrame (a copy, same index) with the result columns
    added; rows that were blank have no status. A file: its results file read back, input
    cells as text, with the same result columns; ``prepared`` (the mapped file with its
    column decisions) reads the amounts again. Whole-number result columns are pandas'
    nullable Int64, empty result texts are None, ``purchase_amount`` is a Decimal.
    """
    pandas = require_pandas("results_frame()")
    if source is not None and kept is not None:
        frame = source.copy()
        positions = {row - 2: i for i, row in enumerate(kept.rows)}
        order = [positions.get(p) for p in range(len(frame))]
    elif results_path is not None and prepared is not None:
        frame, kept = _read_back(pandas, Path(results_path), prepared)
        order = list(range(len(frame)))
    else:
        raise ConfigurationError(
            "results_frame() needs the results file, and this check wrote none",
            hint="check again without write_results=False",
        )
    return _with_results(pandas, frame, kept, order)


def _with_results(pandas: Any, frame: Any, kept: KeptResults, order: list[int | None]) -> Any:
    names = result_names([str(c) for c in frame.columns])
    added = (*RESULT_COLUMNS, *AMOUNT_COLUMNS)
    for base, name, values in zip(added, names, _result_values(kept), strict=True):
        column = [None if i is None else values[i] for i in order]
        if base in _WHOLE_NUMBERS:
            frame[name] = pandas.array(column, dtype="Int64")
        else:
            frame[name] = pandas.Series(column, index=frame.index, dtype=object)
    return frame


def _read_back(pandas: Any, path: Path, prepared: Any) -> tuple[Any, KeptResults]:
    """A results file's input cells (text) and its verdicts, amounts read again."""
    if not path.exists():
        raise ConfigurationError(f"results_frame() reads {path}, which is not there any more")
    headers = list(prepared.table.headers)
    width, at = len(headers), result_positions(headers)
    csv_file = path.suffix.lower() not in (".xlsx", ".xlsm")
    validator = RowValidator(headers, prepared.columns, prepared.decisions, prepared.options)
    kept, inputs = KeptResults(), []
    for chunk in open_table(path, header_row=1).chunks():
        cells = [row[:width] for row in chunk.cells]
        if csv_file:  # the CSV writer put a ' before formula-like text: the user typed none
            cells = [[_as_typed(c) for c in row] for row in cells]
        checked = validator.check(Chunk(rows=list(chunk.rows), cells=cells))
        kept.add(checked, _result_cells(chunk.cells, at))
        inputs.extend(cells)
    return pandas.DataFrame(inputs, columns=headers, dtype=object), kept


def _result_cells(rows: list[list[str]], at: dict[str, int]) -> list[list[str]]:
    """The result columns of a results file's rows (a missing trailing cell is empty)."""
    return [[row[at[n]] if at[n] < len(row) else "" for row in rows] for n in RESULT_COLUMNS]


def _as_typed(cell: str) -> str:
    if cell[:1] == "'" and cell[1:2] in FORMULA_CHARS:
        return cell[1:]
    return cell


def _result_values(kept: KeptResults) -> list[list]:
    values: list[list] = []
    for name, column in zip(RESULT_COLUMNS, kept.columns, strict=True):
        if name in _WHOLE_NUMBERS:
            values.append([int(v) if v else None for v in column])
        else:
            values.append([v or None for v in column])
    return values + [list(kept.amounts), [c or None for c in kept.currencies]]


def result_names(headers: list[str]) -> list[str]:
    """The names of the added columns; ``keen_<name>`` where the input already has the name."""
    taken = {h.strip().casefold() for h in headers}
    return [free_name(name, taken) for name in (*RESULT_COLUMNS, *AMOUNT_COLUMNS)]


def summary_frame(summary: Summary) -> Any:
    """One line per status and currency: ``status, currency, rows, amount`` (amount a Decimal).

    The currency is None where it is unknown; ``amount`` adds the amounts that could be read.
    """
    pandas = require_pandas("summary_frame()")
    lines = []
    for status, totals in sorted(summary.by_status.items()):
        for currency in sorted(set(totals.rows_in) | set(totals.amounts)):
            amount = totals.amounts.get(currency, Decimal(0))
            lines.append((status, currency or None, totals.rows_in.get(currency, 0), amount))
    columns = list(zip(*lines, strict=True)) or [(), (), (), ()]
    return pandas.DataFrame(
        {
            "status": pandas.Series(columns[0], dtype=object),
            "currency": pandas.Series(columns[1], dtype=object),  # None stays None, not NaN
            "rows": pandas.Series(columns[2], dtype="int64"),
            "amount": pandas.Series(columns[3], dtype=object),
        }
    )
