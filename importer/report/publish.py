"""Putting a finished file in place when another program (Excel) may hold the old one open.

Every file the tool writes (results, created list, manifest, corrected copy, ledger export) is
written to a temporary name and then moved over the usual name. On Windows, Excel locks the
files it opens, so that move fails with a sharing violation. A lock of this kind is often let go
within a second (an antivirus scan, Excel's autosave), so the move is tried again briefly; then
the content goes beside the locked file, ``march.results (2).csv``, nothing is lost, and one line
tells the user to close it and run again, which updates the usual name.

The notes are collected per job (:func:`collecting_held_open`) rather than passed through every
writer: the writers sit several calls below the report that shows them.
"""

from __future__ import annotations

import contextlib
import glob
import os
import time
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["HeldOpen", "collecting_held_open", "is_held_open", "publish", "temporary_beside"]

RETRY_WAITS = (0.1, 0.2, 0.4, 0.8)  # seconds, about 1.5 s in all
#: A temporary file nothing wrote for this long belongs to a run that was killed: a live run
#: writes its files as rows are judged or sent.
STALE_AFTER = 6 * 3600
MAX_BESIDE = 50  # march.results (2).csv ... (50): past that, something else is wrong


@dataclass
class HeldOpen:
    """The files of a job written beside their usual name: usual path -> path written."""

    written: dict[Path, Path] = field(default_factory=dict)

    def where(self, path: Path | None) -> Path | None:
        """Where the content meant for ``path`` went."""
        return self.written.get(path, path) if path is not None else None

    def messages(self) -> list[str]:
        """One line per file: which is open, where its content went, what to do."""
        return [
            f"{usual.name} is open in another program (Excel?): wrote {written.name}; "
            "close it and run again to update it"
            for usual, written in self.written.items()
        ]


_collector: ContextVar[HeldOpen | None] = ContextVar("keen_import_held_open", default=None)


@contextlib.contextmanager
def collecting_held_open() -> Iterator[HeldOpen]:
    """Collect the files written beside a held-open file during the block."""
    held = HeldOpen()
    token = _collector.set(held)
    try:
        yield held
    finally:
        _collector.reset(token)


#: Temporary files being written by this process (removed by abandon_temporaries on an abort).
_WRITING: set[Path] = set()


def temporary_beside(path: Path) -> Path:
    """The temporary name a file is written under before :func:`publish` moves it. Leftovers
    of runs that were killed (on Windows, Task Scheduler and taskkill stop a process without
    a signal it could act on) are removed once nothing has written them for a while."""
    _remove_stale_temporaries(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    _WRITING.add(tmp)
    return tmp


def abandon_temporaries() -> None:
    """Remove the temporary files this process is writing (before it exits at once)."""
    for tmp in list(_WRITING):
        with contextlib.suppress(OSError):
            tmp.unlink()
    _WRITING.clear()


def _remove_stale_temporaries(path: Path) -> None:
    cutoff = time.time() - STALE_AFTER
    try:
        leftovers = list(path.parent.glob(f".{glob.escape(path.name)}.*.tmp"))
    except OSError:
        return
    for leftover in leftovers:
        with contextlib.suppress(OSError):
            if leftover.stat().st_mtime < cutoff:
                leftover.unlink()


def publish(tmp: Path, path: Path) -> Path:
    """Move the finished ``tmp`` to ``path``; returns where it went: ``path``, or
    ``<stem> (N)<suffix>`` beside it when ``path`` stays held open by another program."""
    _WRITING.discard(tmp)
    for wait in (*RETRY_WAITS, None):
        try:
            os.replace(tmp, path)
            return path
        except PermissionError:
            if not is_held_open(path) or wait is None:
                break
            time.sleep(wait)
    if not is_held_open(path):
        os.replace(tmp, path)  # the folder refuses: let that error say so
    written = _beside(tmp, path)
    held = _collector.get()
    if held is not None:
        held.written[path] = written
    return written


def is_held_open(path: Path) -> bool:
    """True when ``path`` exists but cannot be opened for writing: another program holds it
    (Excel on Windows) or it is read-only. Opening for append, without creating, changes
    nothing in the file."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_APPEND | getattr(os, "O_BINARY", 0)))
    except (FileNotFoundError, IsADirectoryError):
        return False
    except PermissionError:
        return True
    return False


def _beside(tmp: Path, path: Path) -> Path:
    for number in range(2, MAX_BESIDE + 1):
        candidate = path.with_name(f"{path.stem} ({number}){path.suffix}")
        try:
            os.replace(tmp, candidate)
            return candidate
        except PermissionError:
            if not is_held_open(candidate):
                raise
    os.replace(tmp, path)  # raises the PermissionError the caller reports
    return path
