"""What is typed on a command line stays out of what the tool prints and keeps: the API key is
never taken there (nor echoed back), and an API URL carrying a user name, password or query is
refused before anything is written. Another spelling of the same endpoint is the same account."""

from __future__ import annotations

import pytest
from runhelpers import read_csv, write_rows

from importer.cli import main

SECRET = "SECRET-KEY-1234"


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(["--api-key", SECRET], id="api-key"),
        pytest.param([f"--api-key={SECRET}"], id="api-key-equals"),
        pytest.param(["--api-key-file", SECRET], id="key-pasted-as-the-file"),
        pytest.param(["--api-url", f"http://bob:{SECRET}@127.0.0.1:9/x"], id="url-password"),
        pytest.param(["--api-url", f"https://keen.test/x?apikey={SECRET}"], id="url-query"),
    ],
)
def test_a_secret_typed_on_the_command_line_is_refused_and_never_repeated(
    tmp_path, capsys, monkeypatch, args
):
    monkeypatch.setenv("KEEN_API_KEY", "the-real-key")
    source = write_rows(tmp_path / "rows.csv", 2)
    code = exit_code(["run", str(source), "--yes", *args])
    out, err = capsys.readouterr()
    assert (code, SECRET in out + err) == (2, False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rows.csv"]  # nothing written


def exit_code(argv: list[str]) -> int:
    """keen-import's exit code, whether main returns it or argparse exits with it."""
    try:
        return main(argv)
    except SystemExit as exc:
        return int(exc.code)


def test_other_spellings_of_one_endpoint_are_one_account(tmp_path, sb, monkeypatch):
    monkeypatch.setenv("KEEN_API_KEY", sb.api_key)
    source = write_rows(tmp_path / "rows.csv", 3)
    copy = tmp_path / "copy" / "rows.csv"
    copy.parent.mkdir()
    copy.write_bytes(source.read_bytes())
    shouted = sb.base_url.replace("http://", "HTTP://") + "/"
    assert main(["run", str(source), "--api-url", shouted, "--yes"]) == 0
    assert main(["run", str(copy), "--api-url", sb.base_url, "--yes"]) == 0
    assert sb.stats()["create_calls"] == 3  # the second found them all, by the same account
    first = read_csv(tmp_path / "rows.results.csv")
    again = read_csv(copy.with_name("rows.results.csv"))
    assert [(r["status"], r["purchase_id"]) for r in again] == [
        ("created", r["purchase_id"]) for r in first
    ]
