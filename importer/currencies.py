"""Currency marks people write beside an amount, and the ISO code each one names.

Read by the amount parser (``importer.check.normalise``: "$1,500", "1.500,00 €") and by the
reader of a workbook's number formats (``importer.read.numformats``: ``[$€-407]#,##0.00``).
"""

from __future__ import annotations

import re

#: Currency symbols and the ISO code each one implies (None: the symbol names several currencies).
SYMBOLS: dict[str, str | None] = {
    "$": "USD",
    "US$": "USD",
    "€": "EUR",
    "£": "GBP",
    "¥": "JPY",
    "kr": None,  # DKK, SEK, NOK, ISK
    "kr.": None,
    "R$": "BRL",
    "zł": "PLN",
    "₹": "INR",
    "₩": "KRW",
    "₺": "TRY",
    "₽": "RUB",
    "Kč": "CZK",
}

#: Active ISO 4217 codes: three capitals name a currency only when they are one ("Amount
#: (EUR)" does; "Amount excl. VAT" and SAP's "Amount (LCY)" do not).
ISO_CODES = frozenset(  # a table: easier to read as words than as 160 quoted items
    """AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BTN BWP
    BYN BZD CAD CDF CHF CLP CNY COP CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP
    GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR
    KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK
    MXN MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR
    SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS
    UAH UGX USD UYU UZS VES VND VUV WST XAF XCD XOF XPF YER ZAR ZMW ZWG""".split()  # noqa: SIM905
)

#: Codes that are also words of a header ("Amount ALL regions", "TOP 10"): named only in
#: brackets or after "in".
_CODES_THAT_ARE_WORDS = frozenset({"ALL", "BOB", "CUP", "MAD", "MOP", "PEN", "SOS", "TOP"})
#: Codes a header writes in small letters too ("amount (eur)"); "(all)" is no lek.
_COMMON = frozenset(
    {"AUD", "CAD", "CHF", "CNY", "CZK", "DKK", "EUR", "GBP", "HKD", "HUF", "INR", "ISK", "JPY",
     "MXN", "NOK", "NZD", "PLN", "SEK", "SGD", "USD", "ZAR"}
)  # fmt: skip
# "(EUR)", "[€]", "(US$)", "in EUR", "en €": in brackets or after in/en, any case; a code in
# capitals standing as a word anywhere else ("Amount EUR incl. VAT").
_MARKED = re.compile(
    r"[(\[]\s*(US\$|[A-Za-z]{3}|€|£)\s*[)\]]|\b(?:in|en)\s+(US\$|[A-Za-z]{3}\b|€|£)",
    re.IGNORECASE,
)
_WORD = re.compile(r"(?<![\w$])([A-Z]{3})(?![\w$])")


def header_currency(header: str) -> str | None:
    """The ISO code of the currency a column's header names ("Amount (EUR)", "Betrag in €",
    "Amount EUR incl. VAT"), or None (none, several, or "$", which names no one currency)."""
    codes = set()
    for found in _MARKED.finditer(header):
        mark = found[1] or found[2]
        code = SYMBOLS.get(mark) or mark.upper()
        if code in ISO_CODES and (mark.isupper() or code in _COMMON or not mark.isalpha()):
            codes.add(code)
    bracketed = {m.span() for m in _MARKED.finditer(header)}
    for found in _WORD.finditer(header):
        inside = any(start <= found.start() < end for start, end in bracketed)
        if not inside and found[1] in ISO_CODES and found[1] not in _CODES_THAT_ARE_WORDS:
            codes.add(found[1])
    return codes.pop() if len(codes) == 1 else None
