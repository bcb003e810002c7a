"""Ledger stage: every purchase sent to a Keen API, shared by every file, run and machine.

location.py  where it lives (per-user SQLite, a SQLite file, a team's PostgreSQL)
schema.py    its tables and version
backends.py  SQLite and PostgreSQL behind one interface, with each import's liveness lock
identity.py  what makes two rows the same purchase
entry.py     one purchase as the ledger holds it
rule.py      what to do with a row, given what the ledger holds
ledger.py    the Ledger: imports, claims, the sending path's group-committed writes
queries.py   list, show, find, export, forget (``keen-import ledger``)
adopt.py     taking in the per-file journals of earlier versions
"""

from importer.ledger.entry import Entry
from importer.ledger.identity import Candidate, candidate_for, purchase_identity
from importer.ledger.ledger import Ledger
from importer.ledger.location import LedgerLocation, data_dir, ledger_for, ledger_location
from importer.ledger.rule import ImportContext

__all__ = [
    "Candidate",
    "Entry",
    "ImportContext",
    "Ledger",
    "LedgerLocation",
    "candidate_for",
    "data_dir",
    "ledger_for",
    "ledger_location",
    "purchase_identity",
]
