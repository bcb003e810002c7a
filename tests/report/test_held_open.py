"""Files another program holds open (Excel locks what it opens): the run's files go beside them.

The lock is simulated as Windows shows it: replacing the file, or opening it for writing, raises
PermissionError; reading it still works.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest
from runhelpers import SAMPLE, read_csv, statuses

from importer.report import publish as publishing
from importer.report.publish import collecting_held_open, is_held_open, publish

MARCH = SAMPLE / "purchases_march_2026.csv"
MARCH_ROWS = 24


class Excel:
    """Holds files open the way Excel on Windows does."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch):
        self.held: set[Path] = set()
        self.attempts: dict[Path, int] = {}
        self.release_after: dict[Path, int] = {}
        real_replace, real_open = os.replace, os.open

        def replace(src, dst, *args, **kwargs):
            target = Path(dst).absolute()
            self.attempts[target] = self.attempts.get(target, 0) + 1
            if self.attempts[target] > self.release_after.get(target, 10**6):
                self.held.discard(target)
            if target in self.held:
                raise PermissionError(13, "The process cannot access the file", str(dst))
            return real_replace(src, dst, *args, **kwargs)

        def open_(path, flags, *args, **kwargs):
            writing = flags & (os.O_WRONLY | os.O_RDWR)
            if writing and Path(path).absolute() in self.held:
                raise PermissionError(13, "The process cannot access the file", str(path))
            return real_open(path, flags, *args, **kwargs)

        monkeypatch.setattr(os, "replace", replace)
        monkeypatch.setattr(os, "open", open_)
        monkeypatch.setattr(publishing, "RETRY_WAITS", (0.01, 0.01, 0.01))

    def opens(self, *paths: Path) -> None:
        for path in paths:
            path.write_text("what the user looks at\n", encoding="utf-8")
            self.held.add(path.absolute())


@pytest.fixture
def excel(monkeypatch):
    return Excel(monkeypatch)


@pytest.fixture
def opened_after_the_check(monkeypatch, excel):
    """The user opens files in Excel after the pre-send check passed (while rows are sent)."""
    from importer.job import run
    from importer.report.writable import check_writable

    later: list[Path] = []

    def check_then_open(paths):
        check_writable(paths)
        excel.opens(*later)

    monkeypatch.setattr(run, "check_writable", check_then_open)
    return later


def finished(tmp_path: Path, text: str) -> Path:
    tmp = tmp_path / ".new.tmp"
    tmp.write_text(text, encoding="utf-8")
    return tmp


def test_a_free_file_is_replaced_under_its_own_name(tmp_path, excel):
    target = tmp_path / "march.results.csv"
    target.write_text("old", encoding="utf-8")
    with collecting_held_open() as held:
        assert publish(finished(tmp_path, "new"), target) == target
    assert target.read_text(encoding="utf-8") == "new"
    assert held.messages() == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["march.results.csv"]


def test_a_held_file_gets_its_content_beside_it_and_one_line_says_so(tmp_path, excel):
    target = tmp_path / "march.results.csv"
    excel.opens(target)
    with collecting_held_open() as held:
        written = publish(finished(tmp_path, "new"), target)
    assert written == tmp_path / "march.results (2).csv"
    assert written.read_text(encoding="utf-8") == "new"
    assert target.read_text(encoding="utf-8") == "what the user looks at\n"
    assert excel.attempts[target.absolute()] == 4  # three waits, then beside it
    assert held.where(target) == written
    assert held.messages() == [
        "march.results.csv is open in another program (Excel?): wrote march.results (2).csv; "
        "close it and run again to update it"
    ]


def test_a_lock_let_go_within_the_retries_keeps_the_usual_name(tmp_path, excel):
    target = tmp_path / "march.results.csv"
    excel.opens(target)
    excel.release_after[target.absolute()] = 2
    with collecting_held_open() as held:
        assert publish(finished(tmp_path, "new"), target) == target
    assert target.read_text(encoding="utf-8") == "new"
    assert held.messages() == []


def test_the_next_free_number_is_taken_when_the_copy_is_open_too(tmp_path, excel):
    target = tmp_path / "march.created.csv"
    excel.opens(target, tmp_path / "march.created (2).csv")
    assert publish(finished(tmp_path, "new"), target) == tmp_path / "march.created (3).csv"
    assert (tmp_path / "march.created (3).csv").read_text(encoding="utf-8") == "new"


def test_a_folder_that_refuses_is_an_error_not_a_copy(tmp_path, monkeypatch):
    def refuse(src, dst):
        raise PermissionError(13, "Permission denied", str(dst))

    target = tmp_path / "march.results.csv"
    target.write_text("old", encoding="utf-8")
    tmp = finished(tmp_path, "new")
    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(PermissionError):
        publish(tmp, target)
    assert sorted(p.name for p in tmp_path.iterdir()) == [".new.tmp", "march.results.csv"]


def test_is_held_open_never_creates_the_file(tmp_path, excel):
    missing = tmp_path / "none.csv"
    assert is_held_open(missing) is False
    assert not missing.exists()
    excel.opens(tmp_path / "held.csv")
    assert is_held_open(tmp_path / "held.csv") is True


# -- through the command line ------------------------------------------------------------------


def march_in(tmp_path: Path) -> Path:
    return Path(shutil.copy(MARCH, tmp_path / "march.csv"))


def test_validate_writes_beside_a_results_file_open_in_excel(tmp_path, excel, cli):
    source = march_in(tmp_path)
    excel.opens(tmp_path / "march.results.csv")
    code, err = cli("validate", source)
    assert code == 0
    beside = tmp_path / "march.results (2).csv"
    assert (
        "march.results.csv is open in another program (Excel?): wrote march.results (2).csv; "
        "close it and run again to update it"
    ) in err
    assert f"results: {beside}" in err
    assert statuses({i: r for i, r in enumerate(read_csv(beside))}) == {"valid": MARCH_ROWS}


def test_run_refuses_before_sending_when_a_results_file_is_open(tmp_path, excel, run_cli, sb):
    source = march_in(tmp_path)
    excel.opens(tmp_path / "march.created.csv")
    code, err = run_cli(source, "--api-url", sb.base_url, "--yes")
    assert code == 2
    assert err.splitlines()[-1] == (
        "error: march.created.csv is open in another program (Excel?) or read-only: close it "
        "in Excel (or choose another folder with --out-dir DIR) and run the same command "
        "again; nothing was sent"
    )
    assert sb.purchases() == []


def test_run_whose_results_file_is_opened_meanwhile_loses_nothing_and_a_rerun_updates_it(
    tmp_path, excel, opened_after_the_check, run_cli, sb
):
    source = march_in(tmp_path)
    usual = tmp_path / "march.results.csv"
    opened_after_the_check.append(usual)
    code, err = run_cli(source, "--api-url", sb.base_url, "--yes")
    assert code == 0
    beside = tmp_path / "march.results (2).csv"
    assert (
        "march.results.csv is open in another program (Excel?): wrote march.results (2).csv; "
        "close it and run again to update it"
    ) in err.splitlines()
    assert f"results: {beside}" in err
    assert statuses({i: r for i, r in enumerate(read_csv(beside))}) == {"created": MARCH_ROWS}
    assert len(read_csv(tmp_path / "march.created.csv")) == MARCH_ROWS
    assert usual.read_text(encoding="utf-8") == "what the user looks at\n"
    assert len(sb.purchases()) == MARCH_ROWS

    excel.held.clear()  # closed in Excel
    opened_after_the_check.clear()
    code, err = run_cli(source, "--api-url", sb.base_url, "--yes")
    assert code == 0
    assert "is open in another program" not in err
    assert f"results: {usual}" in err
    assert statuses({i: r for i, r in enumerate(read_csv(usual))}) == {"created": MARCH_ROWS}
    assert len(sb.purchases()) == MARCH_ROWS  # nothing sent twice


def test_created_list_and_manifest_opened_meanwhile_go_beside_them(
    tmp_path, opened_after_the_check, run_cli, sb
):
    source = march_in(tmp_path)
    opened_after_the_check += [tmp_path / "march.created.csv", tmp_path / "march.manifest.json"]
    code, err = run_cli(source, "--api-url", sb.base_url, "--yes")
    assert code == 0
    lines = err.splitlines()
    for usual, beside in (
        ("march.created.csv", "march.created (2).csv"),
        ("march.manifest.json", "march.manifest (2).json"),
    ):
        assert (
            f"{usual} is open in another program (Excel?): wrote {beside}; close it and run "
            "again to update it"
        ) in lines
    created = tmp_path / "march.created (2).csv"
    assert f"created purchases (for a reversal request): {created}" in lines
    assert len(read_csv(tmp_path / "march.created (2).csv")) == MARCH_ROWS
    assert '"exit_code": 0' in (tmp_path / "march.manifest (2).json").read_text(encoding="utf-8")


def test_a_corrected_copy_open_in_excel_is_saved_beside_it(tmp_path, excel):
    from importer import open_import

    source = march_in(tmp_path)
    job = open_import(source)
    job.check()
    job.edit(2, "Amount", "250.00")
    usual = tmp_path / "march.corrected.csv"
    excel.opens(usual)
    with collecting_held_open() as held:
        written = job.save_corrected()
    assert written == tmp_path / "march.corrected (2).csv"
    assert held.where(usual) == written
    assert read_csv(written)[0]["Amount"] == "250.00"


def test_template_and_ledger_export_open_in_excel_are_written_beside_them(
    tmp_path, excel, cli, run_cli, sb, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    excel.opens(tmp_path / "purchases_template.xlsx", tmp_path / "created.csv")
    code, err = cli("template", "--format", "xlsx")
    assert code == 0
    assert err == [
        "purchases_template.xlsx is open in another program (Excel?): wrote "
        "purchases_template (2).xlsx; close it and run again to update it",
        "wrote purchases_template (2).xlsx",
    ]
    assert (tmp_path / "purchases_template (2).xlsx").read_bytes()[:2] == b"PK"

    assert run_cli(march_in(tmp_path), "--api-url", sb.base_url, "--yes")[0] == 0
    assert cli("ledger", "export", "--ledger", str(sandbox_ledger()))[0] == 0
    assert len(read_csv(tmp_path / "created (2).csv")) == MARCH_ROWS


def sandbox_ledger() -> Path:
    from importer.ledger.location import data_dir

    return data_dir() / "sandbox-ledger.sqlite"


def test_temporary_files_of_killed_runs_are_removed_once_stale(tmp_path):
    from importer.report.publish import STALE_AFTER, temporary_beside

    target = tmp_path / "march [1].results.csv"
    stale = tmp_path / ".march [1].results.csv.4242.tmp"
    live = tmp_path / ".march [1].results.csv.4343.tmp"
    other = tmp_path / ".april.results.csv.4242.tmp"
    for leftover in (stale, live, other):
        leftover.write_text("half a file", encoding="utf-8")
    old = time.time() - STALE_AFTER - 60
    for leftover in (stale, other):
        os.utime(leftover, (old, old))
    assert temporary_beside(target) == tmp_path / f".march [1].results.csv.{os.getpid()}.tmp"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([live.name, other.name])
