"""The rows of a chunk on their way to the sender, claimed in the ledger a batch at a time,
one batch ahead of the sender.

Claiming a whole chunk (25,000 rows) before the first request costs about 0.7 s of waiting, and
claiming a batch on the event loop stalls every request in flight for as long. So the first
batch is claimed before the first request, and while the sender works through a batch the next
one is claimed on the ledger's own thread (see Ledger.claim_soon). A batch is claimed in one
transaction (see Ledger.claim).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future

from importer.ledger import Candidate
from importer.records import PurchaseRecord, RowResult, RowStatus

__all__ = ["ClaimingRows"]

#: (records of a batch) -> a future of the claimed candidates and the held rows' results.
Claim = Callable[[list[PurchaseRecord]], "Future[tuple[list[Candidate], dict[int, RowResult]]]"]


class ClaimingRows:
    """An iterator of records for ``send_all``: each batch is claimed one batch ahead;
    ``candidates`` (by row) fills up as batches are claimed.

    ``on_held`` receives the ledger's results for the rows it held back; ``on_failed`` the
    error of a claim that failed (the ledger is gone: nothing more is taken). :meth:`halt`
    (the sender stopped) leaves the rows not claimed yet unclaimed, as ``not_sent``. Every
    callback runs on the caller's thread.
    """

    batch = 500

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
        self._claiming: tuple[Future, list[PurchaseRecord]] | None = None

    def __iter__(self) -> ClaimingRows:
        return self

    def __next__(self) -> PurchaseRecord:
        while not self._ready:
            if self._claiming is None and not self._start_next():
                raise StopIteration
            self._collect()
        record = self._ready.popleft()
        if self._claiming is None:
            self._start_next()  # the next batch is claimed while this one is sent
        return record

    def _start_next(self) -> bool:
        batch = list(self.records[self._next : self._next + self.batch])
        if not batch:
            return False
        self._next += len(batch)
        self._claiming = (self.claim(batch), batch)
        return True

    def _collect(self) -> list[PurchaseRecord]:
        """Wait for the batch being claimed; the records it may send."""
        assert self._claiming is not None
        future, batch = self._claiming
        self._claiming = None
        try:
            claimed, held = future.result()
        except self.errors as exc:
            self.on_failed(exc, [*batch, *self._rest()])
            return []
        self.on_held(held)
        for candidate in claimed:
            self.candidates[candidate.row] = candidate
        sendable = {c.row for c in claimed}
        ready = [r for r in batch if r.row in sendable]
        self._ready.extend(ready)
        return ready

    def _rest(self) -> list[PurchaseRecord]:
        rest = list(self.records[self._next :])
        self._next = len(self.records)
        return rest

    def halt(self, reason: str) -> dict[int, RowResult]:
        """The sender stopped: the rows not claimed yet stay unclaimed, a batch claimed ahead
        is not sent (the ledger releases it when the import ends); their results."""
        unsent = self._rest()
        if self._claiming is not None:
            ahead = self._collect()
            for _ in ahead:  # taken back: the rows claimed before stay for the sender
                self._ready.pop()
            unsent += ahead
        return {r.row: RowResult(r.row, RowStatus.NOT_SENT, error=reason) for r in unsent}
