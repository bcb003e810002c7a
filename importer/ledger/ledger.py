"""The ledger: one store of every purchase sent to a Keen API, shared by every file, run,
machine and colleague. It is the single source of truth for "was this purchase sent".

An import opens it (:meth:`Ledger.begin_import`), claims each chunk's rows in one transaction
(:meth:`Ledger.claim`: the rule of :mod:`importer.ledger.rule` decides, under a lock that makes
claims of one target wait for each other), marks each row ``sending`` before its request goes out
and records its answer as soon as it arrives. Claimed rows that were never sent are released
when the import ends; an import that died is found by its liveness lock (never by guessing):
its claimed rows are released and its ``sending`` rows become ``unconfirmed``.

Durability (SQLite): WAL with ``synchronous=NORMAL`` plus an explicit fsync of the WAL before a
result counts. Every commit reaches the operating system before the call returns, so a kill -9
loses nothing; a result (a created purchase id above all) is reported only after an fsync that
started after its commit, so it also survives power loss. One fsync (1-5 ms) covers every result
that completed meanwhile, on a helper thread, off the sending path; while answers keep coming
the fsyncs start ``Ledger.SYNC_GAP`` apart (an answer waits for one only to be reported). A
row's first ``sending`` mark goes to the import's sending log (:mod:`importer.ledger.sendlog`,
fsynced with the WAL) before its request goes out, and answers are committed at most every
``Ledger.COMMIT_GAP`` while they keep coming; a row sent again after a retry, and every mark of a
PostgreSQL ledger, is committed first (PostgreSQL: ahead of the request, see
:mod:`importer.ledger.markahead`). PostgreSQL commits of answers are durable when they return
(marks reach the disk with them, see PostgresBackend.write_batch).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import getpass
import platform
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

from importer.errors import LedgerError
from importer.ledger.backends import open_backend
from importer.ledger.entry import (
    CLAIMED,
    ENTRY_COLUMNS,
    ENTRY_FROM,
    SENDING,
    UNSETTLED,
    Entry,
    entries_from,
)
from importer.ledger.identity import Candidate
from importer.ledger.location import LedgerLocation
from importer.ledger.markahead import MarksAhead, consume
from importer.ledger.rule import UNCONFIRMED_ERROR, ImportContext, judge, may_be_one_account
from importer.ledger.sendlog import SendingLog
from importer.ledger.spool import Spool
from importer.records import RowResult, RowStatus

__all__ = ["Ledger"]

_BATCH = 500  # identities per IN (...) lookup
#: The index each lookup column goes through.
CLAIMS_LOCK = "claims"  # the advisory lock key every claim takes (see claim)
_INDEX_OF = {"payload_hash": "purchases_by_payload", "reference": "purchases_by_reference"}

# By id: the rows of a claimed batch sit side by side, so a commit of the marks and answers
# that completed together touches a few pages (by identity, a random key, it touched one page per
# row: 20% slower sending at 1,400 requests/s).
_MARK = (
    "UPDATE purchases SET status = 'sending', sends = sends + 1, updated_at = ?"
    " WHERE id = ? AND import_id = ?"
)
#: The marks of one commit in one statement (one step for SQLite, one for the server).
#: ``+import_id``: not by the index on import_id, which SQLite would walk over every row of the
#: import at each commit (by id it is one look-up a row).
_MARK_ALL = (
    "UPDATE purchases SET status = 'sending', sends = sends + 1, updated_at = ?"
    " WHERE id IN ({ids}) AND +import_id = ?"
)
#: An answer; ``sends + ?``: 1 when its request was noted in the sending log (not counted yet).
_RECORD = (
    "UPDATE purchases SET status = ?, purchase_id = ?, http_status = ?, error = ?, attempts = ?,"
    " sends = sends + ?, updated_at = ? WHERE id = ? AND import_id = ?"
)
#: _RECORD for all the answers of one commit in one statement, for a server (see
#: _records_at_once): the same columns, their values in the order of _RECORD's parameters.
_RECORD_ALL = (
    "UPDATE purchases SET status = v.column1, purchase_id = v.column2,"
    " http_status = CAST(v.column3 AS INTEGER), error = v.column4,"
    " attempts = CAST(v.column5 AS INTEGER), sends = sends + CAST(v.column6 AS INTEGER),"
    " updated_at = CAST(v.column7 AS DOUBLE PRECISION)"
    " FROM (VALUES {rows}) AS v WHERE id = v.column8 AND import_id = v.column9"
)
#: Rows marked ahead that were never sent (a mark not committed left them ``claimed``).
_UNMARK = (
    "UPDATE purchases SET status = 'claimed', sends = sends - 1"
    " WHERE id IN ({ids}) AND import_id = ? AND status = 'sending'"
)
#: The rows an import's sending log names that it never answered: their requests may be out.
#: By id (``+``: not through purchases_by_import, which SQLite walked over every row of the
#: import for each 500 ids: 0.11 s at the end of a 20,000-row run instead of 0.01 s).
_FOLD = (
    "UPDATE purchases SET status = 'sending', sends = sends + 1"
    " WHERE id IN ({ids}) AND +import_id = ? AND +status = 'claimed'"
)
_CLAIM = (
    "INSERT INTO purchases (target, identity, import_id, file_row, payload_hash, payload,"
    " lead_id, reference, currency, amount, purchase_date, status, updated_at)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'claimed', ?)"
    " ON CONFLICT (target, identity) DO UPDATE SET import_id = excluded.import_id,"
    " file_row = excluded.file_row, status = 'claimed', updated_at = excluded.updated_at"
)


class Ledger:
    """The ledger at one location. Use as a context manager; :meth:`open` connects."""

    #: Seconds between the starts of two fsyncs while answers keep coming (``flush`` does not
    #: wait): an answer waits for its fsync only to be reported, never to free its worker, and
    #: back-to-back fsyncs (one per 4-6 ms at 1,400 answers/s) cost a thread hand-off and a
    #: disk flush each: about 2 s of CPU per 20,000 rows.
    SYNC_GAP = 0.02
    #: Seconds between the starts of two commits of answers on the event loop (SQLite) while
    #: answers keep coming, unless as many answers wait as requests are in flight. Committed
    #: one loop turn after they came (2.3 answers a commit), 20,000 answers took 8,600 commits
    #: and 1.3 s of the loop; an answer waits for the next fsync (SYNC_GAP) to be reported
    #: anyway. The price: a kill -9 finds at most the answers of the last COMMIT_GAP (never more
    #: than the requests in flight) still uncommitted, and reports them ``unconfirmed``.
    COMMIT_GAP = 0.005
    #: Seconds between two checkpoints on the fsync thread while answers keep coming (see
    #: SqliteBackend.checkpoint). Every 0.5 s, a run of 20,000 rows into a new ledger wrote its
    #: busiest pages back again and again (a fifth more system time); every 2 s it did not.
    CHECKPOINT_GAP = 2.0
    #: Seconds before a commit on the event loop tries again when another writer holds the
    #: ledger (SQLite: a claim on its thread, about 8-20 ms; another import's).
    BUSY_RETRY = 0.001
    #: Seconds answers may wait for another writer before marks wait for them too (a claim
    #: holds the file about 7 ms, up to 25 ms): waiting at once cost 2% of a run's speed,
    #: after 10 ms nothing measurable.
    PUT_OFF_GRACE = 0.01

    def __init__(self, backend) -> None:
        self.backend = backend
        self.location: LedgerLocation = backend.location
        self.errors = backend.errors  # what a lost or full ledger raises
        self.import_id: int | None = None
        self.target: str | None = None
        self._token: str | None = None
        self._context: ImportContext | None = None
        self._targets_seen: tuple[str, int, list[str]] | None = None  # see _other_targets
        self._syncer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ledger-sync")
        self._pending: list[tuple[str, tuple, object]] = []
        self._committing = 0  # writes of the commit under way (answers, mostly)
        self._writer: asyncio.Task | None = None
        # A server's marks: their own queue, thread and connection (see _enqueue).
        self._marker: ThreadPoolExecutor | None = None
        self._marks: list[tuple[str, tuple, object]] = []
        self._mark_writer: asyncio.Task | None = None
        self._committed = 0  # commits so far
        self._synced = 0  # commits known to be on disk
        self._sync_waiters: list[tuple[int, list]] = []
        self._syncing: asyncio.Task | None = None
        self._fsyncs = _Gap()  # SQLite: the WAL's fsyncs
        self._answers = _Gap()  # the commits of answers (COMMIT_GAP; a server's: SYNC_GAP)
        self._last_checkpoint = 0.0  # loop time; the first one comes CHECKPOINT_GAP in
        self._hurry = 0  # flushes waiting for the disk (no gap meanwhile)
        self._failure: BaseException | None = None  # a failed write whose caller had no future
        self._live: dict[str, bool] = {}
        self._ids: dict[str, int] = {}  # identity -> id of the rows claimed and not yet answered
        self._log: SendingLog | None = None  # where this import's marks go (SQLite)
        self._ahead: MarksAhead | None = None  # a server's marks made ahead (see markahead)
        self._sent: SendingLog | None = None  # rows whose request went out (marks ahead)
        self._logged: set[str] = set()  # identities noted in the log, not answered yet
        self._retried: set[str] = set()  # answered "retried": marked by commit when sent again
        self._dead_logs: dict[str, tuple] = {}  # token -> _dead_log(token), logs read
        self._put_off: asyncio.Future | None = None  # done once answers put off are committed
        self._put_off_since = 0.0
        self._last_exact: dict[str, Entry] = {}  # the entries the last decision found
        self.spool = Spool(backend.location)
        self.replayed = 0  # answers written from the spool when this ledger was opened
        self.commits = 0
        self.busy_retries = 0  # commits on the event loop put off: another writer held the file
        self.fsyncs = 0
        #: Seconds in commits (on the event loop) plus syncs (on a helper thread).
        self.commit_seconds = 0.0
        self.sync_seconds = 0.0  # the sync part, off the event loop

    @classmethod
    def open(cls, location: LedgerLocation, *, upgrade: bool = False) -> Ledger:
        """Connect to the ledger (creating it if new) and write into it the answers a lost
        connection left in the local spool. Raises LedgerError."""
        ledger = cls(open_backend(location, upgrade=upgrade))
        try:
            ledger.replayed = ledger.spool.replay(ledger.backend)
        except ledger.errors as exc:
            ledger.close()
            raise LedgerError(
                f"cannot write the answers kept in {ledger.spool.path} into the ledger "
                f"{ledger.describe()}: {exc}",
                ledger=ledger.describe(),
                hint="nothing was sent; free some space or get the ledger's server back, then "
                "run again (the spool is kept until it is written)",
            ) from None
        return ledger

    def spool_answer(self, identity: str, result: RowResult) -> bool:
        """Keep an answer the ledger could not take in the local spool; False if that fails
        too (the row is then unconfirmed)."""
        try:
            self.spool.add(self.target or "", identity, result, time.time())
        except OSError:
            return False
        return True

    def describe(self) -> str:
        """The ledger as messages name it (never with a password)."""
        return self.location.describe()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """End the import (if one is open) and disconnect."""
        if self.import_id is not None:
            # A ledger that is gone: the next import's sweep settles this one.
            with contextlib.suppress(*self.errors):
                self.finish_import()
        self._syncer.shutdown(wait=True)
        if self._marker is not None:
            self._marker.shutdown(wait=True)
        self.backend.close()

    # -- imports -------------------------------------------------------------------------------

    def begin_import(
        self,
        *,
        target: str,
        file_name: str,
        file_sha256: str,
        source: str,
        resend_unconfirmed: bool = False,
        allow_duplicates: bool = False,
        state: str = "running",
    ) -> int:
        """Record a new import and hold its liveness lock; returns its id."""
        self._token = uuid.uuid4().hex
        self.backend.hold_lock(self._token)
        self._log = self.backend.sending_log(self._token)
        self._sent = self.backend.sent_log(self._token) if self._log is None else None
        if self._sent is not None:
            try:
                self._sent.create()  # this machine's import: a sweep here may read it
            except OSError:  # no data folder to write: every mark waits for its commit
                self._sent = None
        self._ahead = MarksAhead() if self._sent is not None else None
        self.sweep_stopped_imports()
        now = datetime.now(UTC).isoformat(timespec="seconds")
        with self.backend.transaction():
            self.import_id = self.backend.insert_returning_id(
                "INSERT INTO imports (target, file_name, file_sha256, source, user_name, machine,"
                " started_at, state, lock_token) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    target,
                    file_name,
                    file_sha256,
                    source,
                    _user(),
                    platform.node() or "?",
                    now,
                    state,
                    self._token,
                ),
            )
        self.target = target
        self._context = ImportContext(
            self.import_id, file_sha256, source, resend_unconfirmed, allow_duplicates
        )
        return self.import_id

    def finish_import(self, state: str = "finished") -> None:
        """Release what this import claimed but never sent, mark it ended, drop its lock."""
        import_id, token = self.import_id, self._token
        if import_id is None:
            return
        self.import_id = None
        log, self._log = self._log, None
        sent, self._sent = self._sent, None
        never_sent = self._stop_marking()
        try:
            with self.backend.transaction():
                if log is not None:
                    _fold(self.backend, import_id, log.ids())
                _unmark(self.backend, import_id, never_sent)
                _release(self.backend, import_id)
                self.backend.execute(
                    "UPDATE imports SET state = ?, finished_at = ? WHERE id = ?",
                    (state, datetime.now(UTC).isoformat(timespec="seconds"), import_id),
                )
            self.backend.sync()
            # The ledger holds what they said. A failure above keeps them: the next import's
            # sweep reads them (the sent log: which rows marked ahead never went out).
            for done in (log, sent):
                if done is not None:
                    done.remove()
        finally:
            for done in (log, sent):
                if done is not None:
                    done.close()
            if token is not None:
                self.backend.release_lock(token)

    def _stop_marking(self) -> list[int]:
        """No more marks: the ids of the rows marked ahead that no worker took (their marks
        committed, or never to be)."""
        ahead, self._ahead = self._ahead, None
        if ahead is None:
            return []
        self._marks = []  # not committed yet: never will be
        if self._marker is not None:
            self._marker.submit(int).result()  # a commit under way has ended
        ids = self._ids
        return [ids[identity] for identity in ahead.never_sent() if identity in ids]

    def sweep_stopped_imports(self) -> int:
        """Settle imports that died while running: claimed rows released, rows in flight
        ``unconfirmed``. Returns how many were found."""
        running = self.backend.fetch(
            "SELECT id, lock_token, file_name FROM imports WHERE state = 'running'"
        )
        stopped = [found for found in running if not self.backend.is_live(found[1])]
        for import_id, token, name in stopped:
            error = UNCONFIRMED_ERROR.replace("the previous run", f"the import of {name}")
            log = self.backend.sending_log(token)
            sent = self.backend.sent_log(token)
            with self.backend.transaction():
                if log is not None:
                    _fold(self.backend, import_id, log.ids())
                if sent is not None and sent.path.exists():  # it ran on this machine
                    _unmark(self.backend, import_id, self._never_sent(import_id, sent.ids()))
                _release(self.backend, import_id)
                self.backend.execute(
                    "UPDATE purchases SET status = 'unconfirmed', error = ?, updated_at = ?"
                    " WHERE import_id = ? AND status = 'sending'",
                    (error, time.time(), import_id),
                )
                self.backend.execute(
                    "UPDATE imports SET state = 'stopped' WHERE id = ? AND state = 'running'",
                    (import_id,),
                )
            for done in (log, sent):
                if done is not None:
                    done.remove()
        return len(stopped)

    def _never_sent(self, import_id: int, sent: set[int]) -> list[int]:
        """The ``sending`` rows of a dead import whose request its sent log does not name:
        marked ahead, never sent."""
        found = self.backend.fetch(
            "SELECT id FROM purchases WHERE import_id = ? AND status = 'sending'", (import_id,)
        )
        return [row_id for (row_id,) in found if row_id not in sent]

    @property
    def context(self) -> ImportContext | None:
        """The import this ledger was opened for (None before :meth:`begin_import`)."""
        return self._context

    def is_live(self, entry: Entry) -> bool:
        """True while the import holding ``entry`` runs (checked once per import per claim)."""
        found = self._live.get(entry.lock_token)
        if found is None:
            found = self._live[entry.lock_token] = self.backend.is_live(entry.lock_token)
        return found

    # -- reading -------------------------------------------------------------------------------

    def newest_claim(self) -> int:
        """The id of the newest purchase row (0 when none): :meth:`claimed_since` it tells
        whether another import claimed purchases since."""
        return self.backend.fetch_one("SELECT coalesce(max(id), 0) FROM purchases")[0]

    def claimed_since(self, target: str, newest: int) -> bool:
        """True when some import claimed purchases of ``target`` after :meth:`newest_claim`
        said ``newest`` (a walk of the primary key from there: no scan of the ledger)."""
        sql = "SELECT 1 FROM purchases WHERE id > ? AND target = ? LIMIT 1"
        return self.backend.fetch_one(sql, (newest, target)) is not None

    def has_created(self, target: str, between: tuple[str, str] | None = None) -> bool:
        """True when some import created a purchase for ``target`` (dated ``between`` the two
        ISO instants, when given)."""
        return self._has(target, between, " AND status = 'created'")

    def holds(self, target: str, between: tuple[str, str] | None = None) -> bool:
        """True when the ledger holds a purchase of ``target`` in any status, not forgotten
        (dated ``between`` the two ISO instants, when given): rows sent without an answer, or
        being sent, are held back as created ones are."""
        return self._has(target, between, " AND forgotten IS NULL")

    def _has(self, target: str, between: tuple[str, str] | None, condition: str) -> bool:
        if between is None:
            sql, args = "SELECT 1 FROM purchases WHERE target = ?", (target,)
        else:
            sql, args = self._dated_between(), (target, *between)
        return self.backend.fetch_one(sql + condition + " LIMIT 1", args) is not None

    def targets_besides(self, target: str) -> list[str]:
        """The other targets (API URLs) imports of this ledger went to, in name order."""
        rows = self.backend.fetch(
            "SELECT DISTINCT target FROM imports WHERE target != ? ORDER BY target", (target,)
        )
        return [t for (t,) in rows]

    def holds_dated(self, target: str, first_day: str, last_day: str) -> bool:
        """True when the ledger holds a purchase of ``target`` (any status, not forgotten)
        dated from ``first_day`` to ``last_day`` (``YYYY-MM-DD``, UTC): only then can a row of
        those days be one it knows, or the twin of one."""
        # By day, so that instants of any precision fall inside ("~" sorts after them all).
        sql = self._dated_between() + " AND p.forgotten IS NULL LIMIT 1"
        return self.backend.fetch_one(sql, (target, first_day, last_day + "~")) is not None

    def _dated_between(self) -> str:
        """Purchases of a target (first argument) dated between two texts (the next two)."""
        return (
            f"SELECT 1 FROM purchases p{self.backend.using('purchases_by_date')}"
            " WHERE p.target = ? AND p.purchase_date BETWEEN ? AND ?"
        )

    def entries(self, target: str, identities: Iterable[str]) -> dict[str, Entry]:
        """The entries of these identities (not forgotten), by identity."""
        return {e.identity: e for e in self._select("identity", target, list(identities))}

    def twins_of_payloads(self, target: str, hashes: Iterable[str]) -> dict[str, Entry]:
        """For each payload hash the ledger holds: the first entry created with it, else one
        that may yet be created (claimed, sending, waiting for a retry, unconfirmed), which the
        rule judges by whether its import is live."""
        found: dict[str, Entry] = {}
        for entry in self._select("payload_hash", target, list(set(hashes))):
            have = found.get(entry.payload_hash)
            created = entry.status == RowStatus.CREATED
            if have is None and (created or entry.status in UNSETTLED):
                found[entry.payload_hash] = entry
            elif created and have is not None and have.status != RowStatus.CREATED:
                found[entry.payload_hash] = entry  # a purchase made beats one that may be
        return found

    def created_with_references(self, target: str, references: Iterable[str]) -> list[Entry]:
        """Every created entry carrying one of these references."""
        return self._select("reference", target, list(set(references)), created=True)

    def created_at_rows(self, target: str, source: str, rows: Sequence[int]) -> list[Entry]:
        """Created entries that imports of ``source`` (a file's stem) wrote at these rows."""
        imports = [
            found[0]
            for found in self.backend.fetch(
                "SELECT id FROM imports WHERE target = ? AND source = ?", (target, source)
            )
        ]
        if not imports:
            return []
        ids = ",".join("?" * len(imports))
        found = []
        for start in range(0, len(rows), _BATCH):
            part = list(rows[start : start + _BATCH])
            marks = ",".join("?" * len(part))
            found += self._entries(
                f"SELECT {ENTRY_COLUMNS} FROM {self._from('purchases_by_import')}"
                f" WHERE p.import_id IN ({ids}) AND p.file_row IN ({marks})"
                " AND p.status = 'created' AND p.forgotten IS NULL ORDER BY p.updated_at",
                (*imports, *part),
            )
        return found

    def _from(self, index: str) -> str:
        return entries_from(self.backend.using(index))

    def created_by_source(self, target: str, source: str) -> list[Entry]:
        """Every purchase created by earlier imports of ``source`` (a file's stem), by row
        (not this import's own)."""
        imports = [
            found[0]
            for found in self.backend.fetch(
                "SELECT id FROM imports WHERE target = ? AND source = ? AND id != ?",
                (target, source, self.import_id or -1),
            )
        ]
        if not imports:
            return []
        marks = ",".join("?" * len(imports))
        return self._entries(
            f"SELECT {ENTRY_COLUMNS} FROM {self._from('purchases_by_import')}"
            f" WHERE p.import_id IN ({marks}) AND p.status = 'created' AND p.forgotten IS NULL"
            " ORDER BY p.file_row",
            tuple(imports),
        )

    def _select(
        self, column: str, target: str, values: list, *, created: bool = False
    ) -> list[Entry]:
        found = []
        extra = " AND p.status = 'created'" if created else ""
        source = self._from(_INDEX_OF[column]) if column in _INDEX_OF else ENTRY_FROM
        for start in range(0, len(values), _BATCH):
            part = values[start : start + _BATCH]
            marks = ",".join("?" * len(part))
            found += self._entries(
                f"SELECT {ENTRY_COLUMNS} FROM {source} WHERE p.target = ?"
                f" AND p.{column} IN ({marks}) AND p.forgotten IS NULL{extra}",
                (target, *part),
            )
        return found

    def _entries(self, sql: str, args: Sequence) -> list[Entry]:
        return [Entry(*found) for found in self.backend.fetch(sql, args)]

    # -- claims --------------------------------------------------------------------------------

    def claim(self, candidates: list[Candidate]) -> tuple[list[Candidate], dict[int, RowResult]]:
        """Decide every candidate in one transaction: the ones this import may send (now
        claimed by it), and the results of the others, by row."""
        assert self._context is not None and self.target is not None, "begin_import first"
        # One lock for the claims of every target: two API URLs may be one account, and a
        # claim must see the other URL's claims (SQLite: one writer at a time anyway).
        with self.backend.transaction(lock_key=CLAIMS_LOCK):
            to_send, held = self._decide(self.target, candidates, self._context)
            taken_over = [c.identity for c in to_send if c.identity in self._last_exact]
            before = self.backend.fetch_one("SELECT coalesce(max(id), 0) FROM purchases")[0]
            now = time.time()
            self.backend.execute_many(
                _CLAIM, [_claim_args(self.target, self.import_id, c, now) for c in to_send]
            )
            # New rows take ids above every id before them; rows taken over keep theirs. Read
            # by id alone: with ``import_id = ?`` in the query SQLite walks purchases_by_import
            # over every row this import claimed so far, at each claim (quadratic in the rows).
            found = self.backend.fetch(
                "SELECT identity, id, import_id FROM purchases WHERE id > ?", (before,)
            )
            mine = self.import_id
            self._ids.update((identity, id_) for identity, id_, by in found if by == mine)
            self._ids.update(self._ids_of(taken_over))
        if self._ahead is not None:  # committed: a mark of them finds them
            self._ahead.claimed(c.identity for c in to_send)
        self.backend.note_claimed(len(to_send))
        return to_send, held

    def _ids_of(self, identities: list[str]) -> dict[str, int]:
        found: dict[str, int] = {}
        for start in range(0, len(identities), _BATCH):
            part = identities[start : start + _BATCH]
            marks = ",".join("?" * len(part))
            sql = f"SELECT identity, id FROM purchases WHERE target = ? AND identity IN ({marks})"
            found.update(self.backend.fetch(sql, (self.target, *part)))
        return found

    def preview(
        self, target: str, candidates: list[Candidate], context: ImportContext
    ) -> tuple[list[Candidate], dict[int, RowResult]]:
        """What :meth:`claim` would decide, without claiming (dry runs, validate)."""
        return self._decide(target, candidates, context)

    def _decide(self, target: str, candidates: list[Candidate], context: ImportContext):
        self._live.clear()
        exact = self.entries(target, [c.identity for c in candidates])
        exact = self._last_exact = self._as_logged(exact)
        twins = self._twins(target, candidates, context)
        elsewhere = {} if context.allow_duplicates else self._elsewhere(target, candidates, exact)
        to_send: list[Candidate] = []
        held: dict[int, RowResult] = {}
        taken: dict[str, int] = {}
        for candidate in candidates:
            if candidate.identity in taken:
                held[candidate.row] = RowResult(
                    candidate.row,
                    RowStatus.SKIPPED,
                    error=f"same purchase as row {taken[candidate.identity]}",
                )
                continue
            twin, other = twins.get(candidate.payload_hash), elsewhere.get(candidate.identity)
            known = judge(
                candidate,
                exact.get(candidate.identity),
                twin,
                context,
                self.is_live,
                other,
                target=target,
            )
            if known is None:
                taken[candidate.identity] = candidate.row
                to_send.append(candidate)
            else:
                held[candidate.row] = known
        return to_send, held

    def _twins(
        self, target: str, candidates: list[Candidate], context: ImportContext
    ) -> dict[str, Entry]:
        """The twins of the candidates' payloads (see :meth:`twins_of_payloads`): this target's,
        else another API URL's of this ledger, which may be this account under another address
        (one indexed look-up per other target, only for payloads this one has no twin of)."""
        hashes = [c.payload_hash for c in candidates]
        twins = self.twins_of_payloads(target, hashes)
        for other in [] if context.allow_duplicates else self._other_targets(target):
            missing = [h for h in hashes if h not in twins]
            if not missing:
                break
            for payload_hash, entry in self.twins_of_payloads(other, missing).items():
                twins.setdefault(payload_hash, entry)
        return twins

    def _elsewhere(
        self, target: str, candidates: list[Candidate], exact: dict[str, Entry]
    ) -> dict[str, Entry]:
        """The candidates this target has never seen that another API URL of this ledger
        (which may be this account under another address) created, is sending or sent without
        an answer, by identity. One indexed look-up per other target; none in a ledger of one
        target, the usual case."""
        others = self._other_targets(target)
        unseen = [c.identity for c in candidates if c.identity not in exact]
        found: dict[str, Entry] = {}
        for other in others if unseen else ():
            for entry in self._select("identity", other, unseen):
                if entry.status == RowStatus.CREATED or entry.identity not in found:
                    found[entry.identity] = entry
        return found

    def _other_targets(self, target: str) -> list[str]:
        """The ledger's other targets that may be ``target``'s account. Read again only when an
        import has begun since (one look at the newest import's id a claim batch): a scan of
        every import at each batch cost a team's ledger of years a millisecond or more."""
        newest = self.backend.fetch_one("SELECT max(id) FROM imports")[0]
        if self._targets_seen is None or self._targets_seen[:2] != (target, newest):
            rows = self.backend.fetch(
                "SELECT DISTINCT target FROM imports WHERE target != ?", (target,)
            )
            sandboxes = self.location.sandbox
            others = [t for (t,) in rows if may_be_one_account(target, t, sandboxes=sandboxes)]
            self._targets_seen = (target, newest, others)
        return self._targets_seen[2]

    def _as_logged(self, entries: dict[str, Entry]) -> dict[str, Entry]:
        """A dead import's rows as its logs on this machine tell (the next import's sweep
        writes it down): SQLite rows still ``claimed`` that its sending log names count as
        ``sending`` (their request may be out); a server's rows ``sending`` that its sent log
        does not name were marked ahead and never sent: ``claimed``."""
        for identity, entry in entries.items():
            if entry.status not in (CLAIMED, SENDING) or entry.import_id == self.import_id:
                continue
            if self.is_live(entry):
                continue
            sent_log, logged = self._dead_log(entry.lock_token)
            if logged is None:
                continue  # another machine's import: nothing to read here
            if not sent_log and entry.status == CLAIMED and entry.row_id in logged:
                entries[identity] = dataclasses.replace(entry, status=SENDING)
            elif sent_log and entry.status == SENDING and entry.row_id not in logged:
                entries[identity] = dataclasses.replace(entry, status=CLAIMED)
        return entries

    def _dead_log(self, token: str) -> tuple[bool, set[int] | None]:
        """(whether it is a sent log, the row ids it names: None when this machine has none)
        of a dead import's log, read once per ledger."""
        found = self._dead_logs.get(token)
        if found is None:
            sent = self.backend.sent_log(token)
            if sent is not None:
                found = (True, sent.ids() if sent.path.exists() else None)
            else:
                log = self.backend.sending_log(token)
                found = (False, log.ids() if log else set())
            self._dead_logs[token] = found
        return found

    # -- writing, group-committed (the sending path) --------------------------------------------

    async def mark_sending_async(self, identity: str) -> None:
        """Note that ``identity`` is about to be sent; returns once that survives a kill.

        SQLite: its first request is noted in the sending log. Otherwise (a server; a row
        sent again after a retry, whose row says ``retried``) the mark is committed with every
        mark queued in the same loop tick."""
        row_id = self._ids[identity]
        if self._log is not None and identity not in self._retried:
            if self._put_off is not None and self._put_off_too_long():
                # Answers wait for another writer (a claim, a slow one): no request goes out
                # before they are committed, so a kill leaves unconfirmed only the requests in
                # flight and the answers of the last few milliseconds.
                await asyncio.shield(self._put_off)
            self._log.append(row_id)
            self._logged.add(identity)
            return
        ahead = self._ahead
        if ahead is None or identity in self._retried:
            await self._mark(row_id)
            return
        commit = ahead.take(identity)
        if commit is None:
            ahead.marking(identity)
            commit = self._mark(row_id)
        await commit
        if self._sent is not None:
            self._sent.append(row_id)
        ahead.sent(identity)
        self._mark_ahead()

    def _mark_ahead(self) -> None:
        """Mark the next claimed rows ahead, as many as :class:`MarksAhead` allows now."""
        ahead = self._ahead
        if ahead is None:
            return
        for later in ahead.to_mark(self._ids, len(self._pending) + self._committing):
            mark = self._mark(self._ids[later])
            mark.add_done_callback(consume)  # nobody may wait for it
            ahead.marked_ahead(later, mark)

    def _mark(self, row_id: int) -> asyncio.Future:
        """Queue the ``sending`` mark of ledger row ``row_id``; done once committed."""
        future = asyncio.get_running_loop().create_future()
        self._enqueue(_MARK, (time.time(), row_id, self.import_id), future)
        return future

    def record_then(
        self,
        identity: str,
        result: RowResult,
        on_durable: Callable[[], None] | None = None,
        on_failed: Callable[[BaseException], None] | None = None,
    ) -> None:
        """Queue the answer for ``identity``; ``on_durable()`` runs once it is on disk.

        If the ledger fails, ``on_durable`` never runs: ``on_failed(error)`` runs instead, or,
        without it, the error is raised by :meth:`flush`.
        """
        waiter = on_durable if on_failed is None else _Then(on_durable, on_failed)
        ahead = self._ahead
        if ahead is not None:
            if ahead.waiting(identity):
                # Marked ahead, never sent: finish_import gives the row back; the result
                # counts once what was queued before it is committed.
                self._enqueue("", (), waiter)
                return
            ahead.answered(identity, final=result.status is not RowStatus.RETRIED)
        logged = identity in self._logged
        self._logged.discard(identity)
        if result.status is RowStatus.RETRIED:
            self._retried.add(identity)
        else:
            self._retried.discard(identity)
        args = (
            str(result.status),
            result.purchase_id,
            result.http_status,
            result.error,
            result.attempts,
            int(logged),
            time.time(),
            # A retried row may be sent again: its id is kept for the next answer.
            self._ids[identity] if result.status is RowStatus.RETRIED else self._ids.pop(identity),
            self.import_id,
        )
        self._enqueue(_RECORD, args, waiter)

    async def flush(self) -> None:
        """Wait until every queued write is committed and on disk; raise a write's error."""
        self._hurry += 1  # someone waits: no gap
        self._fsyncs.wake()
        self._answers.wake()
        try:
            failure = await self._settle_all()
        finally:
            self._hurry -= 1
        failure = self._failure or failure
        self._failure = None
        if failure is not None:
            raise failure
        # What was sent is settled: the WAL is copied back on the fsync thread while the
        # caller writes its results. Left to the close of the last connection, the copy took
        # 0.1 s at the end of a 20,000-row run. close() waits for it.
        self._last_checkpoint = asyncio.get_running_loop().time()
        self._syncer.submit(self._checkpoint)

    async def _settle_all(self) -> BaseException | None:
        """Every queued write committed, then on disk; the first error met."""
        failure: BaseException | None = None
        loop = asyncio.get_running_loop()
        if self._mark_writer is not None and not self._mark_writer.done():
            await asyncio.shield(self._mark_writer)  # a server's marks, made ahead too
        if self._pending or (self._writer and not self._writer.done()):
            future = loop.create_future()
            self._pending.append(("", (), future))
            self._kick()
            try:
                await future
            except Exception as exc:  # noqa: BLE001 - what was committed before still syncs
                failure = exc
        if self._synced < self._committed or self._sync_waiters:
            future = loop.create_future()
            self._wait_for_disk([future])
            try:
                await future
            except Exception as exc:  # noqa: BLE001 - raised by flush
                failure = failure or exc
        return failure

    def _enqueue(self, sql: str, args: tuple, waiter: object) -> None:
        if sql is _MARK and self.backend.commits_off_loop:
            # A server's answers wait for its disk (1-5 ms) when committed: in the same queue,
            # the marks behind them waited too (7 ms a request on average, 0.55x the peer).
            self._marks.append((sql, args, waiter))
            if self._mark_writer is None or self._mark_writer.done():
                self._mark_writer = asyncio.get_running_loop().create_task(self._mark_loop())
            return
        self._pending.append((sql, args, waiter))
        if sql is _MARK or self._commit_now():
            self._answers.wake()
        self._kick()

    def _commit_now(self) -> bool:
        """Whether the queued writes go without waiting for their gap. SQLite: answers as
        many as the requests in flight (they bound what a kill -9 can leave unconfirmed),
        answers put off by another writer (they waited already), a mark (its request waits).
        A server: answers as many as a quarter of the requests in flight (until they are
        committed, no row is marked ahead in their place: see importer.ledger.markahead; at a
        half, a run was 0.77-0.82x the bare client instead of 0.76-0.87x)."""
        if self.backend.commits_off_loop:
            ahead = self._ahead
            return ahead is not None and len(self._pending) * 4 >= max(ahead.in_flight(), 1)
        if self._put_off is not None or len(self._pending) >= len(self._logged):
            return True
        return any(sql is _MARK for sql, _, _ in self._pending)

    async def _mark_loop(self) -> None:
        if self._marker is None:
            self._marker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ledger-marks")
        while self._marks:
            await asyncio.sleep(0)  # every mark of this turn joins the commit
            batch, self._marks = self._marks, []
            await self._write(batch, durable=False, executor=self._marker)

    def _kick(self) -> None:
        if self._writer is None or self._writer.done():
            self._writer = asyncio.get_running_loop().create_task(self._write_loop())

    async def _write_loop(self) -> None:
        loop = asyncio.get_running_loop()
        while self._pending:
            # A server's commit of answers waits for its disk, as an fsync does: one per
            # SYNC_GAP while answers keep coming (they free no worker by being on disk).
            gap = self.SYNC_GAP if self.backend.commits_off_loop else self.COMMIT_GAP
            await self._answers.wait(loop, gap, hurry=bool(self._hurry) or self._commit_now())
            await asyncio.sleep(0)  # let every completion that is ready join this commit
            batch, self._pending = self._pending, []
            self._committing = len(batch)
            try:
                await self._write(batch, durable=True)
            finally:
                self._committing = 0
            self._mark_ahead()  # the answers committed make room for rows marked ahead

    async def _write(
        self,
        batch: list[tuple[str, tuple, object]],
        *,
        durable: bool,
        executor: ThreadPoolExecutor | None = None,
    ) -> None:
        statements = [(sql, args) for sql, args, _ in batch if sql]
        try:
            if self.backend.commits_off_loop and statements:
                loop = asyncio.get_running_loop()
                thread = executor or self._syncer
                await loop.run_in_executor(thread, self._commit, statements, durable)
            elif not self._commit(statements, durable, on_loop=True):
                self._pending[:0] = batch  # another writer holds the file: first in line again
                self.busy_retries += 1
                if self._put_off is None:
                    loop = asyncio.get_running_loop()
                    self._put_off, self._put_off_since = loop.create_future(), loop.time()
                await asyncio.sleep(self.BUSY_RETRY)
                return
        except Exception as exc:  # the ledger failed: nobody may count these rows as done
            self._end_put_off()
            self._fail([waiter for _, _, waiter in batch], exc)
            return
        self._end_put_off()
        durable_waiters = []
        for sql, _, waiter in batch:
            if sql is _MARK:
                if not waiter.done():
                    waiter.set_result(None)  # committed: its request may go out
            elif waiter is not None:
                durable_waiters.append(waiter)
        if durable_waiters:
            self._wait_for_disk(durable_waiters)

    def _put_off_too_long(self) -> bool:
        return asyncio.get_running_loop().time() - self._put_off_since > self.PUT_OFF_GRACE

    def _end_put_off(self) -> None:
        """The answers put off are committed (or failed): the marks waiting for that go on."""
        put_off, self._put_off = self._put_off, None
        if put_off is not None and not put_off.done():
            put_off.set_result(None)

    def _wait_for_disk(self, waiters: list) -> None:
        self._sync_waiters.append((self._committed, waiters))
        if self._syncing is None or self._syncing.done():
            self._syncing = asyncio.get_running_loop().create_task(self._sync_loop())

    def _fail(self, waiters: list, exc: BaseException) -> None:
        for waiter in waiters:
            if isinstance(waiter, asyncio.Future):
                if not waiter.done():
                    waiter.set_exception(exc)
            elif isinstance(waiter, _Then):
                waiter.on_failed(exc)
            elif self._failure is None:
                self._failure = exc

    async def _sync_loop(self) -> None:
        loop = asyncio.get_running_loop()
        while self._sync_waiters:
            await self._fsyncs.wait(loop, self.SYNC_GAP, hurry=bool(self._hurry))
            target = self._committed
            try:
                await loop.run_in_executor(self._syncer, self._sync)
            except Exception as exc:
                waiting, self._sync_waiters = self._sync_waiters, []
                self._fail([waiter for _, group in waiting for waiter in group], exc)
                continue
            self._synced = max(self._synced, target)
            still = []
            for seq, group in self._sync_waiters:
                if seq > self._synced:
                    still.append((seq, group))
                    continue
                for waiter in group:
                    if isinstance(waiter, asyncio.Future):
                        if not waiter.done():
                            waiter.set_result(None)
                    elif waiter is not None:
                        waiter()
            self._sync_waiters = still
            if loop.time() - self._last_checkpoint >= self.CHECKPOINT_GAP:
                self._last_checkpoint = loop.time()
                await loop.run_in_executor(self._syncer, self._checkpoint)

    def _checkpoint(self) -> None:
        # What was committed stays safe in the WAL when this fails (a full disk): the next
        # checkpoint, or the last connection's close, copies it.
        with contextlib.suppress(*self.errors):
            self.backend.checkpoint()

    def _sync(self) -> None:
        started = time.perf_counter()
        self.backend.sync()
        for log in (self._log, self._sent):
            if log is not None:
                log.sync()
        self.fsyncs += 1
        elapsed = time.perf_counter() - started
        self.sync_seconds += elapsed
        self.commit_seconds += elapsed

    def _commit(
        self, statements: list[tuple[str, tuple]], durable: bool = True, *, on_loop: bool = False
    ) -> bool:
        """Commit these statements in one transaction; False (``on_loop``: never waiting for
        another writer) when another writer holds the ledger and nothing was written."""
        if not statements:
            return True
        started = time.perf_counter()
        groups = self._statement_groups(statements)
        if on_loop:
            if not self.backend.write_batch_now(groups):
                return False
        else:
            self.backend.write_batch(groups, durable=durable)
        self._committed += 1
        self.commits += 1
        self.commit_seconds += time.perf_counter() - started
        return True

    def _statement_groups(self, statements: list[tuple[str, tuple]]) -> list[tuple[str, list]]:
        """The (statement, rows) groups of a commit: runs of one statement, the marks of a run
        as one statement, a server's answers as few as it takes."""
        if len(statements) > 2 and len({args[-2] for _, args in statements}) == len(statements):
            # One statement per identity: their order does not matter, so all marks go in one
            # executemany and all answers in another.
            statements = sorted(statements, key=lambda item: item[0] is not _MARK)
        groups = []
        start, count = 0, len(statements)
        while start < count:
            sql = statements[start][0]
            end = start + 1
            while end < count and statements[end][0] is sql:
                end += 1
            rows = [args for _, args in statements[start:end]]
            if sql is _MARK:
                groups.append(_marks_at_once(rows))
            elif sql is _RECORD and len(rows) > 1 and self.backend.one_statement_commits:
                # At most _BATCH rows a statement: a server takes 65,535 parameters at most.
                groups += [
                    _records_at_once(rows[at : at + _BATCH]) for at in range(0, len(rows), _BATCH)
                ]
            else:
                groups.append((sql, rows))
            start = end
        return groups


class _Gap:
    """Spaces out a costly step (an fsync, a commit waiting for a server's disk): :meth:`wait`
    returns ``seconds`` after the last one began, at once when hurried or :meth:`wake`-d."""

    def __init__(self) -> None:
        self.last = float("-inf")  # loop time the last step began
        self.nap: asyncio.Future | None = None

    async def wait(self, loop: asyncio.AbstractEventLoop, seconds: float, *, hurry: bool) -> None:
        """Until ``seconds`` after the last step began (the step begins now)."""
        delay = self.last + seconds - loop.time()
        if delay > 0 and not hurry:
            self.nap = loop.create_future()
            timer = loop.call_later(delay, self.wake)
            try:
                await self.nap
            finally:
                timer.cancel()
                self.nap = None
        self.last = loop.time()

    def wake(self) -> None:
        """Let a waiting step begin now (someone waits for it)."""
        if self.nap is not None and not self.nap.done():
            self.nap.set_result(None)


class _Then:
    """Callbacks of a queued result: ``on_durable()`` once on disk, ``on_failed(error)`` if not."""

    __slots__ = ("on_durable", "on_failed")

    def __init__(self, on_durable, on_failed) -> None:
        self.on_durable = on_durable
        self.on_failed = on_failed

    def __call__(self) -> None:
        if self.on_durable is not None:
            self.on_durable()


def _marks_at_once(rows: list[tuple]) -> tuple[str, list[tuple]]:
    """The (statement, rows) group of these _MARK rows (when, id, import): one statement for
    all of them when they belong to one import (they do: one ledger, one import)."""
    imports = {import_id for _, _, import_id in rows}
    if len(imports) != 1:
        return _MARK, rows
    ids = [id_ for _, id_, _ in rows]
    sql = _MARK_ALL.format(ids=",".join("?" * len(ids)))
    return sql, [(max(when for when, _, _ in rows), *ids, imports.pop())]


def _records_at_once(rows: list[tuple]) -> tuple[str, list[tuple]]:
    """The (statement, rows) group of these _RECORD rows as one statement (_RECORD_ALL): for a
    server's client, one statement committed alone costs a third of the CPU of a pipelined
    BEGIN, one UPDATE a row, COMMIT (1.1 ms a commit of 12 answers, 1.8 s of a 20,000-row run)."""
    one = "(" + ",".join("?" * len(rows[0])) + ")"
    sql = _RECORD_ALL.format(rows=",".join([one] * len(rows)))
    return sql, [tuple(arg for row in rows for arg in row)]


def _claim_args(target: str, import_id: int | None, c: Candidate, now: float) -> tuple:
    return (
        target,
        c.identity,
        import_id,
        c.row,
        c.payload_hash,
        c.content.decode(),
        c.lead_id,
        c.reference,
        c.currency,
        c.amount,
        c.date,
        now,
    )


def _fold(backend, import_id: int, logged: set[int]) -> None:
    """Write into the ledger what an import's sending log says: its rows that went out and
    were never answered are ``sending`` (then ``unconfirmed``), not claimed (then released)."""
    ids = sorted(logged)
    for start in range(0, len(ids), _BATCH):
        part = ids[start : start + _BATCH]
        backend.execute(_FOLD.format(ids=",".join("?" * len(part))), (*part, import_id))


def _unmark(backend, import_id: int, ids: list[int]) -> None:
    """Rows marked ``sending`` ahead and never sent (see importer.ledger.markahead): claimed
    again, their send uncounted, so that they are released."""
    for start in range(0, len(ids), _BATCH):
        part = ids[start : start + _BATCH]
        backend.execute(_UNMARK.format(ids=",".join("?" * len(part))), (*part, import_id))


def _release(backend, import_id: int) -> None:
    """Give back what an import claimed and never sent (first claims vanish; taken-over
    rows keep their history as not sent)."""
    backend.execute(
        "DELETE FROM purchases WHERE import_id = ? AND status = ? AND sends = 0",
        (import_id, CLAIMED),
    )
    backend.execute(
        "UPDATE purchases SET status = 'not_sent' WHERE import_id = ? AND status = ?",
        (import_id, CLAIMED),
    )


def _user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no login name (a service account): still an import
        return "?"
