"""The data an import job hands to its front ends (CLI, web UI): plain, typed, documented.

Every class here is a dataclass of plain values (str, int, Path, Decimal, datetime) so a front
end can render it or turn it into JSON without knowing the pipeline behind it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from importer.check.summary import Summary
from importer.report.frames import KeptResults, results_frame, summary_frame

#: Progress callback: (rows done, rows total or None, counts per status).
ProgressCallback = Callable[[int, int | None, dict[str, int]], None]


@dataclass
class FileOverview:
    """What an opened file looks like: its sheets, header row, headers and sample values."""

    path: Path
    kind: str  # "csv" | "xlsx" | "xls" | "frame"
    sheets: list[str]
    sheet: str | None
    header_row: int  # 1-based row of the file
    headers: list[str]
    samples: dict[str, list[str]]  # header -> up to 3 non-empty cell texts
    encoding: str | None
    delimiter: str | None


@dataclass
class ColumnDecision:
    """How a whole column is read, and why.

    ``kind``: "decimal" (value "." or ","), "day_first" (True/False/None) or "currency" (the
    file's currency code). ``source``: "evidence" (values in the file decided), "option" (the
    user said so: a flag, a mapping file or an answer), "default" or "none" (nothing to decide).
    ``evidence``: example values that decided it. A date column written both ways has value
    None, source "evidence" and one value of each order as evidence (day-first first).
    """

    kind: str
    column: str | None
    value: str | bool | None
    source: str
    evidence: list[str] = field(default_factory=list)


@dataclass
class QuestionExample:
    """One value that could be read either way, with its row (as the user sees it)."""

    row: int
    value: str


@dataclass
class Choice:
    """One possible answer to a question: the value to pass to ``answer()`` and its label."""

    value: str
    label: str


@dataclass
class Question:
    """An open ambiguity only the user can settle; answer it with ``ImportJob.answer``.

    ``flag`` is the command-line option that answers it; ``hint`` is the sentence the CLI
    prints after the error (it names the flag).
    """

    id: str
    kind: str  # "decimal" | "day_first"
    column: str
    text: str
    examples: list[QuestionExample]
    choices: list[Choice]
    flag: str
    hint: str = ""


@dataclass
class Answer:
    """An answer given to a question (recorded in the manifest)."""

    question_id: str
    value: str
    at: datetime


class FramesOfReport:
    """``results_frame()`` and ``summary_frame()`` for a report that has ``summary``,
    ``results_path``, ``frame``, ``kept`` and ``prepared``."""

    def results_frame(self) -> Any:
        """Every row with its verdict: a DataFrame's columns (or a file's cells, as text) plus
        the result columns, amounts as Decimal (see importer.report.frames)."""
        return results_frame(
            self.frame, self.kept, results_path=self.results_path, prepared=self.prepared
        )

    def summary_frame(self) -> Any:
        """Rows and amounts per status and currency, as a DataFrame (amounts as Decimal)."""
        return summary_frame(self.summary)


@dataclass
class CheckReport(FramesOfReport):
    """What checking every row found: control totals, notes, warnings, results file."""

    summary: Summary
    notes: list[str]
    warnings_count: dict[str, int]  # warning text -> rows with it
    exit_code: int
    results_path: Path | None  # None: a DataFrame checked without a results path
    frame: Any = field(default=None, repr=False)  # the DataFrame checked, if one was
    kept: KeptResults | None = field(default=None, repr=False)
    prepared: Any = field(default=None, repr=False)  # reads a file's results back
    #: Files written beside their usual name, which another program held open (one line each).
    held_open: list[str] = field(default_factory=list)


@dataclass
class ReadValue:
    """One mapped cell as the tool will send it, for people to compare with the file's text.

    ``value``: a Decimal amount (with its ``currency``, None when the file names none: Keen
    then uses the channel's), a date as an aware datetime in ``zone`` (the time zone the file's
    dates are read in; the instant sent is the same), a normalised lead UUID or other text, a
    legacy lead id (int) or the trigger ids (a tuple, --trigger-id values included).
    """

    field: str  # the Keen field, e.g. "purchase_amount"
    value: Decimal | datetime | str | int | tuple[str, ...]
    currency: str | None = None  # amounts only
    zone: str | None = None  # dates only: an IANA name, e.g. "Europe/Copenhagen"


@dataclass
class RowView:
    """One row's verdict as a front end shows it: status, reasons and the cells of the file.

    ``read``: header -> what its cell was read as (mapped cells of rows that passed the
    check only; an invalid or skipped row has none).
    """

    row: int
    status: str
    error: str | None
    warnings: list[str]
    cells: dict[str, str]  # header -> cell text
    purchase_id: str | None
    read: dict[str, ReadValue] = field(default_factory=dict)


@dataclass
class RowPage:
    """A page of row verdicts: ``total`` rows match the filter, this page starts at ``offset``."""

    total: int
    offset: int
    rows: list[RowView]


@dataclass
class CellEdit:
    """One correction of a cell made through the job (listed in the manifest)."""

    row: int
    column: str
    old: str
    new: str
    at: datetime


@dataclass
class RowSkip:
    """One row left out through the job (or put back: ``skipped`` False), listed in the
    manifest like an edit. ``reason`` is what the results file says of the row."""

    row: int
    skipped: bool
    reason: str
    at: datetime

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready (the manifest's "skips", the web app's import settings)."""
        return {"row": self.row, "skipped": self.skipped, "reason": self.reason,
                "at": self.at.isoformat()}  # fmt: skip

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RowSkip:
        """The entry :meth:`as_dict` wrote."""
        return cls(int(data["row"]), bool(data["skipped"]), str(data["reason"]),
                   datetime.fromisoformat(data["at"]))  # fmt: skip


@dataclass
class ColumnValues:
    """The values of one column with their row counts, most rows first (a filter's choices).

    ``values`` holds at most the ``limit`` asked for; ``distinct`` is how many different
    non-empty values were counted, and ``complete`` is False when the column has more than
    were counted (a reference column: no sensible filter). ``empty``: rows with an empty cell.
    """

    column: str
    values: list[tuple[str, int]]
    distinct: int
    complete: bool
    empty: int = 0


@dataclass
class ReportFiles:
    """The files a job wrote."""

    results: Path
    manifest: Path
    created: Path | None
