"""The two databases a ledger can live in, behind one small interface.

    SqliteBackend    one user's ledger (the default) or a SQLite file given with --ledger
    PostgresBackend  a team's ledger on a PostgreSQL server (psycopg 3, the [postgres] extra)

Each offers: ``fetch``/``execute``/``execute_many`` (SQL written with ``?`` placeholders),
``transaction()`` (one writer per target at a time), ``sync()`` (results on disk before they
count), and the liveness lock of an import: ``hold_lock(token)`` while it runs, ``is_live(token)``
from any machine. SQLite's liveness lock is a file lock (``filelock``: a dead process holds none);
PostgreSQL's is a session advisory lock (a lost connection releases it).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import sqlite3
import threading
import zlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from importer.errors import LedgerError
from importer.ledger.location import LedgerLocation, data_dir
from importer.ledger.schema import SCHEMA_VERSION, schema_statements
from importer.ledger.sendlog import SendingLog
from importer.ledger.upgrade import UPGRADES

__all__ = ["PostgresBackend", "SqliteBackend", "open_backend"]

_LOCK_NAMESPACE = 0x4B45  # the first key of every advisory lock keen-import takes ("KE")
_SCHEMA_LOCK = "keen-import schema"  # PostgreSQL: the second key while the schema is checked
#: SQLite: the WAL size (pages of 4 KB) at which a commit copies it back itself; the sending
#: path has Ledger.checkpoint() do it on a thread long before.
_BACKSTOP_PAGES = 50_000
#: SQLite's primary result codes for a file that is out of reach rather than damaged:
#: SQLITE_PERM, SQLITE_READONLY, SQLITE_IOERR, SQLITE_FULL, SQLITE_CANTOPEN.
_OUT_OF_REACH = frozenset({3, 8, 10, 13, 14})
_BUSY_TIMEOUT_MS = 30_000  # how long a SQLite statement waits for another writer


def open_backend(location: LedgerLocation, *, upgrade: bool = False):
    """Connect to the ledger at ``location``, creating or upgrading its tables as allowed."""
    backend = PostgresBackend(location) if location.url is not None else SqliteBackend(location)
    try:
        backend.prepare_schema(upgrade=upgrade)
    except BaseException:
        backend.close()
        raise
    return backend


class _Backend:
    """What both databases share: the schema check and a few conveniences."""

    dialect = ""
    location: LedgerLocation
    errors: tuple[type[BaseException], ...] = ()

    def describe(self) -> str:
        """The ledger, as messages name it (no password)."""
        return self.location.describe()

    #: True when the sending path's commits wait for a server: they run on a thread then.
    commits_off_loop = False
    #: True when a commit of one statement costs the client much less than a transaction of
    #: several (a server's: see PostgresBackend.write_batch): the ledger then writes the answers
    #: of a commit as one statement.
    one_statement_commits = False
    #: Rows claimed in one transaction while sending (see importer.job.claims): a claim costs
    #: SQLite about 17 us a row; a server about 8 round trips and a disk wait whatever its size.
    claim_batch = 100

    def write_batch(
        self, groups: list[tuple[str, list[Sequence[Any]]]], *, durable: bool = True
    ) -> None:
        """Run each (statement, rows) group in one transaction: the sending path's commits
        (``durable=False``: committed, on disk with the next durable commit or sync)."""
        with self.transaction():
            for sql, rows in groups:
                self.execute_many(sql, rows)

    def write_batch_now(self, groups: list[tuple[str, list[Sequence[Any]]]]) -> bool:
        """write_batch on the event loop: False (nothing written, try again shortly) instead
        of waiting for another writer, where the database can tell (SQLite)."""
        self.write_batch(groups)
        return True

    def checkpoint(self) -> tuple[int, int]:
        """Fold what was committed into the database proper, where the database has such a
        step (SQLite's WAL); called on a thread, off the sending path. (pages to fold, folded)"""
        return 0, 0

    def note_claimed(self, rows: int) -> None:
        """``rows`` were just claimed (a hook for the database's upkeep)."""

    def sending_log(self, token: str) -> SendingLog | None:
        """Where the import holding ``token`` notes the rows it sends, when its marks are not
        committed (see :mod:`importer.ledger.sendlog`); None: every mark is committed."""
        return None

    def sent_log(self, token: str) -> SendingLog | None:
        """Where the import holding ``token`` notes, on this machine, the rows whose request
        went out after their mark was committed ahead (see :mod:`importer.ledger.markahead`);
        None: marks are not made ahead."""
        return None

    # Each backend opens ``_main`` (the event loop's thread; it holds the liveness locks) with
    # ``_connect()``, and sets ``_side = None`` and ``_here = threading.local()``.
    _main: Any
    _side: Any
    _here: threading.local

    def _connect(self) -> Any:
        raise NotImplementedError

    @property
    def conn(self) -> Any:
        """This thread's connection: the claims' inside :meth:`side_connection`, else the
        main one."""
        return getattr(self._here, "conn", None) or self._main

    @contextlib.contextmanager
    def side_connection(self) -> Iterator[None]:
        """Run this thread's statements on a connection of their own (the claims, on their
        thread, one at a time): their transaction never mixes with the event loop's."""
        if self._side is None:
            self._side = self._connect()
        self._here.conn = self._side
        try:
            yield
        finally:
            self._here.conn = None

    def fetch_one(self, sql: str, args: Sequence[Any] = ()) -> tuple | None:
        """The first row of a query, or None."""
        rows = self.fetch(sql, args)
        return rows[0] if rows else None

    def schema_version(self) -> int | None:
        """The version written in the ledger (None: a new, empty database)."""
        if not self.has_table("ledger_meta"):
            return None
        found = self.fetch_one("SELECT value FROM ledger_meta WHERE key = 'schema_version'")
        return int(found[0]) if found else None

    def prepare_schema(self, *, upgrade: bool) -> None:
        """Create the tables in a new ledger; refuse a newer one; upgrade an older one when
        allowed (always for one user's SQLite ledger, on purpose for a shared one)."""
        version = self.schema_version()
        if version is None and self.foreign_tables():
            raise LedgerError(
                f"{self.describe()} is a database of another program, not a keen-import ledger",
                ledger=self.describe(),
                hint="give --ledger a new file name (or an empty PostgreSQL database)",
            )
        if version is not None and version > SCHEMA_VERSION:
            raise LedgerError(
                f"the ledger {self.describe()} has schema version {version}; this keen-import "
                f"knows version {SCHEMA_VERSION} only",
                ledger=self.describe(),
                hint="upgrade keen-import on this machine (a team upgrades together)",
            )
        if version == SCHEMA_VERSION:
            return
        if version is not None and self.location.shared and not upgrade:
            raise LedgerError(
                f"the shared ledger {self.describe()} has schema version {version}; this "
                f"keen-import writes version {SCHEMA_VERSION}",
                ledger=self.describe(),
                hint="once every machine of the team runs this version: keen-import ledger upgrade",
            )
        self.upgraded_from = version  # None: a new ledger
        with self.transaction():
            for statement in schema_statements(self.dialect):
                self.execute(statement)
            for step in range((version or 0) + 1, SCHEMA_VERSION + 1) if version else ():
                if step in UPGRADES:  # the rows of an older ledger, as this version keeps them
                    UPGRADES[step](self)
            self.execute(
                "INSERT INTO ledger_meta (key, value) VALUES ('schema_version', ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (str(SCHEMA_VERSION),),
            )


class SqliteBackend(_Backend):
    """A ledger in a SQLite file: WAL, every result fsynced before it counts."""

    dialect = "sqlite"
    errors = (sqlite3.Error, OSError)

    @staticmethod
    def using(index: str) -> str:
        """The clause that makes a lookup use ``index``. Without statistics SQLite prefers
        the primary key's first column (the target: every purchase of the account) over an
        index on the column asked for; 1.8 s instead of 2 ms for 5,000 payloads at 20,000
        purchases."""
        return f" INDEXED BY {index}"

    def __init__(self, location: LedgerLocation) -> None:
        assert location.path is not None
        self.location = location
        self.path = location.path
        self._wal_fd = -1
        self._locks: dict[str, Any] = {}
        self._checkpointer: sqlite3.Connection | None = None  # sync()'s own connection
        self._side: sqlite3.Connection | None = None  # the claims' (see side_connection)
        self._now: sqlite3.Connection | None = None  # write_batch_now's
        self._here = threading.local()  # .conn: this thread's connection, if not the main one
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._main = self._connect()
            self._main.execute("PRAGMA journal_mode=WAL")
        except sqlite3.DatabaseError as exc:
            raise self._unusable(exc) from None
        except OSError as exc:
            raise LedgerError(
                f"cannot open the ledger {self.path}: {exc.strerror or exc}",
                ledger=str(self.path),
                hint="check the folder exists and can be written, or give --ledger PATH",
            ) from None

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        conn.execute(f"PRAGMA busy_timeout={_BUSY_TIMEOUT_MS}")
        # Plus an explicit fsync of the WAL before a result counts (see Ledger).
        conn.execute("PRAGMA synchronous=NORMAL")
        # The index pages of a growing ledger stay in memory (64 MB at most), and the WAL is
        # copied back into the database every 40 MB instead of every 4 MB: each claim of 500
        # rows touches a page of each index per row (identities are random keys).
        conn.execute("PRAGMA cache_size=-65536")
        # Copying the WAL back (40 MB, with an fsync of the database) took up to 70 ms: on the
        # event loop every answer waited that long. sync() does it on its thread; this stays
        # as a backstop for a ledger that is written and never synced.
        conn.execute(f"PRAGMA wal_autocheckpoint={_BACKSTOP_PAGES}")
        return conn

    def write_batch_now(self, groups: list[tuple[str, list[Sequence[Any]]]]) -> bool:
        """As write_batch, without waiting for another writer (the claims' thread, another
        import): False, nothing written, when one holds the file. On a connection of its own
        that never waits (setting busy_timeout around each commit of the main one cost two
        statements a commit, each letting the claims' thread take the GIL)."""
        if self._now is None:
            self._now = self._connect()
            self._now.execute("PRAGMA busy_timeout=0")
        try:
            with self._transaction(self._now):
                for sql, rows in groups:
                    self._now.executemany(sql, rows)
        except sqlite3.OperationalError as exc:
            code = getattr(exc, "sqlite_errorcode", 0)
            if code & 0xFF != sqlite3.SQLITE_BUSY:  # SQLITE_BUSY and its extended codes
                raise
            return False
        return True

    def _unusable(self, exc: BaseException) -> LedgerError:
        """The error for a ledger SQLite cannot use: out of reach (permissions, a full disk)
        or damaged. Neither is cured by a new ledger, which would not know the purchases
        this one holds and would send them again."""
        code = getattr(exc, "sqlite_errorcode", 0) & 0xFF
        if code in _OUT_OF_REACH:
            return LedgerError(
                f"the ledger {self.path} cannot be opened for writing ({exc})",
                ledger=str(self.path),
                hint=f"let this user write to {self.path.parent} (it or the ledger may be "
                "read-only, or the disk full); a new ledger would not know the purchases "
                "this one holds and would send them again",
            )
        return LedgerError(
            f"the ledger {self.path} cannot be read ({exc}): it is damaged or not a "
            "keen-import ledger",
            ledger=str(self.path),
            hint="restore it from a backup; a new ledger (--ledger NEW_FILE) would not know the "
            "purchases this one holds and would send them again",
        )

    def prepare_schema(self, *, upgrade: bool) -> None:
        """As for every backend, with a damaged file reported as such."""
        try:
            super().prepare_schema(upgrade=upgrade)
        except sqlite3.DatabaseError as exc:
            raise self._unusable(exc) from None

    def has_table(self, name: str) -> bool:
        """True when the table exists."""
        sql = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?"
        return self.fetch_one(sql, (name,)) is not None

    def foreign_tables(self) -> bool:
        """True when the database holds tables of some other program."""
        return self.fetch_one("SELECT 1 FROM sqlite_master WHERE type = 'table'") is not None

    def fetch(self, sql: str, args: Sequence[Any] = ()) -> list[tuple]:
        """Every row of a query."""
        return self.conn.execute(sql, args).fetchall()

    def execute(self, sql: str, args: Sequence[Any] = ()) -> int:
        """Run one statement; returns the rows it changed."""
        return self.conn.execute(sql, args).rowcount

    def execute_many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        """Run one statement for each of ``rows``."""
        self.conn.executemany(sql, rows)

    def insert_returning_id(self, sql: str, args: Sequence[Any]) -> int:
        """Insert one row and return its id."""
        return int(self.conn.execute(sql, args).lastrowid)

    def transaction(self, lock_key: str | None = None) -> contextlib.AbstractContextManager:
        """One write transaction (BEGIN IMMEDIATE: one writer at a time on the whole file)."""
        return self._transaction(self.conn)

    @staticmethod
    @contextlib.contextmanager
    def _transaction(conn: sqlite3.Connection) -> Iterator[None]:
        if conn.in_transaction:  # left open by a COMMIT that failed (disk full)
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield
            conn.execute("COMMIT")
        except BaseException:
            # SQLite may have rolled back already (a full disk does): never hide the cause.
            if conn.in_transaction:
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
            raise

    def sync(self) -> None:
        """fsync the WAL: every commit so far survives a power cut."""
        if self._wal_fd < 0:
            wal = self.path.with_name(self.path.name + "-wal")
            # Opened for writing: Windows refuses to flush a handle opened read-only.
            self._wal_fd = os.open(wal, os.O_RDWR | getattr(os, "O_BINARY", 0))
        os.fsync(self._wal_fd)

    def checkpoint(self) -> tuple[int, int]:
        """Copy the WAL back into the database, on a connection of its own (PASSIVE: writers
        go on meanwhile; pages a reader still needs wait for the next one). Returns the pages
        in the WAL and those copied."""
        if self._checkpointer is None:
            self._checkpointer = self._connect()
        _, in_wal, copied = self._checkpointer.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        return in_wal, copied

    # -- liveness ------------------------------------------------------------------------------

    def _lock_path(self, token: str) -> Path:
        return self.path.with_name(self.path.name + ".locks") / f"{token}.lock"

    def sending_log(self, token: str) -> SendingLog:
        """Beside the import's liveness lock: every process that can open this ledger (one
        machine: a SQLite ledger is refused on a network folder) can read it."""
        return SendingLog(self._lock_path(token).with_suffix(".sending"))

    def hold_lock(self, token: str) -> None:
        """Hold the liveness lock of an import until :meth:`release_lock` (or the process dies)."""
        from filelock import FileLock

        path = self._lock_path(token)
        path.parent.mkdir(parents=True, exist_ok=True)
        lock = FileLock(path, timeout=0)
        lock.acquire()
        self._locks[token] = lock

    def release_lock(self, token: str) -> None:
        """Release an import's liveness lock and remove its file."""
        lock = self._locks.pop(token, None)
        if lock is None:
            return
        lock.release()
        with contextlib.suppress(OSError):
            self._lock_path(token).unlink()

    def is_live(self, token: str) -> bool:
        """True while the import holding ``token`` runs (in any process on this machine)."""
        from filelock import FileLock, Timeout

        if token in self._locks:
            return True
        path = self._lock_path(token)
        if not path.exists():
            return False
        probe = FileLock(path, timeout=0)
        try:
            probe.acquire()
        except Timeout:
            return True
        except OSError:
            return False
        probe.release()
        with contextlib.suppress(OSError):
            path.unlink()
        return False

    def close(self) -> None:
        """Release every lock and close the database."""
        for token in list(self._locks):
            self.release_lock(token)
        # The last one closed copies the WAL back and removes it.
        for conn in (self._side, self._now, self._checkpointer, self._main):
            if conn is not None:
                with contextlib.suppress(sqlite3.Error):
                    conn.close()
        if self._wal_fd >= 0:
            os.close(self._wal_fd)
            self._wal_fd = -1


class PostgresBackend(_Backend):
    """A team's ledger on a PostgreSQL server. Commits are durable when they return."""

    dialect = "postgresql"

    @staticmethod
    def using(index: str) -> str:
        """Nothing: PostgreSQL's planner keeps statistics and picks the index itself."""
        return ""

    def __init__(self, location: LedgerLocation) -> None:
        assert location.url is not None
        self.location = location
        try:
            import psycopg
        except ImportError:
            raise LedgerError(
                "a PostgreSQL ledger needs psycopg",
                ledger=self.describe(),
                hint="pip install 'keen-import[postgres]'",
            ) from None
        self.errors = (psycopg.Error, OSError)
        self._sql: dict[str, str] = {}
        self._writer = None  # the sending path's answers' connection, opened on first use
        self._marker = None  # and its marks' (committed without waiting for the disk)
        self._side = None  # the claims' connection (side_connection), opened on first use
        self._here = threading.local()
        self._rows_analyzed: float | None = None  # purchases when the statistics were taken
        self._claimed = 0  # rows claimed since
        self._main = self._connect()

    def _connect(self):
        """A new connection to the ledger's server (LedgerError when it cannot be had). Text is
        UTF-8 whatever the database's encoding: a ``SQL_ASCII`` database (one created in a C
        locale) would otherwise give every text column back as bytes."""
        import psycopg

        try:
            return psycopg.connect(
                self.location.url, autocommit=True, connect_timeout=10, client_encoding="utf8"
            )
        except psycopg.Error as exc:
            raise self.unreachable(exc) from None

    def unreachable(self, exc: BaseException) -> LedgerError:
        """The error for a ledger that cannot be reached or refuses us (no password shown)."""
        reason = " ".join(str(exc).split()) or type(exc).__name__
        password = self._password()
        if password:
            reason = reason.replace(password, "***")
        return LedgerError(
            f"cannot use the ledger {self.describe()}: {reason}",
            ledger=self.describe(),
            hint="check the server is up and the user, password and permissions in --ledger "
            "(or KEEN_IMPORT_LEDGER); nothing was sent",
        )

    def prepare_schema(self, *, upgrade: bool) -> None:
        """As for every backend, one connection at a time: two machines opening a new ledger
        at once would both run CREATE TABLE IF NOT EXISTS, which is not safe against a
        concurrent one (a unique violation in pg_type). A refusal of the server (no right to
        create tables, say) is a LedgerError."""
        import psycopg

        try:
            with self.conn.transaction():
                self.execute(
                    "SELECT pg_advisory_xact_lock(?, ?)", (_LOCK_NAMESPACE, _key32(_SCHEMA_LOCK))
                )
                super().prepare_schema(upgrade=upgrade)
        except psycopg.Error as exc:
            raise self.unreachable(exc) from None

    def _password(self) -> str | None:
        from importer.ledger.location import url_password

        return url_password(self.location.url or "")

    def _convert(self, sql: str) -> str:
        converted = self._sql.get(sql)
        if converted is None:
            converted = self._sql[sql] = sql.replace("?", "%s")
        return converted

    def has_table(self, name: str) -> bool:
        """True when the table exists in the current schema."""
        return self.fetch_one("SELECT to_regclass(?)", (name,))[0] is not None

    def foreign_tables(self) -> bool:
        """True when the current schema holds tables (of some other program)."""
        sql = "SELECT 1 FROM information_schema.tables WHERE table_schema = current_schema()"
        return self.fetch_one(sql) is not None

    def fetch(self, sql: str, args: Sequence[Any] = ()) -> list[tuple]:
        """Every row of a query."""
        with self.conn.cursor() as cursor:
            cursor.execute(self._convert(sql), args)
            return cursor.fetchall() if cursor.description else []

    def execute(self, sql: str, args: Sequence[Any] = ()) -> int:
        """Run one statement; returns the rows it changed."""
        with self.conn.cursor() as cursor:
            cursor.execute(self._convert(sql), args)
            return cursor.rowcount

    def execute_many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        """Run one statement for each of ``rows`` (pipelined: one round trip)."""
        with self.conn.cursor() as cursor:
            cursor.executemany(self._convert(sql), rows)

    def insert_returning_id(self, sql: str, args: Sequence[Any]) -> int:
        """Insert one row and return its id."""
        return int(self.fetch_one(sql + " RETURNING id", args)[0])

    @contextlib.contextmanager
    def transaction(self, lock_key: str | None = None) -> Iterator[None]:
        """One transaction; with ``lock_key``, transactions taking the same key wait for each other
        on every machine (a transaction advisory lock, released at commit)."""
        with self.conn.transaction():
            if lock_key is not None:
                self.execute(
                    "SELECT pg_advisory_xact_lock(?, ?)", (_LOCK_NAMESPACE, _key32(lock_key))
                )
            yield

    def note_claimed(self, rows: int) -> None:
        """Take the statistics of purchases again once claims grew it by half (and 1,000 rows):
        until autovacuum does (a minute or more), the planner of a new ledger took the index by
        date for the claims' look-ups by identity and read every purchase of the account: 0.3 s
        a claim at 20,000 purchases instead of 20 ms. An optimisation: a failure is ignored."""
        self._claimed += rows
        with contextlib.suppress(*self.errors):
            if self._rows_analyzed is None:
                found = self.fetch_one(
                    "SELECT reltuples FROM pg_class WHERE oid = 'purchases'::regclass"
                )
                self._rows_analyzed = max(0.0, float(found[0])) if found else 0.0
            if self._claimed > max(1000, self._rows_analyzed / 2):
                self.execute("ANALYZE purchases")
                self._rows_analyzed += self._claimed
                self._claimed = 0

    commits_off_loop = True
    one_statement_commits = True
    claim_batch = 500

    def write_batch(
        self, groups: list[tuple[str, list[Sequence[Any]]]], *, durable: bool = True
    ) -> None:
        """The sending path's commits, on a connection of their own (they run on the ledger's
        thread while the event loop claims on the first one): a commit waits for the server's
        disk (1-5 ms), which the event loop must not. ``durable=False`` (the sending marks)
        commits without waiting for the server's disk: the mark survives this process dying,
        as a SQLite mark does before its fsync, and reaches the disk within the server's
        wal_writer_delay or with the next answer."""
        conn = self._writer if durable else self._marker
        if conn is None:
            conn = self._connect()
            if durable:
                self._writer = conn
            else:
                conn.execute("SET synchronous_commit TO OFF")  # this session's commits only
                self._marker = conn
        if len(groups) == 1 and len(groups[0][1]) == 1:
            # One statement (the marks of a commit are one) is its own transaction here: one
            # round trip and a third of the client's CPU of a pipelined BEGIN ... COMMIT (0.64 ms
            # a commit, 1.1 s of a 20,000-row run's marks).
            sql, (args,) = groups[0]
            conn.execute(self._convert(sql), args)
            return
        # One round trip for the whole transaction (BEGIN, the statements, COMMIT) instead of
        # one each: on a busy machine each round trip cost about a millisecond.
        with conn.pipeline(), conn.transaction(), conn.cursor() as cursor:
            for sql, rows in groups:
                cursor.executemany(self._convert(sql), rows)

    def sync(self) -> None:
        """Nothing to do: a PostgreSQL commit is durable once it returns."""

    def sent_log(self, token: str) -> SendingLog:
        """In this user's data folder (other machines cannot read it; they hold the rows of
        a dead import marked ahead ``unconfirmed``), named by the ledger and the import."""
        ledger = hashlib.sha256(self.location.describe().encode()).hexdigest()[:16]
        return SendingLog(data_dir() / "sent" / ledger / f"{token}.sent")

    def hold_lock(self, token: str) -> None:
        """Hold the import's session advisory lock (released if this connection is lost)."""
        self.execute("SELECT pg_advisory_lock(?, ?)", (_LOCK_NAMESPACE, _key32(token)))

    def release_lock(self, token: str) -> None:
        """Release the import's advisory lock."""
        self.execute("SELECT pg_advisory_unlock(?, ?)", (_LOCK_NAMESPACE, _key32(token)))

    def is_live(self, token: str) -> bool:
        """True while some session, on any machine, holds the import's advisory lock."""
        found = self.fetch_one(
            "SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND classid = ?::oid"
            " AND objid = ?::oid AND objsubid = 2 AND granted",
            (_LOCK_NAMESPACE, _key32(token)),
        )
        return found is not None

    def close(self) -> None:
        """Close the connections (which releases their advisory locks)."""
        for conn in (self._writer, self._marker, self._side, self._main):
            if conn is not None:
                with contextlib.suppress(Exception):
                    conn.close()


def _key32(text: str) -> int:
    """A positive 32-bit key for an advisory lock (pg_locks shows it as an oid)."""
    return zlib.crc32(text.encode()) & 0x7FFFFFFF
