"""Large-file paths: the column parser's plain-form passes and the two-process validate.

The two-process pass must give exactly the verdicts, totals and bytes of a single-process pass,
whatever the helper does: duplicates across and within its chunks, invalid rows, a helper that
dies or reads the file differently.
"""

from __future__ import annotations

import os
import sys
from decimal import Decimal

import pytest
from conftest import LEAD_1, LEAD_2, LEAD_3, write_csv

import importer.job.split as parallel
from importer.check.columns import MISSING, ColumnParser
from importer.check.normalise import CANONICAL_UUID, PLAIN_POINT_AMOUNT, parse_amount, parse_uuid
from importer.check.summary import Summary
from importer.job.validate import validate

# The two-process pass forks: Linux only (elsewhere one process judges the file, as tested by
# tests/windows/).
pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="the two-process split runs on Linux only"
)

# --- ColumnParser: all plain, mostly plain, messy ---------------------------------------------


def amount_parser(limit: int = 100_000) -> ColumnParser:
    return ColumnParser(
        lambda v: parse_amount(v, decimal=".", allow_precision=False),
        (PLAIN_POINT_AMOUNT, Decimal),
        limit,
    )


def test_all_plain_column_converts_every_cell():
    parsed, unusual, failures = amount_parser().run(["10", "2.5", "10", "0.99"])
    assert parsed == [Decimal("10"), Decimal("2.5"), Decimal("10"), Decimal("0.99")]
    assert unusual == set() and failures == {}


def test_mostly_plain_column_parses_only_the_unusual_cells():
    values = [str(i) for i in range(40)]
    values[3] = "$1,500.00"
    values[17] = "12,5O"
    values[30] = ""
    parsed, unusual, failures = amount_parser().run(values)
    assert parsed[3] == Decimal("1500.00")
    assert parsed[17] is MISSING
    assert parsed[30] is None
    assert parsed[0] == Decimal("0") and parsed[39] == Decimal("39")
    assert unusual == {"$1,500.00", "12,5O", ""}
    assert list(failures) == ["12,5O"] and "letter O" in failures["12,5O"]


def test_messy_column_takes_the_distinct_value_path():
    values = ["$1.00", "$2.00", "3", "$1.00", "bad"]
    parsed, unusual, failures = amount_parser().run(values)
    assert parsed == [Decimal("1.00"), Decimal("2.00"), Decimal("3"), Decimal("1.00"), MISSING]
    assert unusual == {"$1.00", "$2.00", "bad"}
    assert list(failures) == ["bad"]


def test_a_cell_holding_the_join_separator_is_not_taken_for_two_plain_cells():
    parsed, unusual, failures = amount_parser().run(["1\x1f2", "3"])
    assert parsed[0] is MISSING and parsed[1] == Decimal("3")
    assert "1\x1f2" in failures


def test_uuid_column_keeps_canonical_cells_and_normalises_the_rest():
    parser = ColumnParser(lambda v: parse_uuid(v, field="lead_id"), (CANONICAL_UUID, str))
    values = [LEAD_1] * 20 + ["{" + LEAD_2.upper() + "}", LEAD_3]
    parsed, unusual, _ = parser.run(values)
    assert parsed == [LEAD_1] * 20 + [LEAD_2, LEAD_3]
    assert unusual == {"{" + LEAD_2.upper() + "}"}


@pytest.mark.parametrize("seed", range(20))
def test_plain_and_unusual_cells_match_a_cell_by_cell_parse(seed):
    """Random columns mixing plain amounts with unusual cells in every position."""
    import random

    rng = random.Random(seed)
    odd = ["", " ", "12.345", "1.2.3", "$5.00", "7,5", "-3", "1234567890123456", "x", "10."]
    values = [
        rng.choice(odd) if rng.random() < 0.08 else f"{rng.randint(0, 9999)}.{rng.randint(0, 99)}"
        for _ in range(rng.randint(1, 60))
    ]
    if seed % 3 == 0:
        values[0] = rng.choice(odd)
    if seed % 4 == 0:
        values[-1] = rng.choice(odd)
    parser, reference = amount_parser(), amount_parser()
    parsed, _, failures = parser.run(values)
    expected = []
    for value in values:
        if not value.strip():
            expected.append(None)
            continue
        try:
            expected.append(reference.parse(value))
        except ValueError:
            expected.append(MISSING)
    assert parsed == expected
    assert set(failures) == {v for v, e in zip(values, expected, strict=True) if e is MISSING}


def test_cache_limit_is_respected_on_every_path():
    parser = amount_parser(limit=2)
    for values in (["$1.00", "$2.00", "$3.00"], ["4", "$5.00"] + ["6"] * 20):
        parser.run(values)
        assert len(parser.values) <= 3 + 2  # trimmed before each run, then this run's values


# --- the two-process pass -----------------------------------------------------------------------

HEADER = "Lead ID,Amount,Invoice date,Invoice number,Notes"


def big_file(tmp_path, name: str = "big.csv"):
    """60 rows in chunks of 5: duplicates and invoice lines inside and across chunks, errors,
    blanks, a report line."""
    leads = [LEAD_1, LEAD_2, LEAD_3]
    lines = [HEADER]
    # row index -> the earlier row whose whole purchase it repeats
    copies = {7: 2, 33: 2, 13: 11, 41: 36}  # parent's row; helper's, same chunk; earlier chunk
    for i in range(60):
        j = copies.get(i, i)
        reference = f"INV-{j:03d}"
        amount = f"{100 + j}.50"
        if i == 47:
            reference = "INV-046"  # another line of the invoice of the row before
        if i == 20:
            amount = '"12,5O"'
        if i == 25:
            amount = '"$1,500.00"'
        note = '"says ""hi"", twice"' if i % 11 == 0 else "=cmd()" if i == 45 else ""
        lines.append(f"{leads[j % 3]},{amount},2026-03-{1 + j % 28:02d},{reference},{note}")
        if i == 50:
            lines.append("")  # a blank line is counted, never reported
    lines.append("Total,9999.00,,,")
    return write_csv(tmp_path / name, "\r\n".join(lines) + "\r\n")


class OddChunksToTheHelper(parallel.Claims):
    """The helper judges the odd chunks, whatever the timing (so tests know which)."""

    def parent_takes(self, index: int) -> bool:
        return index % 2 == 0

    def helper_takes(self, index: int) -> bool:
        return index % 2 == 1


@pytest.fixture
def split_everything(monkeypatch):
    monkeypatch.setattr(parallel, "MIN_SPLIT_BYTES", 0)
    monkeypatch.setattr(parallel, "CHUNK_ROWS", 5)
    monkeypatch.setattr(parallel, "Claims", OddChunksToTheHelper)


def single_process(path, results):
    before = parallel.MIN_SPLIT_BYTES
    parallel.MIN_SPLIT_BYTES = 1 << 62
    try:
        return validate(path, results=results)
    finally:
        parallel.MIN_SPLIT_BYTES = before


def test_split_pass_gives_the_single_process_bytes_and_totals(tmp_path, split_everything):
    path = big_file(tmp_path)
    alone = single_process(path, tmp_path / "alone.csv")
    split = validate(path, results=tmp_path / "split.csv")

    assert (tmp_path / "split.csv").read_bytes() == (tmp_path / "alone.csv").read_bytes()
    assert split.summary.as_dict() == alone.summary.as_dict()
    assert split.summary.count("skipped") == 5  # four duplicates and the Total report line
    assert split.summary.count("invalid") == 1
    assert split.summary.count("valid") == 55
    assert split.summary.blank_rows == 1
    assert split.summary.report_lines == 1
    text = (tmp_path / "split.csv").read_text(encoding="utf-8-sig")
    assert text.count("duplicate of row 4 (every field repeats)") == 2  # INV-002 is on row 4
    assert text.count("same reference as row 48 (another line of the same invoice?)") == 1
    assert "same reference as row 49" not in text  # only the later line is warned
    assert "'=cmd()" in text


def test_claims_leave_the_next_chunks_to_the_parent_and_never_give_one_chunk_twice():
    import multiprocessing

    claims = parallel.Claims(multiprocessing.get_context("fork"), 20)
    lead = parallel.Claims.LEAD
    assert claims.parent_takes(0) is True
    assert [claims.helper_takes(i) for i in range(lead + 2)] == [False] * lead + [True, True]
    assert claims.parent_takes(1) is True  # passed over by the helper: the parent's
    assert claims.parent_takes(lead) is False  # the helper's
    ahead = 2 * lead + 1  # far enough ahead of the parent, now on chunk ``lead``
    assert claims.helper_takes(ahead) is True and claims.helper_takes(ahead) is False
    assert claims.helper_takes(2 * lead - 1) is False  # too close to the parent's
    assert claims.parent_takes(22) is True  # past the end of the table: the parent's
    assert claims.helper_takes(22) is False


def test_split_pass_with_claims_settled_as_it_goes_gives_the_single_process_bytes(
    tmp_path, monkeypatch
):
    monkeypatch.setattr(parallel, "MIN_SPLIT_BYTES", 0)
    monkeypatch.setattr(parallel, "CHUNK_ROWS", 3)
    path = big_file(tmp_path)
    alone = single_process(path, tmp_path / "alone.csv")
    for attempt in range(3):
        split = validate(path, results=tmp_path / f"split{attempt}.csv")
        assert (tmp_path / f"split{attempt}.csv").read_bytes() == (
            tmp_path / "alone.csv"
        ).read_bytes()
        assert split.summary.as_dict() == alone.summary.as_dict()


def test_split_pass_uses_the_helper(tmp_path, split_everything, monkeypatch):
    taken = []
    real_take = parallel._take

    def counting_take(item, *args):
        accepted = real_take(item, *args)
        taken.append((item[0].index, accepted))
        return accepted

    monkeypatch.setattr(parallel, "_take", counting_take)
    validate(big_file(tmp_path), results=tmp_path / "r.csv")
    # 13 chunks of 5 records; the helper judges the odd ones. Chunk 1 (row 9 repeats row 4)
    # holds a repeat of an earlier row the helper could not see, chunk 9 two lines of one
    # invoice (rows 48 and 49): the parent reads and judges those itself; the others are
    # taken as sent.
    assert taken[-6:] == [(1, False), (3, True), (5, True), (7, True), (9, False), (11, True)]


def test_a_line_break_inside_a_parents_record_makes_the_parent_judge_the_rest(
    tmp_path, split_everything, monkeypatch
):
    """The helper passes over the parent's chunks as one line per record; a quoted line break
    there puts its chunks on the wrong line, and the parent must notice."""
    path = big_file(tmp_path)
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace('"says ""hi"", twice"', '"says\r\n""hi"", twice"', 1))
    alone = single_process(path, tmp_path / "alone.csv")
    taken = []
    real_take = parallel._take
    monkeypatch.setattr(
        parallel, "_take", lambda item, *a: taken.append(item) or real_take(item, *a)
    )

    split = validate(path, results=tmp_path / "split.csv")

    assert (tmp_path / "split.csv").read_bytes() == (tmp_path / "alone.csv").read_bytes()
    assert split.summary.as_dict() == alone.summary.as_dict()
    assert split.summary.count("valid") == 55
    assert taken == []  # chunk 1 starts a line later than the helper thought: none is taken
    assert b'says\r\n""hi"", twice' in (tmp_path / "split.csv").read_bytes()


def test_split_pass_manifest_holds_the_file_hash(tmp_path, split_everything):
    import hashlib
    import json

    path = big_file(tmp_path)
    report = validate(path, results=tmp_path / "r.csv")
    manifest = json.loads((tmp_path / "big.manifest.json").read_text())
    assert manifest["input"]["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert report.summary.count("valid") == 55


def dying_helper(table, validator, writer, conn, size, claims):
    conn.close()
    os._exit(3)


def half_helper(table, validator, writer, conn, size, claims):
    """Sends its first chunk, then dies."""
    real_send = conn.send
    sent = []

    def send_once(obj):
        if sent:
            os._exit(4)
        sent.append(obj)
        real_send(obj)

    conn.send = send_once
    parallel._helper(table, validator, writer, conn, size, claims)


def tampering_helper(field: str, value, nth: int = 1):
    """A helper whose ``nth`` message carries a wrong ``field``."""

    def helper(table, validator, writer, conn, size, claims):
        real_send = conn.send
        state = {"sent": 0}

        def send(obj):
            if isinstance(obj, parallel._Judged):
                state["sent"] += 1
                if state["sent"] == nth:
                    setattr(obj, field, value)
            real_send(obj)

        conn.send = send
        parallel._helper(table, validator, writer, conn, size, claims)

    return helper


misaligned_helper = tampering_helper("first_row", 10_000)  # read the file differently


@pytest.mark.parametrize("helper", [dying_helper, half_helper, misaligned_helper])
def test_a_failing_helper_changes_nothing(tmp_path, split_everything, monkeypatch, helper):
    path = big_file(tmp_path)
    alone = single_process(path, tmp_path / "alone.csv")
    real = parallel.judge_split
    monkeypatch.setattr(
        "importer.job.checking.judge_split", lambda *a, **k: real(*a, helper=helper, **k)
    )
    split = validate(path, results=tmp_path / "split.csv")

    assert (tmp_path / "split.csv").read_bytes() == (tmp_path / "alone.csv").read_bytes()
    assert split.summary.as_dict() == alone.summary.as_dict()


def test_a_file_changed_between_the_two_readings_stops_with_a_clear_error(
    tmp_path, split_everything, monkeypatch
):
    from importer.errors import InputFileError

    real = parallel.judge_split
    lying = tampering_helper("text_hash", 12345, nth=2)  # chunk 1 holds a repeat: read anyway
    monkeypatch.setattr(
        "importer.job.checking.judge_split", lambda *a, **k: real(*a, helper=lying, **k)
    )
    with pytest.raises(InputFileError, match="big.csv changed while it was being read"):
        validate(big_file(tmp_path), results=tmp_path / "r.csv")
    assert not (tmp_path / "r.csv").exists()


def test_summary_merge_adds_rows_amounts_and_dates():
    import datetime as dt

    one, two = Summary(), Summary()
    one.add_many(["valid", "invalid"], [Decimal("1.10"), None], ["USD", None])
    one.see_date(dt.datetime(2026, 3, 2, tzinfo=dt.UTC))
    two.add_many(["valid"], [Decimal("2.05")], ["EUR"])
    two.blank_rows = 2
    two.see_date(dt.datetime(2026, 3, 9, tzinfo=dt.UTC))
    one.merge(two)
    assert one.as_dict() == {
        "blank_rows": 2,
        "report_lines": 0,
        "report_lines_amount": "0",
        "hidden_rows": 0,
        "null_cells": 0,
        "empty_trigger_rows": 0,
        "first_date": "2026-03-02T00:00:00+00:00",
        "last_date": "2026-03-09T00:00:00+00:00",
        "in_file": {"rows": 3, "amounts": {"EUR": "2.05", "USD": "1.10"}},
        "by_status": {
            "invalid": {"rows": 1, "amounts": {}},
            "valid": {"rows": 2, "amounts": {"EUR": "2.05", "USD": "1.10"}},
        },
        "reconciles": True,
    }


def test_small_and_xlsx_files_are_not_split(tmp_path):
    from importer.job.validate import prepare

    path = big_file(tmp_path)
    table = prepare(path).table
    assert parallel.can_split(table, tmp_path / "r.csv") is False  # far below 16 MB
    assert parallel.can_split(table, tmp_path / "r.xlsx") is False


SLEEPY_PARENT = """
import os, sys, time
sys.path.insert(0, {tests!r})
import importer.job.split as parallel
from importer.job.validate import validate

def sleepy(table, validator, writer, conn, size, claims):
    print(os.getpid(), flush=True)
    time.sleep(60)

parallel.MIN_SPLIT_BYTES = 0
parallel.CHUNK_ROWS = 5
real = parallel.judge_split
import importer.job.checking as api
api.judge_split = lambda *a, **k: real(*a, helper=sleepy, **k)
validate({path!r}, results={results!r})
"""


def test_the_helper_does_not_outlive_its_parent(tmp_path):
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    path = big_file(tmp_path)
    script = SLEEPY_PARENT.format(
        tests=str(Path(__file__).resolve().parents[1]),
        path=str(path),
        results=str(tmp_path / "r.csv"),
    )
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    helper = int(parent.stdout.readline())
    assert os.path.exists(f"/proc/{helper}")
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{helper}/stat") as handle:
                state = handle.read().rsplit(")", 1)[1].split()[0]
        except OSError:
            break  # gone
        if state == "Z":
            break  # dead, waiting to be reaped by init
        time.sleep(0.05)
    else:
        os.kill(helper, signal.SIGKILL)
        pytest.fail("the helper outlived its parent")


def _index_facts(index):
    return (
        bytes(index.codes),
        list(index.offsets),
        list(index.run_starts),
        list(index.run_rows),
        dict(index.warnings),
        index.end,
    )


@pytest.mark.parametrize("claims", ["odd chunks", "as they go"])
def test_the_row_index_built_while_writing_is_the_one_read_from_the_file(
    tmp_path, monkeypatch, claims
):
    """Rows judged by either process are indexed as they are written: the index is exactly the
    one a scan of the results file gives, and pages read through it are exact."""
    import importer
    from importer.job.rowindex import scan_results

    monkeypatch.setattr(parallel, "MIN_SPLIT_BYTES", 0)
    monkeypatch.setattr(parallel, "CHUNK_ROWS", 5)
    if claims == "odd chunks":
        monkeypatch.setattr(parallel, "Claims", OddChunksToTheHelper)
    path = big_file(tmp_path)
    taken = []
    real_take = parallel._take

    def counting_take(item, *args):
        taken.append(item)
        return real_take(item, *args)

    monkeypatch.setattr(parallel, "_take", counting_take)
    job = importer.open_import(path)
    job.check()

    built = job._store.index
    assert _index_facts(built) == _index_facts(scan_results(job.results_path, job.table.headers))
    assert len(built) == 61 and built.codes.count(1) == 1  # 61 rows; one invalid
    assert (list(built.run_starts), list(built.run_rows)) == ([0, 51], [2, 54])  # the blank line
    skipped = job.rows(status="skipped")
    assert [r.row for r in skipped.rows] == [9, 15, 35, 43, 63]
    assert [r.row for r in job.rows(offset=48, limit=4).rows] == [50, 51, 52, 54]
    if claims == "odd chunks":  # chunks judged by the helper came with their index facts
        assert len(taken) >= 6 and all(item[0].facts is not None for item in taken)


QUIET_CLI = """
import sys, time
import importer.job.checking as api
import importer.job.split as parallel
from importer.cli import main

def slow_to_exit(*args):
    parallel._helper(*args)
    time.sleep(0.5)  # still alive after its last message, as after hashing a large file

parallel.MIN_SPLIT_BYTES = 0
parallel.CHUNK_ROWS = 5
real = parallel.judge_split
api.judge_split = lambda *a, **k: real(*a, helper=slow_to_exit, **k)
sys.exit(main(["validate", {path!r}, "--results", {results!r}]))
"""


def test_a_split_validate_ends_without_a_word_from_its_helper(tmp_path):
    """The CLI turns SIGTERM into KeyboardInterrupt; a helper stopped while it exits must not
    print that traceback under the summary."""
    import subprocess
    import sys

    path = big_file(tmp_path)
    for attempt in range(2):
        results = tmp_path / f"r{attempt}.csv"
        script = QUIET_CLI.format(path=str(path), results=str(results))
        done = subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 1, done.stderr  # one invalid row
        assert "Traceback" not in done.stderr and "KeyboardInterrupt" not in done.stderr
        assert results.is_file()


@pytest.mark.parametrize("split", [True, False], ids=["two processes", "one process"])
def test_the_row_index_counts_bytes_not_characters(tmp_path, monkeypatch, split):
    """Cells outside ASCII take more bytes than characters: the offsets of the index must land
    on the rows they name (pages read through it show the right cells)."""
    import importer
    from importer.job.rowindex import scan_results

    monkeypatch.setattr(parallel, "MIN_SPLIT_BYTES", 0 if split else 1 << 62)
    monkeypatch.setattr(parallel, "CHUNK_ROWS", 5)
    monkeypatch.setattr(parallel, "Claims", OddChunksToTheHelper)
    notes = ["Café crème", "Zürich ✓", "日本の顧客", "plain", '"Ünïcödé", quoted']
    lines = ["Lead ID,Amount,Invoice date,Invoice number,Notes"]
    for i in range(70):
        note = notes[i % len(notes)]
        cell = '"' + note.replace('"', '""') + '"' if "," in note or '"' in note else note
        lines.append(f"{LEAD_1},{10 + i}.00,2026-03-02,INV-{i:03d},{cell}")
    path = write_csv(tmp_path / "intl.csv", "\r\n".join(lines) + "\r\n")
    job = importer.open_import(path)
    job.check()

    built = job._store.index
    assert _index_facts(built) == _index_facts(scan_results(job.results_path, job.table.headers))
    assert len(built.offsets) == 3  # rows 0, 32 and 64 of 70
    page = job.rows(offset=31, limit=36)
    assert [r.row for r in page.rows] == list(range(33, 69))
    assert [r.cells["Notes"] for r in page.rows] == [notes[i % 5] for i in range(31, 67)]
    assert [r.cells["Invoice number"] for r in job.rows(search="zürich").rows][:2] == [
        "INV-001",
        "INV-006",
    ]


FORMATS = {
    "crlf": {},
    "lf": {"newline": "\n"},
    "cr": {"newline": "\r"},
    "bom": {"bom": True},
    "excel sep line": {"sep_line": True},
    "title rows": {"titles": True},
    "semicolons": {"delimiter": ";"},
    "cp1252": {"encoding": "cp1252"},
    "line break in an early quoted cell": {"quoted_newline_at": 2},
    "line break in a late quoted cell": {"quoted_newline_at": 40},
}


def formatted_file(tmp_path, name, *, encoding="utf-8", newline="\r\n", delimiter=",", **how):
    lines = [f"sep={delimiter}"] if how.get("sep_line") else []
    lines += ["Purchases March", ""] if how.get("titles") else []
    lines.append(delimiter.join(["Lead ID", "Amount", "Date", "Reference", "Note"]))
    point = "," if delimiter == ";" else "."
    for i in range(57):
        note = '"two\nlines"' if how.get("quoted_newline_at") == i else "Café" if i % 3 else "x"
        cells = [LEAD_1, f"{100 + i}{point}50", f"2026-03-{1 + i % 28:02d}", f"R-{i}", note]
        lines.append(delimiter.join(cells))
    data = (newline.join(lines) + newline).encode(encoding)
    path = tmp_path / f"{name}.csv"
    path.write_bytes((b"\xef\xbb\xbf" if how.get("bom") else b"") + data)
    return path


@pytest.mark.parametrize("name", FORMATS)
def test_split_pass_reads_every_csv_form_as_one_process_does(tmp_path, split_everything, name):
    path = formatted_file(tmp_path, name.replace(" ", "-"), **FORMATS[name])
    alone = single_process(path, tmp_path / "alone.csv")
    split = validate(path, results=tmp_path / "split.csv")

    assert (tmp_path / "split.csv").read_bytes() == (tmp_path / "alone.csv").read_bytes()
    assert split.summary.as_dict() == alone.summary.as_dict()
    assert split.summary.count("valid") == 57
