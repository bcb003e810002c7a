"""The names of every file an import writes, derived from its input in one place.

``march.csv`` gives ``march.results.csv``, ``march.manifest.json``, ``march.created.csv`` and
``march.corrected.csv``; a workbook's results are a workbook (``.xlsx``). The command line, the
job API and the web app all name their files through :class:`OutputNames`, and a folder of
exports skips the files named this way (:func:`is_output_name`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from importer.read.kinds import kind_named

__all__ = ["OutputNames", "is_output_name"]

RESULTS, MANIFEST, CREATED, CORRECTED = "results", "manifest", "created", "corrected"
#: Every part a written name carries (``journal``: the per-file journals of earlier versions),
#: also in the name the writer gives a file when the one in place is open in Excel
#: ("march.results (2).csv").
_MARKS = re.compile(
    r"\.(?:" + "|".join((RESULTS, MANIFEST, CREATED, CORRECTED, "journal")) + r")(?: \(\d+\))?\."
)


@dataclass(frozen=True)
class OutputNames:
    """The files of one import: the results file (chosen or default) and the files beside it,
    named after the input's stem."""

    results: Path
    stem: str  # the input's name without its extension (a DataFrame's name)

    @classmethod
    def beside(cls, source: Path, kind: str, folder: Path | None = None) -> OutputNames:
        """The default names: ``<stem>.results.<csv|xlsx>`` beside the input or in ``folder``
        (a workbook of any kind gets an .xlsx results file)."""
        found = kind_named(kind)
        extension = "xlsx" if found is not None and found.workbook else "csv"
        where = source.parent if folder is None else folder
        return cls(where / f"{source.stem}.{RESULTS}.{extension}", source.stem)

    @classmethod
    def around(cls, results: Path, source: Path) -> OutputNames:
        """The names of an import whose results file is ``results``."""
        return cls(results, source.stem)

    @property
    def manifest(self) -> Path:
        """``<stem>.manifest.json`` beside the results file."""
        return self.results.with_name(f"{self.stem}.{MANIFEST}.json")

    @property
    def created(self) -> Path:
        """``<stem>.created.csv`` beside the results file: the purchases created."""
        return self.results.with_name(f"{self.stem}.{CREATED}.csv")

    def corrected(self, source: Path, kind: str) -> Path:
        """``<stem>.corrected.<ext>`` beside the results file, in a format the tool writes (the
        kind's `InputKind.corrected_suffix`): .xlsx for a workbook of any kind (.xlsx, .xlsm,
        .xlsb, .ods, .xls), the input's own for CSV text."""
        found = kind_named(kind)
        suffix = found.corrected_suffix if found is not None else None
        return self.results.with_name(f"{self.stem}.{CORRECTED}{suffix or source.suffix or '.csv'}")

    def run_files(self, *, dry_run: bool) -> list[Path]:
        """The files a run writes: results and manifest; the created list unless dry."""
        files = [self.results, self.manifest]
        return files if dry_run else [*files, self.created]


def is_output_name(path: Path) -> bool:
    """True for a file keen-import wrote (results, created list, manifest, corrected copy)."""
    return _MARKS.search(path.name.lower()) is not None
