"""Shared helpers for the loader / mapping / validator / reconciler / validate-CLI tests."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import pytest

from importer.check.mapping import Mapping
from importer.check.validator import RowValidator
from importer.cli import main
from importer.job.validate import prepare

LEAD_1 = "47378190-96da-4dac-b2ff-5d2a386ecbe0"
LEAD_2 = "c241330b-01a9-471f-9e8a-774bcf36d58b"
LEAD_3 = "0b1f5a7e-3c2d-4e8f-9a6b-1c2d3e4f5a6b"
TRIGGER_1 = "aefcfad8-efc8-4849-b3aa-7efe4458a885"
TRIGGER_2 = "66778899-aabb-ccdd-eeff-001122334455"
PRODUCT_1 = "44332211-aabb-ccdd-eeff-001122334455"


def write_bytes(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def write_csv(path: Path, text: str, *, encoding: str = "utf-8") -> Path:
    """Write ``text`` exactly as given (no newline translation) in ``encoding``."""
    path.write_bytes(text.encode(encoding))
    return path


def write_xlsx(path: Path, sheets: dict[str, list[list[object]]], *, date_1904=False) -> Path:
    """Write a workbook with typed cells: str -> text, int/float -> number, datetime -> date
    (``date_1904``: in the 1904 date system, as Mac Excel may save)."""
    import xlsxwriter

    book = xlsxwriter.Workbook(str(path), {"date_1904": date_1904})
    date_format = book.add_format({"num_format": "yyyy-mm-dd"})
    datetime_format = book.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
    for name, rows in sheets.items():
        sheet = book.add_worksheet(name)
        for line, row in enumerate(rows):
            for col, value in enumerate(row):
                if value is None:
                    continue
                if isinstance(value, str):
                    sheet.write_string(line, col, value)
                elif isinstance(value, dt.datetime):
                    fmt = date_format if value.time() == dt.time() else datetime_format
                    sheet.write_datetime(line, col, value, fmt)
                else:
                    sheet.write_number(line, col, value)
    book.close()
    return path


def read_results_csv(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def check_file(path: Path, mapping: Mapping | None = None) -> list[tuple]:
    """Every data row of ``path`` as (row, status, error, warnings, record) with records built.

    The row rules are tested here, not the mapping: a file without an amount or a date column
    is checked as if --no-amount / --no-date were given (unless ``mapping`` says otherwise).
    """
    opt_out = Mapping(no_amount=True, no_date=True)
    prepared = prepare(path, opt_out.merged(mapping) if mapping else opt_out)
    validator = RowValidator(
        prepared.table.headers,
        prepared.columns,
        prepared.decisions,
        prepared.options,
        build_records=True,
    )
    out = []
    for chunk in prepared.table.chunks():
        checked = validator.check(chunk)
        for i, row in enumerate(chunk.rows):
            out.append(
                (
                    row,
                    str(checked.statuses[i]),
                    checked.errors.get(i),
                    checked.warnings.get(i, []),
                    checked.records[i],
                )
            )
    return out


@pytest.fixture
def cli(capsys):
    """Run ``keen-import ARGS`` in-process; returns (exit code, stderr lines)."""

    def run(*args: str) -> tuple[int, list[str]]:
        code = main([str(a) for a in args])
        captured = capsys.readouterr()
        assert "Traceback" not in captured.err
        return code, captured.err.splitlines()

    return run


@pytest.fixture
def sb():
    """A sandbox on a free loopback port, fresh for each test."""
    from importer.sandbox import Sandbox

    with Sandbox() as sandbox:
        yield sandbox


@pytest.fixture
def run_cli(capsys, monkeypatch):
    """``keen-import run ARGS`` in-process: (exit code, stderr); a traceback fails the test."""
    from importer.sandbox import DEMO_API_KEY

    def run(*args) -> tuple[int, str]:
        monkeypatch.setenv("KEEN_API_KEY", DEMO_API_KEY)
        code = main(["run", *map(str, args)])
        _, err = capsys.readouterr()
        assert "Traceback" not in err
        return code, err

    return run


@pytest.fixture(autouse=True)
def _private_ledger(tmp_path_factory, monkeypatch):
    """Each test has its own per-user data folder, so its own ledger: a test never finds the
    purchases of another, and no test writes the ledger of the person running the suite."""
    monkeypatch.setenv("KEEN_IMPORT_DATA_DIR", str(tmp_path_factory.mktemp("keen-data")))
    monkeypatch.delenv("KEEN_IMPORT_LEDGER", raising=False)
