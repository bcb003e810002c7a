"""The copies of the field registry kept in the repository agree with it: the import templates
in templates/ are the ones ``keen-import template`` writes, and the field lists of the README
and the example mapping file name every field, in order. Adding a field to importer/fields.py
makes these fail until the copies are written again."""

from __future__ import annotations

import re
from pathlib import Path

import openpyxl
import pytest

from importer.records import FIELDS
from importer.report.templates import write_template

ROOT = Path(__file__).resolve().parents[2]
COMMITTED = ROOT / "templates"


def _cells(path: Path) -> dict[str, list[list[object]]]:
    book = openpyxl.load_workbook(path)
    return {sheet.title: [[c.value for c in row] for row in sheet.iter_rows()] for sheet in book}


def test_the_committed_csv_template_is_the_one_the_command_writes(tmp_path):
    written = write_template(tmp_path / "purchases_template.csv", "csv")
    assert (COMMITTED / "purchases_template.csv").read_bytes() == written.read_bytes()


def test_the_committed_xlsx_template_is_the_one_the_command_writes(tmp_path):
    written = write_template(tmp_path / "purchases_template.xlsx", "xlsx")
    assert _cells(COMMITTED / "purchases_template.xlsx") == _cells(written)


def _listed_fields(text: str) -> list[str]:
    return re.findall(r"[a-z_]+", re.sub(r"\s*#\s*", " ", text))


@pytest.mark.parametrize(
    ("path", "pattern"),
    [
        pytest.param("README.md", r"Fields: `([^`]+)`", id="readme"),
        pytest.param(
            "templates/mapping.example.toml", r"# Fields: (.+?)\n\n", id="mapping-example"
        ),
    ],
)
def test_the_field_lists_of_the_docs_name_every_field_in_order(path, pattern):
    text = (ROOT / path).read_text(encoding="utf-8")
    listed = re.search(pattern, text, re.S)
    assert listed is not None, f"{path}: no field list"
    assert _listed_fields(listed[1]) == list(FIELDS)
