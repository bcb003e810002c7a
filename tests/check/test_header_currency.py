"""The currency a column's header names ("Amount (EUR)")."""

from __future__ import annotations

import pytest

from importer.currencies import header_currency


@pytest.mark.parametrize(
    ("header", "currency"),
    [
        ("Amount (EUR)", "EUR"),
        ("amount (eur)", "EUR"),
        ("Amount [€]", "EUR"),
        ("Betrag in EUR", "EUR"),
        ("Montant en €", "EUR"),
        ("Sales USD", "USD"),
        ("EUR amount", "EUR"),
        ("Amount (GBP)", "GBP"),
        ("Amount EUR incl. VAT", "EUR"),
        ("Amount (US$)", "USD"),
        ("Amount (ALL)", "ALL"),  # in brackets and capitals: the lek it says
        # Three capitals that are no currency, a symbol several currencies use, none at all.
        ("Amount excl. VAT", None),
        ("Amount (LCY)", None),
        ("Amount ($)", None),
        ("Belopp (kr)", None),
        ("All amounts", None),
        ("Net amount", None),
        ("Amount", None),
        ("Total (USD) / (EUR)", None),
        ("Amount ALL", None),  # codes that are words name none outside brackets
        ("Total TOP", None),
        ("Amount CUP", None),
        ("Amount (all)", None),
        ("Amount in all regions", None),
    ],
)
def test_the_currency_a_header_names(header, currency):
    assert header_currency(header) == currency
