"""ImportJob.rows() says what each mapped cell of a row was read as (RowView.read)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from conftest import write_csv, write_xlsx

from importer import open_import
from importer.job.model import ReadValue

LEAD = "47378190-96da-4dac-b2ff-5d2a386ecbe0"
COPENHAGEN = ZoneInfo("Europe/Copenhagen")


@pytest.fixture
def job(tmp_path):
    path = write_csv(
        tmp_path / "faktura.csv",
        "Lead;Beløb;Dato;Produkt;Triggers\n"
        f"{{{LEAD.upper()}}};1 500,00 €;03/04/2026 14:30;Licens Pro;\n"
        f"{LEAD};12,5O €;13/04/2026;Licens Pro;\n"
        ";;;Total;\n",
    )
    job = open_import(path, out_dir=tmp_path / "out")
    job.apply_mapping(
        {"lead_id": "Lead", "purchase_amount": "Beløb", "date": "Dato", "product_name": "Produkt"}
    )
    job.set_options(timezone="Europe/Copenhagen", day_first=True)
    job.check()
    return job


def test_a_valid_row_carries_each_mapped_value_as_it_is_sent(job):
    first = job.rows(limit=1).rows[0]
    assert first.status == "valid"
    assert first.read == {
        "Lead": ReadValue("lead_id", LEAD),
        "Beløb": ReadValue("purchase_amount", Decimal("1500.00"), currency="EUR"),
        "Dato": ReadValue(
            "date", datetime(2026, 4, 3, 14, 30, tzinfo=COPENHAGEN), zone="Europe/Copenhagen"
        ),
        "Produkt": ReadValue("product_name", "Licens Pro"),
    }
    assert isinstance(first.read["Beløb"].value, Decimal)


def test_invalid_and_skipped_rows_carry_nothing_read(job):
    rows = {r.row: r for r in job.rows().rows}
    assert (rows[3].status, rows[3].read) == ("invalid", {})
    assert (rows[4].status, rows[4].read) == ("skipped", {})


def test_an_edit_returns_the_new_reading_and_the_counts_follow_the_index(job):
    assert job.status_counts() == {"valid": 1, "invalid": 1, "skipped": 1}
    view = job.edit(3, "Beløb", "12,50 €")
    assert view.status == "valid"
    assert view.read["Beløb"] == ReadValue("purchase_amount", Decimal("12.50"), currency="EUR")
    assert job.status_counts() == {"valid": 2, "skipped": 1}
    assert job.rows(status="valid").rows[1].read["Dato"].value.day == 13


@pytest.mark.parametrize(
    ("cell", "read"),
    [
        pytest.param("1.250,50", Decimal("1250.50"), id="text-with-decimal-comma"),
        pytest.param(2.125, None, id="typed-number-not-guessed"),
        pytest.param(1500, Decimal("1500"), id="typed-whole-number"),
    ],
)
def test_a_workbook_amount_that_may_be_a_typed_number_is_not_guessed(tmp_path, cell, read):
    """A decimal-comma workbook's typed 2.125 (kept as it is with allow_precision) reaches the
    results file as the text "2.125", which the text alone would read as 2125: nothing is shown
    read rather than that."""
    book = write_xlsx(
        tmp_path / "q1.xlsx",
        {"Sheet1": [["Lead", "Amount", "Date"], [LEAD, "1.000,00", "2026-03-02"],
                    [LEAD, cell, "2026-03-03"]]},
    )  # fmt: skip
    job = open_import(book, out_dir=tmp_path / "out")
    job.apply_mapping({"lead_id": "Lead", "purchase_amount": "Amount", "date": "Date"})
    job.set_options(decimal=",", allow_precision=True)
    job.check()
    second = job.rows().rows[1]
    assert second.status == "valid"
    assert second.read.get("Amount", ReadValue("", None)).value == read
