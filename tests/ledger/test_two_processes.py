"""Two `keen-import run` processes at once on overlapping files, sharing one ledger (PostgreSQL,
or one SQLite file): every purchase reaches the sandbox exactly once.

The sandbox runs in its own process with some latency, so each import sends for a few seconds and
the two are live at the same time: the second to claim finds the overlapping rows held by a
running import (``not_sent``) or already created (``skipped``), never sends them.
"""

from __future__ import annotations

from collections import Counter

import pytest
from runhelpers import amount_of, read_csv, start_run, write_rows

from importer.ledger import Ledger, ledger_location
from importer.sandbox import Faults, Sandbox

ROWS = 3_000
OVERLAP = range(700, 2_300)  # the second file: 1,600 rows cut from the first


@pytest.fixture
def slow_sandbox(tmp_path):
    faults = Faults(latency_ms=15, jitter_ms=5)
    with Sandbox(process=True, db=tmp_path / "sandbox.sqlite", faults=faults) as sandbox:
        yield sandbox


@pytest.fixture
def shared_ledger(any_ledger) -> str:
    """The --ledger both processes are given: a new ledger of each kind (conftest's)."""
    return any_ledger


def test_two_processes_on_overlapping_files(tmp_path, slow_sandbox, shared_ledger):
    sb = slow_sandbox
    work = tmp_path / "work"
    work.mkdir()
    whole = write_rows(work / "export_full.csv", ROWS)
    lines = whole.read_text(encoding="utf-8").splitlines(keepends=True)
    part = work / "export_part.csv"
    part.write_text(lines[0] + "".join(lines[1 + i] for i in OVERLAP), encoding="utf-8")

    common = ["--api-url", sb.base_url, "--yes", "--ledger", shared_ledger, "--concurrency", 16]
    procs = [start_run([whole, *common], work), start_run([part, *common], work)]
    outputs = []
    try:
        for proc in procs:
            out, err = proc.communicate(timeout=90)
            outputs.append((proc.returncode, err))
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
    for code, err in outputs:
        assert "Traceback" not in err, err
        assert code in (0, 1), err  # 1: rows the other import was sending are not_sent
        assert "secret" not in err

    # The sandbox holds every purchase exactly once.
    stored = sb.purchases()
    counts = Counter((p["lead_id"], p["purchase_amount"], p["date"]) for p in stored)
    assert max(counts.values()) == 1, [k for k, n in counts.items() if n > 1][:5]
    ids = {p["purchase_amount"]: p["id"] for p in stored}
    assert sorted(ids) == sorted(amount_of(i) for i in range(ROWS))

    # Each row: created by exactly one of the two files; the other file skipped it (naming the
    # purchase) or did not send it (the other import was sending it).
    full = {r["Amount"]: r for r in read_csv(work / "export_full.results.csv")}
    cut = {r["Amount"]: r for r in read_csv(work / "export_part.results.csv")}
    assert len(full) == ROWS and len(cut) == len(OVERLAP)
    assert set(cut) == {amount_of(i) for i in OVERLAP}
    outcomes = Counter()
    for amount, purchase_id in ids.items():
        mine = [r for r in (full.get(amount), cut.get(amount)) if r is not None]
        created = [r for r in mine if r["status"] == "created"]
        assert len(created) == 1, (amount, mine)
        assert created[0]["purchase_id"] == purchase_id
        for other in mine:
            if other is created[0]:
                continue
            outcomes[other["status"]] += 1
            if other["status"] == "skipped":
                assert other["purchase_id"] == purchase_id
            else:
                assert other["status"] == "not_sent", other
                assert other["error"].startswith("being sent right now by another import ("), other
    assert sum(outcomes.values()) == len(OVERLAP)
    # The two imports really ran at once: one found the other's rows in flight.
    assert outcomes["not_sent"] > 0, (outcomes, outputs)

    # The ledger agrees: every purchase once, created, sent once.
    with Ledger.open(ledger_location(shared_ledger)) as ledger:
        held = ledger.backend.fetch(
            "SELECT status, sends, count(*) FROM purchases GROUP BY status, sends"
        )
        states = ledger.backend.fetch("SELECT state, count(*) FROM imports GROUP BY state")
    assert held == [("created", 1, ROWS)]
    assert states == [("finished", 2)]
