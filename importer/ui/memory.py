"""Keeping the server's peak memory near the CLI's, on glibc.

A check in the server runs in a worker thread after an upload was parsed in others; glibc
keeps what each thread freed in that thread's arena, so the check's own peak came on top.
Elsewhere than glibc this does nothing.
"""

from __future__ import annotations

import ctypes

M_ARENA_MAX = -8


def _libc():
    try:
        return ctypes.CDLL(None)
    except (OSError, TypeError):  # TypeError: Windows has no "this process" library handle
        return None


def limit_malloc_arenas(arenas: int = 1) -> None:
    """Cap glibc's malloc arenas; call before any thread starts.

    One arena: what a page or an upload freed is reused by the check, whatever thread runs
    it (measured: the peak of a 200,000-row check ~8 MB lower, see benchmarks/bench_ui.py).
    """
    libc = _libc()
    if libc is not None and hasattr(libc, "mallopt"):
        libc.mallopt(M_ARENA_MAX, arenas)
