"""The results file (CSV or XLSX, written atomically): every input row with its verdict.

The control-total summary is :mod:`importer.check.summary`.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Sequence
from pathlib import Path

from importer.read.loader import Chunk
from importer.records import RESULT_COLUMNS, RowResult, RowStatus
from importer.report.publish import publish, temporary_beside

FORMULA_CHARS = frozenset("=+-@\t\r")
#: Text cells that Excel would turn into a formula once a user edits them: they get the
#: quote-prefix style (Excel's leading apostrophe), so they stay text after an edit.
EXCEL_FORMULA_START = ("=", "+", "-", "@")


# A formula-like cell or a cell the CSV format must quote, searched for in one joined blob per
# column (C-level scans), so a clean column costs no per-cell Python call.
_FORMULA_START = re.compile("\x00[=+\\-@\t\r]")
_CSV_SPECIAL = (",", '"', "\r", "\n")


def _csv_quote(value: str) -> str:
    """Quote one cell exactly as csv.writer (QUOTE_MINIMAL, excel dialect) would."""
    if "," in value or '"' in value or "\r" in value or "\n" in value:
        return '"' + value.replace('"', '""') + '"'
    return value


def csv_column(values: Sequence[str]) -> Sequence[str]:
    """One column ready for a comma-joined CSV line: formulas neutralised, cells quoted."""
    blob = "\x00" + "\x00".join(values)
    if _FORMULA_START.search(blob):
        values = list(map(neutralise, values))
    if any(char in blob for char in _CSV_SPECIAL):
        distinct = set(values)
        if len(distinct) * 4 < len(values):  # a repeating column: quote each value once
            values = list(map({v: _csv_quote(v) for v in distinct}.__getitem__, values))
        else:
            values = list(map(_csv_quote, values))
    return values


def join_lines(lines: list[str]) -> str:
    """CSV lines as the results file holds them (CRLF after each)."""
    return "\r\n".join(lines) + "\r\n" if lines else ""


def line_lengths(lines: list[str]) -> list[int]:
    """The byte length of each CSV line in the file (UTF-8, with its CRLF)."""
    if all(map(str.isascii, lines)):
        return [n + 2 for n in map(len, lines)]
    return [n + 2 for n in map(len, map(str.encode, lines))]


HIGHLIGHT = {
    RowStatus.INVALID: "#F8CBAD",
    RowStatus.REJECTED: "#F8CBAD",
    RowStatus.UNCONFIRMED: "#FFE699",
    RowStatus.SKIPPED: "#FFF2CC",
    RowStatus.RETRIED: "#FFE699",
    RowStatus.NOT_SENT: "#FFF2CC",
}


#: A signed number ("-120.00", "+5", "-1,234.5"): a spreadsheet reads it as the number, never
#: as a formula, so it is left as it is (quoted, a refund's -120.00 became text in Excel).
_SIGNED_NUMBER = re.compile(r"[+-]\d[\d.,]*")


def neutralise(value: str) -> str:
    """Make a cell that a spreadsheet would run as a formula display as text instead."""
    if value[:1] in FORMULA_CHARS and not _SIGNED_NUMBER.fullmatch(value):
        return "'" + value
    return value


def result_layout(headers: list[str]) -> tuple[dict[str, int], list[str]]:
    """Where the result columns go for an input with these headers.

    Returns the result columns the input already has (an input that is itself a results file:
    name -> its index, overwritten in place) and the names of the columns appended after the
    input's (``keen_status`` when the user's file has its own ``status`` column).
    """
    folded = [h.strip().casefold() for h in headers]
    replace_at = {name: folded.index(name) for name in RESULT_COLUMNS if name in folded}
    if len(replace_at) < 3:  # not our results file: a lone "status" column is the user's
        replace_at = {}
    appended = [name for name in RESULT_COLUMNS if name not in replace_at]
    taken = set(folded)
    return replace_at, [n if replace_at else free_name(n, taken) for n in appended]


def free_name(name: str, taken: set[str]) -> str:
    """The name of an added column: ``name``, else ``keen_<name>``, else ``keen_<name>_2``, ...,
    the first that no input column has (``taken``: the input's headers, casefolded): the user's
    ``status`` and ``keen_status`` columns are both kept."""
    found, n = (name, 1) if name not in taken else (f"keen_{name}", 2)
    while found in taken:
        found, n = f"keen_{name}_{n}", n + 1
    return found


def result_positions(headers: list[str]) -> dict[str, int]:
    """Result column name (``RESULT_COLUMNS``) -> its index in a results file's rows."""
    replace_at, _ = result_layout(headers)
    positions = dict(replace_at)
    appended = [name for name in RESULT_COLUMNS if name not in replace_at]
    for offset, name in enumerate(appended):
        positions[name] = len(headers) + offset
    return positions


class ResultsWriter:
    """Writes the input rows with their result columns to a temporary file, renamed on commit.

    When the input is itself a results file (it already has our result columns), those columns
    are overwritten in place instead of being appended a second time.
    """

    def __init__(self, path: Path, headers: list[str]) -> None:
        self.path = Path(path)
        self.kind = "xlsx" if self.path.suffix.lower() in (".xlsx", ".xlsm") else "csv"
        self.tmp = temporary_beside(self.path)
        self.width = len(headers)
        self.replace_at, self.appended = result_layout(headers)
        self.header = list(headers) + self.appended
        self.rows_written = 0
        self._open()

    def _open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.kind == "csv":
            # Bytes: a chunk is rendered as one string (see render_csv) and encoded at once.
            self._handle = open(self.tmp, "wb")  # noqa: SIM115
            header = io.StringIO(newline="")
            csv.writer(header).writerow([neutralise(h) for h in self.header])
            self._handle.write(("\ufeff" + header.getvalue()).encode("utf-8"))
        else:
            self._open_xlsx()

    def _open_xlsx(self) -> None:
        import xlsxwriter

        self._book = book = xlsxwriter.Workbook(
            str(self.tmp),
            {
                "constant_memory": True,
                "strings_to_formulas": False,
                "strings_to_urls": False,
                "strings_to_numbers": False,
            },
        )
        self._sheet = book.add_worksheet("Results")
        self._date = book.add_format({"num_format": "yyyy-mm-dd"})
        self._datetime = book.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
        self._fills = {
            status: (
                book.add_format({"bg_color": color}),
                book.add_format({"bg_color": color, "num_format": "yyyy-mm-dd"}),
            )
            for status, color in HIGHLIGHT.items()
        }
        # The same styles with Excel's quote prefix, keyed by the style they extend.
        self._quoted = {None: book.add_format({"quote_prefix": True})}
        for status, color in HIGHLIGHT.items():
            self._quoted[self._fills[status][0]] = book.add_format(
                {"bg_color": color, "quote_prefix": True}
            )
        head = {"bold": True, "bg_color": "#D9E1F2", "border": 1}
        head_plain, head_quoted = (
            book.add_format(head),
            book.add_format(head | {"quote_prefix": True}),
        )
        for col, name in enumerate(self.header):
            quoted = name.startswith(EXCEL_FORMULA_START)
            self._sheet.write_string(0, col, name, head_quoted if quoted else head_plain)
            self._sheet.set_column(col, col, max(10, min(40, len(name) + 4)))
        self._sheet.freeze_panes(1, 0)

    def write(self, chunk: Chunk, results: list[RowResult]) -> None:
        """Write one chunk of input rows with their results, in input order."""
        if results:
            columns = [list(column) for column in zip(*(r.cells() for r in results), strict=True)]
        else:
            columns = [[] for _ in RESULT_COLUMNS]
        self.write_columns(chunk, [r.status for r in results], columns)

    def write_columns(
        self, chunk: Chunk, statuses: list[RowStatus], columns: list[list[str]]
    ) -> None:
        """Write a chunk given its result columns (one list per RESULT_COLUMNS entry)."""
        if self.kind == "csv":
            self._write_csv(chunk, columns)
        else:
            self._write_xlsx(chunk, statuses, columns)
        self.rows_written += len(chunk.rows)

    def _merge(self, cells: list, values) -> tuple[list, list]:
        """Our result values into a results file's own columns; the others to append."""
        if not self.replace_at:
            return cells, list(values)
        cells = list(cells)
        appended = []
        for name, value in zip(RESULT_COLUMNS, values, strict=True):
            if name in self.replace_at:
                cells[self.replace_at[name]] = value
            else:
                appended.append(value)
        return cells, appended

    def _write_csv(self, chunk: Chunk, columns: list[list[str]]) -> None:
        self._handle.write(self.render_csv(chunk, columns).encode("utf-8"))

    def write_measured(self, chunk: Chunk, columns: list[list[str]]) -> tuple[int, list[int]]:
        """Write a chunk to a CSV results file; where it starts and each row's byte length
        (for a row index built as the file is written)."""
        start = self.position()
        lines = self.render_lines(chunk, columns)
        self._handle.write(join_lines(lines).encode("utf-8"))
        self.rows_written += len(chunk.rows)
        return start, line_lengths(lines)

    def position(self) -> int:
        """The byte offset of the next row of a CSV results file."""
        return self._handle.tell()

    def write_rendered(self, data: bytes, rows: int) -> None:
        """Append ``rows`` rows already rendered by :meth:`render_csv` and encoded as UTF-8."""
        self._handle.write(data)
        self.rows_written += rows

    def render_csv(self, chunk: Chunk, columns: list[list[str]]) -> str:
        """A chunk's CSV lines (input cells, then result columns) exactly as csv.writer would
        write them, built column-wise: a clean column costs no per-cell Python call."""
        return join_lines(self.render_lines(chunk, columns))

    def render_lines(self, chunk: Chunk, columns: list[list[str]]) -> list[str]:
        """A chunk's CSV lines as :meth:`render_csv` writes them, without their CRLF."""
        if not chunk.rows:
            return []
        data = [chunk.column(col) for col in range(self.width)]
        if self.replace_at:
            merged, appended = self._merge(data, columns)  # whole columns, not cells
            screened = [csv_column(column) for column in merged + appended]
        else:
            screened = [csv_column(column) for column in data]
            for name, column in zip(RESULT_COLUMNS, columns, strict=True):
                # row, status, http_status and attempts are ours and plain; the rest may quote
                # the file or the server.
                ours = name in ("row", "status", "http_status", "attempts")
                screened.append(column if ours else csv_column(column))
        return list(map(",".join, zip(*screened, strict=True)))

    def _write_xlsx(
        self, chunk: Chunk, statuses: list[RowStatus], columns: list[list[str]]
    ) -> None:
        sheet = self._sheet
        raw_rows = chunk.raw if chunk.raw is not None else chunk.cells
        for offset_row, (raw, status, values) in enumerate(
            zip(raw_rows, statuses, zip(*columns, strict=True), strict=True)
        ):
            line = self.rows_written + 1 + offset_row
            fill, fill_date = self._fills.get(status, (None, None))
            cells, appended = self._merge(raw, values)
            for col, value in enumerate(cells):
                if type(value) is str and value and fill is None:
                    sheet.write_string(line, col, value, self._text_style(value, None))
                else:
                    self._write_cell(line, col, value, fill, fill_date)
            for offset, value in enumerate(appended):
                col = len(cells) + offset
                if value and self.appended[offset] in ("row", "attempts", "http_status"):
                    sheet.write_number(line, col, int(value), fill)
                elif value or fill:
                    sheet.write_string(line, col, value, self._text_style(value, fill))

    def _text_style(self, value: str, fill):
        """The row's fill, with Excel's quote prefix when the text starts like a formula."""
        if value.startswith(EXCEL_FORMULA_START):
            return self._quoted[fill]
        return fill

    def _write_cell(self, line: int, col: int, value: object, fill, fill_date) -> None:
        sheet = self._sheet
        if isinstance(value, bool):
            sheet.write_boolean(line, col, value, fill)
        elif isinstance(value, (int, float)):
            sheet.write_number(line, col, value, fill)
        elif isinstance(value, dt.datetime):
            sheet.write_datetime(line, col, value, fill_date or self._datetime)
        elif isinstance(value, dt.date):
            sheet.write_datetime(
                line, col, dt.datetime.combine(value, dt.time()), fill_date or self._date
            )
        elif value is None or value == "":
            if fill:
                sheet.write_blank(line, col, None, fill)
        else:
            sheet.write_string(line, col, str(value), self._text_style(str(value), fill))

    def flush(self) -> None:
        """Push buffered CSV bytes to the file (before a fork, so the child holds none)."""
        if self.kind == "csv":
            self._handle.flush()

    def commit(self) -> Path:
        """Finish the file and move it to its final name."""
        self._close()
        return publish(self.tmp, self.path)

    def abort(self) -> None:
        """Drop the temporary file (nothing is left under the final name)."""
        try:
            self._close()
        except OSError:
            pass  # a full disk cannot take the rest of a file that is being dropped anyway
        finally:
            self.tmp.unlink(missing_ok=True)

    def _close(self) -> None:
        if self.kind == "csv":
            if not self._handle.closed:
                self._handle.close()
        elif self._book is not None:
            if self.rows_written:
                self._sheet.autofilter(0, 0, self.rows_written, len(self.header) - 1)
            book, self._book = self._book, None
            book.close()

    def __enter__(self) -> ResultsWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None:
            self.abort()
