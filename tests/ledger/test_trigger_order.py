"""Trigger ids are a set to Keen: a row listing them in another order is the same purchase, in
one file, across files, and against a ledger recorded before they were sent sorted."""

from __future__ import annotations

import hashlib
import json
import sqlite3

from runhelpers import read_csv

from importer.cli import main
from importer.ledger import Candidate, Ledger, ledger_location, upgrade
from importer.ledger.identity import purchase_identity

LEAD = "759cde66-bacf-43d0-8b1f-9163ce9ff57f"  # on the channel of both triggers
BONUS = "aefcfad8-efc8-4849-b3aa-7efe4458a885"
COMMISSION = "a28defe3-9bf0-4273-9247-6f57a5e5a5ab"
SORTED = sorted([BONUS, COMMISSION])
UNSORTED = SORTED[::-1]


def run(sb, source, *more) -> int:
    ledger = source.with_name("ledger.sqlite")
    return main(
        ["run", str(source), "--api-url", sb.base_url, "--yes", "--ledger", str(ledger), *more]
    )


def sent_triggers(source) -> list[list[str]]:
    """The trigger ids of each body the ledger beside ``source`` recorded as sent."""
    with sqlite3.connect(source.with_name("ledger.sqlite")) as db:
        payloads = db.execute("SELECT payload FROM purchases ORDER BY id").fetchall()
    return [json.loads(payload)["trigger_ids"] for (payload,) in payloads]


def fired(sb) -> list[list[str]]:
    """The triggers each purchase the sandbox stored fired."""
    return [sorted(r["trigger_id"] for r in p["rewards"]) for p in sb.purchases()]


def write(path, *triggers: str, reference: str = ""):
    head = "Lead ID,Amount,Date,Trigger IDs" + (",Invoice" if reference else "")
    lines = [f"{LEAD},120.00,2026-05-04,{cell}" + (f",{reference}" if reference else "")
             for cell in triggers]  # fmt: skip
    path.write_text(head + "\n" + "\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_a_reexport_listing_the_triggers_in_another_order_sends_nothing_again(
    tmp_path, sb, monkeypatch
):
    monkeypatch.setenv("KEEN_API_KEY", sb.api_key)
    first = write(tmp_path / "may.csv", f"{BONUS};{COMMISSION}", reference="INV-9")
    again = write(tmp_path / "last30.csv", f"{COMMISSION} {BONUS}", reference="INV-9")
    assert (run(sb, first), run(sb, again)) == (0, 0)
    [result] = read_csv(tmp_path / "last30.results.csv")
    assert result["status"] == "skipped"
    assert result["error"].startswith("already created from may.csv row 2 on ")
    assert (sent_triggers(first), fired(sb)) == ([SORTED], [SORTED])


def test_in_one_file_a_row_with_its_triggers_reordered_is_a_repeat(tmp_path, sb, monkeypatch):
    monkeypatch.setenv("KEEN_API_KEY", sb.api_key)
    source = write(tmp_path / "may.csv", f"{COMMISSION};{BONUS}", f"{BONUS}|{COMMISSION}")
    assert run(sb, source) == 0
    assert [r["status"] for r in read_csv(tmp_path / "may.results.csv")] == ["created", "skipped"]
    assert len(sb.purchases()) == 1


def test_the_body_sends_the_triggers_sorted_with_those_of_the_command_line(
    tmp_path, sb, monkeypatch
):
    monkeypatch.setenv("KEEN_API_KEY", sb.api_key)
    source = write(tmp_path / "may.csv", COMMISSION)
    assert run(sb, source, "--trigger-id", BONUS) == 0
    assert (sent_triggers(source), fired(sb)) == ([SORTED], [SORTED])


def _body(amount: str, triggers: list[str]) -> bytes:
    """A body as this tool writes it (the amount in its one form)."""
    body = {"action": "create_purchase", "lead_id": LEAD, "purchase_amount": "@",
            "date": "2026-05-04T00:00:00Z", "trigger_ids": triggers}  # fmt: skip
    return json.dumps(body, separators=(",", ":")).replace('"@"', amount).encode()


def _recorded_unsorted(ledger: Ledger, amounts: list[str]) -> list[int]:
    """Purchases a version 2 ledger recorded with their triggers in the file's order."""
    candidates = [
        Candidate(
            row=2 + i,
            identity=purchase_identity(content, f"INV-{i}", None),
            payload_hash=hashlib.sha256(content).hexdigest(),
            content=content,
            lead_id=LEAD,
            reference=f"INV-{i}",
            currency=None,
            amount=amount,
            date="2026-05-04T00:00:00Z",
        )  # fmt: skip
        for i, amount in enumerate(amounts)
        for content in [_body(amount, UNSORTED)]
    ]
    ledger.begin_import(target="T", file_name="may.csv", file_sha256="x", source="may")
    claimed, held = ledger.claim(candidates)
    assert (len(claimed), held) == (len(amounts), {})
    ledger.backend.execute("UPDATE purchases SET status = 'created', purchase_id = 'p-' || id")
    ledger.finish_import("finished")
    return [id_ for (id_,) in ledger.backend.fetch("SELECT id FROM purchases ORDER BY id")]


def test_a_version_2_ledger_is_upgraded_to_find_triggers_in_any_order(any_ledger, monkeypatch):
    monkeypatch.setattr(upgrade, "_PAGE_ROWS", 2)  # three rows: two pages
    location = ledger_location(any_ledger)
    amounts = ["120.00", "121.00", "122.50"]
    with Ledger.open(location) as ledger:
        ids = _recorded_unsorted(ledger, amounts)
        ledger.backend.execute("UPDATE ledger_meta SET value = '2' WHERE key = 'schema_version'")
    with Ledger.open(location, upgrade=True) as ledger:
        found = ledger.backend.fetch(
            "SELECT identity, payload_hash, payload FROM purchases ORDER BY id"
        )
        version = ledger.backend.schema_version()
    assert version == 3
    assert len(ids) == len(found) == 3
    for i, (identity, payload_hash, payload) in enumerate(found):
        now = _body(amounts[i], SORTED)
        assert (identity, payload_hash) == (
            purchase_identity(now, f"INV-{i}", None),
            hashlib.sha256(now).hexdigest(),
        )
        assert json.loads(payload)["trigger_ids"] == UNSORTED  # as it was sent


def _claim_v2(ledger: Ledger, name: str, rows: list[tuple[list[str], int]]) -> list[int]:
    """Purchases of 140.00 a version 2 ledger recorded as sent from ``name``: (triggers in the
    file's order, occurrence) each; their ids."""
    candidates = [
        Candidate(
            row=2 + i,
            identity=purchase_identity(_body("140.00", triggers), None, None, k),
            payload_hash=hashlib.sha256(_body("140.00", triggers)).hexdigest(),
            content=_body("140.00", triggers),
            lead_id=LEAD,
            reference=None,
            currency=None,
            amount="140.00",
            date="2026-05-04T00:00:00Z",
        )  # fmt: skip
        for i, (triggers, k) in enumerate(rows)
    ]
    ledger.begin_import(target="T", file_name=name, file_sha256=name, source=name[:-4],
                        allow_duplicates=True)  # fmt: skip
    claimed, held = ledger.claim(candidates)
    assert (len(claimed), held) == (len(rows), {})
    ledger.backend.execute("UPDATE purchases SET status = 'created', purchase_id = 'p-' || id")
    ledger.finish_import("finished")
    found = ledger.backend.fetch("SELECT id FROM purchases ORDER BY id")
    return [id_ for (id_,) in found][-len(rows) :]


def test_repeats_of_one_file_in_two_orders_each_keep_a_purchase_after_the_upgrade(any_ledger):
    """Three rows of may.csv sent with --allow-duplicates, two listing the triggers C;B;A (the
    second a repeat) and one A;B;C: three purchases. Read now they are one purchase three times
    (occurrences 0, 1, 2): each must find one of them, or the file run again sends a fourth.
    june.csv sent it again as B;C;A: the same purchase as may.csv's."""
    location = ledger_location(any_ledger)
    three = sorted([BONUS, COMMISSION, "0f6c3a8e-5d2b-4c1a-9e7f-2b3c4d5e6f70"])
    backwards, shuffled = three[::-1], three[1:] + three[:1]
    with Ledger.open(location) as ledger:
        may = _claim_v2(ledger, "may.csv", [(backwards, 0), (backwards, 1), (three, 0)])
        [june] = _claim_v2(ledger, "june.csv", [(shuffled, 0)])
        ledger.backend.execute("UPDATE ledger_meta SET value = '2' WHERE key = 'schema_version'")
    with Ledger.open(location, upgrade=True) as ledger:
        found = dict(ledger.backend.fetch("SELECT id, identity FROM purchases"))
        statuses = ledger.backend.fetch("SELECT status, purchase_id FROM purchases ORDER BY id")
    now = [purchase_identity(_body("140.00", three), None, None, k) for k in range(3)]
    assert [found[i] for i in may] == [now[1], now[2], now[0]]
    assert found[june] == f"{now[0]}~same-as~{may[2]}"
    assert statuses == [("created", f"p-{i}") for i in [*may, june]]
