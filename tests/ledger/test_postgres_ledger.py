"""The ledger on a real PostgreSQL server (tests/ledger/conftest.py starts one per session).

Each test gets a new, empty database (``pg_ledger_url``). Purchases are mapped back to rows by
their amounts (every generated row has a distinct amount, see tests/runhelpers.py).
"""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import threading
import time

import pytest
from runhelpers import HEADER, USD_LEADS, amount_of, read_csv, subprocess_env, wait_for, write_rows

import importer
from importer.errors import LedgerError
from importer.ledger import Ledger, LedgerLocation, ledger_location, queries
from importer.ledger.rule import ImportContext
from importer.ledger.schema import SCHEMA_VERSION
from importer.records import RowStatus


def _admin(url: str):
    import psycopg

    return psycopg.connect(url, autocommit=True)


def _port(url: str) -> int:
    from urllib.parse import urlsplit

    return urlsplit(url).port


# -- schema -----------------------------------------------------------------------------------


def test_schema_created_on_first_open(pg_ledger_url):
    with Ledger.open(LedgerLocation(url=pg_ledger_url)) as ledger:
        assert ledger.backend.dialect == "postgresql"
    with _admin(pg_ledger_url) as conn:
        meta = conn.execute("SELECT key, value FROM ledger_meta").fetchall()
        tables = conn.execute(
            "SELECT table_name FROM information_schema.tables"
            " WHERE table_schema = current_schema() ORDER BY table_name"
        ).fetchall()
    assert SCHEMA_VERSION == 3
    assert meta == [("schema_version", "3")]
    assert [t for (t,) in tables] == ["imports", "ledger_meta", "purchases"]
    # Opening again changes nothing.
    Ledger.open(LedgerLocation(url=pg_ledger_url)).close()
    with _admin(pg_ledger_url) as conn:
        assert conn.execute("SELECT key, value FROM ledger_meta").fetchall() == meta


def test_newer_schema_is_refused(pg_ledger_url):
    location = LedgerLocation(url=pg_ledger_url)
    Ledger.open(location).close()
    with _admin(pg_ledger_url) as conn:
        conn.execute("UPDATE ledger_meta SET value = '99' WHERE key = 'schema_version'")
    for upgrade in (False, True):
        with pytest.raises(LedgerError) as refused:
            Ledger.open(location, upgrade=upgrade)
        named = f"postgresql://keen:***@127.0.0.1:{_port(pg_ledger_url)}/"
        assert str(refused.value) == (
            f"the ledger {location.describe()} has schema version 99; this keen-import knows "
            "version 3 only"
        )
        assert location.describe().startswith(named)
        assert refused.value.ledger == location.describe()
        assert "secret" not in str(refused.value) + refused.value.hint
    with _admin(pg_ledger_url) as conn:  # untouched
        assert conn.execute("SELECT value FROM ledger_meta").fetchall() == [("99",)]


def test_older_shared_schema_needs_upgrade(pg_ledger_url, capsys):
    location = LedgerLocation(url=pg_ledger_url)
    Ledger.open(location).close()
    with _admin(pg_ledger_url) as conn:
        conn.execute("UPDATE ledger_meta SET value = '1' WHERE key = 'schema_version'")
    with pytest.raises(LedgerError) as refused:
        Ledger.open(location)
    assert str(refused.value) == (
        f"the shared ledger {location.describe()} has schema version 1; this keen-import writes "
        "version 3"
    )
    assert refused.value.hint == (
        "once every machine of the team runs this version: keen-import ledger upgrade"
    )
    with _admin(pg_ledger_url) as conn:
        assert conn.execute("SELECT value FROM ledger_meta").fetchall() == [("1",)]
    from importer.cli import main

    assert main(["ledger", "--ledger", pg_ledger_url, "upgrade"]) == 0
    assert capsys.readouterr().out == (
        f"upgraded the ledger {location.describe()} from schema version 1 to 3\n"
    )
    with _admin(pg_ledger_url) as conn:
        assert conn.execute("SELECT value FROM ledger_meta").fetchall() == [("3",)]
    Ledger.open(location).close()  # upgraded: every machine may open it again
    assert main(["ledger", "--ledger", pg_ledger_url, "upgrade"]) == 0
    assert capsys.readouterr().out == (
        f"the ledger {location.describe()} was already at schema version 3\n"
    )


def test_database_of_another_program_is_refused(pg_ledger_url):
    with _admin(pg_ledger_url) as conn:
        conn.execute("CREATE TABLE invoices (id INTEGER)")
    location = LedgerLocation(url=pg_ledger_url)
    with pytest.raises(LedgerError) as refused:
        Ledger.open(location)
    assert str(refused.value) == (
        f"{location.describe()} is a database of another program, not a keen-import ledger"
    )
    with _admin(pg_ledger_url) as conn:
        assert conn.execute("SELECT to_regclass('ledger_meta')").fetchone() == (None,)


def test_machines_opening_a_new_ledger_at_once(pg_server):
    """Every one of them opens it: the schema is created once, under a lock (without it,
    concurrent CREATE TABLE IF NOT EXISTS fails with a unique violation in pg_type)."""
    for round_ in range(5):
        name = f"ledger_race_{round_}"
        with pg_server.admin() as conn:
            conn.execute(f"CREATE DATABASE {name} OWNER keen")
        try:
            location = LedgerLocation(url=pg_server.url(name))
            start = threading.Barrier(8)
            failures: list[BaseException] = []

            def open_it(location=location, start=start, failures=failures) -> None:
                start.wait()
                try:
                    Ledger.open(location).close()
                except BaseException as exc:  # noqa: BLE001 - reported below
                    failures.append(exc)

            threads = [threading.Thread(target=open_it) for _ in range(8)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=30)
            assert failures == []
            with _admin(location.url) as conn:
                assert conn.execute("SELECT * FROM ledger_meta").fetchall() == [
                    ("schema_version", "3")
                ]
        finally:
            with pg_server.admin() as conn:
                conn.execute(f"DROP DATABASE {name} WITH (FORCE)")


def test_no_right_to_create_tables_is_a_ledger_error(pg_server):
    """A database the role may connect to but not create tables in (PostgreSQL 15's public
    schema belongs to the database owner): a LedgerError, not a psycopg traceback."""
    with pg_server.admin() as conn:
        conn.execute("DROP DATABASE IF EXISTS ledger_not_ours")
        conn.execute("CREATE DATABASE ledger_not_ours")  # owned by postgres
    with pg_server.admin("ledger_not_ours") as conn:
        conn.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC")
    location = LedgerLocation(url=pg_server.url("ledger_not_ours"))
    with pytest.raises(LedgerError) as refused:
        Ledger.open(location)
    named = f"postgresql://keen:***@127.0.0.1:{pg_server.port}/ledger_not_ours"
    assert str(refused.value).startswith(f"cannot use the ledger {named}: ")
    assert "permission denied for schema public" in str(refused.value)
    assert "secret" not in str(refused.value)


# -- unreachable, refused -------------------------------------------------------------------


def test_wrong_password_never_shows_the_password(pg_server, sb, tmp_path):
    password = "Wr0ng-pa55-8c1e"
    url = pg_server.url(password=password)
    location = ledger_location(url)
    with pytest.raises(LedgerError) as refused:
        Ledger.open(location)
    error = refused.value
    named = f"postgresql://keen:***@127.0.0.1:{pg_server.port}/ledger"
    assert location.describe() == named
    assert error.ledger == named
    assert str(error).startswith(f"cannot use the ledger {named}: ")
    assert 'password authentication failed for user "keen"' in str(error)
    assert error.hint == (
        "check the server is up and the user, password and permissions in --ledger "
        "(or KEEN_IMPORT_LEDGER); nothing was sent"
    )
    for text in (str(error), error.hint, error.ledger, repr(error), repr(error.args)):
        assert password not in text
    # Through the job API: stopped before anything is sent.
    source = write_rows(tmp_path / "march.csv", 3)
    with pytest.raises(LedgerError) as stopped:
        importer.run_import(source, api_key=sb.api_key, api_url=sb.base_url, ledger=url)
    assert password not in str(stopped.value) + stopped.value.hint
    assert named in str(stopped.value)
    assert sb.purchases() == []


def test_server_down_is_a_ledger_error(pg_server):
    import socket

    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"postgresql://keen:secret@127.0.0.1:{port}/ledger"
    started = time.monotonic()
    with pytest.raises(LedgerError) as refused:
        Ledger.open(ledger_location(url))
    assert time.monotonic() - started < 5
    named = f"postgresql://keen:***@127.0.0.1:{port}/ledger"
    assert refused.value.ledger == named
    assert str(refused.value).startswith(f"cannot use the ledger {named}: ")
    assert "secret" not in str(refused.value)


# -- the job API, end to end -----------------------------------------------------------------


def _write_slice(path, source, start: int, stop: int):
    """The header and data rows ``start:stop`` of ``source`` (a file from write_rows)."""
    lines = source.read_text(encoding="utf-8").splitlines(keepends=True)
    path.write_text(lines[0] + "".join(lines[1 + start : 1 + stop]), encoding="utf-8")
    return path


def test_round_trip_and_an_overlapping_file(pg_ledger_url, sb, tmp_path):
    every = write_rows(tmp_path / "all.csv", 35)
    first = _write_slice(tmp_path / "march.csv", every, 0, 30)
    second = _write_slice(tmp_path / "march_again.csv", every, 10, 35)

    report = importer.run_import(
        first, api_key=sb.api_key, api_url=sb.base_url, ledger=pg_ledger_url
    )
    assert report.ledger == LedgerLocation(url=pg_ledger_url).describe()
    assert "secret" not in report.ledger
    assert report.summary.count(RowStatus.CREATED) == 30
    results = {r["Amount"]: r for r in read_csv(report.results_path)}
    assert {r["status"] for r in results.values()} == {"created"}
    ids = {amount: r["purchase_id"] for amount, r in results.items()}
    assert len(set(ids.values())) == 30

    report2 = importer.run_import(
        second, api_key=sb.api_key, api_url=sb.base_url, ledger=pg_ledger_url
    )
    assert report2.summary.count(RowStatus.SKIPPED) == 20
    assert report2.summary.count(RowStatus.CREATED) == 5
    assert report2.sent_this_run == 5
    for i, row in enumerate(read_csv(report2.results_path), start=10):
        assert row["Amount"] == amount_of(i)
        if i < 30:
            assert row["status"] == "skipped"
            assert row["purchase_id"] == ids[amount_of(i)]
            expected = f"already created from march.csv row {i + 2} on "
            assert row["error"].startswith(expected), row["error"]
            assert row["error"].endswith(f"(purchase {ids[amount_of(i)]}); not sent again")
        else:
            assert row["status"] == "created"
            ids[row["Amount"]] = row["purchase_id"]

    stored = sb.purchases()
    assert sorted(p["purchase_amount"] for p in stored) == sorted(amount_of(i) for i in range(35))
    assert {p["purchase_amount"]: p["id"] for p in stored} == ids

    # A re-run of the first file sends nothing and reports its purchases again.
    report3 = importer.run_import(
        first, api_key=sb.api_key, api_url=sb.base_url, ledger=pg_ledger_url
    )
    assert report3.sent_this_run == 0
    assert report3.summary.count(RowStatus.CREATED) == 30
    assert len(sb.purchases()) == 35

    with _admin(pg_ledger_url) as conn:
        imports = conn.execute("SELECT file_name, state FROM imports ORDER BY id").fetchall()
        held = conn.execute(
            "SELECT status, sends, count(*) FROM purchases GROUP BY status, sends"
        ).fetchall()
        stored_ids = dict(conn.execute("SELECT amount, purchase_id FROM purchases").fetchall())
    assert imports == [
        ("march.csv", "finished"),
        ("march_again.csv", "finished"),
        ("march.csv", "finished"),
    ]
    assert held == [("created", 1, 35)]
    assert stored_ids == ids


def test_a_sql_ascii_database_reads_text_as_text(pg_server, sb, tmp_path):
    """A database created in a C locale (SQL_ASCII) gave every text column back as bytes: the
    run stopped with a traceback (KeyError) before sending, the next one too."""
    with pg_server.admin() as conn:
        conn.execute(
            "CREATE DATABASE ledger_ascii OWNER keen ENCODING 'SQL_ASCII' TEMPLATE template0"
            " LC_COLLATE 'C' LC_CTYPE 'C'"
        )
    url = pg_server.url("ledger_ascii")
    try:
        first = write_rows(tmp_path / "märz.csv", 6)
        report = importer.run_import(first, api_key=sb.api_key, api_url=sb.base_url, ledger=url)
        assert report.summary.count(RowStatus.CREATED) == 6
        copy = tmp_path / "copy.csv"
        copy.write_bytes(first.read_bytes() + b"\n")  # other bytes, other name: another file
        again = importer.run_import(copy, api_key=sb.api_key, api_url=sb.base_url, ledger=url)
        assert again.sent_this_run == 0
        assert again.summary.count(RowStatus.SKIPPED) == 6
        errors = {r["error"].split(" row ")[0] for r in read_csv(again.results_path)}
        assert errors == {"already created from märz.csv"}
        assert len(sb.purchases()) == 6
    finally:
        with pg_server.admin() as conn:
            conn.execute("DROP DATABASE IF EXISTS ledger_ascii WITH (FORCE)")


# -- liveness --------------------------------------------------------------------------------

CANDIDATES = """
import hashlib
from importer.ledger.identity import Candidate, purchase_identity


def candidate(i):
    content = ('{"amount": "%d.00", "lead_id": "lead-%d"}' % (100 + i, i)).encode()
    return Candidate(
        row=i + 2,
        identity=purchase_identity(content, f"REF-{i}", "USD"),
        payload_hash=hashlib.sha256(content).hexdigest(),
        content=content,
        lead_id=f"lead-{i}",
        reference=f"REF-{i}",
        currency="USD",
        amount=f"{100 + i}.00",
        date="2026-03-01",
    )
"""

DYING_IMPORT = (
    CANDIDATES
    + """
import asyncio
import sys
import threading
import time
from importer.ledger import Ledger, ledger_location

ledger = Ledger.open(ledger_location(sys.argv[1]))
ledger.begin_import(target="t", file_name="dead.csv", file_sha256="d" * 64, source="dead")
to_send, held = ledger.claim([candidate(i) for i in range(3)])
assert len(to_send) == 3 and not held
asyncio.run(ledger.mark_sending_async(to_send[0].identity))
print(ledger.import_id, ledger._token, flush=True)
time.sleep(120)
"""
)


def _candidates(n: int) -> list:
    namespace: dict = {}
    exec(CANDIDATES, namespace)
    return [namespace["candidate"](i) for i in range(n)]


def test_a_killed_import_is_swept(any_ledger):
    location = ledger_location(any_ledger)
    child = subprocess.Popen(
        [sys.executable, "-c", DYING_IMPORT, any_ledger],
        env=subprocess_env(None),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = child.stdout.readline()
        assert line, child.stderr.read()
        dead_id, token = int(line.split()[0]), line.split()[1]
        with Ledger.open(location) as watcher:
            # While it runs, nobody sweeps it, and its rows are "being sent" for others.
            assert watcher.backend.is_live(token)
            assert watcher.sweep_stopped_imports() == 0
            watcher.begin_import(target="t", file_name="b.csv", file_sha256="b" * 64, source="b")
            to_send, held = watcher.claim(_candidates(4))
            assert [c.row for c in to_send] == [5]
            assert sorted(held) == [2, 3, 4]
            assert {r.status for r in held.values()} == {RowStatus.NOT_SENT}
            assert held[2].error.startswith("being sent right now by another import (dead.csv,")
            watcher.finish_import()
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=10)
    finally:
        if child.poll() is None:
            child.kill()
        child.communicate()

    with Ledger.open(location) as ledger:
        # The server sees the connection go (PostgreSQL), the OS drops the file lock (SQLite).
        wait_for(lambda: not ledger.backend.is_live(token), timeout=10, interval=0.05)
        rows = ledger.backend.fetch(
            "SELECT file_row, status, import_id, error FROM purchases ORDER BY file_row"
        )
        # Row 2 went out: marked sending (PostgreSQL), or named by the import's sending log
        # and still claimed in the file (SQLite, see importer.ledger.sendlog).
        in_flight = "sending" if any_ledger.startswith("postgresql") else "claimed"
        assert [(r[0], r[1], r[2]) for r in rows] == [
            (2, in_flight, dead_id),
            (3, "claimed", dead_id),
            (4, "claimed", dead_id),
        ]  # row 5: claimed by b.csv, released unsent when it finished
        # Before any sweep, another import's decision already holds row 2 as in flight.
        asking = ImportContext(import_id=-1, file_sha256="e" * 64, source="e")
        to_send, held = ledger.preview("t", _candidates(3), asking)
        assert [c.row for c in to_send] == [3, 4]
        assert [(row, r.status) for row, r in held.items()] == [(2, RowStatus.UNCONFIRMED)]
        # Reading the ledger (ledger show, the web app's History) settles it first, as the next
        # import would: row 2 in flight, rows 3-4 released.
        summary, entries = queries.show_import(ledger, dead_id)
        assert summary.state == "stopped"
        assert [(e.file_row, e.status) for e in entries] == [(2, "unconfirmed")]
        new_id = ledger.begin_import(
            target="t", file_name="c.csv", file_sha256="c" * 64, source="c"
        )
        state = ledger.backend.fetch_one("SELECT state FROM imports WHERE id = ?", (dead_id,))
        assert state == ("stopped",)
        rows = ledger.backend.fetch(
            "SELECT file_row, status, import_id, error FROM purchases ORDER BY file_row"
        )
        assert rows == [
            (
                2,
                "unconfirmed",
                dead_id,
                "in flight when the import of dead.csv stopped; check in Keen, then re-run "
                "with --resend-unconfirmed",
            )
        ]
        to_send, held = ledger.claim(_candidates(3))
        assert [c.row for c in to_send] == [3, 4]
        assert list(held) == [2]
        assert held[2].status is RowStatus.UNCONFIRMED
        assert new_id == dead_id + 2


def test_a_plan_looks_up_no_row_by_identity_next_to_purchases_of_other_days(
    any_ledger, sb, tmp_path, monkeypatch
):
    march = write_rows(tmp_path / "march.csv", 30)
    importer.run_import(march, api_key=sb.api_key, api_url=sb.base_url, ledger=any_ledger)
    april = tmp_path / "april.csv"
    with open(april, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        for i in range(30, 40):
            writer.writerow([USD_LEADS[i % len(USD_LEADS)], amount_of(i), "2026-04-02", "Pro plan",
                             f"GEN-{i:05d}"])  # fmt: skip
        # March's row of GEN-00003, re-exported with its date corrected into April: an edit.
        writer.writerow([USD_LEADS[3], amount_of(3), "2026-04-03", "Pro plan", "GEN-00003"])
    previews: list[int] = []
    real_preview = Ledger.preview

    def preview(self, target, candidates, context):
        previews.append(len(candidates))
        return real_preview(self, target, candidates, context)

    monkeypatch.setattr(Ledger, "preview", preview)
    plan = importer.open_import(april).plan(
        api_key=sb.api_key, api_url=sb.base_url, ledger=any_ledger
    )
    assert previews == []  # nothing dated 2 or 3 April in the ledger: every row is new
    assert plan.already_imported == 0
    assert plan.edited_rows == 1  # found by lead and reference, whatever the dates


def test_a_password_in_the_query_of_the_ledger_url_is_never_shown(pg_server, tmp_path, sb):
    """libpq takes ?user=...&password=... too; the wrong one and the right one both stay out
    of messages, the ledger's description and the manifest."""
    from urllib.parse import urlsplit

    given = urlsplit(pg_server.url())
    right = given.password
    base = f"postgresql://127.0.0.1:{pg_server.port}/ledger?user={given.username}"
    named = f"{base}&password=***"
    wrong = "Wr0ng-qu3ry-8c1e"
    with pytest.raises(LedgerError) as refused:
        Ledger.open(ledger_location(f"{base}&password={wrong}"))
    assert refused.value.ledger == named
    for text in (str(refused.value), refused.value.hint, repr(refused.value.args)):
        assert wrong not in text
    source = write_rows(tmp_path / "march.csv", 2)
    report = importer.run_import(
        source, api_key=sb.api_key, api_url=sb.base_url, ledger=f"{base}&password={right}"
    )
    assert report.exit_code == 0
    assert report.ledger == named
    assert f"password={right}" not in (tmp_path / "march.manifest.json").read_text()
