"""Mapping columns to fields: header spellings, --map, TOML mapping files, missing columns."""

from __future__ import annotations

import datetime as dt
from datetime import UTC
from decimal import Decimal
from pathlib import Path

import pytest
from conftest import LEAD_1, LEAD_2, TRIGGER_1, check_file, read_results_csv, write_csv

from importer.check.mapping import Mapping, load_mapping_file, resolve_columns
from importer.errors import InputFileError, MappingError
from importer.read.headers import fold_header
from importer.read.loader import open_table
from importer.records import FIELDS


def one_row(tmp_path) -> Path:
    """m.csv: a lead and an amount, one row."""
    return write_csv(tmp_path / "m.csv", f"Lead ID,Amount\r\n{LEAD_1},1\r\n")


def toml_file(tmp_path, text: str, name: str = "m.toml") -> Path:
    """A mapping file holding ``text``."""
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def validate_with(cli, mapping: Path, path: Path | None = None) -> tuple[int, list[str]]:
    """``keen-import validate PATH --mapping MAPPING``: (exit code, stderr lines). Without
    ``path``, PATH is ``one_row``'s m.csv beside the mapping file."""
    return cli("validate", path or one_row(mapping.parent), "--mapping", mapping)


@pytest.mark.parametrize(
    ("header", "field"),
    [
        pytest.param("Lead ID", "lead_id", id="Lead ID"),
        pytest.param("lead-id", "lead_id", id="lead-id"),
        pytest.param(" LEAD_id ", "lead_id", id="LEAD_id"),
        pytest.param("Legacy lead ID", "legacy_lead_id", id="Legacy lead ID"),
        pytest.param("Amount", "purchase_amount", id="Amount"),
        pytest.param("Purchase Amount", "purchase_amount", id="Purchase Amount"),
        pytest.param("Date", "date", id="Date"),
        pytest.param("Invoice date", "date", id="Invoice date"),
        pytest.param("Product", "product_name", id="Product"),
        pytest.param("Product ID", "product_id", id="Product ID"),
        pytest.param("Description", "product_description", id="Description"),
        pytest.param("Trigger IDs", "trigger_ids", id="Trigger IDs"),
        pytest.param("Invoice number", "reference", id="Invoice number"),
        pytest.param("Currency", "currency", id="Currency"),
    ],
)
def test_header_spellings_recognised(header, field):
    headers = ["Lead ID", header] if field != "lead_id" else [header, "Notes"]

    columns = resolve_columns(headers, {})

    assert columns[field] == header


def test_fold_header_ignores_case_spaces_and_punctuation():
    assert fold_header("Lead ID") == fold_header("lead-id") == fold_header(" LEAD_id ") == "leadid"


def test_typical_export_mapped_in_field_order():
    headers = ["Invoice date", "Lead ID", "Purchase Amount", "Product", "Notes", "Invoice"]

    assert resolve_columns(headers, {}) == {
        "lead_id": "Lead ID",
        "purchase_amount": "Purchase Amount",
        "date": "Invoice date",
        "product_name": "Product",
        "reference": "Invoice",
    }


def test_mapping_used_line_printed(tmp_path, cli):
    path = write_csv(
        tmp_path / "m.csv",
        "lead-id,Purchase Amount,Invoice date,Product,Notes\r\n"
        f"{LEAD_1},1500,2026-03-02,Pro,hello\r\n",
    )

    code, err = cli("validate", path)

    assert code == 0
    assert err[:3] == [
        "m.csv: encoding utf-8, delimiter ',', header on row 1",
        "mapping used: lead_id <- 'lead-id', purchase_amount <- 'Purchase Amount', "
        "date <- 'Invoice date', product_name <- 'Product'",
        "decimal separator '.' (default)",
    ]


def test_map_option_chooses_columns(tmp_path, cli):
    path = write_csv(
        tmp_path / "m.csv",
        f"Customer,Net,Gross,When\r\n{LEAD_1},100,125,2026-03-02\r\n",
    )

    code, err = cli(
        "validate",
        path,
        "--map",
        "lead_id=Customer",
        "--map",
        "purchase_amount=Net",
        "--map",
        "date=When",
    )

    assert code == 0
    assert err[1] == "mapping used: lead_id <- 'Customer', purchase_amount <- 'Net', date <- 'When'"
    [row] = read_results_csv(tmp_path / "m.results.csv")
    assert (row["Gross"], row["status"]) == ("125", "valid")


def test_map_overrides_recognised_spelling(tmp_path):
    path = write_csv(tmp_path / "m.csv", f"Lead ID,Amount,Net\r\n{LEAD_1},125,100\r\n")

    [(_, status, _, _, record)] = check_file(path, Mapping(columns={"purchase_amount": "Net"}))

    assert status == "valid"
    assert record.purchase_amount == Decimal("100")


def test_map_column_matched_ignoring_case_and_punctuation():
    assert resolve_columns(["Lead ID", "Net amount"], {"purchase_amount": "net-AMOUNT"}) == {
        "lead_id": "Lead ID",
        "purchase_amount": "Net amount",
    }


def test_mapped_column_missing_lists_columns(tmp_path, cli):
    path = write_csv(tmp_path / "m.csv", f"Lead ID,Amount,Date\r\n{LEAD_1},1,2026-03-02\r\n")

    with pytest.raises(MappingError) as raised:
        resolve_columns(["Lead ID", "Amount", "Date"], {"purchase_amount": "Net"})
    assert raised.value.message == "column 'Net' (mapped to purchase_amount) is not in the file"
    assert raised.value.hint == "columns in the file: 'Lead ID', 'Amount', 'Date'"

    code, err = cli("validate", path, "--map", "purchase_amount=Net")
    assert code == 2
    assert err == [
        "error: column 'Net' (mapped to purchase_amount) is not in the file",
        "hint: columns in the file: 'Lead ID', 'Amount', 'Date'",
    ]
    assert not (tmp_path / "m.results.csv").exists()


def test_no_lead_column_exit_2(tmp_path, cli):
    path = write_csv(tmp_path / "m.csv", "Customer,Amount\r\nACME,1500\r\n")

    code, err = cli("validate", path)

    assert code == 2
    assert err == [
        "error: no lead column found (neither lead_id nor legacy_lead_id)",
        "hint: map one with --map lead_id=COLUMN; columns in the file: 'Customer', 'Amount' "
        "(the header is looked for in rows 1-20 of a CSV, 1-60 of a sheet)",
    ]
    assert not (tmp_path / "m.results.csv").exists()


def test_legacy_lead_column_is_enough(tmp_path):
    path = write_csv(tmp_path / "m.csv", "Legacy lead ID,Amount\r\n12345,10\r\n")

    [(_, status, error, _, record)] = check_file(path)

    assert (status, error) == ("valid", None)
    assert record.legacy_lead_id == 12345
    assert record.lead_id is None


@pytest.mark.parametrize(
    "second", [pytest.param("Amount", id="same"), pytest.param("amount", id="other-case")]
)
def test_duplicate_header_exit_2_naming_it(tmp_path, cli, second):
    path = write_csv(tmp_path / "d.csv", f"Lead ID,Amount,{second}\r\n{LEAD_1},1,2\r\n")

    with pytest.raises(InputFileError) as raised:
        open_table(path)
    assert raised.value.message == (
        f"d.csv: the column {second!r} appears twice (columns 2 and 3); "
        "rename one of them so it is clear which one to import"
    )
    code, err = cli("validate", path)
    assert code == 2
    assert err == [f"error: {raised.value.message}"]


def test_map_option_unknown_field(tmp_path, cli):
    code, err = cli("validate", one_row(tmp_path), "--map", "amount=Amount")

    assert code == 2
    assert err[0] == "error: --map: unknown field 'amount'"
    assert err[1].startswith("hint: known fields: lead_id, legacy_lead_id, purchase_amount, ")


def test_map_option_without_equals(tmp_path, cli):
    code, err = cli("validate", one_row(tmp_path), "--map", "purchase_amount")

    assert code == 2
    assert err[0] == "error: --map 'purchase_amount' is not FIELD=COLUMN"


# --- mapping files ----------------------------------------------------------------------------

MAPPING_TOML = f"""
day_first = true

[columns]
lead_id = "Kunde"
purchase_amount = "Beløb"
date = "Dato"

[options]
decimal = ","
timezone = "Europe/Copenhagen"
trigger_ids = ["{TRIGGER_1}"]
"""


def test_load_mapping_file_reads_columns_and_options(tmp_path):
    mapping = load_mapping_file(toml_file(tmp_path, MAPPING_TOML, "map.toml"))

    assert mapping.columns == {"lead_id": "Kunde", "purchase_amount": "Beløb", "date": "Dato"}
    assert mapping.day_first is True
    assert mapping.decimal == ","
    assert mapping.timezone == "Europe/Copenhagen"
    assert mapping.trigger_ids == (TRIGGER_1,)


def test_mapping_file_used_by_validate(tmp_path, cli):
    mapping = toml_file(tmp_path, MAPPING_TOML, "map.toml")
    path = write_csv(
        tmp_path / "dk.csv",
        f"Kunde;Beløb;Dato\r\n{LEAD_1};1.500,50;03/04/2026\r\n{LEAD_2};2.000;05/04/2026\r\n",
    )

    code, err = validate_with(cli, mapping, path)

    assert code == 0
    assert err[1:4] == [
        "mapping used: lead_id <- 'Kunde', purchase_amount <- 'Beløb', date <- 'Dato'",
        "decimal separator ',' (option)",
        "dates read day-first (option)",
    ]
    rows = check_file(path, load_mapping_file(mapping))
    records = [r[4] for r in rows]
    assert [r.purchase_amount for r in records] == [Decimal("1500.50"), Decimal("2000")]
    assert [r.date for r in records] == [
        dt.datetime(2026, 4, 2, 22, 0, tzinfo=UTC),
        dt.datetime(2026, 4, 4, 22, 0, tzinfo=UTC),
    ]
    assert [r.trigger_ids for r in records] == [(TRIGGER_1,), (TRIGGER_1,)]


def test_command_line_flags_override_mapping_file(tmp_path, cli):
    mapping = toml_file(tmp_path, MAPPING_TOML, "map.toml")
    path = write_csv(tmp_path / "dk.csv", f"Kunde;Beløb;Dato\r\n{LEAD_1};1500;03/04/2026\r\n")

    code, err = cli("validate", path, "--mapping", mapping, "--month-first", "--decimal", ".")

    assert code == 0
    assert err[2:4] == ["decimal separator '.' (option)", "dates read month-first (option)"]


def test_mapping_file_that_does_not_parse(tmp_path, cli):
    mapping = toml_file(tmp_path, '[columns]\nlead_id = "Lead ID\n', "bad.toml")

    code, err = validate_with(cli, mapping)

    assert code == 2
    assert err[0].startswith(f"error: mapping file {mapping} is not valid TOML: ")
    assert err[1] == "hint: see templates/mapping.example.toml"
    assert not (tmp_path / "m.results.csv").exists()


def test_mapping_file_names_unknown_field(tmp_path, cli):
    mapping = toml_file(tmp_path, '[columns]\nlead_id = "Lead ID"\namount = "Amount"\n', "bad.toml")

    code, err = validate_with(cli, mapping)

    assert code == 2
    assert err[0] == f"error: mapping file {mapping}: unknown field 'amount'"
    assert err[1].startswith("hint: known fields: lead_id, ")


def test_mapping_file_names_unknown_option(tmp_path):
    mapping = toml_file(tmp_path, 'dayfirst = true\n[columns]\nlead_id = "Lead ID"\n', "bad.toml")

    with pytest.raises(MappingError) as raised:
        load_mapping_file(mapping)

    assert raised.value.message == f"mapping file {mapping}: unknown option 'dayfirst'"


def test_mapping_file_missing(tmp_path, cli):
    code, err = validate_with(cli, tmp_path / "nope.toml")

    assert code == 2
    assert err == [f"error: mapping file not found: {tmp_path / 'nope.toml'}"]


def test_mapping_file_bad_decimal(tmp_path):
    mapping = toml_file(tmp_path, 'decimal = ";"\n', "bad.toml")

    with pytest.raises(MappingError) as raised:
        load_mapping_file(mapping)

    assert raised.value.message == f'mapping file {mapping}: decimal must be "." or ","'


EXAMPLE_MAPPING = Path(__file__).resolve().parents[2] / "templates" / "mapping.example.toml"


def test_example_mapping_template_loads():
    mapping = load_mapping_file(EXAMPLE_MAPPING)

    assert {"lead_id", "legacy_lead_id"} & set(mapping.columns)


def test_mapping_file_string_booleans_refused(tmp_path, cli):
    mapping = toml_file(tmp_path, 'day_first = "false"\nallow_duplicates = "false"\n')
    path = write_csv(
        tmp_path / "m.csv",
        "Lead ID,Amount,Date,Reference\r\n"
        f"{LEAD_1},10,03/04/2026,A\r\n{LEAD_2},20,03/04/2026,A\r\n",
    )

    code, err = validate_with(cli, mapping, path)

    assert code == 2
    assert err[0].startswith(f"error: mapping file {mapping}: day_first must be true or false")


def test_mapping_file_timezone_of_wrong_type(tmp_path, cli):
    mapping = toml_file(tmp_path, "timezone = 5\n")

    code, err = validate_with(cli, mapping)

    assert code == 2
    assert err[0].startswith(f"error: mapping file {mapping}: ")


def test_mapping_file_bad_trigger_id(tmp_path, cli):
    mapping = toml_file(tmp_path, 'trigger_ids = ["not-a-uuid"]\n')

    code, err = validate_with(cli, mapping)

    assert code == 2
    assert "not-a-uuid" in err[0]


def test_units_in_brackets_and_prefixed_lead_headers_are_recognised():
    from importer.check.mapping import resolve_columns

    headers = ["Partner Lead ID", "Amount (EUR)", "Invoice Date [UTC]", "Item", "Notes"]
    assert resolve_columns(headers, {}) == {
        "lead_id": "Partner Lead ID",
        "purchase_amount": "Amount (EUR)",
        "date": "Invoice Date [UTC]",
        "product_name": "Item",
    }


def test_saved_mapping_file_reads_back_identical(tmp_path):
    from importer.check.mapping import Mapping, load_mapping_file, save_mapping_file

    mapping = Mapping(
        columns={"lead_id": 'Lead "ID" \\ x', "date": "Dato\tÅ", "reference": "Ref\x01\x7f"},
        day_first=True,
        decimal=",",
        allow_duplicates=False,
        trigger_ids=("aefcfad8-efc8-4849-b3aa-7efe4458a885",),
        period="2026-03",
        action="create_purchase",
    )
    path = save_mapping_file(mapping, tmp_path / "m.toml", comment="saved by\nkeen-import ui")
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# saved by\n# keen-import ui\n[columns]\n")
    assert load_mapping_file(path) == mapping


KNOWN_FIELDS = "known fields: " + ", ".join(FIELDS)


@pytest.mark.parametrize(
    "make",
    [
        lambda columns: Mapping(columns=columns),
        lambda columns: Mapping.of(columns),
        lambda columns: Mapping.of(Mapping(columns=columns)),
    ],
    ids=["Mapping", "Mapping.of", "Mapping.of-Mapping"],
)
def test_a_mapping_dict_refuses_an_unknown_field_as_the_cli_does(make):
    with pytest.raises(MappingError) as raised:
        make({"lead_id": "Lead ID", "amount": "Net amount"})

    assert raised.value.message == "mapping: unknown field 'amount'"
    assert raised.value.hint == KNOWN_FIELDS


def test_a_reversed_mapping_dict_says_key_and_value_look_swapped():
    with pytest.raises(MappingError) as raised:
        Mapping(columns={"Net amount": "purchase_amount"})  # a pandas rename dict

    assert raised.value.message == (
        "mapping: unknown field 'Net amount' ('Net amount' looks like a column and "
        "'purchase_amount' like a field: the field comes first)"
    )
    assert raised.value.hint == KNOWN_FIELDS


def test_a_reversed_map_option_gets_the_same_message(tmp_path, cli):
    code, err = cli("validate", one_row(tmp_path), "--map", "Amount=purchase_amount")

    assert code == 2
    assert err[:2] == [
        "error: --map: unknown field 'Amount' ('Amount' looks like a column and "
        "'purchase_amount' like a field: the field comes first)",
        f"hint: {KNOWN_FIELDS}",
    ]


def test_apply_mapping_and_run_import_refuse_an_unknown_field_before_sending(tmp_path):
    import pandas as pd

    import importer
    from importer.sandbox import DEMO_API_KEY, Sandbox

    path = write_csv(
        tmp_path / "m.csv", f"Lead ID,Amount,Net amount,Date\r\n{LEAD_1},1,2,2026-03-02\r\n"
    )
    job = importer.open_import(path)
    with pytest.raises(MappingError, match=r"^mapping: unknown field 'amount'$"):
        job.apply_mapping({"amount": "Net amount"})
    assert job.mapping.columns == {}
    frame = pd.read_csv(path, dtype=str)
    with Sandbox() as sandbox:
        for given, unknown in (
            ({"amount": "Net amount"}, "'amount'"),
            ({"Net amount": "purchase_amount"}, "'Net amount' ('Net amount' looks like a"),
        ):
            with pytest.raises(MappingError) as raised:
                importer.run_import(
                    frame, given, name="m", api_key=DEMO_API_KEY, api_url=sandbox.base_url,
                    out_dir=tmp_path,
                )  # fmt: skip
            assert raised.value.message.startswith(f"mapping: unknown field {unknown}")
        assert sandbox.purchases() == []
