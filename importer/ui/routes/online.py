"""Web app, check online: the dry run (`run --dry-run`), its findings in the same grid."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.routing import Route

from importer.errors import KeenImportError
from importer.ui import background
from importer.ui.command import for_import
from importer.ui.pages import redirect, render
from importer.ui.routes.common import open_session
from importer.ui.routes.review import ensure_checked


async def show(request: Request, error: str | None = None, status_code: int = 200):
    """What the online check does, and its button."""
    session = await run_in_threadpool(open_session, request, request.path_params["import_id"])
    return render(
        request,
        "online.html",
        status_code=status_code,
        folder=session.folder,
        running=session.running,
        error=error,
        command=for_import(
            session.folder, session, request.app.state.settings, extra=["--dry-run"]
        ),
        step="online",
    )


async def check_online(request: Request):
    """Start the dry run in the background and show its progress."""
    session = await run_in_threadpool(open_session, request, request.path_params["import_id"])
    settings = request.app.state.settings
    if not settings.api_key.is_set or not settings.api_url:
        return await show(request, "Set an API key first (Settings: API key).", 400)
    elsewhere = await ensure_checked(request, session)
    if elsewhere:
        return redirect(f"/imports/{session.folder.id}/{elsewhere}")
    try:
        async with session.changing():
            await run_in_threadpool(background.make_plan, session, settings, dry_run=True)
            background.start(session, settings, dry_run=True, planned=True)
    except KeenImportError as exc:
        return await show(request, exc.message, 400)
    return redirect(f"/imports/{session.folder.id}/progress")


routes = [
    Route("/imports/{import_id}/online", show),
    Route("/imports/{import_id}/online", check_online, methods=["POST"]),
]
