"""keen-import ui on a 1M-row CSV, next to ``keen-import validate`` of the same file.

    python benchmarks/bench_ui.py                  # 1M rows (a few minutes)
    python benchmarks/bench_ui.py --rows 100000    # a quicker run
    python benchmarks/bench_ui.py --workdir /tmp/bu --reuse

Prints, measured in the same run on the same file:
- upload + "Check file" through the UI (HTTP, as a browser does it) vs the CLI's validate;
  target <= 1.3x;
- the median time of 50 random 100-row grid pages (GET .../review?page=N); target < 100 ms;
- the peak memory (VmHWM) of the UI server process vs the CLI's validate process (its largest
  process, from wait4), and what each holds before any file (the server idle; the CLI after
  its imports);
- the largest peak among the server's child processes (a large check runs in a forked child)
  vs the CLI's largest, and the largest PSS sum of each whole process tree.

The UI runs as ``python -m importer ui --no-browser --api-url http://127.0.0.1:9`` with a dummy
key (no sandbox in the process: only the work measured takes memory).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).parent))
from bench_validate import generate_csv, process_tree, rss_pss_kb  # noqa: E402

PAGES = 50


class TreeMemory:
    """Samples a process tree every 20 ms from /proc: the largest peak (VmHWM) of any process
    under the root (the root excluded) and the largest sum of PSS over the whole tree (pages
    shared after a fork counted once: the memory the tree really takes)."""

    def __init__(self, root: int) -> None:
        self.root = root
        self.largest_child_kb = 0
        self.pss_sum_kb = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def stop(self) -> TreeMemory:
        self._stop.set()
        self._thread.join()
        return self

    def _run(self) -> None:
        while not self._stop.is_set():
            pids = process_tree(self.root)
            pss = 0
            for pid in pids:
                with contextlib.suppress(OSError, RuntimeError, ValueError):
                    pss += rss_pss_kb(pid)[1]
                    if pid != self.root:
                        hwm = peak_memory_kb(pid)
                        self.largest_child_kb = max(self.largest_child_kb, hwm)
            self.pss_sum_kb = max(self.pss_sum_kb, pss)
            self._stop.wait(0.02)


def run_cli_validate(path: Path) -> tuple[float, int, TreeMemory]:
    """Seconds and peak RSS (KB: its largest process, from wait4) of
    ``python -m importer validate``, and its tree's memory."""
    started = time.perf_counter()
    child = subprocess.Popen(
        [sys.executable, "-m", "importer", "validate", str(path)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    tree = TreeMemory(child.pid)
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - started
    tree.stop()
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode not in (0, 1):
        raise SystemExit(f"validate failed with exit code {child.returncode}")
    return seconds, usage.ru_maxrss, tree


def peak_memory_kb(pid: int, field: str = "VmHWM") -> int:
    """VmHWM (peak resident memory) of a running process, in KB (or another /proc field)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc (Linux only)")


def cli_start_kb() -> int:
    """Peak RSS of a process that only imports the CLI (where validate starts from)."""
    child = subprocess.run(
        [sys.executable, "-c", "import resource, importer.cli; "
         "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return int(child.stdout)


def start_ui(workspace: Path) -> tuple[subprocess.Popen, str]:
    env = {**os.environ, "KEEN_API_KEY": "00000000-0000-0000-0000-000000000000"}
    server = subprocess.Popen(
        [sys.executable, "-m", "importer", "ui", "--no-browser", "--workspace", str(workspace),
         "--api-url", "http://127.0.0.1:9"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    )  # fmt: skip
    line = server.stdout.readline().strip()
    return server, line.removeprefix("keen-import ui: ")


def through_ui(path: Path, workspace: Path) -> dict:
    server, url = start_ui(workspace)
    try:
        time.sleep(0.3)
        idle_kb = peak_memory_kb(server.pid)
        root = url.split("/?")[0]
        with httpx.Client(trust_env=False, timeout=600, follow_redirects=False) as client:
            client.get(url)  # the token becomes a cookie
            form = {"csrf_token": _csrf(client.get(root + "/").text)}
            headers = {"Origin": root}
            tree = TreeMemory(server.pid)
            started = time.perf_counter()
            with path.open("rb") as handle:
                answer = client.post(
                    f"{root}/upload",
                    data=form,
                    files={"file": (path.name, handle, "text/csv")},
                    headers=headers,
                )
            import_id = answer.headers["location"].split("/")[2]
            checked = client.post(f"{root}/imports/{import_id}/columns", data=form, headers=headers)
            seconds = time.perf_counter() - started
            tree.stop()
            assert checked.headers["location"].endswith("/review"), checked.text[:300]
            pages = _page_times(client, f"{root}/imports/{import_id}/review")
        return {
            "seconds": seconds,
            "pages": pages,
            "peak_kb": peak_memory_kb(server.pid),
            "idle_kb": idle_kb,
            "tree": tree,
        }
    finally:
        server.terminate()
        server.wait(30)


def _csrf(page: str) -> str:
    """The CSRF token of this client's session, from a form's hidden field."""
    return page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]


def _page_times(client: httpx.Client, review: str) -> list[float]:
    first = client.get(review).text
    last = int(first.split("Page 1 of ", 1)[1].split("<", 1)[0].replace(",", ""))
    rng = random.Random(14)
    times = []
    for page in rng.sample(range(1, last + 1), min(PAGES, last)):
        started = time.perf_counter()
        answer = client.get(f"{review}?page={page}")
        times.append(time.perf_counter() - started)
        assert answer.status_code == 200 and f"Page {page:,} of" in answer.text
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--reuse", action="store_true", help="keep an existing generated file")
    args = parser.parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="bench-ui-"))
    workdir.mkdir(parents=True, exist_ok=True)
    source = workdir / f"purchases_{args.rows}.csv"
    if not (args.reuse and source.exists()):
        generate_csv(source, args.rows)
    size_mb = source.stat().st_size / 1e6
    print(f"file: {source.name}, {args.rows:,} rows, {size_mb:,.1f} MB")
    cli_seconds, cli_kb, cli_tree = run_cli_validate(source)
    ui = through_ui(source, workdir / f"workspace-{time.time_ns()}")
    ratio = ui["seconds"] / cli_seconds
    median_ms = statistics.median(ui["pages"]) * 1000
    print(f"CLI validate:           {cli_seconds:8.2f} s   peak {cli_kb / 1024:8.0f} MB")
    print(
        f"UI upload + check:      {ui['seconds']:8.2f} s   peak {ui['peak_kb'] / 1024:8.0f} MB"
        f"   ({ratio:.2f}x the CLI; target <= 1.3x)"
    )
    print(
        f"grid page (100 rows):   median {median_ms:.1f} ms over {len(ui['pages'])} random pages"
        f" (max {max(ui['pages']) * 1000:.1f} ms; target < 100 ms)"
    )
    memory = ui["peak_kb"] / cli_kb
    print(f"server peak memory:     {memory:.2f}x the CLI's validate (target <= 1.0x)")
    print(
        f"peak before any file:   server {ui['idle_kb'] / 1024:.0f} MB idle, CLI "
        f"{cli_start_kb() / 1024:.0f} MB after its imports (the web stack's share)"
    )
    tree = ui["tree"]
    print(
        f"the check's own processes: largest {tree.largest_child_kb / 1024:.0f} MB (the CLI's "
        f"largest {cli_kb / 1024:.0f} MB); all processes together (PSS) "
        f"{tree.pss_sum_kb / 1024:.0f} MB against the CLI's {cli_tree.pss_sum_kb / 1024:.0f} MB"
    )


if __name__ == "__main__":
    main()
