"""The flow in a real browser (Playwright driving Debian's headless Chromium), by accessible
names as a screen reader finds them; axe-core on every page; a screenshot of each step.
"""

from __future__ import annotations

import csv
import re
import shutil
import subprocess
import sys
from pathlib import Path

from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from ui.browser import AxeChecker, screenshot
from ui.test_browser_flow import LEAD, SAMPLE, stop_a_slow_send, upload, wait_until_finished

PAGES = {"upload", "columns", "questions", "review", "online", "send", "progress", "results",
         "history", "key"}  # fmt: skip


def read_results(path) -> list[tuple[str, str, str, str]]:
    with open(path, newline="", encoding="utf-8-sig") as handle:
        return [(r["row"], r["status"], r["error"], r["warnings"]) for r in csv.DictReader(handle)]


def test_end_to_end_flow_matches_the_cli(page, live, axe, tmp_path):
    axe.check(page, "upload")
    screenshot(page, "01-upload")
    import_id = upload(page, SAMPLE)
    page.get_by_label("product_description").select_option("Product")  # change one mapping
    axe.check(page, "columns")
    screenshot(page, "02-match-columns")
    page.get_by_role("button", name="Check file").click()
    page.wait_for_url("**/review")
    axe.check(page, "review")
    screenshot(page, "04-review")
    page.get_by_label("Show rows").select_option("invalid")
    page.get_by_role("button", name="Apply").click()
    page.get_by_label("Amount, row 5").fill("12.50")  # was "12,5O": fix it in place
    page.get_by_role("button", name="Fix row 5").click()
    page.wait_for_load_state()
    assert page.get_by_label("Amount, row 5").count() == 0  # no longer invalid
    page.get_by_role("button", name="Save corrected file").click()
    page.get_by_text("Saved the corrected file purchases_with_errors.corrected.csv.").wait_for()

    page.get_by_role("button", name="Check online").click()  # one press starts it
    wait_until_finished(page)
    assert page.get_by_text("Online check finished: nothing was created.").is_visible()
    page.goto(f"{live.root}/imports/{import_id}/online")
    axe.check(page, "online")
    screenshot(page, "05-check-online")

    page.goto(f"{live.root}/imports/{import_id}/review")
    page.get_by_role("button", name="Send to Keen").click()
    axe.check(page, "send")
    screenshot(page, "06-send-confirmation")
    heading = page.get_by_role("heading", name=re.compile("About to import")).inner_text()
    rows = re.search(r"About to import (\d+) purchases", heading)[1]
    assert rows == "6"
    page.get_by_label("Rows to send").fill("60")  # a wrong number sends nothing
    page.get_by_role("button", name="Confirm and send").click()
    assert page.get_by_role("alert").inner_text() == (
        "Nothing was sent: type 6 (the number of rows to send) to confirm."
    )
    page.get_by_label("Rows to send").fill(rows)
    page.get_by_role("button", name="Confirm and send").click()
    page.wait_for_url("**/progress")
    wait_until_finished(page)
    assert page.get_by_role("status").inner_text() == "12 of 12 rows done"
    axe.check(page, "progress")
    screenshot(page, "07-progress")
    page.get_by_role("link", name="See the results").click()
    axe.check(page, "results")
    screenshot(page, "08-results")

    downloads = {}
    for name in ("Download results", "Download created list", "Download manifest"):
        with page.expect_download() as download:
            page.get_by_role("link", name=name).click()
        downloads[name] = tmp_path / download.value.suggested_filename
        download.value.save_as(downloads[name])
    got = read_results(downloads["Download results"])
    assert [(r[0], r[1]) for r in got] == [
        ("2", "created"), ("3", "created"), ("4", "invalid"), ("5", "created"),
        ("6", "invalid"), ("7", "invalid"), ("8", "invalid"), ("9", "skipped"),
        ("10", "rejected"), ("11", "rejected"), ("12", "invalid"), ("13", "created"),
    ]  # fmt: skip
    created = downloads["Download created list"].read_text(encoding="utf-8-sig")
    assert len(created.strip().splitlines()) == 1 + 4
    manifest = downloads["Download manifest"].read_text()
    assert '"column": "Amount"' in manifest and '"new": "12.50"' in manifest

    # The same corrected file and mapping through `keen-import run --sandbox`: same verdicts.
    # Its own ledger: the web app's run already created these purchases in the sandbox's.
    folder = live.app.state.workspace.get(import_id)
    corrected = shutil.copy(folder.file("corrected"), tmp_path / "cli.csv")
    cli = subprocess.run(
        [sys.executable, "-m", "importer", "run", str(corrected), "--sandbox", "--yes",
         "--mapping", str(folder.file("mapping")), "--ledger", str(tmp_path / "cli.sqlite")],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert cli.returncode == 1, cli.stderr  # invalid and rejected rows remain
    assert read_results(tmp_path / "cli.results.csv") == got

    page.goto(f"{live.root}/history")
    axe.check(page, "history")
    screenshot(page, "09-history")
    page.goto(f"{live.root}/key")
    axe.check(page, "key")
    assert axe.violations == []


def test_question_is_answered_in_the_browser(page, axe, tmp_path):
    dates = tmp_path / "dates.csv"
    dates.write_text(f"Lead ID,Amount,Date\n{LEAD},10.00,03/04/2026\n{LEAD},11.00,05/06/2026\n")
    upload(page, dates)
    page.get_by_role("button", name="Check file").click()
    page.wait_for_url("**/questions")
    axe.check(page, "questions")
    screenshot(page, "03-questions")
    assert page.get_by_text("Row 2:").is_visible()
    page.get_by_role("radio").first.check()
    page.get_by_role("button", name="Answer and check").click()
    page.wait_for_url("**/review")
    assert axe.violations == []


def big_file(path: Path, rows: int) -> Path:
    with path.open("w", encoding="utf-8") as out:
        out.write("Lead ID,Amount,Date,Reference\n")
        out.writelines(
            f"{LEAD},{10 + i % 500}.{i % 100:02d},2026-03-{1 + i % 28:02d},INV-{i}\n"
            for i in range(rows)
        )
    return path


def test_stop_mid_way_then_resume_sends_each_row_once(page, live, tmp_path):
    source = big_file(tmp_path / "stop_and_resume.csv", 3000)
    before = len(live.sandbox.purchases())
    import_id = upload(page, source)
    page.get_by_role("button", name="Check file").click()
    page.wait_for_url("**/review")
    stop_a_slow_send(page, live.sandbox, 3000)
    assert page.get_by_role("heading", name="Send stopped").is_visible()
    assert re.fullmatch(
        r"Stopped: [\d,]+ created, [1-9][\d,]* not sent, of 3,000 rows",
        page.get_by_role("status").inner_text(),
    )
    page.get_by_role("link", name="See the results").click()
    assert page.get_by_text("not sent", exact=True).first.is_visible()
    created = sum(1 for r in read_results(live.app.state.workspace.get(import_id).file("results"))
                  if r[1] == "created")  # fmt: skip
    page.get_by_role("button", name="Resume").click()
    # The confirmation asks for the rows left, not the file's 3,000.
    left = 3000 - created
    assert page.get_by_role("heading", name=f"About to import {left:,} purchases").is_visible()
    assert page.get_by_text(f"Type {left} to confirm.").is_visible()
    page.get_by_label("Rows to send").fill(str(left))
    page.get_by_role("button", name="Confirm and send").click()
    wait_until_finished(page)
    folder = live.app.state.workspace.get(import_id)
    statuses = {r[1] for r in read_results(folder.file("results"))}
    assert statuses == {"created"}
    # Every row created exactly once: the ledger kept the resumed run from sending again.
    assert len(live.sandbox.purchases()) - before == 3000
    page.get_by_role("link", name="See the results").click()
    assert page.get_by_role("button", name="Resume").count() == 0


def test_browse_a_200k_row_file_page_by_page(page, tmp_path):
    source = big_file(tmp_path / "big.csv", 200_000)
    upload(page, source)
    page.get_by_role("button", name="Check file").click()
    page.wait_for_url("**/review", timeout=120_000)
    assert page.get_by_text("Page 1 of 2,000").is_visible()
    first = page.locator("table.grid tbody th").first.inner_text()
    page.get_by_role("link", name="Next page").click()
    page.wait_for_url("**page=2#grid")  # a loaded machine: not the first page's text any more
    assert page.get_by_text("Page 2 of 2,000").is_visible()
    assert page.locator("table.grid tbody th").first.inner_text() == str(int(first) + 100)
    page.get_by_role("link", name="Last page").click()
    page.wait_for_url("**page=2000#grid")
    assert page.locator("table.grid tbody th").last.inner_text() == "200001"
    assert page.locator("table.grid tbody tr").count() == 100


def tab_to(page, name: str, limit: int = 120) -> None:
    """Press Tab until the focused control's accessible name is ``name``."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        focused = page.evaluate(
            "() => { const e = document.activeElement;"
            " return (e.labels && e.labels[0] ? e.labels[0].textContent"
            " : e.getAttribute('aria-label') || e.textContent || '').trim(); }"
        )
        if focused == name:
            return
    raise AssertionError(f"{name!r} cannot be reached with the Tab key")


def open_file_chooser_with_space(page, attempts: int = 3):
    """Space on the focused file input opens the chooser; a loaded machine may drop one press."""
    for attempt in range(attempts):
        try:
            with page.expect_file_chooser(timeout=15_000) as chooser:
                page.keyboard.press("Space")
            return chooser.value
        except PlaywrightTimeoutError:
            if attempt == attempts - 1:
                raise
    raise AssertionError("unreachable")


def test_the_whole_flow_works_with_the_keyboard_alone(page, tmp_path):
    tab_to(page, "Spreadsheet file")
    open_file_chooser_with_space(page).set_files(str(SAMPLE))
    tab_to(page, "Upload")
    page.keyboard.press("Enter")
    page.wait_for_url("**/columns")
    tab_to(page, "Check file")
    page.keyboard.press("Enter")
    page.wait_for_url("**/review")
    tab_to(page, "Send to Keen")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/send\??$"))
    tab_to(page, "Rows to send")
    page.keyboard.type("5")
    page.keyboard.press("Enter")
    page.wait_for_url("**/progress")
    wait_until_finished(page)
    tab_to(page, "See the results")
    page.keyboard.press("Enter")
    page.wait_for_url("**/results")
    tab_to(page, "Download results")


def test_axe_does_find_violations(browser, axe):
    """The zero-violation checks above can fail: axe flags a bad page."""
    page = browser.new_page()
    page.set_content('<html><body><img src="x.png"><input type="text"></body></html>')
    checker = AxeChecker(axe.source)
    checker.check(page, "bad page")
    page.close()
    assert any("image-alt" in v for v in checker.violations), checker.violations
    assert any("label" in v for v in checker.violations), checker.violations


def test_the_sandbox_banner_is_inside_a_landmark(page, axe):
    """axe's "region" rule (moderate, so the checks above leave it out): a screen reader's
    landmarks reach every text, the sandbox banner too."""
    page.evaluate(axe.source + "\n;true")
    outside = page.evaluate(
        "async () => (await axe.run(document, {runOnly: ['region']})).violations"
        ".flatMap(v => v.nodes.map(n => n.target.join(' ')))"
    )
    assert outside == []
    banner = page.get_by_role("region", name="Sandbox")
    assert banner.inner_text(timeout=5_000) == (
        "Sandbox: nothing you send here reaches Keen. Purchases go to the local test server."
    )


def test_axe_ran_on_every_page(axe):
    assert set(axe.pages) >= PAGES
    assert axe.violations == []


def test_pages_load_without_console_errors_or_a_favicon_request(browser, live):
    page = browser.new_page()
    errors, asked = [], []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("request", lambda r: asked.append(r.url))
    try:
        page.goto(live.url)
        for path in ("/", "/history", "/key"):
            page.goto(live.root + path)
            page.wait_for_load_state("networkidle")
    finally:
        page.close()
    assert [u for u in asked if u.endswith("/favicon.ico")] == []
    assert errors == []
