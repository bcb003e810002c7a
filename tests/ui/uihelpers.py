"""Constants and helpers of the web app tests."""

from __future__ import annotations

from starlette.testclient import TestClient

from importer.ui import UISettings

PORT = 8765
ORIGIN = f"http://127.0.0.1:{PORT}"
API_KEY = "d2b7f3a4-1c8e-4e0b-9a55-7b1f0c2e9abc"


def post(client: TestClient, settings: UISettings, path: str, **kwargs):
    """A same-origin POST carrying the CSRF token, as the app's own forms send it."""
    headers = {"Origin": ORIGIN, **kwargs.pop("headers", {})}
    sep = "&" if "?" in path else "?"
    return client.post(f"{path}{sep}csrf_token={settings.csrf_token}", headers=headers, **kwargs)
