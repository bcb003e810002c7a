"""Column matching on exports shaped like those of real systems (made here, not copied).

Each export (tests/exporthelpers.py) is opened by the import job, as the web app and the CLI
open it, and its suggested mapping is pinned whole: field -> (column, confidence) for every
Keen field.
"""

from __future__ import annotations

import pytest
from conftest import LEAD_1, LEAD_2
from exporthelpers import (
    french_invoices,
    hand_made_workbook,
    quickbooks_sales,
    sage_audit_trail,
    sap_line_items,
    shopify_orders,
    stripe_payments,
    xero_invoices,
)

import importer
from importer.check.matching import (
    FieldMatch,
    column_label,
    match_fields,
    resolve_columns,
)
from importer.errors import MappingError


def suggested(path) -> dict[str, tuple[str | None, str]]:
    """Field -> (column, confidence) as the job suggests them, in FIELDS order, for the fields
    it found a column for (a field added to the registry matches nothing here unless it should)."""
    matches = importer.open_import(path).suggest_mapping()
    return {m.field: (m.column, m.confidence) for m in matches if m.column is not None}


def notes(path) -> dict[str, str]:
    return {m.field: m.note for m in importer.open_import(path).suggest_mapping()}


def by_field(matches: list[FieldMatch]) -> dict[str, FieldMatch]:
    return {m.field: m for m in matches}


# --- exports of real systems, recreated ---------------------------------------------------------


@pytest.fixture
def shopify(tmp_path):
    return shopify_orders(tmp_path)


def test_shopify_orders_export(shopify):
    assert suggested(shopify) == {
        "lead_id": ("Notes", "values"),
        "purchase_amount": ("Total", "synonym"),
        "date": ("Paid at", "synonym"),
        "product_name": ("Lineitem name", "synonym"),
        "reference": ("Name", "synonym"),  # "#1001", not the empty "Receipt Number"
        "currency": ("Currency", "exact"),
    }
    found = notes(shopify)
    assert found["reference"] == "'Name' (from the header of a Shopify export)"
    assert found["product_name"] == "'Lineitem name' (from the header of a Shopify export)"
    assert found["lead_id"] == "'Notes' holds UUIDs: --map lead_id='Notes'"


def test_stripe_payments_export(tmp_path):
    path = stripe_payments(tmp_path)

    assert suggested(path) == {
        "lead_id": ("lead_id (metadata)", "exact"),
        "purchase_amount": ("Amount", "synonym"),
        "date": ("Created date (UTC)", "synonym"),
        "product_description": ("Description", "synonym"),
        "reference": ("id", "synonym"),
        "currency": ("Currency", "exact"),
    }
    assert notes(path)["reference"] == "'id' (from the header of a Stripe export)"


@pytest.fixture
def quickbooks(tmp_path):
    return quickbooks_sales(tmp_path)


def test_quickbooks_sales_export(quickbooks):
    assert suggested(quickbooks) == {
        # "No." holds invoice numbers and "Qty" quantities: neither is offered as lead ids
        "legacy_lead_id": ("Keen ID", "values"),
        "purchase_amount": ("Amount", "synonym"),
        "date": ("Date", "exact"),
        "product_name": ("Product/Service", "synonym"),
        "product_description": ("Memo/Description", "synonym"),
        "reference": ("No.", "synonym"),
    }
    assert notes(quickbooks)["legacy_lead_id"] == (
        "'Keen ID' holds whole numbers like legacy lead ids: --map legacy_lead_id='Keen ID'"
    )


@pytest.fixture
def xero(tmp_path):
    return xero_invoices(tmp_path)


def test_xero_invoices_export_the_uuids_in_reference_are_the_lead(xero):
    assert suggested(xero) == {
        "lead_id": ("Reference", "values"),
        "purchase_amount": ("Total", "synonym"),
        "date": ("*InvoiceDate", "synonym"),
        "product_description": ("*Description", "synonym"),
        "reference": ("*InvoiceNumber", "synonym"),  # the next reference once the lead took it
        "currency": ("Currency", "exact"),
    }
    assert notes(xero)["lead_id"] == "'Reference' holds UUIDs: --map lead_id='Reference'"


def test_xero_export_validates_once_the_proposed_lead_is_confirmed(xero, cli):
    code, err = cli("validate", xero, "--map", "lead_id=Reference")

    assert code == 0
    assert err[1] == (
        "mapping used: lead_id <- 'Reference', purchase_amount <- 'Total', "
        "date <- '*InvoiceDate', product_description <- '*Description', "
        "reference <- '*InvoiceNumber', currency <- 'Currency'"
    )


def test_sap_line_item_export_the_currency_is_that_of_the_amount(tmp_path):
    path = sap_line_items(tmp_path)

    assert suggested(path) == {
        "lead_id": ("Zuordnung", "values"),
        "purchase_amount": ("Betrag in HW", "synonym"),
        "date": ("Buchungsdatum", "synonym"),
        "reference": ("Belegnummer", "synonym"),
        "currency": ("HWähr", "synonym"),  # house currency, as "Betrag in HW"; not "Währung"
    }
    assert notes(path)["currency"] == "'HWähr' (the currency of 'Betrag in HW')"


def test_french_invoice_export(tmp_path):
    path = french_invoices(tmp_path)

    assert suggested(path) == {
        "lead_id": ("Client (UUID)", "values"),
        "purchase_amount": ("Montant TTC", "synonym"),
        "date": ("Date", "exact"),
        "product_description": ("Libellé", "synonym"),
        "currency": ("Devise", "synonym"),
    }


def test_sage_audit_trail_export(tmp_path):
    path = sage_audit_trail(tmp_path)

    assert suggested(path) == {
        "lead_id": ("Ex.Ref", "values"),
        "purchase_amount": ("Net", "values"),
        "date": ("Date", "exact"),
        "product_description": ("Details", "synonym"),
        "reference": ("Reference", "exact"),
        "currency": ("Currency", "exact"),
    }


def test_hand_made_workbook_without_a_lead_keeps_every_other_match(tmp_path):
    path = hand_made_workbook(tmp_path)
    # Without a lead header nothing tells the title row from the headers: the user says row 3
    # (the web app's "Header row" control).
    job = importer.open_import(path, header_row=3)

    found = {m.field: (m.column, m.confidence) for m in job.suggest_mapping() if m.column}
    assert found == {
        "purchase_amount": ("Amount", "synonym"),
        "date": ("Date", "exact"),
        "product_name": ("Product", "synonym"),
    }
    assert job.overview.headers[4] == ""
    assert column_label(job.overview.headers, 4) == "(column E, no header)"
    with pytest.raises(MappingError, match="no lead column found"):
        job.columns  # noqa: B018 - applying still needs a lead; the suggestions above do not


# --- the rules, one at a time -------------------------------------------------------------------


def test_a_column_empty_in_every_sampled_row_is_never_applied():
    headers = ["Lead ID", "Amount", "Receipt Number"]
    samples = {"Lead ID": [LEAD_1], "Amount": ["12.50"], "Receipt Number": []}

    found = by_field(match_fields(headers, samples, {}))

    assert found["reference"] == FieldMatch(
        "reference", None, "none", "'Receipt Number' is empty in every sampled row: not used"
    )
    assert "reference" not in resolve_columns(headers, {}, samples=samples)


def test_an_empty_column_gives_way_to_the_next_known_header():
    headers = ["Lead ID", "Reference", "Receipt Number"]
    samples = {"Lead ID": [LEAD_1], "Reference": [], "Receipt Number": ["R-1"]}

    found = by_field(match_fields(headers, samples, {}))

    assert (found["reference"].column, found["reference"].confidence) == (
        "Receipt Number",
        "synonym",
    )


def test_an_empty_column_is_applied_when_the_user_maps_it():
    headers = ["Lead ID", "Receipt Number"]
    samples = {"Lead ID": [LEAD_1], "Receipt Number": []}

    columns = resolve_columns(headers, {"reference": "Receipt Number"}, samples=samples)

    assert columns == {"lead_id": "Lead ID", "reference": "Receipt Number"}


def test_a_file_without_rows_has_no_empty_columns():
    headers = ["Lead ID", "Reference"]

    found = by_field(match_fields(headers, {"Lead ID": [], "Reference": []}, {}))

    assert found["reference"].column == "Reference"


def test_a_lead_header_wins_over_a_column_of_uuids():
    headers = ["Reference", "Lead ID"]
    samples = {"Reference": [LEAD_1], "Lead ID": [LEAD_2]}

    found = by_field(match_fields(headers, samples, {}))

    assert (found["lead_id"].column, found["reference"].column) == ("Lead ID", "Reference")


def test_whole_numbers_are_proposed_as_legacy_ids_only_without_a_uuid_column():
    headers = ["Member no", "Customer UUID", "Amount"]
    samples = {"Member no": ["48213", "50877"], "Customer UUID": [LEAD_1], "Amount": ["9.50"]}

    with_uuids = by_field(match_fields(headers, samples, {}))
    without = by_field(match_fields(headers, {**samples, "Customer UUID": ["Berg"]}, {}))

    assert (with_uuids["lead_id"].column, with_uuids["legacy_lead_id"].column) == (
        "Customer UUID",
        None,
    )
    assert (without["lead_id"].column, without["legacy_lead_id"].column) == (None, "Member no")


@pytest.mark.parametrize(
    "values",
    [
        pytest.param(["1", "2", "10"], id="quantities"),
        pytest.param(["001043", "001044"], id="leading-zeros"),
        pytest.param(["1,043", "1,044"], id="separators"),
        pytest.param(["1043", "INV-1044"], id="one-is-text"),
    ],
)
def test_numbers_that_do_not_look_like_legacy_ids(values):
    found = by_field(match_fields(["Customer", "N"], {"Customer": ["Berg"], "N": values}, {}))

    assert found["legacy_lead_id"] == FieldMatch("legacy_lead_id", None, "none", "no column found")


def test_the_proposed_lead_is_named_in_the_error_but_never_applied():
    headers = ["Customer", "Ref", "Amount"]
    samples = {"Customer": ["Berg"], "Ref": [LEAD_1, LEAD_2], "Amount": ["9.50"]}

    with pytest.raises(MappingError) as caught:
        resolve_columns(headers, {}, samples=samples)

    assert caught.value.message == "no lead column found (neither lead_id nor legacy_lead_id)"
    assert caught.value.hint == (
        "'Ref' holds UUIDs: --map lead_id='Ref'; columns in the file: 'Customer', 'Ref', "
        "'Amount' (the header is looked for in rows 1-20 of a CSV, 1-60 of a sheet)"
    )
    assert resolve_columns(headers, {"lead_id": "Ref"}, samples=samples) == {
        "lead_id": "Ref",
        "purchase_amount": "Amount",
    }


def test_a_lead_switched_off_by_the_mapping_is_not_proposed():
    found = by_field(match_fields(["Ref", "Amount"], {"Ref": [LEAD_1]}, {"lead_id": ""}))

    assert found["lead_id"].column is None
    assert found["reference"].column == "Ref"


@pytest.mark.parametrize(
    ("headers", "amount", "currency"),
    [
        pytest.param(
            ["Betrag in HW", "HWähr", "Währung"], "Betrag in HW", "HWähr", id="house-currency"
        ),
        pytest.param(
            ["Betrag in BW", "Währung", "Betrag in HW", "HWähr"],
            "Betrag in BW",
            "Währung",
            id="document-currency",
        ),
        pytest.param(["Betrag in HW", "Währung"], "Betrag in HW", "Währung", id="only-one"),
    ],
)
def test_sap_currency_column_follows_the_amount(headers, amount, currency):
    found = by_field(match_fields(["Lead ID", *headers], {}, {}))

    assert (found["purchase_amount"].column, found["currency"].column) == (amount, currency)


def test_shopify_names_are_read_only_in_a_shopify_export():
    found = by_field(match_fields(["Lead ID", "Name", "Lineitem name", "Amount"], {}, {}))

    assert (found["reference"].column, found["product_name"].column) == (None, None)


@pytest.mark.parametrize(
    ("headers", "index", "first_column", "label"),
    [
        pytest.param(["Lead ID"], 0, 0, "Lead ID", id="a-header-is-its-own-label"),
        pytest.param(["Lead ID", "Amount", ""], 2, 0, "(column C, no header)", id="C"),
        pytest.param([""] * 26, 25, 0, "(column Z, no header)", id="Z"),
        pytest.param([""] * 27, 26, 0, "(column AA, no header)", id="AA"),
        pytest.param([""] * 703, 701, 0, "(column ZZ, no header)", id="ZZ"),
        pytest.param([""] * 703, 702, 0, "(column AAA, no header)", id="AAA"),
        pytest.param(["Lead ID", " "], 1, 1, "(column C, no header)", id="sheet-starts-at-B"),
    ],
)
def test_column_label(headers, index, first_column, label):
    assert column_label(headers, index, first_column=first_column) == label
