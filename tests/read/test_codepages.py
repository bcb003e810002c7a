"""Windows code pages: cp1250 and the others are chosen over cp1252 only on positive evidence in
the file, Western European files never change reading, and a file that loads today still loads.
Every file is generated here, in tmp_path."""

from __future__ import annotations

import pytest
from conftest import LEAD_1, LEAD_2, LEAD_3, check_file, write_csv

from importer.read import filecheck
from importer.read.codepages import single_byte_codepage
from importer.read.filecheck import inspect_input
from importer.read.loader import open_table

MB = 1024 * 1024
HEADER = "Lead ID;Amount;Product\r\n"
PADDING = "lead-padding;10,00;Office paper A4 80 g, 5 reams, delivered to the main warehouse\r\n"


def export(*products: str) -> str:
    """A small CSV export with one product on each row."""
    return HEADER + "".join(
        f"lead-{n};{n}0,00;{product}\r\n" for n, product in enumerate(products, 1)
    )


def padded(first: bytes, last: bytes) -> bytes:
    """`first`, then ASCII rows well past the 1 MB encoding detection reads, then `last`."""
    return first + PADDING.encode() * (MB // len(PADDING) + 100) + last


def products(table) -> list[str]:
    return [cells[-1] for chunk in table.chunks() for cells in chunk.cells]


# --- the choice on a sample --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("names", "codepage"),
    [
        pytest.param(("Spółka z o.o.", "Łódź", "Zażółć gęślą jaźń"), "cp1250", id="polish"),
        # cp1257 reads "Bażant" as "Baæant", a word too: equal evidence, and cp1250 comes first.
        pytest.param(("Bażant", "Zieliński"), "cp1250", id="polish-equal-evidence-for-cp1257"),
        pytest.param(("Šťastný a syn s.r.o.", "Plzeň", "Ťažba"), "cp1250", id="czech-t-caron"),
        pytest.param(("Poľnohospodárske družstvo", "Ľubica Nováková"), "cp1250", id="slovak"),
        # Polish words with no ASCII letter read as Ukrainian too ("Żółć" as "Їуіж").
        pytest.param(("Łódź", "Żółć"), "cp1250", id="polish-few-words-all-accented"),
        pytest.param(("Счет-фактура", "Москва", "ООО Ромашка"), "cp1251", id="russian"),
        # Read as Hebrew, "товар" ends in a letter that has a final form: not a Hebrew word.
        pytest.param(("товар", "договор", "два"), "cp1251", id="russian-small-letters-only"),
        # і and ї are the bytes of Polish ł and ż.
        pytest.param(("Рахунок-фактура", "Київ", "Біла Церква"), "cp1251", id="ukrainian"),
        pytest.param(("Τιμολόγιο", "Αθήνα", "Θεσσαλονίκη"), "cp1253", id="greek"),
        pytest.param(("חשבונית מס", "תל אביב", "ירושלים"), "cp1255", id="hebrew"),
        pytest.param(("فاتورة", "القاهرة", "المورد"), "cp1256", id="arabic"),
        pytest.param(
            ("Sąskaita faktūra", "Søren Sørensen AS"), "cp1257", id="lithuanian-norwegian-name"
        ),
    ],
)
def test_code_page_chosen_on_evidence(names, codepage):
    assert single_byte_codepage(export(*names).encode(codepage)) == codepage


@pytest.mark.parametrize(
    ("names", "codepage"),
    [
        pytest.param(("Účetní doklad", "Dodavatel Novák", "Brno-střed"), "cp1250", id="czech"),
        pytest.param(("Kőműves Kft.", "Győr", "Szőlő utca 5"), "cp1250", id="hungarian"),
        pytest.param(
            ("Sąskaita faktūra", "Panevėžys", "Šiaulių bankas"), "cp1257", id="lithuanian"
        ),
        pytest.param(("Beşiktaş", "Çağlar Ltd. Şti.", "Gümüşhane"), "cp1254", id="turkish"),
        pytest.param(
            ("Łódź", "Paweł Nowak", "Żaneta"), "cp1250", id="polish-letters-at-word-edges"
        ),
    ],
)
def test_known_limit_no_evidence_stays_cp1252(names, codepage):
    # Known limit: cp1252 reads each of these letters as another letter (Czech without ť, ő as
    # õ, Lithuanian ą as à, Turkish ş as þ), or as a symbol at the edge of a word, the way
    # Western text uses £, ³ and ¿: no positive evidence, so the reading stays cp1252.
    assert single_byte_codepage(export(*names).encode(codepage)) == "cp1252"


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("Beton 5 m³", id="m3"),
        pytest.param("Flasche 330 cm³", id="cm3"),
        pytest.param("Nº 5 parfum", id="numero"),
        pytest.param("1ª classe", id="ordinal"),
        pytest.param("Gift card £100", id="pound"),
        pytest.param("Voucher ¥500", id="yen"),
        pytest.param("¿Cómo está?", id="spanish-question"),
        pytest.param("Y tú, ¿qué opinas?", id="spanish-question-small-letter"),
        pytest.param("Kaffee ½ kg", id="half"),
        pytest.param("Pipe ¾in", id="fraction-against-a-word"),
        pytest.param("Price¹ (see note 1)", id="footnote"),
        pytest.param("Œuvre complète", id="oe-ligature"),
        pytest.param("Naïve art print", id="diaeresis"),
        pytest.param("Ærøskøbing Bryghus", id="danish-town"),
        pytest.param("Müller GmbH, Größe XL, Düsseldorf, Straße", id="german"),
        pytest.param("Crème brûlée, Société Générale, Noël, garçon, œuf", id="french"),
        pytest.param("Señor Muñoz, año, ¡Olé!, Málaga", id="spanish"),
        pytest.param("Købmand Sørensen, Æblegården, Ålborg, grøn", id="danish"),
        pytest.param("Operação, São Paulo, ações, Avª da Liberdade, 2º andar", id="portuguese"),
        pytest.param("Garðabær, Þórshöfn, Reykjavík", id="icelandic"),
    ],
)
def test_western_text_stays_cp1252(text):
    data = export(text).encode("cp1252")
    assert not data.isascii()
    assert single_byte_codepage(data) == "cp1252"


@pytest.mark.parametrize(
    ("polish", "chosen"),
    [
        pytest.param(("Spółka",), "cp1252", id="evidence-equal-to-counter-evidence"),
        pytest.param(("Spółka", "Bełchatów"), "cp1250", id="evidence-beyond-counter-evidence"),
    ],
)
def test_counter_evidence_weighs_against_evidence(polish, chosen):
    # cp1250 reads the ÿ of "Louÿs" as a symbol: one word of counter-evidence.
    data = export("Louÿs").encode("cp1252") + export(*polish).encode("cp1250")
    assert single_byte_codepage(data) == chosen


def test_word_that_reads_in_two_scripts_is_no_evidence():
    # "דוד" (David) is three Arabic letters in cp1256: a tie, so no evidence either way.
    assert single_byte_codepage(export("דוד").encode("cp1255")) == "cp1252"


# --- the choice on a file ----------------------------------------------------------------------


def test_mixed_western_file_with_symbols_in_the_product_column(tmp_path):
    names = ["Whisky 70cl £25", "Rohr 10 m³", "Nº 5 parfum", "¿Qué tal? taza", "Vinho 1º lote"]
    path = write_csv(tmp_path / "w.csv", export(*names, "Café crème", "Zürich"), encoding="cp1252")

    table = open_table(path)

    assert table.info.encoding == "cp1252"
    assert products(table) == [*names, "Café crème", "Zürich"]


def test_letter_cp1252_leaves_undefined_chooses_cp1250_not_latin_1(tmp_path):
    text = export("Šťastný a syn s.r.o.", "Ťažba")
    assert "\x8d" in text.encode("cp1250").decode("latin-1")
    path = write_csv(tmp_path / "cz.csv", text, encoding="cp1250")

    assert inspect_input(path).encoding == "cp1250"


def test_evidence_only_after_the_first_megabyte_stays_cp1252(tmp_path):
    # Detection reads the first megabyte: Polish letters further down are not looked at, and the
    # file reads as cp1252 as it did before ("Żółć" shows as "¯ó³æ").
    first = export("Café crème").encode("cp1252")
    path = tmp_path / "late.csv"
    path.write_bytes(padded(first, "lead-x;1,00;Zażółć gęślą jaźń\r\n".encode("cp1250")))

    assert inspect_input(path).encoding == "cp1252"


@pytest.mark.parametrize(
    ("byte", "fallback"),
    [
        pytest.param(b"\x98", "cp1252", id="undefined-in-cp1250-only"),
        pytest.param(b"\x81", "latin-1", id="undefined-in-cp1250-and-cp1252"),
    ],
)
def test_cp1250_file_with_an_undefined_byte_later_still_loads(tmp_path, byte, fallback):
    first = export("Spółka z o.o.", "Zażółć gęślą jaźń").encode("cp1250")
    assert single_byte_codepage(first) == "cp1250"
    path = tmp_path / "odd.csv"
    path.write_bytes(padded(first, b"lead-y;2,00;Odd " + byte + b" byte\r\n"))

    table = open_table(path)

    assert table.info.encoding == fallback
    assert products(table)[-1] == "Odd " + byte.decode(fallback) + " byte"


def test_undefined_byte_in_the_sample_rules_the_code_page_out(tmp_path):
    data = export("Spółka z o.o.", "Zażółć gęślą jaźń").encode("cp1250") + b"x;1,00;a\x98b\r\n"
    path = tmp_path / "odd.csv"
    path.write_bytes(data)

    assert single_byte_codepage(data) == "cp1252"
    assert inspect_input(path).encoding == "cp1252"


@pytest.mark.parametrize("named", ["cp1252", "latin-1", "cp1257"])
def test_named_encoding_is_never_overridden(tmp_path, named):
    path = write_csv(tmp_path / "pl.csv", export("Spółka z o.o.", "Żółć"), encoding="cp1250")

    assert inspect_input(path, encoding=named).encoding == named


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(export("Spółka", "Łódź").encode("utf-8"), id="utf-8"),
        pytest.param(export("Spółka", "Łódź").encode("utf-8-sig"), id="utf-8-bom"),
        pytest.param(export("Office paper").encode("ascii"), id="ascii"),
    ],
)
def test_utf8_and_ascii_files_never_weigh_code_pages(tmp_path, monkeypatch, data):
    def weighed(sample: bytes) -> str:
        raise AssertionError("code pages weighed for a UTF-8 or ASCII file")

    monkeypatch.setattr(filecheck, "single_byte_codepage", weighed)
    path = tmp_path / "u.csv"
    path.write_bytes(data)

    assert inspect_input(path).encoding in ("utf-8", "utf-8-sig")


# --- through the loader ------------------------------------------------------------------------


def test_cp1250_export_loads_with_its_letters(tmp_path):
    text = (
        "Lead ID,Amount,Date,Product\r\n"
        f"{LEAD_1},1500,2024-03-01,Łódź sklep\r\n"
        f"{LEAD_2},20,2024-03-02,Gdańsk\r\n"
        f"{LEAD_3},35,2024-03-03,Żółć\r\n"
    )
    path = write_csv(tmp_path / "pl.csv", text, encoding="cp1250")

    table = open_table(path)

    assert table.info.encoding == "cp1250"
    assert table.headers == ["Lead ID", "Amount", "Date", "Product"]
    assert products(table) == ["Łódź sklep", "Gdańsk", "Żółć"]
    rows = check_file(path)
    assert [(row, status) for row, status, *_ in rows] == [(2, "valid"), (3, "valid"), (4, "valid")]
    assert [record.product_name for *_, record in rows] == ["Łódź sklep", "Gdańsk", "Żółć"]
