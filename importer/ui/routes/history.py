"""Web app, history: every import in the workspace, newest first."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.routing import Route

from importer.ui.pages import render
from importer.ui.routes.results import shown_status_rows


def describe(folder) -> dict:
    """What the history table shows about one import."""
    meta = folder.meta()
    manifest = folder.manifest()
    by_status = shown_status_rows(meta, manifest)  # rows the ledger holds as a run gives them
    return {
        "folder": folder,
        "meta": meta,
        "command": manifest.get("command"),
        "target": manifest.get("target") or manifest.get("api_url") or "",
        "finished": manifest.get("finished_at"),
        "by_status": by_status,
        "resumable": manifest.get("command") == "run"
        and any(by_status.get(s, {}).get("rows") for s in ("not_sent", "retried")),
        "files": [
            k for k in ("results", "created", "manifest", "mapping", "corrected") if folder.file(k)
        ],
    }


def ledger_imports(settings) -> tuple[str, list, str | None]:
    """The ledger this server sends with, its latest imports (from any file, machine or
    colleague), and why it could not be read (None when it could)."""
    from importer.errors import LedgerError
    from importer.ledger import Ledger, ledger_for
    from importer.ledger.queries import list_imports

    api_url = settings.api_url or "http://127.0.0.1/"
    location = ledger_for(api_url, target=settings.target, ledger=settings.ledger)
    try:
        with Ledger.open(location) as ledger:
            return ledger.describe(), list_imports(ledger, limit=50), None
    except LedgerError as exc:
        return location.describe(), [], exc.message


async def show(request: Request):
    """The history table, then the ledger's imports."""
    imports = [describe(f) for f in request.app.state.workspace.all()]
    ledger, ledger_rows, ledger_error = await run_in_threadpool(
        ledger_imports, request.app.state.settings
    )
    return render(
        request,
        "history.html",
        imports=imports,
        ledger=ledger,
        ledger_imports=ledger_rows,
        ledger_error=ledger_error,
    )


routes = [Route("/history", show)]
