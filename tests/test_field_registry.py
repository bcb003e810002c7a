"""The field registry (importer.fields) and every table derived from it agree.

Each purchase field is declared once; the names and words, header synonyms, the validator's
parse table and duplicate key, the record and its payload, the ledger's identity, the edited-row
words, the templates and the match step all come from it. These tests fail when one of them
forgets a field; the last ones add a made-up field (a coupon code) and show it flows everywhere.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from decimal import Decimal

import pydantic
import pytest

from importer import fields, records
from importer.check import parsers
from importer.check import validator as validator_module
from importer.check.duplicates import REFERENCE
from importer.check.matching import match_fields
from importer.check.validator import ColumnDecisions, RowValidator, ValidationOptions
from importer.fields import (
    PAYLOAD_ORDER,
    PURCHASE_FIELDS,
    PurchaseField,
    TemplateHelp,
    field_names,
    header_synonyms,
    identity_parts,
    sent_fields,
    unsent_identity,
)
from importer.ledger import identity
from importer.read.headers import HEADER_SYNONYMS, fold_header
from importer.read.loader import Chunk
from importer.records import FIELD_LABELS, FIELDS, PurchaseRecord, RowStatus, dumps_payload
from importer.report import templates
from importer.send import changed

BY_NAME = {f.name: f for f in PURCHASE_FIELDS}
ALL = [pytest.param(f, id=f.name) for f in PURCHASE_FIELDS]
LEAD = "47378190-96da-4dac-b2ff-5d2a386ecbe0"
#: Two different valid cells of each field: the template's examples where it has two.
CELLS = {
    f.name: f.template.examples
    for f in PURCHASE_FIELDS
    if f.template.examples and all(f.template.examples) and len(set(f.template.examples)) == 2
} | {
    "legacy_lead_id": ("12345", "67890"),
    "product_id": ("44332211-aabb-ccdd-eeff-001122334455", "66778899-aabb-ccdd-eeff-001122334455"),
    "trigger_ids": ("aefcfad8-efc8-4849-b3aa-7efe4458a885", "66778899-aabb-ccdd-eeff-001122334455"),
    "currency": ("USD", "EUR"),
}


def check_rows(
    columns: dict[str, str], rows: list[list[str]], *, build_records: bool = False
) -> tuple[list[RowStatus], list[PurchaseRecord | None] | None]:
    """The statuses (and records) the validator gives ``rows`` under ``columns``."""
    headers = list(columns.values())
    validator = RowValidator(
        headers, columns, ColumnDecisions(), ValidationOptions(), build_records=build_records
    )
    checked = validator.check(Chunk(rows=list(range(2, 2 + len(rows))), cells=rows))
    return checked.statuses, checked.records


# --- the registry itself ---------------------------------------------------------------------


def test_names_are_unique_and_every_reference_between_fields_resolves():
    assert len(FIELDS) == len(set(FIELDS))
    for f in PURCHASE_FIELDS:
        assert f.alternative_to is None or f.alternative_to in BY_NAME, f.name
        assert f.parser in parsers.PARSERS, f"{f.name}: no parser {f.parser!r} in check/parsers"


def test_synonyms_are_folded_and_each_names_one_field():
    spellings = [s for f in PURCHASE_FIELDS for s in f.synonyms]
    assert [fold_header(s) for s in spellings] == spellings
    assert len(spellings) == len(set(spellings))


@pytest.mark.parametrize("field", ALL)
def test_a_field_s_own_words_as_a_header_find_it(field: PurchaseField):
    """The template's header and the web app's label are headers the match step knows."""
    assert fold_header(field.words) in field.synonyms


# --- the derived tables agree with it --------------------------------------------------------


def test_field_names_and_labels():
    assert tuple(f.name for f in PURCHASE_FIELDS) == FIELDS
    assert {f.name: f.words for f in PURCHASE_FIELDS} == FIELD_LABELS
    assert list(FIELD_LABELS) == list(FIELDS)


def test_header_synonyms():
    assert {f.name: f.synonyms for f in PURCHASE_FIELDS} == HEADER_SYNONYMS
    assert list(HEADER_SYNONYMS) == list(FIELDS)


def test_the_record_has_every_field_in_order():
    """A field of the registry needs its typed attribute on PurchaseRecord (else the validator
    would build records without it and it would never be sent)."""
    assert tuple(PurchaseRecord.model_fields) == ("row", *FIELDS)


def test_record_maker_builds_what_pydantic_builds():
    """The validator's records skip pydantic's copy: they must equal its copies, down to the
    fields set (model_dump(exclude_unset=True) reads them), and stay frozen and separate."""
    names = ("row", "lead_id", "purchase_amount", "date", "trigger_ids")
    when = datetime(2026, 3, 1, tzinfo=UTC)
    values = (7, LEAD, Decimal("10.50"), when, ("aefcfad8-efc8-4849-b3aa-7efe4458a885",))
    make = records.record_maker(names)
    made, again = make(values), make(values)
    update = dict(zip(names, values, strict=True))
    copied = PurchaseRecord.model_construct(row=0).model_copy(update=update)
    assert made == copied and made.__dict__ == copied.__dict__
    assert made.model_fields_set == copied.model_fields_set
    assert made.model_dump(exclude_unset=True) == copied.model_dump(exclude_unset=True)
    assert made.payload() == copied.payload()
    assert made.__dict__ is not again.__dict__
    assert made.model_fields_set is not again.model_fields_set
    with pytest.raises(pydantic.ValidationError):
        made.lead_id = "other"


def test_the_parse_table_is_the_mapped_fields():
    for columns in ({name: f"Column {i}" for i, name in enumerate(FIELDS)}, {"reference": "Ref"}):
        headers = list(columns.values())
        validator = RowValidator(headers, columns, ColumnDecisions(), ValidationOptions())
        assert list(validator._parsers) == list(columns)


def test_the_fast_paths_follow_the_parsers():
    assert set(parsers.fast_paths(PURCHASE_FIELDS, ".")) == {
        "lead_id",
        "product_id",
        "purchase_amount",
    }


@pytest.mark.parametrize("field", ALL)
def test_every_example_cell_reads_with_the_field_s_parser(field: PurchaseField):
    reading = parsers.Reading(ColumnDecisions(), ValidationOptions(), UTC)
    parse = parsers.parse_functions([field], reading)[field.name]
    for cell in CELLS[field.name]:
        assert parse(cell) is not None


def full_record(**changes) -> PurchaseRecord:
    """A free-text purchase with every field filled: each read from its first cell of CELLS."""
    reading = parsers.Reading(ColumnDecisions(), ValidationOptions(), UTC)
    parse = parsers.parse_functions(PURCHASE_FIELDS, reading)
    values = {name: parse[name](CELLS[name][0]) for name in FIELDS}
    values |= {"date": values["date"][0], "product_id": None}  # a date without its flag
    return PurchaseRecord(row=2, **values | changes)


def recorded_record(**changes) -> PurchaseRecord:
    """The purchase whose bytes and identity were computed before the registry."""
    values = dict(
        row=2,
        lead_id=LEAD,
        legacy_lead_id=12345,
        purchase_amount=Decimal("1500.10"),
        date=datetime(2026, 3, 2, 10, 30, tzinfo=UTC),
        product_name="Pro plan",
        product_description="Annual subscription",
        trigger_ids=("aefcfad8-efc8-4849-b3aa-7efe4458a885",),
        reference="INV-1",
        currency="USD",
    )
    return PurchaseRecord(**values | changes)


def test_the_payload_carries_every_sent_field_in_order():
    free_text = [f.payload_key for f in sent_fields(PURCHASE_FIELDS) if f.name != "product_id"]
    assert list(full_record().payload()) == ["action", *free_text]
    catalog = full_record(product_name=None, product_id="44332211-aabb-ccdd-eeff-001122334455")
    keys = [f.catalog_key or f.payload_key for f in sent_fields(PURCHASE_FIELDS)]
    sent = [f.name for f in sent_fields(PURCHASE_FIELDS)]
    assert sent[: len(PAYLOAD_ORDER)] == list(PAYLOAD_ORDER)  # a field sent later goes after
    assert list(catalog.payload()) == ["action", *[k for k in keys if k != "product_name"]]
    unsent = {f.name for f in PURCHASE_FIELDS if f.payload_key is None}
    assert unsent == {"legacy_lead_id", "reference", "currency"}


def test_payload_bytes_and_identities_are_those_recorded_before_the_registry():
    """A body's bytes and the ledger's identity name purchases already created: pinned to
    the values computed by the code before the registry, but for the amount's one form of
    schema 2 (0 is sent as 0.00; importer.ledger.upgrade gives older rows these identities)."""
    record = recorded_record(purchase_amount=Decimal("0"))
    candidate = identity.candidate_for(record, action="create_purchase", lead_id=LEAD)
    assert dumps_payload(record.payload()) == (
        b'{"action":"create_purchase","lead_id":"47378190-96da-4dac-b2ff-5d2a386ecbe0",'
        b'"purchase_amount":0.00,"product_name":"Pro plan","product_description":'
        b'"Annual subscription","date":"2026-03-02T10:30:00Z","trigger_ids":'
        b'["aefcfad8-efc8-4849-b3aa-7efe4458a885"]}'
    )
    assert candidate.identity == "adfa79be251b9c26d03d86072069859862af3dc7cb4f1b7d2e002568c924218c"
    catalog = recorded_record(product_name=None, product_id="c241330b-01a9-471f-9e8a-774bcf36d58b")
    body = dumps_payload(catalog.payload())
    assert b'"product_id":"c241330b-01a9-471f-9e8a-774bcf36d58b","description":"Annual' in body


def test_the_ledger_identity_holds_the_identity_fields_never_sent():
    assert identity.UNSENT_PARTS == unsent_identity(PURCHASE_FIELDS) == ("reference", "currency")


def test_the_duplicate_key_covers_exactly_the_identity_fields():
    columns = {name: name for name in FIELDS}
    validator = RowValidator(list(FIELDS), columns, ColumnDecisions(), ValidationOptions())
    in_key = {name for part in validator.duplicates.purchase_parts for name in part}
    identity_fields = {f.name for f in PURCHASE_FIELDS if f.identity}
    assert in_key == identity_fields - {REFERENCE}


@pytest.mark.parametrize("field", [p for p in ALL if p.values[0].identity])
def test_rows_differing_only_by_an_identity_field_are_not_duplicates(field: PurchaseField):
    """Two rows that differ only by ``field`` are both valid; the same two rows alike are one
    purchase and a copy (so the comparison has teeth)."""
    lead = [] if field.alternative_to == "lead_id" else ["lead_id"]  # a legacy id stands alone
    names = list(dict.fromkeys([*lead, "purchase_amount", "date", field.name]))
    columns = {name: BY_NAME[name].words for name in names}

    def row(pick: int) -> list[str]:
        return [CELLS[n][pick if n == field.name else 0] for n in names]

    assert check_rows(columns, [row(0), row(1)])[0] == [RowStatus.VALID, RowStatus.VALID]
    assert check_rows(columns, [row(0), row(0)])[0] == [RowStatus.VALID, RowStatus.SKIPPED]


def test_templates():
    documented = templates.documented_fields(PURCHASE_FIELDS)
    assert sorted(f.name for f in documented) == sorted(FIELDS)
    assert [
        (f.words, f.name, templates.required_words(f, PURCHASE_FIELDS), f.template.text)
        for f in documented
    ] == templates.COLUMN_DOCS
    with_column = [f for f in documented if f.template.examples is not None]
    assert [f.words for f in with_column] == templates.TEMPLATE_HEADERS
    assert [[f.template.examples[i] for f in with_column] for i in (0, 1)] == templates.EXAMPLE_ROWS
    assert templates.TEMPLATE_HEADERS[:4] == ["Lead ID", "Amount", "Currency", "Date"]
    assert {row[1]: row[2] for row in templates.COLUMN_DOCS if row[2] != "no"} == {
        "lead_id": "yes*",
        "legacy_lead_id": "yes*",
    }


def test_edited_row_words():
    keys = {key for f in sent_fields(PURCHASE_FIELDS) for key in (f.payload_key, f.catalog_key)}
    assert set(changed._FIELD_NAMES) == keys - {None}
    assert changed._FIELD_NAMES["purchase_amount"] == "amount"
    assert changed._FIELD_NAMES["description"] == "product description"


def test_the_match_step_finds_every_field_by_its_words():
    headers = [f.words for f in PURCHASE_FIELDS]
    matches = match_fields(headers, {h: ["x"] for h in headers}, {})
    assert [(m.field, m.column) for m in matches] == [(f.name, f.words) for f in PURCHASE_FIELDS]


# --- adding a field --------------------------------------------------------------------------

COUPON = PurchaseField(
    "test_coupon",
    words="Test coupon",
    synonyms=("testcoupon", "trialcoupon"),
    parser="text",
    payload_key="test_coupon",
    template=TemplateHelp("The discount code the buyer used.", examples=("SPRING10", "")),
)
WITH_COUPON = (*PURCHASE_FIELDS, COUPON)


def test_tables_derived_from_a_registry_with_one_more_field_have_it():
    assert field_names(WITH_COUPON)[-1] == "test_coupon"
    assert fields.field_labels(WITH_COUPON)["test_coupon"] == "Test coupon"
    assert header_synonyms(WITH_COUPON)["test_coupon"] == ("testcoupon", "trialcoupon")
    sent = field_names(sent_fields(PURCHASE_FIELDS))
    assert field_names(sent_fields(WITH_COUPON)) == (*sent, "test_coupon")  # sent last
    assert records.payload_plan(WITH_COUPON)[-1][:3] == ("test_coupon",) * 3
    assert identity_parts(WITH_COUPON)[-1] == ("test_coupon",)
    assert unsent_identity(WITH_COUPON) == ("reference", "currency")  # sent: in the body
    assert changed.field_words(WITH_COUPON)["test_coupon"] == "test coupon"
    assert templates.template_columns(WITH_COUPON)[-1] is COUPON
    assert templates.documented_fields(WITH_COUPON)[-1] is COUPON
    reading = parsers.Reading(ColumnDecisions(), ValidationOptions(), UTC)
    assert parsers.parse_functions(WITH_COUPON, reading)["test_coupon"](" X1 ") == "X1"


@pytest.fixture
def coupon_registry(monkeypatch):
    """The registry with COUPON, and a record type with its attribute (the one line a new
    field adds to PurchaseRecord)."""
    record = pydantic.create_model(
        "CouponRecord", __base__=PurchaseRecord, test_coupon=(str | None, None)
    )
    monkeypatch.setattr(fields, "PURCHASE_FIELDS", WITH_COUPON)
    monkeypatch.setattr(records, "SENT", records.payload_plan(WITH_COUPON))
    monkeypatch.setattr(validator_module, "PurchaseRecord", record)
    return record


def test_an_added_field_is_read_sent_and_tells_purchases_apart(coupon_registry):
    columns = {"lead_id": "Lead ID", "purchase_amount": "Amount", "test_coupon": "Coupon"}
    rows = [[LEAD, "10.00", "SPRING10"], [LEAD, "10.00", "AUTUMN5"], [LEAD, "10.00", ""]]

    statuses, found = check_rows(columns, rows, build_records=True)

    assert statuses == [RowStatus.VALID] * 3  # not skipped as copies of each other
    assert [r.test_coupon for r in found] == ["SPRING10", "AUTUMN5", None]
    assert [r.payload() for r in found] == [
        {"action": "create_purchase", "lead_id": LEAD, "purchase_amount": Decimal("10.00")}
        | ({"test_coupon": code} if code else {})
        for code in ("SPRING10", "AUTUMN5", "")
    ]
    again = check_rows(columns, [rows[0], rows[0]])[0]
    assert again == [RowStatus.VALID, RowStatus.SKIPPED]


def test_an_added_field_that_is_not_part_of_the_identity_does_not_tell_purchases_apart(
    coupon_registry, monkeypatch
):
    monkeypatch.setattr(fields, "PURCHASE_FIELDS", (*PURCHASE_FIELDS, _not_identity(COUPON)))
    columns = {"lead_id": "Lead ID", "purchase_amount": "Amount", "test_coupon": "Coupon"}
    rows = [[LEAD, "10.00", "SPRING10"], [LEAD, "10.00", "AUTUMN5"]]

    assert check_rows(columns, rows)[0] == [RowStatus.VALID, RowStatus.SKIPPED]


def _not_identity(field: PurchaseField) -> PurchaseField:
    return dataclasses.replace(field, identity=False)
