"""The input files of a command: paths, patterns (``exports\\*.csv``: Windows shells do not
expand them) and folders, in name order.

A folder gives its purchase files only: not the files keen-import writes beside an input
(``.results.``, ``.created.csv``, ``.manifest.json``, ``.corrected.``), not Excel's ``~$`` lock
files, not hidden files.
"""

from __future__ import annotations

import glob
import hashlib
from collections.abc import Sequence
from pathlib import Path

from importer.errors import ConfigurationError
from importer.read.kinds import input_suffixes
from importer.report.outputs import is_output_name

__all__ = ["INPUT_SUFFIXES", "expand_inputs", "same_content"]

INPUT_SUFFIXES = frozenset(input_suffixes())


def expand_inputs(given: Sequence[str]) -> list[Path]:
    """Every input file named by ``given``, in the order given (a folder's or a pattern's
    files in name order), each once. ConfigurationError when one names nothing."""
    found: list[Path] = []
    for text in given:
        path = Path(text)
        if path.is_dir():
            matches = _folder_inputs(path)
            if not matches:
                raise ConfigurationError(f"the folder {path} holds no CSV or Excel file")
        elif glob.has_magic(text) and not path.exists():
            matches = [Path(p) for p in sorted(glob.glob(text)) if _is_input(Path(p))]
            if not matches:
                raise ConfigurationError(f"no CSV or Excel file matches {text}")
        elif len(given) > 1 and is_output_name(path):
            continue  # a shell's *.csv names the tool's own results and created lists too
        else:
            matches = [path]  # a missing file gets the loader's own message
        found += [m for m in matches if m not in found]
    return found


def _folder_inputs(folder: Path) -> list[Path]:
    return sorted(
        (p for p in folder.iterdir() if p.is_file() and _is_input(p)),
        key=lambda p: p.name.casefold(),
    )


def _is_input(path: Path) -> bool:
    name = path.name
    return (
        path.suffix.lower() in INPUT_SUFFIXES
        and not name.startswith(("~$", "."))
        and not is_output_name(path)
    )


def same_content(files: Sequence[Path]) -> dict[Path, Path]:
    """The files that are byte for byte another of ``files`` (a copy, "march (1).csv"
    downloaded again): copy -> the one read, the shortest name of each content ("march.csv",
    not "march - Copy.csv"). One command reads each content once: a copy's rows would be the
    first's again, counted twice in the command's total."""
    by_content: dict[bytes, list[Path]] = {}
    for path in files:
        try:
            with open(path, "rb") as handle:
                digest = hashlib.file_digest(handle, "sha256").digest()
        except OSError:
            continue  # the loader says what is wrong with it
        by_content.setdefault(digest, []).append(path)
    copies: dict[Path, Path] = {}
    for same in by_content.values():
        kept = min(same, key=lambda p: (len(p.name), p.name))
        copies.update({path: kept for path in same if path != kept})
    return copies
