"""Listening sockets, bound before a server starts (so the port is known and never raced).

Apart from ``server`` so that the ui can bind its socket without importing the sandbox's
app, its HTTP client and their dependencies (memory: see benchmarks/bench_ui.py).
"""

from __future__ import annotations

import socket
import sys


def address_reuse() -> tuple[int, int]:
    """The socket option a server sets before binding. POSIX: SO_REUSEADDR, so a restarted
    server gets its port back from connections still in TIME_WAIT. Windows: that option would
    let a second server take a port already in use, so the port is claimed exclusively."""
    if sys.platform == "win32":
        return socket.SO_EXCLUSIVEADDRUSE, 1  # type: ignore[attr-defined]
    return socket.SO_REUSEADDR, 1


def bind_socket(host: str, port: int) -> socket.socket:
    """A listening TCP socket on host:port (``port=0``: a free port chosen by the OS)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, *address_reuse())
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock
