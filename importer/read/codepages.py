"""Which Windows code page a CSV that is not UTF-8 was written in, chosen on positive evidence.

A finance export from Windows comes in the code page of the machine that wrote it: cp1252 in
Western Europe and the Americas, cp1250 in Central Europe, cp1251 for Cyrillic, and so on. The
bytes do not say which, and nearly every byte decodes to *something* in each of them, so
`single_byte_codepage` answers cp1252 unless the sample holds words that only read as words in
another code page. A Western European file never changes reading on a hunch.

- Latin code pages (cp1250, cp1257, cp1254). Evidence: words in which the candidate reads a
  letter where cp1252 reads nothing, or reads a symbol between two letters ("Żółć", which cp1252
  reads "¯ó³æ"). A symbol at the edge of a word is how Western text uses it ("¿qué", "Price¹",
  "£bn"), so "Łódź" ("£ódŸ") and "był" ("by³") are no evidence on their own. Counter-evidence:
  words in which cp1252 reads a letter the candidate does not. A candidate needs more evidence
  than counter-evidence; on equal evidence the order above decides.
- Non-Latin code pages (cp1251, cp1253, cp1255, cp1256). Russian in cp1251 reads in cp1252 as
  Latin letters ("Ìîñêâà"), so the evidence is density: when most letters of cp1252's accented
  words are accented (Western text stays far below), the candidate whose reading holds the most
  letters of its own script in plausible words wins, if those are most of the letters of its
  accented words (Polish "Żółć" reads as Ukrainian "Їуіж", but "Łódź" as "Јуdџ"). A tie is no
  evidence, except that a reading in a script with capitals that shows none drops out of it
  (Hebrew reads as Cyrillic too, but all in small letters).

A word is a maximal run of letters; each distinct word counts once, so a word repeated on every
row cannot outvote the rest. It counts only when plausible: at least three letters, all of one
script, no capital straight after a small letter ("¿Cómo" is not "żCómo"), a final letter form
(Greek ς, Hebrew ם) only at its end and a letter that has one (σ, מ) never there.

Known limits: languages whose letters cp1252 reads as other letters carry no evidence and stay
cp1252: Hungarian (ő, ű read õ, û), Czech without ť/Ť, Lithuanian, Latvian and Turkish; so does
Polish or Slovak text whose only telling letters start or end its words ("Łódź", "Paweł"). cp1257
is chosen only through Ø, ø, Æ, æ; cp1254 differs from cp1252 only letter for letter, so it is
never chosen (it stays a candidate so that a rule for letters can be added in this one place).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cache

__all__ = ["CODEPAGE_CANDIDATES", "single_byte_codepage"]

DEFAULT = "cp1252"
LATIN_CANDIDATES = ("cp1250", "cp1257", "cp1254")  # also the preference on equal evidence
SCRIPT_CANDIDATES = {
    "cp1251": "CYRILLIC",
    "cp1253": "GREEK",
    "cp1255": "HEBREW",
    "cp1256": "ARABIC",
}
CODEPAGE_CANDIDATES = (*LATIN_CANDIDATES, *SCRIPT_CANDIDATES)
MIN_WORD = 3
ACCENTED_SHARE = 0.5  # French, Czech: about a third; Russian read as cp1252: all
LETTER_CATEGORIES = frozenset({"Lu", "Ll", "Lt", "Lo"})  # not Lm: ˇ and ˆ are accents
ASCII = bytes(range(0x80))
ASCII_LETTERS = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
# Every word of every code page lies inside a run of ASCII letters and bytes 0x80-0xFF; only the
# runs holding such a byte can tell code pages apart. A table for bytes.translate spaces the rest.
RUN_BYTES = ASCII_LETTERS + bytes(range(0x80, 0x100))
RUNS = bytes(b if b in RUN_BYTES else 0x20 for b in range(0x100))


def single_byte_codepage(sample: bytes) -> str:
    """The Windows code page `sample` is written in: ``"cp1252"`` unless the text shows another.

    sample: the start of a file that is not UTF-8 (at most a megabyte: the cost grows with it).
    Returns ``"cp1252"`` or one of CODEPAGE_CANDIDATES. Bytes cp1252 leaves undefined are not
    judged here: the caller decides between cp1252 and latin-1.

    >>> single_byte_codepage("Łódź;Żółć\\n".encode("cp1250"))
    'cp1250'
    >>> single_byte_codepage("Café crème;Zürich\\n".encode("cp1252"))
    'cp1252'
    """
    runs = b" ".join(run for run in set(sample.translate(RUNS).split()) if not run.isascii())
    if not runs:
        return DEFAULT
    high = frozenset(runs.translate(None, ASCII))
    if _mostly_accented(runs):
        chosen = _best_script_page(runs, high)
        if chosen:
            return chosen
    return _best_latin_page(runs, high) or DEFAULT


# --- the two rules -----------------------------------------------------------------------------


def _best_latin_page(runs: bytes, high: frozenset[int]) -> str | None:
    western = _letters(DEFAULT)
    chosen, most = None, 0
    for name in LATIN_CANDIDATES:
        if high & _undefined(name):
            continue
        ours = high & _letters(name)
        anywhere = ours & _undefined(DEFAULT)
        inside = ours - western - anywhere
        evidence = len(_plausible_words(runs, name, "LATIN", anywhere, inside))
        counter = len(_plausible_words(runs, DEFAULT, "LATIN", high & western - ours))
        if evidence > most and evidence > counter:
            chosen, most = name, evidence
    return chosen


def _mostly_accented(runs: bytes) -> bool:
    """Whether most letters of the words cp1252 reads with accented letters are accented."""
    accented = b"".join(_accented_words(DEFAULT).findall(runs))
    return len(accented.translate(None, ASCII_LETTERS)) > ACCENTED_SHARE * len(accented)


def _best_script_page(runs: bytes, high: frozenset[int]) -> str | None:
    readings = {
        name: _script_reading(runs, name, script, high)
        for name, script in SCRIPT_CANDIDATES.items()
        if not high & _undefined(name)
    }
    top = max((letters for letters, _ in readings.values()), default=0)
    tied = [name for name, (letters, _) in readings.items() if letters == top]
    if len(tied) > 1:
        tied = [name for name in tied if readings[name][1]]
    return tied[0] if top and len(tied) == 1 else None


def _script_reading(runs: bytes, page: str, script: str, high: frozenset[int]) -> tuple[int, bool]:
    """How `page` reads `runs` as `script`: the letters in its plausible words (none unless they
    make most of the letters of its accented words), and whether it shows a capital where the
    script has them."""
    alphabet = _alphabet(page, script)
    words = b"".join(_plausible_words(runs, page, script, high & frozenset(alphabet.script)))
    accented = b"".join(set(_accented_words(page).findall(runs)))
    letters = len(words) if len(words) > ACCENTED_SHARE * len(accented) else 0
    return letters, not alphabet.upper or len(words.translate(None, alphabet.upper)) < len(words)


# --- words -------------------------------------------------------------------------------------


def _plausible_words(
    runs: bytes,
    page: str,
    script: str,
    anywhere: frozenset[int],
    inside: frozenset[int] = frozenset(),
) -> set[bytes]:
    """The distinct plausible words of `script`, as `page` reads `runs`, that hold a byte of
    `anywhere`, or a byte of `inside` that neither starts nor ends them."""
    if not anywhere and not inside:
        return set()
    wanted = _plausible_pattern(page, script, bytes(sorted(anywhere)), bytes(sorted(inside)))
    return set(wanted.findall(runs))


@cache
def _plausible_pattern(page: str, script: str, anywhere: bytes, inside: bytes) -> re.Pattern[bytes]:
    """A plausible word (see the module's docstring) as one byte pattern, so that a megabyte is
    searched at the regular-expression engine's speed.

    Each letter is one of: a small letter, not followed by a capital; a final form, followed by
    no letter; a letter that has a final form, followed by a letter but not a capital; any other
    letter of the script. The look-behind starts a match only where a word starts, which keeps
    the search linear; the look-ahead asks for the wanted byte in the word.
    """
    a = _alphabet(page, script)
    every, own = _byte_class(a.letters), _byte_class(a.script)
    no_capital = rb"(?!%s)" % _byte_class(a.upper) if a.upper else b""
    kinds = (
        (a.lower, no_capital),
        (a.final, rb"(?!%s)" % every),
        (a.medial, rb"(?=%s)%s" % (every, no_capital)),
        (a.other, b""),
    )
    letter = rb"(?:%s)" % b"|".join(_byte_class(chars) + then for chars, then in kinds if chars)
    wanted = [_byte_class(anywhere)] if anywhere else []
    wanted += [rb"(?<=%s)%s(?=%s)" % (own, _byte_class(inside), own)] if inside else []
    needs = rb"(?=%s*?(?:%s))" % (own, b"|".join(wanted))
    return re.compile(rb"(?<!%s)%s%s{%d,}(?!%s)" % (every, needs, letter, MIN_WORD, every))


def _byte_class(values: bytes) -> bytes:
    return b"[" + b"".join(b"\\x%02x" % value for value in values) + b"]"


# --- the code pages ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Alphabet:
    """The bytes a code page reads as letters, and the part those of one script play in a word."""

    letters: bytes  # every letter, of any script: a word ends where they end
    script: bytes  # the letters of the script
    upper: bytes  # capitals
    final: bytes  # final forms (Greek ς, Hebrew ם): only at the end of a word
    medial: bytes  # letters that have a final form (σ, מ): never at the end of a word
    lower: bytes  # the other small letters
    other: bytes  # the other letters: capitals, and letters without case (Hebrew, Arabic)


@cache
def _alphabet(page: str, script: str) -> _Alphabet:
    chars = {b: c for b, c in _chars(page).items() if _is_letter(c)}
    own = {b: c for b, c in chars.items() if _script(c) == script}
    names = {unicodedata.name(c): b for b, c in own.items()}
    finals = [name for name in names if " FINAL " in name]
    final = {names[name] for name in finals}
    medial = {names[n] for n in (name.replace(" FINAL ", " ") for name in finals) if n in names}
    lower = {b for b, c in own.items() if c.islower()} - final - medial
    return _Alphabet(
        letters=bytes(sorted(chars)),
        script=bytes(sorted(own)),
        upper=bytes(sorted(b for b, c in own.items() if c.isupper())),
        final=bytes(sorted(final)),
        medial=bytes(sorted(medial)),
        lower=bytes(sorted(lower)),
        other=bytes(sorted(own.keys() - final - medial - lower)),
    )


@cache
def _chars(page: str) -> dict[int, str]:
    """Each byte as `page` reads it; U+FFFD for a byte the code page leaves undefined."""
    return {b: bytes([b]).decode(page, "replace") for b in range(0x100)}


@cache
def _letters(page: str) -> frozenset[int]:
    """The bytes 0x80-0xFF that `page` reads as letters."""
    return frozenset(b for b, c in _chars(page).items() if b >= 0x80 and _is_letter(c))


@cache
def _undefined(page: str) -> frozenset[int]:
    return frozenset(b for b, c in _chars(page).items() if c == "\ufffd")


@cache
def _accented_words(page: str) -> re.Pattern[bytes]:
    """The words, as `page` reads them, that hold a letter outside ASCII."""
    accented = bytes(sorted(_letters(page)))
    every = _byte_class(ASCII_LETTERS + accented)
    return re.compile(rb"(?<!%s)%s*?%s%s*" % (every, every, _byte_class(accented), every))


def _is_letter(char: str) -> bool:
    return unicodedata.category(char) in LETTER_CATEGORIES


def _script(char: str) -> str:
    """LATIN, CYRILLIC, GREEK, HEBREW, ARABIC... from the letter's Unicode name (ª, º and µ have
    no script in their name: in a word they make it implausible)."""
    return unicodedata.name(char, "").split(" ", 1)[0]
