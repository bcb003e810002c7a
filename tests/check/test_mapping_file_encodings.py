"""A mapping file saved by Notepad reads like a key file: UTF-8 with or without a BOM, or
UTF-16 ("Unicode"); anything else is one line, exit 2."""

from __future__ import annotations

import pytest

from importer.check.mapping import load_mapping_file
from importer.errors import MappingError

TEXT = '[columns]\nproduct_name = "Opis produktu (łącznie)"\npurchase_amount = "Kwota"\n'


@pytest.mark.parametrize(
    "encoded",
    [TEXT.encode("utf-8"), TEXT.encode("utf-8-sig"), TEXT.encode("utf-16"),
     b"\xfe\xff" + TEXT.encode("utf-16-be")],
    ids=["utf-8", "utf-8 with BOM", "utf-16 (Notepad Unicode)", "utf-16 big-endian"],
)  # fmt: skip
def test_notepad_encodings_read_the_same(tmp_path, encoded):
    path = tmp_path / "mapping.toml"
    path.write_bytes(encoded)
    mapping = load_mapping_file(path)
    assert mapping.columns == {
        "product_name": "Opis produktu (łącznie)",
        "purchase_amount": "Kwota",
    }


def test_another_encoding_is_one_line(tmp_path, cli):
    path = tmp_path / "mapping.toml"
    path.write_bytes('[columns]\nproduct_name = "Café"\n'.encode("cp1252"))
    with pytest.raises(MappingError) as caught:
        load_mapping_file(path)
    assert caught.value.message == f"mapping file {path} is not UTF-8 text"
    assert caught.value.hint == "save it from Notepad as UTF-8 (or Unicode)"
    source = tmp_path / "march.csv"
    source.write_text("Lead ID,Amount,Date\n", encoding="utf-8")
    code, err = cli("validate", source, "--mapping", path)
    assert (code, err) == (
        2,
        [
            f"error: mapping file {path} is not UTF-8 text",
            "hint: save it from Notepad as UTF-8 (or Unicode)",
        ],
    )
