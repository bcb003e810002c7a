"""The review grid in a real browser: a wide export scrolls inside the grid's own box (by
mouse or keyboard), the row number, status and header stay in view, the page never scrolls
sideways; axe-core finds nothing serious on the review page.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ui.browser import screenshot

LEAD = "47378190-96da-4dac-b2ff-5d2a386ecbe0"
EXTRA_COLUMNS = 37  # with Lead ID, Amount and Date: 40 columns


def wide_export(folder: Path, rows: int = 60) -> Path:
    """A 40-column export: the three mapped columns, then 37 columns of notes."""
    notes = [f"Note {n}" for n in range(1, EXTRA_COLUMNS + 1)]
    lines = [",".join(["Lead ID", "Amount", "Date", *notes])]
    for i in range(rows):
        cells = [LEAD, f"{100 + i}.50", f"2026-03-{1 + i % 28:02d}"]
        lines.append(",".join(cells + [f"remark {n} of row {i + 2}" for n in range(1, 38)]))
    path = folder / "wide.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def reviewed(page, path: Path) -> None:
    """Upload, accept the suggested column matches, check: the review page."""
    page.get_by_label("Spreadsheet file").set_input_files(str(path))
    page.get_by_role("button", name="Upload").click()
    page.wait_for_url("**/columns")
    page.get_by_role("button", name="Check file").click()
    page.wait_for_url("**/review")


def left_of(locator) -> float:
    return locator.bounding_box()["x"]


def test_a_wide_export_scrolls_inside_the_grid_and_the_row_number_stays(page, axe, tmp_path):
    reviewed(page, wide_export(tmp_path))
    box = page.get_by_role("region", name="Rows", exact=True)
    row_number = box.get_by_role("rowheader", name="2", exact=True)
    status = box.get_by_role("row").nth(1).get_by_role("cell").first
    last_header = box.get_by_role("columnheader", name=f"Note {EXTRA_COLUMNS}")
    assert box.evaluate("el => el.scrollWidth > el.clientWidth")  # wider than its box
    before = (left_of(row_number), left_of(status), left_of(last_header))

    box.evaluate("el => { el.scrollLeft = el.scrollWidth; }")
    assert box.evaluate("el => el.scrollLeft") > 0
    assert left_of(row_number) == before[0]
    assert left_of(status) == before[1]
    assert left_of(last_header) < before[2]  # the far columns came into view
    assert row_number.is_visible() and status.inner_text() == "valid"
    assert page.evaluate("document.scrollingElement.scrollWidth <= window.innerWidth")
    assert page.evaluate("window.scrollX") == 0

    axe.check(page, "review with a 40-column file")
    assert axe.violations == []
    screenshot(page, "11-grid-read-as")


def test_the_grid_box_scrolls_by_keyboard_and_keeps_its_header(page, tmp_path):
    reviewed(page, wide_export(tmp_path))
    box = page.get_by_role("region", name="Rows", exact=True)
    header = box.get_by_role("columnheader", name="Row", exact=True)
    box.focus()

    def header_in_box() -> float:  # how far below the box's top edge the header row is
        return header.bounding_box()["y"] - box.bounding_box()["y"]

    below = header_in_box()
    page.keyboard.press("ArrowRight")
    page.keyboard.press("PageDown")
    page.wait_for_function("el => el.scrollLeft > 0 && el.scrollTop > 0", arg=box.element_handle())
    assert header_in_box() == pytest.approx(below, abs=1)  # the header row stays at the top
    assert page.evaluate("window.scrollX") == 0


def test_the_browser_shows_what_a_cell_was_read_as(page, tmp_path):
    reviewed(page, wide_export(tmp_path, rows=3))
    cell = page.get_by_role("region", name="Rows", exact=True).get_by_role("row").nth(1)
    assert "100.50" in cell.inner_text() and "1 March 2026" in cell.inner_text()
