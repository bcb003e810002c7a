"""Reading the ledger for people: imports with their counts, one import's purchases, a search,
the purchases created in a month; and forgetting purchases on purpose (recorded, never deleted).
"""

from __future__ import annotations

import contextlib
import getpass
import platform
import uuid
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

from importer.errors import LedgerError
from importer.ledger.entry import ENTRY_COLUMNS, ENTRY_FROM, Entry
from importer.ledger.ledger import Ledger

__all__ = ["ImportSummary", "find", "forget", "in_period", "list_imports", "show_import"]

_IMPORT_COLUMNS = (
    "id, target, file_name, file_sha256, user_name, machine, started_at, finished_at, state"
)


@dataclass
class ImportSummary:
    """One import of the ledger, with its purchases counted per status."""

    id: int
    target: str
    file_name: str
    file_sha256: str
    user_name: str
    machine: str
    started_at: str
    finished_at: str | None
    state: str
    rows: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    amounts: dict[str, dict[str, Decimal]] = field(default_factory=dict)

    def add(self, status: str, currency: str | None, amount: str | None) -> None:
        """Count one purchase of this import."""
        self.rows[status] += 1
        if amount:
            try:
                value = Decimal(amount)
            except InvalidOperation:
                return
            per_currency = self.amounts.setdefault(status, defaultdict(Decimal))
            per_currency[currency or ""] += value


def _settle_dead_imports(ledger: Ledger) -> None:
    """Settle imports that died, as the next import would (their rows in flight, which a
    SQLite import's sending log names, shown ``unconfirmed``, not ``claimed``). A ledger that
    cannot be written (no permission) is read as it is."""
    with contextlib.suppress(*ledger.errors):
        ledger.sweep_stopped_imports()


def list_imports(ledger: Ledger, *, limit: int | None = None) -> list[ImportSummary]:
    """Every import (the newest first), with counts and amounts per status."""
    _settle_dead_imports(ledger)
    sql = f"SELECT {_IMPORT_COLUMNS} FROM imports ORDER BY id DESC"
    if limit:
        sql += f" LIMIT {int(limit)}"
    imports = {row[0]: ImportSummary(*row) for row in ledger.backend.fetch(sql)}
    if imports:
        for import_id, status, currency, amount in ledger.backend.fetch(
            "SELECT import_id, status, currency, amount FROM purchases WHERE forgotten IS NULL"
        ):
            if import_id in imports:
                imports[import_id].add(status, currency, amount)
    return list(imports.values())


def show_import(ledger: Ledger, import_id: int) -> tuple[ImportSummary, list[Entry]]:
    """An import and every purchase it holds, by row. LedgerError when there is none."""
    _settle_dead_imports(ledger)
    found = ledger.backend.fetch(
        f"SELECT {_IMPORT_COLUMNS} FROM imports WHERE id = ?", (import_id,)
    )
    if not found:
        raise LedgerError(f"the ledger {ledger.describe()} has no import {import_id}")
    summary = ImportSummary(*found[0])
    entries = ledger._entries(
        f"SELECT {ENTRY_COLUMNS} FROM {ENTRY_FROM} WHERE p.import_id = ? ORDER BY p.file_row",
        (import_id,),
    )
    for entry in entries:
        if entry.forgotten is None:
            summary.add(entry.status, entry.currency, entry.amount)
    return summary, entries


def find(ledger: Ledger, text: str) -> list[Entry]:
    """Purchases whose purchase id, lead or reference is ``text`` (case-insensitive)."""
    wanted = text.strip().lower()
    _settle_dead_imports(ledger)
    return ledger._entries(
        f"SELECT {ENTRY_COLUMNS} FROM {ENTRY_FROM} WHERE lower(p.purchase_id) = ?"
        " OR lower(p.lead_id) = ? OR lower(p.reference) = ? ORDER BY p.updated_at",
        (wanted, wanted, wanted),
    )


def in_period(
    ledger: Ledger, bounds: tuple[str, str] | None = None, *, status: str = "created"
) -> Iterator[Entry]:
    """Purchases of ``status`` (not forgotten), by purchase date; ``bounds`` (UTC instants
    "2026-02-28T23:00:00": the first included, the last not) keeps those dated within them."""
    sql = f"SELECT {ENTRY_COLUMNS} FROM {ENTRY_FROM} WHERE p.status = ? AND p.forgotten IS NULL"
    args: tuple = (status,)
    if bounds:
        sql += " AND substr(p.purchase_date, 1, 19) >= ? AND substr(p.purchase_date, 1, 19) < ?"
        args += bounds
    yield from ledger._entries(sql + " ORDER BY p.purchase_date, p.target, p.file_row", args)


def forget(
    ledger: Ledger, *, reason: str, purchase_ids: Sequence[str] = (), import_id: int | None = None
) -> int:
    """Forget created purchases so that they may be sent again (after Keen reversed them).

    Each keeps its line, marked with why, who and when; its identity gets a suffix, so the
    same purchase in a file is new again. Returns how many were forgotten.
    """
    if not reason.strip():
        raise LedgerError("say why with --reason (it is kept in the ledger)")
    note = (
        f"{reason.strip()} (forgotten by {getpass.getuser()} on {platform.node() or '?'} at "
        f"{datetime.now(UTC).isoformat(timespec='seconds')})"
    )
    suffix = f"~forgotten~{uuid.uuid4().hex[:12]}"
    where, args = _forget_scope(purchase_ids, import_id)
    with ledger.backend.transaction():
        return ledger.backend.execute(
            "UPDATE purchases SET identity = identity || ?, forgotten = ?"
            f" WHERE status = 'created' AND forgotten IS NULL AND {where}",
            (suffix, note, *args),
        )


def _forget_scope(purchase_ids: Sequence[str], import_id: int | None) -> tuple[str, tuple]:
    if import_id is not None:
        return "import_id = ?", (import_id,)
    if not purchase_ids:
        raise LedgerError("name the purchase ids to forget, or an import number")
    marks = ",".join("?" * len(purchase_ids))
    return f"purchase_id IN ({marks})", tuple(purchase_ids)
