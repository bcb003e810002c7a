"""Taking in the per-file journal of earlier versions (``<stem>.journal.sqlite``).

The old journal knew rows by (row, payload hash) and kept the payload, but not the reference or
currency that make a purchase's identity in the ledger; the file has them. So a journal is
adopted with its file: each row of the file whose payload the journal created (or left in flight)
enters the ledger under its identity, in an import marked ``adopted``. The journal is then renamed
``<stem>.journal.sqlite.adopted`` (kept, never deleted), so it is adopted once.
"""

from __future__ import annotations

import hashlib
import sqlite3
import time
from pathlib import Path

from importer.errors import LedgerError
from importer.job.changedrows import source_name
from importer.job.checking import PreparedFile
from importer.ledger import Ledger, candidate_for

__all__ = ["adopt_journal", "journals_of"]

_KEPT = ("created", "sending", "unconfirmed")
_INSERT = (
    "INSERT INTO purchases (target, identity, import_id, file_row, payload_hash, payload,"
    " lead_id, reference, currency, amount, purchase_date, status, purchase_id, http_status,"
    " error, attempts, sends, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?,"
    " ?, 1, ?) ON CONFLICT (target, identity) DO NOTHING"
)


def journals_of(prepared: PreparedFile, *folders: Path) -> list[Path]:
    """The old journals of this input in ``folders`` (where its results go: ``--out-dir``, a
    web-app workspace) and beside the input."""
    stem = source_name(prepared)
    folders = dict.fromkeys([*folders, prepared.table.path.parent])
    return [
        f / f"{stem}.journal.sqlite" for f in folders if (f / f"{stem}.journal.sqlite").is_file()
    ]


def adopt_journal(prepared: PreparedFile, journal: Path, ledger: Ledger, file_sha256: str) -> int:
    """Move what ``journal`` knows of this file's rows into the ledger; returns how many
    purchases were taken in. The journal is renamed ``.adopted`` afterwards."""
    by_hash = _journal_entries(journal)
    adopted = 0
    for target, entries in _by_target(by_hash).items():
        import_id = ledger.begin_import(
            target=target,
            file_name=prepared.table.path.name,
            file_sha256=file_sha256,
            source=source_name(prepared),
            state="adopted",
        )
        rows = list(_ledger_rows(prepared, entries, target, import_id))
        with ledger.backend.transaction():
            ledger.backend.execute_many(_INSERT, rows)
        ledger.finish_import("adopted")
        adopted += len(rows)
    journal.rename(journal.with_name(journal.name + ".adopted"))
    return adopted


def _journal_entries(journal: Path) -> dict[str, list[tuple]]:
    try:
        conn = sqlite3.connect(f"file:{journal}?mode=ro", uri=True)
        try:
            keys = dict(conn.execute("SELECT id, name FROM keys"))
            found = conn.execute(
                "SELECT file_hash, row, payload_hash, status, purchase_id, http_status, error,"
                " attempts, updated_at FROM entries WHERE status IN (?, ?, ?)",
                _KEPT,
            ).fetchall()
        finally:
            conn.close()
    except sqlite3.Error as exc:
        raise LedgerError(f"cannot read the old journal {journal}: {exc}") from None
    by_hash: dict[str, list[tuple]] = {}
    for key, row, digest, *rest in found:
        target = str(keys.get(int(key), key)).removeprefix("target:")
        by_hash.setdefault(digest, []).append((target, row, *rest))
    return by_hash


def _by_target(by_hash: dict[str, list[tuple]]) -> dict[str, dict[str, list[tuple]]]:
    targets: dict[str, dict[str, list[tuple]]] = {}
    for digest, entries in by_hash.items():
        for entry in entries:
            targets.setdefault(entry[0], {}).setdefault(digest, []).append(entry)
    return targets


def _ledger_rows(prepared: PreparedFile, entries: dict, target: str, import_id: int):
    validator = prepared.validator(build_records=True)
    action = prepared.options.action
    for chunk in prepared.table.chunks():
        for record in validator.check(chunk).records or []:
            if record is None or not record.lead_id:
                continue
            occurrence = validator.occurrences.get(record.row, 0)
            candidate = candidate_for(
                record, action=action, lead_id=record.lead_id, occurrence=occurrence
            )
            found = entries.get(hashlib.sha256(candidate.content).hexdigest())
            if not found:
                continue
            entry = next((e for e in found if e[1] == record.row), found[0])
            found.remove(entry)
            _, _, status, purchase_id, http_status, error, attempts, updated = entry
            yield (
                target,
                candidate.identity,
                import_id,
                record.row,
                candidate.payload_hash,
                candidate.content.decode(),
                candidate.lead_id,
                candidate.reference,
                candidate.currency,
                candidate.amount,
                candidate.date,
                "unconfirmed" if status == "sending" else status,
                purchase_id,
                http_status,
                error,
                attempts,
                updated or time.time(),
            )
