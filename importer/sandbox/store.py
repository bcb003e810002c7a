"""The sandbox's state: purchases, their purchase events and their rewards.

Two stores with one interface; :func:`open_store` picks one.

- :class:`MemoryStore` (the default, no ``--db``): Python lists that vanish when the sandbox
  exits. A purchase costs about 2 us to store. SQLite costs 20-50 us, and the sandbox shares
  the machine's cores with the importer it serves: at c=64 those microseconds queue up behind
  the other requests and lengthen every round trip (``benchmarks/bench_send.py``).
- :class:`SqliteStore` (``--db FILE``): SQLite in WAL mode, so a sandbox restarted on the same
  file keeps every purchase (tests of crash and resume rely on this). One connection guarded by
  a lock serves the whole server. A purchase is written by one INSERT statement: a trigger adds
  its event and rewards in the same statement, so in the same transaction, and the purchase is
  committed before its reply goes out. Purchase ids are random UUIDs, so there is no unique
  index on them; ``seq`` (the rowid, never reused since nothing is deleted) keeps creation order.

Every purchase has exactly one ``purchase`` event.
"""

from __future__ import annotations

import json
import sqlite3
import sys
import threading
from pathlib import Path
from typing import Any

from importer.errors import ConfigurationError

_SCHEMA = """
CREATE TABLE IF NOT EXISTS purchases (
    seq             INTEGER PRIMARY KEY,
    id              TEXT NOT NULL,
    company_id      TEXT NOT NULL,
    lead_id         TEXT NOT NULL,
    purchase_amount TEXT,
    date            TEXT,
    name            TEXT,
    description     TEXT,
    product_id      TEXT,
    action          TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    reward_list     TEXT NOT NULL DEFAULT '[]'
);
CREATE TABLE IF NOT EXISTS rewards (
    seq         INTEGER PRIMARY KEY,
    purchase_id TEXT NOT NULL,
    trigger_id  TEXT NOT NULL,
    amount      TEXT NOT NULL,
    created_at  TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS events (
    seq         INTEGER PRIMARY KEY,
    purchase_id TEXT NOT NULL,
    category    TEXT NOT NULL,
    payload     TEXT NOT NULL,
    created_at  TEXT NOT NULL
);
-- One INSERT into purchases writes its event and its rewards too, atomically: a single
-- statement is a single transaction, and one statement per request is what keeps the sandbox
-- fast (see benchmarks/bench_sandbox.py).
CREATE TRIGGER IF NOT EXISTS purchase_side_effects AFTER INSERT ON purchases
BEGIN
    INSERT INTO events (purchase_id, category, payload, created_at)
    VALUES (NEW.id, 'purchase',
            json_object('name', NEW.name, 'purchase_amount', NEW.purchase_amount),
            NEW.created_at);
    INSERT INTO rewards (purchase_id, trigger_id, amount, created_at)
    SELECT NEW.id, json_extract(value, '$[0]'), json_extract(value, '$[1]'), NEW.created_at
    FROM json_each(NEW.reward_list);
END;
"""

# A stored purchase's fields, in the order purchases() lists them.
_PURCHASE_COLUMNS = (
    "id",
    "lead_id",
    "purchase_amount",
    "date",
    "name",
    "description",
    "product_id",
    "action",
    "created_at",
    "company_id",
)

_ACTION = _PURCHASE_COLUMNS.index("action")

_INSERT_PURCHASE = (
    f"INSERT INTO purchases ({', '.join(_PURCHASE_COLUMNS)}, reward_list)"
    f" VALUES ({', '.join('?' * (len(_PURCHASE_COLUMNS) + 1))})"
)


def open_store(db: str | Path | None = None) -> MemoryStore | SqliteStore:
    """The store for ``--db``: in memory when None (or ``:memory:``), else the SQLite file."""
    if db is None or str(db) == ":memory:":
        return MemoryStore()
    return SqliteStore(db)


class MemoryStore:
    """Purchases and rewards in memory (thread-safe); everything is gone on exit."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        # One flat tuple per purchase: its values in _PURCHASE_COLUMNS order, then trigger id and
        # amount of each reward (about 0.7 KB per purchase; nested tuples cost a third more).
        self._purchases: list[tuple[str | None, ...]] = []
        self._reward_count = 0

    @property
    def purchase_count(self) -> int:
        return len(self._purchases)

    def add_purchase(self, purchase: dict[str, Any], rewards: list[tuple[str, str]]) -> None:
        """Store a purchase, its ``purchase`` event and its rewards.

        ``rewards`` is a list of ``(trigger_id, amount_text)``.
        """
        values = [purchase[c] for c in _PURCHASE_COLUMNS]
        values[_ACTION] = sys.intern(values[_ACTION])  # two distinct values, one copy each
        for reward in rewards:
            values += reward
        with self._lock:
            self._purchases.append(tuple(values))
            self._reward_count += len(rewards)

    def purchases(self) -> list[dict[str, Any]]:
        """Every stored purchase in creation order, each with its ``rewards``."""
        with self._lock:
            stored = list(self._purchases)
        width = len(_PURCHASE_COLUMNS)
        result = []
        for values in stored:
            item = dict(zip(_PURCHASE_COLUMNS, values[:width], strict=True))
            rewards = values[width:]
            item["rewards"] = [
                {"trigger_id": rewards[i], "amount": rewards[i + 1]}
                for i in range(0, len(rewards), 2)
            ]
            result.append(item)
        return result

    def counts(self) -> dict[str, int]:
        with self._lock:
            purchases = len(self._purchases)
            return {"purchases": purchases, "events": purchases, "rewards": self._reward_count}

    def close(self) -> None:
        """Nothing to release (the purchases stay readable until the store is dropped)."""


class SqliteStore:
    """Purchases, events and rewards in one SQLite database (thread-safe)."""

    def __init__(self, db: str | Path | None = None) -> None:
        self.path = str(db) if db is not None else ":memory:"
        self._lock = threading.Lock()
        try:
            self._conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            if self.path != ":memory:":
                self._conn.execute("PRAGMA journal_mode=WAL")
                self._conn.execute("PRAGMA busy_timeout=5000")
            self._conn.execute("PRAGMA synchronous=NORMAL")
            self._conn.executescript(_SCHEMA)
        except sqlite3.Error as exc:
            raise ConfigurationError(
                f"Cannot open the sandbox database {self.path}: {exc}.",
                hint="Pass a writable file path to --db, or omit it to keep purchases in memory.",
            ) from None
        self._purchase_count = self._conn.execute("SELECT COUNT(*) FROM purchases").fetchone()[0]

    @property
    def purchase_count(self) -> int:
        return self._purchase_count

    def add_purchase(self, purchase: dict[str, Any], rewards: list[tuple[str, str]]) -> None:
        """Store a purchase, its ``purchase`` event and its rewards in one transaction.

        ``rewards`` is a list of ``(trigger_id, amount_text)``.
        """
        values = tuple(purchase[c] for c in _PURCHASE_COLUMNS)
        reward_list = json.dumps(rewards, separators=(",", ":")) if rewards else "[]"
        with self._lock:
            self._conn.execute(_INSERT_PURCHASE, (*values, reward_list))
            self._purchase_count += 1

    def purchases(self) -> list[dict[str, Any]]:
        """Every stored purchase in creation order, each with its ``rewards``."""
        with self._lock:
            rows = self._conn.execute(
                f"SELECT {', '.join(_PURCHASE_COLUMNS)} FROM purchases ORDER BY seq"
            ).fetchall()
            reward_rows = self._conn.execute(
                "SELECT purchase_id, trigger_id, amount FROM rewards ORDER BY seq"
            ).fetchall()
        rewards: dict[str, list[dict[str, str]]] = {}
        for purchase_id, trigger_id, amount in reward_rows:
            rewards.setdefault(purchase_id, []).append({"trigger_id": trigger_id, "amount": amount})
        result = []
        for row in rows:
            item = dict(zip(_PURCHASE_COLUMNS, row, strict=True))
            item["rewards"] = rewards.get(item["id"], [])
            result.append(item)
        return result

    def counts(self) -> dict[str, int]:
        with self._lock:
            events = self._conn.execute("SELECT COUNT(*) FROM events").fetchone()[0]
            rewards = self._conn.execute("SELECT COUNT(*) FROM rewards").fetchone()[0]
        return {"purchases": self._purchase_count, "events": events, "rewards": rewards}

    def close(self) -> None:
        with self._lock:
            self._conn.close()
