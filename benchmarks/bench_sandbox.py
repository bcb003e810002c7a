"""How many create_purchase requests per second the sandbox serves at latency 0.

The sandbox runs in a child process (``Sandbox(process=True)``) and the importer's own client
(KeenClient on the default HTTP/1.1 transport) in this process keeps ``--concurrency`` requests in
flight, so client and server do not share a GIL.

    python benchmarks/bench_sandbox.py [--requests 20000] [--concurrency 48] [--db FILE]

Prints one line per run with req/s; the target is at least 1,500 req/s on a 2-core machine.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections import Counter
from pathlib import Path

from importer.sandbox import Sandbox
from importer.send.client import KeenClient

LEADS = (
    "47378190-96da-4dac-b2ff-5d2a386ecbe0",
    "c241330b-01a9-471f-9e8a-774bcf36d58b",
    "ec1b8ca1-f91e-4d4c-9ff4-9b7889463e85",
)


async def hammer(
    url: str, api_key: str, *, requests: int, concurrency: int
) -> tuple[float, Counter]:
    statuses: Counter = Counter()
    counter = iter(range(requests))
    async with KeenClient(url, api_key, max_connections=concurrency) as client:

        async def worker() -> None:
            for n in counter:
                body = {
                    "action": "create_purchase",
                    "lead_id": LEADS[n % len(LEADS)],
                    "purchase_amount": 100 + n % 900,
                    "product_name": "Pro plan",
                    "date": "2026-04-21T10:00:00Z",
                }
                outcome = await client.create_purchase(body)
                statuses[outcome.http_status] += 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return time.perf_counter() - started, statuses


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20000)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[32, 64])
    parser.add_argument("--db", type=Path, help="SQLite file (default: in memory)")
    args = parser.parse_args()
    with Sandbox(db=args.db, process=True) as sb:
        # warm-up: connections, caches
        asyncio.run(hammer(sb.base_url, sb.api_key, requests=500, concurrency=8))
        for concurrency in args.concurrency:
            cpu_before = sb.stats()["cpu_seconds"]
            elapsed, statuses = asyncio.run(
                hammer(sb.base_url, sb.api_key, requests=args.requests, concurrency=concurrency)
            )
            server_cpu = sb.stats()["cpu_seconds"] - cpu_before
            rate = args.requests / elapsed
            per_request = server_cpu / args.requests
            print(
                f"create_purchase c={concurrency} n={args.requests}: {rate:,.0f} req/s "
                f"({elapsed:.2f} s, statuses {dict(statuses)}); server CPU "
                f"{per_request * 1e6:.0f} us/request = {1 / per_request:,.0f} req/s per core"
            )
        stats = sb.stats()
        print(f"stored purchases: {stats['purchases']}, rewards: {stats['rewards']}")


if __name__ == "__main__":
    main()
