"""Run in a simulated child (``python probe_child.py FOLDER``): print, as JSON, what the
product's code would find about the interpreter. tests/windows/test_simulation.py checks it.

FOLDER holds ``locked.txt`` (held open by Excel for the run) and receives scratch files.
"""

from __future__ import annotations

import asyncio
import getpass
import json
import multiprocessing
import os
import shutil
import signal
import sys
from pathlib import Path
from types import SimpleNamespace

MODULES = ("fcntl", "termios", "pwd", "grp", "resource", "posix", "uvloop")
OS_FUNCTIONS = ("fork", "forkpty", "pread", "pwrite", "register_at_fork", "sched_getaffinity")
POSIX_SIGNALS = ("SIGHUP", "SIGUSR1", "SIGUSR2", "SIGKILL", "SIGQUIT", "SIGALRM", "SIGPIPE")


def hidden_from_product(name: str) -> bool:
    """Whether ``import NAME`` fails in a module of the product's package."""
    try:
        exec(f"import {name}", {"__name__": "importer.probe"})
    except ModuleNotFoundError:
        return True
    return False


def outcome(action) -> str:
    """What ``action()`` did: "ok", or the exception's class, errno and winerror."""
    try:
        action()
    except OSError as exc:
        return f"{type(exc).__name__} {exc.errno} {getattr(exc, 'winerror', None)}"
    except Exception as exc:  # noqa: BLE001 - the probe reports whatever happened
        return type(exc).__name__
    return "ok"


def loop_signal_handlers() -> str:
    """What the product's own send loop answers to ``add_signal_handler``."""
    from importer.job.run import _run_async

    found = []

    async def probe() -> None:
        loop = asyncio.get_running_loop()
        found.append(outcome(lambda: loop.add_signal_handler(signal.SIGINT, print)))

    _run_async(probe())
    return found[0]


def process_facts(folder: Path) -> dict:
    """Modules, os functions, signals, start methods and the product's fork decisions."""
    from importer.job.isolated import can_isolate
    from importer.job.split import MIN_SPLIT_BYTES, can_split

    big = folder / "big.csv"
    with open(big, "wb") as handle:
        handle.truncate(MIN_SPLIT_BYTES + 1)  # a sparse file: the size is all that is asked
    table = SimpleNamespace(info=SimpleNamespace(kind="csv"), path=big)
    return {
        "hidden_from_product": {name: hidden_from_product(name) for name in MODULES},
        "os_functions": [name for name in OS_FUNCTIONS if hasattr(os, name)],
        "posix_signals": [name for name in POSIX_SIGNALS if hasattr(signal, name)],
        "sigbreak": getattr(signal, "SIGBREAK", None),
        "start_methods": multiprocessing.get_all_start_methods(),
        "fork_context": outcome(lambda: multiprocessing.get_context("fork")),
        "loop_signal_handlers": loop_signal_handlers(),
        "sigint_handler": outcome(lambda: signal.signal(signal.SIGINT, signal.default_int_handler)),
        "split_in_two_processes": can_split(table, folder / "big.results.csv"),
        "check_in_forked_child": can_isolate(big),
    }


def file_facts(folder: Path) -> dict:
    """What happens to a file held open by Excel, and to text written without an encoding."""
    locked, free = folder / "locked.txt", folder / "free.txt"
    beside = folder / "beside.txt"
    beside.write_bytes(b"new")

    def write_text_default() -> None:
        with open(free, "w") as handle:
            handle.write("café\n")

    return {
        "read": outcome(lambda: locked.read_text(encoding="utf-8")),
        "open_w": outcome(lambda: open(locked, "w")),
        "open_a": outcome(lambda: open(locked, "ab")),
        "open_r+": outcome(lambda: open(locked, "r+")),
        "write_text": outcome(lambda: locked.write_text("x", encoding="utf-8")),
        "os_open_write": outcome(lambda: os.open(locked, os.O_WRONLY | os.O_APPEND)),
        "replace_onto": outcome(lambda: os.replace(beside, locked)),
        "rename_away": outcome(lambda: os.rename(locked, folder / "renamed.txt")),
        "remove": outcome(lambda: os.remove(locked)),
        "unlink": outcome(lambda: locked.unlink()),
        "shutil_move_onto": outcome(lambda: shutil.move(str(beside), str(locked))),
        "still_there": locked.read_text(encoding="utf-8") if locked.exists() else None,
        "unlocked_write": outcome(write_text_default),
        "text_bytes": free.read_bytes().hex(),
        "linesep": os.linesep,
    }


def console_facts() -> dict:
    """The standard streams and the environment a Windows user's session gives."""
    return {
        "stdout": [sys.stdout.encoding, sys.stdout.errors],
        "stderr": [sys.stderr.encoding, sys.stderr.errors],
        "user": getpass.getuser(),
        "data_dir": os.environ.get("KEEN_IMPORT_DATA_DIR"),
    }


def main() -> None:
    """Print every fact as one JSON object."""
    import filelock

    folder = Path(sys.argv[1])
    facts = {**process_facts(folder), **file_facts(folder), **console_facts()}
    facts["filelock"] = filelock.FileLock.__name__
    print(json.dumps(facts))


if __name__ == "__main__":
    main()
