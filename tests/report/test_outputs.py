"""Every output name comes from OutputNames: the CLI, the job API and the web app agree."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from runhelpers import SAMPLE

from importer.report.outputs import OutputNames, is_output_name


@pytest.mark.parametrize(
    ("name", "kind", "results", "corrected"),
    [
        ("march.csv", "csv", "march.results.csv", "march.corrected.csv"),
        ("march.txt", "csv", "march.results.csv", "march.corrected.txt"),
        ("q1 2026.xlsx", "xlsx", "q1 2026.results.xlsx", "q1 2026.corrected.xlsx"),
        ("q1.xlsm", "xlsx", "q1.results.xlsx", "q1.corrected.xlsx"),  # xlsxwriter writes .xlsx
        ("big.xlsb", "xlsb", "big.results.xlsx", "big.corrected.xlsx"),
        ("calc.ods", "ods", "calc.results.xlsx", "calc.corrected.xlsx"),
        ("legacy.xls", "xls", "legacy.results.xlsx", "legacy.corrected.xlsx"),
    ],
)
def test_names_beside_the_input(tmp_path, name, kind, results, corrected):
    source = tmp_path / name
    names = OutputNames.beside(source, kind)
    stem = source.stem
    assert names.results == tmp_path / results
    assert names.manifest == tmp_path / f"{stem}.manifest.json"
    assert names.created == tmp_path / f"{stem}.created.csv"
    assert names.corrected(source, kind) == tmp_path / corrected
    assert names.run_files(dry_run=True) == [names.results, names.manifest]
    assert names.run_files(dry_run=False) == [names.results, names.manifest, names.created]
    assert all(is_output_name(p) for p in [names.results, names.manifest, names.created])
    assert not is_output_name(source)


def test_a_chosen_results_file_keeps_the_others_named_after_the_input(tmp_path):
    names = OutputNames.around(tmp_path / "out" / "checked.xlsx", tmp_path / "march.csv")
    assert names.manifest == tmp_path / "out" / "march.manifest.json"
    assert names.created == tmp_path / "out" / "march.created.csv"
    assert OutputNames.beside(tmp_path / "march.csv", "csv", tmp_path / "o").results == (
        tmp_path / "o" / "march.results.csv"
    )


def test_the_cli_writes_exactly_the_names_of_the_job(tmp_path, run_cli, sb):
    import importer

    source = Path(shutil.copy(SAMPLE / "purchases_march_2026.csv", tmp_path / "march.csv"))
    assert run_cli(source, "--api-url", sb.base_url, "--yes")[0] == 0
    names = importer.open_import(source).output_names
    written = sorted(p for p in tmp_path.iterdir() if p != source)
    assert written == sorted(names.run_files(dry_run=False))


@pytest.mark.parametrize(
    ("name", "written"),
    [
        ("2026-03.results (2).csv", True),  # written beside a results file open in Excel
        ("2026-03.created (3).csv", True),
        ("2026-03.RESULTS.xlsx", True),
        ("2026-03 results.csv", False),
        ("results (2).csv", False),
        ("march (1).csv", False),
    ],
)
def test_names_the_writer_uses_beside_a_file_held_open_are_its_own(name, written):
    assert is_output_name(Path(name)) is written
