"""Edited rows of a job: the name that ties runs of one file together, and the plan's line."""

from __future__ import annotations

from importer.job.checking import PreparedFile

__all__ = ["edited_note", "source_name"]


def source_name(prepared: PreparedFile) -> str:
    """The name that makes runs of one file the same import: its stem (a results file run
    again, ``march.results.csv``, is ``march``)."""
    return prepared.table.path.stem.removesuffix(".results")


def edited_note(count: int, *, resend_changed: bool) -> str:
    """The plan and summary line that counts the edited rows."""
    rows = "1 row was" if count == 1 else f"{count:,} rows were"
    if resend_changed:
        return (
            f"{rows} already created by an earlier run with other content: sent as new "
            "purchases (--resend-changed); the earlier purchases are in the created list"
        )
    return (
        f"{rows} already created by an earlier run with other content: not sent (Keen cannot "
        "change a purchase; ask Keen to reverse the earlier purchase, then run with "
        "--resend-changed)"
    )
