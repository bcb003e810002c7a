"""Header spellings of each purchase field, and finding the header row below title rows."""

from __future__ import annotations

import re

from importer.fields import PURCHASE_FIELDS, header_synonyms

HEADER_SEARCH_ROWS = 20  # title rows above the header: at most this many rows are searched

#: Recognised header spellings of each field after folding (lowercase, letters and digits only),
#: best first: declared with the field in :mod:`importer.fields`.
HEADER_SYNONYMS: dict[str, tuple[str, ...]] = header_synonyms(PURCHASE_FIELDS)


BRACKETED = re.compile(r"\s*[(\[][^)\]]*[)\]]\s*")


def fold_header(name: str) -> str:
    """'Lead ID' / 'lead-id' / ' LEAD_id ' -> 'leadid' (letters of any language are kept)."""
    return re.sub(r"[\W_]", "", name.casefold())


def looks_like_header(cells: list[str], explicit: dict[str, str]) -> bool:
    """True if a row names a lead column (used to skip title rows above the header)."""
    folded = {fold_header(c) for c in cells if c and c.strip()}
    wanted = {fold_header(c) for c in explicit.values() if c}  # "" switches a field off
    if wanted and wanted <= folded:
        return True
    lead = set(HEADER_SYNONYMS["lead_id"]) | set(HEADER_SYNONYMS["legacy_lead_id"])
    return bool(folded & lead) and len(folded) >= 2
