"""The sending log of an import on a SQLite ledger: the ids of the rows whose request it wrote.
(The same file, kept on this machine, is a server ledger's sent log: importer.ledger.markahead.)

A row is claimed in the ledger (one transaction a batch), then its id is appended here just
before its request is written: one write to the operating system, so a kill -9 loses it no more
than a commit, at a tenth of a commit's cost and without waiting for the event loop's group
commit (which cost each request about 1 ms, 4% of the run). The file is fsynced with the WAL,
so it survives a power cut as committed marks did.

The ledger folds the log into its rows (``claimed`` -> ``sending``) when the import finishes and
when a later import finds it dead; until then, a ``claimed`` row of a dead import that its log
names counts as ``sending``. A PostgreSQL ledger is shared by machines that cannot read each
other's files: it commits its marks instead.

The price: a committed mark also committed the worker's previous answer, which now waits for the
next commit of answers (one per ``Ledger.COMMIT_GAP``, 5 ms, or at once when as many answers wait
as requests are in flight) while the worker's next request goes out. A kill -9 then, or a disk
that fills, leaves those answered rows ``unconfirmed`` too: at most twice the requests in flight
instead of the requests in flight (on a kill, about 3 rows more on average at 1,400
requests/s). Once a commit of answers has been put off for 10 ms (a slow claim holds
the file), no mark is taken until it is done, so that wait adds at most 10 ms of answers.
Nothing is sent twice either way.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

__all__ = ["SendingLog"]

_ID_BYTES = 8  # one row id, little-endian


class SendingLog:
    """The append-only file of one import's sent row ids (created at the first append)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd = -1

    def create(self) -> None:
        """Create the file now (empty), not at the first append."""
        if self._fd < 0:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | getattr(os, "O_BINARY", 0)
            self._fd = os.open(self.path, flags, 0o600)

    def append(self, row_id: int) -> None:
        """Note that the request of ledger row ``row_id`` is about to be written."""
        if self._fd < 0:
            self.create()
        os.write(self._fd, row_id.to_bytes(_ID_BYTES, "little"))

    def sync(self) -> None:
        """fsync what was appended (called with the WAL's fsync, on the ledger's thread)."""
        if self._fd >= 0:
            os.fsync(self._fd)

    def ids(self) -> set[int]:
        """Every row id appended so far (by any process); a torn last record is ignored."""
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return set()
        whole = len(data) - len(data) % _ID_BYTES
        view = memoryview(data)[:whole]
        step = _ID_BYTES
        return {int.from_bytes(view[i : i + step], "little") for i in range(0, whole, step)}

    def close(self) -> None:
        """Close the file (idempotent)."""
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def remove(self) -> None:
        """Close and delete the file, once the ledger holds what it says."""
        self.close()
        with contextlib.suppress(OSError):
            self.path.unlink()
