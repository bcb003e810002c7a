"""What a ledger's rows need when its schema moves up a version (the tables are in
:mod:`importer.ledger.schema`; ``_Backend.prepare_schema`` runs these in its transaction).

Version 2: amounts in one form. Up to version 1 a purchase was identified by its amount as the
file wrote it, so ``1500`` and ``1500.00`` (a CSV saved again by Excel, the same rows exported
to .xlsx) were two purchases, and the second file sent them again. From version 2 an amount is
sent and identified with two decimals, more only when it has them
(:func:`importer.records.format_decimal`). The rows recorded with another form get the
identity, payload hash and amount they would have had; the payload stays as it was sent.

Version 3: trigger ids in one order. A row's trigger ids are a set to Keen (the triggers it
evaluates), but up to version 2 they were sent and identified in the file's order, so a
re-export listing them in another order sent the purchase again. From version 3 they are sent
and identified sorted; the rows recorded in another order get the identity and payload hash of
the sorted list (the payload stays as it was sent).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from decimal import Decimal

from importer.fields import PURCHASE_FIELDS
from importer.ledger.identity import purchase_identity
from importer.ledger.rule import ImportContext
from importer.records import dumps_payload, format_decimal

__all__ = ["UPGRADES", "amounts_in_one_form", "triggers_in_one_order"]

_TRIGGERS_KEY = next(f.payload_key for f in PURCHASE_FIELDS if f.parser == "uuid_list")

_AMOUNT_KEYS = {
    key
    for f in PURCHASE_FIELDS
    if f.name == "purchase_amount"
    for key in (f.payload_key, f.catalog_key)
    if key is not None
}
_PAGE_ROWS = 5_000
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
    return _renew(backend, _OTHER_FORMS, _OTHER_FORM_PATTERNS, _amount_in_one_form)


def triggers_in_one_order(backend) -> int:
    """Version 3: give every row recorded with its trigger ids in another order than sorted
    the identity and payload hash of the sorted list. Returns the rows changed."""
    return _renew(backend, "payload LIKE ?", (f'%"{_TRIGGERS_KEY}":[%,%',), _sorted_triggers)


def _renew(backend, where: str, args: tuple, canonical) -> int:
    """Give the rows ``where`` selects the identity, payload hash and amount of their body in
    the form ``canonical`` makes (None: already in it, or not a body this tool writes)."""
    changed = 0
    files: dict[int, ImportContext] = {}
    for id_, target, identity, payload, reference, currency, import_id in _pages(
        backend, where, args
    ):
        renewed = _renewed(identity, payload, reference, currency, canonical)
        if renewed is None:
            continue  # not made the way this tool makes identities: left as it is
        content, occurrence, tail, payload_hash, amount = renewed
        while True:
            new_identity = purchase_identity(content, reference, currency, occurrence) + tail
            taken = backend.fetch_one(
                "SELECT id, import_id FROM purchases WHERE target = ? AND identity = ?",
                (target, new_identity),
            )
            if taken is None:
                break
            if _import_of(backend, files, import_id).same_import(
                _import_of(backend, files, taken[1])
            ):
                # A repeat in the same file (its rows written in two forms, sent as two
                # purchases): the file read now holds them as exact repeats, each the next
                # occurrence, so each finds its own purchase.
                occurrence += 1
                continue
            new_identity += f"~same-as~{taken[0]}"  # the same purchase sent by another file
            break
        backend.execute(
            "UPDATE purchases SET identity = ?, payload_hash = ?, amount = ? WHERE id = ?",
            (new_identity, payload_hash, amount, id_),
        )
        changed += 1
    return changed


def _import_of(backend, imports: dict[int, ImportContext], import_id: int) -> ImportContext:
    """An import as the ledger's rule tells one file from another (its SHA-256, its stem)."""
    if import_id not in imports:
        found = (
            backend.fetch_one("SELECT file_sha256, source FROM imports WHERE id = ?", (import_id,))
            or (f"missing {import_id}",) * 2
        )  # no import: the same file as no other
        imports[import_id] = ImportContext(import_id, found[0], found[1])
    return imports[import_id]


def _pages(backend, where: str, args: tuple) -> Iterator[tuple]:
    """The rows ``where`` selects, a page at a time in id order (a ledger of years holds
    millions: never all in memory at once)."""
    after = 0
    while True:
        page = backend.fetch(
            "SELECT id, target, identity, payload, reference, currency, import_id FROM purchases"
            f" WHERE id > ? AND ({where}) ORDER BY id LIMIT {_PAGE_ROWS}",
            (after, *args),
        )
        yield from page
        if len(page) < _PAGE_ROWS:
            return
        after = page[-1][0]


def _amount_in_one_form(body: dict) -> dict | None:
    """The body with its amount in the one form (written so by dumps_payload); None when it
    is not a body this tool writes (one amount, the only number)."""
    keys = [key for key in _AMOUNT_KEYS if isinstance(body.get(key), Decimal)]
    if len(keys) != 1 or any(type(v) is Decimal for k, v in body.items() if k != keys[0]):
        return None
    return body


def _sorted_triggers(body: dict) -> dict | None:
    """The body with its trigger ids sorted; None when they already are, or it is not a body
    this tool writes (a number besides the one amount)."""
    triggers = body.get(_TRIGGERS_KEY)
    if not isinstance(triggers, list) or triggers == sorted(triggers):
        return None
    if any(type(v) is Decimal for v in body.values()) and _amount_in_one_form(body) is None:
        return None
    return {**body, _TRIGGERS_KEY: sorted(triggers)}


def _renewed(
    identity: str, payload: str, reference: str | None, currency: str | None, canonical
) -> tuple[bytes, int, str, str, str | None] | None:
    """(content, occurrence, the identity's mark, payload hash, amount) of a recorded row in
    the form ``canonical`` gives its body, or None when it has nothing to change or its
    identity cannot be made again from what it recorded."""
    recorded = json.loads(payload, parse_float=Decimal, parse_int=Decimal)
    body = canonical(recorded)
    if body is None:
        return None
    base, mark, suffix = identity.partition("~")
    # Made from the payload as sent, or (renewed by an earlier version) from its form then.
    made_from = tuple(dict.fromkeys((payload.encode(), dumps_payload(recorded))))
    occurrence = _occurrence(base, made_from, reference, currency)
    if occurrence is None:
        return None
    amounts = [body[key] for key in _AMOUNT_KEYS if isinstance(body.get(key), Decimal)]
    content = dumps_payload(body)  # the canonical form, the rest as it was
    amount = format_decimal(amounts[0]) if len(amounts) == 1 else None
    return content, occurrence, mark + suffix, hashlib.sha256(content).hexdigest(), amount


def _occurrence(
    identity: str, made_from: tuple[bytes, ...], reference: str | None, currency: str | None
) -> int | None:
    """The occurrence ``identity`` was made with from one of the bodies ``made_from``."""
    for occurrence in range(_MOST_OCCURRENCES):
        for content in made_from:
            if purchase_identity(content, reference, currency, occurrence) == identity:
                return occurrence
    return None


#: Schema version -> what the rows of a ledger of the version before need to reach it.
UPGRADES = {2: amounts_in_one_form, 3: triggers_in_one_order}
