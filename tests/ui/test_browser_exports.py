"""A Xero invoices export imported end to end in a real browser (Playwright driving Debian's
headless Chromium), by accessible names only: the lead guessed in "Reference" confirmed with
one press of "Check file", the typed confirmation, the results; axe-core on the match page.
"""

from __future__ import annotations

import csv

from conftest import LEAD_3
from exporthelpers import xero_invoices

from ui.test_browser_flow import check_file, shown_text, upload, wait_until_finished

# Leads of the default world's EUR channel ("Contoso Nordic resellers"), as Xero's currency.
EUR = ("ec1b8ca1-f91e-4d4c-9ff4-9b7889463e85", "4b0dbb41-8d52-48f1-942c-3fe860e7a113")


def statuses(path) -> dict[str, tuple[str, str]]:
    with open(path, newline="", encoding="utf-8-sig") as handle:
        return {r["row"]: (r["status"], r["error"]) for r in csv.DictReader(handle)}


def test_xero_invoices_in_chromium(page, live, axe, tmp_path):
    before = len(live.sandbox.purchases())
    import_id = upload(page, xero_invoices(tmp_path, (*EUR, LEAD_3)))

    lead = page.get_by_label("Lead ID (lead_id)", exact=True)
    assert lead.input_value() == "Reference"
    assert "Confirm: guessed from the values" in page.locator("tr", has=lead).inner_text()
    assert page.get_by_label("Amount (purchase_amount)", exact=True).input_value() == "Total"
    assert "--" not in shown_text(page)
    axe.check(page, "columns")
    check_file(page)  # one press confirms the guess

    assert page.url.endswith("/review")
    assert "--" not in shown_text(page)
    page.get_by_role("button", name="Send to Keen").click()
    assert page.get_by_role("heading", name="About to import 3 purchases").is_visible()
    total = page.locator("dt", has_text="Total").locator("xpath=following-sibling::dd[1]")
    assert total.inner_text() == "236.40 EUR"
    assert "--" not in shown_text(page)
    page.get_by_label("Rows to send").fill("3")
    page.get_by_role("button", name="Confirm and send").click()
    wait_until_finished(page)
    page.get_by_role("link", name="See the results").click()

    table = page.get_by_role("table", name="Rows and amounts per status")
    assert table.locator("tbody tr").all_inner_texts() == [
        "created\t2\t177.60 EUR",
        "rejected\t1\t58.80 EUR",
    ]
    assert "--" not in shown_text(page)
    folder = live.app.state.workspace.get(import_id)
    assert statuses(folder.file("results")) == {
        "2": ("created", ""),
        "3": ("created", ""),
        "4": ("rejected", "Lead not accessible"),
    }
    assert sorted(
        (p["lead_id"], p["purchase_amount"], p["date"], p["description"])
        for p in live.sandbox.purchases()[before:]
    ) == [
        (EUR[1], "118.80", "2026-04-22T00:00:00Z", "Pro plan"),
        (EUR[0], "58.80", "2026-04-21T00:00:00Z", "Starter plan"),
    ]
    assert axe.violations == []
