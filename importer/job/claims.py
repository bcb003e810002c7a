"""The rows of a chunk on their way to the sender, claimed in the ledger a batch at a time as
the sender takes them.

Claiming a whole chunk (25,000 rows) before the first request costs about 0.7 s of waiting;
claimed a batch at a time, the first request goes out after one batch. While sending, a claim
runs on a thread of its own, on a connection of its own (``side_connection()``), started as
soon as the sender has a batch or less to take (at half a batch, the loop waited for 43 claims
of a 20,000-row run at c=64, 0.1 s), so the event loop never waits for it:

* SQLite: a claim of 100 rows takes 3-13 ms of CPU (identities, the decision, the inserts; more
  as the ledger grows), 1.4 s of the loop per 20,000 rows while answers waited. On its thread
  it holds the file 2-4 times as long (each row's step hands the GIL over behind the busy
  loop), which nothing on the sending path waits for: a mark goes to the sending log
  (importer.ledger.sendlog) and the loop's commits of answers try again 1 ms later
  (``write_batch_now``). Before the sending log, marks waited behind it: slower.
* PostgreSQL: a claim of 500 rows waits about 90 ms for round trips and the server's disk.

A batch is claimed in one transaction (see Ledger.claim). ``in_thread=False`` claims on the
caller's thread, when the sender needs a batch.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor

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
    ``in_thread``: ``claim`` runs on a thread of its own, a batch ahead (it must then use a
    connection of its own); :meth:`close` ends that thread.
    """

    batch = 100

    def __init__(
        self,
        records: Sequence[PurchaseRecord],
        claim: Claim,
        on_held: Callable[[dict[int, RowResult]], None],
        on_failed: Callable[[BaseException, list[PurchaseRecord]], None],
        errors: tuple[type[BaseException], ...],
        *,
        in_thread: bool = False,
    ) -> None:
        self.records = records
        self.claim = claim
        self.on_held = on_held
        self.on_failed = on_failed
        self.errors = errors
        self.in_thread = in_thread
        self.candidates: dict[int, Candidate] = {}
        self._next = 0
        self._ready: deque[PurchaseRecord] = deque()
        self._claiming: tuple[Future, list[PurchaseRecord]] | None = None
        self._thread: ThreadPoolExecutor | None = None

    def __iter__(self) -> ClaimingRows:
        return self

    def __next__(self) -> PurchaseRecord:
        self._collect(block=False)
        while not self._ready:
            if self._claiming is not None:
                self._collect(block=True)
            elif self._next < len(self.records):
                self._claim_next()
            else:
                self.close()
                raise StopIteration
        record = self._ready.popleft()
        if self.in_thread and self._claiming is None and len(self._ready) <= self.batch:
            self._claim_ahead()
        return record

    def _claim_ahead(self) -> None:
        """Start the next batch's claim while this one is still to go."""
        if self._next < len(self.records):
            self._claim_next()

    def _claim_next(self) -> None:
        batch = list(self.records[self._next : self._next + self.batch])
        self._next += len(batch)
        if self.in_thread:
            if self._thread is None:
                self._thread = ThreadPoolExecutor(1, thread_name_prefix="ledger-claims")
            self._claiming = (self._thread.submit(self.claim, batch), batch)
            return
        try:
            claimed, held = self.claim(batch)
        except self.errors as exc:
            self._failed(exc, batch)
            return
        self._take(batch, claimed, held)

    def _collect(self, *, block: bool) -> None:
        """Take in the claim running on the thread once it is done (``block``: wait for it)."""
        if self._claiming is None or not (block or self._claiming[0].done()):
            return
        future, batch = self._claiming
        self._claiming = None
        try:
            claimed, held = future.result()
        except self.errors as exc:
            self._failed(exc, batch)
            return
        self._take(batch, claimed, held)

    def _failed(self, exc: BaseException, batch: list[PurchaseRecord]) -> None:
        """The ledger failed: nothing more goes out, not even the rows claimed ahead (their
        answers could not be recorded); they, the batch and the rest go to ``on_failed``."""
        ready, self._ready = list(self._ready), deque()
        self.on_failed(exc, [*ready, *batch, *self._rest()])

    def _take(
        self, batch: list[PurchaseRecord], claimed: list[Candidate], held: dict[int, RowResult]
    ) -> None:
        self.on_held(held)
        for candidate in claimed:
            self.candidates[candidate.row] = candidate
        sendable = {c.row for c in claimed}
        self._ready.extend(r for r in batch if r.row in sendable)

    def close(self) -> None:
        """Stop the claims' thread (after the claim it runs, if any)."""
        if self._thread is not None:
            self._thread.shutdown(wait=True)
            self._thread = None

    def _rest(self) -> list[PurchaseRecord]:
        rest = list(self.records[self._next :])
        self._next = len(self.records)
        return rest

    def halt(self, reason: str) -> dict[int, RowResult]:
        """The sender stopped: the rows not claimed yet stay unclaimed; their results. A claim
        under way is waited for: its rows are taken in (and reported not sent by the sender)."""
        self._collect(block=True)
        self.close()
        return {r.row: RowResult(r.row, RowStatus.NOT_SENT, error=reason) for r in self._rest()}
