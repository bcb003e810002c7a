"""Column decisions as data, and the questions a file leaves open (with their answers).

:func:`importer.check.decisions.scan_columns` finds the evidence; this module turns it into
what a front end shows (:class:`ColumnDecision`, :class:`Question`) and turns an answer back
into the option it stands for (the same option the CLI flag sets).
"""

from __future__ import annotations

from importer.check.decisions import Ambiguity, ColumnDecisions
from importer.errors import ConfigurationError
from importer.job.model import Choice, ColumnDecision, Question, QuestionExample

#: The choices of each kind of question, and the option value each answer sets.
CHOICES: dict[str, list[Choice]] = {
    "day_first": [
        Choice("day-first", "day/month/year (23/04/2026)"),
        Choice("month-first", "month/day/year (04/23/2026)"),
    ],
    "decimal": [
        Choice(",", "decimal comma: 1.500 is one thousand five hundred (1.500,00 = 1500)"),
        Choice(
            ".",
            "decimal point: 1.500 is one and a half (1.500 = 1.5; an amount with 3 decimals "
            "is invalid unless 'Allow more than 2 decimal places' is ticked)",
        ),
    ],
}
FLAGS = {"day_first": "--day-first / --month-first", "decimal": "--decimal"}
OPTION_VALUES: dict[str, dict[str, object]] = {
    "day_first": {"day-first": True, "month-first": False},
    "decimal": {",": ",", ".": "."},
}


def column_decisions(decisions: ColumnDecisions, columns: dict[str, str]) -> list[ColumnDecision]:
    """How the amount, date and currency columns are read, each with its evidence."""
    amount = columns.get("purchase_amount")
    date = columns.get("date")
    currency = decisions.currency
    return [
        ColumnDecision(
            kind="decimal",
            column=amount,
            value=decisions.decimal if amount else None,
            source=decisions.decimal_from if amount else "none",
            evidence=list(decisions.decimal_evidence),
        ),
        ColumnDecision(
            kind="day_first",
            column=date,
            value=decisions.day_first if date else None,
            source=decisions.day_first_from if date else "none",
            evidence=list(decisions.day_first_evidence),
        ),
        ColumnDecision(
            kind="currency",
            column=columns.get("currency"),
            value=currency,
            source="evidence" if currency else "none",
            evidence=list(decisions.currency_evidence),
        ),
    ]


def question_id(kind: str, column: str) -> str:
    """A question's id: stable for the same file and mapping (``day_first:Date``)."""
    return f"{kind}:{column}"


def to_question(ambiguity: Ambiguity) -> Question:
    """An open ambiguity as a question a front end can ask."""
    return Question(
        id=question_id(ambiguity.kind, ambiguity.column),
        kind=ambiguity.kind,
        column=ambiguity.column,
        text=ambiguity.message,
        examples=[QuestionExample(row=row, value=value) for row, value in ambiguity.examples],
        choices=list(CHOICES[ambiguity.kind]),
        flag=FLAGS[ambiguity.kind],
        hint=ambiguity.hint,
    )


def option_for(kind: str, value: str) -> tuple[str, object]:
    """The mapping option (name, value) an answer sets; ConfigurationError for a bad value."""
    values = OPTION_VALUES.get(kind)
    if values is None:
        raise ConfigurationError(f"no question of kind {kind!r} can be answered")
    if value not in values:
        raise ConfigurationError(
            f"{value!r} does not answer a {kind} question",
            hint="choose one of: " + ", ".join(repr(v) for v in values),
        )
    return kind, values[value]
