"""Throughput of the sending engine against the sandbox with 20 ms latency.

    python benchmarks/bench_send.py [--rows 5000]
                                    [--transport http11|httpx|both]
                                    [--uvloop]

For each concurrency it prints req/s next to the limit (concurrency / latency), the speed-up over
a naive sequential httpx loop posting the same rows, this process's CPU milliseconds per row
(= CPU seconds per 1,000 rows; load-independent, unlike req/s on a shared machine) and the
ledger's share of the wall time: "ledger" is SQLite commits plus WAL fsyncs (the figure earlier
versions printed as "journal"), "commit" the part on the event loop (the fsyncs run on a helper
thread, overlapping the sending). The rows are claimed in the ledger before the clock starts.
Targets: >= 1,280 req/s at c=32, >= 2,560 at c=64, >= 25x sequential at c=32.

``--via whole-run`` is the whole-run target: the whole ``keen-import run`` of ``--rows`` rows
(start-up, read, validate, ledger, preflight, results; a subprocess, its wall time) as a ratio
to a bare asyncio HTTP/1.1 keep-alive client (the peer: raw asyncio streams, no httpx) posting
the same bodies to the same server at the same concurrency in the same run, ``--repeat`` times
(peer, then run), with the one-minute load average after each run ("load": on a shared
machine the wall-time ratio means little above about 1). Target: >= 0.9x. For example::

    python benchmarks/bench_send.py --uvloop --via whole-run --rows 20000 --concurrency 32

``--via run`` measures the whole ``run`` instead (run_import() on a generated CSV of valid rows:
read, validate, preflight, send with the ledger, results file): req/s of the sending phase,
CPU per row of everything, and the wall time of the whole run.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from importer.ledger import Ledger, LedgerLocation, candidate_for  # noqa: E402
from importer.records import PurchaseRecord, dumps_payload  # noqa: E402
from importer.sandbox import Faults, Sandbox  # noqa: E402
from importer.send.client import KeenClient, make_transport  # noqa: E402
from importer.send.sender import send_all  # noqa: E402

LEADS = (
    "47378190-96da-4dac-b2ff-5d2a386ecbe0",
    "c241330b-01a9-471f-9e8a-774bcf36d58b",
    "6c307511-b2b9-437a-a8df-6ec4ce4a2bbd",
)


def make_records(count: int, start: int = 2) -> list[PurchaseRecord]:
    return [
        PurchaseRecord(
            row=start + i,
            lead_id=LEADS[i % len(LEADS)],
            purchase_amount=Decimal(f"{10 + (start + i) // 100}.{(start + i) % 100:02d}"),
            product_name=f"Plan {i % 7}",
        )
        for i in range(count)
    ]


async def sequential(sb: Sandbox, records: list[PurchaseRecord]) -> float:
    """A naive loop: one plain httpx.AsyncClient, one request after the other."""
    headers = {"X-Api-Key": sb.api_key, "Content-Type": "application/json"}
    async with httpx.AsyncClient(timeout=30) as http:
        started = time.perf_counter()
        for record in records:
            response = await http.post(
                sb.base_url, content=dumps_payload(record.payload()), headers=headers
            )
            response.raise_for_status()
        return len(records) / (time.perf_counter() - started)


async def engine(
    sb: Sandbox, records: list[PurchaseRecord], concurrency: int, transport: str, workdir: Path
) -> dict:
    ledger_path = workdir / f"ledger-{transport}-{concurrency}-{time.time_ns()}.sqlite"
    client = KeenClient(
        sb.base_url,
        sb.api_key,
        timeout=30,
        transport=make_transport(transport, max_connections=concurrency),
    )
    async with client:
        with Ledger.open(LedgerLocation(path=ledger_path)) as ledger:
            ledger.begin_import(
                target=sb.base_url, file_name="bench.csv", file_sha256="bench", source="bench"
            )
            candidates = [
                candidate_for(r, action="create_purchase", lead_id=r.lead_id) for r in records
            ]
            claimed, _ = ledger.claim(candidates)
            cpu = time.process_time()
            report = await send_all(
                records,
                client=client,
                ledger=ledger,
                candidates={c.row: c for c in claimed},
                concurrency=concurrency,
            )
            cpu = time.process_time() - cpu
            fsync_seconds = ledger.sync_seconds
    assert report.counts["created"] == len(records), report.counts
    return {
        "rps": report.requests / report.duration,
        "cpu_ms_per_row": cpu / len(records) * 1000,
        "journal_share": report.journal_seconds / report.duration,
        "commit_share": (report.journal_seconds - fsync_seconds) / report.duration,
        "duration": report.duration,
    }


def write_csv(path: Path, rows: int, start: int) -> Path:
    """A purchases CSV of ``rows`` valid rows (leads of the sandbox's default world)."""
    lines = ["Lead ID,Amount,Invoice date,Product,Invoice number"]
    for i in range(rows):
        lines.append(
            f"{LEADS[i % len(LEADS)]},{10 + (start + i) // 100}.{(start + i) % 100:02d},2026-03-"
            f"{1 + i % 28:02d},Plan {i % 7},INV-{start + i}"
        )
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def via_run(sb: Sandbox, rows: int, concurrency: int, workdir: Path, start: int) -> dict:
    """The whole ``run`` (read, validate, preflight, send, results) through run_import()."""
    from importer.job.oneshot import run_import

    source = write_csv(workdir / f"run-{concurrency}-{start}.csv", rows, start)
    cpu = time.process_time()
    started = time.perf_counter()
    report = run_import(
        source, api_key=sb.api_key, api_url=sb.base_url, concurrency=concurrency, timeout=30
    )
    wall = time.perf_counter() - started
    cpu = time.process_time() - cpu
    assert report.exit_code == 0, report.summary.as_dict()
    sent = sum(r.requests for r in report.send_reports)
    sending = sum(r.duration for r in report.send_reports)
    return {
        "rps": sent / sending,
        "cpu_ms_per_row": cpu / rows * 1000,
        "wall": wall,
        "journal_share": sum(r.journal_seconds for r in report.send_reports) / sending,
    }


def csv_records(rows: int, start: int) -> list[PurchaseRecord]:
    """The purchases of :func:`write_csv`'s file, as the run reads them (same request bodies)."""
    return [
        PurchaseRecord(
            row=start + i,
            lead_id=LEADS[i % len(LEADS)],
            purchase_amount=Decimal(f"{10 + i % 90}.{i % 100:02d}"),
            date=datetime(2026, 3, 1 + i % 28, tzinfo=UTC),
            product_name=f"Plan {i % 7}",
        )
        for i in range(rows)
    ]


async def peer(url: str, api_key: str, bodies: list[bytes], concurrency: int) -> float:
    """A bare HTTP/1.1 keep-alive client on asyncio streams: ``concurrency`` connections, each
    posting the next body as soon as its previous answer is read. Returns the seconds taken."""
    parts = urlsplit(url)
    head = (
        f"POST {parts.path or '/'} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
        f"Content-Type: application/json\r\nX-Api-Key: {api_key}\r\n"
    ).encode()
    queue = iter(bodies)

    async def connection() -> None:
        reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
        try:
            for body in queue:
                writer.write(head + b"Content-Length: %d\r\n\r\n" % len(body) + body)
                status, length, close = parse_head(await reader.readuntil(b"\r\n\r\n"))
                await reader.readexactly(length)
                if status not in (200, 201):
                    raise RuntimeError(f"peer: HTTP {status}")
                if close:
                    writer.close()
                    reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(connection() for _ in range(concurrency)))
    return time.perf_counter() - started


def parse_head(head: bytes) -> tuple[int, int, bool]:
    """Status, Content-Length and whether the server closes, from a response head."""
    lines = head.split(b"\r\n")
    status = int(lines[0].split()[1])
    length, close = 0, False
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"connection" and value.strip().lower() == b"close":
            close = True
        elif name == b"transfer-encoding":
            raise RuntimeError("peer: chunked answers are not supported")
    return status, length, close


def keen_import_run(
    sb: Sandbox, source: Path, concurrency: int, ledger: str | None = None
) -> tuple[float, float]:
    """``keen-import run`` as a user starts it (a subprocess): its wall and CPU seconds. Its
    per-user data (the default ledger) lives beside the generated file, never in the user's."""
    repo = str(Path(__file__).resolve().parents[1])  # the tree this benchmark belongs to
    env = {**os.environ, "KEEN_API_KEY": sb.api_key, "PYTHONPATH": repo}
    env["KEEN_IMPORT_DATA_DIR"] = str(source.parent / "data")
    command = [sys.executable, "-m", "importer", "run", str(source), "--api-url", sb.base_url]
    command += ["--concurrency", str(concurrency), "--yes"]
    if ledger:
        command += ["--ledger", ledger]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise RuntimeError(f"keen-import run exited {done.returncode}: {done.stderr[-2000:]}")
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    return wall, cpu


async def whole_run(sb: Sandbox, args: argparse.Namespace, workdir: Path, start: int) -> None:
    """The whole ``keen-import run`` against the bare peer, ``--repeat`` times."""
    concurrency = args.concurrency[0]
    rows = args.rows
    where = "ledger " + (args.ledger.split("@")[-1] if args.ledger else "the default SQLite")
    print(f"whole run vs bare asyncio keep-alive peer: {rows} rows, c={concurrency}, {where}")
    print(
        f"{'#':>2} {'peer s':>7} {'peer req/s':>10} {'peer CPU':>8} {'run s':>6} "
        f"{'run rows/s':>10} {'run CPU':>7} {'ratio':>6} {'CPU x peer':>10} {'load':>5}"
    )
    ratios, cpu_ratios = [], []
    for n in range(1, args.repeat + 1):
        bodies = [dumps_payload(r.payload()) for r in csv_records(rows, start)]
        start += rows
        peer_cpu = time.process_time()
        peer_seconds = await peer(sb.base_url, sb.api_key, bodies, concurrency)
        peer_cpu = time.process_time() - peer_cpu
        source = write_csv(workdir / f"whole-{n}.csv", rows, start)
        start += rows
        run_seconds, run_cpu = await asyncio.to_thread(
            keen_import_run, sb, source, concurrency, args.ledger
        )
        ratios.append(peer_seconds / run_seconds)
        cpu_ratios.append(run_cpu / peer_cpu)
        print(
            f"{n:>2} {peer_seconds:>7.2f} {rows / peer_seconds:>10,.0f} {peer_cpu:>7.2f}s "
            f"{run_seconds:>6.2f} {rows / run_seconds:>10,.0f} {run_cpu:>6.2f}s "
            f"{ratios[-1]:>5.2f}x {cpu_ratios[-1]:>9.2f}x {os.getloadavg()[0]:>5.1f}"
        )
    print(
        f"median ratio {statistics.median(ratios):.2f}x (target >= 0.90x, 0.85x with PostgreSQL);"
        f" CPU per purchase {statistics.median(cpu_ratios):.2f}x the peer's (target <= 2x)"
    )


async def main(args: argparse.Namespace) -> None:
    latency = args.latency_ms / 1000
    transports = ["http11", "httpx"] if args.transport == "both" else [args.transport]
    with (
        Sandbox(process=True, faults=Faults(latency_ms=args.latency_ms)) as sb,
        tempfile.TemporaryDirectory() as tmp,
    ):
        next_row = 2
        seq_rows = make_records(args.sequential_rows, next_row)
        next_row += len(seq_rows)
        seq_rps = await sequential(sb, seq_rows)
        print(f"sandbox latency {args.latency_ms:.0f} ms, {args.rows} rows (c=1: {args.c1_rows})")
        print(f"naive sequential httpx loop: {seq_rps:,.0f} req/s ({len(seq_rows)} rows)")
        if args.via == "whole-run":
            await whole_run(sb, args, Path(tmp), next_row)
            return
        if args.via == "run":
            print(
                f"{'via run':<13} {'c':>3} {'rows':>5} {'req/s':>8} {'limit':>7} {'%limit':>7} "
                f"{'x seq':>6} {'CPU ms/row':>10} {'ledger':>8} {'whole run':>9}"
            )
            for concurrency in args.concurrency:
                rows = args.c1_rows if concurrency == 1 else args.rows
                result = await asyncio.to_thread(
                    via_run, sb, rows, concurrency, Path(tmp), next_row
                )
                next_row += rows
                limit = concurrency / latency
                print(
                    f"{'run_import':<13} {concurrency:>3} {rows:>5} {result['rps']:>8,.0f} "
                    f"{limit:>7,.0f} {result['rps'] / limit:>7.0%} "
                    f"{result['rps'] / seq_rps:>6.1f} {result['cpu_ms_per_row']:>10.3f} "
                    f"{result['journal_share']:>8.1%} {result['wall']:>8.2f}s"
                )
            return
        print(
            f"{'transport':<13} {'c':>3} {'rows':>5} {'req/s':>8} {'limit':>7} {'%limit':>7} "
            f"{'x seq':>6} {'CPU ms/row':>10} {'ledger':>8} {'commit':>7}"
        )
        for transport in transports:
            for concurrency in args.concurrency:
                rows = args.c1_rows if concurrency == 1 else args.rows
                records = make_records(rows, next_row)
                next_row += rows
                result = await engine(sb, records, concurrency, transport, Path(tmp))
                limit = concurrency / latency
                print(
                    f"{transport:<13} {concurrency:>3} {rows:>5} {result['rps']:>8,.0f} "
                    f"{limit:>7,.0f} {result['rps'] / limit:>7.0%} "
                    f"{result['rps'] / seq_rps:>6.1f} {result['cpu_ms_per_row']:>10.3f} "
                    f"{result['journal_share']:>8.1%} {result['commit_share']:>7.1%}"
                )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=5000)
    parser.add_argument("--c1-rows", type=int, default=300)
    parser.add_argument("--sequential-rows", type=int, default=200)
    parser.add_argument("--latency-ms", type=float, default=20)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8, 32, 64])
    parser.add_argument(
        "--transport",
        choices=["http11", "httpx", "both"],
        default="http11",
    )
    parser.add_argument("--uvloop", action="store_true", help="run the client on uvloop")
    parser.add_argument(
        "--via",
        choices=["engine", "run", "whole-run"],
        default="engine",
        help="engine: send_all with the ledger (default); run: the whole run_import() on a "
        "generated CSV (its own event loop, uvloop when installed); whole-run: the whole "
        "`keen-import run` (a subprocess) as a ratio to a bare asyncio keep-alive peer",
    )
    parser.add_argument("--repeat", type=int, default=3, help="whole-run: runs of each")
    parser.add_argument(
        "--ledger", help="whole-run: the run's --ledger (a SQLite file or PostgreSQL URL)"
    )
    arguments = parser.parse_args()
    if arguments.uvloop:
        import uvloop

        uvloop.run(main(arguments))
    else:
        asyncio.run(main(arguments))
