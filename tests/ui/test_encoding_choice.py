"""The "File encoding" choice on the match page: its options, the preview, and what a choice does.

The loader's detection may change (it may learn more code pages), so no test relies on what it
detects for a file, only on that the detected encoding is offered first, marked "(detected)".
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from importer.check.mapping import load_mapping_file
from ui.uihelpers import ORIGIN, check_file, csrf_of, import_id_of, post, selected_mapping, upload

LEAD = "47378190-96da-4dac-b2ff-5d2a386ecbe0"
OFFERED = [
    ("utf-8", "UTF-8"),
    ("cp1252", "Windows Western European (cp1252)"),
    ("cp1250", "Central European (cp1250)"),
    ("cp1251", "Cyrillic (cp1251)"),
    ("cp1253", "Greek (cp1253)"),
    ("cp1254", "Turkish (cp1254)"),
    ("cp1255", "Hebrew (cp1255)"),
    ("cp1256", "Arabic (cp1256)"),
    ("cp1257", "Baltic (cp1257)"),
    ("latin-1", "Latin-1 (latin-1)"),
    ("utf-16", "UTF-16"),
]
MAPPING = {
    "lead_id": "Lead ID",
    "purchase_amount": "Amount",
    "date": "Date",
    "reference": "Reference",
    "product_name": "Product",
}


def write_csv(path: Path, products: list[str], encoding: str, header: str = "") -> Path:
    lines = ["Lead ID,Amount,Date,Reference,Product" + header]
    lines += [f"{LEAD},{10 + i}.00,2026-03-0{i + 1},R-{i + 1},{p}" for i, p in enumerate(products)]
    path.write_bytes(("\n".join(lines) + "\n").encode(encoding))
    return path


@pytest.fixture
def polish(tmp_path) -> Path:
    return write_csv(tmp_path / "polish.csv", ["Łódź sklep", "Gdańsk", "Żółć"], "cp1250")


@pytest.fixture
def western(tmp_path) -> Path:
    products = ["Café Müller", "Señor Niño", "Crème brûlée"]
    return write_csv(tmp_path / "western.csv", products, "cp1252")


def columns_page(client, import_id: str) -> str:
    answer = client.get(f"/imports/{import_id}/columns")
    assert answer.status_code == 200
    return answer.text


def encoding_options(page: str) -> list[tuple[str, str, bool]]:
    """(value, label, selected) of each option of the "File encoding" dropdown."""
    body = re.search(r'<select id="encoding" name="encoding"[^>]*>(.*?)</select>', page, re.S)[1]
    found = re.findall(r'<option value="([^"]*)"( selected)?>([^<]*)</option>', body)
    return [(value, label, bool(selected)) for value, selected, label in found]


def preview(page: str) -> dict[str, list[str] | str]:
    """Label -> the cells shown for that encoding, or the note that it cannot read the file."""
    table = re.search(r'<table class="encoding-preview">(.*?)</table>', page, re.S)[1]
    shown = {}
    for label, cells in re.findall(r'<th scope="row">([^<]*)</th><td>(.*?)</td>', table):
        unreadable = re.fullmatch(r'<span class="muted">([^<]*)</span>', cells)
        shown[label] = unreadable[1] if unreadable else re.findall(r">([^<]*)</span>", cells)
    return shown


def reading(page: str, label: str) -> list[str] | str:
    """The preview of the encoding labelled ``label`` (its row may be the detected one)."""
    shown = preview(page)
    return shown.get(label, shown.get(f"{label} (detected)"))


def samples_of(page: str, field: str) -> list[str]:
    """The sample values the mapping table shows for ``field``."""
    row = re.search(rf'<select id="field-{field}".*?</tr>', page, re.S)[0]
    return re.findall(r'<span class="sample">([^<]*)</span>', row)


def choose(client, settings, import_id: str, encoding: str):
    return post(client, settings, f"/imports/{import_id}/encoding", data={"encoding": encoding})


def test_the_match_page_offers_the_encodings_with_a_preview(client, settings, polish):
    import_id = import_id_of(upload(client, settings, polish))
    page = columns_page(client, import_id)
    assert '<label for="encoding">File encoding</label>' in page
    assert '<button type="submit">Use this encoding</button>' in page
    options = encoding_options(page)
    detected, detected_label, detected_selected = options[0]
    assert detected_label.endswith(" (detected)")
    assert detected_selected
    assert [(value, label) for value, label, _ in options[1:]] == OFFERED
    assert reading(page, "Central European (cp1250)") == ["Łódź sklep", "Gdańsk", "Żółć"]
    assert reading(page, "Windows Western European (cp1252)") == ["£ódŸ sklep", "Gdañsk", "¯ó³æ"]
    assert reading(page, "UTF-8") == "cannot read this file"
    assert reading(page, "UTF-16") == "cannot read this file"
    codecs = {detected, *(value for value, _ in OFFERED)}
    assert len(preview(page)) == len(codecs)  # each encoding once


def test_choosing_an_encoding_reads_the_file_again_and_the_check_uses_it(
    client, settings, app, polish
):
    import_id = import_id_of(upload(client, settings, polish))
    answer = choose(client, settings, import_id, "cp1252")
    assert answer.status_code == 303
    assert answer.headers["location"] == f"/imports/{import_id}/columns"
    assert samples_of(columns_page(client, import_id), "product_name") == [
        "£ódŸ sklep",
        "Gdañsk",
        "¯ó³æ",
    ]
    answer = choose(client, settings, import_id, "cp1250")
    assert answer.headers["location"] == f"/imports/{import_id}/columns"
    page = columns_page(client, import_id)
    assert samples_of(page, "product_name") == ["Łódź sklep", "Gdańsk", "Żółć"]
    assert [value for value, _, selected in encoding_options(page) if selected] == ["cp1250"]

    answer = check_file(client, settings, import_id, MAPPING)
    assert answer.headers["location"] == f"/imports/{import_id}/review"
    # each cell's own text (a mapped cell then says what it was read as)
    grid = re.findall(r"<td[^>]*>([^<]*)<", client.get(f"/imports/{import_id}/review").text)
    assert {"Łódź sklep", "Gdańsk", "Żółć"} <= set(grid)
    job = app.state.sessions.get(import_id).job
    assert [r.cells["Product"] for r in job.rows().rows] == ["Łódź sklep", "Gdańsk", "Żółć"]
    folder = app.state.workspace.get(import_id)
    assert load_mapping_file(folder.mapping_path).encoding == "cp1250"
    manifest = json.loads(folder.file("manifest").read_text(encoding="utf-8"))
    assert manifest["options"]["encoding"] == "cp1250"


def test_a_western_file_can_be_switched_both_ways(client, settings, western):
    import_id = import_id_of(upload(client, settings, western))
    choose(client, settings, import_id, "cp1250")
    page = columns_page(client, import_id)
    assert samples_of(page, "product_name") == ["Café Müller", "Seńor Nińo", "Crčme brűlée"]
    assert choose(client, settings, import_id, "cp1252").status_code == 303
    page = columns_page(client, import_id)
    assert samples_of(page, "product_name") == ["Café Müller", "Señor Niño", "Crème brûlée"]
    assert reading(page, "Central European (cp1250)") == [
        "Café Müller",
        "Seńor Nińo",
        "Crčme brűlée",
    ]
    assert [value for value, _, selected in encoding_options(page) if selected] == ["cp1252"]


def test_the_column_mapping_is_kept_where_the_headers_still_match(client, settings, tmp_path):
    source = write_csv(tmp_path / "towns.csv", ["Łódź sklep"], "cp1250", header=",Miejscowość")
    import_id = import_id_of(upload(client, settings, source))
    choose(client, settings, import_id, "cp1252")
    town = "Miejscowoœæ"  # the header as cp1252 reads it
    mine = {**MAPPING, "product_name": "", "product_description": "Product", "product_id": town}
    assert check_file(client, settings, import_id, mine).status_code == 303
    assert choose(client, settings, import_id, "cp1250").status_code == 303
    page = columns_page(client, import_id)
    assert re.search(r"Headers found on row 1: ([^<]*)<", page)[1] == (
        "Lead ID, Amount, Date, Reference, Product, Miejscowość"
    )
    chosen = selected_mapping(page)
    assert (chosen["product_description"], chosen["product_name"]) == ("Product", "")
    assert chosen["product_id"] == ""  # its header is no longer in the file


def test_the_next_upload_with_the_same_headers_detects_its_encoding_afresh(
    client, settings, tmp_path, polish
):
    import_id = import_id_of(upload(client, settings, polish))
    choose(client, settings, import_id, "cp1250")
    check_file(client, settings, import_id, {**MAPPING, "product_description": "Reference"})
    same_headers = write_csv(tmp_path / "april.csv", ["Łódź sklep"], "utf-8")
    answer = upload(client, settings, same_headers)
    page = columns_page(client, import_id_of(answer))
    assert "The mapping you used last time for these columns was applied." in page
    assert selected_mapping(page)["product_description"] == "Reference"
    assert samples_of(page, "product_name") == ["Łódź sklep"]


def test_an_encoding_that_cannot_read_the_file_keeps_the_one_in_force(
    client, settings, app, polish
):
    import_id = import_id_of(upload(client, settings, polish))
    choose(client, settings, import_id, "cp1250")
    answer = choose(client, settings, import_id, "utf-8")
    assert answer.status_code == 400
    assert (
        '<p class="error" role="alert">polish.csv cannot be read as utf-8 '
        "(line 2 has characters that are not utf-8)</p>"
    ) in answer.text
    assert "Traceback" not in answer.text
    answer = choose(client, settings, import_id, "utf-16")
    assert answer.status_code == 400
    assert '<p class="error" role="alert">polish.csv does not look like utf-16 text</p>' in (
        answer.text
    )
    page = columns_page(client, import_id)
    assert samples_of(page, "product_name") == ["Łódź sklep", "Gdańsk", "Żółć"]
    assert [value for value, _, selected in encoding_options(page) if selected] == ["cp1250"]
    assert app.state.workspace.get(import_id).meta()["encoding"] == "cp1250"


@pytest.mark.parametrize("value", ["cp037", "", "utf-8-sig", "../etc"], ids=repr)
def test_an_encoding_not_offered_is_refused_and_nothing_changes(
    client, settings, app, polish, value
):
    import_id = import_id_of(upload(client, settings, polish))
    choose(client, settings, import_id, "cp1250")
    folder = app.state.workspace.get(import_id)
    before = (folder.meta(), folder.mapping_path.read_bytes())
    answer = choose(client, settings, import_id, value)
    assert answer.status_code == 400
    assert '<p class="error" role="alert">Choose one of the encodings offered.</p>' in answer.text
    assert (folder.meta(), folder.mapping_path.read_bytes()) == before
    assert app.state.sessions.get(import_id).job.mapping.encoding == "cp1250"


def test_a_cross_origin_or_tokenless_choice_is_refused(client, settings, app, polish):
    import_id = import_id_of(upload(client, settings, polish))
    path = f"/imports/{import_id}/encoding"
    token = csrf_of(client, settings)
    for headers in ({"Origin": "http://evil.example"}, {"Sec-Fetch-Site": "cross-site"}, {}):
        answer = client.post(
            path, data={"csrf_token": token, "encoding": "cp1250"}, headers=headers
        )
        assert answer.status_code == 403, headers
        assert "did not come from this app" in answer.text
    for data in ({"encoding": "cp1250"}, {"csrf_token": "nope", "encoding": "cp1250"}):
        answer = client.post(path, data=data, headers={"Origin": ORIGIN})
        assert answer.status_code == 403
        assert answer.text == "refused: missing or wrong CSRF token; reload the page\n"
    assert "encoding" not in app.state.workspace.get(import_id).meta()
    assert app.state.sessions.get(import_id).job.mapping.encoding is None


def test_the_choice_is_remembered_after_a_restart(client, settings, polish):
    from starlette.testclient import TestClient

    from importer.ui import create_app

    import_id = import_id_of(upload(client, settings, polish))
    choose(client, settings, import_id, "cp1250")
    again = TestClient(create_app(settings), base_url=ORIGIN, follow_redirects=False)
    again.get(f"/?token={settings.token}")
    page = columns_page(again, import_id)
    assert samples_of(page, "product_name") == ["Łódź sklep", "Gdańsk", "Żółć"]
    assert [value for value, _, selected in encoding_options(page) if selected] == ["cp1250"]


def test_the_preview_shows_cells_as_text(client, settings, tmp_path):
    source = write_csv(tmp_path / "evil.csv", ['"<img src=x onerror=alert(1)>Łódź"'], "cp1250")
    import_id = import_id_of(upload(client, settings, source))
    page = columns_page(client, import_id)
    assert "<img" not in page
    cells = reading(page, "Central European (cp1250)")
    assert cells == ["&lt;img src=x onerror=alert(1)&gt;Łódź"]


def test_a_workbook_has_no_encoding_choice(client, settings, tmp_path):
    from conftest import write_xlsx

    book = write_xlsx(tmp_path / "q1.xlsx", {"March": [["Lead ID", "Product"], [LEAD, "Łódź"]]})
    import_id = import_id_of(upload(client, settings, book))
    page = columns_page(client, import_id)
    assert "File encoding" not in page
    assert "Use this encoding" not in page
    assert 'class="encoding-preview"' not in page
    answer = choose(client, settings, import_id, "cp1250")
    assert answer.status_code == 400
    assert "only a CSV file has an encoding; a workbook has none" in answer.text


# -- in a real browser (Playwright + Debian's Chromium, as tests/ui/test_browser.py) ----------


def test_the_encoding_is_chosen_in_the_browser_by_its_label(page, axe, polish):
    """The browser fixtures are tests/ui/conftest.py's (one live app and Chromium per module)."""
    page.get_by_label("Spreadsheet file").set_input_files(str(polish))
    page.get_by_role("button", name="Upload").click()
    page.wait_for_url("**/columns")
    page.get_by_label("File encoding", exact=True).select_option(label="Central European (cp1250)")
    page.get_by_role("button", name="Use this encoding", exact=True).click()
    page.wait_for_load_state()
    samples = page.get_by_role("row", name=re.compile(r"\(product_name\)")).locator(".sample")
    assert samples.all_inner_texts() == ["Łódź sklep", "Gdańsk", "Żółć"]
    assert page.get_by_label("File encoding", exact=True).input_value() == "cp1250"
    axe.check(page, "columns")
    assert axe.violations == []
