"""Sending marks committed ahead of their requests, on a ledger kept by a server (PostgreSQL).

A row is marked ``sending`` before its request goes out. A server's commit is a round trip
(1-5 ms on a busy machine): waiting for it before every request, a run at 32 requests at a time
was 0.72x a bare client. So each import keeps rows marked ahead, in the order they were claimed
(the order the sender takes them): as many as keep the rows marked and not answered, with the
answers not committed yet, within twice the most requests it had out at once. A worker that
takes a row marked ahead sends at once; its taking, and each commit of answers, marks the next
rows ahead.

Safe either way: a mark always precedes its request, and the import notes each request that
goes out in its sent log, a file of this machine (fsynced with the answers, as a SQLite ledger's
sending log). After a crash, the next import on this machine reads it and gives back the rows
marked ahead that never went out; an import on another machine cannot, and holds them
``unconfirmed`` with the rows in flight and those answered but not committed yet: together at
most twice the requests in flight (as with a SQLite ledger). An import that
ends (stopped or not) gives them back: :meth:`Ledger.finish_import` sets them ``claimed``
again, their send uncounted, and releases them; with the ledger lost then, its sent log stays
for the next import's sweep.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Iterable

__all__ = ["MarksAhead"]


class MarksAhead:
    """The rows of one import marked (or being marked) ahead, and those out."""

    def __init__(self) -> None:
        self._unmarked: deque[str] = deque()  # claimed, in claim order; some marked since
        self._ahead: dict[str, asyncio.Future] = {}  # marked ahead, not taken: its mark's commit
        self._out: set[str] = set()  # taken by a worker (request out), not answered yet
        self._marked: set[str] = set()  # marked (ahead or not), not answered yet
        self._most_out = 0  # the most requests out at once so far: the import's concurrency

    def claimed(self, identities: Iterable[str]) -> None:
        """Rows this import has just claimed (committed), in the order they will be sent."""
        self._unmarked.extend(identities)

    def take(self, identity: str) -> asyncio.Future | None:
        """A worker takes ``identity``: the commit of its mark made ahead, or None (none
        was: the caller marks it now and calls :meth:`marking`)."""
        return self._ahead.pop(identity, None)

    def marking(self, identity: str) -> None:
        """``identity`` is being marked by the worker that takes it."""
        self._marked.add(identity)

    def marked_ahead(self, identity: str, commit: asyncio.Future) -> None:
        """``identity`` is being marked ahead; ``commit`` is done once it is committed."""
        self._marked.add(identity)
        self._ahead[identity] = commit

    def in_flight(self) -> int:
        """How many requests are out."""
        return len(self._out)

    def sent(self, identity: str) -> None:
        """The request of ``identity`` is going out (its mark is committed)."""
        self._out.add(identity)
        self._most_out = max(self._most_out, len(self._out))

    def to_mark(self, still_claimed: dict[str, int], uncommitted: int) -> list[str]:
        """The next rows to mark ahead, so that the rows marked and not answered (ahead, out,
        being marked) and the answers not committed yet (``uncommitted``) stay within twice the
        most requests out at once: what a kill -9 can leave ``sending`` (rows no longer in
        ``still_claimed`` are skipped)."""
        wanted = 2 * self._most_out - len(self._marked) - uncommitted
        found: list[str] = []
        unmarked = self._unmarked
        while len(found) < wanted and unmarked:
            identity = unmarked.popleft()
            if identity in still_claimed and identity not in self._marked:
                found.append(identity)
        return found

    def waiting(self, identity: str) -> bool:
        """Whether ``identity`` is marked ahead and no worker took it."""
        return identity in self._ahead

    def answered(self, identity: str, *, final: bool) -> None:
        """``identity`` has its answer (not ``final``: it is to be sent again, marked then by
        the worker that takes it)."""
        self._out.discard(identity)
        if final:
            self._marked.discard(identity)

    def never_sent(self) -> list[str]:
        """The rows marked ahead that no worker took (at the end of the import)."""
        return list(self._ahead)


def consume(commit: asyncio.Future) -> None:
    """A mark made ahead that failed: the error is the taker's, if a worker takes the row."""
    if not commit.cancelled():
        commit.exception()
