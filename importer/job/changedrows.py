"""Finding the edited rows of a job before it is sent (see :mod:`importer.send.changed`)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

from importer.check.validator import RowValidator
from importer.job.checking import PreparedFile
from importer.ledger import Ledger
from importer.records import dumps_payload
from importer.send.changed import EditedRow, FileRow, find_edited_rows

__all__ = ["edited_rows", "edited_note", "source_name"]


def source_name(prepared: PreparedFile) -> str:
    """The name that makes runs of one file the same import: its stem (a results file run
    again, ``march.results.csv``, is ``march``)."""
    return prepared.table.path.stem.removesuffix(".results")


def edited_rows(prepared: PreparedFile, ledger: Ledger, target: str) -> dict[int, EditedRow]:
    """The rows the ledger holds as created with content that changed since.

    Rows with a legacy lead id are not considered: their payload holds the lead's UUID, which
    only the lead lookup while sending can give.
    """
    return find_edited_rows(ledger, target, source_name(prepared), lambda: _payloads(prepared))


def _payloads(prepared: PreparedFile) -> Iterator[FileRow]:
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
            digest = hashlib.sha256(content).hexdigest()
            yield FileRow(record.row, digest, content, record.lead_id, record.reference)


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
