"""What the web app says: engine text in page words, and counts whose nouns agree.

The engine's messages (importer.check, .job, .read, .send, .ledger) are the command line's
too, so their advice names its flags ("use --allow-duplicates if both are real purchases").
A page names the control that does the same instead, or leaves the advice out where the web
app has none. :func:`for_page` is the one place that does it: the templates' ``page_words``
filter, the grid's rows (:func:`rows_for_page`) and the progress events all go through it.
The only flags a page shows are those of its "Command line" box (importer.ui.command).

Adding a flag to an engine message: give it page words in FLAG_WORDS (None when the web app
has no control for it: the clause that names it is left out), or a whole phrase in ADVICE
when the words need rearranging; tests/ui/test_page_text.py reads every engine message.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable

from importer.records import FIELD_LABELS

MATCH_PAGE = "on the Match columns page"

#: Whole phrases of advice, rewritten before any flag is looked at (the order matters).
ADVICE: list[tuple[str, str | Callable[[re.Match[str]], str]]] = [
    # dates
    (r"say how to read it with --day-first \(([^)]*)\) or --month-first \(([^)]*)\)",
     r"say how to read it: day first (\1) or month first (\2)"),
    (r"re-?run with --day-first or --month-first",
     f"choose day first or month first under Dates {MATCH_PAGE}"),
    (r"use --(day|month)-first", rf"choose \1 first under Dates {MATCH_PAGE}"),
    (r"rerun with --day-first when", f"choose day first under Dates {MATCH_PAGE} when"),
    # amounts
    (r"say how to read it with --decimal , \(([^)]*)\) or --decimal \. \(([^)]*)\)",
     r"say how to read it: decimal comma (\1) or decimal point (\2)"),
    (r"use --decimal ,", f"choose Comma under Decimal separator {MATCH_PAGE}"),
    (r"use --decimal \.", f"choose Point under Decimal separator {MATCH_PAGE}"),
    (r"use --allow-precision", "allow more than 2 decimal places"),
    # rows the file itself marks
    (r"use --allow-duplicates if", "allow duplicates if"),
    (r"\(--allow-duplicates sends it\)", "(allowing duplicates sends it)"),
    (r"--skip-hidden skips them", "choose to skip hidden rows to leave them out"),
    (r"keep only the sales with --where '([^']*)=VALUE\[,VALUE\.\.\.\]'",
     r"keep only the sales by choosing which values of '\1' to keep"),
    (r"filtered out by --where", "filtered out by the values chosen to keep"),
    # rows left out and missing columns: the controls of importer.ui.remedies
    (r"left out with --skip-rows", "left out on the command line"),
    (r"remove the row or enter", "leave the row out with its Skip row button, or enter"),
    (r"--keep-null keeps them as text", "Keep NULL as text (under Choices) keeps them as text"),
    (r"--no-(amount|date) to send without",
     rf"tick No \1 on purpose {MATCH_PAGE} to send without"),
    (r"use --period YYYY-MM to", f"set Period (YYYY-MM) {MATCH_PAGE} to"),
    # columns
    (r"map one with --map lead_id=COLUMN",
     f"choose the column of {FIELD_LABELS['lead_id']} (lead_id) {MATCH_PAGE}"),
    (r"--map ([a-z_]+)=('[^']*'|\"[^\"]*\"|\S+)",
     lambda m: f"choose {m[2]} for {FIELD_LABELS.get(m[1], m[1])} ({m[1]})"),
    (r"use --action create_purchase or map product_name",
     "choose the API action create_purchase, or a column for Product name (product_name)"),
    # sending
    (r"re-?run with --resend-unconfirmed", "use Resend unconfirmed on the Results page"),
    (r",? then (?:run with|send the new content with) --resend-changed", ""),
    (r"set KEEN_API_KEY or use --api-key-file PATH", "set one on the API key page"),
    (r"Check KEEN_API_KEY or --api-key-file", "Check the key on the API key page"),
    (r"give that certificate with --ca-bundle FILE \(PEM\)",
     "give that certificate to keen-import on the command line (the web app cannot take one)"),
    (r" \(--proxy, (HTTPS_PROXY, NO_PROXY)\)", r" (\1)"),
    (r"use --proxy none or list its host", "list its host"),
    # the ledger
    (r"permissions in --ledger \(or KEEN_IMPORT_LEDGER\)", "permissions of the ledger"),
    (r" \(--ledger NEW_FILE\)", ""),
    (r"give --ledger a new file name \(or an empty PostgreSQL database\)",
     "start the web app with another ledger (a new file or an empty PostgreSQL database)"),
    # files
    (r"raise the limit with --max-xlsx-mb (\d+)",
     r"import it with keen-import on the command line and a limit of \1 MB"),
    (r"name the file's encoding with --encoding \([^)]*\), or save",
     "save"),
    (r"(?:name|give) the file's encoding with --encoding \([^)]*\)",
     f"choose the file's encoding under File encoding {MATCH_PAGE}"),
    (r"check --encoding, or leave it out to detect the encoding automatically",
     f"choose another encoding under File encoding {MATCH_PAGE}"),
]  # fmt: skip

#: Each flag an engine message may name, in page words: the control of the web app that does
#: the same. None: the web app has no such control, and the clause naming it is left out.
FLAG_WORDS: dict[str, str | None] = {
    "--action": "API action",
    "--allow-duplicates": "allow duplicates",
    "--allow-precision": "allow more than 2 decimal places",
    "--day-first": "day first",
    "--decimal": "Decimal separator",
    "--encoding": "File encoding",
    "--expect-rows": "Expected rows",
    "--expect-total": "Expected total",
    "--month-first": "month first",
    "--period": "Period",
    "--resend-unconfirmed": "Resend unconfirmed",
    "--sheet": "Sheet",
    "--skip-hidden": "skip hidden rows",
    "--timezone": "Time zone",
    "--trigger-id": "Trigger ids",
    "--where": "values to keep",
}

_FLAG = re.compile(r"(?<![\w-])--[a-z][a-z0-9-]*")
_ADVICE = [(re.compile(pattern), words) for pattern, words in ADVICE]
_PARENTHESES = re.compile(r"\s*\((?:[^()]|\([^()]*\))*\)")
_CLAUSE_START = re.compile(r".*(?:: |, | or |\. )", re.S)
#: Counts of one the engine words as if they were many ("1 rows are hidden").
_ONE = re.compile(r"(?<![\d,.])1 (row|purchase|cell|file)s(?: (are|have|were))?\b")
_SINGULAR_VERB = {"are": "is", "have": "has", "were": "was", None: None}


def for_page(text: str | None) -> str | None:
    """Engine text as a page shows it: flag advice in page words, or left out.

    >>> for_page("duplicate of row 2 (every field repeats); use --allow-duplicates if both "
    ...          "are real purchases")
    'duplicate of row 2 (every field repeats); allow duplicates if both are real purchases'
    """
    if not text:
        return text
    for pattern, words in _ADVICE:
        text = pattern.sub(words, text)
    if _FLAG.search(text):
        text = _without_flags(text) or _FLAG.sub(_flag_words, text)
    return _ONE.sub(_one, text)


def _without_flags(text: str) -> str:
    """Leave out the clauses naming a flag the web app has no control for; name the rest."""
    text = _PARENTHESES.sub(_parenthesis, text)
    kept = [_cut(piece) for piece in text.split("; ")]
    return _FLAG.sub(_flag_words, "; ".join(piece for piece in kept if piece))


def _parenthesis(match: re.Match[str]) -> str:
    """A parenthesis without the clauses naming a flag that has no page words (if any)."""
    whole = match[0]
    if not _unplaced(whole):
        return whole
    inside = _without_flags(whole.strip()[1:-1])
    return f"{whole[: len(whole) - len(whole.lstrip())]}({inside})" if inside else ""


def _unplaced(text: str) -> bool:
    """True when ``text`` names a flag that has no page words."""
    return any(FLAG_WORDS.get(flag) is None for flag in _FLAG.findall(text))


def _cut(piece: str) -> str:
    """``piece`` up to the clause that names a flag without page words (all of it if none)."""
    unplaced = [m for m in _FLAG.finditer(piece) if FLAG_WORDS.get(m[0]) is None]
    if not unplaced:
        return piece
    start = _CLAUSE_START.match(piece[: unplaced[0].start()])
    if start is None:
        return ""
    return piece[: start.end()].rstrip(":,. ").removesuffix(" or").rstrip(":,. ")


def _flag_words(match: re.Match[str]) -> str:
    """A flag's page words; a flag that is the subject of its message, in words."""
    return FLAG_WORDS.get(match[0]) or f"the {match[0][2:].replace('-', ' ')} setting"


def _one(match: re.Match[str]) -> str:
    verb = _SINGULAR_VERB[match[2]]
    return f"1 {match[1]}" + (f" {verb}" if verb else "")


def with_hint(message: str, hint: str | None) -> str:
    """An engine error's message and hint as one sentence of a page (the command line prints
    the hint on a line of its own): "message (hint)", or "message; hint" when the message ends
    in a parenthesis already ("not a workbook (a PDF document); open it in Excel ...")."""
    if not hint:
        return message
    return f"{message}; {hint}" if message.endswith(")") else f"{message} ({hint})"


def rows_for_page(rows: list) -> list:
    """A page of the grid's rows (importer.job.model.RowView) with their reasons in page words."""
    return [
        dataclasses.replace(
            row, error=for_page(row.error), warnings=[for_page(w) for w in row.warnings]
        )
        for row in rows
    ]


def how_many(count: int, noun: str, plural: str | None = None) -> str:
    """The count with thousands separators and the noun agreeing: "1 row", "1,234 rows".

    ``plural``: for a noun that does not just take an "s" ("1 entry", "2 entries").
    """
    return f"{count:,} {noun if count == 1 else plural or noun + 's'}"
