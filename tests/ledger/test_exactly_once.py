"""Exactly once per Keen account, not per file: the ledger across folders, names, overlapping
exports, edited re-exports, repeats far apart in one file, forgetting, several files per command.

Real HTTP against the sandbox (one per test, kept across that test's runs, so a purchase sent
twice would be in its store twice); runs go through ``importer.cli.main`` in-process.
"""

from __future__ import annotations

import asyncio
import dataclasses
import io
import re
import shutil
import sqlite3
import sys
from collections import Counter
from decimal import Decimal
from pathlib import Path

import pytest
from runhelpers import USD_LEADS, read_csv, results_by_row

from importer.cli import main
from importer.job.run import ImportPlan
from importer.ledger import Ledger, ledger_location
from importer.read import loader
from importer.records import RowResult, RowStatus
from ledger.test_postgres_ledger import _candidates

HEADER = "Lead ID,Amount,Date,Product,Invoice\n"


def line(i: int, *, amount: str | None = None, reference: str | None = None) -> str:
    lead = USD_LEADS[i % len(USD_LEADS)]
    amount = amount or f"{100 + i}.00"
    reference = reference or f"INV-{i:03d}"
    return f"{lead},{amount},2026-03-{1 + i % 28:02d},Pro plan,{reference}\n"


def write(path: Path, lines: list[str]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(HEADER + "".join(lines), encoding="utf-8")
    return path


def stored(sb) -> Counter:
    """How many times the sandbox holds each (lead, amount, date) purchase."""
    return Counter((p["lead_id"], p["purchase_amount"], p["date"][:10]) for p in sb.purchases())


def _renumbered(candidates: list) -> list:
    """The same purchases under other references (another export numbers them SO-...)."""
    from importer.ledger.identity import purchase_identity

    return [
        dataclasses.replace(
            c,
            reference=f"SO-{c.row}",
            identity=purchase_identity(c.content, f"SO-{c.row}", c.currency),
        )
        for c in candidates
    ]


def _begin(ledger, target: str, name: str, sha: str, source: str | None = None) -> None:
    """Begin the import of ``name``.csv, its SHA-256 written with the character ``sha``."""
    ledger.begin_import(
        target=target, file_name=f"{name}.csv", file_sha256=sha * 64, source=source or name
    )


def _answer(ledger, candidate, result) -> None:
    async def answer() -> None:
        await ledger.mark_sending_async(candidate.identity)
        ledger.record_then(candidate.identity, result, lambda: None)
        await ledger.flush()

    asyncio.run(answer())


def statuses(path: Path) -> Counter:
    return Counter(r["status"] for r in read_csv(path))


@pytest.fixture
def run(sb, run_cli):
    def go(*args):
        return run_cli(*args, "--api-url", sb.base_url, "--yes")

    return go


def test_the_same_export_in_a_second_folder_creates_nothing_again(tmp_path, sb, run):
    first = write(tmp_path / "a" / "march.csv", [line(i) for i in range(15)])
    second = tmp_path / "b" / "march (1).csv"
    second.parent.mkdir()
    shutil.copy(first, second)
    assert run(first)[0] == 0
    ids = {r["row"]: r["purchase_id"] for r in read_csv(tmp_path / "a" / "march.results.csv")}
    code, err = run(second)
    assert code == 0
    again = read_csv(tmp_path / "b" / "march (1).results.csv")
    # The same bytes are the same import: its rows stay created, with their purchase ids.
    assert {r["status"] for r in again} == {"created"}
    assert {r["row"]: r["purchase_id"] for r in again} == ids
    assert len(sb.purchases()) == 15
    assert set(stored(sb).values()) == {1}


def test_an_overlapping_export_sends_only_the_new_rows(tmp_path, sb, run):
    march = write(tmp_path / "march.csv", [line(i) for i in range(15)])
    assert run(march)[0] == 0
    first = results_by_row(tmp_path / "march.results.csv")
    last30 = write(tmp_path / "last30.csv", [line(i) for i in range(8, 20)])
    code, err = run(last30)
    assert code == 0
    results = results_by_row(tmp_path / "last30.results.csv")
    assert statuses(tmp_path / "last30.results.csv") == {"skipped": 7, "created": 5}
    for row in range(2, 9):  # rows 2-8 of last30 are rows 10-16 of march
        earlier = first[row + 8]
        assert results[row]["purchase_id"] == earlier["purchase_id"]
        assert results[row]["error"].startswith(f"already created from march.csv row {row + 8} on ")
        assert results[row]["error"].endswith(
            f"(purchase {earlier['purchase_id']}); not sent again"
        )
    assert "already imported: 7 rows, " in err
    amounts = sum(108 + i for i in range(7))
    assert f"already imported: 7 rows, {amounts:,}.00" in err
    assert len(sb.purchases()) == 20
    assert set(stored(sb).values()) == {1}


def test_same_payload_under_another_reference_is_held_until_allowed(tmp_path, sb, run):
    assert run(write(tmp_path / "march.csv", [line(0), line(1)]))[0] == 0
    purchase = read_csv(tmp_path / "march.results.csv")[0]["purchase_id"]
    other = write(tmp_path / "remapped.csv", [line(0, reference="ORDER-77")])
    code, _ = run(other)
    assert code == 1
    (held,) = read_csv(tmp_path / "remapped.results.csv")
    assert held["status"] == "not_sent"
    assert held["error"].startswith(f"possible duplicate of purchase {purchase} (march.csv row 2)")
    assert len(sb.purchases()) == 2
    code, _ = run(other, "--allow-duplicates")
    assert code == 0
    assert read_csv(tmp_path / "remapped.results.csv")[0]["status"] == "created"
    assert len(sb.purchases()) == 3


def test_a_corrected_reexport_is_held_as_edited_until_resend_changed(tmp_path, sb, run):
    assert run(write(tmp_path / "march.csv", [line(0), line(1)]))[0] == 0
    purchase = read_csv(tmp_path / "march.results.csv")[1]["purchase_id"]
    fixed = write(tmp_path / "march-fixed.csv", [line(0), line(1, amount="99.50")])
    code, _ = run(fixed)
    assert code == 1
    first, second = read_csv(tmp_path / "march-fixed.results.csv")
    assert first["status"] == "skipped"
    assert second["status"] == "not_sent"
    assert f"already created as purchase {purchase}" in second["error"]
    assert "amount 101.00 (now 99.50)" in second["error"]
    assert len(sb.purchases()) == 2
    code, _ = run(fixed, "--resend-changed")
    assert code == 0
    assert read_csv(tmp_path / "march-fixed.results.csv")[1]["status"] == "created"
    assert len(sb.purchases()) == 3


def test_a_corrected_reexport_in_the_same_folder_is_held_as_edited(tmp_path, sb, run):
    """Every file of a folder is checked before the first is sent: the re-export, checked
    beside the original, is looked at again once the original was sent."""
    folder = tmp_path / "july"
    write(folder / "july.csv", [line(0), line(1)])
    write(folder / "july_reexport.csv", [line(0), line(1, amount="111.00")])
    code, err = run(folder)
    assert code == 1, err
    first = read_csv(folder / "july.results.csv")
    again = read_csv(folder / "july_reexport.results.csv")
    assert [r["status"] for r in first] == ["created", "created"]
    assert [r["status"] for r in again] == ["skipped", "not_sent"]
    assert f"already created as purchase {first[1]['purchase_id']}" in again[1]["error"]
    assert "amount 101.00 (now 111.00)" in again[1]["error"]
    assert len(sb.purchases()) == 2


def test_a_corrected_reexport_that_changed_the_invoice_numbers_case_is_held_as_edited(
    tmp_path, sb, run
):
    assert run(write(tmp_path / "march.csv", [line(0), line(1)]))[0] == 0
    first = read_csv(tmp_path / "march.results.csv")
    fixed = write(tmp_path / "fixes.csv", [line(5), line(1, amount="111.00", reference="inv-001")])
    code, err = run(fixed)
    assert code == 1, err
    again = read_csv(tmp_path / "fixes.results.csv")
    assert [r["status"] for r in again] == ["created", "not_sent"]
    assert f"already created as purchase {first[1]['purchase_id']}" in again[1]["error"]
    assert "amount 101.00 (now 111.00)" in again[1]["error"]
    assert len(sb.purchases()) == 3


def test_an_exact_repeat_far_down_the_file_is_skipped_whatever_the_chunk(
    tmp_path, sb, run, monkeypatch
):
    monkeypatch.setattr(loader.Table.chunks, "__defaults__", (2,))
    # Two lines of one invoice, then other rows, then a copy of the invoice's second line.
    lines = [line(0), line(1, reference="INV-000"), *[line(i) for i in range(2, 9)]]
    lines.append(line(1, reference="INV-000"))
    code, _ = run(write(tmp_path / "march.csv", lines))
    results = results_by_row(tmp_path / "march.results.csv")
    assert results[11]["status"] == "skipped"
    assert results[11]["error"].startswith("duplicate of row 3 (every field repeats)")
    assert results[3]["status"] == "created"
    assert code == 0
    assert len(sb.purchases()) == 9


def test_rows_repeated_on_purpose_stay_distinct_purchases_across_runs(tmp_path, sb, run):
    path = write(tmp_path / "march.csv", [line(0), line(0), line(1)])
    assert run(path, "--allow-duplicates")[0] == 0
    assert len(sb.purchases()) == 3
    again = write(tmp_path / "copy.csv", [line(0), line(0), line(0), line(1)])
    assert run(again, "--allow-duplicates")[0] == 0
    assert [r["status"] for r in read_csv(tmp_path / "copy.results.csv")] == [
        "skipped", "skipped", "created", "skipped"
    ]  # fmt: skip
    assert len(sb.purchases()) == 4


def test_forget_lets_a_reversed_purchase_be_sent_again(tmp_path, sb, run, capsys):
    path = write(tmp_path / "march.csv", [line(0), line(1)])
    assert run(path)[0] == 0
    purchase = read_csv(tmp_path / "march.results.csv")[0]["purchase_id"]
    code = main(["ledger", "forget", purchase, "--reason", "reversed by Keen, ticket 42"])
    out = capsys.readouterr().out
    assert code == 1  # the sandbox's ledger is not the per-user one: nothing to forget there
    assert out.startswith("nothing to forget: the ledger ")
    ledger = Path(__import__("os").environ["KEEN_IMPORT_DATA_DIR"]) / "sandbox-ledger.sqlite"
    code = main(["ledger", "--ledger", str(ledger), "forget", purchase, "--reason", "ticket 42"])
    assert code == 0
    assert capsys.readouterr().out.strip() == (
        "forgot 1 purchase: a file holding it sends it again"
    )
    code, _ = run(path)
    assert code == 0
    results = read_csv(tmp_path / "march.results.csv")
    assert results[0]["status"] == "created" and results[0]["purchase_id"] != purchase
    assert results[1]["status"] == "created"
    assert len(sb.purchases()) == 3
    with sqlite3.connect(ledger) as conn:
        (note,) = conn.execute(
            "SELECT forgotten FROM purchases WHERE purchase_id = ?", (purchase,)
        ).fetchone()
    assert note.startswith("ticket 42 (forgotten by ")


def test_a_folder_sends_its_inputs_in_name_order_and_skips_the_tools_own_files(tmp_path, sb, run):
    folder = tmp_path / "exports"
    write(folder / "2026-02.csv", [line(i) for i in range(3)])
    write(folder / "2026-01.csv", [line(i) for i in range(2, 5)])
    (folder / "~$2026-03.xlsx").write_bytes(b"lock")
    (folder / "notes.md").write_text("not an input")
    code, err = run(folder)
    assert code == 0
    assert err.index("== " + str(folder / "2026-01.csv")) < err.index(
        "== " + str(folder / "2026-02.csv")
    )
    assert statuses(folder / "2026-01.results.csv") == {"created": 3}
    assert statuses(folder / "2026-02.results.csv") == {"created": 2, "skipped": 1}
    assert err.endswith(
        "total of 2 files:\n"
        "  rows in file           6   612.00\n"
        "  created                5   510.00\n"
        "  skipped                1   102.00\n"
        "  totals reconcile: rows and amounts per status add up to the file's\n"
        "  already imported: 1 row, 102.00\n"
    )
    assert len(sb.purchases()) == 5
    # Run again: the results and created lists beside the inputs are not inputs, nor a results
    # file written beside one held open in Excel; a copy of an input is read once.
    shutil.copy(folder / "2026-01.results.csv", folder / "2026-01.results (2).csv")
    shutil.copy(folder / "2026-02.csv", folder / "2026-02 - Copy.csv")
    code, err = run(folder)
    assert code == 0
    assert err.count("== ") == 3
    assert (
        f"== {folder / '2026-02 - Copy.csv'}: the same file as {folder / '2026-02.csv'} (same "
        "content): not read again\n"
    ) in err
    assert "total of 2 files:\n" in err
    assert len(sb.purchases()) == 5


class _Terminal(io.StringIO):
    """A console's stdin: a person types the answer."""

    def isatty(self) -> bool:
        return True


def test_overlapping_files_of_one_command_count_each_purchase_once_before_sending(
    tmp_path, sb, run_cli, monkeypatch, capsys
):
    folder = tmp_path / "exports"
    write(folder / "2026-01.csv", [line(i) for i in range(4)])
    write(folder / "2026-02.csv", [line(i) for i in range(2, 7)])  # rows 2-3 repeat 2026-01
    monkeypatch.setattr(loader.Table.chunks, "__defaults__", (2,))  # repeats across chunks
    assert main(["validate", str(folder)]) == 0
    err = capsys.readouterr().err
    assert "ledger: all 4 valid rows are new\n" in err
    assert (
        "ledger: 3 new; 2 rows are the same purchases as rows of 2026-01.csv, checked earlier "
        "in this command: sent once\n"
    ) in err
    monkeypatch.setattr(ImportPlan, "to_this_machine", property(lambda plan: False))
    monkeypatch.setattr(sys, "stdin", _Terminal("n\n"))
    code, err = run_cli(folder, "--api-url", sb.base_url)
    # 7 purchases (4 + 5 rows, 2 of them twice): 100..106.00
    assert "About to import 7 purchases from 2 files\n  total: 721.00\n" in err
    assert (code, sb.stats()["create_calls"]) == (1, 0)
    monkeypatch.setattr(sys, "stdin", _Terminal("y\n"))
    code, err = run_cli(folder, "--api-url", sb.base_url)
    assert code == 0
    assert statuses(folder / "2026-02.results.csv") == {"created": 3, "skipped": 2}
    assert len(sb.purchases()) == 7
    assert set(stored(sb).values()) == {1}


def test_a_file_of_a_folder_that_cannot_be_read_is_named_and_nothing_is_sent(tmp_path, sb, run):
    folder = tmp_path / "exports"
    write(folder / "2026-01.csv", [line(0)])
    (folder / "notes.txt").write_text("remember to send march\n")
    code, err = run(folder)
    assert code == 2
    assert err.startswith(
        f"error: {folder / 'notes.txt'}: no lead column found (neither lead_id nor "
        "legacy_lead_id)\n"
    )
    assert err.endswith("; or leave the file out of the command (nothing was sent)\n")
    assert sb.purchases() == []


def test_options_that_name_one_file_refuse_several(tmp_path, sb, run):
    a = write(tmp_path / "a.csv", [line(0)])
    b = write(tmp_path / "b.csv", [line(1)])
    code, err = run(a, b, "--results", tmp_path / "r.csv")
    assert code == 2
    assert "error: --results names one file, but 2 files were given" in err
    assert sb.purchases() == []


def test_a_pattern_is_expanded_by_the_tool(tmp_path, sb, run):
    write(tmp_path / "x1.csv", [line(0)])
    write(tmp_path / "x2.csv", [line(1)])
    code, err = run(str(tmp_path / "x*.csv"))
    assert code == 0
    assert len(sb.purchases()) == 2


def test_validate_says_what_is_new_and_what_was_imported(tmp_path, sb, run, capsys):
    assert run(write(tmp_path / "march.csv", [line(i) for i in range(4)]))[0] == 0
    later = write(tmp_path / "april.csv", [line(i) for i in range(2, 7)])
    code = main(["validate", str(later), "--api-url", sb.base_url])
    err = capsys.readouterr().err
    assert code == 0
    assert "ledger: 3 new; 2 rows already created by the import of march.csv on " in err


def test_a_copy_under_another_name_is_never_named_as_the_import_that_created(tmp_path, sb, run):
    first = write(tmp_path / "march.csv", [line(i) for i in range(3)])
    copy = tmp_path / "saved again" / "march (1).csv"
    copy.parent.mkdir()
    copy.write_bytes(first.read_bytes())
    assert run(first)[0] == 0
    code, err = run(copy)
    assert (code, len(sb.purchases())) == (0, 3)
    assert "  3 rows already created by an earlier run of the same file: not sent again" in err
    assert "import of march (1).csv" not in err


def test_the_embedded_sandbox_never_writes_the_real_ledger(tmp_path, run_cli):
    path = write(tmp_path / "march.csv", [line(0)])
    code, err = run_cli(path, "--sandbox", "--yes")
    assert code == 0
    data = Path(__import__("os").environ["KEEN_IMPORT_DATA_DIR"])
    assert (data / "sandbox-ledger.sqlite").is_file()
    assert not (data / "ledger.sqlite").exists()
    assert f"ledger: {data / 'sandbox-ledger.sqlite'}" in err


@pytest.mark.parametrize(
    ("content", "message"),
    [
        pytest.param(b"this is not a database at all" * 100, "cannot be read", id="corrupt"),
        pytest.param(None, "is a database of another program", id="foreign"),
    ],
)
def test_a_ledger_that_is_not_one_stops_before_sending(tmp_path, sb, run, content, message):
    ledger = tmp_path / "ledger.sqlite"
    if content is None:
        with sqlite3.connect(ledger) as conn:
            conn.execute("CREATE TABLE invoices (id INTEGER)")
    else:
        ledger.write_bytes(content)
    code, err = run(write(tmp_path / "march.csv", [line(0)]), "--ledger", ledger)
    assert code == 2
    assert message in err
    assert err.count("error: ") == 1
    assert sb.purchases() == []


def test_a_newer_ledger_is_refused_with_one_line(tmp_path, sb, run):
    ledger = tmp_path / "ledger.sqlite"
    assert run(write(tmp_path / "march.csv", [line(0)]), "--ledger", ledger)[0] == 0
    with sqlite3.connect(ledger) as conn:
        conn.execute("UPDATE ledger_meta SET value = '7' WHERE key = 'schema_version'")
    code, err = run(write(tmp_path / "april.csv", [line(1)]), "--ledger", ledger)
    assert code == 2
    assert (
        f"error: the ledger {ledger} has schema version 7; this keen-import knows version 3" in err
    )
    assert len(sb.purchases()) == 1


def test_a_ledger_on_a_network_share_or_sync_folder_is_refused(tmp_path, sb, run):
    sync = tmp_path / "OneDrive - Contoso" / "ledger.sqlite"
    code, err = run(write(tmp_path / "march.csv", [line(0)]), "--ledger", sync)
    assert code == 2
    assert "would be on a sync folder (OneDrive, Dropbox, ...)" in err
    assert "postgresql://" in err
    assert sb.purchases() == []


@pytest.mark.parametrize(
    "given",
    [
        "host=127.0.0.1 port=5432 dbname=keen_ledger user=finance password=Pa55-w0rd",
        "postgresql+psycopg://finance:Pa55-w0rd@127.0.0.1/keen_ledger",
        "jdbc:postgresql://127.0.0.1/keen_ledger?password=Pa55-w0rd",
    ],
)
def test_a_connection_string_that_is_not_a_postgresql_url_is_refused(
    tmp_path, sb, run, monkeypatch, given
):
    """Taken as a SQLite file's name, it was a new, empty ledger: every purchase sent again,
    and the password shown on the 'ledger:' line."""
    monkeypatch.chdir(tmp_path)
    source = write(tmp_path / "march.csv", [line(0)])
    code, err = run(source, "--ledger", given)
    assert code == 2
    assert "error: the ledger given is a connection string but not a postgresql:// URL" in err
    assert "postgresql://USER:PASSWORD@HOST:PORT/DATABASE" in err
    assert "Pa55-w0rd" not in err
    assert sb.purchases() == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["march.csv"]


def test_an_old_journal_is_adopted_on_the_next_run(tmp_path, sb, run):
    """A journal of an earlier version (the file's rows created) is taken into the ledger:
    nothing is sent again, and the journal is kept under another name."""
    path = write(tmp_path / "march.csv", [line(0), line(1)])
    journal = tmp_path / "march.journal.sqlite"
    _write_old_journal(journal, path, sb.base_url)
    code, err = run(path)
    assert code == 0
    assert "took 1 purchases of march.journal.sqlite into the ledger" in err
    results = read_csv(tmp_path / "march.results.csv")
    assert results[0]["status"] == "created" and results[0]["purchase_id"] == "old-purchase-1"
    assert results[1]["status"] == "created"
    assert len(sb.purchases()) == 1  # only row 3 was sent
    assert not journal.exists() and journal.with_name(journal.name + ".adopted").exists()


def _write_old_journal(journal: Path, source: Path, target: str) -> None:
    import hashlib

    from importer.records import PurchaseRecord, dumps_payload

    first = source.read_text().splitlines()[1].split(",")
    from datetime import UTC, datetime
    from decimal import Decimal

    record = PurchaseRecord(
        row=2,
        lead_id=first[0],
        purchase_amount=Decimal(first[1]),
        date=datetime.fromisoformat(first[2]).replace(tzinfo=UTC),
        product_name=first[3],
        reference=first[4],
    )
    content = dumps_payload(record.payload())
    with sqlite3.connect(journal) as conn:
        conn.executescript(
            "CREATE TABLE entries (file_hash TEXT, row INTEGER, payload_hash TEXT, status TEXT,"
            " purchase_id TEXT, http_status INTEGER, error TEXT, attempts INTEGER, sends INTEGER,"
            " updated_at REAL, payload TEXT);"
            "CREATE TABLE keys (id INTEGER PRIMARY KEY, name TEXT);"
        )
        conn.execute("INSERT INTO keys VALUES (1, ?)", (f"target:{target}",))
        conn.execute(
            "INSERT INTO entries VALUES ('1', 2, ?, 'created', 'old-purchase-1', 200, NULL, 1, 1,"
            " 1.7e9, ?)",
            (hashlib.sha256(content).hexdigest(), content.decode()),
        )


def test_validate_does_not_read_the_file_again_when_the_ledger_holds_nothing_of_its_dates(
    tmp_path, sb, run, capsys, monkeypatch
):
    assert run(write(tmp_path / "march.csv", [line(i) for i in range(3)]))[0] == 0
    april = tmp_path / "april.csv"
    april.write_text(HEADER + "".join(line(i).replace("2026-03-", "2026-04-") for i in range(3)))
    from importer.job import known

    def must_not_run(*args, **kwargs):
        raise AssertionError("the file was read again")

    monkeypatch.setattr(known, "_candidate_chunks", must_not_run)
    code = main(["validate", str(april), "--api-url", sb.base_url])
    err = capsys.readouterr().err
    assert code == 0
    assert (
        "ledger: every valid row is new (nothing dated within this file's dates was imported "
        f"into {sb.base_url}"
    ) in err


def test_validate_with_another_api_url_than_the_ledgers_imports_says_where_they_went(
    tmp_path, sb, run, capsys
):
    march = write(tmp_path / "march.csv", [line(i) for i in range(3)])
    ledger = str(tmp_path / "team.sqlite")
    assert run(march, "--ledger", ledger)[0] == 0
    assert main(["validate", str(march), "--ledger", ledger]) == 0  # the real Keen's URL
    err = capsys.readouterr().err
    assert (
        "  ledger: every valid row is new (nothing dated within this file's dates was imported "
        "into https://data.keenpartner.com/functions/v1/keen-api yet; its imports went to "
        f"{sb.base_url}: check with the API URL the file will be sent to)\n"
    ) in err
    assert main(["validate", str(march), "--ledger", ledger, "--api-url", sb.base_url]) == 0
    err = capsys.readouterr().err
    assert "  ledger: 0 new; 3 rows already created by an earlier run of the same file" in err
    april = write(tmp_path / "april.csv", [line(i) for i in range(2, 5)])  # 1 row of march
    assert main(["validate", str(march), str(april), "--ledger", ledger]) == 0
    err = capsys.readouterr().err
    assert (
        "  ledger: 2 new; 1 row is the same purchase as a row of march.csv, checked earlier in "
        "this command: sent once; nothing was imported into "
        "https://data.keenpartner.com/functions/v1/keen-api yet; its imports went to "
        f"{sb.base_url}: check with the API URL the file will be sent to\n"
    ) in err


def test_next_months_export_saved_under_the_same_name_is_sent_not_held_as_edited(tmp_path, sb, run):
    path = write(tmp_path / "export.csv", [line(i) for i in range(4)])
    assert run(path)[0] == 0
    write(path, [line(i, amount=f"{300 + i}.00", reference=f"APR-{i}") for i in range(4)])
    code, err = run(path)
    assert code == 0, err
    assert statuses(tmp_path / "export.results.csv") == {"created": 4}
    assert len(sb.purchases()) == 8


def test_next_months_export_without_references_is_held_naming_both_readings(tmp_path, sb, run):
    """Without a reference, the same lead at the same row of a file of the same name may be a
    correction or another sale: the reason says both, never only 'ask Keen to reverse'."""
    path = tmp_path / "export.csv"
    path.write_text("Lead ID,Amount,Date\n" + f"{USD_LEADS[0]},100.00,2026-01-05\n")
    assert run(path)[0] == 0
    [purchase] = sb.purchases()
    path.write_text("Lead ID,Amount,Date\n" + f"{USD_LEADS[0]},120.00,2026-02-05\n")
    code, _ = run(path)
    assert code == 1
    [row] = read_csv(tmp_path / "export.results.csv")
    assert (row["status"], row["error"]) == (
        "not_sent",
        f"row 2 has the lead of purchase {purchase['id']}, created by an earlier run of this "
        "file at this row with amount 100.00 (now 120.00), date 2026-01-05T00:00:00Z (now "
        "2026-02-05T00:00:00Z): "
        f"a correction of it? Ask Keen to reverse {purchase['id']}, then send it with "
        "--resend-changed. Another sale (a later export saved under the same name)? "
        "--resend-changed sends it; a reference column tells them apart",
    )


def test_the_ledger_option_goes_before_or_after_the_action(tmp_path, sb, run, capsys):
    ledger = tmp_path / "team.sqlite"
    assert run(write(tmp_path / "march.csv", [line(0)]), "--ledger", ledger)[0] == 0
    capsys.readouterr()
    for args in (["--ledger", str(ledger), "list"], ["list", "--ledger", str(ledger)]):
        assert main(["ledger", *args]) == 0
        out = capsys.readouterr().out
        assert out.startswith(f"ledger: {ledger} (1 imports)")
        assert "march.csv" in out and "created 1 (100.00)" in out


def test_the_plan_counts_only_the_rows_it_will_send(tmp_path, sb, run):
    """The typed confirmation expects the rows this send sends: rows the ledger holds back
    (unconfirmed, possible duplicates) are not among them unless asked for."""
    import importer
    from importer.ledger.location import data_dir
    from importer.sandbox import DEMO_API_KEY

    source = write(tmp_path / "march.csv", [line(0), line(1), line(2)])
    assert run(source)[0] == 0
    with sqlite3.connect(data_dir() / "sandbox-ledger.sqlite") as db:  # row 2: answer lost
        db.execute("UPDATE purchases SET status = 'unconfirmed', purchase_id = NULL "
                   "WHERE file_row = 2")  # fmt: skip
    write(source, [line(0), line(1), line(2), line(3)])
    remapped = write(tmp_path / "remapped.csv", [line(1, reference="ORDER-77"), line(7)])

    plan = importer.open_import(source).plan(api_url=sb.base_url, api_key=DEMO_API_KEY)
    assert (plan.valid_rows, plan.already_imported, plan.held_back) == (4, 2, {"unconfirmed": 1})
    assert (plan.rows_to_send, plan.rows_sent(resend_unconfirmed=True)) == (1, 2)
    # rows 2-5 are 100.00 to 103.00: only row 5 (103.00) goes; row 2 (100.00) when resent
    assert plan.amounts_sent() == {"": Decimal("103.00")}  # no currency column
    assert plan.amounts_sent(resend_unconfirmed=True) == {"": Decimal("203.00")}
    assert "1 row held back (unconfirmed 1)" in plan.notes
    plan = importer.open_import(remapped).plan(api_url=sb.base_url, api_key=DEMO_API_KEY)
    assert (plan.valid_rows, plan.held_back, plan.rows_to_send) == (2, {"not_sent": 1}, 1)
    assert (
        "1 row held back (not_sent 1: 1 possible duplicate of a purchase created under another "
        "reference or currency)"
    ) in plan.notes

    assert run(source)[0] == 1
    assert statuses(tmp_path / "march.results.csv") == Counter({"created": 3, "unconfirmed": 1})
    assert len(sb.purchases()) == 4


def test_rows_resent_with_resend_unconfirmed_are_not_called_held_back(tmp_path, sb, run):
    """The summary of a run with --resend-unconfirmed said '1 row held back (unconfirmed 1)'
    for the row it had just sent again."""
    from importer.ledger.location import data_dir

    source = write(tmp_path / "march.csv", [line(0), line(1), line(2)])
    assert run(source)[0] == 0
    with sqlite3.connect(data_dir() / "sandbox-ledger.sqlite") as db:  # row 3: answer lost
        db.execute("UPDATE purchases SET status = 'unconfirmed', purchase_id = NULL "
                   "WHERE file_row = 3")  # fmt: skip
    code, err = run(source)
    assert code == 1
    assert "  1 row held back (unconfirmed 1)\n" in err
    assert len(sb.purchases()) == 3
    code, err = run(source, "--resend-unconfirmed")
    assert code == 0
    assert "held back" not in err
    assert "  2 rows already created by an earlier run of the same file: not sent again" in err
    assert statuses(tmp_path / "march.results.csv") == Counter({"created": 3})
    assert len(sb.purchases()) == 4  # row 3 sent again, as asked


def test_a_ledger_out_of_reach_is_not_called_damaged(tmp_path, sb, run, monkeypatch):
    """A read-only folder (a locked-down profile) is not a damaged ledger, and the hint never
    suggests a new ledger without saying it would send everything again."""
    from importer.ledger import backends

    ledger = tmp_path / "ledger.sqlite"
    assert run(write(tmp_path / "march.csv", [line(0)]), "--ledger", ledger)[0] == 0

    def read_only(self):
        exc = sqlite3.OperationalError("unable to open database file")
        exc.sqlite_errorcode = sqlite3.SQLITE_CANTOPEN
        raise exc

    monkeypatch.setattr(backends.SqliteBackend, "_connect", read_only)
    code, err = run(write(tmp_path / "april.csv", [line(1)]), "--ledger", ledger)
    assert code == 2
    assert (
        f"error: the ledger {ledger} cannot be opened for writing (unable to open database file)"
        in err
    )
    assert (
        f"hint: let this user write to {tmp_path} (it or the ledger may be read-only, or the disk "
        "full); a new ledger would not know the purchases this one holds and would send them "
        "again" in err
    )
    assert "damaged" not in err
    assert len(sb.purchases()) == 1


def test_the_team_ledger_of_the_environment_is_used_for_a_server_on_this_machine(
    tmp_path, sb, run, monkeypatch, any_ledger
):
    """Keen reached through a tunnel or a local forwarder (http://127.0.0.1:PORT): two
    machines sharing KEEN_IMPORT_LEDGER must not each send the file (each had kept its own
    sandbox ledger, so Keen got every purchase twice)."""
    monkeypatch.setenv("KEEN_IMPORT_LEDGER", any_ledger)
    source = write(tmp_path / "march.csv", [line(i) for i in range(3)])
    for machine in ("one", "two"):
        monkeypatch.setenv("KEEN_IMPORT_DATA_DIR", str(tmp_path / machine))
        code, err = run(source)
        assert code == 0, err
    assert len(sb.purchases()) == 3
    assert "already created" in err
    assert not (tmp_path / "two" / "sandbox-ledger.sqlite").exists()


def test_the_same_purchases_through_another_spelling_of_the_url_are_held(
    tmp_path, sb, run_cli, any_ledger
):
    """127.0.0.1 and localhost (or Keen's two documented base paths) are one account to Keen
    but two targets to the ledger: the second address holds what the first created, naming
    it; --allow-duplicates sends them (another account)."""
    source = write(tmp_path / "march.csv", [line(i) for i in range(2)])
    first = sb.base_url
    other = first.replace("127.0.0.1", "localhost")
    assert run_cli(source, "--api-url", first, "--ledger", any_ledger, "--yes")[0] == 0
    created = [r["purchase_id"] for r in read_csv(tmp_path / "march.results.csv")]
    code, err = run_cli(source, "--api-url", other, "--ledger", any_ledger, "--yes")
    assert code == 1, err
    results = read_csv(tmp_path / "march.results.csv")
    assert [r["status"] for r in results] == ["not_sent", "not_sent"]
    for row, (result, purchase) in enumerate(zip(results, created, strict=True), start=2):
        assert re.fullmatch(
            re.escape(
                f"already created through another API URL, {first} as purchase {purchase} "
                f"(march.csv row {row} on "
            )
            + r"\d{4}-\d{2}-\d{2}"
            + re.escape(
                "): the same Keen account? Then send to that URL. Another account? "
                "--allow-duplicates sends it"
            ),
            result["error"],
        ), result["error"]
    assert (
        "nothing was sent: 2 rows were held back before sending (the results file says why)" in err
    )
    assert re.search(r"\n  not_sent +2   201\.00\n", err), err
    assert len(sb.purchases()) == 2
    args = ("--api-url", other, "--ledger", any_ledger, "--yes", "--allow-duplicates")
    assert run_cli(source, *args)[0] == 0
    assert len(sb.purchases()) == 4


@pytest.mark.parametrize(
    ("target", "other", "sandboxes", "one"),
    [
        ("http://127.0.0.1:8787/functions/v1/keen-api", "http://localhost:8787/v1/x", True, True),
        ("http://127.0.0.1:8787/functions/v1/keen-api", "https://127.0.0.1:8787/y", True, True),
        ("http://127.0.0.1:8787/a", "http://127.0.0.1:8788/a", True, False),  # two sandboxes
        ("http://127.0.0.1:8787/a", "http://127.0.0.1:8788/a", False, True),  # a forwarder
        ("https://data.keenpartner.com/functions/v1/keen-api",
         "https://amwezouylooonljdehou.supabase.co/functions/v1/openapi-operations", False, True),
        ("https://data.keenpartner.com/functions/v1/keen-api", "http://localhost:8443/k", False,
         True),
        ("sandbox", "http://127.0.0.1:8787/functions/v1/keen-api", True, False),  # named
        ("acme-production", "acme-staging", False, False),
    ],
)  # fmt: skip
def test_which_targets_may_be_one_keen_account(target, other, sandboxes, one):
    """In a team's ledger any two API URLs may be one account (a forwarder on another local
    port too); in the ledger of sandbox runs, two local ports are two sandboxes."""
    from importer.ledger.rule import may_be_one_account

    assert may_be_one_account(target, other, sandboxes=sandboxes) is one
    assert may_be_one_account(other, target, sandboxes=sandboxes) is one


def test_rows_being_sent_through_another_url_are_not_sent_again(any_ledger):
    """Two people at once, one through http://127.0.0.1:8794, one through a forwarder on
    another port: the second's claim sees the first's (one lock for every target's claims)
    and holds the rows it is sending; created ones are held naming the purchase."""

    first_url, forwarder = "http://127.0.0.1:8794/functions/v1/keen-api", "http://127.0.0.1:9001/k"
    location = ledger_location(any_ledger)
    with Ledger.open(location) as one, Ledger.open(location) as two:
        _begin(one, first_url, "m", "a")
        claimed, held = one.claim(_candidates(3))
        assert len(claimed) == 3 and held == {}

        _answer(
            one, claimed[0], RowResult(claimed[0].row, RowStatus.CREATED, "p-1", 200, attempts=1)
        )
        _begin(two, forwarder, "m", "b", source="m2")
        sent, held = two.claim(_candidates(3))
    assert sent == []
    assert [held[c.row].status for c in claimed] == [RowStatus.NOT_SENT] * 3
    assert held[claimed[0].row].error.startswith(
        f"already created through another API URL, {first_url} as purchase p-1 (m.csv row "
    )
    assert held[claimed[1].row].error.startswith(
        f"being sent right now through another API URL, {first_url} (m.csv row "
    )


def test_validate_reads_a_copy_once_and_a_shells_pattern_leaves_out_the_tools_files(
    tmp_path, sb, run, capsys
):
    from importer.cli import main

    folder = tmp_path / "exports"
    write(folder / "march.csv", [line(i) for i in range(2)])  # 100.00 + 101.00
    shutil.copy(folder / "march.csv", folder / "march copy.csv")
    assert main(["validate", str(folder)]) == 0
    err = capsys.readouterr().err
    assert f"== {folder / 'march copy.csv'}: the same file as {folder / 'march.csv'}" in err
    assert "total of" not in err and "\n  rows in file           2   201.00\n" in err
    assert run(folder / "march.csv")[0] == 0
    shutil.copy(folder / "march.results.csv", folder / "march.results (2).csv")
    # What `keen-import run exports/*.csv` gets from a POSIX shell: every name, outputs too.
    named = sorted(str(p) for p in folder.glob("*.csv"))
    assert len(named) == 5  # march, march copy, results, results (2), created
    code, err = run(*named)
    assert code == 0, err
    assert err.count("== ") == 1 and "not read again" in err
    assert len(sb.purchases()) == 2


def test_a_row_rejected_through_another_url_is_still_held_as_a_possible_duplicate():
    """The rule for another URL holds what was created, is being sent or had no answer there;
    a row only rejected there goes on to the rest of the rule (here: the same payload created
    under another reference by another file), not straight to sending."""
    from importer.ledger.entry import Entry
    from importer.ledger.identity import Candidate
    from importer.ledger.rule import ImportContext, judge

    def entry(status, *, identity, target, purchase_id=None, import_id=1):
        made = (status, purchase_id, None, None, 1, 1, 0.0, "{}", "lead", "INV-1", None, "10.00")
        rest = (None, None, "feb.csv", "f" * 64, "feb", "2026-12-01T10:00:00", "ann", "pc")
        return Entry(identity, import_id, 2, "h" * 64, *made, *rest, "t0k3n", "finished", target, 7)

    candidate = Candidate(2, "id-new", "h" * 64, b"{}", "lead", "INV-2", None, "10.00", None)
    rejected_there = entry("rejected", identity="id-new", target="https://other.example/k")
    twin = entry("created", identity="id-old", target="https://keen.example/k", purchase_id="p-9")
    context = ImportContext(import_id=5, file_sha256="a" * 64, source="march")
    held = judge(candidate, None, twin, context, lambda _: False, rejected_there)
    assert held is not None and held.status == "not_sent"
    assert held.error.startswith("possible duplicate of purchase p-9 (feb.csv row 2)")


def test_the_same_purchases_renumbered_are_not_sent_while_another_import_sends_them(any_ledger):
    """Two people at once, the second with an export that numbers the same sales otherwise:
    the possible-duplicate rule sees rows being sent (one waiting for a retry too), not only
    purchases created, so the second sends none of them."""

    url = "http://127.0.0.1:8794/functions/v1/keen-api"
    location = ledger_location(any_ledger)
    with Ledger.open(location) as one, Ledger.open(location) as two:
        _begin(one, url, "a", "a")
        claimed, _ = one.claim(_candidates(3))
        _answer(one, claimed[0], RowResult(claimed[0].row, RowStatus.RETRIED, None, 503))
        _begin(two, url, "b", "b")
        sent, held = two.claim(_renumbered(_candidates(3)))
    assert sent == []
    assert {row: (r.status, r.error) for row, r in held.items()} == {
        row: (
            RowStatus.NOT_SENT,
            f"possible duplicate of a row being sent right now by another import (a.csv row "
            f"{row}): the same purchase with another reference or currency; not sent "
            "(--allow-duplicates sends it)",
        )
        for row in (2, 3, 4)
    }


def test_the_same_purchases_renumbered_are_held_when_sent_without_an_answer(any_ledger):
    """A purchase Keen may hold (its request had no answer) is not sent again under another
    reference either: it may be created twice."""

    url = "http://127.0.0.1:8794/functions/v1/keen-api"
    location = ledger_location(any_ledger)
    with Ledger.open(location) as one:
        _begin(one, url, "oct", "a")
        claimed, _ = one.claim(_candidates(2))
        _answer(one, claimed[0], RowResult(claimed[0].row, RowStatus.UNCONFIRMED, None, 502))
        one.finish_import()
    with Ledger.open(location) as two:
        _begin(two, url, "oct2", "b")
        sent, held = two.claim(_renumbered(_candidates(2)))
    assert [c.row for c in sent] == [3]  # released when its import ended: never sent
    assert held[2].status == RowStatus.NOT_SENT
    assert held[2].error.startswith(
        "possible duplicate of a row sent without an answer (oct.csv row 2 on "
    )


def test_a_row_waiting_for_a_retry_through_another_url_is_not_sent(any_ledger):
    """127.0.0.1 and localhost at once: a row the first import will send again after a 503 is
    being sent, not free."""

    first, second = "http://127.0.0.1:8794/k", "http://localhost:8794/k"
    location = ledger_location(any_ledger)
    with Ledger.open(location) as one, Ledger.open(location) as two:
        _begin(one, first, "may", "a")
        claimed, _ = one.claim(_candidates(1))
        _answer(one, claimed[0], RowResult(claimed[0].row, RowStatus.RETRIED, None, 503))
        _begin(two, second, "may", "a")
        sent, held = two.claim(_candidates(1))
    assert sent == []
    assert held[2].error.startswith(
        f"being sent right now through another API URL, {first} (may.csv row 2 on "
    )


def test_a_row_left_unconfirmed_by_another_files_import_says_so(any_ledger):
    """b.csv overlaps a.csv, whose request for the row got a 500 in the same backfill: no run
    stopped, and the reason says where the answer came from."""

    url = "http://127.0.0.1:8794/functions/v1/keen-api"
    location = ledger_location(any_ledger)
    with Ledger.open(location) as one:
        _begin(one, url, "a", "a")
        claimed, _ = one.claim(_candidates(1))
        answer = RowResult(
            claimed[0].row, RowStatus.UNCONFIRMED, None, 500, "Internal server error"
        )
        _answer(one, claimed[0], answer)
        one.finish_import()
    with Ledger.open(location) as two:
        _begin(two, url, "b", "b")
        sent, held = two.claim(_candidates(1))
    assert sent == []
    assert held[2].status == RowStatus.UNCONFIRMED
    assert held[2].error.startswith("sent by the import of a.csv row 2 on ")
    assert held[2].error.endswith(
        ": Internal server error; check in Keen, then re-run with --resend-unconfirmed"
    )


def test_the_same_purchases_renumbered_through_another_url_are_held(any_ledger):
    """INV-... through 127.0.0.1, then SO-... through localhost: another reference and another
    spelling of the account at once is still the same sale."""

    first, second = "http://127.0.0.1:8794/k", "http://localhost:8794/k"
    location = ledger_location(any_ledger)
    with Ledger.open(location) as one:
        _begin(one, first, "inv", "a")
        claimed, _ = one.claim(_candidates(1))
        _answer(one, claimed[0], RowResult(claimed[0].row, RowStatus.CREATED, "p-1", 200))
        one.finish_import()
    with Ledger.open(location) as two:
        _begin(two, second, "so", "b")
        sent, held = two.claim(_renumbered(_candidates(1)))
    assert sent == []
    assert (held[2].status, held[2].error) == (
        RowStatus.NOT_SENT,
        f"possible duplicate of purchase p-1 (inv.csv row 2) through another API URL, {first}: "
        "the same purchase with another reference or currency; not sent (--allow-duplicates "
        "sends it)",
    )
