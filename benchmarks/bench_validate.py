"""Speed and peak memory of ``keen-import validate`` next to the I/O floor of the same files.

    python benchmarks/bench_validate.py [--rows-csv 1000000] [--rows-xlsx 100000] [--quick]
                                        [--workdir DIR] [--reuse] [--via cli|api] [--repeat N]
                                        [--profile FILE.prof]

Generates a CSV (default 1M rows) and an XLSX (default 100k rows) of realistic purchases
(Lead ID: UUIDs of ~50k distinct leads; Amount "1234.50", every 1000th "$1,500.00"; Invoice date
ISO dates over 2025; Product; Product description; Invoice number, unique; Currency "USD"; and two
unmapped columns, Customer and Region). The XLSX holds real number and date cells.

Every measured step runs in its own child process, which prints its wall time and CPU seconds
(its own plus its children's: validate forks a helper for large CSVs) as JSON. Peak RSS is per
step and covers the whole process tree: the larger of the step's own ``ru_maxrss`` and the sum
of the RSS of the step and its descendants, sampled every 50 ms from /proc (on Linux; the PSS
sum, which counts pages shared after the fork once, is printed too):

- ``floor read``:  CSV ``pandas.read_csv(path, dtype=str, keep_default_na=False)``;
                   XLSX ``CalamineWorkbook.from_path(p).get_sheet_by_index(0).to_python()``.
- ``floor write``: CSV a bare ``csv.writer`` write (UTF-8 with BOM) of as many rows and columns
                   as the results file (input columns + 7 result columns); XLSX a bare
                   xlsxwriter (constant_memory=True) write of the same shape with typed cells.
- ``floor``:       read + write (the I/O floor); peak RSS is the larger of the two.
- ``validate``:    ``python -m importer validate FILE --results OUT`` (``--via cli``, the default:
                   ``importer.cli.main`` in the child) or ``importer.validate`` (``--via api``).

Times include importing the library under test (pandas, python-calamine, xlsxwriter or
importer) but not the interpreter start-up. The steps take turns (read, write, validate,
read, ...) and the best of ``--repeat`` runs of each counts. Targets: validate <= 1.0x the
floor for CSV and <= 1.5x for XLSX, peak RSS of validate on 1M rows <= 300 MB.

``--profile FILE`` also runs validate on the CSV under cProfile
(``python -m cProfile -o FILE -m importer validate ...``) and prints the top cumulative
hotspots inside importer/ (cProfile roughly doubles the run time; use it for proportions only).
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import itertools
import json
import os
import platform
import random
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
HEADERS = [
    "Lead ID",
    "Amount",
    "Invoice date",
    "Product",
    "Product description",
    "Invoice number",
    "Currency",
    "Customer",
    "Region",
]
RESULT_COLUMNS = 7  # row, status, purchase_id, http_status, error, attempts, warnings
SEED = 20260421
DISTINCT_LEADS = 50_000
PRODUCTS = [
    ("Starter plan", "Monthly subscription, 1 seat"),
    ("Team plan", "Monthly subscription, up to 10 seats"),
    ("Business plan", "Annual subscription, up to 50 seats"),
    ("Enterprise plan", "Annual subscription, unlimited seats, SSO"),
    ("Onboarding package", "Remote onboarding, 4 sessions"),
    ("Premium support", "24/7 support add-on, 12 months"),
    ("Data migration", "One-off migration of legacy data"),
    ("Training day", "On-site training, one day, up to 12 people"),
    ("API add-on", "Extra 1M API calls per month"),
    ("Storage 1 TB", "Additional storage, 1 TB, monthly"),
    ("Consulting hours", "Block of 10 consulting hours"),
    ("Hardware kit", "Card reader and stand, shipped"),
]
REGIONS = ["North", "South", "East", "West", "Central", "EMEA", "APAC", "LATAM"]
COMPANY_WORDS = [
    "Acme",
    "Globex",
    "Initech",
    "Umbrella",
    "Stark",
    "Wayne",
    "Hooli",
    "Vandelay",
    "Wonka",
    "Tyrell",
    "Cyberdyne",
    "Soylent",
    "Aperture",
    "Massive",
    "Dunder",
    "Sterling",
    "Pied",
    "Prestige",
    "Oscorp",
    "Monarch",
]
COMPANY_KINDS = ["Ltd", "Inc", "LLC", "GmbH", "A/S", "BV", "SAS", "AB"]
CHUNK = 50_000


# --- data generation -----------------------------------------------------------------------------


def _pools(rng: random.Random):
    leads = [str(uuid.UUID(int=rng.getrandbits(128), version=4)) for _ in range(DISTINCT_LEADS)]
    start = dt.date(2025, 1, 1)
    days = [start + dt.timedelta(days=d) for d in range(365)]
    customers = [
        f"{a} {b} {k}"
        for a, b, k in itertools.islice(
            (
                (rng.choice(COMPANY_WORDS), rng.choice(COMPANY_WORDS), rng.choice(COMPANY_KINDS))
                for _ in itertools.count()
            ),
            5_000,
        )
    ]
    return leads, days, customers


def _columns(rng: random.Random, n: int, pools):
    """Random column values for n rows (amount in cents, dates as date objects)."""
    leads, days, customers = pools
    products = rng.choices(PRODUCTS, k=n)
    # purchase amounts between 5.00 and 25,000.00, skewed towards small ones
    cents = [int(500 + 2_499_500 * (rng.random() ** 3)) for _ in range(n)]
    return (
        rng.choices(leads, k=n),
        cents,
        rng.choices(days, k=n),
        products,
        rng.choices(customers, k=n),
        rng.choices(REGIONS, k=n),
    )


def generate_csv(path: Path, rows: int, seed: int = SEED) -> None:
    rng = random.Random(seed)
    pools = _pools(rng)
    iso = {d: d.isoformat() for d in pools[1]}
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADERS)
        for start in range(0, rows, CHUNK):
            n = min(CHUNK, rows - start)
            leads, cents, dates, products, customers, regions = _columns(rng, n, pools)
            out = []
            for i in range(n):
                c = cents[i]
                row_number = start + i
                if row_number % 1000 == 999:
                    amount = f"${c // 100:,}.{c % 100:02d}"  # "$1,500.00": formatted by hand
                else:
                    amount = f"{c // 100}.{c % 100:02d}"
                name, description = products[i]
                out.append(
                    [
                        leads[i],
                        amount,
                        iso[dates[i]],
                        name,
                        description,
                        f"INV-{row_number + 1:08d}",
                        "USD",
                        customers[i],
                        regions[i],
                    ]
                )
            writer.writerows(out)
    os.replace(tmp, path)


def generate_xlsx(path: Path, rows: int, seed: int = SEED + 1) -> None:
    import xlsxwriter

    rng = random.Random(seed)
    pools = _pools(rng)
    tmp = path.with_name(path.stem + ".tmp.xlsx")
    book = xlsxwriter.Workbook(str(tmp), {"constant_memory": True})
    sheet = book.add_worksheet("Purchases")
    money = book.add_format({"num_format": "#,##0.00"})
    date_format = book.add_format({"num_format": "yyyy-mm-dd"})
    bold = book.add_format({"bold": True})
    sheet.write_row(0, 0, HEADERS, bold)
    line = 1
    for start in range(0, rows, CHUNK):
        n = min(CHUNK, rows - start)
        leads, cents, dates, products, customers, regions = _columns(rng, n, pools)
        for i in range(n):
            row_number = start + i
            c = cents[i]
            sheet.write_string(line, 0, leads[i])
            if row_number % 1000 == 999:
                sheet.write_string(line, 1, f"${c // 100:,}.{c % 100:02d}")  # a text amount
            else:
                sheet.write_number(line, 1, c / 100, money)
            sheet.write_datetime(line, 2, dates[i], date_format)
            name, description = products[i]
            sheet.write_string(line, 3, name)
            sheet.write_string(line, 4, description)
            sheet.write_string(line, 5, f"INV-{row_number + 1:08d}")
            sheet.write_string(line, 6, "USD")
            sheet.write_string(line, 7, customers[i])
            sheet.write_string(line, 8, regions[i])
            line += 1
    book.close()
    os.replace(tmp, path)


def ensure_files(
    workdir: Path, rows_csv: int, rows_xlsx: int, reuse: bool, only: str | None = None
) -> tuple[Path, Path]:
    csv_path = workdir / f"purchases_{rows_csv}.csv"
    xlsx_path = workdir / f"purchases_{rows_xlsx}.xlsx"
    for path, rows, make in (
        (csv_path, rows_csv, generate_csv),
        (xlsx_path, rows_xlsx, generate_xlsx),
    ):
        if only and not path.suffix.endswith(only):
            continue
        if reuse and path.exists():
            print(f"reusing {path} ({path.stat().st_size / 1e6:.1f} MB)", file=sys.stderr)
            continue
        started = time.perf_counter()
        make(path, rows)
        print(
            f"generated {path.name}: {rows:,} rows, {path.stat().st_size / 1e6:.1f} MB "
            f"in {time.perf_counter() - started:.1f} s",
            file=sys.stderr,
        )
    return csv_path, xlsx_path


# --- child steps (each runs in its own process) -------------------------------------------------


def _usage() -> tuple[int, float]:
    """(peak RSS in KiB, CPU seconds user+system) of this process so far."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    rss = usage.ru_maxrss // 1024 if sys.platform == "darwin" else usage.ru_maxrss  # KiB on Linux
    cpu = usage.ru_utime + usage.ru_stime + children.ru_utime + children.ru_stime
    return rss, cpu


def child_floor_read_csv(path: str) -> dict:
    import pandas as pd

    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    return {"rows": len(frame), "cols": frame.shape[1]}


def child_floor_write_csv(path: str, out: str, rows: int, cols: int) -> dict:
    # realistic cell contents: the first rows of the input, cycled, plus result-like columns
    with open(path, encoding="utf-8", newline="") as handle:
        sample = list(itertools.islice(csv.reader(handle), 1, 1001))
    extra = cols - len(sample[0])
    pool = [r + [str(i + 2), "valid"] + [""] * (extra - 2) for i, r in enumerate(sample)]
    started, cpu = time.perf_counter(), _usage()[1]
    with open(out, "w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADERS + [f"result_{k}" for k in range(extra)])
        source = itertools.cycle(pool)
        for start in range(0, rows, CHUNK):
            writer.writerows(itertools.islice(source, min(CHUNK, rows - start)))
    return {"rows": rows, "cols": cols, "setup_s": started, "setup_cpu": cpu}


def child_floor_read_xlsx(path: str) -> dict:
    from python_calamine import CalamineWorkbook

    data = CalamineWorkbook.from_path(path).get_sheet_by_index(0).to_python()
    return {"rows": len(data) - 1, "cols": len(data[0])}


def child_floor_write_xlsx(path: str, out: str, rows: int, cols: int) -> dict:
    import xlsxwriter
    from python_calamine import CalamineWorkbook

    sheet_in = CalamineWorkbook.from_path(path).get_sheet_by_index(0)
    sample = list(itertools.islice(sheet_in.iter_rows(), 1, 1001))
    extra = cols - len(sample[0])
    started, cpu = time.perf_counter(), _usage()[1]
    book = xlsxwriter.Workbook(out, {"constant_memory": True})
    sheet = book.add_worksheet("Results")
    date_format = book.add_format({"num_format": "yyyy-mm-dd"})
    for col, name in enumerate(HEADERS + [f"result_{k}" for k in range(extra)]):
        sheet.write_string(0, col, name)
    source = itertools.cycle(sample)
    width = len(sample[0])
    for line in range(1, rows + 1):
        for col, value in enumerate(next(source)):
            if isinstance(value, str):
                if value:
                    sheet.write_string(line, col, value)
            elif isinstance(value, (int, float)):
                sheet.write_number(line, col, value)
            elif isinstance(value, (dt.date, dt.datetime)):
                sheet.write_datetime(line, col, value, date_format)
        sheet.write_number(line, width, line + 1)  # row
        sheet.write_string(line, width + 1, "valid")  # status; the other 5 are blank
    book.close()
    return {"rows": rows, "cols": cols, "setup_s": started, "setup_cpu": cpu}


def child_validate(path: str, out: str, via: str) -> dict:
    if via == "api":
        from importer.job.validate import validate

        report = validate(path, results=out)
        return {"exit": report.exit_code, "valid": report.summary.count("valid")}
    from importer.cli import main

    return {"exit": main(["validate", path, "--results", out])}


CHILDREN = {
    "floor_read_csv": child_floor_read_csv,
    "floor_write_csv": child_floor_write_csv,
    "floor_read_xlsx": child_floor_read_xlsx,
    "floor_write_xlsx": child_floor_write_xlsx,
    "validate": child_validate,
}


def child_main(step: str, args: list) -> None:
    started = time.perf_counter()
    cpu_started = _usage()[1]
    info = CHILDREN[step](*args)
    seconds = time.perf_counter() - started
    if "setup_s" in info:  # time spent preparing the rows to write is not part of the floor
        seconds = time.perf_counter() - info.pop("setup_s")
        cpu_started = info.pop("setup_cpu")
    maxrss_kb, cpu = _usage()
    info.update(seconds=seconds, cpu_s=cpu - cpu_started, maxrss_kb=maxrss_kb)
    sys.stdout.flush()
    print("\n@@BENCH@@" + json.dumps(info, default=str), flush=True)


def process_tree(root: int) -> list[int]:
    """``root`` and its descendants (from /proc/PID/task/TID/children)."""
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        try:
            for task in os.listdir(f"/proc/{pid}/task"):
                with open(f"/proc/{pid}/task/{task}/children") as handle:
                    todo.extend(int(child) for child in handle.read().split())
        except OSError:
            continue
    return found


def rss_pss_kb(pid: int) -> tuple[int, int]:
    rss = pss = 0
    try:
        with open(f"/proc/{pid}/smaps_rollup") as handle:
            for line in handle:
                if line.startswith("Rss:"):
                    rss = int(line.split()[1])
                elif line.startswith("Pss:"):
                    pss = int(line.split()[1])
    except OSError:
        pass
    return rss, pss


def _sample_tree(proc: subprocess.Popen, peaks: dict, stop: threading.Event) -> None:
    """Peak sums of RSS and PSS over the step's process tree, sampled every 50 ms."""
    while not stop.is_set() and proc.poll() is None:
        usage = [rss_pss_kb(pid) for pid in process_tree(proc.pid)]
        peaks["rss"] = max(peaks["rss"], sum(u[0] for u in usage))
        peaks["pss"] = max(peaks["pss"], sum(u[1] for u in usage))
        peaks["processes"] = max(peaks["processes"], len(usage))
        stop.wait(0.05)


def run_child(step: str, *args) -> dict:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", step, json.dumps(args)]
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=REPO
    )
    peaks = {"rss": 0, "pss": 0, "processes": 0}
    stop = threading.Event()
    sampler = None
    if os.path.exists("/proc/self/smaps_rollup"):
        sampler = threading.Thread(target=_sample_tree, args=(proc, peaks, stop), daemon=True)
        sampler.start()
    stdout, stderr = proc.communicate()
    stop.set()
    if sampler:
        sampler.join()
    marker = stdout.rfind("@@BENCH@@")
    if proc.returncode != 0 or marker < 0:
        sys.stderr.write(stdout[-3000:] + stderr[-3000:])
        raise SystemExit(f"step {step} failed (exit {proc.returncode})")
    info = json.loads(stdout[marker + len("@@BENCH@@") :])
    info["maxrss_kb"] = max(info["maxrss_kb"], peaks["rss"])
    info["pss_kb"] = peaks["pss"]
    info["processes"] = peaks["processes"]
    return info


def best_of(repeat: int, step: str, *args) -> dict:
    return _best([run_child(step, *args) for _ in range(repeat)])


def interleaved(repeat: int, steps: dict[str, tuple]) -> dict[str, dict]:
    """The best of ``repeat`` runs of each step, the steps taking turns (read, write,
    validate, read, ...), so a machine whose speed drifts during the run (a shared VM) slows
    the floor and validate alike."""
    runs: dict[str, list[dict]] = {name: [] for name in steps}
    for _ in range(repeat):
        for name, (step, *args) in steps.items():
            runs[name].append(run_child(step, *args))
    return {name: _best(found) for name, found in runs.items()}


def _best(runs: list[dict]) -> dict:
    best = min(runs, key=lambda r: r["seconds"])
    best["maxrss_kb"] = max(r["maxrss_kb"] for r in runs)
    best["pss_kb"] = max(r["pss_kb"] for r in runs)
    return best


# --- the benchmark --------------------------------------------------------------------------------


def count_data_lines(path: Path) -> int:
    with open(path, "rb") as handle:
        return sum(block.count(b"\n") for block in iter(lambda: handle.read(1 << 22), b"")) - 1


def bench_format(kind: str, path: Path, rows: int, workdir: Path, args) -> list[dict]:
    cols = len(HEADERS) + RESULT_COLUMNS
    out_floor = workdir / f"floor.{kind}"
    out_results = workdir / f"{path.stem}.results.{kind}"
    out_results.unlink(missing_ok=True)
    steps = {
        "read": (f"floor_read_{kind}", str(path)),
        "write": (f"floor_write_{kind}", str(path), str(out_floor), rows, cols),
        "validate": ("validate", str(path), str(out_results), args.via),
    }
    best = interleaved(args.repeat, steps)
    read, write, validate = best["read"], best["write"], best["validate"]
    assert read["rows"] == rows, (read, rows)
    if validate["exit"] not in (0, 1) or not out_results.exists():
        raise SystemExit(f"validate {path.name} failed: {validate}")
    if kind == "csv":
        written = count_data_lines(out_results)
        if written != rows:
            raise SystemExit(f"results file has {written} rows, expected {rows}")
    floor_s = read["seconds"] + write["seconds"]
    floor_cpu = read["cpu_s"] + write["cpu_s"]
    floor_rss = max(read["maxrss_kb"], write["maxrss_kb"])
    table = [
        (f"{kind} floor read", rows, read),
        (f"{kind} floor write ({cols} cols)", rows, write),
        (
            f"{kind} floor (read+write)",
            rows,
            {
                "seconds": floor_s,
                "cpu_s": floor_cpu,
                "maxrss_kb": floor_rss,
                "pss_kb": max(read["pss_kb"], write["pss_kb"]),
                "processes": 1,
            },
        ),
        (f"{kind} validate ({args.via})", rows, validate),
    ]
    return [
        {
            "step": step,
            "rows": n,
            "seconds": m["seconds"],
            "cpu_s": m["cpu_s"],
            "rows_per_s": n / m["seconds"],
            "peak_rss_mb": m["maxrss_kb"] / 1024,
            "peak_pss_mb": m["pss_kb"] / 1024,
            "processes": m["processes"],
            "ratio": m["seconds"] / floor_s,
            "cpu_ratio": m["cpu_s"] / floor_cpu,
        }
        for step, n, m in table
    ]


def print_table(lines: list[dict]) -> None:
    """Wall seconds decide; CPU seconds (user+sys) help when other jobs share the machine."""
    head = (
        f"{'step':<28} {'rows':>10} {'seconds':>8} {'rows/s':>10} {'peak RSS MB':>12} "
        f"{'x floor':>8} {'cpu s':>7} {'cpu x floor':>11} {'PSS MB':>7} {'procs':>5}"
    )
    print(head)
    print("-" * len(head))
    for r in lines:
        print(
            f"{r['step']:<28} {r['rows']:>10,} {r['seconds']:>8.2f} {r['rows_per_s']:>10,.0f} "
            f"{r['peak_rss_mb']:>12,.0f} {r['ratio']:>8.2f} {r['cpu_s']:>7.2f} "
            f"{r['cpu_ratio']:>11.2f} {r['peak_pss_mb']:>7,.0f} {r['processes']:>5}"
        )


def print_markdown(lines: list[dict]) -> None:
    print(
        "| step | rows | seconds | rows/s | peak RSS MB | x floor | CPU s | CPU x floor "
        "| peak PSS MB | processes |"
    )
    print("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
    for r in lines:
        print(
            f"| {r['step']} | {r['rows']:,} | {r['seconds']:.2f} | {r['rows_per_s']:,.0f} | "
            f"{r['peak_rss_mb']:,.0f} | {r['ratio']:.2f} | {r['cpu_s']:.2f} | "
            f"{r['cpu_ratio']:.2f} | {r['peak_pss_mb']:,.0f} | {r['processes']} |"
        )


def verdicts(lines: list[dict], rows_csv: int) -> list[str]:
    out = []
    for r in lines:
        if "validate" not in r["step"]:
            continue
        target = 1.0 if r["step"].startswith("csv") else 1.5
        verdict = "PASS" if r["ratio"] <= target else "FAIL"
        out.append(f"{verdict}  {r['step']}: {r['ratio']:.2f}x floor (target <= {target}x)")
        if r["step"].startswith("csv"):
            scaled = ""
            if rows_csv != 1_000_000:
                scaled = f" (measured on {rows_csv:,} rows; the target is for 1M)"
            ok = r["peak_rss_mb"] <= 300
            out.append(
                f"{'PASS' if ok else 'FAIL'}  {r['step']}: peak RSS "
                f"{r['peak_rss_mb']:.0f} MB (target <= 300 MB){scaled}"
            )
    return out


def profile(csv_path: Path, workdir: Path, prof: Path, top: int = 15) -> None:
    import pstats

    out = workdir / "profiled.results.csv"
    cmd = [
        sys.executable,
        "-m",
        "cProfile",
        "-o",
        str(prof),
        "-m",
        "importer",
        "validate",
        str(csv_path),
        "--results",
        str(out),
    ]
    started = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO)
    if proc.returncode not in (0, 1):
        sys.stderr.write(proc.stderr[-3000:])
        raise SystemExit("profiled validate failed")
    print(
        f"\ncProfile of validate {csv_path.name}: {time.perf_counter() - started:.1f} s "
        f"under the profiler; profile in {prof}"
    )
    stats = pstats.Stats(str(prof))
    entries = []
    for (filename, lineno, func), (_cc, ncalls, tottime, cumtime, _callers) in stats.stats.items():
        if f"{os.sep}importer{os.sep}" in filename:
            rel = filename[filename.rfind(f"{os.sep}importer{os.sep}") + 1 :]
            entries.append((cumtime, tottime, ncalls, f"{rel}:{lineno}({func})"))
    entries.sort(reverse=True)
    print(f"{'cumtime s':>10} {'tottime s':>10} {'calls':>10}  function (importer/ only)")
    for cum, tot, calls, name in entries[:top]:
        print(f"{cum:>10.2f} {tot:>10.2f} {calls:>10,}  {name}")
    print(f"\nall code, top {top} by own time:")
    stats.sort_stats("tottime").print_stats(top)


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child_main(sys.argv[2], json.loads(sys.argv[3]))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows-csv", type=int, default=1_000_000)
    parser.add_argument("--rows-xlsx", type=int, default=100_000)
    parser.add_argument("--quick", action="store_true", help="smoke run: 100k CSV rows, 10k XLSX")
    parser.add_argument("--workdir", type=Path, help="keep the files here (default: a temp dir)")
    parser.add_argument(
        "--reuse", action="store_true", help="reuse generated files found in --workdir"
    )
    parser.add_argument(
        "--via",
        choices=["cli", "api"],
        default="cli",
        help="validate through importer.cli.main (default) or importer.job.validate",
    )
    parser.add_argument("--repeat", type=int, default=1, help="best of N runs per step")
    parser.add_argument("--only", choices=["csv", "xlsx"], help="benchmark one format only")
    parser.add_argument(
        "--profile",
        type=Path,
        metavar="FILE.prof",
        help="also profile validate of the CSV with cProfile",
    )
    parser.add_argument("--markdown", action="store_true", help="also print a Markdown table")
    args = parser.parse_args()
    if args.quick:
        args.rows_csv, args.rows_xlsx = 100_000, 10_000

    temp = None
    if args.workdir:
        workdir = args.workdir
        workdir.mkdir(parents=True, exist_ok=True)
    else:
        temp = tempfile.TemporaryDirectory(prefix="bench_validate_")
        workdir = Path(temp.name)
    try:
        csv_path, xlsx_path = ensure_files(
            workdir, args.rows_csv, args.rows_xlsx, args.reuse, args.only
        )
        print(
            f"python {platform.python_version()}, {os.cpu_count()} CPUs, "
            f"{platform.machine()}; workdir {workdir}\n"
        )
        lines: list[dict] = []
        if args.only in (None, "csv"):
            lines += bench_format("csv", csv_path, args.rows_csv, workdir, args)
        if args.only in (None, "xlsx"):
            lines += bench_format("xlsx", xlsx_path, args.rows_xlsx, workdir, args)
        print_table(lines)
        if args.markdown:
            print()
            print_markdown(lines)
        print()
        for line in verdicts(lines, args.rows_csv):
            print(line)
        if args.profile:
            profile(csv_path, workdir, args.profile)
    finally:
        if temp is not None:
            temp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
