"""Sends and online checks run in a thread of their own; their progress is kept for the pages."""

from __future__ import annotations

import sys
import threading
import traceback

from importer.errors import KeenImportError
from importer.records import RowStatus
from importer.ui.routes.common import route_outputs
from importer.ui.sessions import ImportSession, Progress
from importer.ui.settings import UISettings
from importer.ui.wording import with_hint


def make_plan(session: ImportSession, settings: UISettings, *, dry_run: bool = False):
    """``job.plan`` against the server's target, with the key held in memory."""
    from importer import SendSettings  # the sending stack, on first use

    route_outputs(session, sending=not dry_run)
    return session.job.plan(
        SendSettings(
            api_url=settings.api_url,
            api_key=settings.api_key.reveal(),
            target=settings.target,
            ledger=settings.ledger,
            dry_run=dry_run,
        )
    )


def start(
    session: ImportSession,
    settings: UISettings,
    *,
    dry_run: bool = False,
    resend_unconfirmed: bool = False,
    planned: bool = False,
) -> Progress:
    """Start sending (or the online check when ``dry_run``) in a background thread.

    ``planned``: the caller already made the plan (the send confirmation did).
    """
    progress = Progress(kind="check online" if dry_run else "send")
    session.progress = progress

    def work() -> None:
        try:
            if not planned:
                make_plan(session, settings, dry_run=dry_run)
            report = session.job.send(
                on_progress=progress.note, resend_unconfirmed=resend_unconfirmed
            )
            session.report = report
            progress.outcome = describe(report)
            progress.done = report.summary.in_file.rows
            progress.counts = {k: v.rows for k, v in report.summary.by_status.items()}
            progress.stopped = bool(report.interrupted or report.outage or report.auth_failed)
            progress.send_next = report.dry_run and not progress.stopped and sendable(report)
        except KeenImportError as exc:
            progress.error = with_hint(exc.message, exc.hint)
        except Exception:  # the page must say it ended; the details go to the server's output
            traceback.print_exc(file=sys.stderr)
            progress.error = "the run stopped on an unexpected error (see the server's output)"
        finally:
            progress.finished = True

    session.thread = threading.Thread(target=work, name=f"send-{session.folder.id}", daemon=True)
    session.thread.start()
    return progress


def sendable(report) -> bool:
    """True when an online check found rows a send would send (valid, not yet created)."""
    return report.summary.count(RowStatus.VALID) > 0


def describe(report) -> str:
    """One line saying how a send or online check ended."""
    if report.dry_run:
        return "Online check finished: nothing was created."
    if report.auth_failed:
        return (
            "Keen refused the API key: rows not sent yet are marked not sent; set a key and resume."
        )
    if report.outage:
        return f"{report.outage}: rows not sent yet are marked not sent; resume later."
    if report.interrupted:
        return "Stopped: rows not sent yet are marked not sent; Resume sends them."
    if report.summary.count("unconfirmed"):
        return "Finished, but some rows are unconfirmed: check them in Keen before resending."
    return "Finished."
