"""The SQLite journal: what was sent, what came back, and what a later run may send again.

One journal per results file. Entries are keyed by (target, row, payload hash), so a row whose
payload changed is a new entry and the old one stays as history; each entry keeps the payload it
was sent with, so a purchase created for content that has since changed can still be named (and
listed for a reversal) by what it was created with. A row is marked ``sending``
(durably) before its request goes out and its result is committed as soon as the answer arrives;
a created purchase id is on disk before the row counts as done.

Durability: WAL with ``synchronous=NORMAL`` plus an explicit fsync of the WAL before a result
counts. Every commit reaches the operating system before the call returns, so a kill -9 loses
nothing. A result (a created purchase id above all) is reported only after an ``fsync`` of the WAL
that started after its commit, so it also survives power loss: the same guarantee as FULL, but one
fsync (1-5 ms on this VM's disk) covers every result that completed meanwhile, on a helper
thread, off the sending path. A ``sending`` mark is committed (kill -9 safe) before its request
goes out and becomes power-loss safe with the next fsync; waiting for the fsync before every
request would add milliseconds to every request for a power cut in that window only.

A lock file (``<journal>.lock``, ``fcntl.flock``) keeps a second run of the same file out; it is
removed when the run ends (one left by a crashed run is taken over: a dead process holds no lock).
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import sqlite3
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from importer.errors import JournalLockedError, OutputWriteError
from importer.records import RowResult, RowStatus

__all__ = ["Journal", "JournalEntry", "SENDING", "UNCONFIRMED_ERROR"]

SENDING = "sending"
UNCONFIRMED_ERROR = (
    "in flight when the previous run stopped; check in Keen, then re-run with --resend-unconfirmed"
)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS entries (
    file_hash    TEXT NOT NULL,
    row          INTEGER NOT NULL,
    payload_hash TEXT NOT NULL,
    status       TEXT NOT NULL,
    purchase_id  TEXT,
    http_status  INTEGER,
    error        TEXT,
    attempts     INTEGER NOT NULL DEFAULT 0,
    sends        INTEGER NOT NULL DEFAULT 0,
    updated_at   REAL NOT NULL,
    PRIMARY KEY (file_hash, row, payload_hash)
) WITHOUT ROWID;
DROP INDEX IF EXISTS entries_by_time;
CREATE TABLE IF NOT EXISTS keys (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
"""

_MARK = """
INSERT INTO entries (file_hash, row, payload_hash, status, sends, updated_at, payload)
VALUES (?, ?, ?, 'sending', 1, ?, ?)
ON CONFLICT (file_hash, row, payload_hash) DO UPDATE SET
    status = 'sending', sends = sends + 1, updated_at = excluded.updated_at,
    payload = COALESCE(excluded.payload, payload)
"""

_COLUMNS = (
    "row, payload_hash, status, purchase_id, http_status, error, attempts, sends, updated_at,"
    " payload"
)

_RECORD = """
INSERT INTO entries (file_hash, row, payload_hash, status, purchase_id, http_status, error,
                     attempts, updated_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (file_hash, row, payload_hash) DO UPDATE SET
    status = excluded.status, purchase_id = excluded.purchase_id,
    http_status = excluded.http_status, error = excluded.error,
    attempts = excluded.attempts, updated_at = excluded.updated_at
"""


@dataclass(frozen=True, slots=True)
class JournalEntry:
    """One journal row: the last known state of (row, payload hash)."""

    row: int
    payload_hash: str
    status: str  # "sending" or a RowStatus value
    purchase_id: str | None
    http_status: int | None
    error: str | None
    attempts: int
    sends: int
    updated_at: float
    payload: str | None = None  # the JSON sent (None in journals written before it was kept)

    def result(self) -> RowResult:
        """The entry as a RowResult (``sending`` reads as unconfirmed)."""
        if self.status == SENDING:
            return RowResult(self.row, RowStatus.UNCONFIRMED, error=UNCONFIRMED_ERROR)
        return RowResult(
            row=self.row,
            status=RowStatus(self.status),
            purchase_id=self.purchase_id,
            http_status=self.http_status,
            error=self.error,
            attempts=self.attempts,
        )


class Journal:
    """The journal of one input file. Open with :meth:`open`; use as a context manager.

    Synchronous methods (:meth:`mark_sending`, :meth:`record`) commit on their own. The batcher
    uses the async ones (:meth:`mark_sending_async`, :meth:`record_soon`), which group-commit.
    """

    def __init__(self, path: Path, file_hash: str, lock_fd: int) -> None:
        self.path = path
        self.file_hash = file_hash
        self._lock_fd = lock_fd
        self._lock_path = path.with_name(path.name + ".lock")
        self._conn = _connect(path)
        # Entries carry a short id of the journal key (target) instead of the key itself:
        # every row's B-tree key stays small, which keeps each insert cheap.
        self._conn.execute("INSERT OR IGNORE INTO keys (name) VALUES (?)", (file_hash,))
        self._key = str(
            self._conn.execute("SELECT id FROM keys WHERE name = ?", (file_hash,)).fetchone()[0]
        )
        self._wal_fd = -1
        self._fsyncer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="journal-fsync")
        self._committed = 0  # commits so far
        self._synced = 0  # commits known to be on disk
        self._sync_waiters: list[tuple[int, asyncio.Future]] = []
        self._syncing: asyncio.Task | None = None
        self.fsyncs = 0
        self._pending: list[tuple[str, tuple, object]] = []
        self._writer: asyncio.Task | None = None
        # Bitmap of the rows with at least one entry (loaded on first read, then kept up to date
        # by every write): a row outside it needs no query, which is every row of a first run.
        self._known_rows: bytearray | None = None
        self.commits = 0
        #: Seconds in SQLite commits (on the event loop) plus WAL fsyncs (on a helper thread).
        self.commit_seconds = 0.0
        self.fsync_seconds = 0.0  # the fsync part, off the event loop
        self._failure: BaseException | None = None  # a failed write whose caller had no future

    @classmethod
    def open(cls, path: str | os.PathLike, *, file_hash: str) -> Journal:
        """Open (or create) the journal at ``path`` and take its lock.

        Raises JournalLockedError when another run holds it. A lock file left by a run that
        died is taken over (the dead process holds no lock).
        """
        path = Path(path)
        try:
            fd = _take_lock(path.with_name(path.name + ".lock"), path)
        except OSError as exc:
            raise _cannot_open(path, exc) from None
        try:
            return cls(path, file_hash, fd)
        except BaseException as exc:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)
            if isinstance(exc, OSError | sqlite3.Error):
                raise _cannot_open(path, exc) from None
            raise

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Release the lock and close the database (pending async writes must be flushed first)."""
        if self._lock_fd < 0:
            return
        self._fsyncer.shutdown(wait=True)
        self._conn.close()
        if self._wal_fd >= 0:
            os.close(self._wal_fd)
            self._wal_fd = -1
        with contextlib.suppress(OSError):
            # Removed while still held: a run that opens the name next creates a new file, and
            # one that opened the old file before this sees it gone (see _take_lock).
            os.unlink(self._lock_path)
        fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
        os.close(self._lock_fd)
        self._lock_fd = -1

    # -- reading -------------------------------------------------------------------------------

    def _maybe_known(self, row: int) -> bool:
        if self._known_rows is None:
            self._known_rows = bytearray()
            cur = self._conn.execute(
                "SELECT DISTINCT row FROM entries WHERE file_hash = ?", (self._key,)
            )
            self._note_rows(found for (found,) in cur)
        if row < 0:
            return True
        index = row >> 3
        return index < len(self._known_rows) and bool(self._known_rows[index] >> (row & 7) & 1)

    def _note_rows(self, rows) -> None:
        bits = self._known_rows
        if bits is None:
            return  # loaded from the database on first use
        for row in rows:
            if row < 0:
                continue
            index = row >> 3
            if index >= len(bits):
                bits.extend(bytes(index - len(bits) + 1 + len(bits) // 2))
            bits[index] |= 1 << (row & 7)

    def previous(self, row: int) -> JournalEntry | None:
        """The most recent entry of ``row`` in this file, whatever its payload."""
        if not self._maybe_known(row):
            return None
        cur = self._conn.execute(
            f"SELECT {_COLUMNS} FROM entries WHERE file_hash = ? AND row = ?"
            " ORDER BY updated_at DESC LIMIT 1",
            (self._key, row),
        )
        found = cur.fetchone()
        return JournalEntry(*found) if found else None

    def entry(self, row: int, payload_hash: str) -> JournalEntry | None:
        """The entry of exactly (row, payload hash), or None."""
        if not self._maybe_known(row):
            return None
        cur = self._conn.execute(
            f"SELECT {_COLUMNS} FROM entries WHERE file_hash = ? AND row = ? AND payload_hash = ?",
            (self._key, row, payload_hash),
        )
        found = cur.fetchone()
        return JournalEntry(*found) if found else None

    def entries(self) -> list[JournalEntry]:
        """Every entry of this file, oldest first (the history included)."""
        cur = self._conn.execute(
            f"SELECT {_COLUMNS} FROM entries WHERE file_hash = ? ORDER BY row, updated_at",
            (self._key,),
        )
        return [JournalEntry(*found) for found in cur.fetchall()]

    def created_at(self, row: int) -> list[JournalEntry]:
        """Every created entry of ``row`` (any payload), oldest first."""
        if not self._maybe_known(row):
            return []
        cur = self._conn.execute(
            f"SELECT {_COLUMNS} FROM entries WHERE file_hash = ? AND row = ? AND status = ?"
            " ORDER BY updated_at",
            (self._key, row, str(RowStatus.CREATED)),
        )
        return [JournalEntry(*found) for found in cur.fetchall()]

    def has_created(self) -> bool:
        """True when some earlier run created a purchase (under this journal's key)."""
        cur = self._conn.execute(
            "SELECT 1 FROM entries WHERE file_hash = ? AND status = ? LIMIT 1",
            (self._key, str(RowStatus.CREATED)),
        )
        return cur.fetchone() is not None

    def index_payloads(self) -> None:
        """Index entries by payload (for :meth:`created_with_payload`).

        Built only when a run resumes: every index slows each write of a first run down.
        """
        self._conn.execute(
            "CREATE INDEX IF NOT EXISTS entries_by_payload ON entries (file_hash, payload_hash)"
        )

    def created_with_payload(self, payload_hash: str) -> list[JournalEntry]:
        """Every created entry with this payload, at any row (finds rows that moved)."""
        cur = self._conn.execute(
            f"SELECT {_COLUMNS} FROM entries"
            " WHERE file_hash = ? AND payload_hash = ? AND status = ? ORDER BY row",
            (self._key, payload_hash, str(RowStatus.CREATED)),
        )
        return [JournalEntry(*found) for found in cur.fetchall()]

    def decide(self, row: int, payload_hash: str, *, resend_unconfirmed: bool) -> RowResult | None:
        """What to do with a row: a RowResult to report without sending, or None to send it.

        created -> its stored result (never sent again); sending/unconfirmed -> unconfirmed unless
        ``resend_unconfirmed``; retried, rejected, not sent, a new or changed payload -> None.
        """
        found = self.entry(row, payload_hash)
        if found is None:
            return None
        if found.status == RowStatus.CREATED:
            return found.result()
        if found.status in (SENDING, RowStatus.UNCONFIRMED) and not resend_unconfirmed:
            result = found.result()
            result.status = RowStatus.UNCONFIRMED
            if found.status == SENDING:
                result.error = UNCONFIRMED_ERROR
            else:
                result.error = f"{result.error or 'no answer'}; {UNCONFIRMED_ERROR}"
            return result
        return None

    # -- writing, one commit per call ------------------------------------------------------------

    def mark_sending(self, row: int, payload_hash: str, payload: bytes | None = None) -> None:
        """Record (durably) that the request of this row (``payload``) is about to go out."""
        self._commit([(_MARK, self._mark_args(row, payload_hash, payload))])
        self._fsync()

    def record(self, row: int, payload_hash: str, result: RowResult) -> None:
        """Record (durably) the answer to this row's request."""
        self._commit([(_RECORD, self._record_args(row, payload_hash, result))])
        self._fsync()

    # -- writing, group-committed ------------------------------------------------------------------

    async def mark_sending_async(
        self, row: int, payload_hash: str, payload: bytes | None = None
    ) -> None:
        """Like :meth:`mark_sending`; returns once committed (with everything queued before it).

        Every mark queued in the same loop tick joins one commit (one ``executemany``).
        """
        future = asyncio.get_running_loop().create_future()
        self._enqueue(_MARK, self._mark_args(row, payload_hash, payload), future)
        await future

    def record_soon(
        self,
        row: int,
        payload_hash: str,
        result: RowResult,
        on_durable: Callable[[], None] | None = None,
    ) -> asyncio.Future:
        """Queue a result; the returned future (and ``on_durable``) completes once it is on disk."""
        future = asyncio.get_running_loop().create_future()
        if on_durable is not None:
            future.add_done_callback(lambda f: f.cancelled() or f.exception() or on_durable())
        self._enqueue(_RECORD, self._record_args(row, payload_hash, result), future)
        return future

    def record_then(
        self,
        row: int,
        payload_hash: str,
        result: RowResult,
        on_durable: Callable[[], None] | None = None,
        on_failed: Callable[[BaseException], None] | None = None,
    ) -> None:
        """Like :meth:`record_soon` without a future: ``on_durable()`` runs once it is on disk.

        If the disk fails, ``on_durable`` never runs: ``on_failed(error)`` runs instead, or, without
        it, the error is raised by :meth:`flush`.
        """
        waiter = on_durable if on_failed is None else _Then(on_durable, on_failed)
        self._enqueue(_RECORD, self._record_args(row, payload_hash, result), waiter)

    async def flush(self) -> None:
        """Wait until every queued write is committed and on disk.

        Raises the disk's error if a queued write (of any kind) failed since the last flush.
        """
        failure: BaseException | None = None
        if self._pending or (self._writer and not self._writer.done()):
            future = asyncio.get_running_loop().create_future()
            self._pending.append(("", (), future))
            self._kick()
            try:
                await future
            except Exception as exc:  # noqa: BLE001 - what was committed before still gets synced
                failure = exc
        if self._synced < self._committed or self._sync_waiters:
            future = asyncio.get_running_loop().create_future()
            self._wait_for_disk(future)
            try:
                await future
            except Exception as exc:  # noqa: BLE001 - raised below
                failure = failure or exc
        failure = self._failure or failure
        self._failure = None
        if failure is not None:
            raise failure

    # -- internals ---------------------------------------------------------------------------------

    def _mark_args(self, row: int, payload_hash: str, payload: bytes | None) -> tuple:
        text = payload.decode() if payload is not None else None
        return (self._key, row, payload_hash, time.time(), text)

    def _record_args(self, row: int, payload_hash: str, result: RowResult) -> tuple:
        return (
            self._key,
            row,
            payload_hash,
            str(result.status),
            result.purchase_id,
            result.http_status,
            result.error,
            result.attempts,
            time.time(),
        )

    def _enqueue(self, sql: str, args: tuple, waiter: object) -> None:
        self._pending.append((sql, args, waiter))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.get_running_loop().create_task(self._write_loop())

    def _kick(self) -> None:
        if self._writer is None or self._writer.done():
            self._writer = asyncio.get_running_loop().create_task(self._write_loop())

    async def _write_loop(self) -> None:
        while self._pending:
            await asyncio.sleep(0)  # let every completion that is ready join this commit
            batch, self._pending = self._pending, []
            try:
                self._commit([(sql, args) for sql, args, _ in batch if sql])
            except Exception as exc:  # the disk failed: nobody may count these rows as done
                self._fail([waiter for _, _, waiter in batch], exc)
                continue
            durable = []
            for sql, _, waiter in batch:
                if sql is _MARK:
                    if not waiter.done():
                        # Committed: safe from kill -9 (see the module docstring); its request
                        # may go out.
                        waiter.set_result(None)
                elif waiter is not None:
                    durable.append(waiter)
            if durable:
                self._sync_waiters.append((self._committed, durable))
                if self._syncing is None or self._syncing.done():
                    self._syncing = asyncio.get_running_loop().create_task(self._sync_loop())

    def _wait_for_disk(self, future: asyncio.Future) -> None:
        self._sync_waiters.append((self._committed, [future]))
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
            target = self._committed
            try:
                await loop.run_in_executor(self._fsyncer, self._fsync)
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

    def _fsync(self) -> None:
        started = time.perf_counter()
        if self._wal_fd < 0:
            wal = self.path.with_name(self.path.name + "-wal")
            self._wal_fd = os.open(wal, os.O_RDONLY)
        os.fsync(self._wal_fd)
        self.fsyncs += 1
        elapsed = time.perf_counter() - started
        self.fsync_seconds += elapsed
        self.commit_seconds += elapsed

    def _commit(self, statements: list[tuple[str, tuple]]) -> None:
        if not statements:
            return
        started = time.perf_counter()
        if len(statements) > 2 and len({args[1] for _, args in statements}) == len(statements):
            # One statement per row: their order does not matter, so all marks go in one
            # executemany and all answers in another. (A row's mark and answer sharing a group
            # keep their order.)
            statements = sorted(statements, key=lambda item: item[0] is not _MARK)
        conn = self._conn
        if conn.in_transaction:  # left open by a COMMIT that failed (disk full)
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
        conn.execute("BEGIN IMMEDIATE")
        try:
            # Consecutive statements of one kind go in one executemany.
            start = 0
            count = len(statements)
            while start < count:
                sql = statements[start][0]
                end = start + 1
                while end < count and statements[end][0] is sql:
                    end += 1
                if end - start == 1:
                    conn.execute(sql, statements[start][1])
                else:
                    conn.executemany(sql, [args for _, args in statements[start:end]])
                start = end
            conn.execute("COMMIT")
        except BaseException:
            # SQLite may have rolled back already (a full disk does): never hide the cause.
            if conn.in_transaction:
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
            raise
        self._note_rows(args[1] for _, args in statements)
        self._committed += 1
        self.commits += 1
        self.commit_seconds += time.perf_counter() - started


def _cannot_open(path: Path, exc: BaseException) -> OutputWriteError:
    reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
    return OutputWriteError(
        f"cannot open the journal {path}: {reason}; nothing was sent. Free some space there or "
        "choose another folder with --out-dir DIR",
        path=path,
    )


class _Then:
    """Callbacks of a queued result: ``on_durable()`` once on disk, ``on_failed(error)`` if not."""

    __slots__ = ("on_durable", "on_failed")

    def __init__(self, on_durable, on_failed) -> None:
        self.on_durable = on_durable
        self.on_failed = on_failed

    def __call__(self) -> None:
        if self.on_durable is not None:
            self.on_durable()


def _take_lock(lock_path: Path, journal: Path) -> int:
    """Lock ``lock_path`` (created if missing) and write our process id into it.

    The file is removed when its run ends. A run that opened it just before it was removed
    would lock a file no longer under that name, so the lock counts only when the name still
    leads to the file locked; otherwise it tries again with the new file.
    """
    while True:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 64, 0).decode(errors="replace").strip()
            os.close(fd)
            who = f" (process {holder})" if holder else ""
            raise JournalLockedError(
                f"Another keen-import run{who} is using the journal {journal}.",
                hint="Wait for it to finish or stop it, then run again.",
            ) from None
        try:
            same = os.stat(lock_path).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        if same:
            try:
                os.ftruncate(fd, 0)
                os.pwrite(fd, str(os.getpid()).encode(), 0)
            except OSError:  # a full disk: Journal.open says so
                fcntl.flock(fd, fcntl.LOCK_UN)
                os.close(fd)
                raise
            return fd
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")  # plus explicit WAL fsyncs: see the docstring
    conn.execute("PRAGMA busy_timeout=5000")
    conn.executescript(_SCHEMA)
    columns = {found[1] for found in conn.execute("PRAGMA table_info(entries)")}
    if "payload" not in columns:  # a journal written before payloads were kept
        conn.execute("ALTER TABLE entries ADD COLUMN payload TEXT")
    return conn
