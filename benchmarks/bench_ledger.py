"""validate next to a large ledger: the ledger on validate's path costs nothing unless it holds
purchases dated within the file's dates.

    python benchmarks/bench_ledger.py [--rows 1000000] [--purchases 10000000] [--workdir DIR]
                                      [--reuse] [--repeat 2]

Builds (once, with --reuse) bench_validate's generated CSV (dates over 2025) and a SQLite ledger
of ``--purchases`` created purchases for validate's target (dated over 2024, as a ledger of
earlier years is), then runs ``keen-import validate`` in turns, each in its own process:

* **empty ledger**: a new ledger file;
* **large ledger**: the ledger of ``--purchases`` purchases;
* **overlapping ledger**: a small ledger holding 1,000 of the file's own purchases (dated within
  its dates), so validate reads the file a second time and looks every row up.

Prints wall and CPU seconds, peak RSS, and each ledger's wall time as a ratio to the empty one
(targets: large <= 1.15x; the overlapping case is reported, not targeted).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench_validate import generate_csv  # noqa: E402

from importer.ledger import Ledger, LedgerLocation  # noqa: E402

TARGET = "https://data.keenpartner.com/functions/v1/keen-api"  # validate's default
BATCH = 200_000
_INSERT = (
    "INSERT INTO purchases (target, identity, import_id, file_row, payload_hash, payload, lead_id,"
    " reference, currency, amount, purchase_date, status, purchase_id, attempts, sends,"
    " updated_at) VALUES (?, ?, 1, ?, ?, '{}', ?, ?, 'USD', ?, ?, 'created', ?, 1, 1, 1.7e9)"
)


def build_ledger(path: Path, purchases: int, *, dated: str = "2024") -> None:
    """A ledger of ``purchases`` created purchases, dated over the year ``dated``."""
    with Ledger.open(LedgerLocation(path=path)) as ledger:
        ledger.begin_import(target=TARGET, file_name="earlier.csv", file_sha256="0" * 64,
                            source="earlier", state="finished")  # fmt: skip
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute("PRAGMA cache_size=-400000")
    for start in range(0, purchases, BATCH):
        rows = []
        for i in range(start, min(purchases, start + BATCH)):
            digest = hashlib.sha256(b"%d" % i).hexdigest()
            rows.append((
                TARGET, digest, i + 2, hashlib.sha256(digest.encode()).hexdigest(),
                f"00000000-0000-4000-8000-{i % 50_000:012d}", f"OLD-{i:09d}", f"{i % 9000}.00",
                f"{dated}-{1 + i % 12:02d}-{1 + i % 28:02d}T00:00:00Z", f"p-{i}",
            ))  # fmt: skip
        with conn:
            conn.executemany(_INSERT, rows)
        print(f"  ledger: {min(purchases, start + BATCH):,} purchases", end="\r", flush=True)
    conn.execute("UPDATE imports SET state = 'finished'")
    conn.commit()
    conn.close()
    print()


def overlapping_ledger(path: Path, source: Path) -> None:
    """A small ledger holding 1,000 of the file's own purchases (as a run would have sent them)."""
    import importer

    job = importer.open_import(source)
    job.apply_mapping(importer.Mapping())
    from importer.job.known import _candidate_chunks

    prepared = job.prepared_for_sending()
    first = next(_candidate_chunks(prepared))[1][:1000]
    with Ledger.open(LedgerLocation(path=path)) as ledger:
        ledger.begin_import(target=TARGET, file_name="earlier.csv", file_sha256="1" * 64,
                            source="earlier")  # fmt: skip
        claimed, _ = ledger.claim(first)
        with ledger.backend.transaction():
            ledger.backend.execute_many(
                "UPDATE purchases SET status = 'created', purchase_id = ? WHERE identity = ?",
                [(f"p-{c.row}", c.identity) for c in claimed],
            )


def validate(source: Path, ledger: Path, out: Path) -> dict:
    """``keen-import validate`` in a child process with ``ledger``: wall, CPU, peak RSS."""
    env = {**os.environ, "KEEN_IMPORT_LEDGER": str(ledger), "KEEN_IMPORT_DATA_DIR": str(out)}
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[1])
    command = [sys.executable, "-m", "importer", "validate", str(source)]
    command += ["--results", str(out / "results.csv")]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    note = next((line.strip() for line in done.stderr.splitlines() if "ledger:" in line), "")
    return {
        "wall": wall,
        "cpu": after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime,
        "rss_mb": after.ru_maxrss / 1024,
        "code": done.returncode,
        "note": note,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--purchases", type=int, default=10_000_000)
    parser.add_argument("--workdir", type=Path)
    parser.add_argument("--reuse", action="store_true")
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="bench-ledger-"))
    work.mkdir(parents=True, exist_ok=True)
    source = work / f"purchases-{args.rows}.csv"
    large = work / f"ledger-{args.purchases}.sqlite"
    if not (args.reuse and source.exists()):
        generate_csv(source, args.rows)
    if not (args.reuse and large.exists()):
        large.unlink(missing_ok=True)
        started = time.perf_counter()
        build_ledger(large, args.purchases)
        print(f"built {large.name} in {time.perf_counter() - started:.0f} s")
    overlap = work / "ledger-overlapping.sqlite"
    overlap.unlink(missing_ok=True)
    overlapping_ledger(overlap, source)
    steps = {"empty": None, "large": large, "overlapping": overlap}
    best: dict[str, dict] = {}
    for n in range(args.repeat):
        for name, ledger in steps.items():
            out = work / f"out-{name}"
            out.mkdir(exist_ok=True)
            path = ledger or out / f"empty-{n}.sqlite"
            result = validate(source, path, out)
            if name not in best or result["wall"] < best[name]["wall"]:
                best[name] = result
    size = large.stat().st_size / 1e9
    print(
        f"validate of {args.rows:,} rows; large ledger {args.purchases:,} purchases ({size:.1f} GB)"
    )
    print(f"{'ledger':<12} {'wall s':>7} {'CPU s':>6} {'peak RSS MB':>11} {'x empty':>8}  note")
    for name, result in best.items():
        ratio = result["wall"] / best["empty"]["wall"]
        print(
            f"{name:<12} {result['wall']:>7.2f} {result['cpu']:>6.2f} {result['rss_mb']:>11.0f} "
            f"{ratio:>7.2f}x  exit {result['code']}: {result['note']}"
        )


if __name__ == "__main__":
    main()
