"""Read CSV files and workbooks into chunks of text cells with their spreadsheet row numbers.

Which kinds of file there are and what differs between them (hidden rows, notes) comes from the
reader registry, `importer.read.kinds`. Everything is read as text: nothing is inferred (no
"00123" -> 123, no "1,500" -> 1.5, no NaN). Workbook numeric cells are written the way Excel
shows them (15 significant digits, "1500" not "1500.0"); date cells become ISO text. Rows are
numbered as the user sees them in Excel
(header = its own row number, usually 1). Blank rows are dropped and counted.
Title rows above the header (an export's "Sales report March 2026" line) are skipped.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import decimal
import io
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import islice
from operator import itemgetter
from pathlib import Path

from importer.errors import InputFileError
from importer.read.filecheck import FileInfo, inspect_input
from importer.read.headers import HEADER_SEARCH_ROWS, looks_like_header
from importer.read.hidden import HiddenCells
from importer.read.kinds import CSV, InputKind, kind_named
from importer.read.numformats import CurrencyRuns
from importer.read.zipcheck import DEFAULT_MAX_WORKBOOK_MB

DELIMITERS = (",", ";", "\t", "|")
DELIMITER_NAMES = {"tab": "\t", "\\t": "\t", "semicolon": ";", "comma": ",", "pipe": "|"}
MAX_FIELD_CHARS = 10 * 1024 * 1024
EXCEL_SEP_LINE = re.compile(r"^sep=(.)\s*(?:\r?\n|$)")  # Excel's delimiter hint, first line


@dataclass
class Chunk:
    """A slice of data rows. ``cells`` are padded/trimmed to the header width."""

    rows: list[int]
    cells: list[list[str]]
    raw: list[list] | None = None  # workbooks only: typed values, for typed results
    overflow: dict[int, list[str]] = field(default_factory=dict)  # index -> cells past the header
    blank: int = 0
    hidden: list[int] = field(default_factory=list)  # indexes of rows hidden in the workbook
    #: index -> (column, lines) of a cell running over ``lines`` more lines that look like rows
    #: of their own: a quote not closed swallowed them (CSV only).
    run_on: dict[int, tuple[int, int]] = field(default_factory=dict)
    #: (index, column) of the file's last record when the file ends inside its quoted cell in
    #: that column: the file was cut off there (CSV only).
    cut_off: tuple[int, int] | None = None
    #: Workbooks: the sheet column (0 = A) of the first cell (a sheet may start at column B).
    first_column: int = 0
    #: column -> {index: ISO code} of number cells whose number format shows a currency
    #: (.xlsx only; calamine reads "€ 1,500.00" as 1500.0).
    shown_currencies: dict[int, dict[int, str]] = field(default_factory=dict)

    def column(self, index: int) -> Sequence[str]:
        """All values of one column of this chunk (built once per column, then cached)."""
        columns = self.__dict__.setdefault("_columns", {})
        values = columns.get(index)
        if values is None:
            # A comprehension per column beats zip(*cells): that call takes one iterator
            # per row (and map(itemgetter) measured no faster).
            values = columns[index] = [cells[index] for cells in self.cells]
        return values

    def add(self, row: int, cells: list[str], extra: list[str], raw: list | None = None) -> None:
        """Append one record (``cells`` as wide as the header, ``extra`` the cells past it);
        a blank record is only counted."""
        has_extra = any(c.strip() for c in extra)
        if not has_extra and not "".join(cells).strip():
            self.blank += 1
            return
        if has_extra:
            self.overflow[len(self.rows)] = extra
        self.rows.append(row)
        self.cells.append(cells)
        if raw is not None:
            assert self.raw is not None
            self.raw.append(raw)


@dataclass
class Table:
    """An opened input file: its headers and a way to stream its data rows."""

    info: FileInfo
    headers: list[str]
    header_row: int
    sheet: str | None = None
    sheets: list[str] = field(default_factory=list)
    delimiter: str | None = None
    hidden_columns: list[str] = field(default_factory=list)  # headers of hidden columns
    #: CSV: records above row 1 as Excel shows the file (its "sep=;" line, which it hides).
    unseen_records: int = 0
    notes: list[str] = field(default_factory=list)  # what the reader could not check
    #: A workbook in the 1904 date system: its number cells in a date column are serial dates
    #: counted from 1904-01-01, not 1899-12-30 (see importer.read.hidden.HiddenCells).
    date1904: bool = False
    _reader: Callable[[int], Iterator[Chunk]] | None = None

    @property
    def path(self) -> Path:
        """The input file."""
        return self.info.path

    def chunks(self, size: int = 25_000) -> Iterator[Chunk]:
        """Stream the data rows in chunks of at most ``size`` rows."""
        assert self._reader is not None
        return self._reader(size)


def column_samples(table: Table, *, rows: int = 200, per_column: int = 20) -> dict[str, list[str]]:
    """Header -> up to ``per_column`` non-empty cells from the first ``rows`` data rows."""
    chunk = next(iter(table.chunks(rows)), None)
    samples: dict[str, list[str]] = {}
    for at, header in enumerate(table.headers):
        cells = [] if chunk is None else [c for c in chunk.column(at) if c.strip()]
        samples[header] = cells[:per_column]
    return samples


def open_table(
    path: str | Path,
    *,
    sheet: str | None = None,
    encoding: str | None = None,
    delimiter: str | None = None,
    max_xlsx_mb: int = DEFAULT_MAX_WORKBOOK_MB,
    header_hint: dict[str, str] | None = None,
    header_row: int | None = None,
) -> Table:
    """Open a CSV file or a workbook (.xlsx, .xlsb, .ods, .xls), find its header row and check it.

    ``header_hint`` (field -> column) helps find the header below title rows; ``header_row``
    (1-based row of the file) names it instead of looking for it. ``max_xlsx_mb`` bounds a
    workbook of any kind (the name predates .xlsb and .ods and is kept).
    Raises InputFileError with a message for the user on any problem with the file.
    """
    info = inspect_input(path, max_xlsx_mb=max_xlsx_mb, encoding=encoding)
    kind = kind_named(info.kind) or CSV
    if kind.workbook:
        return _open_workbook(
            info, kind, sheet=sheet, header_hint=header_hint or {}, header_row=header_row
        )
    return _open_csv(
        info, delimiter=delimiter, header_hint=header_hint or {}, header_row=header_row
    )


# --- CSV -------------------------------------------------------------------------------------


def _open_csv(
    info: FileInfo, *, delimiter: str | None, header_hint: dict[str, str], header_row: int | None
) -> Table:
    encoding = info.encoding or "utf-8"
    sample = _read_sample(info, encoding)
    if delimiter:
        delimiter = DELIMITER_NAMES.get(delimiter.lower(), delimiter)
        if len(delimiter) != 1:
            raise InputFileError(f"--delimiter must be one character, got {delimiter!r}")
    else:
        hinted = EXCEL_SEP_LINE.match(sample)
        delimiter = hinted.group(1) if hinted else detect_delimiter(sample)
    records = list(_sample_records(sample, delimiter))
    # Excel reads its "sep=;" line as a setting and does not show it: rows count from the next.
    unseen = 1 if records and is_excel_sep_line(records[0], delimiter) else 0
    records = records[unseen:]
    header_index = _chosen_header(records, header_row, info.path)
    if header_index is None:
        header_index = _find_header(records, header_hint)
    if header_index is None:
        raise InputFileError(f"{info.path.name} has no header row (the file holds no data)")
    headers = [h.strip().lstrip("\ufeff") for h in records[header_index]]
    while headers and not headers[-1]:
        headers.pop()  # trailing delimiters after the last header
    _check_headers(headers, info.path)

    def read(size: int) -> Iterator[Chunk]:
        return _csv_chunks(info, encoding, delimiter, (header_index, unseen), len(headers), size)

    return Table(
        info=info,
        headers=headers,
        header_row=header_index + 1,
        delimiter=delimiter,
        unseen_records=unseen,
        _reader=read,
    )


def is_excel_sep_line(record: list[str], delimiter: str) -> bool:
    """True for Excel's delimiter hint ("sep=;"), a first line Excel does not show."""
    return EXCEL_SEP_LINE.match(delimiter.join(record)) is not None


def _read_sample(info: FileInfo, encoding: str) -> str:
    with open(info.path, encoding=encoding, errors="replace", newline="") as handle:
        sample = handle.read(256 * 1024)
    if len(sample) == 256 * 1024 and "\n" in sample:
        sample = sample[: sample.rfind("\n") + 1]
    return sample.lstrip("\ufeff")


def detect_delimiter(sample: str) -> str:
    """The delimiter that splits the first lines most consistently into the most columns."""
    lines = [line for line in sample.splitlines()[:50] if line.strip()]
    best, best_score = ",", (0, 0)
    for candidate in DELIMITERS:
        try:
            widths = [
                len(r) for r in csv.reader(io.StringIO("\n".join(lines)), delimiter=candidate)
            ]
        except csv.Error:
            continue
        if not widths or max(widths) < 2:
            continue
        modal = max(set(widths), key=widths.count)
        score = (widths.count(modal), modal)
        if modal >= 2 and score > best_score:
            best, best_score = candidate, score
    return best


def _sample_records(sample: str, delimiter: str) -> Iterator[list[str]]:
    # newline="": lines end at CR, LF or CRLF, as in the data reader (old Mac exports use CR).
    reader = csv.reader(io.StringIO(sample, newline=""), delimiter=delimiter)
    try:
        for index, record in enumerate(reader):
            if index >= HEADER_SEARCH_ROWS:
                return
            yield record
    except csv.Error:
        return


def _chosen_header(records: list[list[str]], header_row: int | None, path: Path) -> int | None:
    """The 0-based index of the header row the user chose (None: look for it)."""
    if header_row is None:
        return None
    if not 1 <= header_row <= len(records) or not any(c.strip() for c in records[header_row - 1]):
        raise InputFileError(
            f"{path.name}: row {header_row} cannot be the header (it is empty or beyond the "
            f"first {len(records)} rows)",
            path=path,
        )
    return header_row - 1


def _find_header(records: list[list[str]], hint: dict[str, str]) -> int | None:
    """The 0-based index of the header row: the first that names a lead column (or every column
    the mapping names); else the first with two cells or more (a title above the header fills
    one); else the first that is not empty."""
    first = wide = None
    for index, record in enumerate(records):
        cells = [c.strip().lstrip("\ufeff") for c in record]
        filled = len(cells) - cells.count("")
        if not filled:
            continue
        if first is None:
            first = index
        if looks_like_header(cells, hint):
            return index
        if wide is None and filled >= 2:
            wide = index
    return wide if wide is not None else first


def _check_headers(headers: list[str], path: Path) -> None:
    seen: dict[str, int] = {}
    for position, name in enumerate(headers, start=1):
        if not name:
            continue
        key = name.casefold()
        if key in seen:
            raise InputFileError(
                f"{path.name}: the column {name!r} appears twice (columns {seen[key]} and "
                f"{position}); rename one of them so it is clear which one to import",
                path=path,
            )
        seen[key] = position


def _csv_chunks(
    info: FileInfo,
    encoding: str,
    delimiter: str,
    header: tuple[int, int],
    width: int,
    size: int,
) -> Iterator[Chunk]:
    with CsvChunkReader(info, encoding, delimiter, header, width) as reader:
        while (chunk := reader.next_chunk(size)) is not None:
            yield chunk


def csv_chunk_reader(table: Table, *, record: bool = False) -> CsvChunkReader:
    """A :class:`CsvChunkReader` over the data rows of an opened CSV table."""
    return CsvChunkReader(
        table.info,
        table.info.encoding or "utf-8",
        table.delimiter or ",",
        (table.header_row - 1, table.unseen_records),
        len(table.headers),
        record=record,
    )


class CsvChunkReader:
    """Reads a CSV table chunk by chunk; a chunk read elsewhere can be skipped unparsed.

    ``header`` is the 0-based row of the header as Excel shows the file and how many records
    come before Excel's first row (its hidden "sep=;" line). ``record=True`` keeps the raw lines
    of the last chunk (:meth:`last_lines`), so another process reading the same file can skip
    exactly those lines (:meth:`skip`).
    """

    def __init__(
        self,
        info: FileInfo,
        encoding: str,
        delimiter: str,
        header: tuple[int, int],
        width: int,
        *,
        record: bool = False,
    ) -> None:
        csv.field_size_limit(MAX_FIELD_CHARS)
        self.info, self.encoding, self.width, self.delimiter = info, encoding, width, delimiter
        self._handle = open(info.path, encoding=encoding, newline="", errors="strict")  # noqa: SIM115
        self._lines: list[str] = []
        source = self._recording(self._handle) if record else self._handle
        self._reader = csv.reader(source, delimiter=delimiter)
        self._skipped_lines = 0
        self._file_lines: int | None = None  # counted only for a file that may be cut off
        header_index, unseen = header
        self._guard(lambda: list(islice(self._reader, unseen + header_index + 1)))
        self.next_row = header_index + 2  # the spreadsheet row of the next data record

    def _recording(self, handle) -> Iterator[str]:
        for line in handle:
            self._lines.append(line)
            yield line

    def next_chunk(self, size: int) -> Chunk | None:
        """The next ``size`` records as a Chunk, or None at the end of the file."""
        self._lines = []
        lines_before = self._line_num()
        batch = self._guard(lambda: list(islice(self._reader, size)))
        if not batch:
            return None
        first_row, self.next_row = self.next_row, self.next_row + len(batch)
        chunk = _csv_chunk(batch, first_row, self.width)
        if self._line_num() - lines_before > len(batch):  # a quoted line break somewhere
            chunk.run_on = _rows_swallowed(chunk, self.delimiter, self.width)
        if chunk.rows and chunk.rows[-1] == self.next_row - 1:
            self._check_cut_off(chunk, batch[-1], last=len(batch) < size)
        return chunk

    def _check_cut_off(self, chunk: Chunk, record: list[str], *, last: bool) -> None:
        """Mark the chunk's last record when the file ends inside its last cell's quote.

        Python's csv reader takes a quote still open at the end of the file as closed, so a
        download cut off in ``"1,500,000.00"`` would read as 1500. Only the file's last bytes
        are looked at; a full chunk is the file's end only when no line follows it.
        """
        index = len(chunk.rows) - 1
        if index in chunk.run_on or not _ends_in_open_quote(
            self.info.path, self.encoding, self.delimiter, record[-1]
        ):
            return
        if not last:
            if self._file_lines is None:
                with open(self.info.path, encoding=self.encoding, newline="") as handle:
                    self._file_lines = sum(1 for _ in handle)
            if self._line_num() != self._file_lines:
                return
        chunk.cut_off = (index, len(record) - 1)

    def last_lines(self) -> list[str]:
        """The raw lines of the last chunk (with ``record=True``)."""
        return self._lines

    def line_position(self) -> int:
        """How many physical lines of the file have been read (titles and header included)."""
        return self._line_num()

    def pass_lines(self, lines: int) -> int:
        """Pass over up to ``lines`` lines taken to be one record each (unparsed, not kept);
        how many there were. The process whose chunk they are checks the assumption."""
        passed = self._guard(lambda: len(list(islice(self._handle, lines))))
        self._skipped_lines += passed
        self.next_row += passed
        return passed

    def skip(self, lines: int, records: int, chars: int) -> str:
        """Pass over a chunk of ``records`` records spanning ``lines`` lines of ``chars``
        characters; its raw text (one read, no line splitting: the caller compares it with
        the text the lines were read from)."""
        text = self._guard(lambda: self._handle.read(chars))
        self._skipped_lines += lines
        self.next_row += records
        return text

    def _guard(self, read):
        try:
            return read()
        except csv.Error as exc:
            raise InputFileError(
                f"{self.info.path.name}: cannot read line {self._line_num()}: {_short(str(exc))}",
                path=self.info.path,
                hint="is it really a CSV file? A field larger than 10 MB or a NUL byte is refused",
            ) from None
        except UnicodeDecodeError:
            raise InputFileError(
                f"{self.info.path.name}: the text near line {self._line_num() + 1} is not "
                f"valid {self.encoding}",
                path=self.info.path,
                hint="give the file's encoding with --encoding (e.g. --encoding cp1252)",
            ) from None

    def _line_num(self) -> int:
        return self._reader.line_num + self._skipped_lines

    def close(self) -> None:
        """Close the file."""
        self._handle.close()

    def __enter__(self) -> CsvChunkReader:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _csv_chunk(batch: list[list[str]], first_row: int, width: int) -> Chunk:
    """Records -> a Chunk: rows padded/trimmed to the header, blank rows dropped and counted.

    The common case (every record as wide as the header, no blank line) stays in C-level
    builtins; only unusual batches take the per-record path.
    """
    if set(map(len, batch)) == {width} and (
        # A filled first cell proves a row is not blank; joining whole rows costs 5x more.
        all(map(str.strip, map(itemgetter(0), batch))) or all(map(str.strip, map("".join, batch)))
    ):
        return Chunk(rows=list(range(first_row, first_row + len(batch))), cells=batch)
    chunk = Chunk(rows=[], cells=[])
    for offset, record in enumerate(batch):
        cells = record
        extra: list[str] = []
        if len(record) > width:
            cells, extra = record[:width], record[width:]
        elif len(record) < width:
            cells = record + [""] * (width - len(record))
        chunk.add(first_row + offset, cells, extra)
    return chunk


def _rows_swallowed(chunk: Chunk, delimiter: str, width: int) -> dict[int, tuple[int, int]]:
    """Cells whose line breaks hide lines that look like rows (as many delimiters as a row
    has): index -> (column, how many). A quote opened and not closed (``"Pro`` ...) makes the
    rest of the file, or the lines up to the next quote, one cell; a note typed over several
    lines in a cell has no such lines."""
    found: dict[int, tuple[int, int]] = {}
    if width < 2:
        return found
    for index, cells in enumerate(chunk.cells):
        for column, cell in enumerate(cells):
            if "\n" in cell or "\r" in cell:
                rows = sum(line.count(delimiter) >= width - 1 for line in cell.splitlines()[1:])
                if rows:
                    found[index] = (column, rows)
                    break
    return found


def _ends_in_open_quote(path: Path, encoding: str, delimiter: str, cell: str) -> bool:
    """True when the file ends with a quote opened before ``cell`` and never closed."""
    with open(path, "rb") as handle:
        codec = _byte_order(encoding, handle.read(4))
        try:
            opened = ('"' + cell.replace('"', '""')).encode(codec)
            before = tuple(char.encode(codec) for char in (delimiter, "\n", "\r"))
        except UnicodeError:
            return False
        start = handle.seek(0, io.SEEK_END) - len(opened) - max(map(len, before))
        if start < 0:
            return False
        handle.seek(start)
        tail = handle.read()
    # The quote opens the cell: a delimiter or a line break comes before it.
    return tail.endswith(opened) and tail[: -len(opened)].endswith(before)


def _byte_order(encoding: str, head: bytes) -> str:
    """The codec that writes the file's text byte for byte (no BOM, its byte order)."""
    name = codecs.lookup(encoding).name
    if name == "utf-8-sig":
        return "utf-8"
    if name in ("utf-16", "utf-32"):
        big = head.startswith(codecs.BOM_UTF32_BE if name == "utf-32" else codecs.BOM_UTF16_BE)
        return f"{name}-{'be' if big else 'le'}"
    return encoding


def _short(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[:limit] + "…"


# --- workbooks (every kind python-calamine reads) -------------------------------------------


def _open_workbook(
    info: FileInfo,
    kind: InputKind,
    *,
    sheet: str | None,
    header_hint: dict[str, str],
    header_row: int | None,
) -> Table:
    """A workbook of any kind (python-calamine reads them all), its hidden rows from the
    kind's finder."""
    sheets, names, sheet_name, head = _read_workbook(info, kind, sheet, header_hint)
    header_index = _chosen_header(head, header_row, info.path)
    if header_index is None:
        header_index = _find_header(head, header_hint)
    if header_index is None:
        raise InputFileError(f"{info.path.name}, sheet {sheet_name!r}: the sheet is empty")
    headers = [h.strip() for h in head[header_index]]
    while headers and not headers[-1]:
        headers.pop()
    _check_headers(headers, info.path)

    worksheet = sheets[sheet_name]
    last_row = worksheet.end[0] + 1 if worksheet.end else 0
    hidden = (
        kind.find_hidden(info.path, sheet_name, last_row) if kind.find_hidden else HiddenCells()
    )
    first_column = worksheet.start[1] if worksheet.start else 0  # rows start at A, columns not

    shown = _Shown(
        _unread_by_row(hidden.unread, first_column),
        hidden.stale,
        {c - first_column: runs for c, runs in hidden.currencies.items() if c >= first_column},
    )

    def read(size: int) -> Iterator[Chunk]:
        chunks = _workbook_chunks(worksheet, header_index, len(headers), size, shown)
        if first_column:
            chunks = _from_column(chunks, first_column)
        return _mark_hidden(chunks, hidden.rows) if hidden.rows else chunks

    return Table(
        info=info,
        headers=headers,
        header_row=header_index + 1,
        sheet=sheet_name,
        sheets=names,
        hidden_columns=[
            h for i, h in enumerate(headers) if h and (i + first_column) in hidden.columns
        ],
        notes=[kind.hidden_rows_note] if kind.hidden_rows_note else [],
        date1904=hidden.date1904,
        _reader=read,
    )


def _read_workbook(
    info: FileInfo, kind: InputKind, sheet: str | None, header_hint: dict[str, str]
) -> tuple[_Sheets, list[str], str, list[list[str]]]:
    """Open the workbook and choose its sheet: the sheets, their names, the chosen one and its
    first rows as text. Every failure of the reader is one InputFileError."""
    import python_calamine as calamine

    try:
        if info.path.suffix.lower() in kind.suffixes:
            workbook = calamine.CalamineWorkbook.from_path(str(info.path))
        else:
            # calamine picks its reader by the name: a workbook with another name (an .xlsx
            # saved as .xls, a download without one) is read by its content instead.
            with open(info.path, "rb") as handle:
                workbook = calamine.CalamineWorkbook.from_filelike(handle)
        sheets = _Sheets(workbook)
        names = list(workbook.sheet_names)
        sheet_name = _choose_sheet(info, workbook, sheets, sheet, header_hint)
        return sheets, names, sheet_name, _sheet_head(sheets, sheet_name)
    except InputFileError:
        raise
    except calamine.PasswordError:
        raise kind.password_refusal(info.path) from None
    except Exception as exc:  # calamine raises several unrelated types for damaged files
        raise InputFileError(
            f"{info.path.name}: the workbook cannot be read ({exc.__class__.__name__})",
            path=info.path,
            hint=f"open it in {kind.app} and save it again as .xlsx",
        ) from None


def _choose_sheet(
    info: FileInfo, workbook, sheets: _Sheets, sheet: str | None, header_hint: dict[str, str]
) -> str:
    """The sheet named (case and spaces aside), else the first visible worksheet with a
    purchase header (a cover or notes sheet may come first), else the first visible one.
    Chart sheets hold no rows (and python-calamine cannot read those of an .xlsb)."""
    names = list(workbook.sheet_names)
    if sheet is None:
        visible = [
            m.name
            for m in workbook.sheets_metadata
            if str(m.visible).lower().endswith("visible")
            and "hidden" not in str(m.visible).lower()
            and "chart" not in str(m.typ).lower()
        ] or names
        return next((n for n in visible if _sheet_has_header(sheets, n, header_hint)), visible[0])
    if sheet in names:
        return sheet
    matches = [n for n in names if n.strip().casefold() == sheet.strip().casefold()]
    if not matches:
        raise InputFileError(
            f"{info.path.name} has no sheet named {sheet!r}; sheets: "
            + ", ".join(repr(n) for n in names),
            path=info.path,
        )
    return matches[0]


def _from_column(chunks: Iterator[Chunk], first_column: int) -> Iterator[Chunk]:
    for chunk in chunks:
        chunk.first_column = first_column
        yield chunk


def _mark_hidden(chunks: Iterator[Chunk], rows: frozenset[int]) -> Iterator[Chunk]:
    for chunk in chunks:
        chunk.hidden = [i for i, row in enumerate(chunk.rows) if row in rows]
        yield chunk


def _sheet_has_header(sheets: _Sheets, name: str, header_hint: dict[str, str]) -> bool:
    head = _sheet_head(sheets, name)
    return any(looks_like_header(row, header_hint) for row in head)


class _Sheets(dict):
    """Worksheets of one workbook, each parsed once (calamine parses a whole sheet on access)."""

    def __init__(self, workbook) -> None:
        super().__init__()
        self.workbook = workbook

    def __missing__(self, name: str):
        sheet = self[name] = self.workbook.get_sheet_by_name(name)
        return sheet


def _sheet_head(sheets: _Sheets, name: str) -> list[list[str]]:
    head = []
    for index, row in enumerate(sheets[name].iter_rows()):
        if index >= HEADER_SEARCH_ROWS * 3:
            break
        head.append([cell_text(c) for c in row])
    return head


def _unread_by_row(
    unread: dict[tuple[int, int], str], first_column: int
) -> dict[int, dict[int, str]]:
    """Row -> {index in the sheet's rows as read: text} of the cells the reader reads as
    empty (see importer.read.hidden.HiddenCells.unread)."""
    by_row: dict[int, dict[int, str]] = {}
    for (row, column), text in unread.items():
        if column >= first_column:
            by_row.setdefault(row, {})[column - first_column] = text
    return by_row


@dataclass(frozen=True)
class _Shown:
    """What a workbook's cells show that its reader does not read (see HiddenCells), by the
    sheet's columns as read: ``unread`` row -> {column: text} of formula and error cells read as
    empty (``stale``: of every formula); ``currencies`` column -> rows whose number format
    shows a currency."""

    unread: dict[int, dict[int, str]]
    stale: bool
    currencies: dict[int, CurrencyRuns]

    def fill(self, row: int, raw: list) -> None:
        """Put the formula or error text of ``row``'s unread cells in ``raw``."""
        if self.unread and (found := self.unread.get(row)):
            for column, text in found.items():
                if column < len(raw) and (self.stale or raw[column] in ("", None)):
                    raw[column] = text

    def mark_currencies(self, chunk: Chunk) -> Chunk:
        """Record on ``chunk`` the currency its number cells show by their number format."""
        assert chunk.raw is not None
        raw = chunk.raw
        for column, runs in self.currencies.items():
            shown = {
                i: code
                for start, stop, code in runs.spans(chunk.rows)
                for i in range(start, stop)
                if is_number_cell(raw[i][column])
            }
            if shown:
                chunk.shown_currencies[column] = shown
        return chunk


def _workbook_chunks(
    worksheet, header_index: int, width: int, size: int, shown: _Shown
) -> Iterator[Chunk]:
    """Chunks of the rows after the header; a formula cell with no saved result reads as its
    formula, an error value as Excel shows it (not as empty: the validator says what to do), a
    number's currency format is recorded on the chunk (see _Shown)."""
    chunk = Chunk(rows=[], cells=[], raw=[])
    for index, row in enumerate(worksheet.iter_rows()):
        if index <= header_index:
            continue
        raw = list(row[:width])
        if len(raw) < width:
            raw.extend([""] * (width - len(raw)))
        if shown.unread:
            shown.fill(index + 1, raw)
        cells = [c if type(c) is str else cell_text(c) for c in raw]
        extra = [cell_text(c) for c in row[width:]] if len(row) > width else []
        chunk.add(index + 1, cells, extra, raw)
        if len(chunk.rows) >= size:
            yield shown.mark_currencies(chunk) if shown.currencies else chunk
            chunk = Chunk(rows=[], cells=[], raw=[])
    if chunk.rows or chunk.blank:
        yield shown.mark_currencies(chunk) if shown.currencies else chunk


#: The types of typed number cells: a workbook's float or int, a DataFrame's Decimal too. Their
#: text carries no separator of its own, so it is never read by the column's separators (a
#: bool is a cell of its own kind).
NUMBER_CELL_TYPES = (float, int, decimal.Decimal)


def is_number_cell(value: object) -> bool:
    """True when ``value`` (a typed cell) is a number, not text, a date or a bool."""
    return type(value) in NUMBER_CELL_TYPES


def cell_text(value: object) -> str:
    """A workbook cell as the text Excel shows (numbers to 15 significant digits, dates as ISO)."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return format(value, ".15g")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, dt.datetime):
        if value.hour == value.minute == value.second == value.microsecond == 0:
            return value.date().isoformat()
        return value.isoformat()
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    if value is None:
        return ""
    return str(value)
