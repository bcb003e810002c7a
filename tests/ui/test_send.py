"""Check online, send, progress (SSE), Stop, results and resume at the endpoint, to a sandbox."""

from __future__ import annotations

import csv
import json
import re
from contextlib import contextmanager

from importer.sandbox.faults import Faults
from importer.ui import ApiKey, UISettings
from ui.uihelpers import SAMPLE, check_file, confirm_send, opened, post, shown_token, upload

LEAD = "47378190-96da-4dac-b2ff-5d2a386ecbe0"


def checked_import(client, settings, path=SAMPLE) -> str:
    import_id = upload(client, settings, path).headers["location"].split("/")[2]
    assert check_file(client, settings, import_id, {}).status_code == 303
    return import_id


def finish(app, import_id: str):
    session = app.state.sessions.get(import_id)
    session.thread.join(60)
    assert session.progress.finished
    return session


def purchases_file(path, rows: int, first_amount: int, date: str, prefix: str):
    """``rows`` purchases of LEAD on ``date``: amounts from ``first_amount``.00 up by one,
    references PREFIX-0, PREFIX-1, ..."""
    path.write_text(
        "Lead ID,Amount,Date,Reference\n"
        + "".join(f"{LEAD},{first_amount + i}.00,{date},{prefix}-{i}\n" for i in range(rows))
    )
    return path


@contextmanager
def faults(sandbox, **chosen):
    """The sandbox with these faults (importer.sandbox.faults.Faults), healthy again after."""
    sandbox.set_faults(Faults(**chosen))
    try:
        yield
    finally:
        sandbox.set_faults(Faults())


def stopped_mid_way(sandboxed, sandbox, import_id: str, rows: int):
    """Send all ``rows`` to a slow sandbox and press Stop once the first is done: the session,
    finished, and the answer to Stop."""
    client, settings, app = sandboxed
    with faults(sandbox, latency_ms=30):
        confirm_send(client, settings, import_id, str(rows))
        session = app.state.sessions.get(import_id)
        while session.progress.done == 0 and session.running:
            session.thread.join(0.05)
        stop = post(client, settings, f"/imports/{import_id}/stop")
        finish(app, import_id)
    return session, stop


def statuses(path) -> list[str]:
    with open(path, newline="", encoding="utf-8-sig") as handle:
        return [r["status"] for r in csv.DictReader(handle)]


def purchase_ids(path) -> dict[str, str]:
    with open(path, newline="", encoding="utf-8-sig") as handle:
        return {r["row"]: r["purchase_id"] for r in csv.DictReader(handle) if r["purchase_id"]}


def test_send_needs_the_typed_row_count_then_reports_progress_and_results(sandboxed, sandbox):
    client, settings, app = sandboxed
    import_id = checked_import(client, settings)
    page = client.get(f"/imports/{import_id}/send").text
    assert "About to import 5 purchases" in page
    assert sandbox.base_url in page
    before = len(sandbox.purchases())
    wrong = confirm_send(client, settings, import_id, "600")
    assert wrong.status_code == 400
    assert "Nothing was sent: type 5 (the number of rows to send) to confirm." in wrong.text
    assert len(sandbox.purchases()) == before
    sent = confirm_send(client, settings, import_id, "5")
    assert sent.headers["location"] == f"/imports/{import_id}/progress"
    finish(app, import_id)
    events = client.get(f"/imports/{import_id}/events").text
    data = json.loads(re.search(r"^data: (.*)$", events, re.M)[1])
    assert (data["finished"], data["done"], data["error"]) == (True, 12, None)
    assert data["counts"] == {"created": 3, "invalid": 6, "skipped": 1, "rejected": 2}
    assert len(sandbox.purchases()) - before == 3
    progress = client.get(f"/imports/{import_id}/progress").text
    assert '<p id="progress-leave" class="muted" hidden>You can close this tab' in progress
    results = client.get(f"/imports/{import_id}/results").text
    for name in ("results", "created", "manifest"):
        assert f'href="/imports/{import_id}/files/{name}" download>' in results
    assert ">Download results</a>" in results and ">Download created list</a>" in results
    assert ">Download manifest</a>" in results
    assert f'href="/imports/{import_id}/review?status=rejected#grid">2 rejected</a>' in results
    folder = app.state.workspace.get(import_id)
    assert statuses(folder.file("results")).count("created") == 3
    grid = client.get(f"/imports/{import_id}/review?status=rejected").text
    assert "Lead not accessible" in grid


def test_stop_acts_like_ctrl_c_and_resume_sends_the_rest_once(sandboxed, sandbox, tmp_path):
    client, settings, app = sandboxed
    source = purchases_file(tmp_path / "many.csv", 400, 10, "2026-03-02", "R")
    import_id = checked_import(client, settings, source)
    before = len(sandbox.purchases())
    session, stop = stopped_mid_way(sandboxed, sandbox, import_id, 400)
    assert stop.status_code == 303
    said = "Stopped: rows not sent yet are marked not sent; Resume sends them."
    assert session.progress.outcome == said
    folder = app.state.workspace.get(import_id)
    first = statuses(folder.file("results"))
    assert 0 < first.count("created") < 400 and first.count("not_sent") > 0
    progress = client.get(f"/imports/{import_id}/progress").text
    assert '<h2 id="progress-kind">Send stopped</h2>' in progress
    created, not_sent = first.count("created"), first.count("not_sent")
    assert (
        f'aria-live="polite">Stopped: {created:,} created, {not_sent:,} not sent, of 400 rows</p>'
    ) in progress
    assert "400 of 400 rows done" not in progress
    assert f'<p id="progress-outcome" >{said}</p>' in progress
    assert "not_sent" not in progress  # the status's name in the results file, not words
    page = client.get(f"/imports/{import_id}/results").text
    assert f'<p class="note" role="status">{said}</p>' in page
    assert ">Resume</button>" in page
    send_page = client.get(f"/imports/{import_id}/send").text
    # The confirmation counts only what is left: the ledger holds the rows created before.
    assert f"<h2>About to import {400 - created:,} purchases</h2>" in send_page
    assert confirm_send(client, settings, import_id, "400").status_code == 400
    confirm_send(client, settings, import_id, str(400 - created))
    finish(app, import_id)
    assert statuses(folder.file("results")) == ["created"] * 400
    assert len(sandbox.purchases()) - before == 400


def test_check_online_runs_the_dry_run_and_creates_nothing(sandboxed, sandbox):
    client, settings, app = sandboxed
    import_id = checked_import(client, settings)
    before = len(sandbox.purchases())
    answer = post(client, settings, f"/imports/{import_id}/online")
    assert answer.headers["location"] == f"/imports/{import_id}/progress"
    session = finish(app, import_id)
    assert session.progress.outcome == "Online check finished: nothing was created."
    assert len(sandbox.purchases()) == before
    grid = client.get(f"/imports/{import_id}/review").text
    assert "These are the rows and totals of the last send or online check." in grid
    assert "Lead not accessible" in grid  # the findings, in the same grid


def test_without_a_key_nothing_can_be_sent(tmp_path):
    settings = UISettings(workspace=tmp_path / "ws", port=8765, api_url="https://keen.example")
    client, app = opened(settings)
    import_id = checked_import(client, settings)
    assert "No API key is set." in client.get(f"/imports/{import_id}/send").text
    assert confirm_send(client, settings, import_id, "6").status_code == 400
    assert app.state.sessions.get(import_id).thread is None


def test_a_browser_run_stopped_mid_way_is_resumed_by_the_cli(sandboxed, sandbox, tmp_path):
    import subprocess
    import sys

    client, settings, app = sandboxed
    source = purchases_file(tmp_path / "handover.csv", 300, 20, "2026-03-03", "H")
    import_id = checked_import(client, settings, source)
    stopped_mid_way(sandboxed, sandbox, import_id, 300)
    folder = app.state.workspace.get(import_id)
    created_in_browser = purchase_ids(folder.file("results"))
    assert 0 < len(created_in_browser) < 300
    command = [sys.executable, "-m", "importer", "run", str(folder.upload), "--sandbox",
               "--yes", "--mapping", str(folder.file("mapping"))]  # fmt: skip
    cli = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert cli.returncode == 0, cli.stderr
    assert statuses(folder.file("results")) == ["created"] * 300
    after = purchase_ids(folder.file("results"))
    # Rows created in the browser keep their purchase ids: the CLI did not send them again.
    assert {row: after[row] for row in created_in_browser} == created_in_browser


def test_resend_unconfirmed_has_its_own_typed_confirmation(sandboxed, sandbox, tmp_path):
    client, settings, app = sandboxed
    source = purchases_file(tmp_path / "unsure.csv", 3, 30, "2026-03-04", "U")
    import_id = checked_import(client, settings, source)
    with faults(sandbox, p_commit_then_drop=1.0, seed=3):
        confirm_send(client, settings, import_id, "3")
        finish(app, import_id)
    folder = app.state.workspace.get(import_id)
    assert statuses(folder.file("results")) == ["unconfirmed"] * 3
    results = client.get(f"/imports/{import_id}/results").text
    assert '<input type="hidden" name="resend_unconfirmed" value="1">' in results
    assert ">Resend unconfirmed</button>" in results
    plain = client.get(f"/imports/{import_id}/send").text
    assert "<h2>Nothing left to send</h2>" in plain  # never resent silently
    assert "3 rows held back (unconfirmed 3)" in plain
    again = confirm_send(client, settings, import_id, "3")
    assert again.status_code == 400 and "Nothing left to send" in again.text
    assert statuses(folder.file("results")) == ["unconfirmed"] * 3
    page = client.get(f"/imports/{import_id}/send?resend_unconfirmed=1").text
    assert "<h1>Resend unconfirmed rows</h1>" in page
    assert "Unconfirmed rows may already exist in Keen." in page
    assert "About to import 3 purchases" in page
    assert "held back" not in page  # they are the rows this page sends
    confirm_send(client, settings, import_id, "3", resend_unconfirmed="1")
    finish(app, import_id)
    assert statuses(folder.file("results")) == ["created"] * 3


def test_an_unsafe_api_url_is_refused_on_the_send_page(tmp_path):
    settings = UISettings(
        workspace=tmp_path / "ws",
        port=8765,
        api_url="http://keen.example.com/functions/v1/keen-api",
        api_key=ApiKey("d2b7f3a4-1c8e-4e0b-9a55-7b1f0c2e9abc"),
    )
    client, _ = opened(settings)
    import_id = checked_import(client, settings)
    page = client.get(f"/imports/{import_id}/send").text
    assert "refusing to send the API key over plain http to keen.example.com" in page
    assert "Confirm and send" not in page


def test_a_second_upload_of_a_sent_file_sends_nothing_and_history_reads_the_ledger(
    sandboxed, sandbox
):
    client, settings, app = sandboxed
    first = checked_import(client, settings)
    before = len(sandbox.purchases())
    confirm_send(client, settings, first, "5")
    finish(app, first)
    assert len(sandbox.purchases()) - before == 3
    # The same file uploaded again is a new import: the ledger knows its purchases.
    again = checked_import(client, settings)
    review = client.get(f"/imports/{again}/review").text
    assert "3 rows already created by an earlier run of the same file: not sent again" in review
    # The cards and the grid show those rows as a run would: created, with their purchase ids.
    assert re.findall(r'<option value="(\w+)">[\w ]+ \((\d+)\)</option>', review)[:8] == [
        ("valid", "2"), ("invalid", "6"), ("skipped", "1"), ("created", "3"), ("rejected", "0"),
        ("retried", "0"), ("unconfirmed", "0"), ("not_sent", "0"),
    ]  # fmt: skip
    cards = re.findall(r'<div class="card summary status-(\w+)">.*?(\d+) rows?', review, re.S)
    assert cards == [("file", "12"), ("valid", "2"), ("invalid", "6"), ("skipped", "1"),
                     ("created", "3")]  # fmt: skip
    valid_card = review.split('status-valid">')[1].split("</div>")[0]
    assert "1,250.00" in valid_card and "USD" not in valid_card  # 1500 + 640 + 249.50 USD moved
    created = client.get(f"/imports/{again}/review?status=created").text
    ids = {p["id"] for p in sandbox.purchases()}
    same = r"already created by an earlier run of the same file \(purchase ([-\w]+)\)"
    shown = re.findall(same, created)
    assert len(shown) == 3 and set(shown) <= ids
    history = client.get("/history").text
    row = history.split(f'href="/imports/{again}/results"')[1].split("</tr>")[0]
    pills = dict(re.findall(r'class="pill status-(\w+)">[\w ]+ (\d+)', row))
    assert pills == {"created": "3", "valid": "2", "invalid": "6", "skipped": "1"}
    page = client.get(f"/imports/{again}/send").text
    assert "<h2>About to import 2 purchases</h2>" in page
    confirm_send(client, settings, again, "2")
    finish(app, again)
    assert len(sandbox.purchases()) - before == 3
    results = statuses(app.state.workspace.get(again).file("results"))
    assert results.count("created") == 3 and results.count("rejected") == 2
    history = client.get("/history").text
    assert 'aria-label="Imports in the ledger, newest first"' in history
    assert history.count("<td>purchases_with_errors.csv</td>") == 2
    assert '<span class="pill status-created">created 3' in history


def test_a_finished_import_says_nothing_left_to_send(sandboxed, sandbox, tmp_path):
    client, settings, app = sandboxed
    source = tmp_path / "two.csv"
    source.write_text(
        f"Lead ID,Amount,Date,Reference\n{LEAD},11.00,2026-03-02,T-1\n{LEAD},12.00,2026-03-02,T-2\n"
    )
    import_id = checked_import(client, settings, source)
    confirm_send(client, settings, import_id, "2")
    finish(app, import_id)
    page = client.get(f"/imports/{import_id}/send").text
    assert "<h2>Nothing left to send</h2>" in page
    assert "Confirm and send" not in page
    assert confirm_send(client, settings, import_id, "2").status_code == 400


def test_confirm_pressed_twice_at_once_starts_one_send(tmp_path, monkeypatch):
    """Two "Confirm and send" requests at the same moment (a double click, two tabs): the one
    that waited for the other's plan goes to the progress page; one send, one ledger import."""
    import threading
    import time

    import httpx

    from importer.ui import background
    from ui.browser import start_live_ui

    planned, start, starts = background.make_plan, background.start, []

    def slow_plan(session, settings):  # both requests are past the first look at the session
        time.sleep(0.3)
        return planned(session, settings)

    def counted_start(*args, **kwargs):
        starts.append(args[0])
        return start(*args, **kwargs)

    monkeypatch.setattr(background, "make_plan", slow_plan)
    monkeypatch.setattr(background, "start", counted_start)
    live, stop = start_live_ui(tmp_path / "ws")
    try:
        with httpx.Client(base_url=live.root, follow_redirects=False) as web:
            web.get(f"/?token={live.settings.token}")
            cookie = web.cookies[f"keen_import_session_{live.settings.port}"]
            form = {"csrf_token": live.settings.csrf_token_for(cookie)}
            origin = {"Origin": live.root}
            with open(SAMPLE, "rb") as handle:
                files = {"file": ("march.csv", handle, "text/csv")}
                sent = web.post("/upload", data=form, files=files, headers=origin)
            import_id = sent.headers["location"].split("/")[2]
            assert (
                web.post(f"/imports/{import_id}/columns", data=form, headers=origin).status_code
                == 303
            )
            answers = []

            page = web.get(f"/imports/{import_id}/send").text

            def press() -> None:
                data = {**form, "rows_to_send": "5", "shown": shown_token(page)}
                answers.append(web.post(f"/imports/{import_id}/send", data=data, headers=origin))

            pressing = [threading.Thread(target=press) for _ in range(2)]
            for thread in pressing:
                thread.start()
            for thread in pressing:
                thread.join(30)
            session = live.app.state.sessions.get(import_id)
            session.thread.join(60)
        assert [(a.status_code, a.headers["location"]) for a in answers] == [
            (303, f"/imports/{import_id}/progress")
        ] * 2
        # one send: 5 rows, one of them to a lead the key cannot see (rejected, not created)
        assert (len(starts), live.sandbox.stats()["create_calls"]) == (1, 4)
        assert (session.progress.finished, session.report.exit_code) == (True, 1)
    finally:
        stop()


def test_a_send_the_api_refused_says_so_on_the_results_page(sandboxed, sandbox):
    client, settings, app = sandboxed
    import_id = checked_import(client, settings)
    right = settings.api_key
    settings.api_key = ApiKey("d2b7f3a4-1c8e-4e0b-9a55-000000000000")  # a key Keen refuses
    try:
        confirm_send(client, settings, import_id, "5")
        finish(app, import_id)
    finally:
        settings.api_key = right
    page = client.get(f"/imports/{import_id}/results").text
    said = '<p class="error" role="alert">The last run stopped with an error: Invalid API key'
    assert said in page
    assert "Check the key on the API key page; nothing was sent." in page


def test_nothing_left_to_send_refuses_any_typed_count(sandboxed, sandbox, tmp_path):
    """A second upload of a file already sent: "0" (or any number) typed starts no send."""
    client, settings, app = sandboxed
    source = purchases_file(tmp_path / "done.csv", 2, 40, "2026-03-05", "D")
    first = checked_import(client, settings, source)
    confirm_send(client, settings, first, "2")
    finish(app, first)
    before = len(sandbox.purchases())
    again = checked_import(client, settings, source)
    for typed in ("0", "2"):
        answer = confirm_send(client, settings, again, typed)
        assert answer.status_code == 400
        assert "<h2>Nothing left to send</h2>" in answer.text
        said = '<p class="error" role="alert">Nothing left to send: nothing was sent.</p>'
        assert said in answer.text
    session = app.state.sessions.get(again)
    assert (session.thread, session.progress, session.report) == (None, None, None)
    assert len(sandbox.purchases()) == before


def send_total(page: str) -> str:
    """The send page's total, as its markup has it."""
    return re.search(r"<dt>Total</dt><dd>(.*?)</dd>", page, re.S)[1]


def test_the_send_total_leaves_out_rows_edited_since_they_were_sent(sandboxed, sandbox, tmp_path):
    """A row created before whose amount changed since is not sent (Keen cannot change a
    purchase): the send page's total leaves its amount out, as its count does."""
    client, settings, app = sandboxed
    header = "Lead ID,Amount,Currency,Date,Reference\n"
    rows = [
        f"{LEAD},{amount},USD,2026-03-06,E-{n}\n" for n, amount in enumerate(("50.00", "51.00"))
    ]
    sent = tmp_path / "e.csv"
    sent.write_text(header + "".join(rows))
    first = checked_import(client, settings, sent)
    confirm_send(client, settings, first, "2")
    finish(app, first)
    edited = [rows[0].replace(",50.00,", ",1649.00,"), rows[1]]  # E-0: same lead, date, reference
    new = f"{LEAD},52.00,USD,2026-03-06,E-2\n"
    for folder, lines in (("edited", edited), ("more", [*edited, new])):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "e.csv").write_text(header + "".join(lines))
    again = checked_import(client, settings, tmp_path / "edited" / "e.csv")
    page = client.get(f"/imports/{again}/send").text
    assert "<h2>Nothing left to send</h2>" in page
    assert send_total(page) == "0"
    more = checked_import(client, settings, tmp_path / "more" / "e.csv")
    page = client.get(f"/imports/{more}/send").text
    assert "<h2>About to import 1 purchase</h2>" in page
    assert send_total(page) == '<span class="num">52.00 USD</span>'


def test_a_send_confirmed_on_a_page_another_tab_changed_sends_nothing(sandboxed, sandbox, tmp_path):
    """Tab B shows 3 purchases, 4,500.00 in all; tab A then takes the amounts from another
    column and checks again; B's "Confirm and send" (the right count typed) sends nothing."""
    client, settings, app = sandboxed
    path = tmp_path / "two_amounts.csv"
    path.write_text(
        "Lead ID,Amount,Net,Date,Reference\n"
        + "".join(f"{LEAD},1500.00,{5 + i}.25,2026-03-0{i + 1},R-{i}\n" for i in range(3))
    )
    import_id = checked_import(client, settings, path)
    tab_b = client.get(f"/imports/{import_id}/send").text
    assert "About to import 3 purchases" in tab_b
    assert '<span class="num">4,500.00 </span>' in tab_b
    before = len(sandbox.purchases())
    remapped = check_file(client, settings, import_id, {"purchase_amount": "Net"})  # tab A
    assert remapped.status_code == 303
    answer = _confirmed_from_a_stale_page(sandboxed, sandbox, import_id, tab_b, before)
    assert '<span class="num">18.75 </span>' in answer  # the plan now, to review
    sent = confirm_send(client, settings, import_id, "3")
    assert (sent.status_code, sent.headers["location"]) == (303, f"/imports/{import_id}/progress")
    assert finish(app, import_id).report.summary.count("created") == 3


def test_rows_are_fixed_in_place_after_an_online_check(sandboxed, sandbox):
    """An online check sends nothing: "Fix row N" stays, and a fix is checked like before it."""
    client, settings, app = sandboxed
    import_id = checked_import(client, settings)
    post(client, settings, f"/imports/{import_id}/online")
    assert finish(app, import_id).report.dry_run
    grid = client.get(f"/imports/{import_id}/review?status=invalid").text
    assert grid.count('<button type="submit" form="fix-') == 6
    back = f"/imports/{import_id}/review?status=invalid"
    data = {"cell:Amount": "12.50", "was:Amount": "12,5O", "back": back}
    answer = post(client, settings, f"/imports/{import_id}/rows/5", data=data)
    assert (answer.status_code, answer.headers["location"]) == (303, back)
    page = client.get(f"/imports/{import_id}/review?q=INV-9004").text
    assert '<tr class="status-valid">' in page
    assert "These are the rows and totals of the last send or online check." not in page
    grid = client.get(back).text
    assert grid.count('<button type="submit" form="fix-') == 5


def test_a_check_after_a_send_keeps_its_results_and_a_restart_keeps_the_fixes(
    sandboxed, sandbox, tmp_path
):
    """ "Check file" after a send writes into checks/: the send's results (purchase ids) and
    manifest stay; after a restart the fix the manifest lists is applied again."""
    client, settings, app = sandboxed
    path = tmp_path / "fixed.csv"
    path.write_text(
        "Lead ID,Amount,Date,Reference\n"
        f'{LEAD},11.00,2026-03-02,F-1\n{LEAD},"12,5O",2026-03-02,F-2\n'
        f"{LEAD},13.00,2026-03-02,F-3\n"
    )
    import_id = checked_import(client, settings, path)
    data = {"cell:Amount": "12.50", "was:Amount": "12,5O"}
    assert post(client, settings, f"/imports/{import_id}/rows/3", data=data).status_code == 303
    confirm_send(client, settings, import_id, "3")
    folder = finish(app, import_id).folder
    sent = {kind: folder.file(kind).read_bytes() for kind in ("results", "manifest")}
    assert len(purchase_ids(folder.file("results"))) == 3
    assert check_file(client, settings, import_id, {}).status_code == 303
    assert "<h2>Nothing left to send</h2>" in client.get(f"/imports/{import_id}/send").text
    assert {kind: folder.file(kind).read_bytes() for kind in sent} == sent
    checked = folder.path / "checks" / "fixed.manifest.json"
    assert json.loads(checked.read_text())["command"] == "validate"

    restarted, again = opened(settings)
    prompt = restarted.get(f"/imports/{import_id}/review")
    assert "Check file</button>" in prompt.text
    pressed = post(restarted, settings, f"/imports/{import_id}/check", data={"next": "review"})
    assert pressed.headers["location"] == f"/imports/{import_id}/review"
    assert {kind: folder.file(kind).read_bytes() for kind in sent} == sent
    session = again.state.sessions.get(import_id)
    assert [(e.row, e.column, e.new) for e in session.job.edits] == [(3, "Amount", "12.50")]
    assert session.checked.summary.count("invalid") == 0
    assert json.loads(checked.read_text())["edits"][0]["new"] == "12.50"


def test_a_send_confirmed_before_another_tab_changed_dates_and_triggers_sends_nothing(
    sandboxed, sandbox, tmp_path
):
    """Tab B shows 2 purchases, 300.00, dates read day first, each with its trigger id; tab A
    reads the dates month first and switches the trigger ids off: the same count and total,
    other dates and other rewards. B's "Confirm and send" sends nothing."""
    client, settings, app = sandboxed
    path = tmp_path / "tabs.csv"
    path.write_text(
        "Lead ID,Amount,Date,Reference,Trigger IDs\n"
        f"{LEAD},100.00,03/04/2026,T-1,aefcfad8-efc8-4849-b3aa-7efe4458a885\n"
        f"{LEAD},200.00,05/06/2026,T-2,a28defe3-9bf0-4273-9247-6f57a5e5a5ab\n"
    )
    import_id = upload(client, settings, path).headers["location"].split("/")[2]
    assert check_file(client, settings, import_id, {}, day_first="day").status_code == 303
    tab_b = client.get(f"/imports/{import_id}/send").text
    assert "About to import 2 purchases" in tab_b
    assert "dates from 2026-04-03 to 2026-06-05" in tab_b
    before = len(sandbox.purchases())
    changed = check_file(client, settings, import_id, {"trigger_ids": ""}, day_first="month")
    assert changed.status_code == 303  # tab A
    answer = _confirmed_from_a_stale_page(sandboxed, sandbox, import_id, tab_b, before)
    assert "dates from 2026-03-04 to 2026-05-06" in answer  # the plan now, to review


def test_the_results_page_of_a_second_upload_counts_like_history_and_review(sandboxed, sandbox):
    """History links a checked import to its Results page: both show the rows the ledger
    holds as created, not validate's "valid" for every row."""
    client, settings, app = sandboxed
    first = checked_import(client, settings)
    confirm_send(client, settings, first, "5")
    finish(app, first)
    again = checked_import(client, settings)
    history = client.get("/history").text
    assert f'href="/imports/{again}/results"' in history
    results = client.get(f"/imports/{again}/results").text
    rows = re.findall(
        r'<tr class="status-(\w+)"><th scope="row">[\w ]+</th><td class="num">(\d+)<', results
    )
    assert dict(rows) == {"valid": "2", "invalid": "6", "skipped": "1", "created": "3"}


def _confirmed_from_a_stale_page(sandboxed, sandbox, import_id: str, page: str, before: int):
    """Confirm the send ``page`` showed (its row count typed) after another tab changed the
    import: 409, no send started, no purchase made. Returns the page answered."""
    client, settings, app = sandboxed
    rows = re.search(r"About to import (\d+) purchases", page)[1]
    data = {"rows_to_send": rows, "shown": shown_token(page)}
    answer = post(client, settings, f"/imports/{import_id}/send", data=data)
    assert answer.status_code == 409
    assert "the import changed since this page was shown" in answer.text
    assert app.state.sessions.get(import_id).thread is None
    assert len(sandbox.purchases()) == before
    return answer.text
