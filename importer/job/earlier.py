"""The purchases the earlier files of one command would send, so that a later file's copies of
them are counted as sent once before anything is sent (an overlapping export checked beside the
one it overlaps: `validate`'s "N new" and `run`'s confirmation count each purchase once).

A prediction only: the send itself asks the ledger, which skips a purchase an earlier file of
the command created. Identities are kept as 64-bit prefixes (about 100 bytes a row of the
earlier files; a collision, about 1 in 10^7 for a million rows, would count one row as
repeated, never send or hold one).
"""

from __future__ import annotations

from typing import NamedTuple

from importer.ledger import Candidate
from importer.records import RowResult, RowStatus

__all__ = ["EarlierFiles", "Repeat"]


class Repeat(NamedTuple):
    """Where an earlier file of the command holds the same purchase as a row."""

    name: str
    row: int

    def result(self, row: int) -> RowResult:
        """What a check says of the repeating ``row``: skipped, naming this file and row."""
        reason = f"same purchase as {self.name} row {self.row}, earlier in this command"
        return RowResult(row, RowStatus.SKIPPED, error=reason)


class EarlierFiles:
    """The purchases of the files a command checked before the current one: :meth:`begin` a
    file, :meth:`split` what the ledger would send of each of its chunks, :meth:`commit` it
    once its check is over (a check started again for the same file begins again)."""

    def __init__(self) -> None:
        self._seen: dict[int, int] = {}  # identity prefix -> file index << 32 | row
        self._names: list[str] = []
        self._pending: dict[int, int] = {}

    def begin(self, name: str) -> None:
        """Start (or start again) the check of the file shown as ``name``."""
        self._names.append(name)
        self._pending = {}

    def split(self, to_send: list[Candidate]) -> tuple[list[Candidate], dict[int, Repeat]]:
        """The candidates no earlier file sends, and by row where the others are."""
        fresh: list[Candidate] = []
        repeats: dict[int, Repeat] = {}
        index = len(self._names) - 1
        for candidate in to_send:
            key = int(candidate.identity[:16], 16)
            earlier = self._seen.get(key)
            if earlier is None:
                self._pending.setdefault(key, index << 32 | candidate.row)
                fresh.append(candidate)
            else:
                repeats[candidate.row] = Repeat(self._names[earlier >> 32], earlier & 0xFFFFFFFF)
        return fresh, repeats

    def commit(self) -> None:
        """The current file's check is over: the files after it count its purchases."""
        for key, where in self._pending.items():
            self._seen.setdefault(key, where)
        self._pending = {}
