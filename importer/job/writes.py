"""A run's files that could not be written (disk full, read-only folder, file removed).

The send pass turns a failed write into ``ImportReport.write_error`` and stops taking rows;
:func:`write_failure` is the one message the user then reads.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING

from importer.errors import OutputWriteError
from importer.records import RowStatus
from importer.send.sender import describe_write_error

if TYPE_CHECKING:
    from importer.job.run import ImportReport

__all__ = ["WriteFailed", "write_failure", "writing"]


class WriteFailed(Exception):
    """A file of the run could not be written (``ImportReport.write_error`` says which)."""


@contextlib.contextmanager
def writing(report: ImportReport, what: str) -> Iterator[None]:
    """Turn a failed write of ``what`` into ``report.write_error`` (the first one counts)."""
    try:
        yield
    except OSError as exc:
        report.write_error = report.write_error or f"{what}: {describe_write_error(exc)}"
        raise WriteFailed from exc


def write_failure(report: ImportReport) -> OutputWriteError:
    """The one message of a run stopped by a file (or the ledger) it could not write."""
    created = sum(r.counts[RowStatus.CREATED] for r in report.send_reports)
    unconfirmed = sum(r.unjournalled for r in report.send_reports)
    in_flight = (
        f"; {unconfirmed:,} rows in flight could not be recorded and are unconfirmed "
        "(check them in Keen before sending them again)"
        if unconfirmed
        else ""
    )
    if (report.write_error or "").startswith("the ledger"):
        remedy = "Make the ledger writable again (free space on its disk, or get its server back)"
    else:
        remedy = "Free some space (or choose another folder with --out-dir DIR)"
    return OutputWriteError(
        f"could not write {report.write_error}. Sending stopped: {created:,} rows were created "
        f"and recorded in this run{in_flight}. {remedy} and run the same command again: it "
        "resumes where this run stopped and sends nothing twice.",
        path=report.results_path,
    )
