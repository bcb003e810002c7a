"""Open import jobs of this server, and the sends running in the background.

A job is opened from its workspace folder when a page first needs it (so a restarted server
finds every import again); a send runs in its own thread so that closing the tab neither stops
nor harms it, and its progress is kept here for whoever asks (the progress page, SSE).
"""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from importer.ui.workspace import ImportFolder


@dataclass
class Progress:
    """Where a send (or an online check) stands, as the progress page shows it."""

    kind: str  # "send" or "check online"
    total: int | None = None
    done: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    started: float = field(default_factory=time.monotonic)
    finished: bool = False
    stopping: bool = False
    error: str | None = None
    outcome: str | None = None  # one line saying how it ended
    stopped: bool = False  # ended before every row was sent (Stop, an outage, a refused key)

    def headline(self) -> str:
        """The heading: what runs, or how it ended."""
        name = "Online check" if self.kind == "check online" else "Sending"
        if self.finished and self.error:
            return f"{name} stopped on an error"
        if self.finished and self.stopped:
            return f"{name} stopped"
        if self.finished:
            return f"{name} finished"
        return name + (" (stopping)" if self.stopping else "")

    def status_line(self) -> str:
        """The line under the bar: rows done while running; created / not sent once stopped."""
        total = f"{self.total or 0:,}"
        if self.finished and self.stopped:
            created, not_sent = self.counts.get("created", 0), self.counts.get("not_sent", 0)
            return f"Stopped: {created:,} created, {not_sent:,} not sent, of {total} rows"
        return f"{self.done:,} of {total} rows done"

    def _percent(self) -> int:
        if not self.total:
            return 0
        if self.finished and self.stopped:  # the rows that got an answer
            return round(100 * (self.total - self.counts.get("not_sent", 0)) / self.total)
        return round(100 * self.done / self.total)

    def snapshot(self) -> dict[str, Any]:
        """A JSON-ready copy (the SSE event body)."""
        elapsed = time.monotonic() - self.started
        counts = {k: v for k, v in self.counts.items() if k not in ("retrying", "req/s")}
        eta = None
        if self.total and self.done and not self.finished:
            eta = round(elapsed / self.done * (self.total - self.done))
        return {
            "kind": self.kind,
            "headline": self.headline(),
            "text": self.status_line(),
            "stopped": self.stopped,
            "done": self.done,
            "total": self.total,
            "percent": self._percent(),
            "counts": counts,
            "retrying": self.counts.get("retrying", 0),
            "rate": self.counts.get("req/s", 0),
            "eta_seconds": eta,
            "elapsed_seconds": round(elapsed, 1),
            "finished": self.finished,
            "stopping": self.stopping,
            "error": self.error,
            "outcome": self.outcome,
        }


@dataclass
class ImportSession:
    """One import: its folder, its open job, and its send in progress (if any)."""

    folder: ImportFolder
    job: Any  # importer.ImportJob
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)  # one change of the job at a time
    checked: Any = None  # the CheckReport of the last check, None until checked
    progress: Progress | None = None
    thread: threading.Thread | None = None
    report: Any = None  # the ImportReport of the last send or online check

    @property
    def running(self) -> bool:
        """True while a send or online check of this import is under way."""
        return self.thread is not None and self.thread.is_alive()

    @property
    def after_run(self) -> bool:
        """True once a send or online check has ended: the job's rows are then its verdicts."""
        return self.report is not None and not self.running


class Sessions:
    """Every import job this server has opened, by import id."""

    def __init__(self) -> None:
        self._sessions: dict[str, ImportSession] = {}
        self._lock = threading.Lock()

    def get(self, import_id: str) -> ImportSession | None:
        """The open session of an import, or None."""
        with self._lock:
            return self._sessions.get(import_id)

    def add(self, session: ImportSession) -> ImportSession:
        """Keep ``session`` (replacing an earlier one of the same import)."""
        with self._lock:
            self._sessions[session.folder.id] = session
        return session

    def running(self) -> list[ImportSession]:
        """Sessions whose send is still under way."""
        with self._lock:
            return [s for s in self._sessions.values() if s.running]

    def stop_all(self, *, wait: float = 60.0) -> None:
        """Like the first Ctrl-C for every send: requests in flight finish, results are written."""
        running = self.running()
        for session in running:
            session.job.cancel()
        deadline = time.monotonic() + wait
        for session in running:
            session.thread.join(max(0.0, deadline - time.monotonic()))
