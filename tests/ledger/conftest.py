"""A real PostgreSQL server for the shared-ledger tests, started once per session.

The server is Debian's (or PATH's) ``initdb``/``pg_ctl``, run on a free port of 127.0.0.1 with a
throw-away data folder, fsync off. PostgreSQL refuses to run as root, so as root (CI) it runs as
an unprivileged user (``keen-test`` or ``nobody``; ``keen-test`` is created when neither exists).
Connections over the unix socket are trusted (the fixture's own administration); TCP connections
need a SCRAM password, so a wrong password fails for real.

Missing binaries (or psycopg): the tests skip, with the reason shown, on a developer machine;
with ``CI`` or ``KEEN_REQUIRE_SERVICES=1`` set (``.ci/run`` sets it) they fail instead.
``tests/setup_services.sh`` installs what is missing.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import re
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

ROLE, PASSWORD, DATABASE = "keen", "secret", "ledger"
_SETUP_HINT = "run `bash tests/setup_services.sh` (installs Debian's postgresql)"


def _required() -> bool:
    return bool(os.environ.get("CI")) or os.environ.get("KEEN_REQUIRE_SERVICES") == "1"


def _unavailable(reason: str):
    if _required():
        pytest.fail(f"PostgreSQL tests cannot run: {reason}; {_SETUP_HINT}", pytrace=False)
    pytest.skip(f"PostgreSQL tests skipped: {reason}; {_SETUP_HINT}")


def find_pg_bin() -> Path | None:
    """The folder holding initdb and pg_ctl: $KEEN_PG_BIN if set, else PATH's, else the newest
    /usr/lib/postgresql/*/bin (Debian's packages put them there, off PATH)."""
    given = os.environ.get("KEEN_PG_BIN")
    if given:
        folder = Path(given)
        return folder if (folder / "initdb").exists() and (folder / "pg_ctl").exists() else None
    found = shutil.which("initdb")
    if found:
        folder = Path(found).resolve().parent
        if (folder / "pg_ctl").exists():
            return folder
    candidates = []
    for folder in Path("/usr/lib/postgresql").glob("*/bin"):
        if (folder / "initdb").exists() and (folder / "pg_ctl").exists():
            version = tuple(int(n) for n in re.findall(r"\d+", folder.parent.name))
            candidates.append((version, folder))
    return max(candidates)[1] if candidates else None


def _server_user() -> tuple[int, int] | None:
    """(uid, gid) to run the server as: None when not root (runs as the current user)."""
    if os.geteuid() != 0:
        return None
    import pwd

    for name in ("keen-test", "nobody"):
        with contextlib.suppress(KeyError):
            entry = pwd.getpwnam(name)
            return entry.pw_uid, entry.pw_gid
    subprocess.run(
        ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", "keen-test"],
        check=True,
        capture_output=True,
    )
    entry = pwd.getpwnam("keen-test")
    return entry.pw_uid, entry.pw_gid


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class PgServer:
    """A running throw-away server."""

    bin: Path
    base: Path
    port: int
    user: tuple[int, int] | None

    @property
    def data(self) -> Path:
        return self.base / "data"

    @property
    def socket_dir(self) -> Path:
        return self.base / "sock"

    def url(self, database: str = DATABASE, password: str = PASSWORD) -> str:
        """The URL keen-import is given: TCP, the test role, a password."""
        return f"postgresql://{ROLE}:{password}@127.0.0.1:{self.port}/{database}"

    def admin(self, database: str = "postgres"):
        """A superuser connection over the unix socket (trusted), autocommit."""
        import psycopg

        return psycopg.connect(
            host=str(self.socket_dir),
            port=self.port,
            user="postgres",
            dbname=database,
            autocommit=True,
        )

    def run(self, *args: str | Path, timeout: float = 60) -> subprocess.CompletedProcess:
        """Run a server binary as the server's user; raises with its output on failure."""
        extra = {}
        if self.user is not None:
            extra = {"user": self.user[0], "group": self.user[1], "extra_groups": []}
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.base),
            "LC_ALL": "C",
            "LANG": "C",
        }
        done = subprocess.run(
            [str(self.bin / str(args[0])), *map(str, args[1:])],
            cwd=self.base,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            **extra,
        )
        if done.returncode != 0:
            log = self.base / "server.log"
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise RuntimeError(
                f"{args[0]} failed ({done.returncode}): {done.stdout}{done.stderr}{tail}"
            )
        return done

    def start(self) -> None:
        self.run(
            "initdb",
            "-D",
            self.data,
            "-U",
            "postgres",
            "--auth-local=trust",
            "--auth-host=scram-sha-256",
            "--encoding=UTF8",
            "--locale=C",
            "--no-sync",
        )
        self.socket_dir.mkdir()
        if self.user is not None:
            os.chown(self.socket_dir, *self.user)
        options = " ".join(
            [
                "-c listen_addresses=127.0.0.1",
                f"-c port={self.port}",
                f"-c unix_socket_directories={self.socket_dir}",
                "-c fsync=off",
                "-c synchronous_commit=off",
                "-c full_page_writes=off",
                "-c shared_buffers=16MB",
                "-c max_connections=50",
            ]
        )
        self.run("pg_ctl", "-D", self.data, "-l", self.base / "server.log", "-o", options,
                 "-w", "-t", "30", "start")  # fmt: skip

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self.run("pg_ctl", "-D", self.data, "-m", "immediate", "-w", "stop")


@pytest.fixture(scope="session")
def pg_server():
    """A PostgreSQL server for the session, with role ``keen`` (password ``secret``) owning the
    database ``ledger``. Skips, or fails under CI / KEEN_REQUIRE_SERVICES=1, when missing."""
    try:
        import psycopg  # noqa: F401
    except ImportError:
        _unavailable("psycopg is not installed (pip install -e '.[dev]')")
    folder = find_pg_bin()
    if folder is None:
        where = os.environ.get("KEEN_PG_BIN") or "PATH nor /usr/lib/postgresql/*/bin"
        _unavailable(f"initdb/pg_ctl not found in {where}")
    user = _server_user()
    base = Path(tempfile.mkdtemp(prefix="keen-pg-"))
    if user is not None:
        os.chown(base, *user)
    server = None
    try:
        for attempt in range(3):  # a free port may be taken before the server binds it
            server = PgServer(bin=folder, base=base, port=_free_port(), user=user)
            try:
                if attempt:
                    shutil.rmtree(server.data, ignore_errors=True)
                    shutil.rmtree(server.socket_dir, ignore_errors=True)
                server.start()
                break
            except RuntimeError:
                if attempt == 2:
                    raise
        assert server is not None
        with server.admin() as conn:
            conn.execute(f"CREATE ROLE {ROLE} LOGIN PASSWORD '{PASSWORD}'")
            conn.execute(f"CREATE DATABASE {DATABASE} OWNER {ROLE}")
        yield server
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="session")
def pg_url(pg_server) -> str:
    """``postgresql://keen:secret@127.0.0.1:PORT/ledger`` (shared by the session's tests)."""
    return pg_server.url()


_numbers = itertools.count(1)


@pytest.fixture
def pg_ledger_url(pg_server):
    """The URL of a new, empty database ``ledger_<n>`` owned by ``keen``, dropped afterwards."""
    name = f"ledger_{next(_numbers)}"
    with pg_server.admin() as conn:
        conn.execute(f"CREATE DATABASE {name} OWNER {ROLE}")
    yield pg_server.url(name)
    with pg_server.admin() as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


#: Every database a ledger can live in (importer/ledger/backends.py): the tests that hold for
#: any ledger take theirs from ``any_ledger``, so a backend added here runs them all.
LEDGER_KINDS = ("postgresql", "sqlite")


@pytest.fixture(params=LEDGER_KINDS)
def any_ledger(request, tmp_path) -> str:
    """A new ledger: a PostgreSQL database or a SQLite file (its --ledger text)."""
    if request.param == "postgresql":
        return request.getfixturevalue("pg_ledger_url")
    return str(tmp_path / "shared.sqlite")
