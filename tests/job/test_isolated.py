"""A check in a forked child (the web app's): the same files, totals and row index as in the
calling process, and a child that fails is replaced by the caller."""

from __future__ import annotations

import os

import pytest
from conftest import LEAD_1, LEAD_2, write_csv

import importer
import importer.job.isolated as isolated


def test_run_forked_returns_what_the_child_computed():
    done, pid = isolated.run_forked(os.getpid)
    assert done is True and isinstance(pid, int) and pid != os.getpid()


@pytest.mark.parametrize("how", ["raises", "exits"])
def test_a_failing_child_is_reported_not_raised(how):
    def work():
        if how == "raises":
            raise RuntimeError("boom")
        os._exit(3)

    assert isolated.run_forked(work) == (False, None)


def purchases(tmp_path):
    lines = ["Lead ID,Amount,Invoice date,Invoice number"]
    for i in range(40):
        lead = "not-a-lead" if i == 7 else (LEAD_1 if i % 2 else LEAD_2)
        lines.append(f"{lead},{100 + i}.50,2026-03-{1 + i % 28:02d},INV-{i % 38:03d}")
    return write_csv(tmp_path / "p.csv", "\r\n".join(lines) + "\r\n")


def _facts(job, report):
    index = job._store.index
    return (
        report.summary.as_dict(),
        report.exit_code,
        bytes(index.codes),
        list(index.offsets),
        [(r.row, r.status, r.error) for r in job.rows(limit=100).rows],
    )


def test_an_isolated_check_gives_what_a_check_here_gives(tmp_path, monkeypatch):
    path = purchases(tmp_path)
    here = importer.open_import(path, out_dir=tmp_path / "here")
    here_report = here.check()
    pids = tmp_path / "pids"
    real = importer.job.importjob.check_all

    def recording(*args, **kwargs):
        with open(pids, "a") as handle:
            handle.write(f"{os.getpid()}\n")
        return real(*args, **kwargs)

    monkeypatch.setattr(isolated, "MIN_ISOLATED_BYTES", 0)
    monkeypatch.setattr(importer.job.importjob, "check_all", recording)
    away = importer.open_import(path, out_dir=tmp_path / "away")
    away_report = away.check(isolated=True)

    assert [int(p) for p in pids.read_text().split()] != [os.getpid()]  # judged in a child
    assert _facts(away, away_report) == _facts(here, here_report)
    assert away_report.summary.count("invalid") == 1
    assert away.rows(warning="same reference").total == 2  # rows 3 and 41: later invoice lines
    here_bytes = (tmp_path / "here" / "p.results.csv").read_bytes()
    assert (tmp_path / "away" / "p.results.csv").read_bytes() == here_bytes
    fixed = away.edit(9, "Lead ID", LEAD_1)  # the index the child built serves edits too
    assert (fixed.row, fixed.status) == (9, "valid")
    assert away.rows(status="invalid").total == 0


def test_a_child_that_dies_is_replaced_by_the_caller(tmp_path, monkeypatch):
    path = purchases(tmp_path)
    here = importer.open_import(path, out_dir=tmp_path / "here")
    here_report = here.check()
    parent = os.getpid()
    real = importer.job.importjob.check_all

    def dying_in_the_child(*args, **kwargs):
        if os.getpid() != parent:
            os._exit(9)
        return real(*args, **kwargs)

    monkeypatch.setattr(isolated, "MIN_ISOLATED_BYTES", 0)
    monkeypatch.setattr(importer.job.importjob, "check_all", dying_in_the_child)
    away = importer.open_import(path, out_dir=tmp_path / "away")
    away_report = away.check(isolated=True)

    assert _facts(away, away_report) == _facts(here, here_report)


def test_small_files_and_progress_callbacks_stay_in_the_caller(tmp_path, monkeypatch):
    path = purchases(tmp_path)
    forked = []
    monkeypatch.setattr(
        importer.job.importjob, "run_forked", lambda work: forked.append(work) or (False, None)
    )
    job = importer.open_import(path, out_dir=tmp_path / "out")
    job.check(isolated=True)  # far below 16 MB
    monkeypatch.setattr(isolated, "MIN_ISOLATED_BYTES", 0)
    job.check(isolated=True, on_progress=lambda *a: None)  # progress needs this process
    assert forked == []
    job.check(isolated=True)
    assert len(forked) == 1
