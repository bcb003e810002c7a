"""The review grid at the endpoint: what each cell was read as, and the counts after a fix.

After "Fix row N" the cards, the grid's status filter, the send page and the results file come
from one check of the whole file, so they agree exactly.
"""

from __future__ import annotations

import csv
import html
import json
import re
from collections import Counter
from pathlib import Path

import pytest

from ui.uihelpers import check_file, post, upload

LEADS = (
    "47378190-96da-4dac-b2ff-5d2a386ecbe0",
    "c241330b-01a9-471f-9e8a-774bcf36d58b",
    "6c307511-b2b9-437a-a8df-6ec4ce4a2bbd",
    "9d0c8a1e-4b2f-4c6d-8e7f-0a1b2c3d4e5f",
)
#: A Danish export: semicolons, decimal commas, a euro sign, day-first dates (all ambiguous).
EXPORT = (
    "Lead ID;Beløb;Fakturadato;Produkt;Fakturanr\n"
    f"{LEADS[0]};1 500,00 €;03/04/2026;Licens Pro;FA-1\n"
    f"{LEADS[1]};249,50 €;05/04/2026;Licens Start;FA-2\n"
    f"{LEADS[2]};12,5O €;07/04/2026;Licens Start;FA-3\n"
    "not-a-lead;99,00 €;08/04/2026;Licens Start;FA-4\n"
    f"{LEADS[3]};1 000,00 €;09/04/2026;Licens Pro;FA-5\n"
    # row 7: row 2 again, but its lead id was cut short
    f"{LEADS[0][:23]};1 500,00 €;03/04/2026;Licens Pro;FA-1\n"
)
MAPPING = {
    "lead_id": "Lead ID",
    "purchase_amount": "Beløb",
    "date": "Fakturadato",
    "product_name": "Produkt",
    "reference": "Fakturanr",
}


@pytest.fixture
def danish(client, settings, tmp_path) -> str:
    """The export uploaded, matched (Copenhagen time), its date question answered: checked."""
    path = tmp_path / "faktura.csv"
    path.write_text(EXPORT, encoding="utf-8")
    answer = upload(client, settings, path)
    import_id = answer.headers["location"].split("/")[2]
    answer = check_file(client, settings, import_id, MAPPING, timezone="Europe/Copenhagen")
    assert answer.headers["location"] == f"/imports/{import_id}/questions"
    page = client.get(f"/imports/{import_id}/questions").text
    question = re.search(r'name="(answer:day_first:[^"]+)" value="day-first"', page)
    answer = post(
        client, settings, f"/imports/{import_id}/questions", data={question[1]: "day-first"}
    )
    assert answer.headers["location"] == f"/imports/{import_id}/review"
    return import_id


def grid_row(page: str, row: int) -> str:
    """The <tr> of one row of the grid (its markup)."""
    found = re.search(rf'<tr class="status-\w+">\s*<th scope="row">{row}</th>.*?</tr>', page, re.S)
    assert found, f"row {row} is not in the grid"
    return found[0]


def cells_of(row_markup: str) -> list[str]:
    """Each cell of a grid row as text (tags removed, entities decoded, spaces joined)."""
    cells = re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row_markup, re.S)
    return [" ".join(html.unescape(re.sub(r"<[^>]+>", " ", c)).split()) for c in cells]


def test_each_mapped_cell_shows_what_was_read_next_to_the_file_text(client, danish):
    page = client.get(f"/imports/{danish}/review").text
    first = grid_row(page, 2)
    assert cells_of(first)[:8] == [
        "2",
        "valid",
        cells_of(first)[2],  # the reason column: a date in the future, maybe
        f"{LEADS[0]} read as {LEADS[0]}",
        "1 500,00 € read as 1500.00 EUR",
        "03/04/2026 read as 3 April 2026",
        "Licens Pro read as Licens Pro",
        "FA-1 read as FA-1",
    ]  # fmt: skip
    assert (
        '<span class="read read-purchase_amount"><span class="visually-hidden">read as </span>'
        "1500.00 EUR</span>"
    ) in first
    # The date's zone is in its column's header and in the cell's title, with the instant sent.
    assert 'Fakturadato<span class="read">dates in Europe/Copenhagen</span>' in page
    assert 'title="3 April 2026 in Europe/Copenhagen; sent as 2026-04-02T22:00:00Z"' in first
    assert "1000.00 EUR" in grid_row(page, 6)


def test_invalid_rows_show_nothing_read(client, danish):
    page = client.get(f"/imports/{danish}/review").text
    for row in (4, 5, 7):
        markup = grid_row(page, row)
        assert 'class="read' not in markup and "read as" not in markup
    assert 'value="12,5O €" aria-label="Beløb, row 4"' in grid_row(page, 4)


def test_a_status_filter_the_app_does_not_know_shows_every_row(client, danish):
    every = client.get(f"/imports/{danish}/review")
    old = client.get(f"/imports/{danish}/review?status=bogus")  # an edited URL, an old bookmark
    rows = re.compile(r'<tr class="status-\w+">\s*<th scope="row">(\d+)</th>')
    assert (old.status_code, rows.findall(old.text)) == (200, rows.findall(every.text))
    assert rows.findall(every.text) == ["2", "3", "4", "5", "6", "7"]


def test_the_grid_is_a_named_scrolling_region(client, danish):
    page = client.get(f"/imports/{danish}/review").text
    assert (
        '<div class="grid-wrap rows-box" tabindex="0" role="region" aria-label="Rows" '
        'aria-describedby="grid-help">'
    ) in page
    assert 'id="grid-help"' in page


def cards(page: str) -> dict[str, tuple[int, list[str]]]:
    """Status (or "file") -> (rows, amounts as shown) of each summary card."""
    found = re.findall(
        r'<div class="card summary status-(\w*)">\s*<h2>[^<]+</h2>\s*'
        r'<p class="big">([\d,]+) rows?</p>(.*?)</div>',
        page,
        re.S,
    )
    return {
        status or "file": (
            int(rows.replace(",", "")),
            re.findall(r'<p class="num">([^<]+)</p>', rest),
        )
        for status, rows, rest in found
    }


def filter_counts(page: str) -> dict[str, int]:
    """Status -> rows, as the grid's "Show rows" filter offers them (statuses with rows)."""
    select = re.search(r'<select id="status" name="status">(.*?)</select>', page, re.S)[1]
    counts = re.findall(r'<option value="(\w+)"[^>]*>[\w ]+ \(([\d,]+)\)</option>', select)
    return {status: int(n.replace(",", "")) for status, n in counts if n != "0"}


def send_page(client, import_id: str) -> tuple[int, list[str]]:
    """Rows to send and the total per currency, as the send page states them."""
    page = client.get(f"/imports/{import_id}/send").text
    rows = re.search(r"About to import ([\d,]+) purchases", page)[1]
    total = re.search(r"<dt>Total</dt><dd>(.*?)</dd>", page, re.S)[1]
    return int(rows.replace(",", "")), re.findall(r'<span class="num">([^<]+)</span>', total)


def results_counts(app, import_id: str) -> dict[str, int]:
    path = app.state.workspace.get(import_id).file("results")
    with Path(path).open(newline="", encoding="utf-8-sig") as handle:
        return dict(Counter(r["status"] for r in csv.DictReader(handle)))


def manifest(client, import_id: str) -> dict:
    return json.loads(client.get(f"/imports/{import_id}/files/manifest").text)


def fix(client, settings, import_id: str, row: int, column: str, old: str, new: str):
    back = f"/imports/{import_id}/review?status=invalid"
    answer = post(
        client,
        settings,
        f"/imports/{import_id}/rows/{row}",
        data={f"cell:{column}": new, f"was:{column}": old, "back": back},
    )
    assert answer.status_code == 303 and answer.headers["location"] == back
    return client.get(f"/imports/{import_id}/review").text


def test_before_a_fix_the_cards_filter_send_page_and_results_agree(client, settings, app, danish):
    page = client.get(f"/imports/{danish}/review").text
    assert results_counts(app, danish) == {"valid": 3, "invalid": 3}
    assert {k: v[0] for k, v in cards(page).items()} == {"file": 6, "valid": 3, "invalid": 3}
    assert filter_counts(page) == {"valid": 3, "invalid": 3}
    assert send_page(client, danish) == (3, ["2,749.50 EUR"])
    assert cards(page)["valid"][1] == ["2,749.50 EUR"]


def test_after_fix_row_the_cards_filter_send_page_and_results_agree(client, settings, app, danish):
    page = fix(client, settings, danish, 4, "Beløb", "12,5O €", "12,50 €")

    counts = results_counts(app, danish)
    assert counts == {"valid": 4, "invalid": 2}
    shown = cards(page)
    assert {k: v[0] for k, v in shown.items()} == {"file": 6, **counts}
    assert shown["valid"][1] == ["2,762.00 EUR"]  # 1500.00 + 249.50 + 12.50 + 1000.00
    assert shown["invalid"][1] == ["1,599.00 EUR"]  # rows 5 and 7: 99.00 + 1500.00
    assert filter_counts(page) == counts
    assert send_page(client, danish) == (counts["valid"], shown["valid"][1])
    summary = manifest(client, danish)["summary"]["by_status"]
    assert {k: v["rows"] for k, v in summary.items()} == counts
    assert summary["valid"]["amounts"] == {"EUR": "2762.00"}
    assert "12,50 € read as 12.50 EUR" in cells_of(grid_row(page, 4))
    # a reload changes nothing
    assert cards(client.get(f"/imports/{danish}/review").text) == shown


def test_a_fix_from_a_stale_tab_is_refused_and_the_first_fix_stays(client, settings, danish):
    fix(client, settings, danish, 4, "Beløb", "12,5O €", "12,50 €")  # tab A
    stale = post(  # tab B, shown before A's fix: it still says 12,5O €
        client,
        settings,
        f"/imports/{danish}/rows/4",
        data={"cell:Beløb": "13,00 €", "was:Beløb": "12,5O €"},
    )
    assert stale.status_code == 409
    assert (
        '<p class="error" role="alert">Row 4 was fixed meanwhile (in another tab?): Beløb is now '
        "&#39;12,50 €&#39;." in stale.text
    )
    page = client.get(f"/imports/{danish}/review").text
    assert "12,50 € read as 12.50 EUR" in cells_of(grid_row(page, 4))


def test_a_row_fixed_into_a_copy_of_another_is_skipped_everywhere(client, settings, app, danish):
    """Row 7 alone is a valid purchase once its lead is complete, but it is row 2 again: the
    check of the whole file skips it, and every count says so."""
    page = fix(client, settings, danish, 7, "Lead ID", LEADS[0][:23], LEADS[0])

    counts = results_counts(app, danish)
    assert counts == {"valid": 3, "invalid": 2, "skipped": 1}
    assert re.search(r'<tr class="status-skipped">\s*<th scope="row">7</th>', page)
    assert {k: v[0] for k, v in cards(page).items()} == {"file": 6, **counts}
    assert filter_counts(page) == counts
    assert send_page(client, danish) == (3, ["2,749.50 EUR"])
    assert manifest(client, danish)["edits"][0]["new"] == LEADS[0]


def test_a_fix_that_breaks_the_control_totals_goes_back_to_the_column_matches(
    client, settings, app, danish
):
    session = app.state.sessions.get(danish)
    session.job.set_options(expect_rows=3)  # as if typed on the match page: 3 valid rows
    answer = post(
        client,
        settings,
        f"/imports/{danish}/rows/4",
        data={"cell:Beløb": "12,50 €", "was:Beløb": "12,5O €"},
    )
    assert answer.status_code == 400
    assert '<p class="error" role="alert">' in answer.text
    assert session.checked is None  # the review asks for a check rather than show old cards
    review = client.get(f"/imports/{danish}/review").text
    assert "Check file</button>" in review


def test_a_page_past_the_last_shows_the_last_page(client, settings, tmp_path):
    """?page=50 (an old link, an edited URL) and a fix's way back to a page it emptied show
    the last page there is, never "showing 4901–4900"."""
    path = tmp_path / "unreadable.csv"
    path.write_text(
        "Lead ID,Amount,Date,Reference\n"
        + "".join(f"{LEADS[0]},{i}.0O,2026-03-02,U-{i}\n" for i in range(101))  # 101 invalid
    )
    import_id = upload(client, settings, path).headers["location"].split("/")[2]
    assert check_file(client, settings, import_id, {}).status_code == 303
    review = f"/imports/{import_id}/review"
    far = client.get(f"{review}?page=50").text
    assert '<p class="muted" role="status">101 rows match; showing 101–101.</p>' in far
    assert "<span>Page 2 of 2</span>" in far
    assert re.findall(r'<th scope="row">(\d+)</th>', far) == ["102"]
    back = f"{review}?status=invalid&page=2"  # the last invalid row is alone on page 2
    answer = post(
        client,
        settings,
        f"/imports/{import_id}/rows/102",
        data={"cell:Amount": "100.00", "was:Amount": "100.0O", "back": back},
    )
    assert (answer.status_code, answer.headers["location"]) == (303, back)
    page = client.get(back).text
    assert '<p class="muted" role="status">100 rows match; showing 1–100.</p>' in page
    assert "<span>Page 1 of 1</span>" in page
    assert len(re.findall(r'<tr class="status-invalid">', page)) == 100
