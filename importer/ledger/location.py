"""Where the ledger lives: the per-user SQLite file, a SQLite file given by the user, or a
PostgreSQL database a team shares.

    --ledger / KEEN_IMPORT_LEDGER   postgresql://user@host/db  or  PATH (a SQLite file)
    default                         <per-user data folder>/ledger.sqlite
    the embedded sandbox            <per-user data folder>/sandbox-ledger.sqlite

The per-user data folder comes from platformdirs (``%LOCALAPPDATA%\\keen-import`` on Windows,
``~/Library/Application Support/keen-import`` on macOS, ``~/.local/share/keen-import`` on
Linux); ``KEEN_IMPORT_DATA_DIR`` moves it (the tests point it at a temporary folder).

A SQLite ledger on a network or sync folder is refused: SQLite's locking does not hold over
SMB/NFS, and OneDrive or Dropbox replace the file under a running import, so two machines
would each believe they hold the only copy. A team shares a PostgreSQL ledger instead.
"""

from __future__ import annotations

import ipaddress
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path, PurePath
from urllib.parse import unquote, urlsplit, urlunsplit

from importer.errors import LedgerError

__all__ = [
    "ENV_DATA_DIR",
    "ENV_LEDGER",
    "LedgerLocation",
    "data_dir",
    "is_loopback",
    "is_loopback_host",
    "ledger_for",
    "ledger_location",
]

ENV_LEDGER = "KEEN_IMPORT_LEDGER"
ENV_DATA_DIR = "KEEN_IMPORT_DATA_DIR"
_URL_SCHEMES = ("postgresql", "postgres")
#: Folder names of sync clients that replace files behind SQLite's back.
_SYNC_FOLDERS = ("onedrive", "dropbox", "google drive", "googledrive", "icloud drive", "box sync")
#: File systems on which SQLite's locks do not hold between machines.
_NETWORK_FILESYSTEMS = {
    "nfs",
    "nfs4",
    "cifs",
    "smb",
    "smb2",
    "smb3",
    "smbfs",
    "fuse.sshfs",
    "afpfs",
}


@dataclass(frozen=True)
class LedgerLocation:
    """A ledger: a SQLite ``path`` or a PostgreSQL ``url`` (exactly one is set)."""

    path: Path | None = None
    url: str | None = None
    #: The ledger of runs into sandboxes (the embedded one, servers on this machine): its
    #: targets on two local ports are two sandboxes, not one account.
    sandbox: bool = False

    @property
    def shared(self) -> bool:
        """True for a PostgreSQL ledger (several machines may use it at once)."""
        return self.url is not None

    def describe(self) -> str:
        """The ledger for messages: the path, or the URL without its password."""
        if self.url is None:
            return str(self.path)
        return _without_password(self.url)


def data_dir() -> Path:
    """The per-user folder of keen-import's own data (the ledger, caches)."""
    given = os.environ.get(ENV_DATA_DIR)
    if given:
        return Path(given)
    import platformdirs

    return platformdirs.user_data_path("keen-import", appauthor=False)


def ledger_location(
    given: str | os.PathLike | None = None, *, sandbox: bool = False
) -> LedgerLocation:
    """The ledger to use: ``given`` (``--ledger``), else ``KEEN_IMPORT_LEDGER``, else the
    per-user SQLite file. Runs against the embedded sandbox always get the sandbox's own.

    Raises LedgerError for a SQLite ledger on a network or sync folder.
    """
    if sandbox:
        return LedgerLocation(path=data_dir() / "sandbox-ledger.sqlite", sandbox=True)
    text = os.fspath(given) if given is not None else os.environ.get(ENV_LEDGER, "")
    text = text.strip()
    if not text:
        return LedgerLocation(path=data_dir() / "ledger.sqlite")
    if urlsplit(text).scheme.lower() in _URL_SCHEMES:
        return LedgerLocation(url=text)
    refuse_connection_string(text)
    path = Path(text).expanduser()
    refuse_shared_folder(path)
    return LedgerLocation(path=path)


#: libpq's connection keywords: ``host=db dbname=keen_ledger user=finance`` names a server.
_CONNINFO_KEYWORDS = frozenset(
    {"host", "hostaddr", "port", "dbname", "user", "password", "service", "sslmode"}
)
_CONNINFO_WORD = re.compile(r"^\s*(\w+)\s*=")
_ANY_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.:-]*://")


def refuse_connection_string(text: str) -> None:
    """LedgerError when ``text``, given as a SQLite file, is a connection string: libpq's
    ``host=... dbname=...`` or a URL of another scheme (``postgresql+psycopg://``,
    ``jdbc:postgresql://``). Taken as a file name it was a new, empty ledger (every purchase
    sent again) whose name showed the password. The message does not quote ``text``."""
    word = _CONNINFO_WORD.match(text)
    if (word is not None and word.group(1).lower() in _CONNINFO_KEYWORDS) or _ANY_URL.match(text):
        raise LedgerError(
            "the ledger given is a connection string but not a postgresql:// URL: it would "
            "be taken for the name of a new, empty SQLite file",
            hint="write it as postgresql://USER:PASSWORD@HOST:PORT/DATABASE in --ledger "
            "(or KEEN_IMPORT_LEDGER); nothing was sent",
        )


def refuse_shared_folder(path: Path) -> None:
    """LedgerError when ``path`` is on a network share or in a sync folder."""
    text = str(path)
    why = None
    if text.startswith(("\\\\", "//")):
        why = "a network share"
    elif any(
        part.lower() in _SYNC_FOLDERS or part.lower().startswith("onedrive - ")
        for part in PurePath(os.path.abspath(text)).parts
    ):
        why = "a sync folder (OneDrive, Dropbox, ...)"
    elif _filesystem_of(Path(os.path.abspath(text))) in _NETWORK_FILESYSTEMS:
        why = "a network file system"
    if why:
        raise LedgerError(
            f"the ledger {text} would be on {why}, where SQLite cannot keep two machines "
            "from sending the same purchase",
            hint="keep the ledger on this computer (the default), or share one between "
            "colleagues with --ledger postgresql://USER@HOST/DATABASE",
        )


def _filesystem_of(path: Path) -> str | None:
    """The file system type of the mount holding ``path`` (Linux only; None elsewhere)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        with open("/proc/mounts", encoding="utf-8", errors="replace") as mounts:
            entries = [line.split()[1:3] for line in mounts if len(line.split()) >= 3]
    except OSError:
        return None
    best, kind = "", None
    resolved = str(path)
    for mount, fstype in entries:
        inside = resolved == mount or resolved.startswith(mount.rstrip("/") + "/")
        if inside and len(mount) > len(best):
            best, kind = mount, fstype
    return kind


#: Connection parameters that hold a secret when given in the URL's query (libpq takes
#: ``?user=finance&password=...`` as well as ``finance:...@``).
_SECRET_PARAMETERS = frozenset({"password", "sslpassword", "passfile"})


def _without_password(url: str) -> str:
    """The URL with its password (in the user part or the query) shown as ***."""
    parts = urlsplit(url)
    query = "&".join(
        f"{name}=***" if name.lower() in _SECRET_PARAMETERS else f"{name}={value}" if sep else name
        for name, sep, value in (pair.partition("=") for pair in parts.query.split("&") if pair)
    )
    netloc = parts.netloc
    if parts.password is not None:
        host = parts.hostname or ""
        if parts.port:
            host = f"{host}:{parts.port}"
        netloc = f"{parts.username}:***@{host}" if parts.username else host
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def url_password(url: str) -> str | None:
    """The password a ledger URL holds, in its user part or its query (None: none)."""
    parts = urlsplit(url)
    if parts.password is not None:
        return parts.password
    for pair in parts.query.split("&"):
        name, _, value = pair.partition("=")
        if name.lower() == "password" and value:
            return unquote(value)
    return None


def is_loopback(url: str) -> bool:
    """True for http(s)://127.x.x.x, [::1] and localhost URLs."""
    return is_loopback_host(urlsplit(url).hostname or "")


def is_loopback_host(host: str) -> bool:
    """True for 127.x.x.x, ::1 and localhost."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def ledger_for(
    api_url: str, *, target: str | None = None, ledger: str | os.PathLike | None = None
) -> LedgerLocation:
    """The ledger of sends to ``api_url``: ``ledger`` if given; the sandbox's own for the
    embedded sandbox (a team's ledger never holds its purchases); KEEN_IMPORT_LEDGER when set,
    also for a server on this machine (a tunnel or a local forwarder to Keen: the team's
    ledger must see those purchases, or they are sent again); else the sandbox's own for a
    server on this machine, and the per-user one for any other."""
    configured = ledger is not None or bool(os.environ.get(ENV_LEDGER, "").strip())
    sandbox = target == "sandbox" if configured else target == "sandbox" or is_loopback(api_url)
    return ledger_location(ledger, sandbox=sandbox and ledger is None)
