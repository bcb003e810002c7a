"""Currency marks people write beside an amount, and the ISO code each one names.

Read by the amount parser (``importer.check.normalise``: "$1,500", "1.500,00 €") and by the
reader of a workbook's number formats (``importer.read.numformats``: ``[$€-407]#,##0.00``).
"""

from __future__ import annotations

#: Currency symbols and the ISO code each one implies (None: the symbol names several currencies).
SYMBOLS: dict[str, str | None] = {
    "$": "USD",
    "US$": "USD",
    "€": "EUR",
    "£": "GBP",
    "¥": "JPY",
    "kr": None,  # DKK, SEK, NOK, ISK
    "kr.": None,
}
