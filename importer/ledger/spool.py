"""The local spool: answers the ledger could not take (its server lost, its disk full) kept on
this machine, and written into the ledger when it is next opened.

A purchase id that came back is the one thing that must never be lost: without it the row
stays ``sending`` in the ledger, and the next run can only call it ``unconfirmed``. So when
recording an answer fails, the answer goes to a file of its own (one JSON line each, fsynced
before the row counts), the row is reported with its real result, and the next
:meth:`Ledger.open` of the same ledger replays the file, then empties it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os

from importer.ledger.location import LedgerLocation, data_dir
from importer.records import RowResult

__all__ = ["Spool"]

_REPLAY = (
    "UPDATE purchases SET status = ?, purchase_id = ?, http_status = ?, error = ?, attempts = ?,"
    " updated_at = ? WHERE target = ? AND identity = ?"
)


class Spool:
    """The spool file of one ledger (named by the ledger, without its password)."""

    def __init__(self, location: LedgerLocation) -> None:
        name = hashlib.sha256(location.describe().encode()).hexdigest()[:16]
        self.path = data_dir() / "spool" / f"{name}.jsonl"

    def add(self, target: str, identity: str, result: RowResult, when: float) -> None:
        """Keep one answer on disk (fsynced) before it counts. Raises OSError if it cannot."""
        line = {
            "target": target,
            "identity": identity,
            "status": str(result.status),
            "purchase_id": result.purchase_id,
            "http_status": result.http_status,
            "error": result.error,
            "attempts": result.attempts,
            "at": when,
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(line) + "\n")
            handle.flush()
            os.fsync(handle.fileno())

    def pending(self) -> list[dict]:
        """The answers waiting for the ledger (a torn last line is left out)."""
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return []
        found = []
        for line in text.splitlines():
            with contextlib.suppress(ValueError):
                found.append(json.loads(line))
        return found

    def replay(self, backend) -> int:
        """Write every waiting answer into the ledger, then empty the spool; returns how many."""
        answers = self.pending()
        if not answers:
            return 0
        rows = [
            (a["status"], a["purchase_id"], a["http_status"], a["error"], a["attempts"], a["at"],
             a["target"], a["identity"])
            for a in answers
        ]  # fmt: skip
        with backend.transaction():
            backend.execute_many(_REPLAY, rows)
        backend.sync()
        self.path.unlink()
        return len(answers)
