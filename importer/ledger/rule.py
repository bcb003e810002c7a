"""The rule: what to do with a row, given what the ledger already holds.

    same identity, created, same import (same file SHA-256 or file name)  -> created (its id)
    same identity, created by another import                              -> skipped, naming it
    same identity, being sent by a live import                            -> not_sent, naming it
    same identity, in flight when an import stopped / unconfirmed         -> unconfirmed (held)
    same identity, retried / rejected / not sent / released               -> send
    another identity with the same payload (another reference or currency),
      in another file or at this row of this file, created, being sent by a
      live import or sent without an answer, unless duplicates are allowed -> not_sent (possible
                                                                             duplicate)
    same identity created through another API URL (another spelling of
      the same account: localhost, another documented base path), unless
      duplicates are allowed                                              -> not_sent, naming it
    nothing                                                               -> send

Edited rows (same lead and reference, or same row of the same file, other content) are found
before sending, over the whole file: :mod:`importer.send.changed`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from importer.ledger.entry import CLAIMED, SENDING, UNSETTLED, Entry
from importer.ledger.identity import Candidate
from importer.ledger.location import is_loopback
from importer.records import RowResult, RowStatus

__all__ = ["ELSEWHERE", "ImportContext", "UNCONFIRMED_ERROR", "judge", "may_be_one_account"]

#: How the reason of a row created through another API URL starts.
ELSEWHERE = "already created through another API URL,"
UNCONFIRMED_HINT = "check in Keen, then re-run with --resend-unconfirmed"
UNCONFIRMED_ERROR = f"in flight when the previous run stopped; {UNCONFIRMED_HINT}"


@dataclass(frozen=True)
class ImportContext:
    """The import asking, and the choices that change the rule."""

    import_id: int
    file_sha256: str
    source: str  # the file's stem: a fixed and re-run file is the same import
    resend_unconfirmed: bool = False
    allow_duplicates: bool = False

    def same_import(self, entry: Entry) -> bool:
        """True when ``entry`` was written by this file (same bytes or same name)."""
        return entry.file_sha256 == self.file_sha256 or entry.source == self.source


def judge(
    candidate: Candidate,
    exact: Entry | None,
    twin: Entry | None,
    context: ImportContext,
    is_live: Callable[[Entry], bool],
    elsewhere: Entry | None = None,
    *,
    target: str | None = None,
) -> RowResult | None:
    """The row's result without sending it, or None: claim it and send it. ``elsewhere``: the
    same purchase created through another API URL (target); ``target``: this import's (a twin
    through another one is named with it)."""
    if exact is not None:
        known = _known(candidate, exact, context, is_live)
        if known is not False:
            return known
    if elsewhere is not None and not context.allow_duplicates:
        held = _through_another_url(candidate, elsewhere, is_live)
        if held is not None:
            return held
    if twin is not None and _possible_duplicate(candidate, twin, context):
        return _held_as_duplicate(candidate, twin, is_live, target)
    return None


def may_be_one_account(target: str, other: str, *, sandboxes: bool = False) -> bool:
    """True when two targets may be one Keen account under two addresses: two API URLs
    (another host name, base path, a tunnel or forwarder on any port), but not a target
    named by the library (``target="sandbox"``: named, so known to be its own). In the
    ledger of ``sandboxes`` (runs into servers on this machine), two local ports are two
    sandboxes, each with its own purchases."""
    first, second = urlsplit(target), urlsplit(other)
    if first.scheme not in _WEB or second.scheme not in _WEB:
        return False
    if sandboxes and is_loopback(target) and is_loopback(other):
        return (first.port or _WEB[first.scheme]) == (second.port or _WEB[second.scheme])
    return True


_WEB = {"http": 80, "https": 443}


def _through_another_url(candidate: Candidate, entry: Entry, is_live) -> RowResult | None:
    """Held: the same purchase created, being sent, or sent without an answer through another
    API URL of the ledger (which may be this account under another address)."""
    if entry.status == RowStatus.CREATED:
        what = f"{ELSEWHERE} {entry.target} as purchase {entry.purchase_id}"
    elif entry.status in UNSETTLED and is_live(entry):  # a retried row is sent again
        what = f"being sent right now through another API URL, {entry.target}"
    elif entry.status in (SENDING, RowStatus.UNCONFIRMED):
        what = f"sent without an answer through another API URL, {entry.target}"
    else:
        return None
    return RowResult(
        candidate.row,
        RowStatus.NOT_SENT,
        error=f"{what} ({entry.where()} on {entry.day()}): the same Keen account? Then send "
        "to that URL. Another account? --allow-duplicates sends it",
    )


def _held_as_duplicate(
    candidate: Candidate, twin: Entry, is_live, target: str | None
) -> RowResult | None:
    """Held: another row has the same payload under another reference or currency, and was
    created, is being sent by a live import, or was sent without an answer (None: its import
    stopped before sending it, or got an answer that it was not created)."""
    if twin.status == RowStatus.CREATED:
        what = f"purchase {twin.purchase_id} ({twin.where()})"
    elif is_live(twin):
        what = f"a row being sent right now by another import ({twin.where()})"
    elif twin.status in (SENDING, RowStatus.UNCONFIRMED):
        what = f"a row sent without an answer ({twin.where()} on {twin.day()})"
    else:
        return None
    if target is not None and twin.target != target:
        what += f" through another API URL, {twin.target}"
    return RowResult(
        candidate.row,
        RowStatus.NOT_SENT,
        error=f"possible duplicate of {what}: the same purchase with another reference or "
        "currency; not sent (--allow-duplicates sends it)",
    )


def _possible_duplicate(candidate: Candidate, twin: Entry, context: ImportContext) -> bool:
    """True when another row has the same payload under another reference or currency: in
    another file, or at this very row of this file (its reference was read differently).
    Other rows of the same file are other purchases (two invoices of one lead, same day)."""
    if twin.identity == candidate.identity or context.allow_duplicates:
        return False
    if twin.import_id == context.import_id:
        return False
    same_file = twin.file_sha256 == context.file_sha256
    return not same_file or twin.file_row == candidate.row


def _known(candidate: Candidate, entry: Entry, context: ImportContext, is_live):
    """The result for a row whose identity the ledger holds; False: it may be sent."""
    row = candidate.row
    mine = entry.import_id == context.import_id
    if mine and entry.status in (CLAIMED, SENDING, RowStatus.CREATED):
        return RowResult(row, RowStatus.SKIPPED, error=f"same purchase as row {entry.file_row}")
    if entry.status == RowStatus.CREATED:
        return _created(candidate, entry, context)
    if not mine and is_live(entry):  # even a retried row: its import will send it again
        return RowResult(
            row,
            RowStatus.NOT_SENT,
            error=f"being sent right now by another import ({entry.file_name}, started "
            f"{entry.started_at[:16].replace('T', ' ')} UTC by {entry.user_name} on "
            f"{entry.machine}); not sent: run again once it has finished",
        )
    if entry.status == SENDING or entry.status == RowStatus.UNCONFIRMED:
        if context.resend_unconfirmed:
            return False
        return _unconfirmed(row, entry, context)
    return False  # claimed by an import that died, retried, rejected, not sent


def _created(candidate: Candidate, entry: Entry, context: ImportContext) -> RowResult:
    if context.same_import(entry):
        result = entry.result(candidate.row)
        if entry.file_row != candidate.row:
            result.warnings = [
                f"already created by an earlier run as row {entry.file_row} (purchase "
                f"{entry.purchase_id}); not sent again"
            ]
        return result
    return RowResult(
        candidate.row,
        RowStatus.SKIPPED,
        purchase_id=entry.purchase_id,
        error=f"already created from {entry.where()} on {entry.day()} (purchase "
        f"{entry.purchase_id}); not sent again",
    )


def _unconfirmed(row: int, entry: Entry, context: ImportContext) -> RowResult:
    died = (entry.error or "").startswith("in flight when the import of")  # see the sweep
    if entry.status == SENDING or died:
        error = UNCONFIRMED_ERROR
        if not context.same_import(entry):
            error = error.replace("the previous run", f"the import of {entry.where()}")
    else:  # an answer that left it unknown (the sender's reason says what to do)
        error = entry.error or "no answer"
        if "--resend-unconfirmed" not in error:
            error = f"{error}; {UNCONFIRMED_HINT}"
        if not context.same_import(entry):  # another file's import, not a stopped run
            error = f"sent by the import of {entry.where()} on {entry.day()}: {error}"
    return RowResult(
        row,
        RowStatus.UNCONFIRMED,
        http_status=entry.http_status,
        error=error,
        attempts=entry.attempts,
    )
