"""A pandas DataFrame read as typed cells: the same verdicts as the same data in a CSV file."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest
from conftest import LEAD_1, LEAD_2, check_file, write_csv

from importer.errors import ConfigurationError, InputFileError
from importer.read.frame import column_cells, open_frame

NAN = float("nan")


def verdicts(source) -> list[tuple]:
    """(row, status, error, warnings, record) of every row, from a path or a DataFrame."""
    return check_file(source)


def csv_of(header: list[str], rows: list[list[str]]) -> str:
    return "\r\n".join(",".join(cells) for cells in [header, *rows]) + "\r\n"


# Each case: a DataFrame column and, value by value, the text a user would type in a CSV.
AMOUNTS = {
    "float": (pd.Series([1500.0, 249.5, 0.1, NAN, 19.999]), ["1500", "249.5", "0.1", "", "19.999"]),
    "int": (pd.Series([1500, 250, 7, 0, 12], dtype="int64"), ["1500", "250", "7", "0", "12"]),
    "nullable-int": (
        pd.Series([1500, 250, None, 0, 12], dtype="Int64"),
        ["1500", "250", "", "0", "12"],
    ),
    "decimal-objects": (
        pd.Series([Decimal("1500.00"), Decimal("0.10"), None, Decimal("2E+3"), Decimal("19.999")]),
        ["1500.00", "0.10", "", "2000", "19.999"],
    ),
    "text": (
        pd.Series(["1,500.00", "$249.50", None, "12,5O", "-120.00"], dtype=object),
        ['"1,500.00"', "$249.50", "", '"12,5O"', "-120.00"],
    ),
}
DAYS = ["2026-03-02", "2026-03-03 10:15", None, "2026-03-05", "2026-03-06"]
DATES = {
    "naive": (
        pd.Series(pd.to_datetime(DAYS, format="ISO8601")),
        ["2026-03-02", "2026-03-03T10:15:00", "", "2026-03-05", "2026-03-06"],
    ),  # fmt: skip
    "aware": (
        pd.Series(pd.to_datetime(DAYS, format="ISO8601")).dt.tz_localize("Europe/Berlin"),
        [
            "2026-03-02T00:00:00+01:00",
            "2026-03-03T10:15:00+01:00",
            "",
            "2026-03-05T00:00:00+01:00",
            "2026-03-06T00:00:00+01:00",
        ],
    ),  # fmt: skip
    "aware-utc": (
        pd.Series(
            pd.to_datetime(
                ["2026-03-02T23:30Z", None, "2026-03-04", "2026-03-05", "x"],
                format="ISO8601",
                utc=True,
                errors="coerce",
            )
        ),
        [
            "2026-03-02T23:30:00+00:00",
            "",
            "2026-03-04T00:00:00+00:00",
            "2026-03-05T00:00:00+00:00",
            "",
        ],
    ),  # fmt: skip
    "python-dates-in-object-column": (
        pd.Series(
            [
                dt.date(2026, 3, 2),
                dt.datetime(2026, 3, 3, 10, 15),
                None,
                "23/03/2026",
                dt.datetime(2026, 3, 6, tzinfo=dt.UTC),
            ],
            dtype=object,
        ),
        ["2026-03-02", "2026-03-03T10:15:00", "", "23/03/2026", "2026-03-06T00:00:00+00:00"],
    ),  # fmt: skip
}
LEADS = [LEAD_1, LEAD_2, LEAD_1, "not-a-lead", LEAD_2]
REFERENCES = ["00123", "007", "00123", None, "0042"]  # text ids keep their leading zeros


@pytest.mark.parametrize("amounts", AMOUNTS.values(), ids=AMOUNTS.keys())
@pytest.mark.parametrize("dates", DATES.values(), ids=DATES.keys())
def test_frame_and_csv_give_the_same_verdicts_row_by_row(tmp_path, amounts, dates):
    frame = pd.DataFrame(
        {"Lead ID": LEADS, "Amount": amounts[0], "Date": dates[0], "Reference": REFERENCES}
    )
    columns = zip(LEADS, amounts[1], dates[1], REFERENCES, strict=True)
    lines = [[lead, amount, date, ref or ""] for lead, amount, date, ref in columns]
    path = write_csv(tmp_path / "same.csv", csv_of(list(frame.columns), lines))

    expected = verdicts(path)
    got = verdicts(frame)

    assert [r[0] for r in got] == [2, 3, 4, 5, 6]
    assert got == expected  # statuses, error texts, warnings and the purchase records
    assert [r[1] for r in got].count("valid") >= 1


def test_frame_verdicts_are_exact():
    frame = pd.DataFrame(
        {
            "Lead ID": LEADS,
            "Amount": [1500.0, 0.1, 249.5, 10.0, 19.999],
            "Date": pd.to_datetime(["2026-03-02 10:15"] * 5).tz_localize("Europe/Berlin"),
            "Reference": REFERENCES,
        }
    )

    got = [(row, status, error) for row, status, error, _, _ in verdicts(frame)]
    records = [record for *_, record in verdicts(frame)]

    assert got[0] == (2, "valid", None)
    assert got[2] == (4, "valid", None)  # same reference, another amount: an invoice line
    assert got[3][:2] == (5, "invalid") and got[3][2].startswith("lead_id 'not-a-lead'")
    assert got[4][:2] == (6, "invalid") and "19.999" in got[4][2]
    assert records[0].purchase_amount == Decimal("1500")
    assert records[1].purchase_amount == Decimal("0.1")  # never 0.1000000000000000055...
    assert records[0].date == dt.datetime(2026, 3, 2, 9, 15, tzinfo=dt.UTC)
    assert records[1].reference == "007"


def test_blank_rows_are_counted_not_judged():
    frame = pd.DataFrame({"Lead ID": [LEAD_1, None, LEAD_2], "Amount": [1.0, NAN, 2.0]})
    table = open_frame(frame, name="t")

    chunks = list(table.chunks())

    assert [c.rows for c in chunks] == [[2, 4]]
    assert chunks[0].blank == 1
    assert chunks[0].cells == [[LEAD_1, "1"], [LEAD_2, "2"]]


def test_chunks_keep_row_numbers_across_chunk_boundaries():
    frame = pd.DataFrame({"Reference": [f"R{i}" for i in range(7)]})

    chunks = list(open_frame(frame).chunks(3))

    assert [c.rows for c in chunks] == [[2, 3, 4], [5, 6, 7], [8]]


@pytest.mark.parametrize(
    ("series", "texts", "raws"),
    [
        pytest.param(pd.Series([1.0, 1e16, 0.1 + 0.2, 99999999999999.98, -0.0, 1e-05]),
                     ["1", "10000000000000000", "0.3", "99999999999999.98", "0", "0.00001"],
                     [1.0, 1e16, 0.1 + 0.2, 99999999999999.98, -0.0, 1e-05],
                     id="float-as-shown-every-digit-from-1e13"),
        pytest.param(pd.Series([99999999999999.98, "x"], dtype=object),
                     ["99999999999999.98", "x"], [99999999999999.98, "x"],
                     id="float-in-object-column"),
        pytest.param(pd.Series([Decimal("3.250"), Decimal("2E+3"), None, Decimal("1.50"),
                                Decimal("19.9990")]),
                     ["3.25", "2000", "", "1.50", "19.999"],
                     [Decimal("3.25"), Decimal("2000"), "", Decimal("1.50"), Decimal("19.999")],
                     id="decimal-is-a-number-cell"),
        pytest.param(pd.Series([True, False]), ["TRUE", "FALSE"], [True, False], id="bool"),
        pytest.param(pd.Series(["00123", None, NAN, pd.NA], dtype=object),
                     ["00123", "", "", ""], ["00123", "", "", ""], id="missing-values"),
        pytest.param(pd.Series(["00123", None], dtype="string"), ["00123", ""], ["00123", ""],
                     id="string-dtype"),
        pytest.param(pd.Series([np.int64(5), np.float64(2.5)], dtype=object), ["5", "2.5"],
                     [5, 2.5], id="numpy-scalars-in-object-column"),
        pytest.param(pd.Series(["a", "b"], dtype="category"), ["a", "b"], ["a", "b"],
                     id="category"),
        pytest.param(pd.Series(pd.to_datetime(["2026-03-02", None])), ["2026-03-02", ""],
                     [dt.datetime(2026, 3, 2), ""], id="naive-midnight-is-a-date"),
    ],
)  # fmt: skip
def test_column_cells(series, texts, raws):
    assert column_cells(series) == (texts, raws)


def test_aware_dates_keep_their_offset_even_at_midnight():
    series = pd.Series(pd.to_datetime(["2026-03-02"]).tz_localize("America/New_York"))

    assert column_cells(series) == (["2026-03-02T00:00:00-05:00"], ["2026-03-02T00:00:00-05:00"])


def test_duplicate_column_labels_are_refused():
    frame = pd.DataFrame([[1, 2]], columns=["Amount", "amount"])

    with pytest.raises(InputFileError, match="the column 'amount' appears twice"):
        open_frame(frame, name="march")


def test_column_labels_on_several_levels_are_refused():
    frame = pd.DataFrame([[1, 2]], columns=pd.MultiIndex.from_tuples([("a", "b"), ("a", "c")]))

    with pytest.raises(InputFileError, match="on 2 levels"):
        open_frame(frame)


@pytest.mark.parametrize("name", ["", "a/b", "..", "x:y"])
def test_a_name_that_cannot_name_files_is_refused(name):
    with pytest.raises(ConfigurationError, match="cannot name files"):
        open_frame(pd.DataFrame({"a": [1]}), name=name)


def test_content_hash_follows_the_data():
    frame = pd.DataFrame({"Amount": [1.5, 2.0], "Ref": ["a", "b"]})

    first = open_frame(frame).content_sha256()

    assert open_frame(frame.copy()).content_sha256() == first
    assert open_frame(frame.assign(Amount=[1.5, 2.5])).content_sha256() != first
    assert open_frame(frame.astype({"Amount": object})).content_sha256() != first
    assert open_frame(frame.set_axis(["x", "y"])).content_sha256() != first  # the index counts


def test_content_hash_of_cells_python_cannot_hash():
    frame = pd.DataFrame({"Notes": [[1, 2], {"a": 1}], "Amount": [Decimal("1.50"), None]})

    digest = open_frame(frame).content_sha256()

    assert digest == open_frame(frame.copy()).content_sha256()
    assert digest != open_frame(frame.assign(Notes=[[1, 3], {"a": 1}])).content_sha256()


def test_validating_a_file_never_imports_pandas(tmp_path):
    path = write_csv(tmp_path / "f.csv", f"Lead ID,Amount,Date\r\n{LEAD_1},10,2026-03-02\r\n")
    code = (
        "import sys; sys.modules['pandas'] = None\n"  # any import of pandas now fails
        "from importer import validate\n"
        f"r = validate({str(path)!r}); print(r.summary.count('valid'))\n"
        "try:\n    r.summary_frame()\n"
        "except Exception as e:\n    print(type(e).__name__, e, e.hint)\n"
    )

    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)

    assert out.stdout.splitlines() == [
        "1",
        "ConfigurationError summary_frame() needs pandas, which is not installed "
        "install it with: pip install 'keen-import[pandas]'",
    ]


@pytest.mark.parametrize(
    ("source", "kind"),
    [(pd.Series([1, 2], name="Amount"), "Series"), ([["Lead ID"], [LEAD_1]], "list")],
)
def test_something_that_is_neither_a_path_nor_a_frame_is_refused_clearly(source, kind):
    from importer import validate

    with pytest.raises(ConfigurationError, match=f"cannot import a {kind}: give the path"):
        validate(source)


def test_a_mapping_given_as_a_dict_or_with_integer_labels_is_taken_as_it_is_meant():
    """A pandas user passes a {field: column} dict, or the labels 0, 1, 2 of a frame read
    with header=None: both used to fail with an AttributeError from deep inside."""
    import importer

    named = pd.DataFrame({"Lead ID": [LEAD_1, LEAD_2], "Net": [100.0, 200.0],
                          "Date": ["2026-03-01", "2026-03-02"]})  # fmt: skip
    report = importer.validate(named, mapping={"purchase_amount": "Net"})
    assert (report.exit_code, report.summary.count("valid")) == (0, 2)
    assert report.summary.by_status["valid"].amounts == {"": Decimal("300")}
    bare = pd.DataFrame([[LEAD_1, 100, "2026-03-01"]])
    mapping = importer.Mapping(columns={"lead_id": 0, "purchase_amount": 1, "date": 2})
    report = importer.validate(bare, mapping)
    assert (report.exit_code, report.summary.count("valid")) == (0, 1)


def test_a_decimal_is_a_number_cell_never_read_by_the_column_separators():
    """Decimal("3.250") in a decimal-comma column was read as text: 3250."""
    import importer

    frame = pd.DataFrame(
        {
            "Lead ID": [LEAD_1, LEAD_1, LEAD_2],
            "Amount": [Decimal("3.250"), "1.500,00", Decimal("1500")],
            "Date": ["2026-03-02", "2026-03-03", "2026-03-04"],
        }
    )

    report = importer.validate(frame, importer.Mapping(decimal=","))

    results = report.results_frame()
    assert results["status"].tolist() == ["valid", "valid", "valid"]
    assert results["purchase_amount"].tolist() == [
        Decimal("3.25"),
        Decimal("1500.00"),
        Decimal("1500"),
    ]


def test_decimals_alone_ask_no_separator_question():
    import importer

    frame = pd.DataFrame(
        {"Lead ID": [LEAD_1, LEAD_2], "Amount": [Decimal("3.250"), Decimal("1.500")],
         "Date": ["2026-03-02", "2026-03-03"]}
    )  # fmt: skip

    job = importer.open_import(frame, name="d")
    assert job.questions() == []
    report = job.check(index=False)
    assert report.results_frame()["purchase_amount"].tolist() == [
        Decimal("3.25"),
        Decimal("1.50"),
    ]


def test_a_frame_float_keeps_every_digit_it_has():
    """A float was written to 15 significant digits, as Excel shows a cell: 1e14."""
    import importer

    frame = pd.DataFrame(
        {"Lead ID": [LEAD_1], "Amount": [99999999999999.98], "Date": ["2026-03-02"]}
    )

    report = importer.validate(frame, importer.Mapping(allow_precision=True))

    results = report.results_frame()
    assert results["status"].tolist() == ["valid"]
    assert results["purchase_amount"].tolist() == [Decimal("99999999999999.98")]


def test_a_float32_column_reads_as_its_own_digits():
    """0.1 in a float32 column is 0.100000001490116 as a Python float: refused as too precise."""
    from importer.read.frame import column_cells

    texts, raws = column_cells(pd.Series([0.1, 1500.25, None], dtype="float32"))
    assert texts == ["0.1", "1500.25", ""]
    assert raws == [0.1, 1500.25, ""]
