"""The API key: entered once, kept in this process's memory only, shown as its last four."""

from __future__ import annotations

from starlette.requests import Request
from starlette.routing import Route

from importer.ui.pages import redirect, render


async def show(request: Request, error: str | None = None, status_code: int = 200):
    """Whether a key is set (never the key), and a box to set one."""
    return render(request, "key.html", status_code=status_code, error=error)


async def set_key(request: Request):
    """Keep the key typed in memory; the browser never gets it back."""
    form = await request.form()
    value = str(form.get("api_key", "")).strip()
    if not value:
        return await show(request, "Type the API key (from Settings > API keys in Keen).", 400)
    request.app.state.settings.api_key.set(value)
    return redirect("/key")


routes = [
    Route("/key", show),
    Route("/key", set_key, methods=["POST"]),
]
