"""Fixtures of the web app tests: an app on a temporary workspace, clients holding the token."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from importer.ui import ApiKey, UISettings, create_app
from ui.uihelpers import API_KEY, ORIGIN, PORT


@pytest.fixture
def settings(tmp_path) -> UISettings:
    return UISettings(
        workspace=tmp_path / "workspace",
        port=PORT,
        sandbox=False,
        api_url="http://127.0.0.1:9/functions/v1/keen-api",
        api_key=ApiKey(API_KEY),
        upload_limit=64 * 1024,
    )


@pytest.fixture
def app(settings):
    return create_app(settings)


@pytest.fixture
def anonymous(app) -> TestClient:
    """A client without the token."""
    return TestClient(app, base_url=ORIGIN, follow_redirects=False)


@pytest.fixture
def client(app, settings) -> TestClient:
    """A client that opened the printed address once: it holds the token cookie."""
    c = TestClient(app, base_url=ORIGIN, follow_redirects=False)
    first = c.get(f"/?token={settings.token}")
    assert first.status_code == 303
    return c


# -- the browser tests (tests/ui/test_browser*.py): one live app and one Chromium per module --


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    """The web app on a sandbox, served for real on a free port."""
    from ui.browser import start_live_ui

    ui, stop = start_live_ui(tmp_path_factory.mktemp("workspace"))
    yield ui
    stop()


@pytest.fixture(scope="module")
def axe():
    from ui.browser import AxeChecker, axe_source

    return AxeChecker(axe_source())


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    from playwright.sync_api import sync_playwright

    from ui.browser import launch_browser

    with sync_playwright() as playwright:
        context = launch_browser(playwright, tmp_path_factory.mktemp("profile"))
        yield context
        context.close()


@pytest.fixture
def page(browser, live):
    page = browser.new_page()
    page.set_default_timeout(60_000)
    page.goto(live.url)  # the printed address: the token becomes a cookie
    assert page.url == live.root + "/"
    yield page
    page.close()


# -- endpoint tests that send: an app sending to a sandbox started once per module ------------


@pytest.fixture(scope="module")
def sandbox():
    from importer.sandbox import Sandbox

    with Sandbox() as running:
        yield running


@pytest.fixture
def sandboxed(tmp_path, sandbox):
    """(client, settings, app) of a web app that sends to ``sandbox``, the token given."""
    settings = UISettings(
        workspace=tmp_path / "ws",
        port=PORT,
        sandbox=True,
        api_url=sandbox.base_url,
        api_key=ApiKey(sandbox.api_key),
        target="sandbox",
    )
    app = create_app(settings)
    client = TestClient(app, base_url=ORIGIN, follow_redirects=False)
    client.get(f"/?token={settings.token}")
    yield client, settings, app
    app.state.sessions.stop_all()
