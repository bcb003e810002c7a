"""The app factory: routes per step, the security middleware around everything."""

from __future__ import annotations

from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles
from starlette.types import Receive, Scope, Send

from importer.ui.pages import build_environment
from importer.ui.routes import ROUTES
from importer.ui.security import BodyTooLarge, SecurityMiddleware
from importer.ui.sessions import ImportBusy, Sessions
from importer.ui.settings import UISettings
from importer.ui.workspace import Workspace

STATIC = Path(__file__).parent / "static"


async def _too_large(request: Request, exc: Exception) -> PlainTextResponse:
    limit = request.app.state.settings.upload_limit
    return PlainTextResponse(f"the file is larger than the limit of {limit:,} bytes", 413)


async def _not_found(request: Request, exc: Exception) -> PlainTextResponse:
    return PlainTextResponse("not found", 404)


#: Where the address of a form's answer leads when it is opened again (a restored tab, Enter
#: in the address bar): its step's page, not "Method Not Allowed".
_FORM_PAGES = {
    "stop": "progress",
    "sheet": "columns",
    "header-row": "columns",
    "encoding": "columns",
}


async def _not_allowed(request: Request, exc: Exception) -> PlainTextResponse | RedirectResponse:
    """A GET of an address only a form posts to (the address bar still shows it after a
    refused upload, fix or skip): the page of that step instead."""
    if request.method not in ("GET", "HEAD"):
        return PlainTextResponse("Method Not Allowed", 405)
    parts = request.url.path.strip("/").split("/")
    if len(parts) >= 3 and parts[0] == "imports":
        return RedirectResponse(
            f"/imports/{parts[1]}/{_FORM_PAGES.get(parts[2], 'review')}", status_code=303
        )
    return RedirectResponse("/", status_code=303)


async def _busy(request: Request, exc: Exception) -> RedirectResponse:
    """A change refused while a send or online check runs: that run's progress instead."""
    return RedirectResponse(f"/imports/{exc.import_id}/progress", status_code=303)


class UIApp:
    """The Starlette app inside the security middleware.

    The middleware sits outside Starlette's own error handling, so even an unexpected 500
    carries the security headers. ``state`` is the Starlette app's state (settings, workspace,
    sessions).
    """

    def __init__(self, app: Starlette, settings: UISettings) -> None:
        self.starlette = app
        self.state = app.state
        self._asgi = SecurityMiddleware(app, settings)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._asgi(scope, receive, send)


def create_app(settings: UISettings) -> UIApp:
    """The keen-import web app for ``settings`` (workspace created if missing)."""
    app = Starlette(
        routes=[*ROUTES, Mount("/static", StaticFiles(directory=STATIC), name="static")],
        exception_handlers={
            BodyTooLarge: _too_large,
            ImportBusy: _busy,
            404: _not_found,
            405: _not_allowed,
        },
    )
    app.state.settings = settings
    app.state.workspace = Workspace(settings.workspace).create()
    app.state.sessions = Sessions()
    app.state.env = build_environment()
    return UIApp(app, settings)
