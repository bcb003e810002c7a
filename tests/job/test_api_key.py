"""The API key given to the library is cleaned as the command line's is: surrounding
whitespace stripped, anything an HTTP header cannot carry refused without showing the key."""

from __future__ import annotations

import pandas as pd
import pytest
from runhelpers import USD_LEADS

import importer
from importer.errors import ConfigurationError
from importer.sandbox import DEMO_API_KEY

HINT = "the key is a UUID from Settings > API keys in the Keen dashboard"


def _frame() -> pd.DataFrame:
    return pd.DataFrame(
        {"Lead ID": list(USD_LEADS[:2]), "Amount": ["10.00", "20.00"],
         "Date": ["2026-03-02", "2026-03-03"]}
    )  # fmt: skip


def test_a_key_read_from_a_file_with_its_line_break_is_sent_without_it(tmp_path, sb):
    key_file = tmp_path / "key.txt"
    key_file.write_text(DEMO_API_KEY + "\n", encoding="utf-8")

    with open(key_file, encoding="utf-8") as handle:
        report = importer.run_import(
            _frame(), name="k", api_key=handle.read(), api_url=sb.base_url, out_dir=tmp_path
        )

    assert report.results_frame()["status"].tolist() == ["created", "created"]
    assert sorted(p["purchase_amount"] for p in sb.purchases()) == ["10.00", "20.00"]


@pytest.mark.parametrize(
    ("key", "what"),
    [
        (DEMO_API_KEY + "\r\nX-Evil: 1", "a line break"),
        (DEMO_API_KEY + "\x00", "a control character"),
        ("\u201c" + DEMO_API_KEY + "\u201d", "a character that is not ASCII"),
        (DEMO_API_KEY[:8] + "\u20ac", "a character that is not ASCII"),
        (12345, None),
    ],
    ids=["header-injection", "nul", "typographic-quotes", "not-latin-1", "int"],
)  # fmt: skip
def test_a_key_no_header_can_carry_is_refused_before_anything_is_sent(tmp_path, sb, key, what):
    with pytest.raises(ConfigurationError) as ran:
        importer.run_import(_frame(), name="k", api_key=key, api_url=sb.base_url, out_dir=tmp_path)
    job = importer.open_import(_frame(), name="k", out_dir=tmp_path)
    with pytest.raises(ConfigurationError) as planned:
        job.plan(api_url=sb.base_url, api_key=key)

    if what is None:
        message = "the API key must be text (a str), not int"
    else:
        message = f"the API key holds {what} inside it; give the key alone"
    assert ran.value.message == planned.value.message == message
    assert ran.value.hint == HINT
    assert str(key).strip()[:8] not in message + HINT  # the key is never shown
    assert sb.purchases() == []


def test_the_command_line_refuses_a_key_with_a_line_break_inside(tmp_path, cli, monkeypatch, sb):
    path = tmp_path / "m.csv"
    _frame().to_csv(path, index=False)
    monkeypatch.setenv("KEEN_API_KEY", DEMO_API_KEY + "\r\nX-Evil: 1\n")

    code, err = cli("run", path, "--api-url", sb.base_url, "--yes")

    assert code == 2
    assert err[:2] == [
        "error: KEEN_API_KEY holds a line break inside it; give the key alone",
        f"hint: {HINT}",
    ]
    assert DEMO_API_KEY[:8] not in "\n".join(err)
    assert sb.purchases() == []


def test_a_key_given_as_the_api_url_by_mistake_is_never_shown(tmp_path):
    """api_url and api_key swapped: what stands in the URL's place is not echoed."""
    job = importer.open_import(_frame(), name="swapped", out_dir=tmp_path)
    with pytest.raises(ConfigurationError) as raised:
        job.plan(api_url=DEMO_API_KEY, api_key="https://example.com/functions/v1/keen-api")
    assert str(raised.value) == "the API URL is not an http(s) URL"
    assert (
        raised.value.hint == "give Keen's endpoint, starting with https:// (--api-url, or api_url=)"
    )


def test_write_reports_of_a_dataframe_says_where_its_verdicts_are(tmp_path):
    job = importer.open_import(_frame(), name="frame", out_dir=tmp_path)
    job.check()
    with pytest.raises(ConfigurationError) as raised:
        job.write_reports()
    assert str(raised.value) == (
        "a DataFrame's check writes no files: its verdicts are in results_frame()"
    )
