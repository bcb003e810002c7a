"""Resuming an import: what earlier runs against the same target already created.

The journal (:mod:`importer.send.journal`) records every request; this module decides, for the rows
of the current run, which ones an earlier run created so that they are never sent twice.
"""

from __future__ import annotations

from pathlib import Path

from importer.records import RowResult, RowStatus
from importer.send.journal import Journal
from importer.send.sender import payload_hash


def journal_path_for(results_path: Path, source: Path) -> Path:
    """``<input stem>.journal.sqlite`` beside the results file.

    A results file run again (``march.results.csv``, fixed by the user) shares the journal of
    the file it came from (``march``), so rows created the first time are recognised.
    """
    stem = source.stem.removesuffix(".results")
    return results_path.with_name(f"{stem}.journal.sqlite")


class EarlierRuns:
    """What earlier runs against the same target created, for rows of this run.

    The journal is keyed by the target and the row's payload, not by the file's bytes: fixing one
    row of a file (or re-running its results file) must not make every other row look new. A row
    is recognised at its own row number, or, when rows were inserted or deleted, at another row
    with exactly the same payload that no row of this run has claimed yet.
    """

    def __init__(self, journal: Journal, action: str) -> None:
        self.journal = journal
        self.action = action
        self.claimed: set[tuple[int, str]] = set()
        self.any_created = journal.has_created()  # a first run has nothing to look up
        if self.any_created:
            journal.index_payloads()

    def result_for(self, record, lead_id: str | None) -> RowResult | None:
        """The earlier ``created`` result of this record, or None if it must be considered."""
        if not self.any_created:
            return None
        digest = payload_hash(record.payload(action=self.action, lead_id=lead_id))
        exact = self.journal.entry(record.row, digest)
        if exact is not None and exact.status == RowStatus.CREATED:
            self.claimed.add((exact.row, digest))
            return exact.result()
        for entry in self.journal.created_with_payload(digest):
            if (entry.row, digest) in self.claimed:
                continue
            self.claimed.add((entry.row, digest))
            result = entry.result()
            result.row = record.row
            result.warnings = [
                f"already created by an earlier run as row {entry.row} (purchase "
                f"{entry.purchase_id}); not sent again"
            ]
            return result
        return None


def drop_already_created(records, earlier: EarlierRuns, results, by_row, resolve=None) -> list:
    """Take rows an earlier run created (same payload) out before any lookup or send.

    Before preflight only rows with a UUID lead can be matched; rows with a legacy lead id are
    matched after preflight (``resolve``) has turned it into the UUID their payload holds.
    """
    pending = []
    for record in records:
        lead_id = resolve(record) if resolve else record.lead_id
        if lead_id:
            found = earlier.result_for(record, lead_id)
            if found is not None:
                i = by_row[record.row]
                found.warnings = results[i].warnings + found.warnings
                results[i] = found
                continue
        pending.append(record)
    return pending
