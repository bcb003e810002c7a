"""The web app speaks to the person in front of it: no page names a command-line flag (but its
"Command line" box), counts agree with their nouns, and every step offers the next one.

Every page of the flow is rendered at the endpoint, with files that make the engine give its
flag advice (an invalid row, an ambiguous date, no lead column, a workbook with a hidden row
and refunds); the visible text of each is read as a person sees it.
"""

from __future__ import annotations

import ast
import dataclasses
import html
import os
import re
import shlex
from html.parser import HTMLParser
from pathlib import Path

import pytest
import xlsxwriter
from starlette.testclient import TestClient

from importer.check.mapping import Mapping
from importer.records import FIELD_LABELS, FIELDS, split_warnings
from importer.ui.command import LEFT_OUT, equivalent_command, job_options, join_words
from importer.ui.sessions import Progress
from importer.ui.wording import for_page, how_many
from ui.uihelpers import SAMPLE, check_file, confirm_send, import_id_of, post, upload

LEAD = "47378190-96da-4dac-b2ff-5d2a386ecbe0"
FLAG = re.compile(r"(?<![\w-])--[a-z]")
PACKAGE = Path(__file__).resolve().parents[2] / "importer"


# -- reading a page as a person sees it -------------------------------------------------------

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
        "track", "wbr"}  # fmt: skip
UNSEEN = {"script", "style", "template", "head", "noscript"}


class VisibleText(HTMLParser):
    """The text a page shows: no tags, scripts, styles, hidden elements or "Command line" box;
    placeholders, titles and alternative texts count (a person reads them too)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.open: list[tuple[str, bool]] = []
        self.hidden = 0
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        found = dict(attrs)
        unseen = (
            tag in UNSEEN
            or "hidden" in found
            or found.get("aria-hidden") == "true"
            or found.get("type") == "hidden"
            or found.get("aria-label") == "Command line"
        )
        if not self.hidden and not unseen:
            self.parts += [found[a] for a in ("placeholder", "title", "alt") if found.get(a)]
        if tag in VOID:
            return
        self.open.append((tag, unseen))
        self.hidden += unseen

    def handle_endtag(self, tag: str) -> None:
        while self.open and tag not in VOID:
            name, unseen = self.open.pop()
            self.hidden -= unseen
            if name == tag:
                break

    def handle_data(self, data: str) -> None:
        if not self.hidden and data.strip():
            self.parts.append(" ".join(data.split()))


def visible_text(page: str) -> str:
    reader = VisibleText()
    reader.feed(page)
    reader.close()
    return "\n".join(reader.parts)


def command_box(page: str) -> str:
    """The command of the page's "Command line" region."""
    found = re.search(r'<section[^>]*aria-label="Command line".*?</section>', page, re.S)
    assert found, "no Command line region"
    return html.unescape(re.search(r"<pre><code>(.*?)</code></pre>", found[0], re.S)[1])


def test_visible_text_leaves_out_hidden_parts_and_the_command_line_box():
    page = (
        "<head><title>x --a</title><style>:root{--ink:#000}</style></head><body><p>Shown</p>"
        '<p hidden>--b</p><input type="hidden" value="--c"><input placeholder="Type it">'
        '<section aria-label="Command line"><pre>keen-import run --d</pre></section>'
        "<script>var x = '--e';</script><p>After <b>it</b></p></body>"
    )
    assert visible_text(page) == "Shown\nType it\nAfter\nit"


# -- every page of the flow -------------------------------------------------------------------


def finish(app, import_id: str) -> None:
    session = app.state.sessions.get(import_id)
    session.thread.join(60)
    assert session.progress.finished


def hidden_row_workbook(path: Path) -> Path:
    """Four sales, one hidden by hand, one refunded: the engine advises --skip-hidden and
    --where; two rows repeat each other: it advises --allow-duplicates."""
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet()
    rows = [
        ["Lead ID", "Amount", "Date", "Financial Status"],
        [LEAD, "10.00", "2026-03-01", "paid"],
        [LEAD, "11.00", "2026-03-02", "refunded"],
        [LEAD, "12.00", "2026-03-03", "paid"],
        [LEAD, "12.00", "2026-03-03", "paid"],
    ]
    for at, row in enumerate(rows):
        sheet.write_row(at, 0, row)
    sheet.set_row(2, None, None, {"hidden": True})
    book.close()
    return path


class Pages:
    """Each page visited, by name: its HTML."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.seen: dict[str, str] = {}

    def get(self, name: str, path: str, status: int = 200) -> str:
        answer = self.client.get(path)
        assert answer.status_code == status, (name, answer.text)
        self.seen[name] = answer.text
        return answer.text

    def keep(self, name: str, answer, status: int) -> str:
        assert answer.status_code == status, (name, answer.text)
        self.seen[name] = answer.text
        return answer.text


def walk_the_flow(client, settings, app, tmp_path) -> Pages:
    pages = Pages(client)
    pages.get("upload", "/")
    import_id = import_id_of(upload(client, settings, SAMPLE))
    base = f"/imports/{import_id}"
    pages.get("columns", f"{base}/columns")
    check_file(client, settings, import_id, {})
    pages.get("review", f"{base}/review")
    pages.get("review: invalid rows", f"{base}/review?status=invalid")
    pages.get("check online", f"{base}/online")
    assert post(client, settings, f"{base}/online").headers["location"] == f"{base}/progress"
    finish(app, import_id)
    pages.get("progress: online check", f"{base}/progress")
    pages.get("results: online check", f"{base}/results")
    pages.get("send", f"{base}/send")
    confirm_send(client, settings, import_id, "4")
    finish(app, import_id)
    pages.get("progress: send", f"{base}/progress")
    pages.get("results", f"{base}/results")
    pages.get("review: after the send", f"{base}/review")
    pages.get("history", "/history")
    pages.get("key", "/key")

    dates = tmp_path / "dates.csv"
    dates.write_text(f"Lead ID,Amount,Date\n{LEAD},10.00,03/04/2026\n{LEAD},11.00,05/06/2026\n")
    import_id = import_id_of(upload(client, settings, dates))
    check_file(client, settings, import_id, {})
    pages.get("questions", f"/imports/{import_id}/questions")

    no_lead = tmp_path / "customers.csv"
    no_lead.write_text("Customer,Amount,Date\nBob,10.00,2026-03-01\n")
    import_id = import_id_of(upload(client, settings, no_lead))
    pages.get("columns: no lead column", f"/imports/{import_id}/columns")
    pages.keep("columns: checked without a lead", check_file(client, settings, import_id, {}), 400)

    workbook = hidden_row_workbook(tmp_path / "shop.xlsx")
    import_id = import_id_of(upload(client, settings, workbook))
    check_file(client, settings, import_id, {})
    pages.get("review: hidden row and refunds", f"/imports/{import_id}/review")

    empty = tmp_path / "march.csv"
    empty.write_text("Lead ID,Amount,Date\n")
    pages.keep("upload: no data rows", upload(client, settings, empty), 400)
    return pages


def test_no_page_of_the_flow_names_a_command_line_flag(sandboxed, tmp_path):
    client, settings, app = sandboxed
    pages = walk_the_flow(client, settings, app, tmp_path)
    shown = {name: visible_text(page) for name, page in pages.seen.items()}
    flagged = {
        name: [ln for ln in text.splitlines() if FLAG.search(ln)] for name, text in shown.items()
    }
    assert {name: lines for name, lines in flagged.items() if lines} == {}
    # The engine did give its advice: the pages word it for a person.
    assert "allow duplicates if both are real purchases" in shown["review"]
    assert (
        "if '.' separates thousands here, choose Comma under Decimal separator on the Match "
        "columns page; otherwise round it or allow more than 2 decimal places"
    ) in shown["review: invalid rows"]
    assert "Row 2:" in shown["questions"]
    for name in ("columns: no lead column", "columns: checked without a lead"):
        assert (
            "Choose the column that holds the lead (UUIDs for Lead ID, numbers for Legacy lead "
            "ID), then press Check file."
        ) in shown[name]
    hidden = shown["review: hidden row and refunds"]
    assert (
        "warning: 1 row is hidden in the workbook (by hand or by a filter); they carry the "
        "warning 'hidden in the workbook': choose to skip hidden rows to leave them out"
    ) in hidden
    assert (
        "warning: column 'Financial Status' marks rows as not real sales (1 refunded); keep "
        "only the sales by choosing which values of 'Financial Status' to keep"
    ) in hidden
    assert (
        "march.csv has a header row but no data rows: nothing to import."
        in shown["upload: no data rows"]
    )
    for name in ("review", "check online", "send", "results", "results: online check"):
        assert command_box(pages.seen[name]).startswith("keen-import "), name


def test_a_csv_with_headers_only_stops_at_upload_and_nothing_is_kept(
    client, settings, app, tmp_path
):
    empty = tmp_path / "march.csv"
    empty.write_text("Lead ID,Amount,Date\n\n,,\n")
    answer = upload(client, settings, empty)
    assert answer.status_code == 400
    assert (
        '<p class="error" role="alert">march.csv has a header row but no data rows: nothing to '
        "import.</p>"
    ) in answer.text
    assert list(app.state.workspace.imports.iterdir()) == []


@pytest.mark.parametrize(
    ("name", "said"),
    [
        pytest.param(
            "sales.xlsx",
            "the .xlsx file sales.xlsx is damaged or not a workbook (a PDF document); open it in "
            "Excel and save it again as .xlsx (if it is really a CSV, rename it)",
            id="workbook",
        ),
        pytest.param(
            "sales.csv",
            "sales.csv does not look like a CSV text file (it looks like a PDF document); export "
            "the data again from your accounting system or Excel as CSV or .xlsx",
            id="csv",
        ),
    ],
)
def test_a_refusal_ending_in_parentheses_takes_its_hint_after_a_semicolon(
    client, settings, tmp_path, name, said
):
    pdf = tmp_path / name
    pdf.write_bytes(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n")
    answer = upload(client, settings, pdf)
    assert answer.status_code == 400
    found = re.findall(r'<p class="error" role="alert">(.*?)</p>', answer.text, re.S)
    assert found == [said]


# -- flag advice in page words ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("engine", "page"),
    [
        pytest.param(
            "duplicate of row 2 (every field repeats); use --allow-duplicates if both are real "
            "purchases",
            "duplicate of row 2 (every field repeats); allow duplicates if both are real purchases",
            id="allow-duplicates",
        ),
        pytest.param(
            "date '03/04/2026' is ambiguous (3 April or 4 March 2026?); rerun with --day-first or "
            "--month-first",
            "date '03/04/2026' is ambiguous (3 April or 4 March 2026?); choose day first or month "
            "first under Dates on the Match columns page",
            id="day-first",
        ),
        pytest.param(
            "date '26-03-05' may be year-first (2026-03-05) as well as day or month first; write "
            "the year with four digits, or rerun with --day-first when every date of the column "
            "is day-month-year",
            "date '26-03-05' may be year-first (2026-03-05) as well as day or month first; write "
            "the year with four digits, or choose day first under Dates on the Match columns page "
            "when every date of the column is day-month-year",
            id="year-first",
        ),
        pytest.param(
            "restore it from a backup, or give --ledger PATH",
            "restore it from a backup",
            id="no-such-control-left-out",
        ),
        pytest.param(
            "'Montant' holds amounts: --map purchase_amount='Montant'",
            "'Montant' holds amounts: choose 'Montant' for Amount (purchase_amount)",
            id="map",
        ),
        pytest.param(
            "the purchase may have been created: check in Keen, then re-run with "
            "--resend-unconfirmed",
            "the purchase may have been created: check in Keen, then use Resend unconfirmed on "
            "the Results page",
            id="resend-unconfirmed",
        ),
        pytest.param(
            "--period '2026-05..2026-03' ends before it starts",
            "Period '2026-05..2026-03' ends before it starts",
            id="flag-as-subject",
        ),
        pytest.param(
            "nothing was sent: choose another folder with --out-dir DIR",
            "nothing was sent",
            id="clause-left-out",
        ),
        pytest.param(
            "bomb.xlsx would expand to 2,048 MB (if the file is genuine, raise the limit with "
            "--max-xlsx-mb 3000)",
            "bomb.xlsx would expand to 2,048 MB (if the file is genuine, import it with "
            "keen-import on the command line and a limit of 3000 MB)",
            id="limit-in-parentheses",
        ),
        pytest.param("warning: 1 rows are hidden", "warning: 1 row is hidden", id="one-row"),
        pytest.param("11 rows are hidden", "11 rows are hidden", id="eleven-rows"),
    ],
)
def test_engine_advice_is_worded_for_the_page(engine, page):
    assert for_page(engine) == page


def engine_texts() -> list[tuple[str, str]]:
    """Every text of the engine that names a flag (an f-string's values as X), not docstrings."""
    found = []
    for stage in ("check", "job", "read", "send", "report", "ledger"):
        for path in sorted((PACKAGE / stage).glob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            inside_f = {
                id(v) for n in ast.walk(tree) if isinstance(n, ast.JoinedStr) for v in n.values
            }
            docs = {
                id(n.body[0].value)
                for n in ast.walk(tree)
                if isinstance(n, ast.Module | ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
                and n.body
                and isinstance(n.body[0], ast.Expr)
            }
            for node in ast.walk(tree):
                if isinstance(node, ast.JoinedStr):
                    text = "".join(
                        v.value if isinstance(v, ast.Constant) else "X" for v in node.values
                    )
                elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                    if id(node) in docs or id(node) in inside_f:
                        continue
                    text = node.value
                else:
                    continue
                if FLAG.search(text):
                    found.append((f"{stage}/{path.name}", text))
    return found


def test_every_engine_message_naming_a_flag_reads_without_it_on_a_page():
    texts = engine_texts()
    assert len(texts) > 40  # the sweep does find the engine's advice
    assert [(where, t, for_page(t)) for where, t in texts if FLAG.search(for_page(t))] == []
    assert [(where, t) for where, t in texts if not for_page(t).strip()] == []


def test_one_helper_makes_counts_agree():
    assert [how_many(n, "row") for n in (0, 1, 2, 1234)] == [
        "0 rows",
        "1 row",
        "2 rows",
        "1,234 rows",
    ]
    assert how_many(1, "entry", "entries") == "1 entry"
    assert how_many(3, "entry", "entries") == "3 entries"


def test_a_one_row_file_says_row_and_purchase_in_the_singular(sandboxed, tmp_path):
    client, settings, app = sandboxed
    one = tmp_path / "one.csv"
    one.write_text(f"Lead ID,Amount,Date\n{LEAD},10.00,2026-03-02\n")
    import_id = import_id_of(upload(client, settings, one))
    check_file(client, settings, import_id, {})
    review = client.get(f"/imports/{import_id}/review").text
    assert re.findall(r'<p class="big">([^<]+)</p>', review) == ["1 row", "1 row"]
    assert "1 row matches; showing 1–1." in review
    assert "<h2>About to import 1 purchase</h2>" in client.get(f"/imports/{import_id}/send").text
    confirm_send(client, settings, import_id, "1")
    finish(app, import_id)
    progress = client.get(f"/imports/{import_id}/progress").text
    assert 'aria-live="polite">1 of 1 row done</p>' in progress
    assert '<h2 id="progress-kind">Send finished</h2>' in progress


# -- the flow offers the next step ------------------------------------------------------------


def current_step(page: str) -> list[str]:
    return re.findall(r'aria-current="step">([^<]+)</a>', page)


def test_after_the_online_check_the_step_bar_says_so_and_send_is_offered(sandboxed):
    client, settings, app = sandboxed
    import_id = import_id_of(upload(client, settings, SAMPLE))
    base = f"/imports/{import_id}"
    assert current_step(client.get(f"{base}/columns").text) == ["1. Match columns"]
    check_file(client, settings, import_id, {})
    review = client.get(f"{base}/review").text
    assert current_step(review) == ["3. Review"]
    assert review.count(">Check online</button>") == 1
    assert f'<form method="post" action="{base}/online">' in review  # one press starts it
    post(client, settings, f"{base}/online")
    finish(app, import_id)
    progress = client.get(f"{base}/progress").text
    assert current_step(progress) == ["4. Check online"]
    assert '<h2 id="progress-kind">Online check finished</h2>' in progress
    assert (
        f'<form id="next-step" method="get" action="{base}/send">\n'
        '    <button type="submit" class="primary">Send to Keen</button>'
    ) in progress
    results = client.get(f"{base}/results").text
    assert current_step(results) == ["6. Results"]
    assert "Online check finished " in visible_text(results)
    assert ">Send to Keen</button>" in results
    assert current_step(client.get(f"{base}/send").text) == ["5. Send"]


def test_no_send_is_offered_after_an_online_check_with_nothing_to_send(sandboxed, tmp_path):
    client, settings, app = sandboxed
    bad = tmp_path / "bad.csv"
    bad.write_text("Lead ID,Amount,Date\nnot-a-lead,10.00,2026-03-02\n")
    import_id = import_id_of(upload(client, settings, bad))
    check_file(client, settings, import_id, {})
    post(client, settings, f"/imports/{import_id}/online")
    finish(app, import_id)
    progress = client.get(f"/imports/{import_id}/progress").text
    assert (
        f'<form id="next-step" method="get" action="/imports/{import_id}/send" hidden>' in progress
    )
    assert ">Send to Keen</button>" not in client.get(f"/imports/{import_id}/results").text


def test_a_run_that_stopped_is_not_called_finished():
    from importer.ui.routes.results import stopped

    assert stopped({"exit_code": 130, "summary": {"by_status": {}}})
    assert stopped({"exit_code": 0, "summary": {"by_status": {"not_sent": {"rows": 3}}}})
    assert not stopped({"exit_code": 1, "summary": {"by_status": {"created": {"rows": 3}}}})


def test_time_left_waits_for_enough_answers_then_follows_the_last_ten_seconds():
    progress = Progress(kind="send", started=100.0)
    progress.note(10, 1000, {}, now=100.0)
    assert progress.seconds_left(100.3) is None  # 10 rows in 0.3 s say nothing yet
    progress.note(60, 1000, {}, now=100.3)
    assert progress.seconds_left(100.3) is None  # 50 rows, but not yet 2 seconds
    for second in range(1, 21):  # then 10 rows a second: the burst at the start is forgotten
        progress.note(60 + 10 * second, 1000, {}, now=100.3 + second)
    assert progress.seconds_left(120.3) == (1000 - 260) // 10
    progress.finished = True
    assert progress.seconds_left(120.3) is None


def test_a_warning_that_ends_in_advice_is_one_warning(client, settings, tmp_path):
    serial = tmp_path / "serial.csv"
    serial.write_text(f"Lead ID,Amount,Date\n{LEAD},10.00,46082\n{LEAD},11.00,2026-03-02\n")
    import_id = import_id_of(upload(client, settings, serial))
    check_file(client, settings, import_id, {})
    page = client.get(f"/imports/{import_id}/review").text
    options = re.findall(
        r"<option value=\"([^\"]*)\"[^>]*>", page.split('id="warning"')[1].split("</select>")[0]
    )
    assert options == [
        "",
        "date … was read as an Excel serial date: … (Excel probably converted the cell); check it",
    ]
    assert split_warnings("a; b (c); check it; d") == ["a", "b (c); check it", "d"]
    assert split_warnings("") == []


# -- the "Command line" box -------------------------------------------------------------------


def test_the_command_line_box_shows_the_exact_command_for_the_choices(sandboxed, tmp_path):
    client, settings, app = sandboxed
    source = tmp_path / "shop export.csv"
    source.write_text(
        "Lead ID,Amount,Date,Financial Status\n"
        f"{LEAD},10.00,03/04/2026,paid\n{LEAD},11.00,05/06/2026,refunded\n"
    )
    import_id = import_id_of(upload(client, settings, source))
    base = f"/imports/{import_id}"
    post(client, settings, f"{base}/encoding", data={"encoding": "cp1250"})
    check_file(client, settings, import_id, {}, day_first="day", expect_rows="2")
    kept = post(
        client, settings, f"{base}/keep", data={"column": "Financial Status", "value": "paid"}
    )
    assert kept.status_code == 303, kept.text
    folder = app.state.workspace.get(import_id)
    upload_file, mapping_file = (quoted(folder.upload), quoted(folder.mapping_path))
    options = (
        f"--day-first --encoding cp1250 --where {quoted('Financial Status=paid')} --expect-rows 2"
    )
    assert command_box(client.get(f"{base}/review").text) == (
        f"keen-import validate {upload_file} --mapping {mapping_file} {options}"
    )
    assert command_box(client.get(f"{base}/send").text) == (
        f"keen-import run {upload_file} --mapping {mapping_file} {options} --sandbox"
    )
    assert command_box(client.get(f"{base}/online").text) == (
        f"keen-import run {upload_file} --mapping {mapping_file} {options} --sandbox --dry-run"
    )
    assert command_box(client.get(f"{base}/results").text) == (
        f"keen-import run {upload_file} --mapping {mapping_file} {options} --sandbox"
    )


def quoted(word) -> str:
    """``word`` quoted for this computer's shell, as the box quotes it."""
    return join_words([str(word)], windows=os.name == "nt")


#: A value for each option of a Mapping, as a page could set it.
SAMPLES = {
    "day_first": False,
    "decimal": ",",
    "sheet": "Sheet 1",
    "timezone": "Europe/Paris",
    "trigger_ids": ("47378190-96da-4dac-b2ff-5d2a386ecbe0",),
    "encoding": "cp1250",
    "delimiter": ";",
    "allow_precision": True,
    "allow_duplicates": True,
    "action": "create_purchase_custom",
    "period": "2026-03",
    "no_amount": True,
    "no_date": True,
    "skip_hidden": True,
    "keep_null": True,
    "where": ("Financial Status=paid,partially paid", "Channel=web"),
    "out_dir": "/tmp/out dir",
    "ca_bundle": "/tmp/company root.pem",
}
CONTROLS = {
    "expect_rows": 12,
    "expect_total": "100.00:EUR",
    "results": "march.results.xlsx",
    "skip_rows": "3,5-6",
}


def test_every_option_reaches_the_command_line_as_the_cli_reads_it():
    """The command is read back by the CLI's own parser into the same options. An option added
    to the Mapping fails here until it has a sample: then its flag is checked too."""
    from importer.cli import build_mapping, build_parser

    names = {f.name for f in dataclasses.fields(Mapping)}
    assert names - LEFT_OUT == set(SAMPLES), "add a sample of the new option to SAMPLES"
    mapping = Mapping(columns={"lead_id": "Lead"}, **SAMPLES)
    command = equivalent_command(
        Path("/tmp/my file.csv"),
        Path("/tmp/my file.mapping.toml"),
        job_options(mapping, CONTROLS),
        target=["--sandbox"],
        extra=["--dry-run"],
        windows=False,
    )
    args = build_parser().parse_args(shlex.split(command)[1:])
    assert (args.command, args.file, args.mapping) == (
        "run",
        ["/tmp/my file.csv"],
        "/tmp/my file.mapping.toml",
    )
    read = build_mapping(argparse_without_mapping(args))
    for name, value in {**SAMPLES, **CONTROLS}.items():
        got = getattr(read, name, None)
        got = getattr(args, name) if got is None else got  # flags the Mapping does not hold
        assert (name, got) == (name, value)
    assert (args.sandbox, args.dry_run) == (True, True)


def argparse_without_mapping(args):
    """The parsed flags alone (the mapping file of the command does not exist here)."""
    import argparse

    return argparse.Namespace(**{**vars(args), "mapping": None})


def test_the_command_is_quoted_for_windows_shells():
    options = {
        "where": ("Financial Status=paid,refunded",),
        "day_first": True,
        "proxy": "http://u:p@h",
    }
    command = equivalent_command(
        Path(r"C:\Users\Ann Lee\keen-import\imports\1\march.csv"),
        None,
        options,
        target=["--api-url", "https://keen.example/functions/v1/keen-api"],
        windows=True,
    )
    assert command == (
        r'keen-import run "C:\Users\Ann Lee\keen-import\imports\1\march.csv" '
        '--where "Financial Status=paid,refunded" --day-first '
        "--api-url https://keen.example/functions/v1/keen-api"
    )
    assert equivalent_command(Path("a.csv"), None, {"where": ('Say "hi"=yes',)}, windows=True) == (
        'keen-import run a.csv --where "Say ""hi""=yes"'
    )


# -- the match page names fields in words -----------------------------------------------------


def test_each_field_has_words_and_its_dropdown_keeps_the_api_name(client, settings):
    assert list(FIELD_LABELS) == list(FIELDS)
    import_id = import_id_of(upload(client, settings, SAMPLE))
    page = client.get(f"/imports/{import_id}/columns").text
    labels = re.findall(r'<label for="field-([a-z_]+)">(.*?)</label>', page)
    assert labels[2] == (
        "purchase_amount",
        'Amount <span class="api-name">(purchase_amount)</span>',
    )
    assert [(f, re.sub(r"<[^>]+>", "", text)) for f, text in labels] == [
        (f, f"{FIELD_LABELS[f]} ({f})") for f in FIELDS
    ]
