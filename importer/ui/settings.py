"""What the UI server was started with: where it listens, its secrets, where it sends."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import ipaddress
import secrets
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import ssl

#: Uploads larger than this are refused before they reach the disk (bytes).
DEFAULT_UPLOAD_LIMIT = 512 * 1024 * 1024
#: Addresses that listen on every interface of the machine.
EVERY_ADDRESS = frozenset({"0.0.0.0", "::"})


class ApiKey:
    """The Keen API key, held only in this process's memory.

    Its text is reachable through ``reveal()`` alone; ``str``/``repr`` never show it, so a
    template, a log line or an exception message cannot leak it by accident.
    """

    def __init__(self, value: str | None = None) -> None:
        self._value = (value or "").strip() or None

    def set(self, value: str) -> None:
        """Replace the key (blank clears it)."""
        self._value = value.strip() or None

    def reveal(self) -> str | None:
        """The key itself: only for the request headers sent to Keen."""
        return self._value

    @property
    def is_set(self) -> bool:
        """True when a key is held."""
        return self._value is not None

    @property
    def last_four(self) -> str:
        """The last four characters: all a page may show."""
        return self._value[-4:] if self._value else ""

    def __repr__(self) -> str:
        return f"ApiKey(set={self.is_set})"

    __str__ = __repr__


@dataclass
class UISettings:
    """Everything the app needs to know about how it was started.

    ``port`` is the port actually bound (known after the socket is opened). ``api_url`` is
    None until a target is known; in sandbox mode it is the embedded sandbox's URL. ``tls``:
    the server's TLS context (None: plain HTTP).
    """

    workspace: Path
    host: str = "127.0.0.1"
    port: int = 0
    sandbox: bool = False
    api_url: str | None = None
    api_key: ApiKey = field(default_factory=ApiKey)
    target: str | None = None
    ledger: str | None = None  # --ledger: a SQLite file or PostgreSQL URL (None: the default)
    allow_remote: bool = False
    tls: ssl.SSLContext | None = field(default=None, repr=False)
    upload_limit: int = DEFAULT_UPLOAD_LIMIT
    token: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    #: Server secret the CSRF tokens are derived from; never leaves the process.
    csrf_secret: bytes = field(default_factory=lambda: secrets.token_bytes(32), repr=False)

    def csrf_token_for(self, browser_session: str) -> str:
        """The CSRF token of one browser session: valid for that session's cookie only."""
        digest = hmac.new(self.csrf_secret, browser_session.encode(), hashlib.sha256)
        return digest.hexdigest()

    def allowed_hosts(self) -> set[str]:
        """Host header values accepted: the bound address and localhost, with the port."""
        bound = f"[{self.host}]" if ":" in self.host else self.host
        return {f"{bound}:{self.port}", f"localhost:{self.port}"}

    def accepts_host(self, host: str) -> bool:
        """True for a Host header this server answers (DNS rebinding: an attacker's name is
        refused): :meth:`allowed_hosts`; listening on every address (0.0.0.0, ::), also this
        machine's name or any IP address, with the port. An IP address is no name an attacker
        can point at this machine, and the token still guards every page."""
        if host in self.allowed_hosts():
            return True
        name, colon, port = host.rpartition(":")
        if self.host not in EVERY_ADDRESS or not colon or port != str(self.port):
            return False
        if name.startswith("[") and name.endswith("]"):
            name = name[1:-1]  # an IPv6 address
        elif ":" in name:
            return False  # an IPv6 address in a Host header is always bracketed
        if name.casefold() == socket.gethostname().casefold():
            return True
        try:
            ipaddress.ip_address(name)
        except ValueError:
            return False
        return True

    @property
    def scheme(self) -> str:
        """How pages are reached: ``https`` when the server speaks TLS, else ``http``."""
        return "http" if self.tls is None else "https"

    @property
    def in_clear_over_network(self) -> bool:
        """True when other machines reach the server over plain HTTP (``--no-tls``): every
        page then says so."""
        from importer.ledger.location import is_loopback_host  # heavy package: load it late

        return self.tls is None and not is_loopback_host(self.host)

    @property
    def url(self) -> str:
        """The address printed at start, token included; listening on every address, the one
        other machines most likely reach this one at."""
        host = _this_machine_address() if self.host in EVERY_ADDRESS else self.host
        bound = f"[{host}]" if ":" in host else host
        return f"{self.scheme}://{bound}:{self.port}/?token={self.token}"


def _this_machine_address() -> str:
    """The IPv4 address of the interface this machine's traffic leaves by (connect() on a
    UDP socket only picks a route: no packet is sent); localhost when there is no route."""
    with contextlib.suppress(OSError), socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.connect(("192.0.2.1", 9))  # TEST-NET-1 (RFC 5737): never a real host
        return probe.getsockname()[0]
    return "localhost"
