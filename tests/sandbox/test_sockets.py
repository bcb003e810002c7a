"""A server's port is its own: a second server on the same port is refused, on every platform."""

from __future__ import annotations

import socket
import sys

import pytest

from importer.sandbox import sockets
from importer.sandbox.sockets import address_reuse, bind_socket


def test_a_second_server_cannot_take_a_port_in_use():
    first = bind_socket("127.0.0.1", 0)
    try:
        port = first.getsockname()[1]
        with pytest.raises(OSError):
            bind_socket("127.0.0.1", port)
    finally:
        first.close()


def test_posix_reuses_addresses_in_time_wait(monkeypatch):
    monkeypatch.setattr(sys, "platform", "linux")
    assert address_reuse() == (socket.SO_REUSEADDR, 1)


def test_windows_claims_the_port_exclusively(monkeypatch):
    # On Windows SO_REUSEADDR would let a second server bind a port already in use.
    monkeypatch.setattr(sys, "platform", "win32")
    monkeypatch.setattr(sockets.socket, "SO_EXCLUSIVEADDRUSE", -5, raising=False)
    assert address_reuse() == (-5, 1)
