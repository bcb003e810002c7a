"""What the step routes share: finding an import and its open job, summary cards."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.exceptions import HTTPException
from starlette.requests import Request

from importer.check.summary import labelled_amounts
from importer.records import RowStatus
from importer.ui.sessions import ImportSession
from importer.ui.workspace import CHECKS_FOLDER, ImportFolder

#: Statuses in the order the cards and the filter show them.
STATUS_ORDER = tuple(str(s) for s in RowStatus)
#: Statuses a user must act on after a send.
NEEDS_ACTION = ("rejected", "unconfirmed", "not_sent", "retried", "invalid")


def folder_or_404(request: Request, import_id: str) -> ImportFolder:
    """The import's folder; an unknown or malformed id is 404 (an id is never a path)."""
    folder = request.app.state.workspace.get(import_id)
    if folder is None:
        raise HTTPException(404)
    return folder


def open_session(request: Request, import_id: str) -> ImportSession:
    """The import's open job, opened from its folder on first use (also after a restart)."""
    sessions = request.app.state.sessions
    session = sessions.get(import_id)
    if session is not None:
        return session
    folder = folder_or_404(request, import_id)
    from importer import open_import

    meta = folder.meta()
    job = open_import(
        folder.upload,
        sheet=meta.get("sheet"),
        header_row=meta.get("header_row"),
        encoding=meta.get("encoding"),
        out_dir=folder.path,
    )
    if folder.mapping_path.is_file():
        job.apply_mapping(folder.mapping_path)
    if meta.get("skips"):  # rows left out are this import's, never in a mapping file
        from importer.job.model import RowSkip

        job.restore_skips(RowSkip.from_dict(entry) for entry in meta["skips"])
    if edits := folder.manifest().get("edits"):  # the fixes in place, kept by the manifest
        job.restore_edits(_cell_edit(entry) for entry in edits)
    return sessions.add(ImportSession(folder=folder, job=job))


def _cell_edit(entry: dict):
    from datetime import datetime

    from importer.job.model import CellEdit

    at = datetime.fromisoformat(entry["at"])
    return CellEdit(int(entry["row"]), entry["column"], entry["old"], entry["new"], at)


def route_outputs(session: ImportSession, *, sending: bool) -> None:
    """Where the next pass writes its results and manifest: once the import was sent, a check
    or an online check writes into ``checks/``, so that it never replaces the send's files
    (the results with their purchase ids, the run's manifest); a send always writes the
    import's own (a resume carries on the send's results)."""
    results = None
    if not sending and session.folder.sent():
        results = f"{CHECKS_FOLDER}/{session.job.results_path.name}"
    if session.job.controls.get("results") != results:
        session.job.set_options(results=results)


@dataclass
class Card:
    """One summary card: a status, its rows and its amounts per currency."""

    label: str
    status: str
    rows: int
    amounts: list[tuple[str, object]]


def summary_cards(summary) -> list[Card]:
    """Cards for the rows in the file and each status present, in a fixed order."""
    in_file = summary.in_file
    cards = [Card("Rows in file", "", in_file.rows, labelled_amounts(in_file.amounts))]
    for status in STATUS_ORDER:
        totals = summary.by_status.get(status)
        if totals is not None and totals.rows:
            label = status.replace("_", " ").capitalize()
            cards.append(Card(label, status, totals.rows, labelled_amounts(totals.amounts)))
    return cards
