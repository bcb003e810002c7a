"""keen-import validate names the Windows code page it read a CSV with, and keeps its letters."""

from __future__ import annotations

import pytest
from conftest import LEAD_1, LEAD_2, LEAD_3, read_results_csv, write_csv

from importer.cli import main

POLISH = (
    "Lead ID,Amount,Date,Product\r\n"
    f"{LEAD_1},1500,2024-03-01,Łódź sklep\r\n"
    f"{LEAD_2},20,2024-03-02,Gdańsk\r\n"
    f"{LEAD_3},35,2024-03-03,Żółć\r\n"
)


def validate(capsys, *args: str) -> tuple[int, list[str]]:
    code = main(["validate", *args])
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return code, err.splitlines()


def test_validate_says_cp1250_and_keeps_the_letters(tmp_path, capsys):
    path = write_csv(tmp_path / "pl.csv", POLISH, encoding="cp1250")

    code, err = validate(capsys, str(path))

    assert code == 0
    assert err[0] == "pl.csv: encoding cp1250, delimiter ',', header on row 1"
    rows = read_results_csv(tmp_path / "pl.results.csv")
    assert [row["Product"] for row in rows] == ["Łódź sklep", "Gdańsk", "Żółć"]


@pytest.mark.parametrize("named", ["cp1252", "latin-1"])
def test_validate_keeps_the_encoding_the_user_named(tmp_path, capsys, named):
    path = write_csv(tmp_path / "pl.csv", POLISH, encoding="cp1250")

    code, err = validate(capsys, str(path), "--encoding", named)

    assert code == 0
    assert err[0] == f"pl.csv: encoding {named}, delimiter ',', header on row 1"
