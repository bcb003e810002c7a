"""Before anything is sent: can the run's files (results, manifest, created list) be
written where they are meant to go?

A shared drive that is full, a folder that is read-only or a results file open in Excel would
otherwise be found out only after purchases were created. The check writes (and removes) a small
probe file in each folder, because permissions alone do not tell: root ignores them, and a
read-only or full volume does not show in them. Existing files are opened for writing, since
Excel's lock on an open file shows in nothing else.
"""

from __future__ import annotations

import contextlib
import errno
import os
from collections.abc import Iterable
from pathlib import Path

from importer.errors import OutputWriteError
from importer.report.publish import is_held_open
from importer.send.sender import describe_write_error

__all__ = ["check_writable"]

_PROBE_BYTES = 64 * 1024  # a few pages of results: a volume with less room fails at once
_FULL = frozenset({errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)})
_READ_ONLY = frozenset({errno.EACCES, errno.EPERM, errno.EROFS})


def check_writable(paths: Iterable[Path], *, sending: bool = True) -> None:
    """Raise OutputWriteError unless every path's folder takes a new file and existing files
    among ``paths`` can be replaced. ``sending=False`` (a check, which sends nothing): the
    messages do not speak of sending, and a file open in Excel is left to the writer, which
    puts the new file beside it."""
    folders: dict[Path, list[Path]] = {}
    for path in paths:
        folders.setdefault(Path(path).absolute().parent, []).append(Path(path))
    for folder, files in folders.items():
        _check_folder(folder, files, "nothing was sent: " if sending else "")
        if sending:
            _check_files(files)


def _what_to_do(exc: OSError) -> str:
    """Free space for a full volume; another folder for one this user cannot write."""
    if exc.errno in _FULL:
        return "free some space there or choose another folder with --out-dir DIR"
    if exc.errno in _READ_ONLY:
        return "the folder is read-only for this user: choose another folder with --out-dir DIR"
    return "choose another folder with --out-dir DIR"


def _check_folder(folder: Path, files: list[Path], nothing_sent: str) -> None:
    names = ", ".join(path.name for path in files)
    while not folder.exists() and folder.parent != folder:
        folder = folder.parent  # the run creates the missing folders: this one must take them
    if not folder.is_dir():
        raise OutputWriteError(
            f"cannot write the run's files ({names}): {folder} is not a folder; {nothing_sent}"
            "choose another folder with --out-dir DIR",
            path=folder,
        )
    probe = folder / f".keen-import-probe-{os.getpid()}"
    try:
        with open(probe, "wb") as handle:
            handle.write(bytes(_PROBE_BYTES))
            handle.flush()
            os.fsync(handle.fileno())
    except OSError as exc:
        raise OutputWriteError(
            f"cannot write in the folder {folder} ({names}): {describe_write_error(exc)}; "
            f"{nothing_sent}{_what_to_do(exc)}",
            path=folder,
        ) from None
    finally:
        with contextlib.suppress(OSError):
            probe.unlink()


def _check_files(files: list[Path]) -> None:
    for path in files:
        if is_held_open(path):
            raise OutputWriteError(
                f"{path.name} is open in another program (Excel?) or read-only: close it in "
                "Excel (or choose another folder with --out-dir DIR) and run the same command "
                "again; nothing was sent",
                path=path,
            )
