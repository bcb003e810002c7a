"""The duplicate rule as one object: its verdicts, whatever the chunk size."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest
from conftest import LEAD_1, LEAD_2, check_file, write_csv

from importer.check.duplicates import DuplicateRule, Repeat, copy_of, same_reference
from importer.read import loader

#: Rows 2..10 of a file: (reference, lead, amount, date).
ROWS = [
    ("INV-1", LEAD_1, Decimal("10.00"), "2026-03-01"),  # 2
    ("INV-2", LEAD_2, Decimal("20.00"), "2026-03-01"),  # 3
    ("inv-1", LEAD_1, Decimal("10.00"), "2026-03-01"),  # 4: copy of 2 (references fold case)
    ("INV-1", LEAD_1, Decimal("15.00"), "2026-03-01"),  # 5: another line of INV-1
    (None, LEAD_2, Decimal("30.00"), "2026-03-02"),  # 6: no reference
    (None, LEAD_2, Decimal("30.00"), "2026-03-02"),  # 7: copy of 6 (the whole purchase)
    (None, LEAD_2, Decimal("30.00"), "2026-03-03"),  # 8: another day: another purchase
    ("INV-1", LEAD_1, Decimal("15.00"), "2026-03-01"),  # 9: copy of 5
    ("INV-2", LEAD_2, Decimal("20.00"), "2026-03-01"),  # 10: copy of 3
]
EXPECTED = [
    (4, copy_of(2), True),
    (5, same_reference(2), False),
    (7, copy_of(6), True),
    (9, copy_of(5), True),
    (10, copy_of(3), True),
]


def judge_in_chunks(rule: DuplicateRule, rows: list[tuple], size: int) -> list[tuple]:
    """Every verdict of ``rule`` on ``rows`` (rows 2..) fed ``size`` rows at a time."""
    found = []
    for start in range(0, len(rows), size):
        chunk = rows[start : start + size]
        columns = {
            "reference": [r[0] for r in chunk],
            "lead_id": [r[1] for r in chunk],
            "purchase_amount": [r[2] for r in chunk],
            "date": [r[3] for r in chunk],
        }
        numbers = np.arange(start + 2, start + 2 + len(chunk), dtype=np.int32)
        keys = rule.row_keys(len(chunk), columns.get)
        for repeat in rule.judge(keys, numbers, range(len(chunk))):
            found.append((int(numbers[repeat.index]), repeat.reason, repeat.skip))
    return sorted(found)


@pytest.mark.parametrize("size", [1, 2, 3, 4, len(ROWS)])
def test_verdicts_do_not_depend_on_the_chunk_size(size):
    rule = DuplicateRule(["reference", "lead_id", "purchase_amount", "date"])
    assert judge_in_chunks(rule, ROWS, size) == EXPECTED
    assert rule.occurrences == {}


@pytest.mark.parametrize("size", [1, 2, len(ROWS)])
def test_repeats_on_purpose_are_counted_across_chunks(size):
    rule = DuplicateRule(["reference", "lead_id", "purchase_amount", "date"], allow_duplicates=True)
    found = judge_in_chunks(rule, ROWS, size)
    assert [(row, skip) for row, _, skip in found] == [(r, False) for r, *_ in EXPECTED]
    assert found[0][1] == "same purchase as row 2"
    assert rule.occurrences == {4: 1, 7: 1, 9: 1, 10: 1}


def test_invalid_rows_are_neither_judged_nor_remembered():
    rule = DuplicateRule(["reference", "purchase_amount"])
    columns = {"reference": ["A", "A", "A"], "purchase_amount": [1, 1, 1]}
    keys = rule.row_keys(3, columns.get)
    rows = np.array([2, 3, 4], dtype=np.int32)
    assert rule.judge(keys, rows, [0, 2]) == [Repeat(2, copy_of(2), skip=True)]
    later = rule.row_keys(1, {"reference": ["A"], "purchase_amount": [1]}.get)
    assert rule.judge(later, np.array([9], dtype=np.int32), [0]) == [
        Repeat(0, copy_of(2), skip=True)
    ]


def test_a_lead_alone_is_no_evidence_of_a_copy():
    assert DuplicateRule(["lead_id", "product_id"]).applies is False
    assert DuplicateRule(["lead_id", "date"]).applies is True


def test_the_legacy_lead_id_stands_in_for_a_missing_lead_uuid():
    rule = DuplicateRule(["lead_id", "legacy_lead_id", "purchase_amount"])
    columns = {
        "lead_id": [LEAD_1, None, None],
        "legacy_lead_id": [None, "L-7", "L-7"],
        "purchase_amount": [5, 5, 5],
    }
    keys = rule.row_keys(3, columns.get)
    found = rule.judge(keys, np.array([2, 3, 4], dtype=np.int32), range(3))
    assert found == [Repeat(2, copy_of(3), skip=True)]


def test_a_file_checked_two_rows_at_a_time_gives_the_same_verdicts(tmp_path, monkeypatch):
    lines = ["Reference,Lead ID,Amount,Date"]
    lines += [f"INV-{i},{LEAD_1},{10 + i}.00,2026-03-{1 + i % 28:02d}" for i in range(30)]
    lines.append(f"INV-3,{LEAD_1},13.00,2026-03-04")  # row 32: copy of row 5
    lines.append(f"INV-4,{LEAD_1},99.00,2026-03-05")  # row 33: another line of INV-4 (row 6)
    path = write_csv(tmp_path / "f.csv", "\r\n".join(lines) + "\r\n")
    whole = [(r[0], r[1], r[2], r[3]) for r in check_file(path)]
    monkeypatch.setattr(loader.Table.chunks, "__defaults__", (2,))
    assert [(r[0], r[1], r[2], r[3]) for r in check_file(path)] == whole
    assert whole[30] == (32, "skipped", copy_of(5), [])
    assert whole[31] == (33, "valid", None, [same_reference(6)])
    assert [row for row, status, *_ in whole if status != "valid"] == [32]
