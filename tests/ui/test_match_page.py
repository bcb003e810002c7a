"""The "Match columns" page shows the column-matching engine's results (importer.check.matching):
every match kept whatever else is missing, a lead guessed from the cells selected for the user
to confirm (applied only once "Check file" is pressed), blank headers named by their column
letter and never selectable, and why a field is not used.
"""

from __future__ import annotations

import re

from conftest import LEAD_1, LEAD_2
from exporthelpers import csv_export, shopify_orders, xero_invoices

import importer
from importer.check.mapping import load_mapping_file
from importer.ui.routes.columns import LEAD_HELP
from ui.test_page_text import visible_text
from ui.uihelpers import check_file, import_id_of, selected_mapping, upload

OTHER_SIX = {
    "purchase_amount": "Amount",
    "date": "Invoice date",
    "product_name": "Product",
    "product_description": "Description",
    "reference": "Invoice no",
    "currency": "Currency",
}


def line_of(page: str, field: str) -> str:
    """What one field's line says beside its dropdown: the field, the confidence, the note."""
    line = re.search(rf'<tr>\s*<th scope="row"><label for="field-{field}">.*?</tr>', page, re.S)
    return " ".join(visible_text(re.sub(r"<select.*?</select>", "", line[0], flags=re.S)).split())


def test_a_file_without_a_lead_column_keeps_its_six_other_matches(client, settings, tmp_path):
    path = csv_export(
        tmp_path,
        "customers.csv",
        "Customer,Invoice no,Invoice date,Product,Description,Amount,Currency",
        "Berg Consulting,INV-1,2026-04-21,Starter,Starter plan - April,49.00,EUR",
        "Nordic Foods,INV-2,2026-04-22,Pro,Pro plan - April,99.00,EUR",
    )
    import_id = import_id_of(upload(client, settings, path))

    page = client.get(f"/imports/{import_id}/columns").text

    chosen = selected_mapping(page)
    assert {field: column for field, column in chosen.items() if column} == OTHER_SIX
    assert (chosen["lead_id"], chosen["legacy_lead_id"]) == ("", "")
    assert line_of(page, "purchase_amount") == (
        "Amount (purchase_amount) Known name 'Amount' (from the header) 49.00 99.00"
    )
    shown = visible_text(page)
    assert (
        "Choose the column that holds the lead (UUIDs for Lead ID, numbers for Legacy lead ID), "
        "then press Check file."
    ) in shown
    assert "--" not in shown
    assert 'id="field-lead_id" aria-describedby="lead-help"' in page

    # "Check file" as shown: the page asks for the lead again, and the six stay chosen.
    pressed = check_file(client, settings, import_id, chosen)
    assert pressed.status_code == 400
    assert f'<p class="error" role="alert">{LEAD_HELP}</p>' in pressed.text
    assert {f: c for f, c in selected_mapping(pressed.text).items() if c} == OTHER_SIX
    assert "--" not in visible_text(pressed.text)
    again = client.get(f"/imports/{import_id}/columns").text
    assert {f: c for f, c in selected_mapping(again).items() if c} == OTHER_SIX


def test_xero_uuids_in_reference_are_selected_as_the_lead_to_confirm(
    client, settings, app, tmp_path
):
    import_id = import_id_of(upload(client, settings, xero_invoices(tmp_path)))

    page = client.get(f"/imports/{import_id}/columns").text

    chosen = selected_mapping(page)
    assert (chosen["lead_id"], chosen["reference"]) == ("Reference", "*InvoiceNumber")
    assert line_of(page, "lead_id").startswith(
        "Lead ID (lead_id) Confirm: guessed from the values 'Reference' holds UUIDs: choose "
        f"'Reference' for Lead ID (lead_id) {LEAD_1} {LEAD_2}"
    )
    assert "--" not in visible_text(page)
    assert "Choose the column that holds the lead" not in page
    folder = app.state.workspace.get(import_id)
    assert folder.file("mapping") is None  # a guess is not applied by opening the page
    assert "lead_id" not in app.state.sessions.get(import_id).job.mapping.columns

    pressed = check_file(client, settings, import_id, chosen)  # one press confirms it

    assert pressed.headers["location"] == f"/imports/{import_id}/review"
    assert load_mapping_file(folder.file("mapping")).columns["lead_id"] == "Reference"
    after = client.get(f"/imports/{import_id}/columns").text
    assert line_of(after, "lead_id").startswith(
        "Lead ID (lead_id) Exact match 'Reference' (from your mapping)"
    )


def test_a_blank_header_is_named_by_its_column_and_cannot_be_chosen(client, settings, tmp_path):
    path = csv_export(
        tmp_path,
        "notes.csv",
        "Lead ID,Amount,,Date",
        f"{LEAD_1},49.00,call back,2026-04-21",
        f"{LEAD_2},99.00,,2026-04-22",
    )
    import_id = import_id_of(upload(client, settings, path))

    page = client.get(f"/imports/{import_id}/columns").text

    assert "Headers found on row 1: Lead ID, Amount, (column C, no header), Date" in page
    options = re.findall(r"<option[^>]*>\(column C, no header\)</option>", page)
    assert len(options) == len(importer.FIELDS)  # one in each field's dropdown
    assert set(options) == {'<option value="" disabled>(column C, no header)</option>'}
    assert selected_mapping(page)["lead_id"] == "Lead ID"


def test_shopify_name_and_lineitem_name_are_chosen_the_empty_receipt_number_is_not_used(
    client, settings, tmp_path
):
    import_id = import_id_of(upload(client, settings, shopify_orders(tmp_path)))

    page = client.get(f"/imports/{import_id}/columns").text

    chosen = selected_mapping(page)
    assert (chosen["reference"], chosen["product_name"]) == ("Name", "Lineitem name")
    assert "Receipt Number" not in chosen.values()
    assert line_of(page, "reference") == (
        "Reference (reference) Known name 'Name' (from the header of a Shopify export) "
        "#1001 #1002 #1003"
    )
    assert line_of(page, "product_name").startswith(
        "Product name (product_name) Known name 'Lineitem name' (from the header of a Shopify "
        "export) Starter plan Pro plan"
    )
    assert (
        "Empty in every sampled row, so not used unless you choose it: Receipt Number"
        in visible_text(page)
    )


def test_a_field_without_a_column_says_why(client, settings, tmp_path):
    path = csv_export(
        tmp_path,
        "receipts.csv",
        "Lead ID,Amount,Date,Receipt Number",
        f"{LEAD_1},49.00,2026-04-21,",
        f"{LEAD_2},99.00,2026-04-22,",
    )
    import_id = import_id_of(upload(client, settings, path))
    page = client.get(f"/imports/{import_id}/columns").text
    assert line_of(page, "reference") == (
        "Reference (reference) Not used 'Receipt Number' is empty in every sampled row: not used"
    )
    assert line_of(page, "product_id") == "Product ID (product_id) No column found"

    chosen = selected_mapping(page)
    check_file(client, settings, import_id, {**chosen, "date": ""}, no_date="1")

    again = client.get(f"/imports/{import_id}/columns").text
    assert line_of(again, "date") == "Date (date) Not used switched off by the mapping"
    assert selected_mapping(again)["date"] == ""
