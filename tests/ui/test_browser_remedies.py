"""The remedies in a real browser, by accessible names: tick "Skip hidden rows", press "Skip row
3", and the cards, the send page and the results say so; axe-core finds nothing serious on the
review page with its "Choices" and "Keep only some rows".
"""

from __future__ import annotations

import re

from ui.browser import screenshot
from ui.uihelpers import hidden_row_workbook

LEAD = "47378190-96da-4dac-b2ff-5d2a386ecbe0"


def card(page, label: str) -> str:
    """The rows and amounts of one summary card, as shown."""
    box = page.locator("div.card.summary").filter(has=page.get_by_role("heading", name=label))
    return " ".join(box.inner_text().split()[len(label.split()) :])


def test_skip_hidden_rows_and_skip_row_3_change_the_cards_and_the_send(page, live, axe, tmp_path):
    source = hidden_row_workbook(tmp_path / "march.xlsx")
    page.get_by_label("Spreadsheet file").set_input_files(str(source))
    page.get_by_role("button", name="Upload").click()
    page.wait_for_url("**/columns")
    import_id = page.url.split("/")[-2]
    page.get_by_role("button", name="Check file").click()
    page.wait_for_url("**/review")
    assert card(page, "Valid") == "4 rows 28,558.65 USD"
    axe.check(page, "review with remedies")

    page.get_by_label("Skip hidden rows").check()
    page.get_by_role("button", name="Use these choices").click()
    page.wait_for_url("**/review")
    assert page.get_by_label("Skip hidden rows").is_checked()
    assert card(page, "Valid") == "3 rows 4,558.65 USD"
    assert card(page, "Skipped") == "2 rows 24,000.00 USD"

    page.get_by_role("button", name="Skip row 3", exact=True).click()
    page.wait_for_url("**/review*")
    assert card(page, "Valid") == "2 rows 3,558.65 USD"
    assert card(page, "Skipped") == "3 rows 25,000.00 USD"
    assert page.get_by_role("button", name="Skip row 3", exact=True).count() == 0
    assert page.get_by_role("button", name="Put row 3 back").is_visible()
    screenshot(page, "10-choices-and-skip-row")

    page.get_by_role("button", name="Send to Keen").click()
    assert page.get_by_role("heading", name="About to import 2 purchases").is_visible()
    confirm = " ".join(page.locator("div.card.confirm").inner_text().split())
    assert "Total 3,558.65 USD" in confirm
    assert "Hidden rows No hidden rows included (1 hidden row, 24,000.00 USD, not sent)" in confirm
    assert page.get_by_text("Type 2 to confirm.").is_visible()
    page.get_by_label("Rows to send").fill("2")
    page.get_by_role("button", name="Confirm and send").click()
    page.get_by_role("link", name="See the results").wait_for(state="visible", timeout=120_000)

    folder = live.app.state.workspace.get(import_id)
    job = live.app.state.sessions.get(import_id).job
    assert [(r.row, r.status, r.error or "") for r in job.rows().rows] == [
        (2, "created", ""),
        (3, "skipped", "left out in the web app"),
        (4, "skipped", "hidden in the workbook"),
        (5, "created", ""),
        (6, "skipped", "report line"),
    ]
    assert folder.file("results").suffix == ".xlsx"
    assert axe.violations == []
    page.get_by_role("link", name="See the results").click()
    text = " ".join(page.locator("main").inner_text().split())
    assert re.search(r"created 2 3,558\.65 USD", text)
