"""Finance controls: the period gate, control totals, the audit manifest and the reversal list."""

from __future__ import annotations

import csv
import os
from datetime import datetime
from decimal import Decimal
from pathlib import Path

from importer.report.results import neutralise


def created_list_path(results_path: Path, source: Path) -> Path:
    """``<input stem>.created.csv`` beside the results file."""
    return results_path.with_name(f"{source.stem}.created.csv")


class CreatedListWriter:
    """``<stem>.created.csv``: every purchase the import created, for a reversal request."""

    HEADER = ["row", "purchase_id", "lead_id", "purchase_amount", "date", "reference"]

    def __init__(self, path: Path) -> None:
        self.path = path
        self.tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        self._handle = open(self.tmp, "w", encoding="utf-8-sig", newline="")  # noqa: SIM115
        self._csv = csv.writer(self._handle)
        self._csv.writerow(self.HEADER)
        self._ids: set[str] = set()
        self.rows = 0

    def add(
        self,
        row: int,
        purchase_id: str,
        lead_id: str | None,
        amount: Decimal | None,
        when: datetime | None,
        reference: str | None,
    ) -> None:
        """List one created purchase (a purchase id is listed once)."""
        if purchase_id in self._ids:
            return
        self._ids.add(purchase_id)
        self.rows += 1
        self._csv.writerow(
            [
                row,
                purchase_id,
                lead_id or "",
                "" if amount is None else format(amount, "f"),
                when.isoformat().replace("+00:00", "Z") if when else "",
                neutralise(reference or ""),
            ]
        )

    def commit(self) -> None:
        """Finish the list and move it to its final name."""
        self._handle.close()
        os.replace(self.tmp, self.path)

    def abort(self) -> None:
        """Drop the temporary file."""
        try:
            self._handle.close()
        except OSError:
            pass  # a full disk cannot take the rest of a file that is being dropped anyway
        finally:
            self.tmp.unlink(missing_ok=True)
