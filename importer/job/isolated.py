"""Run a large check in a forked child, for a process that stays up (the web app).

A check's working memory (the duplicate registers alone take about 40 MB per million rows) would
otherwise stay with the server long after the check: freed memory mostly stays in the
process. In a child it goes back to the system when the child ends, and a crash of the check
cannot take the server down. The child writes the results itself and sends back only what the
job keeps (totals, the row index). Whenever the child fails, for whatever reason, the caller
runs the check in its own process instead, so the outcome (or the error the user reads) is
the same.
"""

from __future__ import annotations

import os
import pickle
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from importer.job.split import MIN_SPLIT_BYTES, die_with_parent

T = TypeVar("T")

#: Files smaller than this are checked in the calling process (their check's memory is small).
MIN_ISOLATED_BYTES = MIN_SPLIT_BYTES


def can_isolate(path: Path | None) -> bool:
    """True when a check of the file at ``path`` is worth running in a forked child."""
    if path is None or not sys.platform.startswith("linux") or not hasattr(os, "fork"):
        return False  # fork is unsafe on macOS and absent on Windows
    try:
        return path.stat().st_size >= MIN_ISOLATED_BYTES
    except OSError:
        return False


def run_forked(work: Callable[[], T]) -> tuple[bool, T | None]:
    """Run ``work()`` in a forked child; (True, its result), or (False, None) when the child
    failed in any way (the caller then runs the work itself)."""
    parent = os.getpid()
    readable, writable = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns
        os.close(readable)
        _child(work, writable, parent)
    os.close(writable)
    with os.fdopen(readable, "rb") as pipe:
        data = pipe.read()
    _, status = os.waitpid(pid, 0)
    if os.waitstatus_to_exitcode(status) != 0 or not data:
        return False, None
    return True, pickle.loads(data)


def _child(work: Callable[[], object], writable: int, parent: int) -> None:
    code = 1
    try:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # the server decides when to stop
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        die_with_parent(parent)
        data = pickle.dumps(work(), protocol=pickle.HIGHEST_PROTOCOL)
        with os.fdopen(writable, "wb") as pipe:
            pipe.write(data)
        code = 0
    except BaseException:  # noqa: BLE001 - any failure: the caller runs the work itself
        pass
    finally:
        os._exit(code)  # no atexit handlers, no flushing of the server's buffers
