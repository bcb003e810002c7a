"""Options given in Python (Mapping(...), job.set_options) are checked as a mapping file's
are: a quoted "false" was truthy, and numbers and single ids failed deep inside."""

from __future__ import annotations

from decimal import Decimal

import pandas as pd
import pytest
from conftest import LEAD_1, LEAD_2, TRIGGER_1, write_csv

import importer
from importer.errors import ConfigurationError, ControlTotalError, MappingError
from importer.sandbox import DEMO_API_KEY, Sandbox

TWO_ROWS = f"Lead ID,Amount,Date\r\n{LEAD_1},1500.00,2026-03-02\r\n{LEAD_2},2250.00,2026-03-03\r\n"


@pytest.fixture
def job(tmp_path):
    return importer.open_import(write_csv(tmp_path / "m.csv", TWO_ROWS))


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"allow_duplicates": "false"},
         "allow_duplicates must be true or false (without quotes), not 'false'"),
        ({"day_first": "no"}, "day_first must be true or false (without quotes), not 'no'"),
        ({"skip_hidden": 1}, "skip_hidden must be true or false (without quotes), not 1"),
        ({"decimal": ";"}, 'decimal must be "." or ","'),
        ({"action": "create"}, "action must be create_purchase or create_purchase_custom"),
        ({"timezone": 1}, "timezone must be text in quotes, not 1"),
        ({"proxy": b"http://u:secret@proxy:3128"}, "proxy must be text in quotes, not bytes"),
        ({"trigger_ids": [1]}, "trigger_ids must be a list of UUIDs"),
        ({"where": {"Country": "DE"}}, 'where must be a list of "COLUMN=VALUE[,VALUE...]"'),
    ],
)  # fmt: skip
def test_a_mistyped_option_is_refused_by_mapping_and_set_options(job, options, message):
    with pytest.raises(ConfigurationError) as made:
        importer.Mapping(**options)
    with pytest.raises(ConfigurationError) as set_:
        job.set_options(**options)

    assert made.value.message == set_.value.message == message
    assert job.mapping == importer.Mapping()  # nothing taken


def test_a_quoted_false_sends_no_duplicate(tmp_path):
    row = {"Lead ID": LEAD_1, "Amount": "10.00", "Date": "2026-03-02", "Reference": "R1"}
    frame = pd.DataFrame([row, row])

    with Sandbox() as sandbox:
        with pytest.raises(ConfigurationError, match="^allow_duplicates must be true or false"):
            importer.run_import(
                frame, importer.Mapping(allow_duplicates="false"), name="dup",
                api_key=DEMO_API_KEY, api_url=sandbox.base_url, out_dir=tmp_path,
            )  # fmt: skip
        report = importer.run_import(
            frame, importer.Mapping(allow_duplicates=False), name="dup",
            api_key=DEMO_API_KEY, api_url=sandbox.base_url, out_dir=tmp_path,
        )  # fmt: skip
        purchases = sandbox.purchases()

    assert report.results_frame()["status"].tolist() == ["created", "skipped"]
    assert [p["purchase_amount"] for p in purchases] == ["10.00"]


def test_one_trigger_id_as_text_is_one_id(job):
    job.set_options(trigger_ids=TRIGGER_1)

    assert job.mapping.trigger_ids == (TRIGGER_1,)
    assert importer.Mapping(trigger_ids=TRIGGER_1).trigger_ids == (TRIGGER_1,)
    job.set_options(trigger_ids=None)
    assert job.mapping.trigger_ids == ()


@pytest.mark.parametrize(
    ("given", "kept"),
    [(3750, "3750"), (Decimal("3750.00"), "3750.00"), (3750.0, "3750.0"), ("3750.00", "3750.00"),
     ("3,750.00:usd", "3,750.00:usd")],
)  # fmt: skip
def test_expect_total_takes_an_int_a_decimal_an_exact_float_or_text(job, given, kept):
    job.set_options(expect_total=given, expect_rows="2")

    assert job.controls == {"expect_total": kept, "expect_rows": 2}
    assert job.check().exit_code == 0  # 1500.00 + 2250.00 = 3750, in 2 rows


def test_a_control_total_given_as_a_number_is_still_checked(job):
    job.set_options(expect_total=Decimal("3750.01"), expect_rows=2)

    with pytest.raises(ControlTotalError) as raised:
        job.check()

    assert "3,750.01 was expected (difference -0.01)" in raised.value.message


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"expect_total": 0.1},
         "expect_total must be an amount (text such as '3750.00:EUR', an int or a Decimal; a "
         "float only when exact), not 0.1"),
        ({"expect_total": True},
         "expect_total must be an amount (text such as '3750.00:EUR', an int or a Decimal; a "
         "float only when exact), not True"),
        ({"expect_total": "about 3750"},
         "--expect-total 'about 3750' is not AMOUNT or AMOUNT:CURRENCY"),
        ({"expect_rows": "2 rows"}, "expect_rows must be a whole number of rows, not '2 rows'"),
        ({"expect_rows": 2.0}, "expect_rows must be a whole number of rows, not 2.0"),
        ({"expect_rows": -1}, "expect_rows must be a whole number of rows, not -1"),
        ({"expect_rows": 2, "day_first": "no"},
         "day_first must be true or false (without quotes), not 'no'"),
    ],
)  # fmt: skip
def test_a_control_that_is_no_number_is_refused_and_nothing_is_taken(job, options, message):
    with pytest.raises(ConfigurationError) as raised:
        job.set_options(**options)

    assert raised.value.message == message
    assert job.controls == {}


def test_apply_mapping_of_a_list_is_refused_clearly(job):
    with pytest.raises(MappingError) as raised:
        job.apply_mapping(["Amount"])

    assert raised.value.message == (
        "a mapping is a Mapping, a {field: column} dict or the path of a TOML mapping file, "
        "not ['Amount']"
    )
