"""What the ledger already holds of a file, before anything is sent: ``validate`` reports
"N new, M already imported from ...". Nothing is claimed."""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from importer.check.validator import CheckedChunk, RowValidator
from importer.errors import LedgerError
from importer.job.changedrows import source_name
from importer.job.checking import PreparedFile, source_facts
from importer.job.earlier import EarlierFiles, Repeat
from importer.ledger import Candidate, ImportContext, Ledger, candidate_for
from importer.ledger.rule import ELSEWHERE
from importer.read.loader import Chunk
from importer.records import RowResult, RowStatus
from importer.send.changed import EditedRow, EditFinder, FileRow

__all__ = [
    "KnownRows",
    "LedgerScan",
    "already_imported_note",
    "held_by_ledger",
    "known_rows",
    "ledger_look",
]


@dataclass
class KnownRows:
    """The valid rows of a file as the ledger sees them before sending."""

    new: int = 0
    #: Rows another import (or an earlier run) created, per (file name, day).
    created: Counter = field(default_factory=Counter)
    #: Rows the ledger holds back, by status: ``unconfirmed`` (sent once, answer unknown: sent
    #: again only on request) and ``not_sent`` (another import is sending them, or a possible
    #: duplicate of a purchase created under another reference).
    held: Counter = field(default_factory=Counter)
    #: The rows held back by (status, why) when the ledger's reason says why (see _WHY).
    why: Counter = field(default_factory=Counter)
    #: Amounts per currency of the rows not sent: "created" and each held status.
    amounts: dict[str, Counter] = field(default_factory=dict)
    #: Row -> what a run would give it, for every row not sent (kept when ``keep_rows``).
    results: dict[int, RowResult] = field(default_factory=dict)
    #: Row -> (currency as the summary keys it, amount) of those rows (when ``keep_rows``).
    money: dict[int, tuple] = field(default_factory=dict)
    keep_rows: bool = False
    #: The purchases of the files checked before this one in the same command, if any.
    earlier: EarlierFiles | None = None
    #: Rows the same as a row of an earlier file of the command, per that file's name.
    repeated: Counter = field(default_factory=Counter)

    def count(self, legacy: int, decided, amounts=None) -> None:
        """Add one chunk: ``legacy`` rows not identifiable yet, and the ledger's decisions
        (``amounts``: row -> (currency, amount) of its valid rows, to total what is not sent)."""
        to_send, held = decided
        if self.earlier is not None:
            to_send, repeats = self.earlier.split(to_send)
            self._count_repeats(repeats, amounts or {})
        self.new += legacy + len(to_send)
        if self.keep_rows:
            self.results.update((row, _with_purchase(result)) for row, result in held.items())
            self.money.update((row, (amounts or {}).get(row)) for row in held)
        for row, result in held.items():
            if result.status in (RowStatus.CREATED, RowStatus.SKIPPED) and result.purchase_id:
                self.created[_origin(result.error)] += 1
                self._add_amount("created", (amounts or {}).get(row))
            elif result.status in (RowStatus.UNCONFIRMED, RowStatus.NOT_SENT):
                self.held[str(result.status)] += 1
                self.why[str(result.status), _why(result.error)] += 1
                self._add_amount(str(result.status), (amounts or {}).get(row))
            else:
                self.new += 1

    def _count_repeats(self, repeats: dict[int, Repeat], amounts: dict) -> None:
        for row, repeat in repeats.items():
            self.repeated[repeat.name] += 1
            self._add_amount("repeated", amounts.get(row))
            if self.keep_rows:
                self.results[row] = repeat.result(row)
                self.money[row] = amounts.get(row)

    def _add_amount(self, kind: str, money) -> None:
        if money is not None and money[1] is not None:
            self.amounts.setdefault(kind, Counter())[money[0]] += money[1]

    @property
    def known(self) -> int:
        """Rows the ledger holds as created."""
        return sum(self.created.values())

    def held_note(self, *, resend_unconfirmed: bool = False) -> str:
        """'2 rows held back (unconfirmed 1, not_sent 1)', or ''; with ``resend_unconfirmed``
        the unconfirmed rows are sent, not held."""
        held = {
            status: count
            for status, count in self.held.items()
            if not (resend_unconfirmed and status == str(RowStatus.UNCONFIRMED))
        }
        total = sum(held.values())
        if not total:
            return ""
        parts = ", ".join(
            f"{status} {count:,}" + self._reasons(status) for status, count in sorted(held.items())
        )
        return f"{'1 row' if total == 1 else f'{total:,} rows'} held back ({parts})"

    def _reasons(self, status: str) -> str:
        """': 24 possible duplicates of ...' for the rows of ``status`` whose reason is known (a
        possible duplicate is sent with --allow-duplicates)."""
        said = [
            f"{count:,} {one if count == 1 else several}"
            for (held, (one, several)), count in self.why.items()
            if held == status and one
        ]
        return f": {'; '.join(said)}" if said else ""

    def repeats_note(self) -> str:
        """'3 rows are the same purchases as rows of march.csv, checked earlier in this
        command: sent once', or ''."""
        total = sum(self.repeated.values())
        if not total:
            return ""
        rows = (
            "1 row is the same purchase as a row"
            if total == 1
            else (f"{total:,} rows are the same purchases as rows")
        )
        names = ", ".join(name for name, _ in self.repeated.most_common(3))
        more = ", ..." if len(self.repeated) > 3 else ""
        return f"{rows} of {names}{more}, checked earlier in this command: sent once"

    def note(self) -> str:
        """'14 rows already created by the import of march.csv on 2026-12-06', or ''."""
        if not self.known:
            return ""
        rows = "1 row" if self.known == 1 else f"{self.known:,} rows"
        origins = ", ".join(
            (f"the import of {name} on {day}" if name else "an earlier run of the same file")
            + (f" ({count:,})" if len(self.created) > 1 else "")
            for (name, day), count in self.created.most_common(3)
        )
        more = ", ..." if len(self.created) > 3 else ""
        return f"{rows} already created by {origins}{more}: not sent again"


def known_rows(
    prepared: PreparedFile,
    ledger: Ledger,
    target: str,
    between: tuple[str, str] | None = None,
    *,
    keep_rows: bool = False,
    earlier: EarlierFiles | None = None,
) -> KnownRows | None:
    """What the ledger holds of the file's valid rows (None: nothing sent to ``target``
    yet, or none dated ``between`` the file's first and last date, so every row is new and the
    file is not read again). Rows with a legacy lead id count as new (only sending resolves
    them). ``keep_rows``: also what a run would give each row not sent, and its amount.
    ``earlier``: the purchases of the files checked before this one in the same command (the
    file is read even when the ledger holds nothing, and its purchases added)."""
    held = ledger.holds(target, between)
    if not held and earlier is None:
        return None
    found = KnownRows(keep_rows=keep_rows, earlier=earlier)
    if earlier is not None:
        earlier.begin(prepared.table.path.name)
    context = _context(prepared)
    for legacy, candidates, checked in _candidate_chunks(prepared):
        # Amounts: validate's line needs none, but the repeats of earlier files are totalled.
        amounts = _amounts_of(checked) if keep_rows or earlier is not None else None
        decided = ledger.preview(target, candidates, context) if held else (candidates, {})
        found.count(legacy, decided, amounts)
    if earlier is not None:
        earlier.commit()
    return found


class LedgerScan:
    """Edited rows (see importer.send.changed) and rows already imported, found while the
    plan reads the file: :meth:`add` each checked chunk (checked with records), then
    :meth:`finish`. Used when the ledger holds purchases of the target, or files were
    checked before this one in the same command (``earlier``)."""

    def __init__(
        self,
        prepared: PreparedFile,
        ledger: Ledger,
        target: str,
        earlier: EarlierFiles | None = None,
    ) -> None:
        self.prepared, self.ledger, self.target = prepared, ledger, target
        self.context = _context(prepared)
        self.known = KnownRows(earlier=earlier)
        if earlier is not None:
            earlier.begin(prepared.table.path.name)
        self.edits = EditFinder(ledger, target, source_name(prepared))
        #: Row -> (currency, amount) of the rows that may turn out edited.
        self.money: dict[int, tuple] = {}
        #: Amounts per currency of the edited rows, once :meth:`finish` found them.
        self.edited_amounts: Counter = Counter()

    def add(self, checked: CheckedChunk, validator: RowValidator) -> None:
        """Look at one checked chunk's valid rows."""
        legacy, candidates = _candidates_of(checked, validator, self.prepared.options.action)
        amounts = _amounts_of(checked)
        # Both look-ups wait for the ledger (a server: 0.38 s and 0.2 s for 20,000 rows, one
        # after the other): the look-up by identity and payload runs on a connection of its own
        # while this thread looks for edited rows (whatever their dates: an edit may move one).
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="ledger-preview") as pool:
            decided = pool.submit(self._preview, candidates)
            self.edits.look(_file_rows(candidates))
            self.known.count(legacy, decided.result(), amounts)
        maybe = self.edits.candidates
        self.money.update((c.row, amounts.get(c.row)) for c in candidates if c.row in maybe)

    def _preview(self, candidates: list[Candidate]):
        """What the ledger would decide for these rows; every row is new when it holds no
        purchase of their days (next month's file beside this month's purchases)."""
        days = {c.date[:10] if c.date else None for c in candidates}
        dated = bool(candidates) and None not in days
        with self.ledger.backend.side_connection():
            if dated and not self.ledger.holds_dated(self.target, min(days), max(days)):
                return candidates, {}
            return self.ledger.preview(self.target, candidates, self.context)

    def finish(self) -> tuple[dict[int, EditedRow], KnownRows]:
        """The edited rows by row (their amounts in :attr:`edited_amounts`), and what the
        ledger already holds of the file."""

        def payloads() -> Iterator[FileRow]:
            for _, candidates, _ in _candidate_chunks(self.prepared):
                yield from _file_rows(candidates)

        edited = self.edits.finish(payloads)
        if self.known.earlier is not None:
            self.known.earlier.commit()
        for row in edited:
            currency, amount = self.money.get(row) or ("", None)
            if amount is not None:
                self.edited_amounts[currency] += amount
        return edited, self.known


def held_by_ledger(prepared: PreparedFile, chunk: Chunk, location, target: str) -> dict:
    """What the ledger at ``location`` holds of the valid rows of ``chunk``: row -> RowResult
    (created, unconfirmed, not sent...) for the rows it would not send. Nothing is claimed."""
    validator = prepared.validator(build_records=True)
    _, candidates = _candidates_of(validator.check(chunk), validator, prepared.options.action)
    if not candidates:
        return {}
    with Ledger.open(location) as ledger:
        return ledger.preview(target, candidates, _context(prepared))[1]


def _context(prepared: PreparedFile) -> ImportContext:
    return ImportContext(-1, source_facts(prepared.table)[0], source_name(prepared))


def _file_rows(candidates: list[Candidate]) -> Iterator[FileRow]:
    for c in candidates:
        yield FileRow(c.row, c.payload_hash, c.content, c.lead_id, c.reference)


def _candidates_of(
    checked: CheckedChunk, validator: RowValidator, action: str
) -> tuple[int, list[Candidate]]:
    """How many valid rows have a legacy lead id, and the others' candidates."""
    records = [r for r in checked.records or [] if r is not None]
    candidates = [
        candidate_for(
            r, action=action, lead_id=r.lead_id, occurrence=validator.occurrences.get(r.row, 0)
        )
        for r in records
        if r.lead_id
    ]
    return len(records) - len(candidates), candidates


def _amounts_of(checked: CheckedChunk) -> dict[int, tuple]:
    """Row -> (currency, amount), keyed by currency as the summary is (the cell's, '' when
    none), so they subtract from its totals."""
    return {
        row: (currency or "", amount)
        for row, currency, amount in zip(
            checked.chunk.rows, checked.currencies, checked.amounts_all, strict=True
        )
    }


def _candidate_chunks(
    prepared: PreparedFile,
) -> Iterator[tuple[int, list[Candidate], CheckedChunk]]:
    """Per chunk: how many valid rows have a legacy lead id, the others' candidates, and the
    checked chunk."""
    validator = prepared.validator(build_records=True)
    action = prepared.options.action
    for chunk in prepared.table.chunks():
        checked = validator.check(chunk)
        yield *_candidates_of(checked, validator, action), checked


def already_imported_note(
    found: KnownRows | None, target: str, between=None, elsewhere: Sequence[str] = ()
) -> str:
    """validate's line: how many valid rows are new, how many already imported (from where).
    ``elsewhere``: the other API URLs the ledger's imports went to, when none went to
    ``target`` (a check with another URL than the send will use would call every row new)."""
    other = ""
    if elsewhere:
        more = f" and {len(elsewhere) - 1} more" if len(elsewhere) > 1 else ""
        other = (
            f"; its imports went to {elsewhere[0]}{more}: check with the API URL the file will "
            "be sent to"
        )
    if found is None:
        when = " dated within this file's dates" if between else ""
        return (
            f"ledger: every valid row is new (nothing{when} was imported into {target} yet{other})"
        )
    said = [line for line in (found.note(), found.repeats_note(), found.held_note()) if line]
    if other:  # files of one command: counted, though the ledger holds nothing of the target
        said.append(f"nothing was imported into {target} yet{other}")
    if not said:
        return f"ledger: all {found.new:,} valid rows are new"
    return f"ledger: {found.new:,} new; " + "; ".join(said)


def ledger_look(
    prepared: PreparedFile,
    location,
    target: str,
    *,
    required: bool = False,
    between: tuple[str, str] | None = None,
    keep_rows: bool = False,
    earlier: EarlierFiles | None = None,
) -> tuple[str, KnownRows | None]:
    """:func:`already_imported_note` for the ledger at ``location``, and what it holds of the
    file (:func:`known_rows`). A ledger that cannot be read is said plainly (LedgerError only
    when ``required``: the user named it)."""
    try:
        with Ledger.open(location) as ledger:
            found = known_rows(
                prepared, ledger, target, between, keep_rows=keep_rows, earlier=earlier
            )
            unknown = (found is None or not found.known) and not ledger.holds(target)
            elsewhere = ledger.targets_besides(target) if unknown else []
    except LedgerError as exc:
        if required:
            raise
        return f"ledger: rows already imported could not be looked up ({exc.message})", None
    return already_imported_note(found, target, between, elsewhere), found


#: The start of a reason the ledger gives for holding a row back -> the words of the plan's
#: note for one row and for several.
_WHY = {
    "possible duplicate of purchase": (
        "possible duplicate of a purchase created under another reference or currency",
        "possible duplicates of purchases created under another reference or currency",
    ),
    "being sent right now by another import": ("being sent by another import right now",) * 2,
    ELSEWHERE: (
        "created through another API URL (the same Keen account under another address?)",
        "created through another API URL (the same Keen account under another address?)",
    ),
}


def _with_purchase(result: RowResult) -> RowResult:
    """The result with its earlier purchase named in its reason (a row of the same file
    created earlier has no reason of its own)."""
    if not result.purchase_id or result.purchase_id in (result.error or ""):
        return result
    said = result.error or "already created by an earlier run of the same file"
    return dataclasses.replace(result, error=f"{said} (purchase {result.purchase_id})")


def _why(error: str | None) -> tuple[str, str]:
    """The words for why a row is held back (for one row, for several); ("", "") when its
    reason is not one of _WHY's."""
    found = (words for start, words in _WHY.items() if (error or "").startswith(start))
    return next(found, ("", ""))


def _origin(error: str | None) -> tuple[str, str]:
    """(file name, day) of an earlier import, from the ledger's reason; ("", "") for an
    earlier import of the same file content (under any name: it gives no reason)."""
    prefix = "already created from "
    if error and error.startswith(prefix):
        name, _, rest = error.removeprefix(prefix).partition(" row ")
        day = rest.partition(" on ")[2][:10]
        return name, day
    return "", ""
