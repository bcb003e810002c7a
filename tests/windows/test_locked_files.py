"""Files Excel holds open, on a simulated Windows: found before anything is sent, or, when
opened meanwhile, the new content goes beside them and a rerun after closing updates them."""

from __future__ import annotations

import shutil

from runhelpers import (
    REPO,
    purchases_by_row,
    read_csv,
    results_by_row,
    statuses,
    wait_for,
    write_rows,
)

from importer.sandbox import DEMO_API_KEY, Faults, Sandbox
from windows.simulation import LockedFiles, run_windows, start_windows

MARCH = REPO / "sample_data" / "purchases_march_2026.csv"


def held_open_line(usual: str, beside: str) -> str:
    return (
        f"{usual} is open in another program (Excel?): wrote {beside}; close it and run again "
        "to update it"
    )


def test_validate_writes_beside_a_results_file_open_in_excel(tmp_path):
    shutil.copy(MARCH, tmp_path / "march.csv")
    (tmp_path / "march.results.csv").write_text("yesterday's results\n", encoding="utf-8")
    done = run_windows(["validate", "march.csv"], cwd=tmp_path, locked=["march.results.csv"])
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    err = done.stderr.splitlines()
    assert held_open_line("march.results.csv", "march.results (2).csv") in err
    assert err[-1] == "results: march.results (2).csv"
    assert statuses(results_by_row(tmp_path / "march.results (2).csv")) == {"valid": 24}
    assert (tmp_path / "march.results.csv").read_text(encoding="utf-8") == "yesterday's results\n"


def test_run_finds_the_lock_before_sending(tmp_path):
    shutil.copy(MARCH, tmp_path / "march.csv")
    (tmp_path / "march.results.csv").write_text("yesterday's results\n", encoding="utf-8")
    with Sandbox() as sb:
        done = run_windows(
            ["run", "march.csv", "--api-url", sb.base_url, "--yes"],
            cwd=tmp_path,
            env={"KEEN_API_KEY": DEMO_API_KEY},
            locked=["march.results.csv"],
        )
        assert sb.stats()["create_calls"] == 0
    assert done.returncode == 2, done.stderr
    assert done.stderr.splitlines()[-1] == (
        "error: march.results.csv is open in another program (Excel?) or read-only: close it "
        "in Excel (or choose another folder with --out-dir DIR) and run the same command "
        "again; nothing was sent"
    )


def test_results_opened_during_the_run_lose_nothing_and_a_rerun_updates_them(tmp_path):
    n = 120
    source = write_rows(tmp_path / "rows.csv", n)
    excel = LockedFiles(tmp_path / "excel-open.txt")
    usual = tmp_path / "rows.results.csv"
    usual.write_text("yesterday's results\n", encoding="utf-8")
    with Sandbox(faults=Faults(latency_ms=40)) as sb:
        command = ["run", source.name, "--api-url", sb.base_url, "--yes", "--concurrency", "4"]
        env = {"KEEN_API_KEY": DEMO_API_KEY}
        child = start_windows(command, cwd=tmp_path, env=env, locked=excel)
        try:
            wait_for(lambda: sb.stats()["purchases"] >= 10 or child.poll() is not None)
            excel.hold(usual)  # the user opens yesterday's results while rows are sent
            _, err = child.communicate(timeout=120)
        finally:
            child.kill()
        assert child.returncode == 0, err
        assert "Traceback" not in err
        beside = tmp_path / "rows.results (2).csv"
        assert held_open_line("rows.results.csv", "rows.results (2).csv") in err.splitlines()
        assert "results: rows.results (2).csv" in err.splitlines()
        assert statuses(results_by_row(beside)) == {"created": n}
        assert len(read_csv(tmp_path / "rows.created.csv")) == n
        assert usual.read_text(encoding="utf-8") == "yesterday's results\n"

        excel.release_all()  # closed in Excel: the same command again
        again = run_windows(command, cwd=tmp_path, env=env)
        assert again.returncode == 0, again.stderr
        assert "is open in another program" not in again.stderr
        assert statuses(results_by_row(usual)) == {"created": n}
        assert sb.stats()["create_calls"] == n  # nothing sent twice
        assert all(len(p) == 1 for p in purchases_by_row(sb.purchases(), n).values())
