"""What a ledger's rows need when its schema moves up a version (the tables are in
:mod:`importer.ledger.schema`; ``_Backend.prepare_schema`` runs these in its transaction).

Version 2: amounts in one form. Up to version 1 a purchase was identified by its amount as the
file wrote it, so ``1500`` and ``1500.00`` (a CSV saved again by Excel, the same rows exported
to .xlsx) were two purchases, and the second file sent them again. From version 2 an amount is
sent and identified with two decimals, more only when it has them
(:func:`importer.records.format_decimal`). The rows recorded with another form get the
identity, payload hash and amount they would have had; the payload stays as it was sent.
"""

from __future__ import annotations

import hashlib
import json
from decimal import Decimal

from importer.fields import PURCHASE_FIELDS
from importer.ledger.identity import purchase_identity
from importer.records import dumps_payload, format_decimal

__all__ = ["UPGRADES", "amounts_in_one_form"]

_AMOUNT_KEYS = {
    key
    for f in PURCHASE_FIELDS
    if f.name == "purchase_amount"
    for key in (f.payload_key, f.catalog_key)
    if key is not None
}
#: The occurrences tried to find the one a recorded identity was made with (0 but for rows
#: repeated on purpose in one file).
_MOST_OCCURRENCES = 10_000
#: Amounts not in the one form: no decimal point, or one decimal (a longer fraction that ends
#: in 0 was never recorded: the reader drops those zeros).
_OTHER_FORMS = "amount IS NOT NULL AND (amount NOT LIKE ? OR amount LIKE ?)"
_OTHER_FORM_PATTERNS = ("%.%", "%._")


def amounts_in_one_form(backend) -> int:
    """Version 2: give every row recorded with an amount in another form the identity, payload
    hash and amount of the one form. Returns the rows changed."""
    found = backend.fetch(
        "SELECT id, target, identity, payload, reference, currency FROM purchases"
        f" WHERE {_OTHER_FORMS} ORDER BY id",
        _OTHER_FORM_PATTERNS,
    )
    changed = 0
    for id_, target, identity, payload, reference, currency in found:
        renewed = _renewed(identity, payload, reference, currency)
        if renewed is None:
            continue  # not made the way this tool makes identities: left as it is
        new_identity, payload_hash, amount = renewed
        taken = backend.fetch_one(
            "SELECT id FROM purchases WHERE target = ? AND identity = ?", (target, new_identity)
        )
        if taken is not None:  # the same purchase recorded (and sent) in both forms
            new_identity += f"~same-as~{taken[0]}"
        backend.execute(
            "UPDATE purchases SET identity = ?, payload_hash = ?, amount = ? WHERE id = ?",
            (new_identity, payload_hash, amount, id_),
        )
        changed += 1
    return changed


def _renewed(
    identity: str, payload: str, reference: str | None, currency: str | None
) -> tuple[str, str, str] | None:
    """(identity, payload hash, amount) of a recorded row with its amount in the one form, or
    None when its identity cannot be made again from what it recorded."""
    body = json.loads(payload, parse_float=Decimal, parse_int=Decimal)
    keys = [key for key in _AMOUNT_KEYS if isinstance(body.get(key), Decimal)]
    if len(keys) != 1 or any(type(v) is Decimal for k, v in body.items() if k != keys[0]):
        return None  # not a body this tool writes
    base, mark, suffix = identity.partition("~")
    occurrence = _occurrence(base, payload.encode(), reference, currency)
    if occurrence is None:
        return None
    amount = body[keys[0]]
    content = dumps_payload(body)  # the amount in the one form, the rest as it was
    new_identity = purchase_identity(content, reference, currency, occurrence) + mark + suffix
    return new_identity, hashlib.sha256(content).hexdigest(), format_decimal(amount)


def _occurrence(
    identity: str, content: bytes, reference: str | None, currency: str | None
) -> int | None:
    for occurrence in range(_MOST_OCCURRENCES):
        if purchase_identity(content, reference, currency, occurrence) == identity:
            return occurrence
    return None


#: Schema version -> what the rows of a ledger of the version before need to reach it.
UPGRADES = {2: amounts_in_one_form}
