"""The ledger's tables, one text for both databases, and its version.

    imports    one line per import: target, file name and SHA-256, source (the file's stem),
               who, on which machine, when, its state and the token of its liveness lock
    purchases  one line per purchase identity and target (``id`` in the order rows were first
               claimed, so the sending path's updates of one batch share pages): the row and
               import that holds it,
               what was sent (payload, lead, reference, currency, amount, date) and what came
               back (status, purchase id, HTTP status, error, attempts)

A purchase that is forgotten on purpose (``keen-import ledger forget``) keeps its line: its
identity gets a ``~forgotten~N`` suffix (so the purchase may be sent again) and ``forgotten``
holds why, who and when.

``SCHEMA_VERSION`` grows with every change of these tables. A tool meets a ledger of an older
version: a SQLite ledger of this user is upgraded on the spot; a shared (PostgreSQL) one only by
``keen-import ledger upgrade``, since every machine of the team must run a tool that knows the
new version. A ledger of a newer version is refused. What the rows of an older ledger need is in
:mod:`importer.ledger.upgrade`.
"""

from __future__ import annotations

__all__ = ["SCHEMA_VERSION", "schema_statements"]

SCHEMA_VERSION = 3  # 2: amounts in one form, 3: trigger ids sorted (importer.ledger.upgrade)

_TABLES = """
CREATE TABLE IF NOT EXISTS ledger_meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS imports (
    id          {serial},
    target      TEXT NOT NULL,
    file_name   TEXT NOT NULL,
    file_sha256 TEXT NOT NULL,
    source      TEXT NOT NULL,
    user_name   TEXT NOT NULL,
    machine     TEXT NOT NULL,
    started_at  TEXT NOT NULL,
    finished_at TEXT,
    state       TEXT NOT NULL,
    lock_token  TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS purchases (
    id            {serial},
    target        TEXT NOT NULL,
    identity      TEXT NOT NULL,
    import_id     BIGINT NOT NULL,
    file_row      INTEGER NOT NULL,
    payload_hash  TEXT NOT NULL,
    payload       TEXT NOT NULL,
    lead_id       TEXT,
    reference     TEXT,
    currency      TEXT,
    amount        TEXT,
    purchase_date TEXT,
    status        TEXT NOT NULL,
    purchase_id   TEXT,
    http_status   INTEGER,
    error         TEXT,
    attempts      INTEGER NOT NULL DEFAULT 0,
    sends         INTEGER NOT NULL DEFAULT 0,
    updated_at    {real} NOT NULL,
    forgotten     TEXT,
    UNIQUE (target, identity)
){purchases_storage};
CREATE INDEX IF NOT EXISTS purchases_by_payload ON purchases (target, payload_hash);
CREATE INDEX IF NOT EXISTS purchases_by_reference ON purchases (target, reference)
    WHERE reference IS NOT NULL;
CREATE INDEX IF NOT EXISTS purchases_by_import ON purchases (import_id, file_row);
CREATE INDEX IF NOT EXISTS purchases_by_date ON purchases (target, purchase_date);
CREATE INDEX IF NOT EXISTS imports_running ON imports (state);
"""

_DIALECT = {
    "sqlite": {
        "serial": "INTEGER PRIMARY KEY",
        "real": "REAL",
        "purchases_storage": "",
    },
    "postgresql": {
        "serial": "BIGSERIAL PRIMARY KEY",
        "real": "DOUBLE PRECISION",
        # Every purchase is updated twice while it is sent (claimed, sending, its answer): with
        # room left on its page the updates are HOT, no new entry in the five indexes (96% of
        # them against 39% with full pages in a 20,000-row run; the run 2-3% faster).
        "purchases_storage": " WITH (fillfactor = 50)",
    },
}


def schema_statements(dialect: str) -> list[str]:
    """The statements that create the current schema in ``dialect`` (sqlite or postgresql)."""
    text = _TABLES.format(**_DIALECT[dialect])
    return [statement.strip() for statement in text.split(";") if statement.strip()]
