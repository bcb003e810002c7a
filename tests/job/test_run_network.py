"""`keen-import run` behind a company proxy: CONNECT with credentials, a TLS-inspecting proxy whose
root certificate comes from a CA made by the test, and the failures a new user meets first.

The proxy (:class:`nethelpers.ForwardProxy`) inspects TLS like a company proxy: the client's
https connection ends at the proxy, which shows a certificate from the test's private CA and
passes the requests on to the sandbox. The command runs in-process (uvloop, as users run it).
"""

from __future__ import annotations

import json
import time

import pytest
from nethelpers import ForwardProxy, PrivateCA, closed_port
from runhelpers import assert_no_key, read_csv, results_by_row, statuses, write_rows

from importer import open_import
from importer.cli import main
from importer.sandbox import DEMO_API_KEY, Sandbox

PASSWORD = "Winter-2026:pa$$@word"
QUOTED = "Winter-2026%3Apa%24%24%40word"
PROXY_ENV = ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "NO_PROXY")


@pytest.fixture(scope="module")
def ca():
    return PrivateCA()


@pytest.fixture
def run_cli(capsys, monkeypatch):
    """``keen-import run ARGS`` in-process: (exit code, stderr, seconds)."""
    for name in PROXY_ENV:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    monkeypatch.setenv("KEEN_API_KEY", DEMO_API_KEY)

    def run(*args) -> tuple[int, str, float]:
        started = time.monotonic()
        code = main(["run", *map(str, args), "--yes"])
        out, err = capsys.readouterr()
        assert "Traceback" not in err and out == ""
        return code, err, time.monotonic() - started

    return run


def https_url(sb: Sandbox) -> str:
    return sb.base_url.replace("http://", "https://")


def assert_no_secret(directory, *texts: str) -> None:
    for secret in (PASSWORD, QUOTED):
        for path in directory.rglob("*"):
            if path.is_file():
                assert secret.encode() not in path.read_bytes(), f"proxy password in {path.name}"
        for text in texts:
            assert secret not in text
    assert_no_key(directory, DEMO_API_KEY, *texts)


def test_run_through_an_inspecting_proxy_with_credentials_and_a_company_ca(
    tmp_path, sb, ca, run_cli
):
    source = write_rows(tmp_path / "march.csv", 6)
    bundle = ca.write_bundle(tmp_path / "company-root.pem")
    with ForwardProxy(credentials=("finance", PASSWORD), inspect=ca.server_context()) as proxy:
        proxy_url = proxy.url_with("finance", QUOTED)
        code, err, _ = run_cli(source, "--api-url", https_url(sb), "--proxy", proxy_url,
                               "--ca-bundle", bundle)  # fmt: skip
    assert code == 0, err
    assert statuses(results_by_row(tmp_path / "march.results.csv")) == {"created": 6}
    assert len(sb.purchases()) == 6
    assert proxy.forwarded >= 6 + 1  # the preflight's reads, then one create per row
    assert all(h.startswith(b"CONNECT ") for h in proxy.heads if b"Proxy-Authorization" in h)
    manifest = json.loads((tmp_path / "march.manifest.json").read_text())
    assert manifest["options"]["proxy"] == f"http://finance:***@127.0.0.1:{proxy.port}"
    assert manifest["options"]["proxy_from"] == "--proxy"
    assert manifest["options"]["trust"] == f"system trust store + {bundle}"
    assert_no_secret(tmp_path, err)
    assert err.startswith(
        "note: the proxy password typed after --proxy stays in your shell's history and shows "
        "in the process list; HTTPS_PROXY or a mapping file's proxy option keeps it out\n"
    )


def test_company_certificate_not_trusted_stops_at_once_nothing_sent(tmp_path, sb, ca, run_cli):
    source = write_rows(tmp_path / "march.csv", 20)
    with ForwardProxy(credentials=("finance", PASSWORD), inspect=ca.server_context()) as proxy:
        proxy_url = proxy.url_with("finance", QUOTED)
        code, err, seconds = run_cli(source, "--api-url", https_url(sb), "--proxy", proxy_url)
    assert code == 2
    assert err.splitlines()[-2:] == [
        "error: the certificate of 127.0.0.1 could not be verified: unable to get local issuer "
        f"certificate (reached through the proxy 127.0.0.1:{proxy.port} from --proxy)",
        "hint: nothing was sent. If your company inspects HTTPS with its own root certificate, "
        "give that certificate with --ca-bundle FILE (PEM); check the proxy settings too "
        "(--proxy, HTTPS_PROXY, NO_PROXY)",
    ]
    assert seconds < 10  # not retried until the 10-minute outage limit
    assert sb.purchases() == [] and proxy.forwarded == 0
    assert len(proxy.heads) == 1  # one CONNECT, one failed handshake, no retry
    assert_no_secret(tmp_path, err)


def test_proxy_wanting_credentials_is_exit_2(tmp_path, sb, run_cli):
    source = write_rows(tmp_path / "march.csv", 3)
    with ForwardProxy(credentials=("finance", PASSWORD)) as proxy:
        code, err, _ = run_cli(source, "--api-url", https_url(sb), "--proxy", proxy.url)
    assert code == 2
    assert err.splitlines()[-2:] == [
        f"error: the proxy 127.0.0.1:{proxy.port} (from --proxy) wants credentials: "
        "407 Proxy Authentication Required",
        "hint: nothing was sent. Put the proxy credentials in its URL: "
        f"http://USER:PASSWORD@127.0.0.1:{proxy.port} (in --proxy)",
    ]
    assert sb.purchases() == []
    assert "note: the proxy password" not in err  # none was typed


def test_proxy_refusing_the_credentials_given_points_at_them(tmp_path, sb, run_cli):
    source = write_rows(tmp_path / "march.csv", 3)
    with ForwardProxy(credentials=("finance", PASSWORD)) as proxy:
        wrong = proxy.url_with("finance", "not-the-password")
        code, err, _ = run_cli(source, "--api-url", https_url(sb), "--proxy", wrong)
    assert code == 2
    assert err.splitlines()[-2:] == [
        f"error: the proxy 127.0.0.1:{proxy.port} (from --proxy) refused the credentials of user "
        "'finance': 407 Proxy Authentication Required",
        "hint: nothing was sent. Check the user name and password in --proxy; in the URL, write "
        "@ : % / as %40 %3A %25 %2F; a Windows domain user is DOMAIN%5Cuser",
    ]
    assert sb.purchases() == []
    assert "not-the-password" not in err


def test_unreachable_proxy_from_the_environment(tmp_path, sb, run_cli, monkeypatch):
    source = write_rows(tmp_path / "march.csv", 3)
    port = closed_port()
    monkeypatch.setenv("HTTPS_PROXY", f"http://finance:{QUOTED}@127.0.0.1:{port}")
    code, err, _ = run_cli(source, "--api-url", https_url(sb))
    assert code == 2
    assert err.splitlines()[-2].startswith(
        f"error: cannot reach the proxy 127.0.0.1:{port} (from HTTPS_PROXY): "
    )
    assert sb.purchases() == []
    assert_no_secret(tmp_path, err)


def test_mapping_file_options_and_no_proxy(tmp_path, sb, ca, run_cli, monkeypatch):
    work, config = tmp_path / "work", tmp_path / "config"  # the mapping file holds the password
    work.mkdir()
    config.mkdir()
    source = write_rows(work / "march.csv", 2)
    ca.write_bundle(config / "root.pem")
    with ForwardProxy(credentials=("finance", PASSWORD), inspect=ca.server_context()) as proxy:
        mapping = config / "mapping.toml"
        mapping.write_text(
            f'[options]\nproxy = "{proxy.url_with("finance", QUOTED)}"\nca_bundle = "root.pem"\n'
        )
        code, err, _ = run_cli(source, "--api-url", https_url(sb), "--mapping", mapping)
        assert code == 0, err
        assert proxy.forwarded > 0
        # The environment's proxy is dead, but NO_PROXY sends plain http to the sandbox directly.
        monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{closed_port()}")
        monkeypatch.setenv("NO_PROXY", "127.0.0.1")
        again = write_rows(work / "april.csv", 4)  # the 2 of march.csv and 2 new ones
        code, err_again, _ = run_cli(again, "--api-url", sb.base_url)
    # http:// is another spelling of the same Keen: march's 2 are held, not created again.
    assert code == 1, err_again
    assert [r["status"] for r in read_csv(work / "april.results.csv")] == [
        "not_sent", "not_sent", "created", "created"
    ]  # fmt: skip
    assert len(sb.purchases()) == 4
    manifest = json.loads((work / "march.manifest.json").read_text())
    assert manifest["options"]["proxy_from"] == "the mapping file's proxy option"
    assert manifest["options"]["trust"] == f"system trust store + {config / 'root.pem'}"
    assert_no_secret(work, err, err_again)


def test_job_api_takes_proxy_and_ca_bundle(tmp_path, sb, ca, monkeypatch):
    for name in PROXY_ENV:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    source = write_rows(tmp_path / "march.csv", 3)
    bundle = ca.write_bundle(tmp_path / "company-root.pem")
    with ForwardProxy(credentials=("finance", PASSWORD), inspect=ca.server_context()) as proxy:
        job = open_import(source)
        job.plan(
            api_url=https_url(sb),
            api_key=DEMO_API_KEY,
            proxy=proxy.url_with("finance", QUOTED),
            ca_bundle=bundle,
        )
        report = job.send()
    assert report.exit_code == 0
    assert len(sb.purchases()) == 3 and proxy.forwarded >= 3
    assert_no_secret(tmp_path)


def test_sandbox_never_goes_through_the_environment_proxy(tmp_path, run_cli, monkeypatch):
    source = write_rows(tmp_path / "march.csv", 2)
    dead = f"http://finance:{QUOTED}@127.0.0.1:{closed_port()}"
    monkeypatch.setenv("HTTP_PROXY", dead)
    monkeypatch.setenv("ALL_PROXY", dead)
    code, err, _ = run_cli(source, "--sandbox")
    assert code == 0, err
    assert statuses(results_by_row(tmp_path / "march.results.csv")) == {"created": 2}
    assert_no_secret(tmp_path, err)
