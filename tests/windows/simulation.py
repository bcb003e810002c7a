"""Run the real keen-import CLI in a child interpreter that looks like CPython on Windows.

    result = run_windows(["run", "march.csv", "--sandbox"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr

The child is ``sys.executable -m importer ARGS`` with ``sim_site/`` on PYTHONPATH: its
``sitecustomize`` changes the interpreter before anything is imported (``keen_sim_platform`` and
``keen_sim_files`` say how):

* POSIX-only modules hidden: ``fcntl`` and ``posix`` from the product's modules; ``pwd``,
  ``grp``, ``termios``, ``resource``, ``readline``, ``syslog``, ``_curses`` and ``uvloop`` from
  every module;
* no ``os.fork``, ``forkpty``, ``pread``, ``pwrite``, ``register_at_fork``,
  ``sched_getaffinity``; multiprocessing offers "spawn" only;
* ``signal`` has Windows' signals only (SIGBREAK = 21 added; ``signal.signal`` refuses others);
  event loops refuse ``add_signal_handler`` with NotImplementedError, as Windows' loops do;
* files held open by Excel (``locked``): writing, replacing, renaming or deleting them raises
  ``PermissionError`` 13 with ``winerror`` 32 (a sharing violation); reading works;
* a console in cp1252 (or cp850, cp437) that is strict on standard output; standard error
  replaces with backslashes, as CPython does on every platform;
* text files opened without an encoding in the ANSI code page (cp1252) with ``\\r\\n`` line
  ends; ``os.linesep`` and standard output/error write ``\\r\\n``.

Not simulated (only a real Windows run shows these): ``sys.platform``, ``os.name`` and path
syntax (drive letters, backslashes, case-insensitive names, reserved names like ``CON``, the
260-character limit when long paths are not enabled), the console API, the Proactor event loop,
``msvcrt``/``winreg``, how ``filelock`` and SQLite lock on Windows, and that on Windows the
product's own open files cannot be replaced or deleted either.

On a real Windows interpreter (the hosted CI runners) only the held-open files are simulated:
the rest is the real thing, and :func:`interrupt` sends Ctrl-Break.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

__all__ = [
    "CONSOLES",
    "LockedFiles",
    "interrupt",
    "run_python_windows",
    "run_windows",
    "start_windows",
    "windows_env",
]

REPO = Path(__file__).resolve().parents[2]
SIM_SITE = Path(__file__).resolve().parent / "sim_site"
#: Consoles a Windows user may have: the ANSI code page, the OEM code pages, UTF-8.
CONSOLES = ("cp1252", "cp850", "cp437", "utf-8")
#: Settings of this interpreter that would leak into the child and make it less like Windows.
_DROPPED = ("KEEN_API_KEY", "PYTHONUTF8", "PYTHONIOENCODING", "PYTHONSTARTUP")
_ON_WINDOWS = sys.platform == "win32"


class LockedFiles:
    """Files held open by "Excel", changeable while a child runs (it reads the list at every
    write, replace or delete). Pass it as ``locked=`` to :func:`start_windows`.

        excel = LockedFiles(tmp_path / "excel-open.txt")
        child = start_windows([...], cwd=tmp_path, locked=excel)
        excel.hold(tmp_path / "march.results.csv")
        ...
        excel.release_all()
    """

    def __init__(self, listing: Path, paths: Iterable[os.PathLike | str] = ()) -> None:
        self.listing = Path(listing)
        self.paths: list[Path] = []
        self.hold(*paths)

    def hold(self, *paths: os.PathLike | str) -> None:
        """Open ``paths`` in Excel."""
        self.paths += [Path(p).resolve() for p in paths]
        self._write()

    def release(self, *paths: os.PathLike | str) -> None:
        """Close ``paths`` in Excel."""
        gone = {Path(p).resolve() for p in paths}
        self.paths = [p for p in self.paths if p not in gone]
        self._write()

    def release_all(self) -> None:
        """Close Excel."""
        self.paths = []
        self._write()

    def _write(self) -> None:
        # Written aside and moved over, so a child never reads half a list.
        partial = self.listing.with_name(self.listing.name + ".partial")
        partial.write_text("".join(f"{p}\n" for p in self.paths), encoding="utf-8")
        os.replace(partial, self.listing)


def windows_env(
    *,
    cwd: os.PathLike | str,
    env: dict[str, str] | None = None,
    locked: Iterable[os.PathLike | str] | LockedFiles = (),
    console: str = "cp1252",
) -> dict[str, str]:
    """The environment of a simulated child: this process's (its temporary
    KEEN_IMPORT_DATA_DIR included, KEEN_API_KEY not), the simulation's switches, then ``env``.

    ``locked``: paths held open by Excel (relative ones are relative to ``cwd``), or a
    :class:`LockedFiles`. ``console``: the encoding of standard output and error (one of
    :data:`CONSOLES`). ``env={"KEEN_SIM_ANSI": "cp1250"}`` changes the code page of text files
    opened without an encoding (a Polish Windows); ``{"KEEN_SIM_WINDOWS": "0"}`` turns the
    simulation off, for a control run.
    """
    if console not in CONSOLES:
        raise ValueError(f"console must be one of {CONSOLES}, not {console!r}")
    child = {k: v for k, v in os.environ.items() if k not in _DROPPED}
    child["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(SIM_SITE), str(REPO), os.environ.get("PYTHONPATH")])
    )
    child["PYTHONIOENCODING"] = f"{console}:strict"
    child["KEEN_SIM_WINDOWS"] = "1"
    child["KEEN_SIM_ANSI"] = "cp1252"
    child.setdefault("USERNAME", os.environ.get("USER") or "keen-tester")  # always set there
    if isinstance(locked, LockedFiles):
        child["KEEN_SIM_LOCKED_FILE"] = str(locked.listing)
    else:
        child["KEEN_SIM_LOCKED"] = os.pathsep.join(
            os.path.abspath(os.path.join(cwd, p)) for p in locked
        )
    child.update(env or {})
    return child


def start_windows(
    args: list[str | os.PathLike],
    *,
    cwd: os.PathLike | str,
    env: dict[str, str] | None = None,
    locked: Iterable[os.PathLike | str] | LockedFiles = (),
    console: str = "cp1252",
    stdout: Path | None = None,
    python_args: tuple[str, ...] = ("-m", "importer"),
) -> subprocess.Popen:
    """Start ``keen-import ARGS`` in a simulated Windows child; stdout and stderr are pipes
    decoded from ``console`` (``stdout``: a file standard output is redirected into instead,
    as ``> file`` does). Stop it with :func:`interrupt`, collect it with ``communicate()``."""
    out = open(stdout, "wb") if stdout is not None else subprocess.PIPE  # noqa: SIM115
    try:
        return subprocess.Popen(
            [sys.executable, *python_args, *map(str, args)],
            cwd=cwd,
            env=windows_env(cwd=cwd, env=env, locked=locked, console=console),
            stdin=subprocess.PIPE,
            stdout=out,
            stderr=subprocess.PIPE,
            encoding=console,
            errors="replace",  # what the child could not encode it replaced itself
            creationflags=subprocess.CREATE_NEW_PROCESS_GROUP if _ON_WINDOWS else 0,
        )
    finally:
        if stdout is not None:
            out.close()  # the child holds its own handle


def run_windows(
    args: list[str | os.PathLike],
    *,
    cwd: os.PathLike | str,
    env: dict[str, str] | None = None,
    locked: Iterable[os.PathLike | str] | LockedFiles = (),
    console: str = "cp1252",
    timeout: float = 120,
    input: str | None = None,
    stdout: Path | None = None,
    python_args: tuple[str, ...] = ("-m", "importer"),
) -> subprocess.CompletedProcess:
    """Run ``keen-import ARGS`` in a simulated Windows child to its end (options as for
    :func:`start_windows`); ``input`` is typed on its standard input."""
    child = start_windows(
        args,
        cwd=cwd,
        env=env,
        locked=locked,
        console=console,
        stdout=stdout,
        python_args=python_args,
    )
    try:
        out, err = child.communicate(input, timeout=timeout)
    except BaseException:
        child.kill()
        child.communicate()
        raise
    return subprocess.CompletedProcess(child.args, child.returncode, out, err)


def run_python_windows(code: str, **options) -> subprocess.CompletedProcess:
    """Run ``python -c CODE`` in a simulated Windows child (options as for
    :func:`run_windows`): for checking the simulation itself."""
    return run_windows([], python_args=("-c", code), **options)


#: The number the simulation gives SIGBREAK (Windows' own value); on Linux it is SIGTTIN, which
#: nothing else sends, so delivering it reaches the handler installed for SIGBREAK.
SIMULATED_SIGBREAK = 21


def interrupt(child: subprocess.Popen, *, key: str = "ctrl-c") -> None:
    """Press Ctrl-C (or ``key="ctrl-break"``) in the child's console. On Windows both are
    Ctrl-Break: a child in its own process group ignores Ctrl-C; the product stops on SIGBREAK
    the same way."""
    if _ON_WINDOWS:
        child.send_signal(signal.CTRL_BREAK_EVENT)
    elif key == "ctrl-break":
        os.kill(child.pid, SIMULATED_SIGBREAK)
    else:
        child.send_signal(signal.SIGINT)
