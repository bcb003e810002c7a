"""One amount, however the file writes it: 1500, 1500.0 and 1500.00 are one purchase. A file
saved again by Excel (or the same rows exported to .xlsx) finds the purchases the first created;
a ledger recorded before amounts had one form is upgraded to find them too."""

from __future__ import annotations

import hashlib
from decimal import Decimal

import pytest
from conftest import write_xlsx
from runhelpers import read_csv

from importer.cli import main
from importer.ledger import Candidate, Ledger, candidate_for, ledger_location
from importer.ledger.identity import purchase_identity
from importer.records import PurchaseRecord

LEAD = "759cde66-bacf-43d0-8b1f-9163ce9ff57f"


def run(sb, source, *more) -> int:
    return main(
        ["run", str(source), "--api-url", sb.base_url, "--yes", "--concurrency", "2", *more]
    )


@pytest.fixture
def keyed(sb, monkeypatch):
    monkeypatch.setenv("KEEN_API_KEY", sb.api_key)
    return sb


def test_a_csv_saved_again_with_other_amount_forms_sends_nothing_again(tmp_path, keyed, capsys):
    first = tmp_path / "feb.csv"
    first.write_text(f"Lead ID,Amount,Date\n{LEAD},1500.00,2026-02-10\n{LEAD},99.50,2026-02-11\n")
    again = tmp_path / "again" / "feb_resaved.csv"
    again.parent.mkdir()
    again.write_text(f"Lead ID,Amount,Date\n{LEAD},1500,2026-02-10\n{LEAD},99.5,2026-02-11\n")
    assert (run(keyed, first), keyed.stats()["create_calls"]) == (0, 2)
    assert (run(keyed, again), keyed.stats()["create_calls"]) == (0, 2)
    results = read_csv(again.with_name("feb_resaved.results.csv"))
    assert [(r["row"], r["status"], r["error"][:30]) for r in results] == [
        ("2", "skipped", "already created from feb.csv r"),
        ("3", "skipped", "already created from feb.csv r"),
    ]
    assert sorted(p["purchase_amount"] for p in keyed.purchases()) == ["1500.00", "99.50"]


def test_the_same_rows_as_a_workbook_of_numbers_send_nothing_again(tmp_path, keyed, capsys):
    source = tmp_path / "march.csv"
    source.write_text(f"Lead ID,Amount,Date\n{LEAD},250.00,2026-03-02\n")
    rows = [["Lead ID", "Amount", "Date"], [LEAD, 250, "2026-03-02"]]
    book = write_xlsx(tmp_path / "march_export.xlsx", {"Sheet1": rows})
    assert (run(keyed, source), keyed.stats()["create_calls"]) == (0, 1)
    capsys.readouterr()
    assert (run(keyed, book), keyed.stats()["create_calls"]) == (0, 1)
    assert "already imported:" in capsys.readouterr().err


def _record(amount: str, row: int = 2) -> PurchaseRecord:
    return PurchaseRecord(row=row, lead_id=LEAD, purchase_amount=Decimal(amount), reference="A-1")


def _as_version_1_recorded(amount: str, row: int, occurrence: int) -> Candidate:
    """The candidate of a row as version 1 made it: the amount written as the file wrote it."""
    text = f'{{"action":"create_purchase","lead_id":"{LEAD}","purchase_amount":{amount}}}'
    content = text.encode()
    return Candidate(
        row=row,
        identity=purchase_identity(content, "A-1", None, occurrence),
        payload_hash=hashlib.sha256(content).hexdigest(),
        content=content,
        lead_id=LEAD,
        reference="A-1",
        currency=None,
        amount=amount,
        date=None,
    )


def _recorded(ledger: Ledger, amounts: list[tuple[str, int]]) -> dict[str, int]:
    """Rows created the way a version 1 ledger recorded them; their ids by "amount/occurrence"."""
    candidates = [_as_version_1_recorded(a, 2 + i, k) for i, (a, k) in enumerate(amounts)]
    ledger.begin_import(target="http://keen.test/api", file_name="old.csv", file_sha256="x",
                        source="old", allow_duplicates=True)  # fmt: skip
    claimed, held = ledger.claim(candidates)
    assert (len(claimed), held) == (len(amounts), {})
    for c in claimed:
        ledger.backend.execute(
            "UPDATE purchases SET status = 'created', purchase_id = ? WHERE identity = ?",
            (f"p-{c.row}", c.identity),
        )
    ledger.finish_import("finished")
    rows = ledger.backend.fetch("SELECT id FROM purchases ORDER BY id")
    return {f"{amount}/{k}": id_ for (id_,), (amount, k) in zip(rows, amounts, strict=True)}


def test_an_older_ledger_is_upgraded_to_find_amounts_in_any_form(any_ledger):
    location = ledger_location(any_ledger)
    with Ledger.open(location) as ledger:
        ids = _recorded(
            ledger, [("1500", 0), ("1500", 1), ("99.5", 0), ("1500.00", 0), ("7.25", 0)]
        )
        ledger.backend.execute(
            "UPDATE purchases SET identity = identity || '~forgotten~1' WHERE id = ?",
            (ids["99.5/0"],),
        )
        ledger.backend.execute("UPDATE ledger_meta SET value = '1' WHERE key = 'schema_version'")
    with Ledger.open(location, upgrade=True) as ledger:
        found = dict(
            ((id_, (identity, payload_hash, amount)) for id_, identity, payload_hash, amount in
             ledger.backend.fetch("SELECT id, identity, payload_hash, amount FROM purchases"))
        )  # fmt: skip
        version = ledger.backend.schema_version()

    def now(amount: str, k: int = 0) -> tuple[str, str]:
        c = candidate_for(_record(amount), action="create_purchase", lead_id=LEAD, occurrence=k)
        assert c.payload_hash == hashlib.sha256(c.content).hexdigest()
        return c.identity, c.payload_hash

    canonical, hash_1500 = now("1500.00")
    assert version == 3
    # 1500.00 was recorded in its own form: it keeps its identity. The 1500 and its repeat,
    # sent from the same file, are now its exact repeats: the next occurrences, so the file run
    # again finds all three purchases (a '~same-as~' 1500 left occurrence 2 to be sent again)
    assert found[ids["1500.00/0"]] == (canonical, hash_1500, "1500.00")
    assert found[ids["1500/0"]] == (now("1500.00", 1)[0], hash_1500, "1500.00")
    assert found[ids["1500/1"]] == (now("1500.00", 2)[0], hash_1500, "1500.00")
    assert found[ids["99.5/0"]] == (now("99.50")[0] + "~forgotten~1", now("99.50")[1], "99.50")
    assert found[ids["7.25/0"]][2] == "7.25"  # already in the one form: untouched
    assert found[ids["7.25/0"]][:2] == now("7.25")


def test_an_edit_names_what_changed_and_not_an_amount_written_another_way():
    from importer.send.changed import _changes

    earlier = '{"action":"create_purchase","purchase_amount":1500,"date":"2026-03-01T00:00:00Z"}'
    moved = b'{"action":"create_purchase","purchase_amount":1500.00,"date":"2026-03-02T00:00:00Z"}'
    raised = b'{"action":"create_purchase","purchase_amount":1600.00,"date":"2026-03-01T00:00:00Z"}'
    assert _changes(earlier, moved) == "date 2026-03-01T00:00:00Z (now 2026-03-02T00:00:00Z)"
    assert _changes(earlier, raised) == "amount 1500 (now 1600.00)"
