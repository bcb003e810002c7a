"""End to end: what `run` sends (and never sends) for exports shaped like real ones."""

from __future__ import annotations

import pytest
from conftest import write_csv
from runhelpers import USD_LEADS

from importer.errors import ControlTotalError, MappingError
from importer.job.oneshot import run_import
from importer.sandbox import DEMO_API_KEY, Sandbox

LEAD_A, LEAD_B = USD_LEADS[0], USD_LEADS[1]


def sent(sandbox) -> list[tuple[str, str, str]]:
    """(lead, amount, description) of every purchase the sandbox stored, sorted."""
    return sorted(
        (p["lead_id"], str(p["purchase_amount"]), p.get("description") or "")
        for p in sandbox.purchases()
    )


def test_invoice_lines_and_report_lines_are_sent_as_the_user_means(tmp_path):
    """Xero-style lines with a customer subtotal and a grand total: two purchases for INV-1,
    one for INV-2, nothing for the report lines, the whole repeat skipped."""
    path = write_csv(
        tmp_path / "invoices.csv",
        "\r\n".join(
            [
                "Lead ID,InvoiceNumber,InvoiceDate,Description,LineAmount",
                f"{LEAD_A},INV-1,2026-03-02,Pro plan,1000.00",
                f"{LEAD_A},INV-1,2026-03-02,Onboarding,250.00",
                "Total Acme,,,,1250.00",
                f"{LEAD_B},INV-2,2026-03-03,Pro plan,1000.00",
                f"{LEAD_B},INV-2,2026-03-03,Pro plan,1000.00",
                "Total,,,,3250.00",
            ]
        )
        + "\r\n",
    )
    with Sandbox() as sandbox:
        report = run_import(
            path,
            api_key=DEMO_API_KEY,
            api_url=sandbox.base_url,
            expect_total="3250.00",  # the sum of the purchase rows, the repeat included
        )
        purchases = sent(sandbox)

    assert report.exit_code == 0
    assert purchases == sorted(
        [
            (LEAD_A, "1000.00", "Pro plan"),
            (LEAD_A, "250.00", "Onboarding"),
            (LEAD_B, "1000.00", "Pro plan"),
        ]
    )
    assert report.summary.count("created") == 3
    assert report.summary.count("skipped") == 3  # the repeat and two report lines
    assert report.summary.report_lines == 2


def test_run_stops_before_sending_when_the_total_line_does_not_match(tmp_path):
    path = write_csv(
        tmp_path / "report.csv",
        f"Lead ID,Date,Amount\r\n{LEAD_A},2026-03-02,100.00\r\nTotal,,120.00\r\n",
    )
    with Sandbox() as sandbox:
        with pytest.raises(ControlTotalError) as caught:
            run_import(path, api_key=DEMO_API_KEY, api_url=sandbox.base_url, expect_total="100")
        assert sandbox.purchases() == []

    assert caught.value.message == (
        "control total mismatch: the file's total line says 120.00 but its purchase rows add "
        "up to 100.00 (difference -20.00)"
    )


def test_run_without_a_date_column_sends_nothing_unless_asked(tmp_path):
    from importer.check.mapping import Mapping

    path = write_csv(tmp_path / "nodate.csv", f"Lead ID,Amount\r\n{LEAD_A},100.00\r\n")
    with Sandbox() as sandbox:
        with pytest.raises(MappingError, match="^no column is mapped to date: "):
            run_import(path, api_key=DEMO_API_KEY, api_url=sandbox.base_url)
        assert sandbox.purchases() == []
        report = run_import(
            path, Mapping(no_date=True), api_key=DEMO_API_KEY, api_url=sandbox.base_url
        )
        payloads = sandbox.purchases()

    assert report.summary.count("created") == 1
    assert len(payloads) == 1
