"""Column matching on exports shaped like those of real systems (made here, not copied).

Each export is opened by the import job, as the web app and the CLI open it, and its suggested
mapping is pinned whole: field -> (column, confidence) for every Keen field.
"""

from __future__ import annotations

import pytest
from conftest import LEAD_1, LEAD_2, LEAD_3, write_csv, write_xlsx

import importer
from importer.check.matching import (
    FieldMatch,
    column_label,
    match_fields,
    resolve_columns,
)
from importer.errors import MappingError

NOT_FOUND = (None, "none")


def suggested(path) -> dict[str, tuple[str | None, str]]:
    """Field -> (column, confidence) as the job suggests them, every field in FIELDS order."""
    return {m.field: (m.column, m.confidence) for m in importer.open_import(path).suggest_mapping()}


def notes(path) -> dict[str, str]:
    return {m.field: m.note for m in importer.open_import(path).suggest_mapping()}


def csv_export(tmp_path, name: str, *lines: str):
    return write_csv(tmp_path / name, "\r\n".join(lines) + "\r\n")


def by_field(matches: list[FieldMatch]) -> dict[str, FieldMatch]:
    return {m.field: m for m in matches}


# --- exports of real systems, recreated ---------------------------------------------------------


@pytest.fixture
def shopify(tmp_path):
    return csv_export(
        tmp_path,
        "orders_export.csv",
        "Name,Email,Financial Status,Paid at,Fulfillment Status,Accepts Marketing,Currency,"
        "Subtotal,Shipping,Taxes,Total,Created at,Lineitem quantity,Lineitem name,"
        "Lineitem price,Lineitem sku,Billing Name,Notes,Id,Receipt Number",
        "#1001,anna@example.com,paid,2026-04-02 10:14:03 +0200,fulfilled,yes,EUR,49.00,4.90,"
        "9.31,63.21,2026-04-02 10:13:55 +0200,1,Starter plan,49.00,STARTER,Anna Berg,"
        f"{LEAD_1},5912345678901,",
        "#1002,ole@example.com,paid,2026-04-03 16:40:12 +0200,fulfilled,no,EUR,99.00,4.90,"
        "18.81,122.71,2026-04-03 16:39:58 +0200,1,Pro plan,99.00,PRO,Ole Hansen,"
        f"{LEAD_2},5912345678902,",
        "#1003,mia@example.com,paid,2026-04-05 08:02:45 +0200,unfulfilled,yes,EUR,98.00,0.00,"
        "18.62,116.62,2026-04-05 08:01:30 +0200,2,Starter plan,49.00,STARTER,Mia Lund,"
        f"{LEAD_3},5912345678903,",
    )


def test_shopify_orders_export(shopify):
    assert suggested(shopify) == {
        "lead_id": ("Notes", "values"),
        "legacy_lead_id": NOT_FOUND,
        "purchase_amount": ("Total", "synonym"),
        "date": ("Paid at", "synonym"),
        "product_id": NOT_FOUND,
        "product_name": ("Lineitem name", "synonym"),
        "product_description": NOT_FOUND,
        "trigger_ids": NOT_FOUND,
        "reference": ("Name", "synonym"),  # "#1001", not the empty "Receipt Number"
        "currency": ("Currency", "exact"),
    }
    found = notes(shopify)
    assert found["reference"] == "'Name' (from the header of a Shopify export)"
    assert found["product_name"] == "'Lineitem name' (from the header of a Shopify export)"
    assert found["lead_id"] == "'Notes' holds UUIDs: --map lead_id='Notes'"


def test_stripe_payments_export(tmp_path):
    path = csv_export(
        tmp_path,
        "unified_payments.csv",
        "id,Created date (UTC),Amount,Amount Refunded,Currency,Converted Amount,"
        "Converted Currency,Fee,Status,Description,Customer ID,Customer Email,lead_id (metadata)",
        "ch_3PqXb2LkdIwHu7ix0a1b2c3d,2026-04-01 09:12:44,49.00,0.00,eur,49.00,eur,1.71,Paid,"
        f"Starter plan,cus_PqXa1b2c3d4e5f,anna@example.com,{LEAD_1}",
        "ch_3PqXc7LkdIwHu7ix1b2c3d4e,2026-04-02 14:30:01,99.00,0.00,eur,99.00,eur,3.21,Paid,"
        f"Pro plan,cus_PqXb2c3d4e5f6g,ole@example.com,{LEAD_2}",
        "ch_3PqXd9LkdIwHu7ix2c3d4e5f,2026-04-03 18:05:17,49.00,49.00,eur,49.00,eur,1.71,"
        f"Refunded,Starter plan,cus_PqXc3d4e5f6g7h,mia@example.com,{LEAD_3}",
    )

    assert suggested(path) == {
        "lead_id": ("lead_id (metadata)", "exact"),
        "legacy_lead_id": NOT_FOUND,
        "purchase_amount": ("Amount", "synonym"),
        "date": ("Created date (UTC)", "synonym"),
        "product_id": NOT_FOUND,
        "product_name": NOT_FOUND,
        "product_description": ("Description", "synonym"),
        "trigger_ids": NOT_FOUND,
        "reference": ("id", "synonym"),
        "currency": ("Currency", "exact"),
    }
    assert notes(path)["reference"] == "'id' (from the header of a Stripe export)"


@pytest.fixture
def quickbooks(tmp_path):
    return csv_export(
        tmp_path,
        "sales_by_customer_detail.csv",
        "Date,Transaction type,No.,Customer,Product/Service,Memo/Description,Qty,Sales price,"
        "Amount,Keen ID",
        "04/02/2026,Invoice,1043,Berg Consulting,Starter,Starter plan - April,1,49.00,49.00,1001",
        "04/03/2026,Sales Receipt,1044,Nordic Foods,Pro,Pro plan - April,2,99.00,198.00,1002",
        "04/07/2026,Invoice,1047,Berg Consulting,Seats,Extra seats,10,5.00,50.00,1001",
    )


def test_quickbooks_sales_export(quickbooks):
    assert suggested(quickbooks) == {
        "lead_id": NOT_FOUND,
        # "No." holds invoice numbers and "Qty" quantities: neither is offered as lead ids
        "legacy_lead_id": ("Keen ID", "values"),
        "purchase_amount": ("Amount", "synonym"),
        "date": ("Date", "exact"),
        "product_id": NOT_FOUND,
        "product_name": ("Product/Service", "synonym"),
        "product_description": ("Memo/Description", "synonym"),
        "trigger_ids": NOT_FOUND,
        "reference": ("No.", "synonym"),
        "currency": NOT_FOUND,
    }
    assert notes(quickbooks)["legacy_lead_id"] == (
        "'Keen ID' holds whole numbers like legacy lead ids: --map legacy_lead_id='Keen ID'"
    )


@pytest.fixture
def xero(tmp_path):
    return csv_export(
        tmp_path,
        "Invoices.csv",
        "*ContactName,EmailAddress,*InvoiceNumber,Reference,*InvoiceDate,*DueDate,Total,"
        "*Description,*Quantity,*UnitAmount,*AccountCode,Currency",
        f"Berg Consulting,anna@example.com,INV-0041,{LEAD_1},21/04/2026,05/05/2026,58.80,"
        "Starter plan,1,49.00,200,EUR",
        f"Nordic Foods,ole@example.com,INV-0042,{LEAD_2},22/04/2026,06/05/2026,118.80,"
        "Pro plan,1,99.00,200,EUR",
        f"Lund & Co,mia@example.com,INV-0043,{LEAD_3},23/04/2026,07/05/2026,58.80,"
        "Starter plan,1,49.00,200,EUR",
    )


def test_xero_invoices_export_the_uuids_in_reference_are_the_lead(xero):
    assert suggested(xero) == {
        "lead_id": ("Reference", "values"),
        "legacy_lead_id": NOT_FOUND,
        "purchase_amount": ("Total", "synonym"),
        "date": ("*InvoiceDate", "synonym"),
        "product_id": NOT_FOUND,
        "product_name": NOT_FOUND,
        "product_description": ("*Description", "synonym"),
        "trigger_ids": NOT_FOUND,
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
    path = csv_export(
        tmp_path,
        "FBL5N.csv",
        "Zuordnung;Belegnummer;Belegart;Buchungsdatum;Betrag in HW;HWähr;Währung;Referenz;Text",
        f"{LEAD_1};1800000123;DR;21.04.2026;1.250,00;EUR;USD;RE-2026-041;Lizenz Starter",
        f"{LEAD_2};1800000124;DR;22.04.2026;99,90;EUR;EUR;RE-2026-042;Lizenz Pro",
        f"{LEAD_3};1800000125;DR;23.04.2026;2.500,00;EUR;USD;RE-2026-043;Lizenz Starter",
    )

    assert suggested(path) == {
        "lead_id": ("Zuordnung", "values"),
        "legacy_lead_id": NOT_FOUND,
        "purchase_amount": ("Betrag in HW", "synonym"),
        "date": ("Buchungsdatum", "synonym"),
        "product_id": NOT_FOUND,
        "product_name": NOT_FOUND,
        "product_description": NOT_FOUND,
        "trigger_ids": NOT_FOUND,
        "reference": ("Belegnummer", "synonym"),
        "currency": ("HWähr", "synonym"),  # house currency, as "Betrag in HW"; not "Währung"
    }
    assert notes(path)["currency"] == "'HWähr' (the currency of 'Betrag in HW')"


def test_french_invoice_export(tmp_path):
    path = csv_export(
        tmp_path,
        "factures.csv",
        "N° facture;Date;Client (UUID);Libellé;Montant TTC;Devise",
        f"F-2026-041;21/04/2026;{LEAD_1};Abonnement Starter;58,80;EUR",
        f"F-2026-042;22/04/2026;{LEAD_2};Abonnement Pro;118,80;EUR",
        f"F-2026-043;23/04/2026;{LEAD_3};Abonnement Starter;58,80;EUR",
    )

    assert suggested(path) == {
        "lead_id": ("Client (UUID)", "values"),
        "legacy_lead_id": NOT_FOUND,
        "purchase_amount": ("Montant TTC", "synonym"),
        "date": ("Date", "exact"),
        "product_id": NOT_FOUND,
        "product_name": NOT_FOUND,
        "product_description": ("Libellé", "synonym"),
        "trigger_ids": NOT_FOUND,
        "reference": NOT_FOUND,
        "currency": ("Devise", "synonym"),
    }


def test_sage_audit_trail_export(tmp_path):
    path = csv_export(
        tmp_path,
        "audit_trail.csv",
        "No.,Type,Account,Date,Reference,Ex.Ref,Details,Net,Tax,Gross,Currency",
        f"1,SI,BERG001,21/04/2026,INV041,{LEAD_1},Starter plan,49.00,9.80,58.80,GBP",
        f"2,SI,NORD001,22/04/2026,INV042,{LEAD_2},Pro plan,99.00,19.80,118.80,GBP",
        f"3,SI,LUND001,23/04/2026,INV043,{LEAD_3},Starter plan,49.00,9.80,58.80,GBP",
    )

    assert suggested(path) == {
        "lead_id": ("Ex.Ref", "values"),
        "legacy_lead_id": NOT_FOUND,
        "purchase_amount": ("Net", "values"),
        "date": ("Date", "exact"),
        "product_id": NOT_FOUND,
        "product_name": NOT_FOUND,
        "product_description": ("Details", "synonym"),
        "trigger_ids": NOT_FOUND,
        "reference": ("Reference", "exact"),
        "currency": ("Currency", "exact"),
    }


def test_hand_made_workbook_without_a_lead_keeps_every_other_match(tmp_path):
    path = write_xlsx(
        tmp_path / "april.xlsx",
        {
            "April": [
                ["Customer", "Amount", "Date", "Product", None, "Our ref"],
                ["Berg Consulting", "49.00", "2026-04-21", "Starter", "call back", "A-1"],
                ["Nordic Foods", "99.00", "2026-04-22", "Pro", None, "A-2"],
            ]
        },
    )
    job = importer.open_import(path)

    assert suggested(path) == {
        "lead_id": NOT_FOUND,
        "legacy_lead_id": NOT_FOUND,
        "purchase_amount": ("Amount", "synonym"),
        "date": ("Date", "exact"),
        "product_id": NOT_FOUND,
        "product_name": ("Product", "synonym"),
        "product_description": NOT_FOUND,
        "trigger_ids": NOT_FOUND,
        "reference": NOT_FOUND,
        "currency": NOT_FOUND,
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
