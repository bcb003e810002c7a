"""Hostile files through `keen-import validate`, under a 1.5 GB address-space limit.

For each case: exit code, wall time, peak RSS of the CLI process, and the first line of stderr.
Also times inspect_input alone on the large normal CSV (the pre-parse scan).

    python benchmarks/bench_hostile.py [--keep DIR]
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from importer.read.filecheck import inspect_input  # noqa: E402

MB = 1024 * 1024
ADDRESS_LIMIT = 1536 * MB
LEAD = "3f2504e0-4f89-11d3-9a0c-0305e82c3301"


def limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_LIMIT, ADDRESS_LIMIT))


def make_zip_bomb(path: Path, member_mb: int = 600) -> Path:
    zeros = bytes(MB)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/workbook.xml", "<workbook/>")
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as part:
            for _ in range(member_mb):
                part.write(zeros)
    return path


def make_lying_bomb(path: Path, member_mb: int = 600) -> Path:
    """Like the bomb, but both headers claim the sheet is 1 KB."""
    make_zip_bomb(path, member_mb)
    data = bytearray(path.read_bytes())
    name = b"xl/worksheets/sheet1.xml"
    for signature, size_at in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        at = data.find(signature)
        while at >= 0:
            name_at = at + (30 if signature == b"PK\x03\x04" else 46)
            if data[name_at : name_at + len(name)] == name:
                if data[at + size_at : at + size_at + 4] != b"\xff\xff\xff\xff":
                    data[at + size_at : at + size_at + 4] = (1024).to_bytes(4, "little")
                else:  # zip64: the real size sits in the extra field
                    extra = data.find(b"\x01\x00", name_at + len(name))
                    data[extra + 4 : extra + 12] = (1024).to_bytes(8, "little")
                break
            at = data.find(signature, at + 4)
    path.write_bytes(bytes(data))
    return path


def make_long_line(path: Path, mb: int = 64) -> Path:
    with path.open("wb") as f:
        f.write(b"Lead ID,Amount,Date\n")
        block = b"A" * MB
        for _ in range(mb):
            f.write(block)
    return path


def make_large_csv(path: Path, mb: int = 200) -> Path:
    row = f"{LEAD},1500.00,2026-04-23,Widget deluxe,INV-000123\n".encode()
    block = row * (MB // len(row))
    with path.open("wb") as f:
        f.write(b"Lead ID,Amount,Date,Product,Reference\n")
        for _ in range(mb):
            f.write(block)
    return path


def run_case(name: str, path: Path, *options: str) -> None:
    started = time.perf_counter()
    child = subprocess.Popen(
        [sys.executable, "-m", "importer", "validate", str(path), *options],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        preexec_fn=limit_memory,
    )
    stderr = child.stderr.read() if child.stderr else b""
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - started
    first = stderr.decode("utf-8", "replace").strip().splitlines()[:1]
    print(
        f"{name:<28} exit {child.returncode:>3}  {wall:7.2f} s  "
        f"peak RSS {usage.ru_maxrss / 1024:7.0f} MB  {len(stderr):>5} B stderr  "
        f"{first[0][:90] if first else ''}",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", type=Path, help="generate the files in this folder and keep them")
    args = parser.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="keen-hostile-"))
    folder.mkdir(parents=True, exist_ok=True)

    started = time.perf_counter()
    bomb = make_zip_bomb(folder / "bomb.xlsx")
    liar = make_lying_bomb(folder / "lying-bomb.xlsx")
    long_line = make_long_line(folder / "long-line.csv")
    large = make_large_csv(folder / "large.csv")
    print(f"generated the files in {time.perf_counter() - started:.1f} s in {folder}")
    print(f"address-space limit for the CLI: {ADDRESS_LIMIT // MB} MB\n")

    for _ in range(2):  # the second run reads from the page cache, as a re-run would
        started = time.perf_counter()
        inspect_input(large)
    scan = time.perf_counter() - started
    size_mb = large.stat().st_size / MB
    print(
        f"inspect_input scan of {size_mb:.0f} MB CSV: {scan:.2f} s "
        f"({scan / size_mb * 100:.2f} s/100 MB)\n"
    )

    run_case("zip bomb 600 MB", bomb)
    run_case("zip bomb, lying headers", liar)
    run_case("zip bomb, --max-xlsx-mb 1000", bomb, "--max-xlsx-mb", "1000")
    run_case("64 MB single-line CSV", long_line)
    run_case(f"{size_mb:.0f} MB normal CSV (validate)", large, "--results", str(folder / "out.csv"))
    (folder / "out.csv").unlink(missing_ok=True)

    if not args.keep:
        for path in folder.iterdir():
            path.unlink()
        folder.rmdir()


if __name__ == "__main__":
    main()
