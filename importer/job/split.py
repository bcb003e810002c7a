"""Judge a large CSV in two processes: a forked helper checks about half of the chunks.

Which process judges a chunk is settled as they go (shared memory, under a lock): the helper
claims chunks a few ahead of the one the parent is on, the parent takes every chunk
the helper has not claimed when it gets there, so neither waits long for the other whatever
their speeds. The helper passes over the parent's chunks as one line per record (unparsed),
parses, checks and renders its own and sends them, already encoded, with the line each
starts on, the number of lines each spans and a hash of their text. The parent parses only
its own chunks (it passes over the helper's lines unparsed and compares their hash), checks
them, keeps the duplicate register in file order and writes every chunk in order. When a
record of the parent's spans several lines (a quoted line break), the helper's chunks start
on the wrong line: the parent sees that and judges the rest of the file itself. The helper
cannot see the rows before its chunk, so when one of its rows repeats an earlier row the
parent reads and checks that chunk itself: the verdicts are exactly those of a
single-process pass. If the helper fails in any way, the parent judges the remaining chunks
itself.

Fork (not spawn) is what makes this cheap and exact: the helper starts with the parent's column
decisions and caches, and shares its hash secret, so duplicate keys and text hashes compare
across processes.
"""

from __future__ import annotations

import contextlib
import ctypes  # imported here, not in the forked child (no imports after a fork)
import gc
import itertools
import multiprocessing
import os
import queue
import signal
import sys
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

try:
    import fcntl
except ImportError:  # Windows: no split pass there anyway
    fcntl = None

import numpy as np

from importer.check.duplicates import RowKeys
from importer.check.summary import Summary
from importer.check.validator import RowValidator
from importer.errors import InputFileError
from importer.job.rowindex import IndexedWrites, PlainWrites, RenderedFacts
from importer.read.loader import CsvChunkReader, Table, csv_chunk_reader
from importer.report.manifest import file_sha256
from importer.report.results import join_lines

#: Below this size a second process costs more than it saves.
MIN_SPLIT_BYTES = 16 * 1024 * 1024
CHUNK_ROWS = 5_000  # small chunks keep both processes' peak memory low

Writes = PlainWrites | IndexedWrites
_GONE = object()  # the helper stopped without finishing


@dataclass
class _Judged:
    """What the helper sends for one chunk (its rendered rows follow as bytes)."""

    index: int
    first_row: int  # the spreadsheet row of its first record
    start_line: int  # the physical lines of the file before it
    records: int  # records read, blank ones included
    lines: int  # physical lines they span
    chars: int  # characters in those lines
    text_hash: int  # hash of those lines: the parent skips them unparsed and compares
    rows: int  # data rows (records less blank ones)
    valid_keys: RowKeys | None
    valid_rows: np.ndarray
    summary: Summary
    currencies: Counter
    contrary: dict[str, str]  # the helper's validator.contrary so far
    facts: RenderedFacts | None  # for the row index, when the parent builds one


def can_split(table: Table, results_path: Path | None) -> bool:
    """True when a two-process pass is possible and worth it for this file."""
    if table.info.kind != "csv" or results_path is None:
        return False
    if results_path.suffix.lower() in (".xlsx", ".xlsm"):
        return False
    # fork is unsafe on macOS and absent on Windows
    forkable = "fork" in multiprocessing.get_all_start_methods()
    if not (sys.platform.startswith("linux") and forkable):
        return False
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return (cores or 1) >= 2 and table.path.stat().st_size >= MIN_SPLIT_BYTES


class Claims:
    """Which process judges each chunk, decided as the two go (memory shared by the fork)."""

    PARENT, HELPER = 1, 2
    #: The helper claims no chunk closer than this to the parent's: the parent, done with its
    #: chunk, finds the next ones either free or judged, not half done (with chunks of 5,000
    #: rows, 3 to 5 measured alike; 2 made the parent wait for the helper).
    LEAD = 4

    def __init__(self, context, chunks: int) -> None:
        self.owners = context.RawArray("b", chunks)
        self.parent_at = context.RawValue("q", 0)
        self.lock = context.Lock()

    def parent_takes(self, index: int) -> bool:
        """The parent reached chunk ``index``: True when it judges it (the helper did not
        claim it)."""
        with self.lock:
            self.parent_at.value = index
            if index >= len(self.owners):
                return True
            if self.owners[index] == self.HELPER:
                return False
            self.owners[index] = self.PARENT
            return True

    def helper_takes(self, index: int) -> bool:
        """The helper reached chunk ``index``: True when it claims it."""
        with self.lock:
            if index >= len(self.owners) or index < self.parent_at.value + self.LEAD:
                return False
            if self.owners[index]:
                return False
            self.owners[index] = self.HELPER
            return True


def _helper(
    table: Table, validator: RowValidator, writes: Writes, conn, size: int, claims: Claims
) -> None:
    """Runs in the forked child: judge and render the chunks it claims, in order."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when to stop
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # a stopped helper goes quietly
    gc.disable()
    try:
        # Hashed first: meanwhile the parent judges the first chunks (it needs no help yet).
        digest = file_sha256(table.path)
        with csv_chunk_reader(table, record=True) as reader:
            for index in itertools.count():
                if not claims.helper_takes(index):
                    if reader.pass_lines(size) == 0:
                        break
                    continue
                first_row, start_line = reader.next_row, reader.line_position()
                chunk = reader.next_chunk(size)
                if chunk is None:
                    break
                _send_judged(conn, (index, first_row, start_line), reader, chunk, validator, writes)
        conn.send(None)
        conn.send(digest)
    finally:
        conn.close()


def _child(helper: Callable, inherited, parent: int, *args) -> None:
    """Entry of the forked helper: tie its life to the parent's, then run ``helper``."""
    # The fork copied the parent's end of the pipe: without closing it, a helper whose parent
    # died would block for ever on a full pipe instead of failing with a broken pipe.
    inherited.close()
    die_with_parent(parent)
    helper(*args)


def die_with_parent(parent: int) -> None:
    """Ask Linux to kill this process when its parent dies (PR_SET_PDEATHSIG)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # 1 = PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass  # the broken pipe still ends the helper
    if os.getppid() != parent:
        os._exit(0)  # the parent died before the request took effect


def _send_judged(conn, place, reader, chunk, validator, writes: Writes) -> None:
    index, first_row, start_line = place
    checked = validator.check(chunk, mark_duplicates=False)
    part = Summary()
    checked.add_to(part)
    rendered = writes.writer.render_lines(chunk, checked.result_columns())
    lines = reader.last_lines()
    text = "".join(lines)
    conn.send(
        _Judged(
            index=index,
            first_row=first_row,
            start_line=start_line,
            records=reader.next_row - first_row,
            lines=len(lines),
            chars=len(text),
            text_hash=hash(text),
            rows=len(chunk.rows),
            valid_keys=checked.valid_keys,
            valid_rows=checked.valid_rows if checked.valid_rows is not None else np.empty(0),
            summary=part,
            currencies=Counter(c for c in checked.currencies if c),
            contrary=dict(validator.contrary),
            facts=RenderedFacts.of(checked, rendered) if writes.measures else None,
        )
    )
    conn.send_bytes(join_lines(rendered).encode("utf-8"))


def _widen(conn) -> None:
    """Give the pipe a 1 MB buffer (Linux allows this much without privileges; the default is
    64 KB). The parent's drain thread needs the GIL for every read: with a small buffer a
    chunk of results crosses in dozens of reads, and the helper waits for each."""
    if fcntl is None:
        return
    with contextlib.suppress(OSError):
        fcntl.fcntl(conn.fileno(), getattr(fcntl, "F_SETPIPE_SZ", 1031), 1 << 20)


def _drain(conn, inbox: queue.Queue, digest: list[str]) -> None:
    """Parent thread: move the helper's messages into a small queue (backpressure)."""
    try:
        while (judged := conn.recv()) is not None:
            inbox.put((judged, conn.recv_bytes()))
        inbox.put(None)
        digest.append(conn.recv())
    except (EOFError, OSError):
        inbox.put(_GONE)


def judge_split(
    table: Table,
    validator: RowValidator,
    writes: Writes,
    summary: Summary,
    on_rows: Callable[[int], None] | None = None,
    *,
    size: int | None = None,
    helper: Callable = _helper,
) -> str | None:
    """Judge and write every chunk of ``table``, about half of them in a forked helper.

    The parent skips the helper's chunks without parsing them (it compares their raw text
    with the helper's) unless it must judge one itself. Returns the SHA-256 of the input file
    when the helper computed it, else None.
    """
    size = size or CHUNK_ROWS
    context = multiprocessing.get_context("fork")
    receive, send = context.Pipe(duplex=False)
    _widen(send)
    # Every line holds at least one byte: no file has more chunks than this.
    claims = Claims(context, table.path.stat().st_size // size + 2)
    writes.writer.flush()  # the child must not inherit unwritten bytes
    process = context.Process(
        target=_child,
        args=(helper, receive, os.getpid(), table, validator, writes, send, size, claims),
        daemon=True,
    )
    process.start()
    send.close()
    inbox: queue.Queue = queue.Queue(maxsize=2)
    digest: list[str] = []
    thread = threading.Thread(target=_drain, args=(receive, inbox, digest), daemon=True)
    thread.start()
    try:
        with csv_chunk_reader(table) as reader:
            pass_ = _InOrder(reader, inbox, process, validator, writes, summary, on_rows)
            helping = pass_.run(size, claims)
        if helping:
            thread.join(timeout=60)  # the helper hashes the file after its last chunk
            process.join(timeout=5)  # then closes its end and exits
            return digest[0] if digest else None
        return None
    finally:
        if process.is_alive():
            process.terminate()
        process.join()
        while thread.is_alive():  # unblock the drain thread if it waits on a full queue
            with contextlib.suppress(queue.Empty):
                inbox.get(timeout=0.05)
        receive.close()


class _InOrder:
    """The parent's walk through the file: the helper's chunks taken (or judged again here
    when they cannot be used), the others judged here, every chunk written in file order."""

    def __init__(self, reader, inbox, process, validator, writes, summary, on_rows) -> None:
        self.reader, self.inbox, self.process = reader, inbox, process
        self.validator, self.writes, self.summary = validator, writes, summary
        self.on_rows = on_rows or (lambda rows: None)
        self.helping = True

    def run(self, size: int, claims: Claims) -> bool:
        """Judge and write every chunk; True when the helper stayed useful to the end."""
        index = 0
        while True:
            if self.helping and not claims.parent_takes(index) and self._from_helper(index):
                index += 1
                continue
            chunk = self.reader.next_chunk(size)
            if chunk is None:
                return self.helping
            checked = self.validator.check(chunk)
            checked.add_to(self.summary)
            self.writes.write_checked(checked, checked.result_columns())
            self.on_rows(len(chunk.rows))
            index += 1

    def _from_helper(self, index: int) -> bool:
        """Take the helper's chunk ``index``; False when this process must judge it."""
        item = self.inbox.get()
        self.helping = (
            item is not None
            and item is not _GONE
            and item[0].index == index
            and item[0].first_row == self.reader.next_row
            and item[0].start_line == self.reader.line_position()
        )
        if not self.helping:
            if self.process.is_alive():
                self.process.terminate()
            return False
        if not _take(item, self.reader, self.validator, self.writes, self.summary):
            return False
        self.on_rows(item[0].rows)
        return True


def _take(item, reader: CsvChunkReader, validator, writes: Writes, summary: Summary) -> bool:
    """Use the helper's verdicts and skip the chunk's lines, unless a row repeats an earlier
    one (then the caller reads and judges the chunk itself)."""
    judged, data = item
    if judged.valid_keys is not None and not validator.duplicates.accept(
        judged.valid_keys, judged.valid_rows
    ):
        return False
    text = reader.skip(judged.lines, judged.records, judged.chars)
    if hash(text) != judged.text_hash:
        raise InputFileError(
            f"{reader.info.path.name} changed while it was being read",
            path=reader.info.path,
            hint="run again once the file is saved and no longer being written",
        )
    summary.merge(judged.summary)
    validator.currency_counts.update(judged.currencies)
    for name, value in judged.contrary.items():
        validator.contrary.setdefault(name, value)
    writes.write_rendered(data, judged.rows, judged.facts)
    return True
