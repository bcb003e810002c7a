"""Windows' files where the product meets them (see ../simulation.py).

* Files held open by another program (Excel): the paths in ``KEEN_SIM_LOCKED`` (joined with
  ``os.pathsep``) and those listed one per line in the file ``KEEN_SIM_LOCKED_FILE`` (read again
  at every check, so a test can open and close "Excel" while a child runs). Opening one to write
  or append, replacing, renaming or deleting it, or renaming the folder holding it, raises
  Windows' sharing violation; reading it stays allowed, as Excel allows.
* Text files opened without an encoding use the ANSI code page (``KEEN_SIM_ANSI``, cp1252 by
  default) and write ``\\r\\n`` line ends; ``os.linesep`` is ``\\r\\n``; standard output and
  error write ``\\r\\n`` too.

On a real Windows interpreter only the held-open files are simulated; the rest is native there.
"""

from __future__ import annotations

import builtins
import io
import os
import sys

SHARING_VIOLATION = "The process cannot access the file because it is being used by another process"
WINERROR_SHARING_VIOLATION = 32
WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_APPEND | os.O_TRUNC
_real_open = io.open
_windows_text = False  # set by use_windows_text_defaults()


def install() -> None:
    """Install the held-open files everywhere, and Windows' text defaults off Windows."""
    refuse_held_open_files()
    if sys.platform != "win32":
        use_windows_text_defaults()


def held_open() -> set[str]:
    """The normalised paths another program holds open right now."""
    paths = [p for p in os.environ.get("KEEN_SIM_LOCKED", "").split(os.pathsep) if p]
    listing = os.environ.get("KEEN_SIM_LOCKED_FILE")
    if listing:
        try:
            with _real_open(listing, encoding="utf-8") as handle:
                paths += [line.rstrip("\r\n") for line in handle if line.strip()]
        except FileNotFoundError:
            pass
    return {_normalised(p) for p in paths}


def _normalised(path, dir_fd: int | None = None) -> str:
    text = os.fsdecode(path)
    if dir_fd is not None and not os.path.isabs(text) and os.path.isdir("/proc/self/fd"):
        text = os.path.join(os.readlink(f"/proc/self/fd/{dir_fd}"), text)
    return os.path.normcase(os.path.realpath(text))


def refuse_if_held_open(
    path, *, dir_fd: int | None = None, folder: bool = False, names: tuple = ()
) -> None:
    """Raise Windows' sharing violation when ``path`` is held open (``folder``: or is a folder
    holding a file that is). ``names``: the error's file names, ``(path,)`` by default."""
    if path is None or isinstance(path, int):
        return
    held = held_open()
    if not held:
        return
    key = _normalised(path, dir_fd)
    inside = folder and any(h.startswith(key.rstrip(os.sep) + os.sep) for h in held)
    if key in held or inside:
        error = PermissionError(13, SHARING_VIOLATION, *(names or (os.fsdecode(path),)))
        error.winerror = WINERROR_SHARING_VIOLATION
        raise error


def refuse_held_open_files() -> None:
    """Route every way of writing, replacing or deleting a file through the check."""
    real = {
        name: getattr(os, name)
        for name in ("open", "replace", "rename", "remove", "unlink", "truncate")
    }

    def os_open(path, flags, mode=0o777, *, dir_fd=None):
        if flags & WRITE_FLAGS:
            refuse_if_held_open(path, dir_fd=dir_fd)
        return real["open"](path, flags, mode, dir_fd=dir_fd)

    def moving(name):
        def move(src, dst, *, src_dir_fd=None, dst_dir_fd=None):
            names = (os.fsdecode(src), None, os.fsdecode(dst))  # 'src' -> 'dst' in the message
            refuse_if_held_open(src, dir_fd=src_dir_fd, folder=True, names=names)
            refuse_if_held_open(dst, dir_fd=dst_dir_fd, names=names)
            return real[name](src, dst, src_dir_fd=src_dir_fd, dst_dir_fd=dst_dir_fd)

        return move

    def deleting(name):
        def delete(path, *, dir_fd=None):
            refuse_if_held_open(path, dir_fd=dir_fd)
            return real[name](path, dir_fd=dir_fd)

        return delete

    def truncate(path, length):
        refuse_if_held_open(path)
        return real["truncate"](path, length)

    os.open, os.truncate = os_open, truncate
    os.replace, os.rename = moving("replace"), moving("rename")
    os.remove, os.unlink = deleting("remove"), deleting("unlink")
    builtins.open = io.open = _windows_open


def _windows_open(
    file,
    mode="r",
    buffering=-1,
    encoding=None,
    errors=None,
    newline=None,
    closefd=True,
    opener=None,
):
    """``open`` as on Windows: see the module docstring."""
    if any(c in mode for c in "wa+"):
        refuse_if_held_open(file)
    if "b" not in mode and _windows_text:
        if encoding is None or encoding == "locale":
            encoding = _ansi_code_page()
        if newline is None and any(c in mode for c in "wax"):
            newline = "\r\n"
    return _real_open(file, mode, buffering, encoding, errors, newline, closefd, opener)


def _ansi_code_page() -> str:
    return "utf-8" if sys.flags.utf8_mode else os.environ.get("KEEN_SIM_ANSI", "cp1252")


def use_windows_text_defaults() -> None:
    """The ANSI code page and ``\\r\\n`` for text without an explicit encoding or newline."""
    global _windows_text
    import locale

    _windows_text = True
    locale.getpreferredencoding = lambda do_setlocale=True: _ansi_code_page()
    if hasattr(locale, "getencoding"):
        locale.getencoding = _ansi_code_page
    os.linesep = "\r\n"
    for stream in (sys.stdout, sys.stderr):
        if stream is not None and hasattr(stream, "reconfigure"):
            stream.reconfigure(newline="\r\n")
