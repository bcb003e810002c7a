"""Changes of an import refused while its send runs, and what a check may (not) replace."""

from __future__ import annotations

import threading

from ui.uihelpers import SAMPLE, check_file, import_id_of, post, upload

#: Every POST that changes an import (its job or its files), with a form it accepts.
CHANGES = {
    "columns": {},
    "sheet": {"sheet": "Sheet1"},
    "header-row": {"header_row": "1"},
    "encoding": {"encoding": "cp1252"},
    "questions": {"answer:x": "y"},
    "rows/3": {"cell:Amount": "12.50", "was:Amount": ""},
    "corrected": {},
    "rows/3/skip": {},
    "rows/3/put-back": {},
    "choices": {"shown": "allow_precision", "allow_precision": "on"},
    "keep": {"column": "Product"},
    "online": {},
    "send": {"rows_to_send": "5"},
}


def test_every_change_is_refused_while_a_send_runs(client, settings, app):
    """While the send runs, each change answers with the progress page and touches nothing:
    a check in the middle of a send replaced the files the send was writing."""
    import_id = import_id_of(upload(client, settings, SAMPLE))
    assert check_file(client, settings, import_id, {}).status_code == 303
    session = app.state.sessions.get(import_id)
    folder = session.folder
    before = {p.name: p.read_bytes() for p in folder.path.iterdir()}
    checked, release = session.checked, threading.Event()
    session.thread = threading.Thread(target=release.wait, daemon=True)  # a send under way
    session.thread.start()
    try:
        answers = {
            path: post(client, settings, f"/imports/{import_id}/{path}", data=data)
            for path, data in CHANGES.items()
        }
    finally:
        release.set()
        session.thread.join()
    progress = (303, f"/imports/{import_id}/progress")
    assert {p: (a.status_code, a.headers.get("location")) for p, a in answers.items()} == {
        path: progress for path in CHANGES
    }
    assert {p.name: p.read_bytes() for p in folder.path.iterdir()} == before
    assert session.checked is checked
    assert session.job.edits == []
