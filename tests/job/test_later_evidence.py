"""A column the first chunk read one way, proved written both ways further down: its values
that read both ways are invalid wherever they are, as when the first chunk shows both. A row's
verdict never depends on which chunk it falls in (tests run with chunks of 2 rows)."""

from __future__ import annotations

import pytest
from conftest import LEAD_1, LEAD_2, write_csv
from runhelpers import read_csv

import importer.job.split as parallel
from importer.check import decisions
from importer.cli import main
from importer.job.validate import validate
from importer.read import loader

HEADER = "Lead ID,Amount,Date\r\n"


def csv(tmp_path, rows: list[tuple[str, str]], name: str = "march.csv"):
    lines = [f'{LEAD_1 if i % 2 else LEAD_2},"{amount}",{date}' for i, (amount, date) in
             enumerate(rows)]  # fmt: skip
    return write_csv(tmp_path / name, HEADER + "\r\n".join(lines) + "\r\n")


def verdicts(results) -> list[tuple[str, str]]:
    return [(r["status"], r["error"]) for r in read_csv(results)]


@pytest.fixture
def small_chunks(monkeypatch):
    """Chunks of 2 rows, the decision scan's included: it settles the columns on rows 1-2."""
    monkeypatch.setattr(loader.Table.chunks, "__defaults__", (2,))
    monkeypatch.setitem(decisions.scan_columns.__kwdefaults__, "chunk_size", 2)


DATES = [  # day-first in the first chunk; 05/03 read both ways; 04/23 only month-first
    ("10.00", "13/02/2026"),
    ("11.00", "14/02/2026"),
    ("12.00", "05/03/2026"),
    ("13.00", "20/03/2026"),
    ("14.00", "04/23/2026"),
]
BOTH_WAYS = (
    "date '05/03/2026' is ambiguous (5 March or 3 May 2026?) and this column is written both "
    "ways ('13/02/2026' can only be day-first, '04/23/2026' only month-first)"
)


def test_a_month_first_date_far_down_makes_the_ambiguous_dates_invalid(tmp_path, small_chunks):
    path = csv(tmp_path, DATES)
    report = validate(path, results=tmp_path / "out.csv")
    found = verdicts(tmp_path / "out.csv")
    assert [status for status, _ in found] == ["valid", "valid", "invalid", "valid", "valid"]
    assert found[2][1].startswith(BOTH_WAYS)
    assert report.summary.count("invalid") == 1
    # The same rows in one chunk give the same verdicts.
    one = csv(tmp_path, DATES, name="one.csv")
    loader.Table.chunks.__defaults__ = (25_000,)
    decisions.scan_columns.__kwdefaults__["chunk_size"] = 25_000
    validate(one, results=tmp_path / "one_out.csv")
    assert verdicts(tmp_path / "one_out.csv") == found


def test_validate_names_the_pair_that_proves_both_orders(tmp_path, small_chunks, capsys):
    rows = [("9.00", "15/02/2026"), *DATES]  # three day-first values in the first chunk
    loader.Table.chunks.__defaults__ = (3,)
    decisions.scan_columns.__kwdefaults__["chunk_size"] = 3
    assert main(["validate", str(csv(tmp_path, rows)), "--ledger", str(tmp_path / "l.sqlite")]) == 1
    assert (
        "dates written both ways ('15/02/2026' day-first, '04/23/2026' month-first): ambiguous "
        "dates are invalid"
    ) in capsys.readouterr().err


def test_the_run_sends_no_date_read_one_way_of_two(tmp_path, sb, small_chunks, monkeypatch):
    monkeypatch.setenv("KEEN_API_KEY", sb.api_key)
    path = csv(tmp_path, DATES)
    assert main(["run", str(path), "--api-url", sb.base_url, "--yes"]) == 1
    assert sorted(p["date"][:10] for p in sb.purchases()) == [
        "2026-02-13",
        "2026-02-14",
        "2026-03-20",
        "2026-04-23",
    ]
    found = verdicts(tmp_path / "march.results.csv")
    assert [status for status, _ in found] == [
        "created",
        "created",
        "invalid",
        "created",
        "created",
    ]
    assert found[2][1].startswith(BOTH_WAYS)


def test_an_amount_with_the_other_separator_far_down_makes_1_500_invalid(tmp_path, small_chunks):
    # Commas in the first chunk, points in most of the file: every value but 1.500 has one
    # reading, whatever the chunks.
    amounts = ["2,25", "3,10", "4.75", "5.10", "6.20", "7.30", "1.500"]
    rows = [(amount, f"2026-03-{i + 2:02d}") for i, amount in enumerate(amounts)]
    validate(csv(tmp_path, rows), results=tmp_path / "out.csv")
    found = verdicts(tmp_path / "out.csv")
    assert [status for status, _ in found] == ["valid"] * 6 + ["invalid"]
    assert found[6][1].startswith(
        "amount '1.500' is ambiguous (1500 or 1.5?) and this column is written with both "
        "decimal separators ('2,25' has a decimal comma, '4.75' a decimal point)"
    )
    loader.Table.chunks.__defaults__ = (25_000,)
    decisions.scan_columns.__kwdefaults__["chunk_size"] = 25_000
    validate(csv(tmp_path, rows, name="one.csv"), results=tmp_path / "one_out.csv")
    assert [s for s, _ in verdicts(tmp_path / "one_out.csv")] == ["valid"] * 6 + ["invalid"]


def test_the_two_process_pass_sees_the_evidence_its_helper_found(
    tmp_path, monkeypatch, small_chunks
):
    monkeypatch.setattr(parallel, "CHUNK_ROWS", 2)
    monkeypatch.setattr(parallel, "Claims", _OddChunksToTheHelper)
    rows = [DATES[0], DATES[1], DATES[4], DATES[3], DATES[2]]  # 04/23 in chunk 1: the helper's
    path = csv(tmp_path, rows)
    monkeypatch.setattr(parallel, "MIN_SPLIT_BYTES", 1 << 62)
    validate(path, results=tmp_path / "alone.csv")
    monkeypatch.setattr(parallel, "MIN_SPLIT_BYTES", 0)
    validate(path, results=tmp_path / "split.csv")
    assert (tmp_path / "split.csv").read_bytes() == (tmp_path / "alone.csv").read_bytes()
    found = verdicts(tmp_path / "split.csv")
    assert [status for status, _ in found] == ["valid", "valid", "valid", "valid", "invalid"]
    assert found[4][1].startswith(BOTH_WAYS)


class _OddChunksToTheHelper(parallel.Claims):
    """The helper judges the odd chunks, whatever the timing."""

    def parent_takes(self, index: int) -> bool:
        return index % 2 == 0

    def helper_takes(self, index: int) -> bool:
        return index % 2 == 1
