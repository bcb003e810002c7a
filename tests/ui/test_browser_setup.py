"""A missing browser or axe-core fails the browser tests (CI or not); it never skips them."""

from __future__ import annotations

import pytest

from ui import browser


def test_missing_chromium_fails_with_the_setup_script_named(monkeypatch, tmp_path):
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.setattr(browser, "CHROMIUM", str(tmp_path / "no-chromium"))
    with pytest.raises(pytest.fail.Exception) as failed:
        browser.launch_browser(None, tmp_path / "profile")
    assert str(failed.value) == (
        f"browser tests cannot run: {tmp_path / 'no-chromium'} is missing (apt-get install "
        "chromium); run `bash tests/ui/setup_browser.sh` to install it"
    )


def test_missing_axe_and_npm_fails_with_the_setup_script_named(monkeypatch, tmp_path):
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.setattr(browser, "AXE_DIR", tmp_path / "axe")
    monkeypatch.setattr(browser.shutil, "which", lambda name: None)
    with pytest.raises(pytest.fail.Exception) as failed:
        browser.axe_source()
    assert "npm is not installed" in str(failed.value)
    assert "bash tests/ui/setup_browser.sh" in str(failed.value)
