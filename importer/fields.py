"""The purchase fields, each declared once: the field registry.

Every stage reads its facts about a field from here: the names a column can be mapped to and
their words for people (``importer.records``), the header spellings that find a column
(``importer.read.headers``), how a cell is read and which fields make two rows the same
purchase (``importer.check``), the create_purchase body (``PurchaseRecord.payload``), the
ledger's identity, the edited-row messages and the import templates. Adding an optional field
is one entry of :data:`PURCHASE_FIELDS` plus its typed attribute on ``PurchaseRecord`` (a test
fails until both agree) and its tests.

The registry sits at the bottom of the package, beside ``records``, so that every stage may
import it. The parsers live in ``importer.check.parsers`` (above it): a field names its parser
by a key, and that module is the one table turning a key into a function.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class TemplateHelp:
    """What the import templates say of a field (``importer.report.templates``).

    ``examples`` are the cells of the two example rows; a field without them is only
    described on the Columns sheet, with no column of its own.
    """

    text: str
    examples: tuple[str, str] | None = None
    width: int = 16  # the column's width in the XLSX template, in characters


@dataclass(frozen=True, slots=True)
class PurchaseField:
    """One purchase field and everything the stages need to know of it.

    - ``name``: the API name: what ``--map``, mapping files and the results use.
    - ``words``: the field as a finance user calls it (the web app, the template's header).
    - ``synonyms``: header spellings that name it, folded (lowercase, letters and digits
      only: ``importer.read.headers.fold_header``), best first.
    - ``parser``: how a cell is read: a key of ``importer.check.parsers.PARSERS``.
    - ``payload_key``: its key in the create_purchase body; None: never sent.
    - ``catalog_key``: its key in the catalog shape of the body (a row with a product_id),
      when that differs.
    - ``alternative_to``: the field this one stands in for (a legacy lead id for the lead's
      UUID, a free-text product name for a catalog product id): a row has one or the other,
      and they make one part of the purchase's identity.
    - ``required``: every row needs a value (of this field or of its alternative).
    - ``identity``: part of the purchase's identity: rows that differ only by it are two
      purchases, for the duplicate check and for the ledger.
    - ``template``: what the import templates say of it.
    """

    name: str
    words: str
    synonyms: tuple[str, ...]
    parser: str
    payload_key: str | None
    template: TemplateHelp
    catalog_key: str | None = None
    alternative_to: str | None = None
    required: bool = False
    identity: bool = True

    def in_sentence(self) -> str:
        """The words inside a sentence ("amount 10.50 (now 11)", "trigger IDs ...")."""
        return self.words[:1].lower() + self.words[1:]


#: Every purchase field, in the order people see them (the web app's match page, --map).
PURCHASE_FIELDS: tuple[PurchaseField, ...] = (
    PurchaseField(
        "lead_id",
        words="Lead ID",
        synonyms=("leadid", "leaduuid", "keenleadid", "leadguid", "lead"),
        parser="uuid",
        payload_key="lead_id",
        required=True,
        template=TemplateHelp(
            "The Keen lead's UUID (8-4-4-4-12 hex digits). *Or map a "
            "'Legacy lead ID' column with the old numeric id instead.",
            examples=(
                "47378190-96da-4dac-b2ff-5d2a386ecbe0",
                "c241330b-01a9-471f-9e8a-774bcf36d58b",
            ),
            width=40,
        ),
    ),
    PurchaseField(
        "legacy_lead_id",
        words="Legacy lead ID",
        synonyms=("legacyleadid", "legacyid", "oldleadid", "xanoleadid", "leadnumber"),
        parser="legacy_id",
        payload_key=None,  # resolved to the lead's UUID, sent as lead_id
        alternative_to="lead_id",
        required=True,
        template=TemplateHelp(
            "The lead's integer id from the old Keen system; resolved to the UUID when sending."
        ),
    ),
    PurchaseField(
        "purchase_amount",
        words="Amount",
        synonyms=(
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
            "totalprice",
            "gesamtpreis",
            "prixtotal",
            "preciototal",
            "total",  # before "price": beside a quantity, a price is the unit's
            "price",
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
        parser="amount",
        payload_key="purchase_amount",
        template=TemplateHelp(
            "Purchase amount in the channel's currency, at most two decimals. 1500, 1,500.00, "
            "1.500,00 and 1 500,00 € are all read. Negative amounts are refused.",
            examples=("1500.00", "249.50"),
            width=12,
        ),
    ),
    PurchaseField(
        "date",
        words="Date",
        synonyms=(
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
        parser="date",
        payload_key="date",
        template=TemplateHelp(
            "Purchase date. ISO (2026-03-02), 02.03.2026, slash dates (day-first or "
            "month-first is read from the column), or a real Excel date cell. Date-only = "
            "midnight in --timezone (default UTC).",
            examples=("2026-03-02", "2026-03-05"),
            width=12,
        ),
    ),
    PurchaseField(
        "product_id",
        words="Product ID",
        synonyms=("productid", "productuuid", "catalogproductid"),
        parser="uuid",
        payload_key="product_id",
        template=TemplateHelp(
            "Catalog product UUID (older API shape; cannot be combined "
            "with Product name or Trigger IDs)."
        ),
    ),
    PurchaseField(
        "product_name",
        words="Product name",
        synonyms=(
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
        parser="text",
        payload_key="product_name",
        alternative_to="product_id",
        template=TemplateHelp(
            "Free-text product name.", examples=("Pro plan", "Starter plan"), width=18
        ),
    ),
    PurchaseField(
        "product_description",
        words="Product description",
        synonyms=(
            "productdescription",
            "description",
            "itemdescription",
            "details",
            "beskrivelse",
            "beschreibung",
            "libellé",
            "libelle",
        ),
        parser="text",
        payload_key="product_description",
        catalog_key="description",  # keen-api.md §2.2
        template=TemplateHelp(
            "Free text.", examples=("Annual subscription", "Monthly subscription"), width=24
        ),
    ),
    PurchaseField(
        "trigger_ids",
        words="Trigger IDs",
        synonyms=("triggerids", "triggerid", "triggers", "rewardtriggerids", "rewardtriggers"),
        parser="uuid_list",
        payload_key="trigger_ids",
        template=TemplateHelp(
            "Reward trigger UUIDs to evaluate, separated by comma, semicolon, pipe or space. "
            "Empty = every active purchase trigger of the channel.",
            examples=("", "aefcfad8-efc8-4849-b3aa-7efe4458a885"),
            width=40,
        ),
    ),
    PurchaseField(
        "reference",
        words="Reference",
        synonyms=(
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
        parser="text",
        payload_key=None,  # the user's own number: never sent
        template=TemplateHelp(
            "Your invoice/order number: never sent; used to catch "
            "duplicate rows and shown in the results.",
            examples=("INV-2026-0001", "INV-2026-0002"),
            width=16,
        ),
    ),
    PurchaseField(
        "currency",
        words="Currency",
        synonyms=(
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
        parser="currency",
        payload_key=None,  # checked against the channel's currency; Keen does not convert
        template=TemplateHelp(
            "3-letter code (USD, EUR). Checked against the lead's channel "
            "currency; never sent (Keen does not convert).",
            examples=("USD", "USD"),
            width=10,
        ),
    ),
)

#: The order of a create_purchase body's keys. A body's bytes identify its purchase in the
#: ledger, so the fields sent so far keep this order for ever; a field sent later follows them
#: in the registry's order (and, sent only when it has a value, changes no earlier identity).
PAYLOAD_ORDER: tuple[str, ...] = (
    "lead_id",
    "purchase_amount",
    "product_id",
    "product_name",
    "product_description",
    "date",
    "trigger_ids",
)


def field_names(fields: Sequence[PurchaseField]) -> tuple[str, ...]:
    """The names of ``fields``, in order."""
    return tuple(f.name for f in fields)


def field_labels(fields: Sequence[PurchaseField]) -> dict[str, str]:
    """Name -> the field in words, in order."""
    return {f.name: f.words for f in fields}


def header_synonyms(fields: Sequence[PurchaseField]) -> dict[str, tuple[str, ...]]:
    """Name -> its folded header spellings, best first."""
    return {f.name: f.synonyms for f in fields}


def sent_fields(fields: Sequence[PurchaseField]) -> tuple[PurchaseField, ...]:
    """The fields sent in the create_purchase body, in the order of its keys
    (:data:`PAYLOAD_ORDER`, then the registry's)."""
    sent = [f for f in fields if f.payload_key is not None]
    first = {name: i for i, name in enumerate(PAYLOAD_ORDER)}
    return tuple(sorted(sent, key=lambda f: first.get(f.name, len(first))))


def identity_parts(fields: Sequence[PurchaseField]) -> tuple[tuple[str, ...], ...]:
    """The parts of a purchase's identity, in the registry's order: one per field of it, a
    field and its alternatives sharing one (``("lead_id", "legacy_lead_id")``)."""
    parts: dict[str, list[str]] = {}
    for f in fields:
        if f.identity:
            parts.setdefault(f.alternative_to or f.name, []).append(f.name)
    return tuple(tuple(names) for names in parts.values())


def unsent_identity(fields: Sequence[PurchaseField]) -> tuple[str, ...]:
    """The fields of a purchase's identity that its body does not carry (the reference, the
    currency): the ledger adds them to the body's bytes. A legacy lead id is not one of them:
    it is sent, as the lead's UUID it resolves to."""
    sent = {f.name for f in fields if f.payload_key is not None}
    return tuple(
        f.name
        for f in fields
        if f.identity and f.payload_key is None and f.alternative_to not in sent
    )
