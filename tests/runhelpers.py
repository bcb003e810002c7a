"""Helpers for the end-to-end `keen-import run` tests (real HTTP against the sandbox)."""

from __future__ import annotations

import contextlib
import csv
import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from unittest import mock

from importer.sandbox import DEMO_API_KEY

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "sample_data"

# Leads of the default world that the demo company may access (channel "Northwind x Contoso (US)").
USD_LEADS = (
    "47378190-96da-4dac-b2ff-5d2a386ecbe0",
    "c241330b-01a9-471f-9e8a-774bcf36d58b",
    "6c307511-b2b9-437a-a8df-6ec4ce4a2bbd",
    "371ecd7b-27cd-4130-8722-9389571aa876",
    "1a2a73ed-562b-4f79-8374-59eef50bea63",
    "5be6128e-18c2-4797-a142-ea7d17be3111",
    "43b7a3a6-9a8d-4a03-980d-7b71d8f56413",
    "759cde66-bacf-43d0-8b1f-9163ce9ff57f",
)
HEADER = ["Lead ID", "Amount", "Date", "Product", "Reference"]


def amount_of(i: int) -> str:
    """A distinct amount per generated row (row i of the data, 0-based): maps purchases back."""
    return f"{1000 + i}.{i % 100:02d}"


def write_rows(path: Path, n: int) -> Path:
    """``n`` valid purchases with distinct amounts and references; data row i is file row i + 2."""
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        for i in range(n):
            day = 1 + i % 28
            writer.writerow(
                [USD_LEADS[i % len(USD_LEADS)], amount_of(i), f"2026-03-{day:02d}", "Pro plan",
                 f"GEN-{i:05d}"]
            )  # fmt: skip
    return path


def row_by_amount(n: int) -> dict[str, int]:
    """Amount text -> file row number (header is row 1) for a file from :func:`write_rows`."""
    return {amount_of(i): i + 2 for i in range(n)}


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def results_by_row(path: Path) -> dict[int, dict[str, str]]:
    """The results file keyed by row number; asserts every row appears exactly once."""
    rows = read_csv(path)
    numbers = [int(r["row"]) for r in rows]
    assert len(numbers) == len(set(numbers)), "a row appears twice in the results"
    return {int(r["row"]): r for r in rows}


def statuses(results: dict[int, dict[str, str]]) -> Counter:
    return Counter(r["status"] for r in results.values())


def purchases_by_row(purchases: list[dict], n: int) -> dict[int, list[dict]]:
    """Stored purchases grouped by the generated row they belong to (by their unique amount)."""
    rows = row_by_amount(n)
    grouped: dict[int, list[dict]] = {}
    for purchase in purchases:
        row = rows[purchase["purchase_amount"]]  # KeyError: an amount no row has
        grouped.setdefault(row, []).append(purchase)
    return grouped


def assert_no_key(directory: Path, key: str = DEMO_API_KEY, *texts: str) -> None:
    """The key appears in no file under ``directory`` nor in the per-user data folder (the
    ledger and its WAL bytes included), nor in ``texts``."""
    from importer.ledger import data_dir

    needle = key.encode()
    checked = 0
    for folder in (directory, data_dir()):
        for path in folder.rglob("*"):
            if path.is_file():
                checked += 1
                assert needle not in path.read_bytes(), f"API key found in {path.name}"
    assert checked, "no files to check"
    for text in texts:
        assert key not in text


def subprocess_env(api_key: str | None = DEMO_API_KEY) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "KEEN_API_KEY"}
    if api_key is not None:
        env["KEEN_API_KEY"] = api_key
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    return env


def start_run(args: list[str], cwd: Path, api_key: str | None = DEMO_API_KEY) -> subprocess.Popen:
    """``python -m importer run ARGS`` in a child process (stdout/stderr piped)."""
    return subprocess.Popen(
        [sys.executable, "-m", "importer", "run", *map(str, args)],
        cwd=cwd,
        env=subprocess_env(api_key),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for(predicate, timeout: float = 20.0, interval: float = 0.01) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(interval)


def total(amounts) -> Decimal:
    return sum((Decimal(a) for a in amounts), Decimal(0))


class CreatingClient:
    """A client that creates every purchase (``purchase_id(row)``, default ``p-<row>``) and
    remembers the rows it was asked for; rows are read back from ``product_name`` ``p<row>``.
    ``latency``: seconds each answer takes (0: the next turn of the event loop)."""

    def __init__(self, purchase_id=lambda row: f"p-{row}", latency: float = 0.0) -> None:
        self.calls: list[int] = []
        self.purchase_id = purchase_id
        self.latency = latency

    async def create_purchase(self, body: dict):
        import asyncio

        from importer.send.client import Outcome, OutcomeKind

        row = int(body["product_name"][1:])
        self.calls.append(row)
        await asyncio.sleep(self.latency)
        return Outcome(OutcomeKind.CREATED, 200, purchase_id=self.purchase_id(row))


@contextlib.contextmanager
def ledger_lost_after(commits: int, error: BaseException) -> Iterator[dict]:
    """Inside: every ledger commit after the first ``commits`` (and every claim after that)
    raises ``error``, as a ledger lost mid-run does; yields the counter (``n``: commits tried).
    On leaving, the ledger works again (nothing else of the test is undone)."""
    from importer.ledger import Ledger

    tried = {"n": 0}
    real_commit, real_claim = Ledger._commit, Ledger.claim

    def commit(self, statements, durable=True, **how):
        tried["n"] += 1
        if tried["n"] > commits:
            raise error
        return real_commit(self, statements, durable, **how)

    def claim(self, candidates):
        if tried["n"] > commits:
            raise error
        return real_claim(self, candidates)

    real_listing = Ledger.created_by_source

    def listing(self, target, source):  # the created list's read at the end of the run
        if tried["n"] > commits:
            raise error
        return real_listing(self, target, source)

    with (
        mock.patch.object(Ledger, "_commit", commit),
        mock.patch.object(Ledger, "claim", claim),
        mock.patch.object(Ledger, "created_by_source", listing),
    ):
        yield tried
