"""The rows of a chunk on their way to the sender, claimed in the ledger a batch at a time as
the sender takes them.

Claiming a whole chunk (25,000 rows) before the first request costs about 0.7 s of waiting;
claimed 100 at a time, the first request goes out after one batch, and every later claim runs
while requests are in flight. A claim runs on the event loop: about 2.7 ms per 100 rows (1 ms
of identities, 1.7 ms in the database), during which answers wait. On a thread of its own it
was slower: every commit and claim then waited for the GIL behind the event loop (the marks
each request waits for took 3 ms instead of 0.2). A batch is claimed in one transaction (see
Ledger.claim).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence

from importer.ledger import Candidate
from importer.records import PurchaseRecord, RowResult, RowStatus

__all__ = ["ClaimingRows"]

#: (records of a batch) -> the claimed candidates and the results of the rows held back.
Claim = Callable[[list[PurchaseRecord]], tuple[list[Candidate], dict[int, RowResult]]]


class ClaimingRows:
    """An iterator of records for ``send_all``: each batch is claimed when the sender needs
    it; ``candidates`` (by row) fills up as batches are claimed.

    ``on_held`` receives the ledger's results for the rows it held back; ``on_failed`` the
    error of a claim that failed (the ledger is gone: nothing more is taken). :meth:`halt`
    (the sender stopped) leaves the rows not claimed yet unclaimed, as ``not_sent``.
    """

    batch = 100

    def __init__(
        self,
        records: Sequence[PurchaseRecord],
        claim: Claim,
        on_held: Callable[[dict[int, RowResult]], None],
        on_failed: Callable[[BaseException, list[PurchaseRecord]], None],
        errors: tuple[type[BaseException], ...],
    ) -> None:
        self.records = records
        self.claim = claim
        self.on_held = on_held
        self.on_failed = on_failed
        self.errors = errors
        self.candidates: dict[int, Candidate] = {}
        self._next = 0
        self._ready: deque[PurchaseRecord] = deque()

    def __iter__(self) -> ClaimingRows:
        return self

    def __next__(self) -> PurchaseRecord:
        while not self._ready:
            if self._next >= len(self.records):
                raise StopIteration
            self._claim_next()
        return self._ready.popleft()

    def _claim_next(self) -> None:
        batch = list(self.records[self._next : self._next + self.batch])
        self._next += len(batch)
        try:
            claimed, held = self.claim(batch)
        except self.errors as exc:
            self.on_failed(exc, [*batch, *self._rest()])
            return
        self.on_held(held)
        for candidate in claimed:
            self.candidates[candidate.row] = candidate
        sendable = {c.row for c in claimed}
        self._ready.extend(r for r in batch if r.row in sendable)

    def _rest(self) -> list[PurchaseRecord]:
        rest = list(self.records[self._next :])
        self._next = len(self.records)
        return rest

    def halt(self, reason: str) -> dict[int, RowResult]:
        """The sender stopped: the rows not claimed yet stay unclaimed; their results."""
        return {r.row: RowResult(r.row, RowStatus.NOT_SENT, error=reason) for r in self._rest()}
