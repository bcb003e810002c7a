"""Web app, results: the summary from the manifest, downloads, rows that need action, resume."""

from __future__ import annotations

from starlette.requests import Request
from starlette.routing import Route

from importer.ui.command import for_import
from importer.ui.pages import render
from importer.ui.routes.common import NEEDS_ACTION, folder_or_404


def status_rows(manifest: dict) -> dict[str, dict]:
    """Rows and amounts per status, as the manifest's summary holds them."""
    return manifest.get("summary", {}).get("by_status", {})


def shown_status_rows(meta: dict, manifest: dict) -> dict[str, dict]:
    """Rows and amounts per status as History and Results show them: for an import checked
    and not sent, the check's with the rows the ledger holds moved out of "valid" (the
    manifest keeps validate's), as the Review page shows them."""
    if manifest.get("command") == "validate" and meta.get("checked_by_status"):
        return meta["checked_by_status"]
    return status_rows(manifest)


def stopped(manifest: dict) -> bool:
    """True when the run the manifest records ended before every row had its answer (Stop,
    an outage, a refused key) rather than finishing."""
    return manifest.get("exit_code") in (2, 130) or bool(
        status_rows(manifest).get("not_sent", {}).get("rows")
    )


async def show(request: Request):
    """Summary, downloads and what to do next."""
    folder = folder_or_404(request, request.path_params["import_id"])
    session = request.app.state.sessions.get(folder.id)
    manifest = folder.manifest()
    by_status = shown_status_rows(folder.meta(), manifest)
    needs_action = {
        s: by_status[s]["rows"] for s in NEEDS_ACTION if by_status.get(s, {}).get("rows")
    }
    resumable = any(by_status.get(s, {}).get("rows") for s in ("not_sent", "retried"))
    running = bool(session and session.running)
    return render(
        request,
        "results.html",
        folder=folder,
        manifest=manifest,
        by_status=by_status,
        needs_action=needs_action,
        resumable=resumable and manifest.get("command") == "run",
        ended="stopped" if stopped(manifest) else "finished",
        # After the online check, the next step: send what it found sendable.
        sendable=manifest.get("command") == "run --dry-run"
        and by_status.get("valid", {}).get("rows", 0) > 0,
        unconfirmed=by_status.get("unconfirmed", {}).get("rows", 0),
        files={
            kind: folder.file(kind)
            for kind in ("results", "created", "manifest", "mapping", "corrected")
        },
        running=running,
        command=for_import(folder, session, request.app.state.settings),
        outcome=session.progress.outcome if session and session.progress else None,
        # The last run stopped before it wrote anything (a refused key, an unreachable API):
        # the table below is still the check's, so the page says so first.
        failed=session.progress.error if session and session.progress else None,
        step="results",
    )


routes = [Route("/imports/{import_id}/results", show)]
