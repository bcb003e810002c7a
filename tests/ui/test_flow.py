"""Every step of the flow at the endpoint: upload, match, questions, review, fix, save, history."""

from __future__ import annotations

import csv
import re
import shutil
from pathlib import Path

from importer.cli import main
from ui.uihelpers import API_KEY, SAMPLE, check_file, import_id_of, post, selected_mapping, upload

SAMPLE_MAPPING = {
    "lead_id": "Lead ID",
    "legacy_lead_id": "",
    "purchase_amount": "Amount",
    "date": "Date",
    "product_id": "",
    "product_name": "Product",
    "product_description": "",
    "trigger_ids": "Trigger IDs",
    "reference": "Reference",
    "currency": "",
}


def statuses(path: Path) -> list[tuple[str, str, str, str]]:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        return [(r["row"], r["status"], r["error"], r["warnings"]) for r in csv.DictReader(handle)]


def test_upload_keeps_the_file_and_shows_the_suggested_mapping(client, settings, app):
    answer = upload(client, settings, SAMPLE)
    import_id = import_id_of(answer)
    assert answer.headers["location"] == f"/imports/{import_id}/columns"
    folder = app.state.workspace.get(import_id)
    assert folder.upload.read_bytes() == Path(SAMPLE).read_bytes()
    page = client.get(f"/imports/{import_id}/columns").text
    assert selected_mapping(page) == SAMPLE_MAPPING
    assert page.count("Exact match") + page.count("Known name") == 6
    assert '<span class="sample">47378190-96da-4dac-b2ff-5d2a386ecbe0</span>' in page
    assert '<span class="sample">$249.50</span>' in page
    assert "Headers found on row 1" in page


def test_check_file_gives_the_same_verdicts_as_the_cli(client, settings, app, tmp_path, capsys):
    import_id = import_id_of(upload(client, settings, SAMPLE))
    answer = check_file(client, settings, import_id, SAMPLE_MAPPING)
    assert answer.headers["location"] == f"/imports/{import_id}/review"
    folder = app.state.workspace.get(import_id)
    copy = shutil.copy(SAMPLE, tmp_path / "purchases_with_errors.csv")
    main(["validate", str(copy)])
    capsys.readouterr()
    expected = statuses(tmp_path / "purchases_with_errors.results.csv")
    assert statuses(folder.file("results")) == expected
    assert sum(1 for r in expected if r[1] == "invalid") == 6
    page = client.get(f"/imports/{import_id}/review").text
    cards = re.findall(r'<h2>([^<]+)</h2>\s*<p class="big">(\d+) rows?', page)
    assert cards == [("Rows in file", "12"), ("Valid", "5"), ("Invalid", "6"), ("Skipped", "1")]
    assert 'aria-label="Amount, row 5"' in page  # invalid rows can be fixed in place


def test_check_file_judges_a_large_file_in_a_child_with_the_same_verdicts(
    client, settings, app, monkeypatch
):
    """The server checks a large file in a forked child (its memory goes back to the system
    when the check ends): the verdicts and the review are those of a check in the server."""
    import os

    import importer.job.importjob as importjob
    import importer.job.isolated as isolated

    here = import_id_of(upload(client, settings, SAMPLE))
    check_file(client, settings, here, SAMPLE_MAPPING)
    judged_in = []
    real = importjob.check_all

    def noting(*args, **kwargs):
        judged_in.append(os.getpid())  # only seen by this process when judged here
        return real(*args, **kwargs)

    monkeypatch.setattr(isolated, "MIN_ISOLATED_BYTES", 0)
    monkeypatch.setattr(importjob, "check_all", noting)
    away = import_id_of(upload(client, settings, SAMPLE, name="april.csv"))
    answer = check_file(client, settings, away, SAMPLE_MAPPING)

    assert answer.headers["location"] == f"/imports/{away}/review"
    assert judged_in == []  # the child judged it
    workspace = app.state.workspace
    assert statuses(workspace.get(away).file("results")) == statuses(
        workspace.get(here).file("results")
    )
    page = client.get(f"/imports/{away}/review").text
    cards = re.findall(r'<h2>([^<]+)</h2>\s*<p class="big">(\d+) rows?', page)
    assert cards == [("Rows in file", "12"), ("Valid", "5"), ("Invalid", "6"), ("Skipped", "1")]


def test_mapping_is_saved_as_a_cli_mapping_file_and_remembered(client, settings, app):
    first = import_id_of(upload(client, settings, SAMPLE))
    changed = {**SAMPLE_MAPPING, "product_name": "", "product_description": "Product"}
    check_file(client, settings, first, changed, timezone="Europe/Copenhagen")
    folder = app.state.workspace.get(first)
    from importer.check.mapping import load_mapping_file

    saved = load_mapping_file(folder.mapping_path)
    assert saved.columns["product_description"] == "Product"
    assert "product_name" not in saved.columns or saved.columns["product_name"] == ""
    assert saved.timezone == "Europe/Copenhagen"
    assert client.get(f"/imports/{first}/files/mapping").text == folder.mapping_path.read_text()
    second = import_id_of(upload(client, settings, SAMPLE, name="april.csv"))
    page = client.get(f"/imports/{second}/columns").text
    assert "The mapping you used last time for these columns was applied." in page
    assert selected_mapping(page)["product_description"] == "Product"
    assert selected_mapping(page)["product_name"] == ""


def test_grid_filters_by_status_and_search_and_pages(client, settings):
    import_id = import_id_of(upload(client, settings, SAMPLE))
    check_file(client, settings, import_id, SAMPLE_MAPPING)
    page = client.get(f"/imports/{import_id}/review?status=invalid").text
    rows = re.findall(r'<tr class="status-(\w+)">\s*<th scope="row">(\d+)</th>', page)
    assert rows == [("invalid", "4"), ("invalid", "5"), ("invalid", "6"), ("invalid", "7"),
                    ("invalid", "8"), ("invalid", "12")]  # fmt: skip
    page = client.get(f"/imports/{import_id}/review?q=INV-9010").text
    assert re.findall(r'<th scope="row">(\d+)</th>', page) == ["11"]
    assert "1 row matches; showing 1–1." in page


def test_fix_in_place_rechecks_the_row_and_save_corrected_keeps_the_upload(client, settings, app):
    import_id = import_id_of(upload(client, settings, SAMPLE))
    check_file(client, settings, import_id, SAMPLE_MAPPING)
    back = f"/imports/{import_id}/review?status=invalid"
    answer = post(
        client,
        settings,
        f"/imports/{import_id}/rows/5",
        data={"cell:Amount": "12.50", "was:Amount": "12,5O", "back": back},
    )
    assert answer.status_code == 303 and answer.headers["location"] == back
    page = client.get(f"/imports/{import_id}/review?q=INV-9004").text
    assert '<tr class="status-valid">' in page
    assert "<td>Amount</td><td>12,5O</td><td>12.50</td>" in page  # the edit is listed
    answer = post(client, settings, f"/imports/{import_id}/corrected")
    assert answer.status_code == 303
    folder = app.state.workspace.get(import_id)
    corrected = folder.file("corrected")
    assert corrected.name == "purchases_with_errors.corrected.csv"
    assert "12.50" in corrected.read_text() and "12,5O" not in corrected.read_text()
    assert folder.upload.read_bytes() == Path(SAMPLE).read_bytes()


def test_hostile_file_gets_the_cli_message_and_nothing_is_kept(client, settings, app, tmp_path):
    bad = tmp_path / "sales.xlsx"
    bad.write_bytes(b"PK\x03\x04 not really a zip")
    answer = upload(client, settings, bad)
    assert answer.status_code == 400
    assert '<p class="error" role="alert">' in answer.text
    assert app.state.workspace.all() == []
    assert list(app.state.workspace.imports.iterdir()) == []


def test_cells_are_shown_as_text(client, settings, tmp_path):
    evil = tmp_path / "evil.csv"
    evil.write_text(
        "Lead ID,Amount,Date,Product\n"
        '47378190-96da-4dac-b2ff-5d2a386ecbe0,10.00,2026-03-02,"<img src=x onerror=alert(1)>"\n'
        '47378190-96da-4dac-b2ff-5d2a386ecbe0,11.00,2026-03-02,"=HYPERLINK(""http://x"")"\n'
    )
    import_id = import_id_of(upload(client, settings, evil))
    for path in ("columns", "review"):
        if path == "review":
            check_file(client, settings, import_id, {"lead_id": "Lead ID", "purchase_amount":
                       "Amount", "date": "Date", "product_name": "Product"})  # fmt: skip
        page = client.get(f"/imports/{import_id}/{path}").text
        assert "<img" not in page
        assert "&lt;img src=x onerror=alert(1)&gt;" in page
        assert "=HYPERLINK(&#34;http://x&#34;)" in page


def test_questions_are_asked_with_examples_and_answers_go_into_the_manifest(
    client, settings, app, tmp_path
):
    ambiguous = tmp_path / "dates.csv"
    ambiguous.write_text(
        "Lead ID,Amount,Date\n"
        "47378190-96da-4dac-b2ff-5d2a386ecbe0,10.00,03/04/2026\n"
        "47378190-96da-4dac-b2ff-5d2a386ecbe0,11.00,05/06/2026\n"
    )
    import_id = import_id_of(upload(client, settings, ambiguous))
    answer = check_file(
        client,
        settings,
        import_id,
        {"lead_id": "Lead ID", "purchase_amount": "Amount", "date": "Date"},
    )
    assert answer.headers["location"] == f"/imports/{import_id}/questions"
    page = client.get(f"/imports/{import_id}/questions").text
    question = re.search(r'name="answer:([^"]+)" value="([^"]+)"', page)
    assert 'Row 2: <span class="sample">03/04/2026</span>' in page
    answer = post(
        client,
        settings,
        f"/imports/{import_id}/questions",
        data={f"answer:{question[1]}": question[2]},
    )
    assert answer.headers["location"] == f"/imports/{import_id}/review"
    manifest = client.get(f"/imports/{import_id}/files/manifest").json()
    assert [a["question"] for a in manifest["answers"]] == [question[1]]
    again = client.get(f"/imports/{import_id}/questions").text  # the browser's back button
    assert "No open questions: every question about this file is answered." in again
    assert "the file can be read one way only" not in again


def test_history_lists_every_import_newest_first(client, settings):
    first = import_id_of(upload(client, settings, SAMPLE, name="march.csv"))
    check_file(client, settings, first, SAMPLE_MAPPING)
    second = import_id_of(upload(client, settings, SAMPLE, name="april.csv"))
    page = client.get("/history").text
    assert page.index(f"/imports/{second}/results") < page.index(f"/imports/{first}/results")
    assert "invalid 6" in page
    assert f'<a href="/imports/{first}/files/results">results</a>' in page


def test_api_key_is_never_in_a_response_or_a_workspace_file(client, settings, app):
    import_id = import_id_of(upload(client, settings, SAMPLE))
    check_file(client, settings, import_id, SAMPLE_MAPPING)
    pages = ["/", "/history", "/key", f"/imports/{import_id}/columns",
             f"/imports/{import_id}/review", f"/imports/{import_id}/online",
             f"/imports/{import_id}/results"]  # fmt: skip
    for path in pages:
        answer = client.get(path)
        assert API_KEY not in answer.text and API_KEY not in str(answer.headers), path
    for path in settings.workspace.rglob("*"):
        if path.is_file():
            assert API_KEY.encode() not in path.read_bytes(), path


def test_a_workbook_sheet_and_the_header_row_can_be_chosen(client, settings, tmp_path):
    from conftest import write_xlsx

    book = write_xlsx(
        tmp_path / "q1.xlsx",
        {
            "Notes": [["Lead ID", "Amount"], ["47378190-96da-4dac-b2ff-5d2a386ecbe0", 5]],
            "March": [["Sales export March"], [], ["Lead ID", "Amount", "Date"],
                      ["47378190-96da-4dac-b2ff-5d2a386ecbe0", 10, "2026-03-02"]],
        },
    )  # fmt: skip
    import_id = import_id_of(upload(client, settings, book))
    page = client.get(f"/imports/{import_id}/columns").text
    assert '<option value="Notes" selected>Notes</option>' in page
    answer = post(client, settings, f"/imports/{import_id}/sheet", data={"sheet": "March"})
    assert answer.status_code == 303
    page = client.get(f"/imports/{import_id}/columns").text
    assert "Headers found on row 3 of sheet “March”: Lead ID, Amount, Date" in page
    post(client, settings, f"/imports/{import_id}/header-row", data={"header_row": "1"})
    page = client.get(f"/imports/{import_id}/columns").text
    assert "Headers found on row 1 of sheet “March”: Sales export March" in page
    bad = post(client, settings, f"/imports/{import_id}/header-row", data={"header_row": "x"})
    assert bad.status_code == 400
    assert "The header row is a row number: 1, 2, 3..." in bad.text


def test_fixing_a_row_that_is_not_in_the_file_is_404(client, settings):
    import_id = import_id_of(upload(client, settings, SAMPLE))
    check_file(client, settings, import_id, SAMPLE_MAPPING)
    answer = post(client, settings, f"/imports/{import_id}/rows/999", data={"cell:Amount": "1"})
    assert answer.status_code == 404
    assert "There is no row 999 in this file." in answer.text


def _files_state(folder) -> dict[str, tuple[int, bytes]]:
    return {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in folder.path.iterdir()}


def test_after_a_restart_get_never_checks_the_file_again(client, settings, app):
    from starlette.testclient import TestClient

    from importer.ui import create_app
    from ui.uihelpers import ORIGIN

    import_id = import_id_of(upload(client, settings, SAMPLE))
    check_file(client, settings, import_id, SAMPLE_MAPPING)
    folder = app.state.workspace.get(import_id)
    before = _files_state(folder)
    assert {"purchases_with_errors.results.csv", "purchases_with_errors.manifest.json"} <= set(
        before
    )
    restarted = create_app(settings)  # the server started again: nothing checked in memory
    again = TestClient(restarted, base_url=ORIGIN, follow_redirects=False)
    again.get(f"/?token={settings.token}")
    for step in ("review", "send"):
        page = again.get(f"/imports/{import_id}/{step}")
        assert page.status_code == 200
        assert '<button type="submit" class="primary">Check file</button>' in page.text
        assert f'<input type="hidden" name="next" value="{step}">' in page.text
    assert _files_state(folder) == before  # the GETs wrote nothing
    pressed = post(again, settings, f"/imports/{import_id}/check", data={"next": "send"})
    assert pressed.status_code == 303
    assert pressed.headers["location"] == f"/imports/{import_id}/send"
    assert "Check file</button>" not in again.get(f"/imports/{import_id}/review").text


def test_an_upload_named_like_a_windows_device_is_renamed(client, settings, app):
    answer = upload(client, settings, SAMPLE, name="CON.csv")
    folder = app.state.workspace.get(import_id_of(answer))
    assert folder.upload.name == "CON_.csv"
    assert folder.upload.read_bytes() == Path(SAMPLE).read_bytes()


def test_an_upload_named_like_the_apps_own_file_is_kept_under_another_name(client, settings, app):
    """import.json is the import's own settings: an upload of that name was refused with 500
    (FileExistsError) and left a broken import in History."""
    answer = upload(client, settings, SAMPLE, name="import.json")
    import_id = import_id_of(answer)
    assert answer.headers["location"] == f"/imports/{import_id}/columns"
    folder = app.state.workspace.get(import_id)
    assert folder.upload.name == "upload_import.json"
    assert folder.upload.read_bytes() == Path(SAMPLE).read_bytes()
    assert folder.meta()["file"] == "import.json"
    assert client.get(f"/imports/{import_id}/columns").status_code == 200


def test_an_upload_that_fails_for_any_reason_keeps_nothing(client, settings, app, monkeypatch):
    from importer.ui.routes import home

    def full(upload, target):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(home, "_store", full)
    answer = upload(client, settings, SAMPLE)
    assert answer.status_code == 500
    assert "The file could not be kept: nothing was kept" in answer.text
    assert list(app.state.workspace.imports.iterdir()) == []
    assert app.state.workspace.all() == []


def test_the_period_time_zone_and_answers_of_a_file_are_not_remembered(
    client, settings, app, tmp_path
):
    """Period 2025-02 and a time zone carried over made every row of next month's file invalid;
    a date order answered for one file read the next one's 03/04/2026 month-first unasked."""
    from importer.check.mapping import load_mapping_file, save_mapping_file

    march = tmp_path / "march.csv"
    march.write_text(
        "Lead ID,Amount,Date,Reference\n"
        "47378190-96da-4dac-b2ff-5d2a386ecbe0,1.500,03/04/2026,R-1\n"
        "47378190-96da-4dac-b2ff-5d2a386ecbe0,2.000,13/04/2026,R-2\n"
    )
    first = import_id_of(upload(client, settings, march))
    options = {"period": "2026-04", "timezone": "Europe/Copenhagen", "decimal": ",",
               "day_first": "day"}  # fmt: skip
    assert (
        check_file(client, settings, first, {}, **options).headers["location"].endswith("/review")
    )
    workspace = app.state.workspace
    headers = app.state.sessions.get(first).job.overview.headers
    kept = load_mapping_file(workspace.remembered_mapping(headers))
    assert (kept.period, kept.timezone, kept.day_first, kept.decimal) == (None,) * 4
    mapping = load_mapping_file(app.state.workspace.get(first).mapping_path)
    assert (mapping.period, mapping.timezone, mapping.day_first) == (
        "2026-04",
        "Europe/Copenhagen",
        True,
    )

    # A mapping remembered before this fix held them: the next upload does not take them up.
    save_mapping_file(mapping, workspace.remembered_mapping(headers))
    second = import_id_of(upload(client, settings, march, name="april.csv"))
    job = app.state.sessions.get(second).job
    assert (job.mapping.period, job.mapping.timezone, job.mapping.day_first) == (None,) * 3
    assert job.mapping.decimal is None
    assert workspace.get(second).meta()["remembered_mapping"] is True
    copy = load_mapping_file(app.state.workspace.get(second).mapping_path)
    assert (copy.period, copy.timezone, copy.day_first, copy.decimal) == (None,) * 4


def test_a_long_upload_name_keeps_its_extension():
    from importer.ui.workspace import safe_file_name

    name = safe_file_name("x" * 300 + ".csv")
    assert (len(name), name[-8:]) == (120, "xxxx.csv")
    assert safe_file_name("march.csv") == "march.csv"


def test_the_address_of_a_refused_form_opened_again_leads_to_its_step(client, settings):
    """After a refused upload, fix or skip the address bar shows the form's address: opened
    again (a restored tab, Enter) it leads to the step's page, never "Method Not Allowed"."""
    import_id = import_id_of(upload(client, settings, SAMPLE))
    expected = {
        "/upload": "/",
        f"/imports/{import_id}/rows/3/skip": f"/imports/{import_id}/review",
        f"/imports/{import_id}/rows/3": f"/imports/{import_id}/review",
        f"/imports/{import_id}/stop": f"/imports/{import_id}/progress",
        f"/imports/{import_id}/encoding": f"/imports/{import_id}/columns",
    }
    for path, page in expected.items():
        answer = client.get(path)
        assert (answer.status_code, answer.headers["location"]) == (303, page), path
