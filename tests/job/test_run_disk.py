"""`keen-import run` on full disks and folders that cannot be written.

As root (CI), the tests mount small tmpfs volumes: a read-only one for the run's files must stop
the run before anything is sent; a small one holding the per-user data folder (the ledger) fills
up mid-run. Without root those two tests are skipped with a reason (never under CI); the injected
failures below (and tests/send/test_sender_disk.py) cover the same paths.
"""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys
from collections import Counter
from contextlib import contextmanager
from pathlib import Path

import pytest
from runhelpers import amount_of, purchases_by_row, results_by_row, statuses, write_rows

from importer.job.oneshot import run_import
from importer.ledger import Ledger, LedgerLocation
from importer.ledger.sendlog import SendingLog
from importer.sandbox import DEMO_API_KEY, Faults

STOPPED = re.compile(
    r"error: could not write the ledger (?P<ledger>\S+): database or disk is full\. Sending "
    r"stopped: (?P<created>[\d,]+) rows were created and recorded in this run"
    r"(?:; (?P<unconfirmed>\d+) rows in flight could not be recorded and are unconfirmed \(check "
    r"them in Keen before sending them again\))?\. Make the ledger writable again \(free space "
    r"on its disk, or get its server back\) and run the same command again: it resumes where "
    r"this run stopped and sends nothing twice\.\n"
)


#: Room for the ledger's claim of every row, not for all the answers that follow.
LEDGER_VOLUME = "1600k"


def needs_root() -> None:
    """Mounting a volume needs root: CI runs as root, so there the test must run."""
    if not sys.platform.startswith("linux"):
        pytest.skip("mounting a small tmpfs volume is Linux only")
    if os.geteuid() == 0:
        return
    if os.environ.get("CI"):
        pytest.fail("CI must run these tests as root (they mount a small tmpfs volume)")
    pytest.skip("needs root to mount a small tmpfs volume (the injected-failure tests run)")


@contextmanager
def volume(path: Path, *, size: str, read_only: bool = False):
    """A tmpfs volume of ``size`` mounted at ``path`` for the duration of the block."""
    path.mkdir()
    options = f"size={size}" + (",ro" if read_only else "")
    subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)], check=True)
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def test_read_only_folder_stops_before_anything_is_sent(tmp_path, sb, run_cli):
    needs_root()
    source = write_rows(tmp_path / "rows.csv", 20)
    with volume(tmp_path / "vol", size="600k", read_only=True) as vol:
        code, err = run_cli(source, "--api-url", sb.base_url, "--results", vol / "r.csv")
    assert code == 2
    assert err == (
        f"error: cannot write in the folder {vol} (r.csv, rows.manifest.json, rows.created.csv): "
        "Read-only file system; nothing was sent: the folder is read-only for this user: choose "
        "another folder with --out-dir DIR\n"
    )
    assert sb.stats()["requests"] == 0


def test_validate_in_a_read_only_folder_says_so_in_one_line(tmp_path, capsys):
    from importer.cli import main

    needs_root()
    source = write_rows(tmp_path / "rows.csv", 3)
    with volume(tmp_path / "vol", size="600k", read_only=True) as vol:
        code = main(["validate", str(source), "--results", str(vol / "r.csv")])
        err = capsys.readouterr().err
    assert code == 2
    assert err == (
        f"error: cannot write in the folder {vol} (r.csv, rows.manifest.json): Read-only file "
        "system; the folder is read-only for this user: choose another folder with --out-dir "
        "DIR\n"
    )


def test_a_file_in_place_of_the_folder_stops_before_anything_is_sent(tmp_path, sb, run_cli):
    source = write_rows(tmp_path / "rows.csv", 20)
    (tmp_path / "taken").write_text("not a folder")
    code, err = run_cli(source, "--api-url", sb.base_url, "--results", tmp_path / "taken/r.csv")
    assert code == 2
    assert err == (
        "error: cannot write the run's files (r.csv, rows.manifest.json, rows.created.csv): "
        f"{tmp_path / 'taken'} is not a folder; nothing was sent: choose another folder with "
        "--out-dir DIR\n"
    )
    assert sb.stats()["requests"] == 0


def test_ledger_volume_full_mid_run_stops_with_one_message_then_resumes(
    tmp_path, sb, run_cli, monkeypatch
):
    needs_root()
    n = 1000
    source = write_rows(tmp_path / "rows.csv", n)
    sb.set_faults(Faults(latency_ms=20))  # answers take as long as a real API's
    with volume(tmp_path / "vol", size=LEDGER_VOLUME) as vol:
        monkeypatch.setenv("KEEN_IMPORT_DATA_DIR", str(vol))  # the ledger lives there
        ledger = vol / "sandbox-ledger.sqlite"
        args = [
            source,
            "--api-url",
            sb.base_url,
            "--concurrency",
            8,
            "--results",
            tmp_path / "r.csv",
        ]
        code, err = run_cli(*args)
        assert code == 2
        stopped = STOPPED.fullmatch(err)
        assert stopped, err
        assert stopped["ledger"] == str(ledger)
        created = int(stopped["created"].replace(",", ""))
        # The disk fills at a claim (nothing in flight is lost) or at an answer (the answers
        # that could not be written are unconfirmed: those of the failed commit, and the
        # requests in flight, which their workers sent before the commit was tried: at most
        # two a worker; see importer.ledger.sendlog).
        unconfirmed = int(stopped["unconfirmed"] or 0)
        assert 0 < created < n and 0 <= unconfirmed <= 2 * 8
        # Every request went out with its mark kept and came back: the sandbox holds
        # exactly the rows recorded as created plus the ones whose answer could not be
        # written, none twice.
        purchases = purchases_by_row(sb.purchases(), n)
        assert len(purchases) == created + unconfirmed
        assert all(len(found) == 1 for found in purchases.values())
        subprocess.run(["mount", "-o", "remount,size=16m", str(vol)], check=True)
        with Ledger.open(LedgerLocation(path=ledger)):
            pass  # the ledger opens again once there is room
        # No lock is left (the process ended). The import's sending log stays when its end
        # could not be written: the next run folds it in; until then its rows count as sending.
        left = list((vol / "sandbox-ledger.sqlite.locks").iterdir())
        assert len(left) <= 1 and all(p.suffix == ".sending" for p in left), left
        logged = SendingLog(left[0]).ids() if left else set()
        with sqlite3.connect(ledger) as db:
            rows = db.execute("SELECT id, status FROM purchases").fetchall()
            [(state,)] = db.execute("SELECT state FROM imports")
        kept = Counter("sending" if s == "claimed" and i in logged else s for i, s in rows)
        # The rows never sent are claimed (the full ledger could not release them), not_sent
        # (a smaller result that still got in) or not claimed yet (claims go a batch at a
        # time): either way the next run may send them. The import could not be marked ended:
        # the next run finds it dead by its lock.
        never_sent = kept.pop("claimed", 0) + kept.pop("not_sent", 0)
        assert never_sent <= n - created - unconfirmed
        assert kept == Counter({"created": created, "sending": unconfirmed}), kept
        assert state in ("running", "stopped")  # "stopped" when the end still fitted in

        code, err = run_cli(*args)  # the same command, with space freed
        assert code == (1 if unconfirmed else 0), err  # unconfirmed rows are never sent twice
        results = results_by_row(tmp_path / "r.csv")
        with sqlite3.connect(ledger) as db:
            states = [s for (s,) in db.execute("SELECT state FROM imports ORDER BY id")]
        assert states == ["stopped", "finished"]
    assert statuses(results) == Counter({"created": n - unconfirmed, "unconfirmed": unconfirmed})
    purchases = purchases_by_row(sb.purchases(), n)
    assert len(purchases) == n and all(len(found) == 1 for found in purchases.values())
    for row, result in results.items():
        if result["status"] == "created":
            assert purchases[row][0]["id"] == result["purchase_id"]


def test_a_ledger_full_at_the_claim_stops_the_run_before_anything_is_sent(
    tmp_path, sb, run_cli, monkeypatch
):
    """The claim of a chunk is the ledger's biggest write: a full disk there (injected) must
    stop the run with one message, not a traceback, and send nothing."""
    source = write_rows(tmp_path / "rows.csv", 6)

    def full(self, candidates):
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(Ledger, "claim", full)
    code, err = run_cli(source, "--api-url", sb.base_url)
    assert code == 2, err
    assert err.startswith("error: ")
    ledger = Path(os.environ["KEEN_IMPORT_DATA_DIR"]) / "sandbox-ledger.sqlite"
    assert f"{ledger}: database or disk is full" in err
    assert sb.stats()["create_calls"] == 0


def test_results_file_that_cannot_be_written_stops_then_resumes(tmp_path, sb, monkeypatch):
    """A results file that fails (injected: no space) after every row was sent and recorded."""
    from importer.report.results import ResultsWriter

    n = 12
    source = write_rows(tmp_path / "rows.csv", n)

    def no_space(self, *args, **kwargs):
        raise OSError(28, "No space left on device")

    with monkeypatch.context() as patch:
        patch.setattr(ResultsWriter, "write", no_space)
        with pytest.raises(Exception) as stopped:
            run_import(source, api_key=DEMO_API_KEY, api_url=sb.base_url, concurrency=4)
    assert stopped.value.exit_code == 2
    assert str(stopped.value) == (
        f"could not write the results file {tmp_path / 'rows.results.csv'}: No space left on "
        f"device. Sending stopped: {n} rows were created and recorded in this run. Free some "
        "space (or choose another folder with --out-dir DIR) and run the same command again: it "
        "resumes where this run stopped and sends nothing twice."
    )
    assert not (tmp_path / "rows.results.csv").exists()
    assert sb.stats()["create_calls"] == n
    report = run_import(source, api_key=DEMO_API_KEY, api_url=sb.base_url, concurrency=4)
    assert report.exit_code == 0 and report.sent_this_run == 0
    results = results_by_row(tmp_path / "rows.results.csv")
    assert statuses(results) == Counter({"created": n})
    assert sb.stats()["create_calls"] == n
    assert sorted(p["purchase_amount"] for p in sb.purchases()) == sorted(
        amount_of(i) for i in range(n)
    )
