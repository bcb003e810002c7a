"""Rows left out on purpose through the import job: the ``skip_rows`` option (``--skip-rows``)
and the rows skipped and put back one by one (the web app's "Skip row N"), with their audit.

A row that may already be a purchase in Keen is never left out: its results status created or
unconfirmed, or the ledger holding its purchase as created or in flight. Leaving it out would
make the results say "skipped" of a purchase that exists.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from importer.check.rowranges import LEFT_OUT, RowRanges
from importer.errors import ConfigurationError
from importer.job.checking import PreparedFile
from importer.job.model import RowSkip
from importer.job.rowstore import RowStore
from importer.read.loader import Chunk
from importer.records import RowStatus

#: Results statuses of a row that may be a purchase in Keen: it cannot be left out.
IN_KEEN = (str(RowStatus.CREATED), str(RowStatus.UNCONFIRMED))


def parse_rows(rows: str | Iterable[int] | RowRanges | None) -> RowRanges:
    """Rows as ``"3,5-6"``, row numbers or RowRanges -> RowRanges (ConfigurationError if the
    text is not a list of rows)."""
    if isinstance(rows, RowRanges):
        return rows
    if rows is None or isinstance(rows, str):
        try:
            return RowRanges.parse(rows)
        except ValueError as exc:
            raise ConfigurationError(
                f"--skip-rows {rows!r}: {exc}",
                hint="row numbers as the results file gives them, e.g. --skip-rows 3,5-6",
            ) from None
    return RowRanges.of(int(row) for row in rows)


class LeftOut:
    """The rows a job leaves out: the option's rows, then each skip and put-back in order."""

    def __init__(self) -> None:
        self.option = RowRanges()
        self.option_reason = LEFT_OUT
        self.skips: list[RowSkip] = []

    @property
    def rows(self) -> RowRanges:
        """Every row left out now."""
        rows = self.option
        for skip in self.skips:
            change = RowRanges.of([skip.row])
            rows = rows.union(change) if skip.skipped else rows.difference(change)
        return rows

    @property
    def reason(self) -> str:
        """What the results file says of the rows left out (the latest reason given)."""
        reasons = [s.reason for s in self.skips if s.skipped]
        return reasons[-1] if reasons else self.option_reason

    def record(self, rows: RowRanges, *, skipped: bool, reason: str) -> None:
        """Skip (or put back) each row, now."""
        at = datetime.now(UTC)
        self.skips += [RowSkip(row, skipped, reason, at) for row in rows]

    def audit(self) -> list[dict[str, Any]]:
        """The skips for the manifest, oldest first."""
        return [skip.as_dict() for skip in self.skips]


def refuse_rows_in_keen(store: RowStore, rows: RowRanges) -> list[int]:
    """The rows' positions in the results; ConfigurationError for a row the file does not
    have, or one the results hold as created or unconfirmed."""
    positions = []
    for row in rows:
        try:
            at = store.index_of(row)
        except (KeyError, IndexError, ValueError):
            raise ConfigurationError(f"there is no row {row} in this file") from None
        status = store.status_of(at)
        if status in IN_KEEN:
            raise ConfigurationError(_in_keen(row, status), hint=_IN_KEEN_HINT)
        positions.append(at)
    return positions


def refuse_rows_in_ledger(
    prepared: PreparedFile,
    store: RowStore,
    positions: list[int],
    *,
    api_url: str,
    target: str | None,
    ledger: str | Path | None,
) -> None:
    """ConfigurationError when the ledger of ``api_url`` (or ``ledger``) holds the purchase of
    one of these rows (as the results have them now) as created or in flight for ``target``
    (default: the API URL), as :meth:`ImportJob.plan` would look it up."""
    # The sending stack is imported on first use: checking a file never needs it.
    from importer.job.known import held_by_ledger
    from importer.job.settings import check_api_url
    from importer.ledger.location import ledger_for

    url = check_api_url(api_url, insecure=True)
    location = ledger_for(url, target=target, ledger=ledger)
    views = [store.view(at) for at in positions]
    views = [v for v in views if v.status == str(RowStatus.VALID)]  # only these are purchases
    if not views:
        return
    headers = prepared.table.headers
    chunk = Chunk(rows=[v.row for v in views], cells=[[v.cells[h] for h in headers] for v in views])
    options = dataclasses.replace(prepared.options, skip_rows=RowRanges())
    judged = dataclasses.replace(prepared, options=options)
    held = held_by_ledger(judged, chunk, location, target or url)
    for row, result in sorted(held.items()):
        created = result.status is RowStatus.CREATED or result.purchase_id
        if created or result.status is RowStatus.UNCONFIRMED:
            status = str(RowStatus.CREATED) if created else str(RowStatus.UNCONFIRMED)
            raise ConfigurationError(_in_keen(row, status), hint=_IN_KEEN_HINT)


_IN_KEEN_HINT = "only rows not sent yet, or refused, can be left out"


def _in_keen(row: int, status: str) -> str:
    if status == str(RowStatus.CREATED):
        return f"row {row} is already created in Keen: it cannot be left out"
    return (
        f"row {row} is unconfirmed (its purchase may exist in Keen): it cannot be left out "
        "until it is checked in Keen"
    )
