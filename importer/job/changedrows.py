"""Finding the edited rows of a job before it is sent (see :mod:`importer.send.changed`)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

from importer.check.validator import RowValidator
from importer.job.checking import PreparedFile
from importer.records import dumps_payload
from importer.send.changed import EditedRow, find_edited_rows
from importer.send.journal import Journal

__all__ = ["edited_rows", "edited_note"]


def edited_rows(
    prepared: PreparedFile, journal_path: Path | None, journal_key: str
) -> dict[int, EditedRow]:
    """The rows earlier runs created whose content changed since (none without a journal).

    Rows with a legacy lead id are not considered: their payload holds the lead's UUID, which
    only the lead lookup while sending can give.
    """
    if journal_path is None or not journal_path.is_file():
        return {}
    with Journal.open(journal_path, file_hash=journal_key) as journal:
        return find_edited_rows(journal, lambda: _payloads(prepared))


def _payloads(prepared: PreparedFile) -> Iterator[tuple[int, str, bytes]]:
    validator = RowValidator(
        prepared.table.headers,
        prepared.columns,
        prepared.decisions,
        prepared.options,
        build_records=True,
    )
    action = prepared.options.action
    for chunk in prepared.table.chunks():
        for record in validator.check(chunk).records or []:
            if record is None or not record.lead_id:
                continue
            content = dumps_payload(record.payload(action=action, lead_id=record.lead_id))
            yield record.row, hashlib.sha256(content).hexdigest(), content


def edited_note(count: int, *, resend_changed: bool) -> str:
    """The plan and summary line that counts the edited rows."""
    rows = "1 row was" if count == 1 else f"{count:,} rows were"
    if resend_changed:
        return (
            f"{rows} already created by an earlier run with other content: sent as new "
            "purchases (--resend-changed); the earlier purchases are in the created list"
        )
    return (
        f"{rows} already created by an earlier run with other content: not sent (Keen cannot "
        "change a purchase; ask Keen to reverse the earlier purchase, then run with "
        "--resend-changed)"
    )
