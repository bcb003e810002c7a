"""`keen-import run` end to end: real HTTP against the sandbox, no mock transports.

Each test starts its own Sandbox (uvicorn in a thread, in-memory or on a db file) and runs the
command in-process through ``importer.cli.main`` (or ``run_import`` where the report is needed).
Purchases are mapped back to rows by their amount (every generated row has a distinct amount).
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import sqlite3
import threading
from pathlib import Path

import pytest
from runhelpers import (
    SAMPLE,
    amount_of,
    assert_no_key,
    purchases_by_row,
    read_csv,
    results_by_row,
    statuses,
    wait_for,
    write_rows,
)

from importer.cli import main
from importer.job.oneshot import run_import
from importer.ledger import data_dir
from importer.sandbox import DEMO_API_KEY, Faults, Sandbox

INACTIVE_TRIGGER = "3eabedcb-baa8-4dd4-88bd-64072bcfbe01"
BONUS_TRIGGER = "aefcfad8-efc8-4849-b3aa-7efe4458a885"  # fixed 50.00
PCT_TRIGGER = "a28defe3-9bf0-4273-9247-6f57a5e5a5ab"  # 10 %
LEAD_1 = "47378190-96da-4dac-b2ff-5d2a386ecbe0"
LEAD_2 = "c241330b-01a9-471f-9e8a-774bcf36d58b"
LEAD_3 = "0b1f5a7e-3c2d-4e8f-9a6b-1c2d3e4f5a6b"  # not in the sandbox's world: refused
FABRIKAM_LEAD = "fc377a4c-4a15-444d-85e7-ce8a3a578a8e"

# Expected (status, http_status, error) of every row of sample_data/purchases_with_errors.csv.
MIXED_EXPECTED = {
    2: ("created", "200", ""),
    3: ("created", "200", ""),
    4: (
        "invalid",
        "",
        "lead_id '47378190-96da-4dac-b2ff' is not a valid UUID (expected 8-4-4-4-12 hex digits, "
        "e.g. 3f2b8c1e-9d4a-4e6b-8f1a-2c3d4e5f6a7b); it has 20 hex digits instead of 32",
    ),
    5: (
        "invalid",
        "",
        "amount '12,5O' is not a number (letter O instead of zero?); enter the amount as digits, "
        "e.g. 1500.00",
    ),
    6: (
        "invalid",
        "",
        "amount '-120.00' is negative; negative amounts (refunds) are not imported, remove the "
        "row or enter the purchase amount",
    ),
    7: ("invalid", "", "date is empty"),
    8: (
        "invalid",
        "",
        "date '2026-02-30' does not exist (February 2026 has 28 days); check the value",
    ),
    9: (
        "skipped",
        "",
        "duplicate of row 2 (every field repeats); use --allow-duplicates if both are real "
        "purchases",
    ),
    10: ("rejected", "403", "Lead not accessible"),
    11: ("rejected", "400", f"Invalid trigger id {INACTIVE_TRIGGER}: inactive"),
    12: (
        "invalid",
        "",
        "amount '19.999' reads as 19.999, with 3 decimal places, because '.' is this column's "
        "decimal separator; if '.' separates thousands here, use --decimal ,; otherwise round it "
        "or use --allow-precision",
    ),
    13: ("created", "200", ""),
}
MIXED_CREATED = {
    2: ("1500.00", "2026-03-02"),
    3: ("249.50", "2026-03-03"),
    13: ("640.00", "2026-03-12"),
}


@pytest.fixture
def run_cli(capsys, monkeypatch):
    """Run ``keen-import run ARGS`` in-process; returns (exit code, stdout, stderr)."""

    def run(*args, api_key: str | None = DEMO_API_KEY) -> tuple[int, str, str]:
        if api_key is None:
            monkeypatch.delenv("KEEN_API_KEY", raising=False)
        else:
            monkeypatch.setenv("KEEN_API_KEY", api_key)
        code = main(["run", *map(str, args)])
        out, err = capsys.readouterr()
        assert "Traceback" not in err
        return code, out, err

    return run


def mixed_file(tmp_path: Path) -> Path:
    return Path(shutil.copy(SAMPLE / "purchases_with_errors.csv", tmp_path / "mixed.csv"))


def check_mixed_results(results: dict[int, dict[str, str]]) -> None:
    got = {row: (r["status"], r["http_status"], r["error"]) for row, r in results.items()}
    assert got == MIXED_EXPECTED
    assert results[11]["attempts"] == "1"  # sent once, answered 400, never retried
    assert results[10]["attempts"] in ("", "0")  # rejected by preflight: no create call


# --- 1. mixed file ------------------------------------------------------------------------------


def test_mixed_file_every_row_exact(tmp_path, sb, run_cli):
    source = mixed_file(tmp_path)
    code, out, err = run_cli(source, "--api-url", sb.base_url, "--concurrency", "2")
    assert code == 1
    results = results_by_row(tmp_path / "mixed.results.csv")
    check_mixed_results(results)

    stored = sb.purchases()
    assert len(stored) == 3
    ids = {row: results[row]["purchase_id"] for row in MIXED_CREATED}
    assert {p["id"] for p in stored} == set(ids.values())
    by_id = {p["id"]: p for p in stored}
    for row, (amount, day) in MIXED_CREATED.items():
        purchase = by_id[ids[row]]
        assert purchase["purchase_amount"] == amount  # "$249.50" sent as the number 249.50
        assert purchase["date"] == f"{day}T00:00:00Z"  # ISO 8601 UTC
        assert purchase["action"] == "create_purchase"
    assert by_id[ids[2]]["lead_id"] == LEAD_1
    assert by_id[ids[2]]["name"] == "Pro plan"
    assert by_id[ids[3]]["lead_id"] == LEAD_2
    assert by_id[ids[3]]["name"] == "Starter plan"
    # No trigger ids: the channel's active purchase triggers; explicit ids on row 13.
    rewards = {row: sorted((r["trigger_id"], r["amount"]) for r in by_id[ids[row]]["rewards"])
               for row in MIXED_CREATED}  # fmt: skip
    assert rewards[2] == sorted([(BONUS_TRIGGER, "50.00"), (PCT_TRIGGER, "150.00")])
    assert rewards[3] == sorted([(BONUS_TRIGGER, "50.00"), (PCT_TRIGGER, "24.95")])
    assert rewards[13] == sorted([(BONUS_TRIGGER, "50.00"), (PCT_TRIGGER, "64.00")])

    stats = sb.stats()
    assert stats["create_calls"] == 4  # rows 2, 3, 11, 13; row 10 stopped by preflight
    assert stats["statuses"].get("401", 0) == 0

    created = read_csv(tmp_path / "mixed.created.csv")
    assert created == [
        {
            "row": str(row),
            "purchase_id": ids[row],
            "lead_id": {2: LEAD_1, 3: LEAD_2, 13: LEAD_2}[row],
            "purchase_amount": amount,
            "date": f"{day}T00:00:00Z",
            "reference": {2: "INV-9001", 3: "INV-9002", 13: "INV-9012"}[row],
        }
        for row, (amount, day) in MIXED_CREATED.items()
    ]

    manifest = json.loads((tmp_path / "mixed.manifest.json").read_text())
    assert manifest["command"] == "run"
    assert manifest["input"]["sha256"] == hashlib.sha256(source.read_bytes()).hexdigest()
    assert manifest["exit_code"] == 1
    assert manifest["api_url"] == sb.base_url
    assert manifest["summary"]["by_status"]["created"]["rows"] == 3
    assert manifest["summary"]["reconciles"] is True

    assert "totals reconcile" in err
    assert_no_key(tmp_path, DEMO_API_KEY, out, err)


# --- 2. re-runs ---------------------------------------------------------------------------------


def test_rerun_mixed_file_creates_nothing_new(tmp_path, sb, run_cli):
    source = mixed_file(tmp_path)
    assert run_cli(source, "--api-url", sb.base_url)[0] == 1
    first = results_by_row(tmp_path / "mixed.results.csv")
    stored_before = sb.purchases()
    calls_before = sb.stats()["create_calls"]

    code, _, err = run_cli(source, "--api-url", sb.base_url)
    assert code == 1
    second = results_by_row(tmp_path / "mixed.results.csv")
    check_mixed_results(second)
    assert sb.purchases() == stored_before  # not one new purchase
    for row in MIXED_CREATED:
        assert second[row]["purchase_id"] == first[row]["purchase_id"]
    # Only the row the API rejected at create time (invalid trigger) is asked again: the ledger
    # lets rejected rows be sent again (a rejection creates nothing, so resending cannot duplicate).
    assert sb.stats()["create_calls"] == calls_before + 1
    assert "nothing to send" not in err
    created = read_csv(tmp_path / "mixed.created.csv")
    assert [c["purchase_id"] for c in created] == [first[r]["purchase_id"] for r in MIXED_CREATED]


def test_rerun_of_fully_created_file_prints_nothing_to_send(tmp_path, sb, run_cli):
    source = Path(shutil.copy(SAMPLE / "purchases_march_2026.csv", tmp_path / "march.csv"))
    code, _, err = run_cli(source, "--api-url", sb.base_url)
    assert code == 0, err
    first = results_by_row(tmp_path / "march.results.csv")
    assert statuses(first) == {"created": 24}
    assert {r["purchase_id"] for r in first.values()} == {p["id"] for p in sb.purchases()}
    calls = sb.stats()["create_calls"]

    code, out, err = run_cli(source, "--api-url", sb.base_url)
    assert code == 0
    assert "nothing to send" in err
    assert sb.stats()["create_calls"] == calls
    assert len(sb.purchases()) == 24
    second = results_by_row(tmp_path / "march.results.csv")
    assert {r: v["purchase_id"] for r, v in second.items()} == {
        r: v["purchase_id"] for r, v in first.items()
    }
    assert statuses(second) == {"created": 24}
    assert_no_key(tmp_path, DEMO_API_KEY, out, err)


# --- 3. faults ----------------------------------------------------------------------------------


def test_fault_run_no_duplicates_and_lost_replies_unconfirmed(tmp_path):
    n = 300
    source = write_rows(tmp_path / "faulty.csv", n)
    faults = Faults(
        rate_limit=150,
        p_503=0.03,
        p_drop_before=0.04,
        p_commit_then_drop=0.04,
        p_commit_then_500=0.04,
        seed=11,
    )
    with Sandbox(faults=faults) as sb:
        report = run_import(
            source, api_key=sb.api_key, api_url=sb.base_url, concurrency=8, max_retries=8
        )
        results = results_by_row(report.results_path)
        assert sorted(results) == list(range(2, n + 2))  # every row exactly once
        counts = statuses(results)
        assert set(counts) <= {"created", "unconfirmed"}
        stats = sb.stats()
        fault_counts = stats["faults"]
        lost = fault_counts.get("drop_before", 0) + fault_counts.get("commit_then_drop", 0)
        lost += fault_counts.get("commit_then_500", 0)
        committed_lost = fault_counts.get("commit_then_drop", 0) + fault_counts.get(
            "commit_then_500", 0
        )
        assert fault_counts.get("503", 0) > 0 and committed_lost > 0
        assert stats["rate_limited"] > 0
        # Every lost reply is unconfirmed, never created/rejected, and nothing else is.
        assert counts["unconfirmed"] == lost
        stored = sb.purchases()
        grouped = purchases_by_row(stored, n)
        assert all(len(ps) == 1 for ps in grouped.values()), "a row was stored twice"
        for row, result in results.items():
            if result["status"] == "created":
                assert [p["id"] for p in grouped[row]] == [result["purchase_id"]]
                assert result["http_status"] == "200"
            else:
                assert result["purchase_id"] == ""
                assert "--resend-unconfirmed" in result["error"]
        unconfirmed_committed = sum(
            1 for row, r in results.items() if r["status"] == "unconfirmed" and row in grouped
        )
        assert unconfirmed_committed == committed_lost
        assert len(stored) == counts["created"] + unconfirmed_committed
        assert report.exit_code == 1

        # A plain re-run sends nothing: unconfirmed rows stay unconfirmed.
        sb.set_faults(Faults())
        calls = sb.stats()["create_calls"]
        again = run_import(source, api_key=sb.api_key, api_url=sb.base_url)
        assert again.exit_code == 1
        assert sb.stats()["create_calls"] == calls
        assert statuses(results_by_row(again.results_path)) == counts

        # --resend-unconfirmed sends exactly those rows again. The API has no idempotency key,
        # so rows whose first request was committed get a second purchase: that is why the
        # flag exists only as the user's explicit choice after checking in Keen.
        resent = run_import(
            source, api_key=sb.api_key, api_url=sb.base_url, resend_unconfirmed=True
        )
        assert resent.exit_code == 0
        assert sb.stats()["create_calls"] == calls + counts["unconfirmed"]
        final = results_by_row(resent.results_path)
        assert statuses(final) == {"created": n}
        grouped = purchases_by_row(sb.purchases(), n)
        twice = {row for row, ps in grouped.items() if len(ps) == 2}
        assert len(twice) == unconfirmed_committed
        assert all(results[row]["status"] == "unconfirmed" for row in twice)
        assert all(len(ps) <= 2 for ps in grouped.values())
        for row, result in final.items():
            assert result["purchase_id"] == grouped[row][-1]["id"]
    assert_no_key(tmp_path)


# --- 5. bad or missing key ----------------------------------------------------------------------


def test_wrong_key_stops_before_any_create(tmp_path, sb, run_cli):
    source = write_rows(tmp_path / "rows.csv", 10)
    code, out, err = run_cli(source, "--api-url", sb.base_url, api_key="wrong")
    assert code == 2
    assert "Invalid API key" in err
    stats = sb.stats()
    assert stats["create_calls"] == 0
    assert stats["purchases"] == 0
    assert stats["statuses"] == {"401": 1}  # the first call (get_channels) and nothing after


def test_missing_key_exits_before_any_request(tmp_path, sb, run_cli):
    source = write_rows(tmp_path / "rows.csv", 10)
    code, _, err = run_cli(source, "--api-url", sb.base_url, api_key=None)
    assert code == 2
    assert "no API key: set KEEN_API_KEY or use --api-key-file PATH" in err
    assert sb.stats()["requests"] == 0


def test_api_key_file(tmp_path, sb, run_cli):
    source = write_rows(tmp_path / "rows.csv", 5)
    key_dir = tmp_path / "secret"
    key_dir.mkdir()
    (key_dir / "key").write_text(DEMO_API_KEY + "\n")
    code, out, err = run_cli(
        source, "--api-url", sb.base_url, "--api-key-file", key_dir / "key", api_key=None
    )
    assert code == 0, err
    assert len(sb.purchases()) == 5
    shutil.rmtree(key_dir)
    assert_no_key(tmp_path, DEMO_API_KEY, out, err)


def test_progress_reports_rows_statuses_retrying_and_request_rate(tmp_path):
    n = 40
    source = write_rows(tmp_path / "rows.csv", n)
    calls: list[tuple[int, int | None, dict[str, int]]] = []
    with Sandbox(faults=Faults(latency_ms=5, p_503=0.1, seed=3)) as sb:
        report = run_import(
            source,
            api_key=sb.api_key,
            api_url=sb.base_url,
            concurrency=4,
            max_retries=20,
            on_progress=lambda done, total, counts: calls.append((done, total, dict(counts))),
        )
        retried_503 = sb.stats()["faults"]["503"]
    assert report.exit_code == 0
    assert retried_503 > 0
    during = [counts for done, total, counts in calls if "req/s" in counts]
    assert during, "no progress while sending"
    assert all(total == n for _, total, _ in calls)
    assert all(set(c) <= {"created", "retrying", "req/s"} for c in during)
    assert max(c["retrying"] for c in during) >= 1  # some 503 was waiting for its Retry-After
    assert max(c["req/s"] for c in during) > 0
    assert [done for done, _, _ in calls] == sorted(done for done, _, _ in calls)
    assert calls[-1] == (n, n, {"created": n})


# --- 6. key revoked mid-run ---------------------------------------------------------------------


def test_revoked_key_mid_run_stops_and_resumes(tmp_path, run_cli):
    n = 150
    concurrency = 4
    source = write_rows(tmp_path / "rows.csv", n)
    db = tmp_path / "sandbox.sqlite"
    sb = Sandbox(db=db, faults=Faults(latency_ms=30))
    sb.start()
    try:

        def revoke_after_20() -> None:
            wait_for(lambda: sb.stats()["purchases"] >= 20)
            sb.revoke_key()

        revoker = threading.Thread(target=revoke_after_20, daemon=True)
        revoker.start()
        code, out, err = run_cli(source, "--api-url", sb.base_url, "--concurrency", concurrency)
        revoker.join(5)
        assert code == 2
        assert "Invalid API key" in err
        results = results_by_row(tmp_path / "rows.results.csv")
        assert sorted(results) == list(range(2, n + 2))
        counts = statuses(results)
        assert set(counts) == {"created", "not_sent"}
        stats = sb.stats()
        # Stopped promptly: only the requests in flight at the revocation got a 401.
        assert 1 <= stats["statuses"]["401"] <= concurrency
        assert stats["create_calls"] == counts["created"] + stats["statuses"]["401"]
        assert counts["created"] < n - 50
        created_ids = {r["purchase_id"] for r in results.values() if r["status"] == "created"}
        assert created_ids == {p["id"] for p in sb.purchases()}
        for r in results.values():
            if r["status"] == "not_sent":
                assert r["purchase_id"] == ""
                assert r["error"] == "not sent: the API key was rejected (401 Invalid API key)"
        port = sb.port
    finally:
        sb.stop()

    # Revocations live in memory: a sandbox restarted on the same db file (and the same port,
    # so the ledger's target is the same) accepts the key again and still has every purchase.
    with Sandbox(db=db, port=port) as sb2:
        assert len(sb2.purchases()) == counts["created"]
        code, out2, err2 = run_cli(source, "--api-url", sb2.base_url, "--concurrency", 8)
        assert code == 0, err2
        assert sb2.stats()["create_calls"] == counts["not_sent"]
        final = results_by_row(tmp_path / "rows.results.csv")
        assert statuses(final) == {"created": n}
        grouped = purchases_by_row(sb2.purchases(), n)
        assert len(grouped) == n and all(len(ps) == 1 for ps in grouped.values())
        for row, r in final.items():
            assert r["purchase_id"] == grouped[row][0]["id"]
            if results[row]["status"] == "created":
                assert r["purchase_id"] == results[row]["purchase_id"]
    # The sandbox db holds the key (it is the sandbox's world); the importer's files do not.
    db.unlink()
    for extra in tmp_path.glob("sandbox.sqlite-*"):
        extra.unlink()
    assert_no_key(tmp_path, DEMO_API_KEY, out, err, out2, err2)


# --- 8. dry run ---------------------------------------------------------------------------------


def test_dry_run_creates_nothing_and_shows_rejected_leads(tmp_path, sb, run_cli):
    source = mixed_file(tmp_path)
    code, _, err = run_cli(source, "--api-url", sb.base_url, "--dry-run")
    assert code == 1
    assert "dry run: nothing was created" in err
    stats = sb.stats()
    assert stats["create_calls"] == 0
    assert stats["purchases"] == 0
    results = results_by_row(tmp_path / "mixed.results.csv")
    assert results[10]["status"] == "rejected"
    assert results[10]["http_status"] == "403"
    assert results[10]["error"] == "Lead not accessible"
    for row in (2, 3, 11, 13):  # valid offline, lead accessible: would be sent
        assert results[row]["status"] == "valid"
        assert results[row]["purchase_id"] == ""
    # A dry run only asks the ledger: it records no import and claims no row.
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "mixed.csv", "mixed.manifest.json", "mixed.results.csv",
    ]  # fmt: skip
    ledger = data_dir() / "sandbox-ledger.sqlite"
    with sqlite3.connect(ledger) as db:
        assert db.execute("SELECT count(*) FROM imports").fetchone() == (0,)
        assert db.execute("SELECT count(*) FROM purchases").fetchone() == (0,)
    manifest = json.loads((tmp_path / "mixed.manifest.json").read_text())
    assert manifest["command"] == "run --dry-run"


def test_dry_run_of_clean_file_exits_0(tmp_path, sb, run_cli):
    source = write_rows(tmp_path / "rows.csv", 6)
    code, _, err = run_cli(source, "--api-url", sb.base_url, "--dry-run")
    assert code == 0, err
    assert statuses(results_by_row(tmp_path / "rows.results.csv")) == {"valid": 6}
    assert sb.stats()["create_calls"] == 0


# --- 9. URL safety and --sandbox ----------------------------------------------------------------


def test_plain_http_to_remote_host_refused(tmp_path, run_cli):
    source = write_rows(tmp_path / "rows.csv", 3)
    code, _, err = run_cli(source, "--api-url", "http://keen.example.com/functions/v1/keen-api")
    assert code == 2
    assert "refusing to send the API key over plain http to keen.example.com" in err
    assert not (tmp_path / "rows.results.csv").exists()


def test_sandbox_flag_imports_march_sample(tmp_path, run_cli):
    source = Path(shutil.copy(SAMPLE / "purchases_march_2026.csv", tmp_path / "march.csv"))
    code, out, err = run_cli(source, "--sandbox", api_key=None)
    assert code == 0, err
    results = results_by_row(tmp_path / "march.results.csv")
    assert statuses(results) == {"created": 24}
    assert len({r["purchase_id"] for r in results.values()}) == 24
    assert "sandbox running at http://127.0.0.1:" in err
    assert_no_key(tmp_path, DEMO_API_KEY, out, err)


# --- 10. two runs of the same file at once ---------------------------------------------------


def test_a_second_run_at_the_same_time_sends_nothing_twice(tmp_path, run_cli):
    n = 80
    source = write_rows(tmp_path / "rows.csv", n)
    with Sandbox(faults=Faults(latency_ms=40)) as sb:
        first: dict = {}

        def run_first() -> None:
            first["report"] = run_import(
                source, api_key=DEMO_API_KEY, api_url=sb.base_url, concurrency=1
            )

        thread = threading.Thread(target=run_first)
        thread.start()
        try:
            wait_for(lambda: sb.stats()["purchases"] >= 5)
            code, _, err = run_cli(source, "--api-url", sb.base_url, "--out-dir", tmp_path / "two")
            during = sb.stats()["purchases"]
        finally:
            thread.join()
        assert during < n, "the first run ended before the second one looked"
        assert first["report"].exit_code == 0
        assert code == 1, err
        # The second run sent nothing: what the first created it reports created (same ids),
        # what the first was still sending it leaves to it.
        assert sb.stats()["create_calls"] == n
        grouped = purchases_by_row(sb.purchases(), n)
        assert len(grouped) == n and all(len(ps) == 1 for ps in grouped.values())
        one = results_by_row(tmp_path / "rows.results.csv")
        two = results_by_row(tmp_path / "two" / "rows.results.csv")
        counts = statuses(two)
        assert set(counts) == {"created", "not_sent"} and counts["not_sent"] >= n - during
        busy = re.compile(
            r"being sent right now by another import \(rows\.csv, started \d{4}-\d\d-\d\d "
            r"\d\d:\d\d UTC by .+ on .+\); not sent: run again once it has finished"
        )
        for row, r in two.items():
            if r["status"] == "created":
                assert r["purchase_id"] == one[row]["purchase_id"]
            else:
                assert r["purchase_id"] == "" and busy.fullmatch(r["error"]), r
        # Once the first has finished, the same command finds every purchase.
        code, _, err = run_cli(source, "--api-url", sb.base_url, "--out-dir", tmp_path / "two")
        assert code == 0, err
        assert "nothing to send" in err
        assert sb.stats()["create_calls"] == n
        three = results_by_row(tmp_path / "two" / "rows.results.csv")
        assert {row: r["purchase_id"] for row, r in three.items()} == {
            row: r["purchase_id"] for row, r in one.items()
        }


def test_amounts_sent_exactly(tmp_path, sb, run_cli):
    source = tmp_path / "amounts.csv"
    source.write_text(
        "Lead ID,Amount,Date,Reference\n"
        f"{LEAD_1},249.50,2026-03-02,A1\n"
        f"{LEAD_1},0.10,2026-03-03T10:15:00+02:00,A2\n"
        f"{LEAD_2},1234567.89,2026-03-04,A3\n"
    )
    code, _, err = run_cli(source, "--api-url", sb.base_url)
    assert code == 0, err
    results = results_by_row(tmp_path / "amounts.results.csv")
    stored = {p["id"]: p for p in sb.purchases()}
    got = {row: (stored[r["purchase_id"]]["purchase_amount"], stored[r["purchase_id"]]["date"])
           for row, r in results.items()}  # fmt: skip
    assert got == {
        2: ("249.50", "2026-03-02T00:00:00Z"),
        3: ("0.10", "2026-03-03T08:15:00Z"),
        4: ("1234567.89", "2026-03-04T00:00:00Z"),
    }


def test_generated_amounts_are_distinct():
    assert len({amount_of(i) for i in range(1000)}) == 1000


def test_legacy_ids_resolved_and_channel_currency_checked(tmp_path, sb, run_cli):
    source = tmp_path / "legacy.csv"
    source.write_text(
        "Legacy ID,Amount,Date,Currency,Reference\n"
        "2001,10.00,2026-03-02,EUR,L1\n"  # EUR channel lead: created, sent as its UUID
        "9999,11.00,2026-03-02,EUR,L2\n"  # unknown legacy id
        "3001,12.00,2026-03-02,EUR,L3\n"  # lead of a channel the demo company cannot see
        "1002,13.00,2026-03-02,EUR,L4\n"  # USD channel lead, EUR amount
    )
    summary = tmp_path / "summary.json"
    code, _, err = run_cli(source, "--api-url", sb.base_url, "--summary-json", summary)
    assert code == 1, err
    results = results_by_row(tmp_path / "legacy.results.csv")
    got = {row: (r["status"], r["http_status"], r["error"]) for row, r in results.items()}
    assert got == {
        2: ("created", "200", ""),
        3: ("rejected", "404", "Lead not found"),
        4: ("rejected", "403", "Lead not accessible"),
        5: (
            "invalid",
            "",
            "currency EUR does not match the lead's channel currency USD; "
            "Keen does not convert amounts",
        ),
    }
    [purchase] = sb.purchases()
    assert purchase["id"] == results[2]["purchase_id"]
    assert purchase["lead_id"] == "ec1b8ca1-f91e-4d4c-9ff4-9b7889463e85"
    assert purchase["purchase_amount"] == "10.00"
    assert sb.stats()["create_calls"] == 1
    data = json.loads(summary.read_text())
    assert data["exit_code"] == 1
    assert {k: v["rows"] for k, v in data["by_status"].items()} == {
        "created": 1,
        "rejected": 2,
        "invalid": 1,
    }


def test_fix_rejected_row_and_rerun_sends_only_that_row(tmp_path, sb, run_cli):
    source = tmp_path / "fix.csv"
    source.write_text(
        "Lead ID,Amount,Date,Reference,Trigger IDs\n"
        f"{LEAD_1},10.00,2026-03-02,R1,\n"
        f"{LEAD_1},11.00,2026-03-02,R2,{INACTIVE_TRIGGER}\n"
        f"{LEAD_1},12.00,2026-03-02,R3,\n"
    )
    assert run_cli(source, "--api-url", sb.base_url)[0] == 1
    first = results_by_row(tmp_path / "fix.results.csv")
    assert [first[r]["status"] for r in (2, 3, 4)] == ["created", "rejected", "created"]
    # README: rejected -> "fix the row and re-run". Fix row 3 only.
    source.write_text(source.read_text().replace(INACTIVE_TRIGGER, ""))
    code, _, err = run_cli(source, "--api-url", sb.base_url)
    assert code == 0, err
    second = results_by_row(tmp_path / "fix.results.csv")
    assert second[2]["purchase_id"] == first[2]["purchase_id"]
    assert second[4]["purchase_id"] == first[4]["purchase_id"]
    assert sorted(p["purchase_amount"] for p in sb.purchases()) == ["10.00", "11.00", "12.00"]


def test_running_the_results_file_creates_no_duplicates(tmp_path, sb, run_cli):
    source = write_rows(tmp_path / "rows.csv", 3)
    assert run_cli(source, "--api-url", sb.base_url)[0] == 0
    results_file = tmp_path / "rows.results.csv"
    assert statuses(results_by_row(results_file)) == {"created": 3}
    run_cli(results_file, "--api-url", sb.base_url)
    assert len(sb.purchases()) == 3


def test_rows_moved_by_an_edit_are_recognised_and_a_new_row_is_sent(tmp_path, sb, run_cli):
    source = tmp_path / "moved.csv"
    header = "Lead ID,Amount,Date,Reference\n"
    body = [f"{LEAD_1},{10 + i}.00,2026-03-02,M{i}\n" for i in range(3)]
    source.write_text(header + "".join(body))
    assert run_cli(source, "--api-url", sb.base_url)[0] == 0
    first = results_by_row(tmp_path / "moved.results.csv")
    # A late purchase is inserted at the top: every earlier row moves down by one.
    source.write_text(header + f"{LEAD_1},99.00,2026-03-01,M9\n" + "".join(body))
    code, _, err = run_cli(source, "--api-url", sb.base_url)
    assert code == 0, err
    second = results_by_row(tmp_path / "moved.results.csv")
    assert [second[r]["purchase_id"] for r in (3, 4, 5)] == [
        first[r]["purchase_id"] for r in (2, 3, 4)
    ]
    assert "already created by an earlier run as row 2" in second[3]["warnings"]
    assert sorted(p["purchase_amount"] for p in sb.purchases()) == [
        "10.00",
        "11.00",
        "12.00",
        "99.00",
    ]
    created = read_csv(tmp_path / "moved.created.csv")
    assert sorted(r["purchase_id"] for r in created) == sorted(p["id"] for p in sb.purchases())


def test_bare_host_url_gets_the_documented_path(tmp_path, sb, run_cli):
    source = write_rows(tmp_path / "bare.csv", 2)
    root = sb.base_url.removesuffix("/functions/v1/keen-api")
    code, _, err = run_cli(source, "--api-url", root + "/")
    assert code == 0, err
    assert len(sb.purchases()) == 2


def test_validate_online_checks_leads_and_creates_nothing(tmp_path, sb, capsys, monkeypatch):
    source = mixed_file(tmp_path)
    monkeypatch.setenv("KEEN_API_KEY", DEMO_API_KEY)
    code = main(["validate", str(source), "--online", "--api-url", sb.base_url])
    err = capsys.readouterr().err
    assert code == 1
    assert "dry run: nothing was created" in err
    results = results_by_row(tmp_path / f"{source.stem}.results.csv")
    rejected = [r for r in results.values() if r["status"] == "rejected"]
    assert [(r["http_status"], r["error"]) for r in rejected] == [("403", "Lead not accessible")]
    assert sb.stats()["create_calls"] == 0
    assert sb.purchases() == []


def _refused_for_euros(run_cli, source, url: str, where: str, results_path=None) -> dict:
    """Run ``source``, whose row 2 holds euros for a lead of a USD channel: that row is
    refused, the message naming where the currency was found; the results by row."""
    results_path = results_path or source.with_name(source.stem + ".results.csv")
    code, _, err = run_cli(source, "--api-url", url, "--results", str(results_path))
    assert code == 1, err
    results = results_by_row(results_path)
    assert (results[2]["status"], results[2]["error"]) == (
        "invalid",
        f"currency EUR ({where}) does not match the lead's channel currency USD; Keen does not "
        "convert amounts",
    )
    return results


def test_a_currency_named_in_the_amount_cell_is_checked_against_the_channel(tmp_path, sb, run_cli):
    """No currency column: '1.500,00 €' names EUR all the same, and Keen would pay a reward
    on 1500 USD for it."""
    source = tmp_path / "eur.csv"
    source.write_text(
        "Legacy ID;Beløb;Dato;Fakturanr\n"
        "1002;1.500,00 €;13.03.2026;EE-1\n"  # USD channel lead
        "2001;250,00 €;13.03.2026;EE-2\n",  # EUR channel lead
        encoding="utf-8",
    )
    results = _refused_for_euros(run_cli, source, sb.base_url, "named in the amount cell")
    assert (results[3]["status"], results[3]["error"]) == ("created", "")
    [purchase] = sb.purchases()
    assert (purchase["purchase_amount"], purchase["id"]) == ("250.00", results[3]["purchase_id"])


def test_a_currency_shown_by_a_workbook_number_format_is_checked_against_the_channel(
    tmp_path, sb, run_cli
):
    """calamine reads a cell formatted '[$€-407] #,##0.00' as 1500.0: the euro is the cell's
    number format, and Keen would pay a reward on 1500 USD for it."""
    import openpyxl

    source = tmp_path / "eur.xlsx"
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Legacy ID", "Amount", "Date", "Reference"])
    sheet.append([1002, 1500, "2026-03-13", "EE-1"])  # USD channel lead, euros
    sheet.append([2001, 250.5, "2026-03-13", "EE-2"])  # EUR channel lead, euros
    sheet.append([2001, 99, "2026-03-13", "EE-3"])  # no currency shown: sent unchecked
    sheet["B2"].number_format = "[$€-407]#,##0.00"
    sheet["B3"].number_format = "#,##0.00\\ [$€-407]"
    book.save(source)
    results = _refused_for_euros(run_cli, source, sb.base_url, "named in the amount cell")
    assert [(r["status"], r["error"]) for r in (results[3], results[4])] == [("created", "")] * 2
    sent = sorted((p["purchase_amount"], p["id"]) for p in sb.purchases())
    assert sent == sorted(
        [("250.50", results[3]["purchase_id"]), ("99.00", results[4]["purchase_id"])]
    )


def test_a_currency_named_by_the_amount_header_is_checked_against_the_channel(
    tmp_path, sb, run_cli
):
    """'Amount (EUR)': every amount of the column is in euros, and Keen would pay a reward on
    92 USD for the first row."""
    source = tmp_path / "eur.csv"
    source.write_text(
        "Legacy ID,Amount (EUR),Date,Amount (USD)\n"
        "1002,92.00,2026-03-13,100.00\n"  # USD channel lead
        "2001,250.00,2026-03-13,270.00\n",  # EUR channel lead
        encoding="utf-8",
    )
    where = "named in the header 'Amount (EUR)'"
    results = _refused_for_euros(run_cli, source, sb.base_url, where)
    assert (results[3]["status"], results[3]["error"]) == ("created", "")
    [purchase] = sb.purchases()
    assert (purchase["purchase_amount"], purchase["id"]) == ("250.00", results[3]["purchase_id"])


def test_a_run_whose_rows_are_all_refused_before_sending_says_so(tmp_path, sb, run_cli):
    source = tmp_path / "eur.csv"
    source.write_text("Legacy ID,Amount,Date\n1002,100.00 EUR,2026-03-13\n", encoding="utf-8")
    code, _, err = run_cli(source, "--api-url", sb.base_url)
    assert code == 1
    assert "nothing was sent: 1 row was held back before sending (the results file says why)" in err
    assert sb.stats()["create_calls"] == 0


def test_a_rerun_of_unconfirmed_rows_says_the_row_refused_before_sending(tmp_path, sb, run_cli):
    """Rows held back as unconfirmed are not the rows refused this time: a row whose lead is
    not found is still said to be held back before sending, not 'already handled'."""
    source = tmp_path / "held.csv"
    source.write_text(
        f"Lead ID,Amount,Date\n{LEAD_1},100.00,2026-03-13\n{LEAD_3},11.00,2026-03-13\n",
        encoding="utf-8",
    )
    sb.set_faults(Faults(p_commit_then_drop=1.0))
    code, _, err = run_cli(source, "--api-url", sb.base_url, "--yes")
    assert code == 1
    assert re.search(r"\n  unconfirmed +1 +100\.00\n", err), err
    sb.set_faults(Faults())
    calls = sb.stats()["create_calls"]
    code, _, err = run_cli(source, "--api-url", sb.base_url, "--yes")
    assert code == 1
    assert "nothing was sent: 1 row was held back before sending (the results file says why)" in err
    assert "already handled" not in err
    assert "  1 row held back (unconfirmed 1)\n" in err
    assert sb.stats()["create_calls"] == calls
    assert len(sb.purchases()) == 1


def test_a_dry_run_that_cannot_reach_the_api_checks_nothing_and_says_so(tmp_path, run_cli):
    """'check leads online' with every look-up failing: the rows are not called valid."""
    from nethelpers import closed_port

    source = tmp_path / "march.csv"
    source.write_text(
        "Lead ID,Amount,Date\n47378190-96da-4dac-b2ff-5d2a386ecbe0,100.00,2026-03-02\n"
    )
    url = f"http://127.0.0.1:{closed_port()}/functions/v1/keen-api"
    code, _, err = run_cli(source, "--api-url", url, "--dry-run", "--max-retries", "0")
    assert code == 1, err
    [row] = results_by_row(tmp_path / "march.results.csv").values()
    assert row["status"] == "retried"
    assert row["error"].startswith("lead not checked (could not connect (ConnectError: ")
    assert row["error"].endswith("); nothing was sent, check again later")
