"""The created list (``<stem>.created.csv``): every purchase an import created, for a reversal."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime
from decimal import Decimal
from pathlib import Path

from importer.report.publish import publish, temporary_beside
from importer.report.results import neutralise


class CreatedListWriter:
    """``<stem>.created.csv``: every purchase the import created, for a reversal request."""

    HEADER = ["row", "purchase_id", "lead_id", "purchase_amount", "date", "reference"]

    def __init__(self, path: Path) -> None:
        self.path = path
        self.tmp = temporary_beside(path)
        self._handle = open(self.tmp, "w", encoding="utf-8-sig", newline="")  # noqa: SIM115
        csv.writer(self._handle).writerow(self.HEADER)
        # Lines are rendered as purchases are listed (as answers come, while the event loop
        # waits for more) and written by row at the end of each chunk: rendering 20,000 lines
        # there took 0.1 s after the last answer.
        self._line = io.StringIO()
        self._csv = csv.writer(self._line)
        self._ids: set[str] = set()
        self._listed: list[tuple[int, str]] = []  # (row, rendered line) not written yet
        self.rows = 0

    def __contains__(self, purchase_id: str) -> bool:
        """True when the purchase is listed already."""
        return purchase_id in self._ids

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
        self._write(
            row,
            purchase_id,
            lead_id or "",
            "" if amount is None else format(amount, "f"),
            when.isoformat().replace("+00:00", "Z") if when else "",
            reference or "",
        )

    def add_earlier(self, row: int, purchase_id: str, payload: str | None) -> None:
        """List a purchase an earlier run created, from the payload it was created with
        (the ledger's; a row whose content changed since no longer has it in the file).
        A purchase id already listed is not listed again."""
        body = json.loads(payload, parse_float=str) if payload else {}
        amount = body.get("purchase_amount")
        self._write(
            row,
            purchase_id,
            str(body.get("lead_id") or ""),
            "" if amount is None else str(amount),
            str(body.get("date") or ""),
            "",
        )

    def _write(self, row: int, purchase_id: str, *cells: str) -> None:
        if purchase_id in self._ids:
            return
        self._ids.add(purchase_id)
        self.rows += 1
        *rest, reference = cells
        self._csv.writerow([row, purchase_id, *rest, neutralise(reference)])
        self._listed.append((row, self._line.getvalue()))
        self._line.seek(0)
        self._line.truncate()

    def write_listed(self) -> None:
        """Write the purchases listed since the last call, by row (they are listed as their
        answers come, in any order)."""
        self._listed.sort(key=lambda item: item[0])
        self._handle.write("".join(line for _, line in self._listed))
        self._listed = []

    def commit(self) -> Path:
        """Finish the list and move it to its final name; returns where it went."""
        self.write_listed()
        self._handle.close()
        return publish(self.tmp, self.path)

    def abort(self) -> None:
        """Drop the temporary file."""
        try:
            self._handle.close()
        except OSError:
            pass  # a full disk cannot take the rest of a file that is being dropped anyway
        finally:
            self.tmp.unlink(missing_ok=True)
