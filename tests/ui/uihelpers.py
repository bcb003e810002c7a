"""Constants and helpers of the web app tests."""

from __future__ import annotations

from exporthelpers import workbook_sheet
from starlette.testclient import TestClient

from importer.ui import UISettings, create_app

PORT = 8765
ORIGIN = f"http://127.0.0.1:{PORT}"
API_KEY = "d2b7f3a4-1c8e-4e0b-9a55-7b1f0c2e9abc"


def opened(settings: UISettings):
    """(client, app) of a new app on ``settings``, its client having opened the printed address
    (it holds the token cookie)."""
    app = create_app(settings)
    client = TestClient(app, base_url=ORIGIN, follow_redirects=False)
    client.get(f"/?token={settings.token}")
    return client, app


def csrf_of(client: TestClient, settings: UISettings) -> str:
    """The CSRF token of this client's browser session (as its pages carry it)."""
    return settings.csrf_token_for(client.cookies[f"keen_import_session_{settings.port}"])


def post(client: TestClient, settings: UISettings, path: str, **kwargs):
    """A same-origin POST carrying the CSRF token as its first form field, like the app's forms."""
    headers = {"Origin": ORIGIN, **kwargs.pop("headers", {})}
    data = {"csrf_token": csrf_of(client, settings), **kwargs.pop("data", {})}
    return client.post(path, headers=headers, data=data, **kwargs)


SAMPLE = "sample_data/purchases_with_errors.csv"


def upload(client: TestClient, settings: UISettings, path, name: str | None = None):
    """Upload a file as the upload form does; returns the answer (303 on success)."""
    from pathlib import Path

    path = Path(path)
    with path.open("rb") as handle:
        files = {"file": (name or path.name, handle, "application/octet-stream")}
        return post(client, settings, "/upload", files=files)


def selected_mapping(page: str) -> dict[str, str]:
    """field -> column selected in the mapping table of a columns page."""
    import re

    found = {}
    for field, body in re.findall(r'name="field:([a-z_]+)">(.*?)</select>', page, re.S):
        chosen = re.search(r'<option value="([^"]*)" selected>', body)
        found[field] = chosen[1] if chosen else ""
    return found


def import_id_of(answer) -> str:
    """The import an upload's redirect (303 to /imports/ID/...) names."""
    assert answer.status_code == 303, answer.text
    return answer.headers["location"].split("/")[2]


def check_file(client, settings, import_id: str, mapping: dict[str, str], **options):
    """Press "Check file" with this mapping and options."""
    data = {f"field:{k}": v for k, v in mapping.items()}
    data.update({k: str(v) for k, v in options.items()})
    return post(client, settings, f"/imports/{import_id}/columns", data=data)


def hidden_row_workbook(path):
    """Rows 2, 3 and 5 visible, row 4 (24,000.00 USD) hidden by a filter, and the file's own
    total line (row 6) of the visible rows: 4,558.65."""
    LEAD = "47378190-96da-4dac-b2ff-5d2a386ecbe0"  # noqa: N806 - a lead of the sandbox
    rows = [
        ["Lead ID", "Amount", "Currency", "Date", "Reference"],
        [LEAD, 1500.00, "USD", "2026-03-02", "R-1"],
        [LEAD, 1000.00, "USD", "2026-03-03", "R-2"],
        [LEAD, 24000.00, "USD", "2026-03-04", "R-3"],
        [LEAD, 2058.65, "USD", "2026-03-05", "R-4"],
        ["Total", 4558.65, "", "", ""],
    ]
    with workbook_sheet(path, "Sales", rows) as sheet:
        sheet.set_row(3, None, None, {"hidden": True})
    return path


def shown_token(page: str) -> str:
    """The token of the plan a Send page shows (its form's hidden "shown" field)."""
    import re

    found = re.search(r'name="shown" value="([0-9a-f]*)"', page)
    return found[1] if found else ""


def confirm_send(client: TestClient, settings: UISettings, import_id: str, typed: str, **fields):
    """Open the Send page, type ``typed`` in "Rows to send" and press "Confirm and send" (with
    the plan the page showed, and the form's other ``fields``)."""
    query = "?resend_unconfirmed=1" if fields.get("resend_unconfirmed") == "1" else ""
    page = client.get(f"/imports/{import_id}/send{query}").text
    data = {"rows_to_send": typed, "shown": shown_token(page), **fields}
    return post(client, settings, f"/imports/{import_id}/send", data=data)
