"""Step 8, history: every import in the workspace, newest first."""

from __future__ import annotations

from starlette.requests import Request
from starlette.routing import Route

from importer.ui.pages import render
from importer.ui.routes.results import read_manifest, status_rows


def describe(folder) -> dict:
    """What the history table shows about one import."""
    meta = folder.meta()
    manifest = read_manifest(folder)
    by_status = status_rows(manifest)
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


async def show(request: Request):
    """The history table."""
    imports = [describe(f) for f in request.app.state.workspace.all()]
    return render(request, "history.html", imports=imports)


routes = [Route("/history", show)]
