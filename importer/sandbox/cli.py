"""The ``keen-import sandbox`` command: run the emulator, or list what it stored.

    keen-import sandbox [--host 127.0.0.1] [--port 8787] [--world FILE] [--db FILE]
                        [--latency MS] [--jitter MS] [--rate-limit N/s] [--p-500 P] ...
    keen-import sandbox purchases [--db FILE | --url URL] [--format csv|json]

``importer/cli.py`` calls :func:`register` with its subparsers. User mistakes raise
:class:`~importer.errors.ConfigurationError` (the main CLI prints one line and exits 2).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

from importer.console import data_to_stdout
from importer.errors import ConfigurationError
from importer.sandbox.faults import Faults

# The server (Starlette, uvicorn) and httpx are imported by the commands that use them:
# registering the command must not slow down every other keen-import command's start-up.

DEFAULT_PORT = 8787
_PROBABILITY_FLAGS = (
    ("p_500", "answer 500 before doing anything"),
    ("p_502", "answer 502 before doing anything"),
    ("p_503", "answer 503 (Retry-After: 1) before doing anything"),
    ("p_drop_before", "close the connection before doing anything"),
    ("p_commit_then_drop", "store the purchase, then close the connection without a reply"),
    ("p_commit_then_500", "store the purchase, then answer 500"),
    ("p_commit_then_slow", "store the purchase, then answer after --slow-seconds"),
)
CSV_COLUMNS = (
    "id",
    "created_at",
    "lead_id",
    "purchase_amount",
    "date",
    "name",
    "description",
    "product_id",
    "action",
    "rewards",
    "reward_total",
)


def _rate(text: str) -> float:
    value = text.strip().lower().removesuffix("/s")
    try:
        rate = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a rate: {text!r} (use e.g. 20 or 20/s)") from None
    if rate <= 0:
        raise argparse.ArgumentTypeError("the rate limit must be above 0")
    return rate


def _probability(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a probability: {text!r}") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"a probability is between 0 and 1, not {text}")
    return value


def register(subparsers: Any) -> None:
    """Add the ``sandbox`` command (and its nested ``purchases`` command) to a CLI."""
    parser = subparsers.add_parser(
        "sandbox",
        help="run a local Keen API emulator (with optional fault injection)",
        description="Run a local emulator of the Keen API on this machine. It prints the base "
        "URL and the demo API key, and runs until Ctrl+C.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="port (0: any free port)")
    parser.add_argument("--world", type=Path, help="world file (JSON or TOML); default: built in")
    parser.add_argument(
        "--db", type=Path, help="SQLite file that keeps purchases across restarts (default: memory)"
    )
    faults = parser.add_argument_group("fault injection (probabilities apply to purchases only)")
    faults.add_argument("--latency", type=float, default=0, metavar="MS", help="added latency")
    faults.add_argument(
        "--jitter", type=float, default=0, metavar="MS", help="random extra latency"
    )
    faults.add_argument(
        "--rate-limit", type=_rate, metavar="N/s", help="requests per second, beyond it 429"
    )
    for name, text in _PROBABILITY_FLAGS:
        faults.add_argument(
            "--" + name.replace("_", "-"), type=_probability, default=0.0, metavar="P", help=text
        )
    faults.add_argument("--slow-seconds", type=float, default=5.0, metavar="S", help="slow reply")
    faults.add_argument("--seed", type=int, default=0, help="seed of the random fault choices")
    parser.set_defaults(func=run_sandbox)

    commands = parser.add_subparsers(dest="sandbox_command", metavar="{purchases}")
    purchases = commands.add_parser(
        "purchases",
        help="list the purchases a sandbox stored",
        description="List the purchases a sandbox stored, with their rewards.",
    )
    source = purchases.add_mutually_exclusive_group()
    # SUPPRESS keeps `sandbox --db FILE purchases` working: the parent's --db is not reset.
    source.add_argument(
        "--db", type=Path, default=argparse.SUPPRESS, help="the sandbox's SQLite file"
    )
    source.add_argument(
        "--url",
        default=f"http://127.0.0.1:{DEFAULT_PORT}",
        help="a running sandbox (default: %(default)s), used when --db is not given",
    )
    purchases.add_argument("--format", choices=("csv", "json"), default="csv")
    purchases.set_defaults(func=list_purchases)


def faults_from_args(args: argparse.Namespace) -> Faults:
    """The :class:`Faults` described by the command-line flags."""
    try:
        return Faults(
            latency_ms=args.latency,
            jitter_ms=args.jitter,
            rate_limit=args.rate_limit,
            slow_seconds=args.slow_seconds,
            seed=args.seed,
            **{name: getattr(args, name) for name, _ in _PROBABILITY_FLAGS},
        )
    except ValueError as exc:
        raise ConfigurationError(f"Invalid fault settings: {exc}.") from None


def run_sandbox(args: argparse.Namespace) -> int:
    """Run the sandbox in the foreground until Ctrl+C."""
    from importer.sandbox.server import serve_forever

    faults = faults_from_args(args)
    try:
        serve_forever(world=args.world, db=args.db, faults=faults, host=args.host, port=args.port)
    except OSError as exc:
        raise ConfigurationError(
            f"Cannot listen on {args.host}:{args.port}: {exc.strerror or exc}.",
            hint="Choose another --port (0 picks a free one).",
        ) from None
    except KeyboardInterrupt:
        pass
    return 0


def read_purchases(*, db: Path | None, url: str) -> list[dict[str, Any]]:
    """Purchases from a sandbox database file, or else from a running sandbox at ``url``."""
    import httpx

    from importer.sandbox.store import SqliteStore

    if db is not None:
        if not db.is_file():
            raise ConfigurationError(
                f"No sandbox database at {db}.",
                hint="Pass the file you gave to `keen-import sandbox --db`.",
            )
        store = SqliteStore(db)
        try:
            return store.purchases()
        finally:
            store.close()
    root = url.split("/functions/")[0].rstrip("/")
    try:
        response = httpx.get(f"{root}/__sandbox/purchases", timeout=10, trust_env=False)
        response.raise_for_status()
    except httpx.HTTPError as exc:
        raise ConfigurationError(
            f"Cannot read purchases from a sandbox at {root}: {exc}.",
            hint="Start it with `keen-import sandbox`, or pass --db FILE.",
        ) from None
    return response.json()


def write_purchases(purchases: list[dict[str, Any]], out: Any, *, format: str) -> None:
    if format == "json":
        json.dump(purchases, out, indent=2)
        out.write("\n")
        return
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for purchase in purchases:
        rewards = purchase["rewards"]
        total = sum((Decimal(r["amount"]) for r in rewards), Decimal("0"))
        row = dict(
            purchase,
            rewards=";".join(f"{r['trigger_id']}={r['amount']}" for r in rewards),
            reward_total=f"{total:.2f}",
        )
        writer.writerow(["" if row.get(c) is None else row[c] for c in CSV_COLUMNS])


def list_purchases(args: argparse.Namespace) -> int:
    """Print the stored purchases as CSV or JSON on standard output."""
    purchases = read_purchases(db=args.db, url=args.url)
    data_to_stdout()
    try:
        write_purchases(purchases, sys.stdout, format=args.format)
        sys.stdout.flush()
    except BrokenPipeError:
        # The reader (head, less) closed the pipe once it had what it wanted: not an error.
        # Point stdout at /dev/null so the interpreter's final flush does not fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0
