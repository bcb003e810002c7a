"""Open import jobs of this server, and the sends running in the background.

A job is opened from its workspace folder when a page first needs it (so a restarted server
finds every import again); a send runs in its own thread so that closing the tab neither stops
nor harms it, and its progress is kept here for whoever asks (the progress page, SSE).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from importer.ui.wording import for_page, how_many
from importer.ui.workspace import ImportFolder

#: No time left is shown before this many rows are done and this many seconds went by: the
#: first answers say little of the pace (a 4-second send once showed "about 974 s left").
ETA_MIN_ROWS = 50
ETA_MIN_SECONDS = 2.0
ETA_WINDOW = 10.0  # seconds: the time left follows the pace of the last ones only


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
    send_next: bool = False  # an online check found rows to send, and nothing stopped it
    #: (time, rows done) of the progress reports of the last ETA_WINDOW seconds.
    paces: deque[tuple[float, int]] = field(default_factory=deque, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def note(
        self, done: int, total: int | None, counts: dict[str, int], *, now: float | None = None
    ) -> None:
        """A progress report of the run (from its thread); ``now``: its time.monotonic()."""
        now = time.monotonic() if now is None else now
        with self._lock:
            self.done, self.total, self.counts = done, total, dict(counts)
            self.paces.append((now, done))
            while len(self.paces) > 2 and self.paces[1][0] <= now - ETA_WINDOW:
                self.paces.popleft()

    def seconds_left(self, now: float) -> int | None:
        """The time left at the pace of the last ETA_WINDOW seconds; None while too early."""
        if self.finished or not self.total or self.done < ETA_MIN_ROWS:
            return None
        if now - self.started < ETA_MIN_SECONDS:
            return None
        with self._lock:
            since, done_then = self.paces[0] if self.paces else (self.started, 0)
        rate = (self.done - done_then) / max(now - since, 1e-9)
        return round((self.total - self.done) / rate) if rate > 0 else None

    def headline(self) -> str:
        """The heading: what runs, or how it ended ("Send stopped", "Send finished")."""
        running, ended = (
            ("Online check", "Online check") if self.kind == "check online" else ("Sending", "Send")
        )
        if self.finished and self.error:
            return f"{ended} stopped on an error"
        if self.finished and self.stopped:
            return f"{ended} stopped"
        if self.finished:
            return f"{ended} finished"
        return running + (" (stopping)" if self.stopping else "")

    def status_line(self) -> str:
        """The line under the bar: rows done while running; created / not sent once stopped."""
        total = how_many(self.total or 0, "row")
        if self.finished and self.stopped:
            created, not_sent = self.counts.get("created", 0), self.counts.get("not_sent", 0)
            return f"Stopped: {created:,} created, {not_sent:,} not sent, of {total}"
        return f"{self.done:,} of {total} done"

    def _percent(self) -> int:
        if not self.total:
            return 0
        if self.finished and self.stopped:  # the rows that got an answer
            return round(100 * (self.total - self.counts.get("not_sent", 0)) / self.total)
        return round(100 * self.done / self.total)

    def snapshot(self) -> dict[str, Any]:
        """A JSON-ready copy (the SSE event body); engine text in page words."""
        now = time.monotonic()
        counts = {k: v for k, v in self.counts.items() if k not in ("retrying", "req/s")}
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
            "eta_seconds": self.seconds_left(now),
            "elapsed_seconds": round(now - self.started, 1),
            "finished": self.finished,
            "stopping": self.stopping,
            "error": for_page(self.error),
            "outcome": for_page(self.outcome),
            "send_next": self.finished and self.send_next,
        }


class ImportBusy(Exception):
    """A request that would change an import (its job or its files) while a send or online
    check of it runs: the app answers with that run's progress page."""

    def __init__(self, import_id: str) -> None:
        super().__init__(import_id)
        self.import_id = import_id


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

    @asynccontextmanager
    async def changing(self) -> AsyncIterator[None]:
        """The import's lock, for every change of the job or of its files; ImportBusy while a
        send or online check runs, also one that started while this request waited for the
        lock (a check in the middle of a send would replace the files the send writes)."""
        if self.running:
            raise ImportBusy(self.folder.id)
        async with self.lock:
            if self.running:
                raise ImportBusy(self.folder.id)
            yield

    @property
    def sent(self) -> bool:
        """True once a send of this import has ended (an online check sends nothing: rows
        are still fixed in place after it)."""
        return self.after_run and not self.report.dry_run

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
