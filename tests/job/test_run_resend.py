"""Edited rows: a row an earlier run created, whose content changed since, is not sent twice.

Real HTTP against the sandbox (one Sandbox per test, kept across the runs of that test, so
duplicates would be visible in its store). Runs go through ``importer.cli.main`` in-process.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

from runhelpers import USD_LEADS, read_csv, results_by_row

from importer.job.oneshot import run_import

HEADER = "Lead ID,Total,Subtotal,Date,Product\n"
LINES = [
    f"{USD_LEADS[0]},100.00,90.00,2026-03-01,Pro plan\n",
    f"{USD_LEADS[1]},200.00,180.00,2026-03-02,Pro plan\n",
    f"{USD_LEADS[2]},300.00,270.00,2026-03-03,Pro plan\n",
    f"{USD_LEADS[3]},400.00,360.00,2026-03-04,Pro plan\n",
]
NEW_LINE = f"{USD_LEADS[4]},500.00,450.00,2026-03-05,Pro plan\n"
TOTALS = ["100.00", "200.00", "300.00", "400.00"]
SUBTOTALS = ["90.00", "180.00", "270.00", "360.00"]


def write_file(path: Path, lines: list[str]) -> Path:
    path.write_text(HEADER + "".join(lines), encoding="utf-8")
    return path


def target(sb) -> list[str]:
    return ["--api-url", sb.base_url, "--yes"]


def stored_amounts(sb) -> list[str]:
    return sorted(p["purchase_amount"] for p in sb.purchases())


def created_list(out: Path) -> list[tuple[str, str, str]]:
    """(row, purchase_id, amount) of every line of the created list."""
    return [(r["row"], r["purchase_id"], r["purchase_amount"]) for r in read_csv(out)]


def test_edited_rows_are_held_until_resend_changed(tmp_path, sb, run_cli):
    source = write_file(tmp_path / "shre.csv", LINES)
    out = tmp_path / "out"
    code, _ = run_cli(source, *target(sb), "--out-dir", out)
    assert code == 0
    first = results_by_row(out / "shre.results.csv")
    first_ids = {row: first[row]["purchase_id"] for row in range(2, 6)}
    assert stored_amounts(sb) == sorted(TOTALS)
    first_list = [(str(row), first_ids[row], TOTALS[row - 2]) for row in range(2, 6)]
    assert created_list(out / "shre.created.csv") == first_list

    # The same file with the other amount column: every row changed, nothing is sent.
    subtotal = ["--map", "purchase_amount=Subtotal"]
    code, err = run_cli(source, *target(sb), "--out-dir", out, *subtotal)
    assert code == 1
    assert len(sb.purchases()) == 4
    second = results_by_row(out / "shre.results.csv")
    for row in range(2, 6):
        pid = first_ids[row]
        assert second[row]["status"] == "not_sent"
        assert second[row]["purchase_id"] == ""
        assert second[row]["error"] == (
            f"row {row} was already created as purchase {pid} by an earlier run with amount "
            f"{TOTALS[row - 2]} (now {SUBTOTALS[row - 2]}); Keen cannot change a purchase: "
            f"ask Keen to reverse {pid}, then send the new content with --resend-changed"
        )
    assert (
        "4 rows were already created by an earlier run with other content: not sent (Keen "
        "cannot change a purchase; ask Keen to reverse the earlier purchase, then run with "
        "--resend-changed)"
    ) in err
    assert "nothing to send" not in err
    assert created_list(out / "shre.created.csv") == first_list  # still there for the reversal

    # A dry run counts them the same way.
    code, err = run_cli(source, *target(sb), "--out-dir", out, *subtotal, "--dry-run")
    assert code == 1
    assert "4 rows were already created by an earlier run with other content" in err
    dry = results_by_row(out / "shre.results.csv")
    assert [dry[row]["status"] for row in range(2, 6)] == ["not_sent"] * 4
    assert len(sb.purchases()) == 4

    # Once Keen reversed them: --resend-changed sends the new content as new purchases.
    code, err = run_cli(source, *target(sb), "--out-dir", out, *subtotal, "--resend-changed")
    assert code == 0
    assert stored_amounts(sb) == sorted(TOTALS + SUBTOTALS)
    third = results_by_row(out / "shre.results.csv")
    new_ids = {row: third[row]["purchase_id"] for row in range(2, 6)}
    for row in range(2, 6):
        assert third[row]["status"] == "created"
        assert new_ids[row] not in first_ids.values()
        assert third[row]["warnings"] == (
            f"payload changed since an earlier run created purchase {first_ids[row]} for this "
            "row; sent as a new purchase"
        )
    manifest = json.loads((out / "shre.manifest.json").read_text())
    assert manifest["options"]["resend_changed"] is True
    new_list = [(str(row), new_ids[row], SUBTOTALS[row - 2]) for row in range(2, 6)]
    assert created_list(out / "shre.created.csv") == new_list + first_list

    # Run again: nothing more is sent, and the list still has all eight, each once.
    code, _ = run_cli(source, *target(sb), "--out-dir", out, *subtotal)
    assert code == 0
    assert len(sb.purchases()) == 8
    assert created_list(out / "shre.created.csv") == new_list + first_list


def test_row_inserted_at_the_top_sends_exactly_one_purchase(tmp_path, sb, run_cli):
    source = write_file(tmp_path / "shift.csv", LINES)
    out = tmp_path / "out"
    assert run_cli(source, *target(sb), "--out-dir", out)[0] == 0
    first = results_by_row(out / "shift.results.csv")
    first_ids = [first[row]["purchase_id"] for row in range(2, 6)]

    write_file(source, [NEW_LINE, *LINES])
    code, err = run_cli(source, *target(sb), "--out-dir", out)
    assert code == 0
    assert "already created by an earlier run with other content" not in err
    assert stored_amounts(sb) == sorted([*TOTALS, "500.00"])
    second = results_by_row(out / "shift.results.csv")
    assert second[2]["status"] == "created"
    assert second[2]["purchase_id"] not in first_ids
    for row in range(3, 7):  # the old rows, one further down: recognised, not sent again
        assert second[row]["status"] == "created"
        assert second[row]["purchase_id"] == first_ids[row - 3]
    listed = created_list(out / "shift.created.csv")
    assert listed[0] == ("2", second[2]["purchase_id"], "500.00")
    assert [pid for _, pid, _ in listed[1:5]] == first_ids
    assert len({pid for _, pid, _ in listed}) == len(listed) == 5


def test_job_api_resend_changed(tmp_path, sb):
    source = write_file(tmp_path / "api.csv", LINES)
    common = {"api_key": sb.api_key, "api_url": sb.base_url, "out_dir": tmp_path / "out"}
    assert run_import(source, **common).exit_code == 0
    changed = write_file(source, [LINES[0].replace("100.00", "110.00"), *LINES[1:]])
    held = run_import(changed, **common)
    assert held.exit_code == 1
    assert held.plan.edited_rows == 1
    # The edited row's amount is not sent either; with resend_changed it is.
    assert held.plan.not_sent_amounts["edited"] == {"": Decimal("110.00")}
    assert held.plan.amounts_sent() == {}  # nothing left to send: no "0.00" line
    assert held.summary.count("not_sent") == 1
    assert len(sb.purchases()) == 4
    sent = run_import(changed, resend_changed=True, **common)
    assert sent.exit_code == 0
    assert "edited" not in sent.plan.not_sent_amounts
    assert sent.sent_this_run == 1
    assert stored_amounts(sb) == sorted([*TOTALS, "110.00"])
