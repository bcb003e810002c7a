"""Browser test set-up: Debian's Chromium by path, axe-core from npm, a live UI on a sandbox.

A missing browser or axe-core fails the run under CI or with KEEN_REQUIRE_SERVICES=1 (.ci/run
sets it), never skipped there; elsewhere (a hosted Windows or macOS runner, a laptop) the tests
skip with the reason shown. Either way the message names the script that installs them; the
PostgreSQL tests follow the same rule (tests/ledger/conftest.py).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import pytest

CHROMIUM = os.environ.get("KEEN_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
AXE_VERSION = "4"
AXE_DIR = Path(os.environ.get("KEEN_AXE_DIR", Path.home() / ".cache" / "keen-import" / "axe"))
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


SETUP_HINT = "run `bash tests/ui/setup_browser.sh` to install it"


def unavailable(reason: str) -> NoReturn:
    """Fail the test where the services are required (skip elsewhere), saying how to install
    what is missing."""
    if os.environ.get("CI") or os.environ.get("KEEN_REQUIRE_SERVICES") == "1":
        pytest.fail(f"browser tests cannot run: {reason}; {SETUP_HINT}", pytrace=False)
    pytest.skip(f"browser tests skipped: {reason}; {SETUP_HINT}")


def axe_source() -> str:
    """axe.min.js from the npm registry, installed once into the cache folder."""
    script = AXE_DIR / "node_modules" / "axe-core" / "axe.min.js"
    if not script.is_file():
        npm = shutil.which("npm")
        if npm is None:
            unavailable("npm is not installed (needed to fetch axe-core)")
        AXE_DIR.mkdir(parents=True, exist_ok=True)
        done = subprocess.run(
            [npm, "install", "--no-save", "--no-audit", "--no-fund", "--prefix", str(AXE_DIR),
             f"axe-core@{AXE_VERSION}"],
            capture_output=True,
            text=True,
            timeout=300,
        )  # fmt: skip
        if done.returncode != 0 or not script.is_file():
            unavailable(f"npm could not install axe-core: {done.stderr.strip()[-300:]}")
    return script.read_text(encoding="utf-8")


def launch_browser(playwright, user_data_dir: Path):
    """Debian's Chromium, headless, with a fresh profile."""
    if not Path(CHROMIUM).exists():
        unavailable(f"{CHROMIUM} is missing (apt-get install chromium)")
    return playwright.chromium.launch_persistent_context(
        str(user_data_dir),
        executable_path=CHROMIUM,
        args=CHROMIUM_ARGS,
        headless=True,
        accept_downloads=True,
        viewport={"width": 1280, "height": 900},
    )


@dataclass
class LiveUI:
    """A running keen-import ui (uvicorn in a thread) sending to a running sandbox."""

    url: str
    root: str
    settings: object
    app: object
    sandbox: object


def start_live_ui(workspace: Path):
    """Start a sandbox and the UI on free loopback ports; returns (LiveUI, stop function)."""
    import uvicorn

    from importer.sandbox import Sandbox
    from importer.sandbox.sockets import bind_socket
    from importer.ui import ApiKey, UISettings, create_app

    sandbox = Sandbox().start()
    settings = UISettings(
        workspace=workspace,
        sandbox=True,
        api_url=sandbox.base_url,
        api_key=ApiKey(sandbox.api_key),
        target="sandbox",
    )
    sock = bind_socket("127.0.0.1", 0)
    settings.port = sock.getsockname()[1]
    app = create_app(settings)
    server = uvicorn.Server(
        uvicorn.Config(app, lifespan="off", access_log=False, log_level="warning")
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        thread.join(0.05)

    def stop() -> None:
        app.state.sessions.stop_all()
        server.should_exit = True
        thread.join(10)
        sandbox.stop()

    root = f"http://127.0.0.1:{settings.port}"
    return LiveUI(settings.url, root, settings, app, sandbox), stop


class AxeChecker:
    """Runs axe-core in each page it is given and collects serious/critical violations."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.pages: list[str] = []
        self.violations: list[str] = []

    def check(self, page, name: str) -> None:
        """Inject axe (CDP evaluation: the page's CSP stays on) and run it."""
        page.evaluate(self.source + "\n;true")
        result = page.evaluate(
            "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
            ".filter(v => v.impact === 'serious' || v.impact === 'critical')"
            ".map(v => v.id + ': ' + v.help + ' @ ' + v.nodes.map(n => n.target).join(' | '))"
        )
        self.pages.append(name)
        self.violations += [f"{name}: {v}" for v in result]


def screenshot(page, name: str) -> None:
    """Save a full-page screenshot of this step into docs/screenshots/."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
