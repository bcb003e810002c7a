"""The sending path on a PostgreSQL ledger keeps the event loop free: claims run a batch ahead
on a thread and a connection of their own, and the sending marks never wait behind the commit
of an answer (which waits for the server's disk)."""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter

from runhelpers import ledger_lost_after, read_csv, write_rows

import importer
from importer.ledger import Ledger, ledger_location
from importer.ledger.backends import PostgresBackend
from importer.records import RowResult, RowStatus
from importer.sandbox import Faults
from ledger.test_postgres_ledger import _admin, _candidates, _write_slice


def test_claims_run_on_their_own_thread_and_connection(pg_ledger_url, sb, tmp_path, monkeypatch):
    source = write_rows(tmp_path / "march.csv", 1_200)  # three claims of 500
    claims: list[tuple[str, int]] = []
    real_claim = Ledger.claim

    def claim(self, candidates):
        backend = self.backend
        claims.append((threading.current_thread().name, id(backend.conn) != id(backend._main)))
        return real_claim(self, candidates)

    monkeypatch.setattr(Ledger, "claim", claim)
    report = importer.run_import(
        source, api_key=sb.api_key, api_url=sb.base_url, ledger=pg_ledger_url, concurrency=16
    )
    assert report.summary.count(RowStatus.CREATED) == 1_200
    assert claims == [("ledger-claims_0", True)] * 3
    rows = read_csv(report.results_path)
    assert len({r["purchase_id"] for r in rows}) == 1_200
    assert len(sb.purchases()) == 1_200
    with _admin(pg_ledger_url) as conn:
        found = conn.execute("SELECT status, sends, count(*) FROM purchases GROUP BY 1, 2")
        assert found.fetchall() == [("created", 1, 1_200)]


def test_a_mark_does_not_wait_for_an_answers_commit(pg_ledger_url, monkeypatch):
    ledger = Ledger.open(ledger_location(pg_ledger_url))
    ledger.begin_import(target="t", file_name="march.csv", file_sha256="f" * 64, source="march")
    first, second = ledger.claim(_candidates(2))[0]
    real_write = PostgresBackend.write_batch

    def slow_answers(self, groups, *, durable=True):
        if durable:
            time.sleep(0.5)  # a server whose disk is slow
        real_write(self, groups, durable=durable)

    monkeypatch.setattr(PostgresBackend, "write_batch", slow_answers)
    durable: list[int] = []

    async def go() -> float:
        await ledger.mark_sending_async(first.identity)
        answer = RowResult(first.row, RowStatus.CREATED, "p-1", 200, attempts=1)
        ledger.record_then(first.identity, answer, lambda: durable.append(first.row))
        await asyncio.sleep(0.05)  # the answer's commit is under way
        started = time.monotonic()
        await ledger.mark_sending_async(second.identity)
        waited = time.monotonic() - started
        await ledger.flush()
        return waited

    with ledger:
        waited = asyncio.run(go())
    assert waited < 0.25, waited
    assert durable == [first.row]
    with _admin(pg_ledger_url) as conn:
        found = conn.execute("SELECT file_row, status, purchase_id, sends FROM purchases")
        assert sorted(found.fetchall()) == [(2, "created", "p-1", 1), (3, "sending", None, 1)]


def test_claims_refresh_the_statistics_of_a_new_ledger(pg_ledger_url):
    def analyzed() -> int:
        with _admin(pg_ledger_url) as conn:
            found = conn.execute(
                "SELECT analyze_count FROM pg_stat_user_tables WHERE relname = 'purchases'"
            ).fetchone()
        return found[0]

    ledger = Ledger.open(ledger_location(pg_ledger_url))
    ledger.begin_import(target="t", file_name="march.csv", file_sha256="f" * 64, source="march")
    candidates = _candidates(2_500)
    with ledger:
        claimed = [len(ledger.claim(candidates[i : i + 500])[0]) for i in range(0, 1_000, 500)]
        assert claimed == [500, 500] and analyzed() == 0  # 1,000 rows: not yet
        claimed = [len(ledger.claim(candidates[i : i + 500])[0]) for i in range(1_000, 2_500, 500)]
        assert claimed == [500, 500, 500]
        assert analyzed() == 1  # at 1,500; the next when the table has grown by half again
        with _admin(pg_ledger_url) as conn:
            assert conn.execute("SELECT count(*) FROM purchases").fetchone()[0] == 2_500


def test_answers_commits_are_spaced_while_answers_keep_coming(pg_ledger_url, monkeypatch):
    ledger = Ledger.open(ledger_location(pg_ledger_url))
    ledger.begin_import(target="t", file_name="march.csv", file_sha256="f" * 64, source="march")
    claimed = ledger.claim(_candidates(200))[0]
    answered = claimed[:40]  # four times as many in flight: the gap decides, not their count
    ledger.SYNC_GAP = 0.03
    durable_commits: list[float] = []
    real_write = PostgresBackend.write_batch

    def timed(self, groups, *, durable=True):
        if durable:
            durable_commits.append(time.monotonic())
        real_write(self, groups, durable=durable)

    monkeypatch.setattr(PostgresBackend, "write_batch", timed)
    done: list[int] = []

    async def go() -> None:
        for candidate in claimed:
            await ledger.mark_sending_async(candidate.identity)
        for candidate in answered:  # an answer every 2 ms for about 80 ms
            answer = RowResult(candidate.row, RowStatus.CREATED, f"p-{candidate.row}", 200)
            ledger.record_then(candidate.identity, answer, lambda r=candidate.row: done.append(r))
            await asyncio.sleep(0.002)
        await ledger.flush()

    with ledger:
        asyncio.run(go())
    gaps = sorted(b - a for a, b in zip(durable_commits, durable_commits[1:], strict=False))
    assert 2 <= len(durable_commits) <= 6, durable_commits  # one per answer before (40)
    assert gaps[len(gaps) // 2] >= 0.025, gaps
    assert sorted(done) == sorted(c.row for c in answered)
    with _admin(pg_ledger_url) as conn:
        found = conn.execute("SELECT status, count(*) FROM purchases GROUP BY status")
        assert sorted(found.fetchall()) == [("created", 40), ("sending", 160)]


def test_a_flush_does_not_wait_for_the_answers_gap(pg_ledger_url):
    ledger = Ledger.open(ledger_location(pg_ledger_url))
    ledger.begin_import(target="t", file_name="march.csv", file_sha256="f" * 64, source="march")
    first, second = ledger.claim(_candidates(2))[0]
    ledger.SYNC_GAP = 30.0
    done: list[int] = []

    def answer(candidate) -> None:
        result = RowResult(candidate.row, RowStatus.CREATED, f"p-{candidate.row}", 200)
        ledger.record_then(candidate.identity, result, lambda: done.append(candidate.row))

    async def go() -> float:
        for candidate in (first, second):
            await ledger.mark_sending_async(candidate.identity)
        answer(first)
        while not done:  # the first answers' commit goes at once
            await asyncio.sleep(0.001)
        answer(second)
        await asyncio.sleep(0.1)
        assert done == [first.row]  # the second waits for the gap...
        started = time.monotonic()
        await ledger.flush()  # ...unless someone waits for it
        return time.monotonic() - started

    with ledger:
        waited = asyncio.run(go())
    assert waited < 5.0
    assert done == [first.row, second.row]


def test_answers_survive_a_shared_ledger_lost_mid_run(pg_ledger_url, tmp_path, sb, run_cli):
    """As tests/ledger/test_lost_ledger.py, on a server: the claims', marks' and answers'
    threads each meet the lost ledger; nothing is sent twice and the spool catches up."""
    import psycopg

    source = write_rows(tmp_path / "march.csv", 1_200)
    lost = psycopg.OperationalError("server closed the connection unexpectedly")
    sb.set_faults(Faults(latency_ms=20))
    args = ("--api-url", sb.base_url, "--yes", "--concurrency", "16", "--ledger", pg_ledger_url)
    with ledger_lost_after(60, lost):
        code, err = run_cli(source, *args)
    sb.set_faults(Faults())
    assert code == 2, err
    assert "server closed the connection unexpectedly" in err
    first = read_csv(tmp_path / "march.results.csv")
    assert len(first) == 1_200
    statuses = Counter(r["status"] for r in first)
    assert set(statuses) <= {"created", "not_sent"}, statuses
    assert statuses["not_sent"] > 0
    spooled = [r for r in first if "kept on this machine" in r["warnings"]]
    assert spooled, "some answers came back after the ledger was lost"
    assert all(r["status"] == "created" and r["purchase_id"] for r in spooled)
    assert len(sb.purchases()) == statuses["created"]

    code, err = run_cli(source, *args)  # the ledger is back
    assert code == 0, err
    again = read_csv(tmp_path / "march.results.csv")
    assert Counter(r["status"] for r in again) == {"created": 1_200}
    ids = {r["row"]: r["purchase_id"] for r in again}
    assert all(ids[r["row"]] == r["purchase_id"] for r in spooled)  # not sent again
    assert len(sb.purchases()) == 1_200


def test_a_purchases_updates_while_it_is_sent_leave_the_indexes_alone(pg_ledger_url):
    """claimed -> sending -> created: the updates change no indexed column and find room on
    their page (the table's fillfactor), so they are HOT: no new entry in any of the indexes
    (in a 20,000-row run, 96% of them; 39% with full pages)."""
    ledger = Ledger.open(ledger_location(pg_ledger_url))
    ledger.begin_import(target="t", file_name="march.csv", file_sha256="f" * 64, source="march")
    claimed = ledger.claim(_candidates(300))[0]

    async def go() -> None:
        for candidate in claimed:
            await ledger.mark_sending_async(candidate.identity)
            answer = RowResult(candidate.row, RowStatus.CREATED, f"p-{candidate.row}", 200)
            ledger.record_then(candidate.identity, answer)
        await ledger.flush()

    with ledger:
        asyncio.run(go())  # closing the connections hands their statistics to the server
    with _admin(pg_ledger_url) as conn:
        options = conn.execute(
            "SELECT reloptions FROM pg_class WHERE relname = 'purchases'"
        ).fetchone()[0]
        updated, hot = wait_for_statistics(conn)
    assert options == ["fillfactor=50"]
    assert updated == 600  # sending, then created
    assert hot >= 0.9 * updated, (hot, updated)


def wait_for_statistics(conn) -> tuple[int, int]:
    """(updates, HOT updates) of purchases, once the server has the closed sessions' counts."""
    deadline = time.monotonic() + 10
    while True:
        conn.execute("SELECT pg_stat_clear_snapshot()")
        found = conn.execute(
            "SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables WHERE relname = 'purchases'"
        ).fetchone()
        if found[0] >= 600 or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


def test_the_plans_look_ups_by_identity_run_beside_those_by_reference(
    pg_ledger_url, sb, tmp_path, monkeypatch
):
    every = write_rows(tmp_path / "all.csv", 35)
    first = _write_slice(tmp_path / "march.csv", every, 0, 30)
    second = _write_slice(tmp_path / "march_again.csv", every, 10, 35)
    importer.run_import(first, api_key=sb.api_key, api_url=sb.base_url, ledger=pg_ledger_url)
    previews: list[tuple[str, bool]] = []
    real_preview = Ledger.preview

    def preview(self, target, candidates, context):
        backend = self.backend
        previews.append((threading.current_thread().name, backend.conn is not backend._main))
        return real_preview(self, target, candidates, context)

    monkeypatch.setattr(Ledger, "preview", preview)
    job = importer.open_import(second)
    plan = job.plan(api_key=sb.api_key, api_url=sb.base_url, ledger=pg_ledger_url)
    assert previews == [("ledger-preview_0", True)]
    assert plan.already_imported == 20
    assert "20 rows already created by the import of march.csv" in " ".join(plan.notes)


def test_a_commit_of_marks_or_answers_is_one_statement_on_a_server(pg_ledger_url, monkeypatch):
    """A pipelined BEGIN, one UPDATE a row, COMMIT cost the client three times the CPU of one
    statement committed alone: the marks of a commit are one statement, its answers another."""
    import psycopg

    ledger = Ledger.open(ledger_location(pg_ledger_url))
    ledger.begin_import(target="t", file_name="march.csv", file_sha256="f" * 64, source="march")
    a, b, c = ledger.claim(_candidates(3))[0]
    pipelines: list[str] = []
    real_pipeline = psycopg.Connection.pipeline

    def pipeline(self):
        pipelines.append(threading.current_thread().name)
        return real_pipeline(self)

    monkeypatch.setattr(psycopg.Connection, "pipeline", pipeline)
    answers = [
        RowResult(a.row, RowStatus.CREATED, "p-1", 200, attempts=1),
        RowResult(b.row, RowStatus.REJECTED, http_status=400, error="bad lead", attempts=2),
        RowResult(c.row, RowStatus.UNCONFIRMED, error="timed out", attempts=1),
    ]

    async def go() -> None:
        for candidate in (a, b, c):
            await ledger.mark_sending_async(candidate.identity)
        for candidate, answer in zip((a, b, c), answers, strict=True):
            ledger.record_then(candidate.identity, answer)  # in one loop turn: one commit
        await ledger.flush()

    with ledger:
        asyncio.run(go())
        marker = ledger.backend._marker.execute("SHOW synchronous_commit").fetchone()[0]
    assert pipelines == []
    assert marker == "off"  # the marks' session only
    with _admin(pg_ledger_url) as conn:
        found = conn.execute(
            "SELECT file_row, status, purchase_id, http_status, error, attempts, sends"
            " FROM purchases ORDER BY file_row"
        ).fetchall()
    assert found == [
        (a.row, "created", "p-1", 200, None, 1, 1),
        (b.row, "rejected", None, 400, "bad lead", 2, 1),
        (c.row, "unconfirmed", None, None, "timed out", 1, 1),
    ]


def test_answers_of_one_commit_beyond_a_statements_parameters_are_split(pg_ledger_url, monkeypatch):
    ledger = Ledger.open(ledger_location(pg_ledger_url))
    ledger.begin_import(target="t", file_name="march.csv", file_sha256="f" * 64, source="march")
    claimed = ledger.claim(_candidates(1_200))[0]
    statements: list[int] = []  # statements of each commit of answers
    real_write = PostgresBackend.write_batch

    def write_batch(self, groups, *, durable=True):
        if durable:
            statements.append(len(groups))
        real_write(self, groups, durable=durable)

    async def go() -> None:
        for candidate in claimed:
            await ledger.mark_sending_async(candidate.identity)
        monkeypatch.setattr(PostgresBackend, "write_batch", write_batch)
        for candidate in claimed:  # in one loop turn: one commit of 1,200 answers
            answer = RowResult(candidate.row, RowStatus.CREATED, f"p-{candidate.row}", 200)
            ledger.record_then(candidate.identity, answer)
        await ledger.flush()

    with ledger:
        asyncio.run(go())
    assert statements == [3]  # 500 + 500 + 200 answers, 9 parameters each
    with _admin(pg_ledger_url) as conn:
        found = conn.execute(
            "SELECT status, count(*), count(DISTINCT purchase_id) FROM purchases GROUP BY status"
        ).fetchall()
    assert found == [("created", 1_200, 1_200)]
