"""The command line's remedies as controls of the web app, shown where the problem shows.

    --skip-hidden, --allow-precision,    "Choices" on the review page (one form of checkboxes)
    --allow-duplicates, --keep-null
    --where COLUMN=VALUE,...            "Keep only some rows" on the review page: a column's
                                        values from the file, with their row counts
    --skip-rows N,M-K                   "Skip row N" beside each row that is not in Keen yet
    --no-amount, --no-date              "No amount on purpose", "No date on purpose" on the
                                        match page (a check stops without them)

Each control sets the job's option of the same name (ImportJob.set_options, skip_rows), so the
manifest, the import's mapping file and the "Command line" box (importer.ui.command) say it
as the flag would; rows left out are this import's alone: kept in its import.json, never in a
mapping file. The routes that change them are in importer.ui.routes.remedies.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from decimal import Decimal

from importer.check.rowranges import RowRanges
from importer.check.summary import format_amounts
from importer.job.leftout import IN_KEEN, LeftOut
from importer.job.model import RowSkip
from importer.read.kinds import kind_named
from importer.records import RowStatus
from importer.ui.wording import how_many

#: The reason the results file gives for a row left out with "Skip row N".
LEFT_OUT_HERE = "left out in the web app"
#: Statuses of a row that carries "Skip row N": not skipped already, and never one that may be
#: in Keen (the job refuses those: importer.job.leftout.IN_KEEN).
SKIPPABLE = frozenset(str(s) for s in RowStatus) - {str(RowStatus.SKIPPED), *IN_KEEN}
#: Choices that belong to one file, not to its set of headers: never remembered for the next
#: upload (an encoding, hidden rows of this workbook, repeats let through this once; this
#: month's period, and the answers read from this file's cells: next month's file with the
#: same headers was all invalid under the old period, and 03/04/2026 read month-first unasked).
NOT_REMEMBERED = {
    "encoding": None,
    "skip_hidden": None,
    "allow_duplicates": None,
    "period": None,
    "timezone": None,
    "day_first": None,
    "decimal": None,
}


def remembered(mapping):
    """``mapping`` as it is remembered for the next upload with the same headers (saved and
    taken up alike: a file remembered before holds no more than a new one)."""
    return dataclasses.replace(mapping, **NOT_REMEMBERED)


@dataclass(frozen=True)
class Choice:
    """One checkbox of the "Choices" form: the job option it sets, its label and its help."""

    name: str
    label: str
    help: str
    on: bool


#: The options the "Choices" form sets, in the order it shows them.
CHOICE_NAMES = ("skip_hidden", "allow_precision", "allow_duplicates", "keep_null")


def choices(mapping, summary, *, workbook: bool) -> list[Choice]:
    """The checkboxes of the review page's "Choices": hidden rows (``workbook``: a kind of
    file whose hidden rows are found), NULL cells (when the file has some), more decimals and
    repeats (always)."""
    facts = summary.facts
    found = []
    if workbook or facts.hidden_rows or mapping.skip_hidden:
        found.append(Choice("skip_hidden", "Skip hidden rows", _hidden_help(facts),
                            bool(mapping.skip_hidden)))  # fmt: skip
    found.append(Choice(
        "allow_precision", "Allow more than 2 decimal places",
        "An amount such as 12.345 is sent as it is, instead of being invalid.",
        bool(mapping.allow_precision),
    ))  # fmt: skip
    found.append(Choice(
        "allow_duplicates", "Allow duplicates",
        "A row that repeats an earlier row in every field is sent too: both are real "
        "purchases (otherwise it is skipped as a duplicate).",
        bool(mapping.allow_duplicates),
    ))  # fmt: skip
    if facts.null_cells or mapping.keep_null:
        found.append(Choice(
            "keep_null", "Keep NULL as text",
            f"{how_many(facts.null_cells, 'cell')} read NULL or \\N: they are read as empty "
            "unless kept as text.",
            bool(mapping.keep_null),
        ))  # fmt: skip
    return found


def _hidden_help(facts) -> str:
    if not facts.hidden_rows:
        return "No row of this sheet is hidden."
    amounts = _amounts(facts.hidden_amounts)
    return (
        f"{how_many(facts.hidden_rows, 'row')} hidden in the workbook (by hand or by a filter)"
        + (f", {amounts}" if amounts else "")
        + ": sent like the others unless skipped."
    )


def hidden_rows_line(summary) -> str:
    """What a send includes of the rows hidden in the workbook, always said on the send page:
    "1 hidden row, 24,000.00 USD included", "No hidden rows included", ..."""
    facts = summary.facts
    included = facts.hidden_included
    if included:
        amounts = _amounts(facts.hidden_included_amounts)
        line = how_many(included, "hidden row") + (f", {amounts}" if amounts else "")
        line += " included"
        if facts.hidden_rows > included:
            line += f" ({how_many(facts.hidden_rows - included, 'more hidden row')} not sent)"
        return line
    if not facts.hidden_rows:
        return "No hidden rows included (none is hidden in the file)"
    amounts = _amounts(facts.hidden_amounts)
    left_out = how_many(facts.hidden_rows, "hidden row") + (f", {amounts}," if amounts else "")
    return f"No hidden rows included ({left_out} not sent)"


def _amounts(amounts: dict[str, Decimal]) -> str:
    """'24,000.00 USD' (several currencies joined by +), '' when no amount could be read."""
    known = {code: value for code, value in amounts.items() if value}
    return format_amounts(known) if known else ""


# -- "Keep only some rows": the where filters --------------------------------------------------


def filters_in_force(where: tuple[str, ...]) -> list[tuple[str, list[str]]]:
    """(column, values kept) of each ``where`` filter, as the page lists them."""
    found = []
    for text in where:
        column, _, values = text.partition("=")
        found.append((column.strip(), [v.strip() for v in values.split(",") if v.strip()]))
    return found


def where_with(where: tuple[str, ...], column: str, values: list[str]) -> tuple[str, ...]:
    """The filters with ``column``'s replaced by these values (no values: no filter on it)."""
    kept = tuple(t for t in where if t.partition("=")[0].strip().casefold() != column.casefold())
    if not values:
        return kept
    return (*kept, f"{column}={','.join(values)}")


def offered_values(found, kept: list[str]) -> list[dict]:
    """The values of a column as the page offers them (importer.job.model.ColumnValues):
    each with its rows and whether it is kept now. A value with a comma cannot be written in a
    filter (commas separate its values), so it is offered as not choosable."""
    wanted = {v.casefold() for v in kept}
    return [
        {"value": value, "rows": rows, "kept": value.casefold() in wanted, "comma": "," in value}
        for value, rows in found.values
    ]


def review_context(job, summary, keep_column: str | None = None) -> dict:
    """What the review page shows of the remedies: the choices, the rows "Skip row N" may
    leave out and those left out, the filters in force and the values of a column to keep
    (``keep_column``, else the filtered column, else a status column the file has)."""
    where = filters_in_force(job.mapping.where)
    column = keep_column or (where[0][0] if where else None) or summary.facts.status_column
    keep = None
    if column in job.overview.headers:
        kept = next((values for name, values in where if name == column), [])
        found = job.column_values(column)
        keep = {"column": column, "found": found, "values": offered_values(found, kept)}
    left_out = RowRanges.parse(job.rows_left_out)
    return {
        "choices": choices(job.mapping, summary, workbook=_finds_hidden_rows(job.overview.kind)),
        "skippable": SKIPPABLE,
        "skips": _with_put_back(job.skips, left_out),
        "left_out": left_out,
        "keeping": where,
        "keep": keep,
    }


def _finds_hidden_rows(kind: str) -> bool:
    """True for a kind of file whose hidden rows the reader finds (importer.read.kinds)."""
    found = kind_named(kind)
    return found is not None and found.find_hidden is not None


def _with_put_back(skips: list, left_out: RowRanges) -> list[tuple[object, bool]]:
    """Each skip, and whether it carries the row's "Put row N back" (its latest skip, of a row
    still left out)."""
    latest = {skip.row: at for at, skip in enumerate(skips)}
    return [
        (skip, skip.skipped and latest[skip.row] == at and skip.row in left_out)
        for at, skip in enumerate(skips)
    ]


def saved_rows_left_out(folder) -> str:
    """The rows an import leaves out (``"3,5-6"``, "" for none) as its import.json keeps them,
    without opening its job: for a page of an import this server has not opened (the "Command
    line" box then adds ``--skip-rows`` with them)."""
    left_out = LeftOut()
    left_out.skips = [RowSkip.from_dict(entry) for entry in folder.meta().get("skips", [])]
    return str(left_out.rows)
