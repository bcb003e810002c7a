"""The console the tool prints on: never a crash for a character it cannot show.

Windows consoles and redirected pipes often use cp1252, cp850 or cp437; a file name such as
``zakupy_łódź.csv`` would end in UnicodeEncodeError there (after purchases were created). Messages
print what the encoding can show and replace the rest; data written to standard output (the
sandbox's purchase list) is UTF-8 when it goes to a file or a pipe.
"""

from __future__ import annotations

import contextlib
import sys

__all__ = ["data_to_stdout", "make_console_safe"]


def make_console_safe() -> None:
    """Let standard output and error replace what their encoding cannot show."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            with contextlib.suppress(ValueError, OSError):  # a closed or detached stream
                reconfigure(errors="replace")


def data_to_stdout() -> None:
    """Standard output carries data (CSV, JSON): UTF-8 unless it is a console, where the
    console's own encoding (with replacements) is what the user can read."""
    stream = sys.stdout
    if stream is None or stream.isatty():
        return
    reconfigure = getattr(stream, "reconfigure", None)
    if reconfigure is not None:
        with contextlib.suppress(ValueError, OSError):
            reconfigure(encoding="utf-8", errors="strict")
