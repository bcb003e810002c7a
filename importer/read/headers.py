"""Header spellings of each purchase field, and finding the header row below title rows."""

from __future__ import annotations

import re

HEADER_SEARCH_ROWS = 20  # title rows above the header: at most this many rows are searched

# Recognised header spellings after folding (lowercase, letters and digits only), best first.
HEADER_SYNONYMS: dict[str, tuple[str, ...]] = {
    "lead_id": ("leadid", "leaduuid", "keenleadid", "leadguid", "lead"),
    "legacy_lead_id": ("legacyleadid", "legacyid", "oldleadid", "xanoleadid", "leadnumber"),
    "purchase_amount": (
        "purchaseamount",
        "amount",
        "saleamount",
        "salesamount",
        "invoiceamount",
        "totalamount",
        "netamount",
        "amountexvat",
        "grossamount",
        "lineamount",  # an invoice export at line level: the line, not the invoice's Total
        "linetotal",
        "dealamount",
        "amountpaid",
        "paidamount",
        "netsales",
        "grosssales",
        "nettotal",
        "value",
        "dealvalue",
        "revenue",
        "price",
        "total",
        "montantht",
        "montantttc",
        "montantnet",
        "montanttotal",
        "totalht",
        "totalttc",
        "betraginbw",  # SAP: document currency, then house currency
        "betraginhw",
        "betragbw",
        "betraghw",
        "bruttobetrag",
        "gesamtbetrag",
        "rechnungsbetrag",
        "importeneto",
        "importetotal",
        "nettobedrag",
        "totaalbedrag",
        "bruttobeløb",
        "nettobelopp",
        "totalbelopp",
        "beløb",
        "betrag",
        "montant",
        "importe",
        "bedrag",
        "belopp",
        "summa",
        "nettobeløb",
        "nettobetrag",
    ),
    "date": (
        "date",
        "purchasedate",
        "invoicedate",
        "orderdate",
        "saledate",
        "salesdate",
        "transactiondate",
        "documentdate",
        "bookingdate",
        "postingdate",
        "datetime",
        "timestamp",
        "paidat",
        "paiddate",
        "paymentdate",
        "datepaid",
        "createdat",
        "createddate",
        "creationdate",
        "datecreated",
        "closedate",
        "closeddate",
        "fakturadato",
        "rechnungsdatum",
        "belegdatum",
        "buchungsdatum",
        "zahlungsdatum",
        "erstelltam",
        "datefacture",
        "datedefacture",
        "datedepaiement",
        "datedecreation",
        "fechafactura",
        "fechadefactura",
        "fechadepago",
        "factuurdatum",
        "boekdatum",
        "fakturadatum",
        "bokföringsdatum",
        "bogføringsdato",
        "betalingsdato",
        "datum",
        "dato",
        "fecha",
    ),
    "product_id": ("productid", "productuuid", "catalogproductid"),
    "product_name": (
        "productname",
        "product",
        "item",
        "itemname",
        "plan",
        "planname",
        "sku",
        "produkt",
        "produit",
        "producto",
        "artikel",
    ),
    "product_description": (
        "productdescription",
        "description",
        "itemdescription",
        "details",
        "beskrivelse",
        "beschreibung",
        "libellé",
        "libelle",
    ),
    "trigger_ids": ("triggerids", "triggerid", "triggers", "rewardtriggerids", "rewardtriggers"),
    "reference": (
        "reference",
        "ref",
        "invoicenumber",
        "invoiceno",
        "invoicenr",
        "invoiceid",
        "invoice",
        "ordernumber",
        "orderno",
        "orderid",
        "order",
        "transactionid",
        "documentnumber",
        "receiptnumber",
        "externalid",
        "yourreference",
        "fakturanr",
        "fakturanummer",
        "rechnungsnummer",
        "belegnummer",
        "referenz",
    ),
    "currency": (
        "currency",
        "currencycode",
        "ccy",
        "cur",
        "curr",
        "valuta",
        "währung",
        "hwähr",  # SAP: house currency (beside Betrag in HW)
        "devise",
        "moneda",
    ),
}


BRACKETED = re.compile(r"\s*[(\[][^)\]]*[)\]]\s*")


def fold_header(name: str) -> str:
    """'Lead ID' / 'lead-id' / ' LEAD_id ' -> 'leadid' (letters of any language are kept)."""
    return re.sub(r"[\W_]", "", name.casefold())


def looks_like_header(cells: list[str], explicit: dict[str, str]) -> bool:
    """True if a row names a lead column (used to skip title rows above the header)."""
    folded = {fold_header(c) for c in cells if c and c.strip()}
    wanted = {fold_header(c) for c in explicit.values() if c}  # "" switches a field off
    if wanted and wanted <= folded:
        return True
    lead = set(HEADER_SYNONYMS["lead_id"]) | set(HEADER_SYNONYMS["legacy_lead_id"])
    return bool(folded & lead) and len(folded) >= 2
