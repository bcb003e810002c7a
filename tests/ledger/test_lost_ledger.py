"""The ledger lost in the middle of a run: answers that came back go to the local spool, are in
the results and created list, and reach the ledger on the next run; nothing is sent twice."""

from __future__ import annotations

import os
import sqlite3
from collections import Counter
from pathlib import Path

from runhelpers import ledger_lost_after, read_csv, write_rows

from importer.sandbox import Faults


def test_answers_survive_a_ledger_lost_mid_run(tmp_path, sb, run_cli):
    source = write_rows(tmp_path / "march.csv", 300)
    sb.set_faults(Faults(latency_ms=20))
    with ledger_lost_after(5, sqlite3.OperationalError("disk I/O error")):
        code, err = run_cli(source, "--api-url", sb.base_url, "--yes", "--concurrency", "16")
    sb.set_faults(Faults())
    assert code == 2
    assert "could not write the ledger" in err and "disk I/O error" in err
    first = read_csv(tmp_path / "march.results.csv")
    assert len(first) == 300
    statuses = Counter(r["status"] for r in first)
    assert set(statuses) <= {"created", "not_sent"}, statuses
    assert statuses["unconfirmed"] == 0
    spooled = [r for r in first if "kept on this machine" in r["warnings"]]
    assert spooled, "some answers came back after the ledger was lost"
    assert all(r["status"] == "created" and r["purchase_id"] for r in spooled)
    created_list = {r["purchase_id"] for r in read_csv(tmp_path / "march.created.csv")}
    assert {r["purchase_id"] for r in spooled} <= created_list
    stored_first = len(sb.purchases())
    assert stored_first == statuses["created"]
    spool = Path(os.environ["KEEN_IMPORT_DATA_DIR"]) / "spool"
    assert [p.suffix for p in spool.iterdir()] == [".jsonl"]

    code, err = run_cli(source, "--api-url", sb.base_url, "--yes")  # the ledger is back
    assert code == 0, err
    again = read_csv(tmp_path / "march.results.csv")
    assert Counter(r["status"] for r in again) == {"created": 300}
    # The spooled purchases kept their ids: they were not sent again.
    ids = {r["row"]: r["purchase_id"] for r in again}
    assert all(ids[r["row"]] == r["purchase_id"] for r in spooled)
    assert len(sb.purchases()) == 300
    assert list(spool.iterdir()) == []
