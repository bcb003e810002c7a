"""`keen-import ui`: the first stdout line, the sandbox default, refusals, Ctrl+C."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys

import httpx
import pytest

from importer.cli import main
from ui.uihelpers import shown_token

LINE = re.compile(r"^keen-import ui: http://127\.0\.0\.1:(\d+)/\?token=([A-Za-z0-9_-]{20,})$")


def start_ui(tmp_path, *args: str, env: dict | None = None) -> subprocess.Popen:
    command = [sys.executable, "-m", "importer", "ui", "--no-browser"]
    command += ["--workspace", str(tmp_path / "ws"), *args]
    environment = {k: v for k, v in os.environ.items() if k != "KEEN_API_KEY"}
    environment.update(env or {})
    return subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environment
    )


def test_prints_the_address_first_and_serves_the_sandbox_until_ctrl_c(tmp_path):
    process = start_ui(tmp_path)
    try:
        first = process.stdout.readline().rstrip("\n")
        found = LINE.match(first)
        assert found, first
        url = first.removeprefix("keen-import ui: ")
        with httpx.Client(follow_redirects=True, trust_env=False, timeout=10) as client:
            page = client.get(url)
            assert page.status_code == 200
            assert str(page.url) == f"http://127.0.0.1:{found[1]}/"
            assert "Sandbox: nothing you send here reaches Keen" in page.text
            key = client.get(f"http://127.0.0.1:{found[1]}/key").text
            assert "A key is set, ending in" in key
        assert (tmp_path / "ws" / "imports").is_dir()
    finally:
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=20)
    assert process.returncode == 0, err
    assert out == ""  # the address is the only line on stdout


def test_remote_host_needs_allow_remote(capsys):
    assert main(["ui", "--no-browser", "--host", "0.0.0.0"]) == 2
    err = capsys.readouterr().err
    assert err == (
        "error: --host 0.0.0.0 can be reached from other machines\n"
        "hint: add --allow-remote if you mean it (the token still protects every page)\n"
    )


def test_sandbox_and_api_url_exclude_each_other(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["ui", "--sandbox", "--api-url", "https://example.com"])
    assert stop.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err


def test_key_file_and_api_url_means_no_sandbox(tmp_path):
    from importer.cli import build_parser
    from importer.ui.server import settings_from

    key_file = tmp_path / "key"
    key_file.write_text("abcd-efgh-1234\n")
    args = build_parser().parse_args(
        ["ui", "--api-key-file", str(key_file), "--api-url", "https://keen.example.com"]
    )
    settings = settings_from(args)
    assert (settings.sandbox, settings.api_url) == (False, "https://keen.example.com")
    assert settings.api_key.last_four == "1234"
    assert "abcd" not in repr(settings)


def test_ctrl_c_during_a_send_lets_it_finish_its_requests_and_write_results(tmp_path):
    import csv
    import time

    lead = "47378190-96da-4dac-b2ff-5d2a386ecbe0"
    source = tmp_path / "many.csv"
    source.write_text(
        "Lead ID,Amount,Date,Reference\n"
        + "".join(f"{lead},{1 + i % 900}.00,2026-03-02,C-{i}\n" for i in range(20000))
    )
    process = start_ui(tmp_path)
    try:
        url = process.stdout.readline().strip().removeprefix("keen-import ui: ")
        root = url.split("/?")[0]
        with httpx.Client(trust_env=False, timeout=60) as client:
            client.get(url)
            page = client.get(root + "/").text
            csrf = re.search(r'name="csrf_token" value="([^"]+)"', page)[1]
            origin = {"Origin": root}
            form = {"csrf_token": csrf}
            with source.open("rb") as handle:
                answer = client.post(
                    f"{root}/upload", data=form, files={"file": handle}, headers=origin
                )
            import_id = answer.headers["location"].split("/")[2]
            client.post(f"{root}/imports/{import_id}/columns", data=form, headers=origin)
            shown = shown_token(client.get(f"{root}/imports/{import_id}/send").text)
            client.post(
                f"{root}/imports/{import_id}/send",
                data={**form, "rows_to_send": "20000", "shown": shown},
                headers=origin,
            )
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:  # until the first rows are answered
                page = client.get(f"{root}/imports/{import_id}/progress").text
                done = re.search(r"([\d,]+) of 20,000 rows done", page)
                if done and done[1] != "0":
                    break
                time.sleep(0.1)
    finally:
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    results = next((tmp_path / "ws" / "imports" / import_id).glob("*.results.csv"))
    with results.open(newline="", encoding="utf-8-sig") as handle:
        statuses = [r["status"] for r in csv.DictReader(handle)]
    assert len(statuses) == 20000
    assert set(statuses) == {"created", "not_sent"}, set(statuses)
    assert "finishing requests in flight, then writing results..." in err
