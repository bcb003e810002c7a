"""Small text files people save by hand (an API key, a mapping file): what Notepad writes.

Notepad saves UTF-8 with or without a byte-order mark, or UTF-16 with one ("Unicode"); a
file in anything else is refused in one line by its reader rather than read as mojibake.
"""

from __future__ import annotations

__all__ = ["notepad_text"]

_UTF16_MARKS = (b"\xff\xfe", b"\xfe\xff")


def notepad_text(data: bytes) -> str:
    """The text of a file saved by Notepad; UnicodeDecodeError for anything else."""
    if data.startswith(_UTF16_MARKS):
        return data.decode("utf-16")
    return data.decode("utf-8-sig")
