"""The sending path on a SQLite ledger keeps the event loop free: claims run a batch ahead on a
thread and a connection of their own, the first mark of each row goes to the import's sending
log, and the loop's commits of answers never wait for the claims (they try again)."""

from __future__ import annotations

import sqlite3
import threading
from collections import Counter

from runhelpers import read_csv, write_rows

import importer
from importer.ledger import Ledger
from importer.records import RowStatus
from importer.sandbox import Faults


def test_claims_run_on_their_own_thread_and_connection(sb, tmp_path, monkeypatch):
    source = write_rows(tmp_path / "march.csv", 450)  # five claims of 100
    ledger_path = tmp_path / "ledger.sqlite"
    claims: list[tuple[str, bool]] = []
    commits: list[str] = []
    real_claim, real_commit = Ledger.claim, Ledger._commit

    def claim(self, candidates):
        backend = self.backend
        claims.append((threading.current_thread().name, backend.conn is not backend._main))
        return real_claim(self, candidates)

    def commit(self, statements, durable=True, **how):
        commits.append(threading.current_thread().name)
        return real_commit(self, statements, durable, **how)

    monkeypatch.setattr(Ledger, "claim", claim)
    monkeypatch.setattr(Ledger, "_commit", commit)
    sb.set_faults(Faults(latency_ms=5))
    report = importer.run_import(
        source, api_key=sb.api_key, api_url=sb.base_url, ledger=str(ledger_path), concurrency=16
    )
    assert report.summary.count(RowStatus.CREATED) == 450
    assert claims == [("ledger-claims_0", True)] * 5
    assert set(commits) == {threading.main_thread().name}  # answers: on the loop
    rows = read_csv(report.results_path)
    assert len({r["purchase_id"] for r in rows}) == 450
    assert len(sb.purchases()) == 450
    with sqlite3.connect(ledger_path) as db:
        found = db.execute("SELECT status, sends FROM purchases").fetchall()
    assert Counter(found) == {("created", 1): 450}  # each sent once, its mark counted once
    assert list(tmp_path.glob("ledger.sqlite.locks/*")) == []  # the sending log is folded in


def test_a_sending_log_reads_back_its_ids_and_ignores_a_torn_last_record(tmp_path):
    from importer.ledger.sendlog import SendingLog

    path = tmp_path / "ledger.sqlite.locks" / "token.sending"
    log = SendingLog(path)
    assert log.ids() == set()  # nothing appended: no file
    for row_id in (7, 2**40 + 3, 7):
        log.append(row_id)
    log.sync()
    with open(path, "ab") as torn:
        torn.write(b"\x01\x02\x03")  # a write cut short by a crash
    assert SendingLog(path).ids() == {7, 2**40 + 3}
    log.remove()
    assert not path.exists() and SendingLog(path).ids() == set()
