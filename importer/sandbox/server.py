"""Run the sandbox: in the foreground (CLI), in a background thread, or in a subprocess.

    with Sandbox() as sb:                      # uvicorn in a thread of this process
        httpx.post(sb.base_url, headers={"X-Api-Key": sb.api_key}, json={...})
        sb.set_faults(Faults(p_commit_then_drop=0.5, seed=1))
        sb.purchases()

    with Sandbox(process=True) as sb:          # uvicorn in a child process (benchmarks)
        ...

The listening socket is bound here, before uvicorn starts, so ``port=0`` gets a free port with
no race, and a child process inherits the very same socket. Control (faults, revoked keys,
purchases, stats) goes over the loopback admin endpoints ``/__sandbox/...`` in both modes.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import importlib.util
import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from importer.sandbox.app import API_PATHS, SandboxState, build_app
from importer.sandbox.faults import Faults
from importer.sandbox.sockets import bind_socket
from importer.sandbox.store import open_store
from importer.sandbox.world import load_world

# httptools + uvloop when installed (both are our own dependencies); h11 + asyncio otherwise.
# Dropping a connection works with both protocols (tests cover the one installed).
HTTP_PROTOCOL = "httptools" if importlib.util.find_spec("httptools") else "h11"
EVENT_LOOP = "uvloop" if importlib.util.find_spec("uvloop") else "asyncio"
_START_TIMEOUT = 20.0
_CHILD_CODE = "from importer.sandbox.server import run_child; run_child()"


def make_server(
    *, world: str | Path | None, db: str | Path | None, faults: Faults | None
) -> uvicorn.Server:
    """A configured uvicorn server around a fresh sandbox app (not started)."""
    state = SandboxState(load_world(world), open_store(db), faults)
    config = uvicorn.Config(
        build_app(state),
        http=HTTP_PROTOCOL,
        loop=EVENT_LOOP,
        lifespan="off",
        access_log=False,
        # The admin endpoints trust only the socket's own loopback peer, never a forwarded
        # header; and no Server/Date headers: less work per answer.
        proxy_headers=False,
        server_header=False,
        date_header=False,
        log_level="warning",
        timeout_graceful_shutdown=1,
        backlog=2048,
    )
    return uvicorn.Server(config)


def _url_host(host: str) -> str:
    if host in ("0.0.0.0", ""):
        return "127.0.0.1"
    return f"[{host}]" if ":" in host else host


class Sandbox:
    """A running local Keen emulator; use it as a context manager.

    world, db: paths, or None for the default world and an in-memory database. With a db file,
    a new Sandbox on the same file keeps every purchase of the previous one.
    process: False runs uvicorn in a background thread; True in a child process, so that a
        benchmark client and the server do not share one GIL.
    """

    def __init__(
        self,
        world: str | Path | None = None,
        db: str | Path | None = None,
        faults: Faults | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        process: bool = False,
    ) -> None:
        self.world_path = Path(world) if world is not None else None
        self.db = db
        self.faults = faults or Faults()
        self.host = host
        self.port = port
        self.process = process
        self.api_key = load_world(world).demo_api_key
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._child: subprocess.Popen | None = None
        self._admin: httpx.Client | None = None

    @property
    def root_url(self) -> str:
        return f"http://{_url_host(self.host)}:{self.port}"

    @property
    def base_url(self) -> str:
        """URL of the current Keen base path, e.g. http://127.0.0.1:8787/functions/v1/keen-api."""
        return self.root_url + API_PATHS[0]

    @property
    def legacy_base_url(self) -> str:
        """URL of the older base path (``/functions/v1/openapi-operations``)."""
        return self.root_url + API_PATHS[1]

    # --- lifecycle ---------------------------------------------------------------------------

    def start(self) -> Sandbox:
        sock = bind_socket(self.host, self.port)
        self.port = sock.getsockname()[1]
        try:
            if self.process:
                self._start_child(sock)
            else:
                self._start_thread(sock)
            self._admin = httpx.Client(base_url=self.root_url, timeout=10.0, trust_env=False)
            self._wait_ready()
        except BaseException:
            self.stop()
            sock.close()
            raise
        finally:
            if self.process:
                sock.close()  # the child holds its own copy
        return self

    def _start_thread(self, sock: socket.socket) -> None:
        self._server = make_server(world=self.world_path, db=self.db, faults=self.faults)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, name="keen-sandbox", daemon=True
        )
        self._thread.start()

    def _start_child(self, sock: socket.socket) -> None:
        args = [sys.executable, "-c", _CHILD_CODE, "--fd", str(sock.fileno())]
        if self.world_path is not None:
            args += ["--world", str(self.world_path)]
        if self.db is not None:
            args += ["--db", str(self.db)]
        args += ["--faults", json.dumps(self.faults.to_dict())]
        env = dict(os.environ)
        package_root = str(Path(__file__).resolve().parents[2])
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [package_root, env.get("PYTHONPATH")]))
        self._child = subprocess.Popen(
            args,
            pass_fds=(sock.fileno(),),
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            env=env,
        )

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + _START_TIMEOUT
        while True:
            if self._child is not None and self._child.poll() is not None:
                raise RuntimeError(f"sandbox process exited with code {self._child.returncode}")
            if self._thread is not None and not self._thread.is_alive():
                raise RuntimeError("sandbox server thread stopped during start-up")
            try:
                if self._admin.get("/__sandbox/health").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("sandbox did not start within 20 seconds")
            time.sleep(0.02)

    def stop(self) -> None:
        """Stop the server and wait for it; safe to call twice."""
        if self._admin is not None:
            self._admin.close()
            self._admin = None
        if self._server is not None:
            server, self._server = self._server, None
            server.should_exit = True
            if self._thread is not None:
                self._thread.join(timeout=10)
                self._thread = None
            server.config.app.state.store.close()
        if self._child is not None:
            child, self._child = self._child, None
            with contextlib.suppress(OSError):
                child.stdin.close()  # the child stops when its stdin closes
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # --- control -----------------------------------------------------------------------------

    def _call(self, method: str, name: str, body: dict[str, Any] | None = None) -> Any:
        if self._admin is None:
            raise RuntimeError("the sandbox is not running")
        response = self._admin.request(method, f"/__sandbox/{name}", json=body)
        if response.status_code != 200:
            raise RuntimeError(f"sandbox admin {name}: {response.status_code} {response.text}")
        return response.json()

    def set_faults(self, faults: Faults) -> None:
        """Replace the fault settings from now on (the random stream restarts from the seed)."""
        self._call("POST", "faults", faults.to_dict())
        self.faults = faults

    def revoke_key(self, key: str | None = None) -> None:
        """Make ``key`` (default: the demo key) answer 401 "Invalid API key" from now on."""
        self._call("POST", "revoke", {"key": key or self.api_key})

    def purchases(self) -> list[dict[str, Any]]:
        """Every stored purchase in creation order, each with its ``rewards``."""
        return self._call("GET", "purchases")

    def stats(self) -> dict[str, Any]:
        """Counters: requests, create_calls, rate_limited, purchases, events, rewards, faults."""
        return self._call("GET", "stats")


def serve_forever(
    *,
    world: str | Path | None,
    db: str | Path | None,
    faults: Faults | None,
    host: str,
    port: int,
    announce=print,
) -> None:
    """Run the sandbox in the foreground until Ctrl+C (the ``keen-import sandbox`` command)."""
    server = make_server(world=world, db=db, faults=faults)
    sock = bind_socket(host, port)
    url = f"http://{_url_host(host)}:{sock.getsockname()[1]}{API_PATHS[0]}"
    api_key = server.config.app.state.world.demo_api_key
    announce(f"Keen sandbox listening on {url}")
    announce(f"Demo API key: {api_key}")
    announce("Press Ctrl+C to stop.")
    gc.freeze()  # the app, world and libraries live as long as the process: skip them in GC passes
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
        server.config.app.state.store.close()


def run_child(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="sandbox child process (used by Sandbox)")
    parser.add_argument("--fd", type=int, required=True)
    parser.add_argument("--world")
    parser.add_argument("--db")
    parser.add_argument("--faults", default="{}")
    args = parser.parse_args(argv)
    faults = Faults.from_dict(json.loads(args.faults))
    server = make_server(world=args.world, db=args.db, faults=faults)
    sock = socket.socket(fileno=args.fd)

    def watch_parent() -> None:
        sys.stdin.buffer.read()  # returns at EOF: the parent stopped us or died
        server.should_exit = True

    threading.Thread(target=watch_parent, daemon=True).start()
    gc.freeze()  # the app, world and libraries live as long as the process: skip them in GC passes
    try:
        server.run(sockets=[sock])
    finally:
        server.config.app.state.store.close()
