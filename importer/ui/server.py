"""`keen-import ui`: bind, print the address, open the browser, serve until Ctrl+C."""

from __future__ import annotations

import argparse
import os
import sys
import threading
import webbrowser
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING

from importer.errors import ConfigurationError
from importer.ui.settings import ApiKey, UISettings

if TYPE_CHECKING:
    import uvicorn

    from importer.ui.app import UIApp

DEFAULT_WORKSPACE = "~/keen-import"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``keen-import ui``."""
    parser.add_argument(
        "--workspace",
        default=DEFAULT_WORKSPACE,
        metavar="DIR",
        help=f"folder for uploads, results and mappings (default {DEFAULT_WORKSPACE})",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port (default 0: any free port)")
    parser.add_argument("--no-browser", action="store_true", help="do not open a browser")
    target = parser.add_mutually_exclusive_group()
    target.add_argument(
        "--sandbox",
        action="store_true",
        help="send to the embedded sandbox (default when no key and no --api-url)",
    )
    target.add_argument("--api-url", default=None, help="Keen API endpoint")
    parser.add_argument(
        "--api-key-file", metavar="FILE", help="read the API key from this file ($KEEN_API_KEY)"
    )
    from importer.ledger_cli import add_ledger_option

    add_ledger_option(parser)
    parser.add_argument(
        "--allow-remote",
        action="store_true",
        help="allow --host to be an address other machines can reach (still token-protected)",
    )
    tls = parser.add_mutually_exclusive_group()
    tls.add_argument(
        "--certfile",
        metavar="FILE",
        help="serve HTTPS with this PEM certificate (needed for a non-loopback --host)",
    )
    tls.add_argument(
        "--no-tls",
        action="store_true",
        help="serve a non-loopback --host over plain HTTP on purpose (every page warns)",
    )
    parser.add_argument(
        "--keyfile",
        metavar="FILE",
        help="the certificate's PEM private key (not needed when --certfile holds it)",
    )


def settings_from(args: argparse.Namespace) -> UISettings:
    """Settings from the command line; refuses a remote address without --allow-remote, and
    one without TLS unless --no-tls (importer.ui.tls)."""
    from importer.ledger.location import is_loopback_host
    from importer.send.credentials import DEFAULT_API_URL, read_api_key
    from importer.ui.tls import server_tls

    if not is_loopback_host(args.host) and not args.allow_remote:
        raise ConfigurationError(
            f"--host {args.host} can be reached from other machines",
            hint="add --allow-remote if you mean it (the token still protects every page)",
        )
    tls = server_tls(args.host, args.certfile, args.keyfile, no_tls=args.no_tls)
    key = None
    if args.api_key_file or os.environ.get("KEEN_API_KEY", "").strip():
        key = read_api_key(args.api_key_file)
    sandbox = args.sandbox or (key is None and args.api_url is None)
    # The URL is checked (https, or loopback) by job.plan before anything is sent, and the page
    # shows the refusal; checking it here would load the sending stack (10 MB) before it is used.
    api_url = None if sandbox else (args.api_url or DEFAULT_API_URL)
    return UISettings(
        workspace=Path(args.workspace).expanduser(),
        host=args.host,
        port=args.port,
        sandbox=sandbox,
        api_url=api_url,
        api_key=ApiKey(None if sandbox else key),
        ledger=args.ledger,
        allow_remote=args.allow_remote,
        tls=tls,
    )


def cmd_ui(args: argparse.Namespace) -> int:
    """Run the web app until Ctrl+C; sends in flight finish first (as in ``run``)."""
    from importer.ui.memory import limit_malloc_arenas

    limit_malloc_arenas()
    import uvicorn

    from importer.sandbox.sockets import bind_socket
    from importer.ui.app import create_app

    settings = settings_from(args)
    with ExitStack() as stack:
        if settings.sandbox:
            from importer.sandbox import Sandbox

            sandbox = stack.enter_context(Sandbox())
            settings.api_url, settings.target = sandbox.base_url, "sandbox"
            settings.api_key.set(sandbox.api_key)
        try:
            sock = bind_socket(settings.host, settings.port)
        except OSError as exc:
            raise ConfigurationError(
                f"cannot listen on {settings.host}:{settings.port}: {exc.strerror}"
            ) from None
        settings.port = sock.getsockname()[1]
        app = create_app(settings)
        print(f"keen-import ui: {settings.url}", flush=True)
        if settings.sandbox:
            print("sending to the embedded sandbox (nothing reaches Keen)", file=sys.stderr)
        if not args.no_browser:
            threading.Thread(target=webbrowser.open, args=(settings.url,), daemon=True).start()
        server = uvicorn.Server(_server_config(app, settings))
        try:
            server.run(sockets=[sock])
        except KeyboardInterrupt:
            pass  # uvicorn re-raises the Ctrl+C it handled: stopping is the normal way out
        finally:
            if app.state.sessions.running():
                print("finishing requests in flight, then writing results...", file=sys.stderr)
            app.state.sessions.stop_all()
    return 0


def _server_config(app: UIApp, settings: UISettings) -> uvicorn.Config:
    """uvicorn's configuration of the ui server, with its TLS context when it has one."""
    import uvicorn

    config = uvicorn.Config(
        app,
        # The standard event loop: uvloop would add ~5 MB to the server's memory for no gain
        # a single local user notices.
        loop="asyncio",
        lifespan="off",
        access_log=False,
        log_level="warning",
        # An open progress stream must not hold the shutdown: sends are stopped afterwards.
        timeout_graceful_shutdown=2,
    )
    if settings.tls is not None:
        # uvicorn takes certificate files, not a context, before 0.47 (ssl_context_factory):
        # our own context (TLS 1.2 at least, checked before the address is printed) replaces
        # the one load() would build. run() does not load a loaded config again.
        config.load()
        config.ssl = settings.tls
    return config
