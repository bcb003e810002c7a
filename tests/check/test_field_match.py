"""match_fields: one FieldMatch per field, with how sure the match is; value guesses are offers."""

from __future__ import annotations

import pytest

from importer.check.mapping import (
    FieldMatch,
    load_mapping_file,
    match_fields,
    parse_map_options,
    require_fields,
    resolve_columns,
)
from importer.errors import MappingError
from importer.records import FIELDS


def by_field(matches: list[FieldMatch]) -> dict[str, FieldMatch]:
    return {m.field: m for m in matches}


def test_one_match_per_field_in_field_order():
    matches = match_fields(["Lead ID", "Amount"], {}, {})

    assert [m.field for m in matches] == list(FIELDS)


def test_exact_synonym_and_none():
    headers = ["lead_id", "Net amount", "Notes"]
    found = by_field(match_fields(headers, {"Notes": ["hello"]}, {}))

    assert found["lead_id"] == FieldMatch(
        "lead_id", "lead_id", "exact", "'lead_id' (from the header)"
    )
    assert found["purchase_amount"] == FieldMatch(
        "purchase_amount", "Net amount", "synonym", "'Net amount' (from the header)"
    )
    assert found["date"] == FieldMatch("date", None, "none", "no column found")


def test_explicit_mapping_is_exact():
    found = by_field(match_fields(["Lead ID", "Umsatz"], {}, {"purchase_amount": "Umsatz"}))

    assert found["purchase_amount"] == FieldMatch(
        "purchase_amount", "Umsatz", "exact", "'Umsatz' (from your mapping)"
    )


def test_amount_and_date_found_by_values_are_suggestions_only():
    headers = ["Lead ID", "Kunde", "Umsatz", "Tag"]
    samples = {
        "Lead ID": ["3f2b8c1e-9d4a-4e6b-8f1a-2c3d4e5f6a7b"],
        "Kunde": ["Müller GmbH"],
        "Umsatz": ["1.250,00", "99,90"],
        "Tag": ["21.04.2026", "03.04.2026"],
    }
    found = by_field(match_fields(headers, samples, {}))

    assert found["purchase_amount"] == FieldMatch(
        "purchase_amount",
        "Umsatz",
        "values",
        "'Umsatz' holds amounts: --map purchase_amount='Umsatz'",
    )
    assert found["date"] == FieldMatch(
        "date", "Tag", "values", "'Tag' holds dates: --map date='Tag'"
    )
    # resolve_columns (what is applied) never takes a value guess
    assert resolve_columns(headers, {}) == {"lead_id": "Lead ID"}


@pytest.mark.parametrize(
    "values",
    [
        pytest.param(["1001", "1002"], id="whole-numbers-are-ids-or-quantities"),
        pytest.param(["1.50", "abc"], id="one-value-is-text"),
        pytest.param([], id="no-values"),
    ],
)
def test_values_that_do_not_look_like_amounts(values):
    found = by_field(match_fields(["Lead ID", "X"], {"X": values}, {}))

    assert found["purchase_amount"].confidence == "none"


def test_plain_numbers_are_not_taken_for_dates():
    found = by_field(match_fields(["Lead ID", "N"], {"N": ["45123", "45124"]}, {}))

    assert found["date"].confidence == "none"


def test_a_column_taken_by_a_header_match_is_not_guessed_again():
    samples = {"Reference": ["12.50"], "Betrag X": ["3,50"]}
    found = by_field(match_fields(["Lead ID", "Reference", "Betrag X"], samples, {}))

    assert found["reference"].column == "Reference"
    assert found["purchase_amount"].column == "Betrag X"


@pytest.mark.parametrize(
    ("header", "field"),
    [
        ("Montant HT", "purchase_amount"),
        ("Betrag in HW", "purchase_amount"),
        ("Betrag in BW", "purchase_amount"),
        ("Deal Amount", "purchase_amount"),
        ("Gross amount", "purchase_amount"),
        ("LineAmount", "purchase_amount"),
        ("Paid at", "date"),
        ("Created date (UTC)", "date"),
        ("created_at", "date"),
        ("Belegdatum", "date"),
        ("Close Date", "date"),
        ("Posting date", "date"),
        ("Date de facture", "date"),
    ],
)
def test_headers_of_real_exports_are_synonyms(header, field):
    found = by_field(match_fields(["Lead ID", header], {}, {}))

    assert (found[field].column, found[field].confidence) == (header, "synonym")


def test_empty_map_switches_an_automatic_match_off():
    mapping = parse_map_options(["reference="])
    found = by_field(match_fields(["Lead ID", "Reference"], {}, mapping.columns))

    assert mapping.columns == {"reference": ""}
    assert found["reference"] == FieldMatch(
        "reference", None, "none", "switched off by the mapping"
    )
    assert resolve_columns(["Lead ID", "Reference"], mapping.columns) == {"lead_id": "Lead ID"}


def test_empty_column_in_mapping_file_switches_the_field_off(tmp_path):
    path = tmp_path / "m.toml"
    path.write_text('[columns]\nreference = ""\n', encoding="utf-8")

    assert load_mapping_file(path).columns == {"reference": ""}


def test_missing_explicit_column_is_a_note_not_an_error():
    found = by_field(match_fields(["Lead ID"], {}, {"purchase_amount": "Net"}))

    assert found["purchase_amount"] == FieldMatch(
        "purchase_amount",
        None,
        "none",
        "column 'Net' (mapped to purchase_amount) is not in the file",
    )


def test_require_fields_names_the_field_the_guess_and_the_columns():
    headers = ["Lead ID", "Montant X", "Client"]
    samples = {"Montant X": ["1 250,00"], "Client": ["Durand"]}
    matches = match_fields(headers, samples, {})

    with pytest.raises(MappingError) as caught:
        require_fields(matches, headers, no_amount=False, no_date=False)

    assert caught.value.message == (
        "no column is mapped to purchase_amount: every purchase would be sent without an "
        "amount; no column is mapped to date: every purchase would be dated when Keen receives it"
    )
    assert caught.value.hint == (
        "'Montant X' holds amounts: --map purchase_amount='Montant X'; --no-amount to send "
        "without an amount (fixed rewards only); --no-date to send without a date (dated when "
        "Keen receives them); columns in the file: 'Lead ID', 'Montant X', 'Client'"
    )


def test_require_fields_accepts_the_opt_outs():
    matches = match_fields(["Lead ID"], {}, {})

    require_fields(matches, ["Lead ID"], no_amount=True, no_date=True)  # no error
