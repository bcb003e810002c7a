"""Each export of a real system (tests/exporthelpers.py) imported through the web app as a new
user would: upload, the match page's own controls, the questions, the review's remedies, the
typed confirmation, the results; never a word about the command line.

Every page's own form is submitted with the values it shows (tests/ui/forms.py), changed only
where a person would change it. Each test then checks what reached the sandbox, the status of
every row, and that each number the pages show (the review cards, the Send page's "About to
import N purchases" and total, the progress counts, the results table, the history) is the
results file's; and that no page's visible text holds "--" outside its "Command line" box.

The sandbox's world is the default one with a GBP channel added: a file's currency must be its
lead's channel's (Keen takes no currency and does not convert; the send checks it), so each
export's leads are those of a channel in its currency. The exports with UUIDs keep, in their
third row, a lead the company cannot see (LEAD_3): Keen refuses it, the row is rejected.
"""

from __future__ import annotations

import csv
import json
import re
from collections import Counter
from decimal import Decimal
from pathlib import Path

import pytest
from conftest import LEAD_3
from exporthelpers import (
    WORKBOOK_TITLE,
    french_invoices,
    hand_made_workbook,
    quickbooks_sales,
    sage_audit_trail,
    sap_line_items,
    shopify_orders,
    stripe_payments,
    xero_invoices,
)
from starlette.testclient import TestClient

import importer.sandbox
from importer.sandbox import Sandbox
from ui.forms import form_of
from ui.test_match_page import line_of
from ui.test_page_text import visible_text
from ui.uihelpers import ORIGIN, selected_mapping

# Leads of the default world the demo company sees: channel "Northwind x Contoso (US)" (USD)
# and "Contoso Nordic resellers" (EUR); the GBP ones are added below.
USD = ("47378190-96da-4dac-b2ff-5d2a386ecbe0", "c241330b-01a9-471f-9e8a-774bcf36d58b",
       "6c307511-b2b9-437a-a8df-6ec4ce4a2bbd")  # fmt: skip
EUR = ("ec1b8ca1-f91e-4d4c-9ff4-9b7889463e85", "4b0dbb41-8d52-48f1-942c-3fe860e7a113")
GBP = ("5f0c2a1e-7b3d-4c8e-9f21-6a4b8c0d2e11", "8e3d1b2c-4a5f-4e6d-8c7b-9a0f1e2d3c4b")
GBP_CHANNEL = "2b7e4c1d-9a3f-4e8b-8d6c-1f0a2b3c4d5e"
NOT_VISIBLE = "Lead not accessible"  # LEAD_3 is in no channel of the sandbox
# The outcome of an export whose third row is LEAD_3's: rows 2 and 3 created, row 4 rejected.
THIRD_REJECTED = {2: ("created", ""), 3: ("created", ""), 4: ("rejected", NOT_VISIBLE)}
FLAGS = re.compile(r"--")


# -- the sandbox and the web app --------------------------------------------------------------


def world_with_pounds(folder: Path) -> Path:
    """The default world, plus a GBP channel of the demo company with two leads."""
    source = Path(importer.sandbox.__file__).with_name("default_world.json")
    world = json.loads(source.read_text(encoding="utf-8"))
    us_channel, us_lead = world["channels"][0], world["leads"][0]
    world["channels"].append(
        dict(us_channel, id=GBP_CHANNEL, title="Northwind x Contoso (UK)", currency="GBP")
    )
    for number, lead in enumerate(GBP, start=4001):
        world["leads"].append(
            dict(us_lead, id=lead, legacy_id=number, channels_id=GBP_CHANNEL,
                 email=f"lead{number}@example.co.uk")
        )  # fmt: skip
    path = folder / "world.json"
    path.write_text(json.dumps(world), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    with Sandbox(world=world_with_pounds(tmp_path_factory.mktemp("world"))) as running:
        yield running


@pytest.fixture
def user(sandboxed, sandbox):
    """A person at the web app of tests/ui/conftest.py, sending to this module's sandbox."""
    client, _, app = sandboxed
    return User(client, app, sandbox)


# -- a person at the pages --------------------------------------------------------------------


class User:
    """Reads pages and presses their buttons; keeps every page seen (the latest by name)."""

    def __init__(self, client: TestClient, app, sandbox: Sandbox) -> None:
        self.client, self.app, self.sandbox = client, app, sandbox
        self.pages: dict[str, str] = {}
        self.seen: list[tuple[str, str]] = []  # every page, in the order seen
        self.import_id = ""
        self.before = 0  # the sandbox's purchases when the send began
        self.checked_rows: list[dict[str, str]] = []  # the results file once checked

    @property
    def base(self) -> str:
        return f"/imports/{self.import_id}"

    def open(self, name: str, path: str) -> str:
        answer = self.client.get(path)
        assert answer.status_code == 200, (name, answer.text)
        return self.saw(name, answer.text)

    def saw(self, name: str, page: str) -> str:
        self.pages[name] = page
        self.seen.append((name, page))
        return page

    def press(self, page: str, action: str, change=None):
        """Submit the form of ``page`` that goes to ``action``, after ``change(form)``."""
        form = form_of(page, action)
        if change is not None:
            change(form)
        if form.method == "get":
            return self.client.get(action, params=form.data())
        return self.client.post(action, data=form.data(), headers={"Origin": ORIGIN})

    def went_to(self, answer, step: str) -> str:
        """The page a button led to (``step`` of this import), opened."""
        assert answer.status_code == 303, answer.text
        assert answer.headers["location"] == f"{self.base}/{step}"
        return self.open(step, answer.headers["location"])

    def upload(self, path: Path) -> str:
        """Choose the file, press Upload: the match page."""
        home = self.open("upload", "/")
        form = form_of(home, "/upload")
        with path.open("rb") as handle:
            answer = self.client.post(
                "/upload",
                data={"csrf_token": form.data()["csrf_token"][0]},
                files={"file": (path.name, handle, "application/octet-stream")},
                headers={"Origin": ORIGIN},
            )
        self.import_id = answer.headers["location"].split("/")[2]
        return self.went_to(answer, "columns")

    def check_file(self, columns: str, change=None) -> str:
        """Press "Check file" with what the match page shows: the next page."""
        answer = self.press(columns, f"{self.base}/columns", change)
        return self.went_to(answer, answer.headers.get("location", "").rsplit("/", 1)[-1])

    def send(self, review: str) -> str:
        """Send to Keen, type the number the page asks for, wait: the results page."""
        self.checked_rows = results_file(self)
        self.before = len(self.sandbox.purchases())
        answer = self.press(review, f"{self.base}/send")  # "Send to Keen": a link-like form
        assert answer.status_code == 200, answer.text
        send = self.saw("send", answer.text)
        asked = re.search(r"<h2>About to import ([\d,]+) purchases?</h2>", send)[1]
        progress = self.press(send, f"{self.base}/send", lambda f: f.type("rows_to_send", asked))
        assert progress.headers["location"] == f"{self.base}/progress"
        session = self.app.state.sessions.get(self.import_id)
        session.thread.join(60)
        assert session.progress.finished
        self.open("progress", f"{self.base}/progress")
        self.open("review: after the send", f"{self.base}/review")
        self.open("history", "/history")
        return self.open("results", f"{self.base}/results")

    def assert_no_page_names_a_flag(self) -> None:
        """No page seen shows "--" but in its "Command line" box (the Send page's has some)."""
        assert FLAGS.search(self.pages["send"])  # the box is there, left out of the text
        shown = [(name, visible_text(page)) for name, page in self.seen]
        assert [(name, text) for name, text in shown if FLAGS.search(text)] == []


# -- what the pages and the files say ---------------------------------------------------------


def results_file(user: User) -> list[dict[str, str]]:
    """The import's results file: every row of the upload with its cells, and its "row",
    "status" and "error" (named "keen_status" in the file when the upload has a Status)."""
    path = user.app.state.workspace.get(user.import_id).file("results")
    if path.suffix == ".csv":
        with open(path, newline="", encoding="utf-8-sig") as handle:
            lines = list(csv.reader(handle))
    else:
        from openpyxl import load_workbook

        sheet = load_workbook(path, read_only=True).active
        lines = [
            ["" if v is None else str(v) for v in line]
            for line in sheet.iter_rows(values_only=True)
        ]
    at = next(i for i, line in enumerate(lines) if {"row", "error"} <= set(line))
    rows = [dict(zip(lines[at], line, strict=False)) for line in lines[at + 1 :]]
    for row in rows:
        row.update(
            {name: row.get(f"keen_{name}", row.get(name)) for name in ("row", "status", "error")}
        )
    return rows


def outcome(user: User) -> dict[int, tuple[str, str]]:
    """Row -> (status, reason) of the results file."""
    return {int(r["row"]): (r["status"], r["error"]) for r in results_file(user)}


def totals(rows: list[dict[str, str]], money) -> dict[str, tuple[int, dict[str, Decimal]]]:
    """Status -> (rows, amount per currency) of results file rows, and "file" for them all."""
    found: dict[str, tuple[int, Counter]] = {}
    for row in rows:
        code, amount = money(row)
        for key in (row["status"], "file"):
            count, amounts = found.get(key, (0, Counter()))
            amounts[code] += amount
            found[key] = (count + 1, amounts)
    return {key: (count, dict(amounts)) for key, (count, amounts) in found.items()}


def shown(amounts: dict[str, Decimal]) -> list[str]:
    """Amounts as the pages write them: "1,250.00 EUR" (a file without currency: "49.00")."""
    return sorted(f"{value:,.2f} {code}".strip() for code, value in amounts.items())


def cards(review: str) -> dict[str, tuple[int, list[str]]]:
    """Status ("file" for "Rows in file") -> (rows, amounts) of the review page's cards."""
    found = {}
    for status, rows, body in re.findall(
        r'<div class="card summary status-(\w+)">\s*<h2>[^<]*</h2>\s*'
        r'<p class="big">([\d,]+) rows?</p>(.*?)</div>',
        review,
        re.S,
    ):
        amounts = re.findall(r'<p class="num">([^<]+)</p>', body)
        found[status] = (int(rows.replace(",", "")), sorted(a.strip() for a in amounts))
    return found


def results_table(results: str) -> dict[str, tuple[int, list[str]]]:
    """Status -> (rows, amounts) of the results page's table."""
    found = {}
    for status, rows, amounts in re.findall(
        r'<tr class="status-(\w+)"><th scope="row">[^<]*</th><td class="num">([\d,]+)</td>'
        r'<td class="num">(.*?)</td></tr>',
        results,
    ):
        found[status] = (
            int(rows.replace(",", "")),
            sorted(a.strip() for a in amounts.split("<br>") if a),
        )
    return found


def send_plan(send: str) -> tuple[int, list[str]]:
    """(rows, amounts) of the Send page: "About to import N purchases" and its Total."""
    rows = re.search(r"<h2>About to import ([\d,]+) purchases?</h2>", send)[1]
    total = re.search(r"<dt>Total</dt><dd>(.*?)</dd>", send, re.S)[1]
    amounts = re.findall(r'<span class="num">([^<]+)</span>', total)
    return int(rows.replace(",", "")), sorted(a.strip() for a in amounts)


def progress_counts(progress: str) -> dict[str, int]:
    counts = re.search(r'<dl id="progress-counts" class="counts">(.*?)</dl>', progress, re.S)[1]
    return {
        status.replace(" ", "_"): int(rows.replace(",", ""))
        for status, rows in re.findall(r"<dt>([^<]+)</dt><dd class=\"num\">([\d,]+)</dd>", counts)
    }


def history_pills(history: str, file_name: str) -> dict[str, tuple[int, list[str]]]:
    """Status -> (rows, amounts) of this file's line on the History page."""
    line = re.search(rf">{re.escape(file_name)}</a></th>(.*?)</tr>", history, re.S)[1]
    found = {}
    for status, text in re.findall(r'<span class="pill status-(\w+)">([^<]+)</span>', line):
        count, *amounts = [part.strip() for part in text.split(" · ")]
        found[status] = (int(count.rsplit(" ", 1)[1].replace(",", "")), sorted(amounts))
    return found


def money_in(amount: str, currency: str | None = None, *, decimal: str = "."):
    """The (currency, amount) of a results file row, read from its cells as the file writes
    them (``decimal``: the export's decimal separator; no currency column: "", as the pages
    show such amounts)."""

    def read(row: dict[str, str]) -> tuple[str, Decimal]:
        text = row[amount].replace(" ", "")
        text = text.replace(".", "").replace(",", ".") if decimal == "," else text.replace(",", "")
        return (row[currency].upper() if currency else ""), Decimal(text)

    return read


def assert_every_number_is_the_results_files(user: User, money) -> None:
    """The review cards, the Send page, the progress, the results page and the history show
    the results file's rows and amounts, per status, exactly."""
    checked = totals(user.checked_rows, money)
    assert cards(user.pages["review"]) == {k: (n, shown(a)) for k, (n, a) in checked.items()}
    assert send_plan(user.pages["send"]) == (checked["valid"][0], shown(checked["valid"][1]))
    final = totals(results_file(user), money)
    by_status = {k: (n, shown(a)) for k, (n, a) in final.items() if k != "file"}
    assert cards(user.pages["review: after the send"]) == {
        k: (n, shown(a)) for k, (n, a) in final.items()
    }
    assert results_table(user.pages["results"]) == by_status
    assert progress_counts(user.pages["progress"]) == {k: n for k, (n, _) in by_status.items()}
    name = user.app.state.workspace.get(user.import_id).meta()["file"]
    assert history_pills(user.pages["history"], name) == by_status


def sent(user: User) -> list[tuple[str, str, str, str, str | None, str | None]]:
    """What the sandbox received since the user's send began, sorted: (lead, amount, currency
    of the lead's channel, date, product name, product description) of each."""
    world = json.loads(user.sandbox.world_path.read_text(encoding="utf-8"))
    channel_of = {lead["id"]: lead["channels_id"] for lead in world["leads"]}
    currency_of = {channel["id"]: channel["currency"] for channel in world["channels"]}
    return sorted(
        (p["lead_id"], p["purchase_amount"], currency_of[channel_of[p["lead_id"]]], p["date"],
         p["name"], p["description"])
        for p in user.sandbox.purchases()[user.before :]
    )  # fmt: skip


def assert_results(user: User, rows: dict[int, tuple[str, str]], money) -> None:
    """After the send: each row's (status, reason) in the results file is ``rows``, every
    number the pages show is the results file's (amounts read with ``money``), and no page
    shows "--"."""
    assert outcome(user) == rows
    assert_every_number_is_the_results_files(user, money)
    user.assert_no_page_names_a_flag()


def chosen(columns: str) -> dict[str, str]:
    """Field -> column the match page shows chosen (fields without a column left out)."""
    return {field: column for field, column in selected_mapping(columns).items() if column}


# -- the exports ------------------------------------------------------------------------------


def test_shopify_orders_only_the_paid_ones_kept(user, tmp_path):
    columns = user.upload(shopify_orders(tmp_path, (*EUR, LEAD_3)))
    assert chosen(columns) == {
        "lead_id": "Notes",
        "purchase_amount": "Total",
        "date": "Paid at",
        "product_name": "Lineitem name",
        "reference": "Name",
        "currency": "Currency",
    }
    assert line_of(columns, "lead_id").startswith(
        "Lead ID (lead_id) Confirm: guessed from the values"
    )

    review = user.check_file(columns)
    kept = user.press(review, f"{user.base}/keep", lambda f: f.tick("paid (3 rows)"))
    review = user.went_to(kept, "review")
    assert "Keeping only the rows whose Financial Status is paid" in visible_text(review)
    user.send(review)

    assert sent(user) == [
        (EUR[1], "122.71", "EUR", "2026-04-03T14:40:12Z", "Pro plan", None),
        (EUR[0], "63.21", "EUR", "2026-04-02T08:14:03Z", "Starter plan", None),
    ]
    assert_results(user, THIRD_REJECTED, money_in("Total", "Currency"))


def test_stripe_payments_the_refund_left_out(user, tmp_path):
    columns = user.upload(stripe_payments(tmp_path, (*EUR, LEAD_3)))
    assert chosen(columns) == {
        "lead_id": "lead_id (metadata)",
        "purchase_amount": "Amount",
        "date": "Created date (UTC)",
        "product_description": "Description",
        "reference": "id",
        "currency": "Currency",
    }

    review = user.check_file(columns)
    assert (
        "column 'Status' marks rows as not real sales (1 refunded); keep only the sales by "
        "choosing which values of 'Status' to keep"
    ) in visible_text(review)
    kept = user.press(review, f"{user.base}/keep", lambda f: f.tick("Paid (2 rows)"))
    user.send(user.went_to(kept, "review"))

    assert sent(user) == [
        (EUR[1], "99.00", "EUR", "2026-04-02T14:30:01Z", None, "Pro plan"),
        (EUR[0], "49.00", "EUR", "2026-04-01T09:12:44Z", None, "Starter plan"),
    ]
    assert_results(
        user,
        {2: ("created", ""), 3: ("created", ""), 4: ("skipped", "filtered out by --where")},
        money_in("Amount", "Currency"),
    )


def test_quickbooks_sales_us_dates_asked_and_legacy_ids_confirmed(user, tmp_path):
    columns = user.upload(quickbooks_sales(tmp_path))
    assert chosen(columns) == {
        "legacy_lead_id": "Keen ID",
        "purchase_amount": "Amount",
        "date": "Date",
        "product_name": "Product/Service",
        "product_description": "Memo/Description",
        "reference": "No.",
    }
    assert line_of(columns, "legacy_lead_id").startswith(
        "Legacy lead ID (legacy_lead_id) Confirm: guessed from the values"
    )

    questions = user.check_file(columns)
    assert "'04/02/2026' could be day-first or month-first" in visible_text(questions)
    answer = user.press(
        questions, f"{user.base}/questions", lambda f: f.tick("month/day/year (04/23/2026)")
    )
    user.send(user.went_to(answer, "review"))

    assert sent(user) == [
        (USD[0], "49.00", "USD", "2026-04-02T00:00:00Z", "Starter", "Starter plan - April"),
        (USD[0], "50.00", "USD", "2026-04-07T00:00:00Z", "Seats", "Extra seats"),
        (USD[1], "198.00", "USD", "2026-04-03T00:00:00Z", "Pro", "Pro plan - April"),
    ]
    assert_results(
        user,
        {2: ("created", ""), 3: ("created", ""), 4: ("created", "")},
        money_in("Amount"),
    )


def test_xero_invoices_the_lead_guessed_in_reference_is_confirmed(user, tmp_path):
    columns = user.upload(xero_invoices(tmp_path, (*EUR, LEAD_3)))
    assert chosen(columns) == {
        "lead_id": "Reference",
        "purchase_amount": "Total",
        "date": "*InvoiceDate",
        "product_description": "*Description",
        "reference": "*InvoiceNumber",
        "currency": "Currency",
    }
    assert line_of(columns, "lead_id").startswith(
        "Lead ID (lead_id) Confirm: guessed from the values"
    )

    user.send(user.check_file(columns))

    assert sent(user) == [
        (EUR[1], "118.80", "EUR", "2026-04-22T00:00:00Z", None, "Pro plan"),
        (EUR[0], "58.80", "EUR", "2026-04-21T00:00:00Z", None, "Starter plan"),
    ]
    assert_results(user, THIRD_REJECTED, money_in("Total", "Currency"))


def test_sap_line_items_in_house_currency(user, tmp_path):
    columns = user.upload(sap_line_items(tmp_path, (*EUR, LEAD_3)))
    assert chosen(columns) == {
        "lead_id": "Zuordnung",
        "purchase_amount": "Betrag in HW",
        "date": "Buchungsdatum",
        "reference": "Belegnummer",
        "currency": "HWähr",
    }

    user.send(user.check_file(columns))

    assert sent(user) == [
        (EUR[1], "99.90", "EUR", "2026-04-22T00:00:00Z", None, None),
        (EUR[0], "1250.00", "EUR", "2026-04-21T00:00:00Z", None, None),
    ]
    assert_results(user, THIRD_REJECTED, money_in("Betrag in HW", "HWähr", decimal=","))


def test_french_invoices_decimal_comma_and_dates_day_first(user, tmp_path):
    columns = user.upload(french_invoices(tmp_path, (*EUR, LEAD_3)))
    assert chosen(columns) == {
        "lead_id": "Client (UUID)",
        "purchase_amount": "Montant TTC",
        "date": "Date",
        "product_description": "Libellé",
        "currency": "Devise",
    }

    user.send(user.check_file(columns))

    assert sent(user) == [
        (EUR[1], "118.80", "EUR", "2026-04-22T00:00:00Z", None, "Abonnement Pro"),
        (EUR[0], "58.80", "EUR", "2026-04-21T00:00:00Z", None, "Abonnement Starter"),
    ]
    assert_results(user, THIRD_REJECTED, money_in("Montant TTC", "Devise", decimal=","))


def test_sage_audit_trail_in_pounds(user, tmp_path):
    columns = user.upload(sage_audit_trail(tmp_path, (*GBP, LEAD_3)))
    assert chosen(columns) == {
        "lead_id": "Ex.Ref",
        "purchase_amount": "Net",
        "date": "Date",
        "product_description": "Details",
        "reference": "Reference",
        "currency": "Currency",
    }
    assert line_of(columns, "purchase_amount").startswith(
        "Amount (purchase_amount) Confirm: guessed from the values"
    )

    user.send(user.check_file(columns))

    assert sent(user) == [
        (GBP[0], "49.00", "GBP", "2026-04-21T00:00:00Z", None, "Starter plan"),
        (GBP[1], "99.00", "GBP", "2026-04-22T00:00:00Z", None, "Pro plan"),
    ]
    assert_results(user, THIRD_REJECTED, money_in("Net", "Currency"))


def test_hand_made_workbook_header_found_below_its_title_and_the_hidden_sale_skipped(
    user, tmp_path
):
    columns = user.upload(hand_made_workbook(tmp_path, USD))
    # The one-cell title on row 1 is passed over: the headers are on row 3.
    found = "Headers found on row 3 of sheet “April”: Customer, Amount, Date, Product"
    assert found in visible_text(columns)
    assert WORKBOOK_TITLE not in visible_text(columns)
    assert chosen(columns) == {
        "lead_id": "Keen",
        "purchase_amount": "Amount",
        "date": "Date",
        "product_name": "Product",
    }
    assert '<option value="" disabled>(column E, no header)</option>' in columns

    review = user.check_file(columns)
    chose = user.press(review, f"{user.base}/choices", lambda f: f.tick("Skip hidden rows"))
    user.send(user.went_to(chose, "review"))

    assert "No hidden rows included (1 hidden row, 49.00, not sent)" in visible_text(
        user.pages["send"]
    )
    assert sent(user) == [
        (USD[0], "49.00", "USD", "2026-04-21T00:00:00Z", "Starter", None),
        (USD[1], "99.00", "USD", "2026-04-22T00:00:00Z", "Pro", None),
    ]
    assert_results(
        user,
        {4: ("created", ""), 5: ("created", ""), 6: ("skipped", "hidden in the workbook")},
        money_in("Amount"),
    )
