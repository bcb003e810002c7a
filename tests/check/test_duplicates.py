"""The compact duplicate register: lookups across many merged runs, negative keys, empties."""

from __future__ import annotations

import random

from importer.check.duplicates import SeenRows


def test_first_rows_across_many_runs_match_a_dict():
    rng = random.Random(7)
    register, reference = SeenRows(), {}
    row = 2
    for size in [5, 1, 40, 3, 3, 200, 17, 0, 64, 9] * 3:
        keys = []
        while len(keys) < size:
            key = rng.randint(-(2**63), 2**63 - 1)
            if key not in reference and key not in keys:
                keys.append(key)
        rows = list(range(row, row + size))
        row += size
        register.add(keys, rows)
        reference.update(zip(keys, rows, strict=True))
    assert len(register) == len(reference) == 1026
    probe = list(reference)[::7] + [0, 1, -1, 2**63 - 1, -(2**63)]
    expected = [reference.get(k, -1) for k in probe]
    assert register.first_rows(probe).tolist() == expected
    assert register.any_seen(probe[:1]) is True


def test_many_chunks_of_keys_stay_exact():
    rng = random.Random(11)
    register = SeenRows()
    keys = list({rng.randint(-(2**63), 2**63 - 1) for _ in range(300_000)})
    rng.shuffle(keys)
    for start in range(0, len(keys), 10_000):
        register.add(keys[start : start + 10_000], range(start + 2, start + 10_002))
    probe = keys[::997] + [5, 6]
    where = {k: i + 2 for i, k in enumerate(keys)}
    assert register.first_rows(probe).tolist() == [where[k] for k in probe[:-2]] + [-1, -1]
    assert len(register) == len(keys)


def test_empty_register_and_unknown_keys():
    register = SeenRows()
    assert register.any_seen([1, 2, 3]) is False
    assert register.first_rows([1, 2]).tolist() == [-1, -1]
    register.add([], [])
    register.add([10, -5], [2, 3])
    assert register.first_rows([-5, 10, 11]).tolist() == [3, 2, -1]
    assert register.any_seen([11, 12]) is False
    assert register.any_seen([12, 10]) is True
