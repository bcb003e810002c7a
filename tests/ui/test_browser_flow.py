"""The flow speaks to the person in front of it, in a real browser (Playwright driving Debian's
headless Chromium), found by accessible names: the "Command line" box, one "Check online",
the next step after it, the step bar, "Send stopped", counts in the singular, no page
scrolling sideways, and axe-core on each page this work changed.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from importer.ui.command import join_words
from ui.browser import screenshot

SAMPLE = Path("sample_data/purchases_with_errors.csv").resolve()
LEAD = "47378190-96da-4dac-b2ff-5d2a386ecbe0"
STEP = 'nav[aria-label="Steps of this import"] [aria-current="step"]'


def upload(page, path: Path) -> str:
    page.get_by_label("Spreadsheet file").set_input_files(str(path))
    page.get_by_role("button", name="Upload").click()
    page.wait_for_url("**/columns")
    return page.url.split("/")[-2]


def check_file(page) -> None:
    page.get_by_role("button", name="Check file").click()
    page.wait_for_url(re.compile(r"/(review|questions)$"))


def wait_until_finished(page) -> None:
    page.get_by_role("link", name="See the results").wait_for(state="visible", timeout=120_000)


def stop_a_slow_send(page, sandbox, rows: int) -> None:
    """From the review page: send all ``rows`` to a slowed ``sandbox``, press Stop once some
    are done, and wait until the send has stopped (the sandbox is fast again after)."""
    from importer.sandbox.faults import Faults

    sandbox.set_faults(Faults(latency_ms=25))
    try:
        page.get_by_role("button", name="Send to Keen").click()
        page.get_by_label("Rows to send").fill(str(rows))
        page.get_by_role("button", name="Confirm and send").click()
        page.wait_for_url("**/progress")
        page.get_by_text(re.compile(rf"^[1-9][\d,]* of {rows:,} rows done")).wait_for()
        page.get_by_role("button", name="Stop").click()
        wait_until_finished(page)
    finally:
        sandbox.set_faults(Faults())


def step(page) -> str:
    """The step the step bar marks as the current one."""
    return page.locator(STEP).inner_text()


def shown_text(page) -> str:
    """What the page shows, its "Command line" box left out."""
    return page.evaluate(
        "() => { const boxes = [...document.querySelectorAll('[aria-label=\"Command line\"]')];"
        " boxes.forEach(e => { e.style.display = 'none'; });"
        " const text = document.body.innerText;"
        " boxes.forEach(e => { e.style.display = ''; }); return text; }"
    )


def scrolls_sideways(page) -> bool:
    return page.evaluate(
        "() => document.documentElement.scrollWidth > document.documentElement.clientWidth"
    )


def test_the_command_line_box_shows_the_exact_command_of_the_choices(page, live, axe, tmp_path):
    source = tmp_path / "shop.csv"
    source.write_text(
        "Lead ID,Amount,Date,Financial Status\n"
        f"{LEAD},10.00,03/04/2026,paid\n{LEAD},11.00,05/06/2026,refunded\n"
    )
    import_id = upload(page, source)
    page.get_by_label("File encoding", exact=True).select_option(label="Central European (cp1250)")
    page.get_by_role("button", name="Use this encoding", exact=True).click()
    page.wait_for_load_state()
    page.get_by_label("Dates", exact=True).select_option(label="Day first: 23/04/2026")
    check_file(page)
    page.get_by_label("Column", exact=True).select_option("Financial Status")
    page.get_by_role("button", name="Show values").click()
    page.get_by_label(re.compile(r"^paid \(")).check()
    page.get_by_role("button", name="Keep only these rows").click()
    page.wait_for_url("**/review")

    box = page.get_by_role("region", name="Command line")
    box.get_by_text("Command line", exact=True).click()  # it opens
    screenshot(page, "12-command-line-box")
    axe.check(page, "review")
    folder = live.app.state.workspace.get(import_id)
    expected = join_words(
        ["keen-import", "validate", str(folder.upload), "--mapping", str(folder.mapping_path),
         "--day-first", "--encoding", "cp1250", "--action", "create_purchase",
         "--where", "Financial Status=paid"],
        windows=os.name == "nt",
    )  # fmt: skip
    assert box.locator("pre").inner_text() == expected
    assert "--" not in shown_text(page)
    page.goto(f"{live.root}/imports/{import_id}/online")
    assert step(page) == "4. Check online"
    box = page.get_by_role("region", name="Command line")
    box.get_by_text("Command line", exact=True).click()
    assert box.locator("pre").inner_text().endswith(" --sandbox --dry-run")
    assert "--" not in shown_text(page)
    axe.check(page, "check online")


def test_one_check_online_then_send_is_the_next_step(page, axe):
    upload(page, SAMPLE)
    assert step(page) == "1. Match columns"
    check_file(page)
    assert step(page) == "3. Review"
    assert page.get_by_role("button", name="Check online").count() == 1
    page.get_by_role("button", name="Check online").click()  # one press starts it
    page.wait_for_url("**/progress")
    assert step(page) == "4. Check online"
    wait_until_finished(page)
    assert page.get_by_role("heading", name="Online check finished").is_visible()
    assert page.get_by_role("button", name="Check online").count() == 0
    axe.check(page, "progress: online check")
    page.get_by_role("button", name="Send to Keen").click()
    page.wait_for_url(re.compile(r"/send\??$"))
    assert step(page) == "5. Send"
    box = page.get_by_role("region", name="Command line")
    box.get_by_text("Command line", exact=True).click()
    assert box.locator("pre").inner_text().endswith(" --sandbox")
    axe.check(page, "send")
    rows = re.search(r"Type (\d+) to confirm", page.locator("#rows-help").inner_text())[1]
    page.get_by_label("Rows to send").fill(rows)
    page.get_by_role("button", name="Confirm and send").click()
    page.wait_for_url("**/progress")
    assert step(page) == "5. Send"
    wait_until_finished(page)
    assert page.get_by_role("heading", name="Send finished").is_visible()
    assert page.get_by_role("button", name="Send to Keen").count() == 0
    page.get_by_role("link", name="See the results").click()
    assert step(page) == "6. Results"
    assert page.get_by_role("region", name="Command line").count() == 1
    axe.check(page, "results")
    assert "--" not in shown_text(page)


def test_the_step_bar_marks_the_questions_step(page, axe, tmp_path):
    dates = tmp_path / "dates.csv"
    dates.write_text(f"Lead ID,Amount,Date\n{LEAD},10.00,03/04/2026\n{LEAD},11.00,05/06/2026\n")
    upload(page, dates)
    axe.check(page, "columns")
    assert page.get_by_label("Amount (purchase_amount)", exact=True).input_value() == "Amount"
    check_file(page)
    assert step(page) == "2. Questions"
    assert "--" not in shown_text(page)
    axe.check(page, "questions")


def test_stop_says_send_stopped(page, live, tmp_path):
    source = tmp_path / "many.csv"
    source.write_text(
        "Lead ID,Amount,Date,Reference\n"
        + "".join(f"{LEAD},{10 + i}.00,2026-03-02,S-{i}\n" for i in range(2000))
    )
    upload(page, source)
    check_file(page)
    stop_a_slow_send(page, live.sandbox, 2000)
    assert page.get_by_role("heading", name="Send stopped").is_visible()
    assert page.get_by_role("button", name="Send to Keen").count() == 0
    page.get_by_role("link", name="See the results").click()
    assert page.get_by_text(re.compile(r"^Send stopped ")).is_visible()
    assert page.get_by_role("button", name="Resume").is_visible()


def test_a_one_row_file_is_counted_in_the_singular(page, axe, tmp_path):
    one = tmp_path / "one.csv"
    one.write_text(f"Lead ID,Amount,Date\n{LEAD},10.00,2026-03-02\n")
    upload(page, one)
    check_file(page)
    summary = page.get_by_role("region", name="Summary")
    assert summary.locator(".big").all_inner_texts() == ["1 row", "1 row"]
    assert page.get_by_text("1 row matches; showing 1–1.").is_visible()
    page.get_by_role("button", name="Send to Keen").click()
    assert page.get_by_role("heading", name="About to import 1 purchase").is_visible()
    page.get_by_label("Rows to send").fill("1")
    page.get_by_role("button", name="Confirm and send").click()
    wait_until_finished(page)
    assert page.get_by_role("status").inner_text() == "1 of 1 row done"
    axe.check(page, "progress: send")
    assert "1 rows" not in shown_text(page)


def test_a_wide_export_scrolls_inside_its_grid_not_the_page(page, axe, tmp_path):
    wide = tmp_path / "wide.csv"
    extra = [f"Extra_column_{i}_with_a_long_header_and_no_spaces" for i in range(40)]
    wide.write_text(
        ",".join(["Lead ID", "Amount", "Date", *extra]) + "\n"
        + f"{LEAD},1O.00,2026-03-01," + ",".join(f"value-{i}-" + "x" * 60 for i in range(40))
        + "\n"
    )  # fmt: skip
    upload(page, wide)
    assert not scrolls_sideways(page)
    check_file(page)
    assert page.get_by_role("button", name="Fix row 2").count() == 1
    assert not scrolls_sideways(page)
    axe.check(page, "review: wide export")


def test_a_file_without_data_rows_stops_at_upload(page, axe, tmp_path):
    empty = tmp_path / "march.csv"
    empty.write_text("Lead ID,Amount,Date\n")
    page.get_by_label("Spreadsheet file").set_input_files(str(empty))
    page.get_by_role("button", name="Upload").click()
    page.wait_for_load_state()
    assert page.get_by_role("alert").inner_text() == (
        "march.csv has a header row but no data rows: nothing to import."
    )
    axe.check(page, "upload: no data rows")


def test_the_pages_changed_have_no_serious_accessibility_violations(axe):
    assert set(axe.pages) >= {
        "review", "progress: online check", "send", "results", "columns", "questions",
        "progress: send", "review: wide export", "check online", "upload: no data rows",
    }  # fmt: skip
    assert axe.violations == []
