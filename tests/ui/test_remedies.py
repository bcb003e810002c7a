"""The command line's remedies as controls of the web app, at the endpoint: "Skip hidden rows",
"Keep only some rows", "Skip row N" / "Put row N back", more decimals, duplicates, no amount.

Each test compares what the page does with what the flag does (the same rows, statuses and
reasons in the results file), and reads the manifest, the import's mapping file and the mapping
remembered for the next upload.
"""

from __future__ import annotations

import csv
import html
import json
import re
import shutil
from pathlib import Path

from starlette.testclient import TestClient

from importer.check.mapping import load_mapping_file
from importer.cli import main
from importer.ui import create_app
from importer.ui.command import for_import
from importer.ui.remedies import saved_rows_left_out
from ui.uihelpers import (
    ORIGIN,
    check_file,
    confirm_send,
    hidden_row_workbook,
    import_id_of,
    post,
    upload,
)

LEAD = "47378190-96da-4dac-b2ff-5d2a386ecbe0"
HEADER = ["Lead ID", "Amount", "Currency", "Date", "Reference"]


def shop_csv(path: Path) -> Path:
    """A Shopify-like export: 4 paid orders, 2 refunded, 1 pending."""
    statuses = ["paid", "refunded", "paid", "pending", "paid", "refunded", "paid"]
    lines = ["Name,Lead ID,Total,Currency,Created at,Financial Status"]
    lines += [
        f"#10{i},{LEAD},{100 + i}.00,USD,2026-03-0{i + 1},{status}"
        for i, status in enumerate(statuses)
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def plain_csv(path: Path, amounts: list[str]) -> Path:
    """One purchase per amount (rows 2, 3, ...), references R-1, R-2, ..."""
    lines = [",".join(HEADER)]
    lines += [f"{LEAD},{a},USD,2026-03-{i + 1:02d},R-{i + 1}" for i, a in enumerate(amounts)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def checked(client, settings, path: Path, **options) -> str:
    import_id = import_id_of(upload(client, settings, path))
    answer = check_file(client, settings, import_id, {}, **options)
    assert answer.headers["location"] == f"/imports/{import_id}/review", answer.text
    return import_id


def results_of(path: Path) -> list[tuple[str, str, str]]:
    """(row, status, error) of each row of a results file (CSV or XLSX)."""
    if path.suffix == ".xlsx":
        import openpyxl

        sheet = openpyxl.load_workbook(path, read_only=True).worksheets[0]
        lines = [
            ["" if v is None else str(v) for v in row] for row in sheet.iter_rows(values_only=True)
        ]
        found = [dict(zip(lines[0], line, strict=True)) for line in lines[1:]]
    else:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            found = list(csv.DictReader(handle))
    return [(r["row"], r["status"], r["error"]) for r in found]


def cli_results(tmp_path: Path, source: Path, *flags: str) -> list[tuple[str, str, str]]:
    """The results of ``keen-import validate`` on a copy of ``source`` with ``flags``."""
    folder = tmp_path / f"cli{len(list(tmp_path.glob('cli*')))}"
    folder.mkdir()
    copy = shutil.copy(source, folder / source.name)
    assert main(["validate", str(copy), *flags]) in (0, 1)
    return results_of(next(folder.glob("*.results.*")))


def manifest_of(app, import_id: str) -> dict:
    return json.loads(app.state.workspace.get(import_id).file("manifest").read_text("utf-8"))


def remembered(app, import_id: str):
    headers = app.state.sessions.get(import_id).job.overview.headers
    return load_mapping_file(app.state.workspace.remembered_mapping(headers))


def text_of(markup: str) -> str:
    """Visible text of some markup: tags removed, entities decoded, spaces joined."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", markup)).split())


def section(page: str, label: str) -> str:
    found = re.search(rf'<section class="card \w+" id="\w+" aria-labelledby="(\w|-)+">\s*'
                      rf'<h2 id="[\w-]+">{label}</h2>.*?</section>', page, re.S)  # fmt: skip
    assert found, f"no {label!r} section"
    return found[0]


def cards(page: str) -> dict[str, str]:
    """Summary card label -> its rows and amounts as text."""
    found = re.findall(r'<div class="card summary[^"]*">\s*<h2>([^<]+)</h2>(.*?)</div>', page, re.S)
    return {label: text_of(body) for label, body in found}


def send_page(client, import_id: str) -> str:
    answer = client.get(f"/imports/{import_id}/send")
    assert answer.status_code == 200
    return text_of(answer.text)


def choose(client, settings, import_id: str, **ticked: bool):
    """Press "Use these choices" with these checkboxes ticked (the others shown, unticked)."""
    page = client.get(f"/imports/{import_id}/review").text
    shown = re.findall(r'<input type="hidden" name="shown" value="(\w+)">', page)
    data = {"shown": shown, **{name: "1" for name, on in ticked.items() if on}}
    return post(client, settings, f"/imports/{import_id}/choices", data=data)


# --- hidden rows ----------------------------------------------------------------------------


def test_hidden_rows_are_stated_on_the_send_page_and_skip_hidden_rows_leaves_them_out(
    client, settings, app, tmp_path
):
    source = hidden_row_workbook(tmp_path / "march.xlsx")
    import_id = checked(client, settings, source)
    review = client.get(f"/imports/{import_id}/review").text
    assert '<label for="choice-skip_hidden">Skip hidden rows</label>' in review
    assert 'id="choice-skip_hidden" name="skip_hidden" value="1" aria' in review  # not ticked
    assert cards(review)["Valid"] == "4 rows 28,558.65 USD"
    page = send_page(client, import_id)
    assert "About to import 4 purchases" in page
    assert "Total 28,558.65 USD" in page
    assert "Hidden rows 1 hidden row, 24,000.00 USD included Into" in page
    assert "the difference is the hidden row (24,000.00)" in page

    answer = choose(client, settings, import_id, skip_hidden=True)
    assert answer.headers["location"] == f"/imports/{import_id}/review"

    review = client.get(f"/imports/{import_id}/review").text
    assert 'name="skip_hidden" value="1" checked' in review
    assert cards(review)["Valid"] == "3 rows 4,558.65 USD"
    assert cards(review)["Skipped"] == "2 rows 24,000.00 USD"  # the hidden row, the total line
    page = send_page(client, import_id)
    assert "About to import 3 purchases" in page
    assert "Total 4,558.65 USD" in page
    assert "Hidden rows No hidden rows included (1 hidden row, 24,000.00 USD, not sent)" in page
    assert "matches the sum of its purchase rows without the hidden row (skipped)" in page
    assert "Type 3 to confirm." in page
    folder = app.state.workspace.get(import_id)
    expected = [
        ("2", "valid", ""),
        ("3", "valid", ""),
        ("4", "skipped", "hidden in the workbook"),
        ("5", "valid", ""),
        ("6", "skipped", "report line"),
    ]
    assert results_of(folder.file("results")) == expected
    assert cli_results(tmp_path, source, "--skip-hidden") == expected
    assert manifest_of(app, import_id)["options"]["skip_hidden"] is True
    assert load_mapping_file(folder.mapping_path).skip_hidden is True
    assert remembered(app, import_id).skip_hidden is None  # the next workbook starts without


def test_unticking_skip_hidden_rows_sends_them_again(client, settings, app, tmp_path):
    import_id = checked(client, settings, hidden_row_workbook(tmp_path / "march.xlsx"))
    choose(client, settings, import_id, skip_hidden=True)
    assert choose(client, settings, import_id).status_code == 303
    assert "About to import 4 purchases" in send_page(client, import_id)
    assert manifest_of(app, import_id)["options"]["skip_hidden"] is False


def test_a_csv_file_says_no_hidden_row_is_included_and_offers_no_hidden_rows_choice(
    client, settings, tmp_path
):
    import_id = checked(client, settings, plain_csv(tmp_path / "march.csv", ["10.00", "20.00"]))
    assert "Skip hidden rows" not in client.get(f"/imports/{import_id}/review").text
    page = send_page(client, import_id)
    assert "Hidden rows No hidden rows included (none is hidden in the file)" in page


# --- keep only some rows ------------------------------------------------------------------------


def test_keep_only_the_rows_whose_column_holds_the_values_chosen(client, settings, app, tmp_path):
    source = shop_csv(tmp_path / "orders_export.csv")
    import_id = checked(client, settings, source)
    keep = section(client.get(f"/imports/{import_id}/review").text, "Keep only some rows")
    # The file's status column is offered at once, its values most frequent first.
    assert '<option value="Financial Status" selected>Financial Status</option>' in keep
    assert re.findall(r'<label for="keep-value-\d+">([^<]+)</label>', keep) == [
        "paid (4 rows)",
        "refunded (2 rows)",
        "pending (1 row)",
    ]

    answer = post(client, settings, f"/imports/{import_id}/keep",
                  data={"column": "Financial Status", "value": ["paid"]})  # fmt: skip
    assert answer.headers["location"] == f"/imports/{import_id}/review"

    review = client.get(f"/imports/{import_id}/review").text
    assert cards(review)["Valid"] == "4 rows 412.00 USD"
    assert cards(review)["Skipped"] == "3 rows 309.00 USD"
    keep = text_of(section(review, "Keep only some rows"))
    assert "Keeping only the rows whose Financial Status is paid; the others are skipped." in keep
    grid = text_of(review[review.index('id="grid"') :])
    assert "filtered out by the values chosen to keep" in grid
    assert "About to import 4 purchases" in send_page(client, import_id)
    folder = app.state.workspace.get(import_id)
    expected = [
        ("2", "valid", ""),
        ("3", "skipped", "filtered out by --where"),
        ("4", "valid", ""),
        ("5", "skipped", "filtered out by --where"),
        ("6", "valid", ""),
        ("7", "skipped", "filtered out by --where"),
        ("8", "valid", ""),
    ]
    assert results_of(folder.file("results")) == expected
    assert cli_results(tmp_path, source, "--where", "Financial Status=paid") == expected
    assert manifest_of(app, import_id)["options"]["where"] == ["Financial Status=paid"]
    assert load_mapping_file(folder.mapping_path).where == ("Financial Status=paid",)
    # Filtered, the file's refunds are no longer warned about.
    assert "marks rows as not real sales" not in review


def test_two_values_kept_then_every_row_again(client, settings, app, tmp_path):
    import_id = checked(client, settings, shop_csv(tmp_path / "orders_export.csv"))
    post(client, settings, f"/imports/{import_id}/keep",
         data={"column": "Financial Status", "value": ["paid", "pending"]})  # fmt: skip
    review = client.get(f"/imports/{import_id}/review").text
    assert cards(review)["Valid"] == "5 rows 515.00 USD"
    assert 'value="paid" checked' in review and 'value="pending" checked' in review
    assert manifest_of(app, import_id)["options"]["where"] == ["Financial Status=paid,pending"]

    answer = post(client, settings, f"/imports/{import_id}/keep",
                  data={"column": "Financial Status"})  # fmt: skip
    assert answer.status_code == 303
    review = client.get(f"/imports/{import_id}/review").text
    assert cards(review)["Valid"] == "7 rows 721.00 USD"
    assert manifest_of(app, import_id)["options"]["where"] == []
    assert "marks rows as not real sales (1 pending, 2 refunded)" in review


def test_any_column_offers_its_values_at_most_fifty(client, settings, tmp_path):
    amounts = [f"{i}.00" for i in range(1, 61)]
    import_id = checked(client, settings, plain_csv(tmp_path / "many.csv", amounts))
    answer = client.get(f"/imports/{import_id}/review?keep_column=Reference")
    keep = section(answer.text, "Keep only some rows")
    assert len(re.findall(r'name="value"', keep)) == 50
    assert "The 50 most frequent of 60 values are shown." in text_of(keep)
    currency = section(client.get(f"/imports/{import_id}/review?keep_column=Currency").text,
                       "Keep only some rows")  # fmt: skip
    assert re.findall(r'<label for="keep-value-\d+">([^<]+)</label>', currency) == ["USD (60 rows)"]


def test_keeping_values_of_a_column_the_file_lacks_is_refused(client, settings, tmp_path):
    import_id = checked(client, settings, shop_csv(tmp_path / "orders_export.csv"))
    answer = post(client, settings, f"/imports/{import_id}/keep",
                  data={"column": "Status", "value": ["paid"]})  # fmt: skip
    assert answer.status_code == 400
    assert "Choose a column of the file, then the values to keep." in answer.text


# --- skip row N ---------------------------------------------------------------------------------


def test_skip_row_leaves_the_row_out_and_the_send_expects_one_row_less(
    client, settings, app, tmp_path
):
    source = plain_csv(tmp_path / "march.csv", ["10.00", "20.00", "30.00", "40.00", "50.00"])
    import_id = checked(client, settings, source)
    review = client.get(f"/imports/{import_id}/review").text
    assert '<button type="submit" form="skip-3">Skip row 3</button>' in review
    assert "Type 5 to confirm." in send_page(client, import_id)

    answer = post(client, settings, f"/imports/{import_id}/rows/3/skip")
    assert answer.headers["location"] == f"/imports/{import_id}/review"

    folder = app.state.workspace.get(import_id)
    assert results_of(folder.file("results")) == [
        ("2", "valid", ""),
        ("3", "skipped", "left out in the web app"),
        ("4", "valid", ""),
        ("5", "valid", ""),
        ("6", "valid", ""),
    ]
    review = client.get(f"/imports/{import_id}/review").text
    assert cards(review)["Valid"] == "4 rows 130.00 USD"
    assert cards(review)["Skipped"] == "1 row 20.00 USD"
    assert 'form="skip-3"' not in review
    left_out = text_of(review[review.index('<h2 id="left-out"') :])
    assert re.match(
        r"Rows left out Row Change Time Put back 3 Left out 20\d\d-\d\d-\d\dT", left_out
    )
    assert "Put row 3 back" in left_out
    page = send_page(client, import_id)
    assert "About to import 4 purchases" in page and "Type 4 to confirm." in page
    wrong = confirm_send(client, settings, import_id, "5")
    assert wrong.status_code == 400
    assert "Nothing was sent: type 4 (the number of rows to send) to confirm." in wrong.text

    manifest = manifest_of(app, import_id)
    assert manifest["options"]["skip_rows"] == "3"
    assert [(s["row"], s["skipped"], s["reason"]) for s in manifest["skips"]] == [
        (3, True, "left out in the web app")
    ]
    assert "skip_rows" not in folder.mapping_path.read_text(encoding="utf-8")
    assert "skip" not in app.state.workspace.remembered_mapping(
        app.state.sessions.get(import_id).job.overview.headers
    ).read_text(encoding="utf-8")
    # The "Command line" box reads the job's controls: the same rows, as --skip-rows.
    assert app.state.sessions.get(import_id).job.controls["skip_rows"] == "3"


def test_rows_left_out_are_kept_with_the_import_after_a_restart(client, settings, app, tmp_path):
    source = plain_csv(tmp_path / "march.csv", ["10.00", "20.00", "30.00"])
    import_id = checked(client, settings, source)
    post(client, settings, f"/imports/{import_id}/rows/3/skip")
    post(client, settings, f"/imports/{import_id}/rows/4/skip")
    assert app.state.workspace.get(import_id).meta()["skips"][0]["row"] == 3

    again = create_app(settings)  # the server started again on the same workspace
    restarted = TestClient(again, base_url=ORIGIN, follow_redirects=False)
    restarted.get(f"/?token={settings.token}")
    answer = post(restarted, settings, f"/imports/{import_id}/check", data={"next": "send"})
    assert answer.headers["location"] == f"/imports/{import_id}/send"
    assert "Type 1 to confirm." in send_page(restarted, import_id)
    assert again.state.sessions.get(import_id).job.rows_left_out == "3-4"
    assert saved_rows_left_out(again.state.workspace.get(import_id)) == "3-4"
    # A page of an import this server has not opened reads them too: a resume leaves them out.
    unopened = for_import(again.state.workspace.get(import_id), None, settings)
    assert " --skip-rows 3-4" in unopened

    post(restarted, settings, f"/imports/{import_id}/rows/3/put-back")
    assert "Type 2 to confirm." in send_page(restarted, import_id)
    folder = again.state.workspace.get(import_id)
    assert results_of(folder.file("results"))[1] == ("3", "valid", "")
    assert manifest_of(again, import_id)["options"]["skip_rows"] == "4"
    assert [(s["row"], s["skipped"]) for s in manifest_of(again, import_id)["skips"]] == [
        (3, True),
        (4, True),
        (3, False),
    ]


def test_an_invalid_row_can_be_skipped_instead_of_fixed(client, settings, tmp_path):
    source = plain_csv(tmp_path / "credit.csv", ["10.00", "-20.00", "30.00"])
    import_id = checked(client, settings, source)
    review = client.get(f"/imports/{import_id}/review").text
    row = text_of(re.search(r'<tr class="status-invalid">.*?</tr>', review, re.S)[0])
    assert "negative amounts (refunds) are not imported, leave the row out with its Skip row " \
           "button, or enter the purchase amount" in row  # fmt: skip
    assert row.endswith("Fix row 3 Skip row 3")
    post(client, settings, f"/imports/{import_id}/rows/3/skip")
    assert cards(client.get(f"/imports/{import_id}/review").text)["Skipped"] == "1 row"


def test_the_page_and_skip_rows_on_the_command_line_leave_out_the_same_rows(
    client, settings, app, tmp_path
):
    amounts = ["10.00", "20.00", "30.00", "40.00", "50.00", "60.00"]
    source = plain_csv(tmp_path / "march.csv", amounts)
    import_id = checked(client, settings, source)
    for row in (3, 5, 6):
        assert post(client, settings, f"/imports/{import_id}/rows/{row}/skip").status_code == 303
    page = results_of(app.state.workspace.get(import_id).file("results"))
    command = cli_results(tmp_path, source, "--skip-rows", "3,5-6")
    assert page == [
        ("2", "valid", ""),
        ("3", "skipped", "left out in the web app"),
        ("4", "valid", ""),
        ("5", "skipped", "left out in the web app"),
        ("6", "skipped", "left out in the web app"),
        ("7", "valid", ""),
    ]
    assert command == [
        (row, status, error.replace("in the web app", "with --skip-rows"))
        for row, status, error in page
    ]
    assert app.state.sessions.get(import_id).job.controls["skip_rows"] == "3,5-6"


def test_with_every_row_left_out_nothing_is_left_to_send(client, settings, tmp_path):
    import_id = checked(client, settings, plain_csv(tmp_path / "march.csv", ["10.00", "20.00"]))
    for row in (2, 3):
        post(client, settings, f"/imports/{import_id}/rows/{row}/skip")
    answer = client.get(f"/imports/{import_id}/send")
    assert "<h2>Nothing left to send</h2>" in answer.text
    assert "There are no valid rows to send." in answer.text
    assert 'name="rows_to_send"' not in answer.text


def test_a_row_the_file_does_not_have_cannot_be_skipped(client, settings, tmp_path):
    import_id = checked(client, settings, plain_csv(tmp_path / "march.csv", ["10.00"]))
    answer = post(client, settings, f"/imports/{import_id}/rows/9/skip")
    assert answer.status_code == 400
    assert "There is no row 9 in this file." in answer.text


# --- more decimals, duplicates ------------------------------------------------------------------


def test_allow_more_decimals_and_duplicates_flip_the_verdicts_the_flags_flip(
    client, settings, app, tmp_path
):
    lines = [",".join(HEADER), f"{LEAD},10.125,USD,2026-03-02,R-1",
             f"{LEAD},20.00,USD,2026-03-03,R-2", f"{LEAD},20.00,USD,2026-03-03,R-2"]  # fmt: skip
    source = tmp_path / "march.csv"
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    import_id = checked(client, settings, source)
    folder = app.state.workspace.get(import_id)
    before = results_of(folder.file("results"))
    assert [status for _, status, _ in before] == ["invalid", "valid", "skipped"]
    assert before == cli_results(tmp_path, source)
    review = text_of(client.get(f"/imports/{import_id}/review").text)
    assert "round it or allow more than 2 decimal places" in review
    assert "duplicate of row 3 (every field repeats); allow duplicates if both are real" in review

    choose(client, settings, import_id, allow_precision=True)
    after = results_of(folder.file("results"))
    assert [status for _, status, _ in after] == ["valid", "valid", "skipped"]
    assert after == cli_results(tmp_path, source, "--allow-precision")
    assert remembered(app, import_id).allow_precision is True

    choose(client, settings, import_id, allow_precision=True, allow_duplicates=True)
    after = results_of(folder.file("results"))
    assert [status for _, status, _ in after] == ["valid", "valid", "valid"]
    assert after == cli_results(tmp_path, source, "--allow-precision", "--allow-duplicates")
    options = manifest_of(app, import_id)["options"]
    assert (options["allow_precision"], options["allow_duplicates"]) == (True, True)
    assert "About to import 3 purchases" in send_page(client, import_id)
    # Repeats let through are this file's: next month's upload starts without.
    assert remembered(app, import_id).allow_duplicates is None


# --- no amount, no date on purpose --------------------------------------------------------------


def test_no_amount_on_purpose_lets_a_file_without_amounts_be_checked(
    client, settings, app, tmp_path
):
    source = tmp_path / "fixed.csv"
    source.write_text(f"Lead ID,Date,Reference\n{LEAD},2026-03-02,R-1\n", encoding="utf-8")
    import_id = import_id_of(upload(client, settings, source))
    stopped = check_file(client, settings, import_id, {})
    assert stopped.status_code == 400
    assert "tick No amount on purpose on the Match columns page to send without an amount" in (
        text_of(stopped.text)
    )
    answer = check_file(client, settings, import_id, {}, no_amount="1")
    assert answer.headers["location"] == f"/imports/{import_id}/review"
    assert manifest_of(app, import_id)["options"]["no_amount"] is True
    page = client.get(f"/imports/{import_id}/columns").text
    assert 'id="no_amount" name="no_amount" value="1" checked' in page
    assert 'id="no_date" name="no_date" value="1" aria' in page


# --- a row in Keen cannot be left out ------------------------------------------------------------


def test_a_created_row_cannot_be_skipped(sandboxed, tmp_path):
    client, settings, app = sandboxed
    source = plain_csv(tmp_path / "march.csv", ["10.00", "20.00", "30.00"])
    import_id = checked(client, settings, source)
    post(client, settings, f"/imports/{import_id}/rows/4/skip")
    sent = confirm_send(client, settings, import_id, "2")
    assert sent.headers["location"] == f"/imports/{import_id}/progress"
    app.state.sessions.get(import_id).thread.join(60)
    folder = app.state.workspace.get(import_id)
    assert [s for _, s, _ in results_of(folder.file("results"))] == [
        "created",
        "created",
        "skipped",
    ]
    review = client.get(f"/imports/{import_id}/review").text
    assert "Skip row" not in review

    refused = post(client, settings, f"/imports/{import_id}/rows/2/skip")
    assert refused.status_code == 400
    message = "Row 2 is already created in Keen: it cannot be left out (only rows not sent yet, " \
              "or refused, can be left out)."  # fmt: skip
    assert message in text_of(refused.text)
    assert app.state.sessions.get(import_id).job.rows_left_out == "4"

    # Checked again (into checks/: the send's results still say created, the check's valid),
    # the ledger still knows it: refused.
    post(client, settings, f"/imports/{import_id}/rows/4/put-back")
    assert results_of(folder.file("results"))[0][:2] == ("2", "created")
    assert results_of(folder.path / "checks" / "march.results.csv")[0] == ("2", "valid", "")
    refused = post(client, settings, f"/imports/{import_id}/rows/2/skip")
    assert refused.status_code == 400
    assert message in text_of(refused.text)
    assert "Type 1 to confirm." in send_page(client, import_id)
