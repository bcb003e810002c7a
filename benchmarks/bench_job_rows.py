"""Peak memory and time of the import job's row pages next to a one-call validate.

    python benchmarks/bench_job_rows.py [--rows 1000000] [--workdir DIR] [--reuse]

Generates the CSV of bench_validate.py, then runs two steps, each in its own child process:

- ``validate``: ``importer.validate(FILE)`` (what ``keen-import validate`` does);
- ``job``: ``open_import(FILE)``, ``check()`` (which also builds the row index), then pages:
  the first page, a page in the middle, ``status="invalid"``, ``warning=...`` and a search
  for one invoice number (read from disk through the offset index).

Peak RSS is the child's ``ru_maxrss`` (the forked helper of a large CSV check is not counted
in either step).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_validate import _usage, ensure_files  # noqa: E402


def child_validate(path: str) -> dict:
    import importer

    started = time.perf_counter()
    importer.validate(path, results=path + ".v.csv")
    rss, _ = _usage()
    return {
        "step": "validate",
        "seconds": round(time.perf_counter() - started, 2),
        "rss_mb": rss // 1024,
    }


def child_job(path: str) -> dict:
    import importer

    timings = {}
    started = time.perf_counter()
    job = importer.open_import(path)
    job.set_options(results=path + ".j.csv")
    job.check()
    timings["check+index"] = time.perf_counter() - started
    for name, call in (
        ("first page", lambda: job.rows(limit=100)),
        ("middle page", lambda: job.rows(offset=500_000, limit=100)),
        ("status=invalid", lambda: job.rows(status="invalid", limit=100)),
        ("warning", lambda: job.rows(warning="in the future", limit=100)),
        ("search", lambda: job.rows(search="INV-00765432", limit=100)),
        ("search again (cached)", lambda: job.rows(search="INV-00765432", limit=100)),
    ):
        t = time.perf_counter()
        page = call()
        timings[f"{name} ({page.total:,} rows)"] = time.perf_counter() - t
    rss, _ = _usage()
    return {
        "step": "job",
        "rss_mb": rss // 1024,
        "seconds": {k: round(v, 3) for k, v in timings.items()},
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--reuse", action="store_true")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        step, path = args.child
        print(json.dumps({"validate": child_validate, "job": child_job}[step](path)))
        return 0
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="bench-job-"))
    workdir.mkdir(parents=True, exist_ok=True)
    csv_path, _ = ensure_files(workdir, args.rows, 0, args.reuse, only="csv")
    for step in ("validate", "job"):
        out = subprocess.run(
            [sys.executable, __file__, "--child", step, str(csv_path)],
            capture_output=True,
            text=True,
            check=True,
        )
        print(out.stdout.strip())
    return 0


if __name__ == "__main__":
    sys.exit(main())
