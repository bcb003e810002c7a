"""``keen-import ledger`` reading: ``export``, the purchases created in Keen for month-end
reconciliation by purchase date (in a workbook, amounts are numbers and dates are dates: SUM
works); ``list`` names the sandbox's own ledger; no read makes a ledger where there is none."""

from __future__ import annotations

import datetime as dt

import openpyxl
from runhelpers import USD_LEADS, read_csv

from importer.cli import main
from importer.ledger import ledger_location

HEADER = "Lead ID,Amount,Date,Reference\n"


def imported(tmp_path, sb, monkeypatch) -> str:
    """Two purchases of February and three of March, created in the sandbox; the ledger."""
    monkeypatch.setenv("KEEN_API_KEY", sb.api_key)
    rows = [("2026-02-27", "10.50"), ("2026-02-28", "20"), ("2026-03-01", "1,500.00"),
            ("2026-03-15", "99.5"), ("2026-03-31", "0.25")]  # fmt: skip
    source = tmp_path / "sales.csv"
    source.write_text(
        HEADER + "".join(f'{USD_LEADS[0]},"{a}",{d},INV-{i}\n' for i, (d, a) in enumerate(rows))
    )
    assert main(["run", str(source), "--api-url", sb.base_url, "--yes"]) == 0
    return str(ledger_location(sandbox=True).path)  # runs to this machine keep their own


def export(ledger: str, *args: str) -> int:
    return main(["ledger", "export", "--ledger", ledger, *args])


def test_a_month_as_a_workbook_of_numbers_and_dates(tmp_path, sb, monkeypatch, capsys):
    ledger = imported(tmp_path, sb, monkeypatch)
    out = tmp_path / "march.xlsx"
    assert export(ledger, "--period", "2026-03", "--output", str(out)) == 0
    assert (
        f"wrote 3 purchases created in Keen dated 2026-03 (UTC) to {out}" in capsys.readouterr().out
    )
    sheet = openpyxl.load_workbook(out).active
    rows = list(sheet.iter_rows(values_only=True))
    header = rows[0]
    at = {name: header.index(name) for name in ("purchase_date", "amount", "reference", "row")}
    assert [(r[at["purchase_date"]], r[at["amount"]], r[at["reference"]], r[at["row"]])
            for r in rows[1:]] == [
        (dt.datetime(2026, 3, 1), 1500.0, "INV-2", 4),
        (dt.datetime(2026, 3, 15), 99.5, "INV-3", 5),
        (dt.datetime(2026, 3, 31), 0.25, "INV-4", 6),
    ]  # fmt: skip


def test_months_as_csv_and_a_period_that_is_no_month(tmp_path, sb, monkeypatch, capsys):
    ledger = imported(tmp_path, sb, monkeypatch)
    out = tmp_path / "q1.csv"
    assert export(ledger, "--period", "2026-01..2026-02", "--output", str(out)) == 0
    assert [(r["purchase_date"], r["amount"]) for r in read_csv(out)] == [
        ("2026-02-27T00:00:00Z", "10.50"),
        ("2026-02-28T00:00:00Z", "20.00"),
    ]
    capsys.readouterr()
    assert export(ledger, "--period", "2026-13", "--output", str(tmp_path / "x.csv")) == 2
    err = capsys.readouterr().err
    assert "error: --period '2026-13' is not a month (YYYY-MM) or a range" in err
    assert not (tmp_path / "x.csv").exists()


def test_months_are_counted_in_the_zone_the_run_read_its_dates_in(tmp_path, sb, monkeypatch):
    """1 April in Copenhagen is 31 March 22:00 UTC: with --timezone the April list has it, as
    the run's --period 2026-04 --timezone Europe/Copenhagen took it."""
    monkeypatch.setenv("KEEN_API_KEY", sb.api_key)
    source = tmp_path / "april.csv"
    source.write_text(HEADER + f"{USD_LEADS[0]},1000.00,2026-04-01,DK-1\n")
    zone = ("--timezone", "Europe/Copenhagen")
    assert main(["run", str(source), "--api-url", sb.base_url, "--yes", "--period", "2026-04",
                 *zone]) == 0  # fmt: skip
    ledger = str(ledger_location(sandbox=True).path)
    local, utc = tmp_path / "local.csv", tmp_path / "utc.csv"
    assert export(ledger, "--period", "2026-04", *zone, "--output", str(local)) == 0
    assert export(ledger, "--period", "2026-04", "--output", str(utc)) == 0
    assert [r["purchase_date"] for r in read_csv(local)] == ["2026-03-31T22:00:00Z"]
    assert read_csv(utc) == []
    assert export(ledger, "--timezone", "Mars/Olympus", "--output", str(utc)) == 2


def test_purchases_sent_without_an_answer_are_named_beside_the_list(
    tmp_path, sb, monkeypatch, capsys
):
    from importer.sandbox import Faults

    monkeypatch.setenv("KEEN_API_KEY", sb.api_key)
    source = tmp_path / "march.csv"
    source.write_text(HEADER + f"{USD_LEADS[0]},250.00,2026-03-02,U-1\n")
    sb.set_faults(Faults(p_commit_then_500=1.0))
    assert main(["run", str(source), "--api-url", sb.base_url, "--yes", "--max-retries", "0"]) == 1
    sb.set_faults(Faults())
    capsys.readouterr()
    out = tmp_path / "march-created.csv"
    assert export(str(ledger_location(sandbox=True).path), "--period", "2026-03",
                  "--output", str(out)) == 0  # fmt: skip
    assert capsys.readouterr().out.splitlines() == [
        f"wrote 0 purchases created in Keen dated 2026-03 (UTC) to {out}",
        "not in the list: 1 purchase dated 2026-03 (UTC) sent with no answer (unconfirmed, "
        "250.00): they may exist in Keen; look them up there (keen-import ledger list shows "
        "their imports)",
    ]
    assert len(sb.purchases()) == 1


def test_the_sandbox_ledger_is_named_and_a_missing_ledger_is_never_made(
    tmp_path, sb, monkeypatch, capsys
):
    missing = tmp_path / "typo" / "ledger.sqlite"
    assert main(["ledger", "--ledger", str(missing), "list"]) == 2
    err = capsys.readouterr().err
    assert f"error: there is no ledger at {missing}" in err
    assert not missing.parent.exists()  # read commands make no ledger
    imported(tmp_path, sb, monkeypatch)  # into the sandbox (a server on this machine)
    capsys.readouterr()
    assert main(["ledger", "list"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[1:] == [
        "the runs into a Keen on this machine (the sandbox, a local server) have a ledger "
        "of their own: keen-import ledger "
        "--sandbox list"
    ]
    assert main(["ledger", "--sandbox", "list"]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert listed[0].endswith("sandbox-ledger.sqlite (1 imports)")
    assert "sales.csv" in listed[1] and "created 5" in listed[1]


def test_list_leaves_out_the_reruns_that_sent_nothing(tmp_path, sb, monkeypatch, capsys):
    """A backfill run again every day leaves an import of no purchases per file and day."""
    ledger = imported(tmp_path, sb, monkeypatch)
    source = str(tmp_path / "sales.csv")
    for _ in range(2):
        assert main(["run", source, "--api-url", sb.base_url, "--yes"]) == 0
    capsys.readouterr()
    assert main(["ledger", "--ledger", ledger, "list"]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert listed[0].endswith("sandbox-ledger.sqlite (3 imports)")
    assert len(listed) == 3 and "created 5" in listed[1]
    assert listed[2] == "(2 imports of no purchases not shown: --all shows them)"
    assert main(["ledger", "--ledger", ledger, "list", "--all"]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert len(listed) == 4 and listed[2].endswith("no purchases")
