"""What CPython on Windows lacks, taken away from a POSIX interpreter (see ../simulation.py).

Each ``remove_*`` / ``refuse_*`` function takes away one kind of POSIX-only feature;
:func:`install` applies them all. On a real Windows interpreter these features are absent
already, so :func:`install` does nothing there.

Modules are hidden at two depths. Some are hidden from every module: nothing on our path needs
them, and the code that tries them falls back the way it does on Windows (``getpass`` without
``pwd`` reads ``USERNAME``, as it does there). ``fcntl`` and ``posix`` are hidden from the
product's own modules only: ``shutil`` imports ``posix`` when it is imported, and ``filelock``
without ``fcntl`` would fall back to a soft lock file, unlike the OS lock it takes on Windows.
"""

from __future__ import annotations

import builtins
import importlib
import os
import signal
import sys

PRODUCT = os.environ.get("KEEN_SIM_PRODUCT", "importer")
HIDDEN_EVERYWHERE = (
    "pwd", "grp", "termios", "resource", "readline", "syslog", "_curses",
    "uvloop",  # not installed on Windows: pyproject's marker is sys_platform != 'win32'
)  # fmt: skip
HIDDEN_FROM_PRODUCT = ("fcntl", "posix", *HIDDEN_EVERYWHERE)
OS_FUNCTIONS = ("fork", "forkpty", "pread", "pwrite", "preadv", "pwritev", "register_at_fork",
                "sched_getaffinity")  # fmt: skip
#: What ``signal`` offers on Windows; every other SIG* name and POSIX-only function goes.
WINDOWS_SIGNALS = {"SIGABRT", "SIGFPE", "SIGILL", "SIGINT", "SIGSEGV", "SIGTERM", "SIGBREAK"}
POSIX_SIGNAL_FUNCTIONS = ("alarm", "pause", "setitimer", "getitimer", "siginterrupt",
                          "pthread_kill", "pthread_sigmask", "sigpending", "sigwait",
                          "sigwaitinfo", "sigtimedwait", "pidfd_send_signal", "ITIMER_REAL",
                          "ITIMER_VIRTUAL", "ITIMER_PROF", "ItimerError", "SIG_BLOCK",
                          "SIG_UNBLOCK", "SIG_SETMASK")  # fmt: skip
SIGBREAK, CTRL_C_EVENT, CTRL_BREAK_EVENT = 21, 0, 1  # Windows' values


def install() -> None:
    """Make this interpreter look like CPython on Windows where the product could tell."""
    if sys.platform == "win32":
        return
    hide_modules()
    remove_os_functions()
    remove_posix_signals()
    refuse_loop_signal_handlers()
    remove_fork_start_methods()
    kill_without_sigkill()


def hide_modules() -> None:
    """``import fcntl`` (and the others) fails as on Windows: see the module docstring."""
    for name in HIDDEN_EVERYWHERE:
        sys.modules[name] = None
    real_import, real_import_module = builtins.__import__, importlib.import_module

    def windows_import(name, globals=None, locals=None, fromlist=(), level=0):
        if level == 0 and _hidden_from(name, globals):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return real_import(name, globals, locals, fromlist, level)

    def windows_import_module(name, package=None):
        if not name.startswith(".") and _hidden_from(name, sys._getframe(1).f_globals):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return real_import_module(name, package)

    builtins.__import__ = windows_import
    importlib.import_module = windows_import_module


def _hidden_from(name: str, importer_globals: dict | None) -> bool:
    if name.partition(".")[0] not in HIDDEN_FROM_PRODUCT or not importer_globals:
        return False
    module = importer_globals.get("__name__") or ""
    package = importer_globals.get("__package__") or ""
    return PRODUCT in (module.partition(".")[0], package.partition(".")[0])


def remove_os_functions() -> None:
    """No ``os.fork`` and friends: code that checks ``hasattr(os, "fork")`` takes its Windows
    branch, code that calls them fails with AttributeError as it would there."""
    for name in OS_FUNCTIONS:
        if hasattr(os, name):
            delattr(os, name)


def remove_posix_signals() -> None:
    """``signal`` offers Windows' signals only (SIGBREAK added), and ``signal.signal`` refuses
    the others with Windows' ValueError."""
    for name in [n for n in vars(signal) if n.startswith("SIG") and not n.startswith("SIG_")]:
        if name not in WINDOWS_SIGNALS:
            delattr(signal, name)
    for name in POSIX_SIGNAL_FUNCTIONS:
        if hasattr(signal, name):
            delattr(signal, name)
    signal.SIGBREAK = SIGBREAK
    signal.CTRL_C_EVENT, signal.CTRL_BREAK_EVENT = CTRL_C_EVENT, CTRL_BREAK_EVENT
    allowed = {getattr(signal, name) for name in WINDOWS_SIGNALS}
    real_signal = signal.signal

    def windows_signal(signalnum, handler):
        if signalnum not in allowed:
            raise ValueError("invalid signal value")
        return real_signal(signalnum, handler)

    signal.signal = windows_signal


def refuse_loop_signal_handlers() -> None:
    """``loop.add_signal_handler`` raises NotImplementedError, as Windows' event loops do
    (the methods fall back to ``AbstractEventLoop``'s)."""
    from asyncio import unix_events

    loop_class = unix_events._UnixSelectorEventLoop
    for name in ("add_signal_handler", "remove_signal_handler"):
        if name in vars(loop_class):
            delattr(loop_class, name)


def remove_fork_start_methods() -> None:
    """multiprocessing offers "spawn" only, as on Windows: ``get_context("fork")`` raises
    ValueError. Without this, code that trusts the start methods would reach the missing
    ``os.fork`` on this Linux, which it never does on Windows."""
    import multiprocessing
    from multiprocessing import context

    for name in ("fork", "forkserver"):
        context._concrete_contexts.pop(name, None)
    default = context._default_context
    if default._actual_context is None:
        default._default_context = context._concrete_contexts["spawn"]

    def spawn_only(self=None):
        return ["spawn"]

    context.DefaultContext.get_all_start_methods = spawn_only
    multiprocessing.get_all_start_methods = spawn_only


def kill_without_sigkill() -> None:
    """``Popen.kill`` still ends a child (on Windows it is TerminateProcess) although
    ``signal.SIGKILL`` is gone."""
    import subprocess

    def kill(self) -> None:
        self.send_signal(9)

    subprocess.Popen.kill = kill
