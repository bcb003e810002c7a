"""`keen-import ui` over TLS (--certfile/--keyfile), and plain HTTP to other machines only on
purpose (--no-tls), with a warning on every page. Certificates are made by the test (trustme)
for 127.0.0.1; every connection goes to 127.0.0.1."""

from __future__ import annotations

import re
import signal
import ssl

import httpx
import pytest
from starlette.testclient import TestClient

from importer.cli import main
from importer.ui import UISettings, create_app
from importer.ui.tls import server_context
from ui.test_ui_command import start_ui
from ui.uihelpers import PORT

HTTPS_LINE = re.compile(r"^keen-import ui: https://127\.0\.0\.1:(\d+)/\?token=([\w-]{20,})$")
BANNER = (
    '<div class="error insecure-banner" role="alert" aria-label="Not encrypted">'
    "Not encrypted: started without TLS on purpose; the token and any API key typed here "
    "cross the network in clear.</div>"
)
NEEDS_TLS = (
    "error: a non-loopback address needs TLS: give --certfile and --keyfile "
    "(or --no-tls to serve plain HTTP on purpose)\n"
)
# What a stray key file might hold: it must never reach the output.
SECRET = "c2VjcmV0LWtleS1ieXRlcy1kby1ub3QtcHJpbnQ"


@pytest.fixture(scope="module")
def pem(tmp_path_factory):
    """PEM files for 127.0.0.1: cert, key, both (combined), ca, and keys that do not fit."""
    import trustme
    from cryptography.hazmat.primitives import serialization

    folder = tmp_path_factory.mktemp("pem")
    authority = trustme.CA(organization_name="keen-import test CA")
    leaf = authority.issue_cert("127.0.0.1", "localhost")
    files = {name: folder / f"{name}.pem" for name in ("cert", "key", "both", "ca", "other")}
    leaf.cert_chain_pems[0].write_to_path(str(files["cert"]))
    leaf.private_key_pem.write_to_path(str(files["key"]))
    leaf.private_key_and_cert_chain_pem.write_to_path(str(files["both"]))
    authority.cert_pem.write_to_path(str(files["ca"]))
    authority.issue_cert("elsewhere.example").private_key_pem.write_to_path(str(files["other"]))
    files["garbage"] = folder / "garbage.pem"
    files["garbage"].write_text(
        f"-----BEGIN PRIVATE KEY-----\n{SECRET}\n-----END PRIVATE KEY-----\n"
    )
    key = serialization.load_pem_private_key(leaf.private_key_pem.bytes(), None)
    files["encrypted"] = folder / "encrypted.pem"
    files["encrypted"].write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"passphrase"),
        )
    )
    return files


def trusting(pem) -> ssl.SSLContext:
    """A client context that trusts the test's CA only."""
    return ssl.create_default_context(cafile=str(pem["ca"]))


def settings_of(*options: str) -> UISettings:
    """The settings ``keen-import ui OPTIONS`` starts with."""
    from importer.cli import build_parser
    from importer.ui.server import settings_from

    return settings_from(build_parser().parse_args(["ui", "--no-browser", *options]))


def stop(process) -> tuple[str, str]:
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=20)
    assert process.returncode == 0, err
    return out, err


def test_certfile_and_keyfile_serve_https_with_secure_cookies(tmp_path, pem):
    process = start_ui(tmp_path, "--certfile", str(pem["cert"]), "--keyfile", str(pem["key"]))
    try:
        first = process.stdout.readline().rstrip("\n")
        found = HTTPS_LINE.match(first)
        assert found, first
        root = f"https://127.0.0.1:{found[1]}"
        with httpx.Client(verify=trusting(pem), trust_env=False, timeout=10) as client:
            answer = client.get(first.removeprefix("keen-import ui: "))
            assert answer.status_code == 303
            cookies = answer.headers.get_list("set-cookie")
            assert len(cookies) == 2
            assert all(c.endswith("; Path=/; HttpOnly; SameSite=Strict; Secure") for c in cookies)
            page = client.get(f"{root}/key")
            assert page.status_code == 200
            assert "Not encrypted" not in page.text
            csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)[1]
            form = {"csrf_token": csrf, "api_key": "k-1234"}
            plain_origin = {"Origin": f"http://127.0.0.1:{found[1]}"}
            assert client.post(f"{root}/key", data=form, headers=plain_origin).status_code == 403
            same_origin = client.post(f"{root}/key", data=form, headers={"Origin": root})
            assert same_origin.status_code == 303
        with pytest.raises(httpx.TransportError):
            httpx.get(f"http://127.0.0.1:{found[1]}/", trust_env=False, timeout=10)
    finally:
        out, _ = stop(process)
    assert out == ""


def test_a_certfile_holding_the_key_too_is_enough(pem):
    settings = settings_of("--certfile", str(pem["both"]))
    assert settings.scheme == "https"
    assert settings.url.startswith("https://127.0.0.1:0/?token=")


def test_tls_is_1_2_at_least(pem):
    context = server_context(str(pem["cert"]), str(pem["key"]))
    assert context.minimum_version == ssl.TLSVersion.TLSv1_2


def test_no_tls_serves_plain_http_and_every_page_warns(tmp_path):
    process = start_ui(tmp_path, "--host", "0.0.0.0", "--allow-remote", "--no-tls")
    try:
        first = process.stdout.readline().rstrip("\n")
        # Listening on every address, it prints this machine's address (localhost offline).
        found = re.match(r"^keen-import ui: http://([\w.-]+):(\d+)/\?token=([\w-]{20,})$", first)
        assert found, first
        assert found[1] != "0.0.0.0"
        port, token = found[2], found[3]
        # Connect to 127.0.0.1, naming the printed address as the Host a browser would send.
        host = {"Host": f"{found[1]}:{port}"}
        with httpx.Client(headers=host, trust_env=False, timeout=10) as client:
            root = f"http://127.0.0.1:{port}"
            assert client.get(f"{root}/?token={token}").status_code == 303
            for path in ("/", "/history", "/key"):
                page = client.get(root + path)
                assert page.status_code == 200
                assert BANNER in page.text, path
    finally:
        stop(process)


@pytest.mark.parametrize(
    ("host", "tls", "warns"),
    [
        pytest.param("0.0.0.0", False, True, id="remote-plain"),
        pytest.param("0.0.0.0", True, False, id="remote-tls"),
        pytest.param("127.0.0.1", False, False, id="loopback-plain"),
        pytest.param("127.0.0.1", True, False, id="loopback-tls"),
    ],
)
def test_the_warning_shows_only_for_plain_http_to_other_machines(tmp_path, pem, host, tls, warns):
    context = server_context(str(pem["cert"]), str(pem["key"])) if tls else None
    settings = UISettings(workspace=tmp_path / "ws", host=host, port=PORT, tls=context)
    base = f"{settings.scheme}://{host}:{PORT}"
    with TestClient(create_app(settings), base_url=base, follow_redirects=False) as client:
        client.get(f"/?token={settings.token}")
        for path in ("/", "/history", "/key"):
            assert (BANNER in client.get(path).text) is warns, path


def test_a_remote_host_without_a_certificate_needs_no_tls(capsys):
    assert main(["ui", "--no-browser", "--host", "0.0.0.0", "--allow-remote"]) == 2
    assert capsys.readouterr().err == NEEDS_TLS


def test_loopback_needs_no_certificate():
    settings = settings_of()
    assert (settings.tls, settings.scheme, settings.in_clear_over_network) == (None, "http", False)


def test_no_tls_and_certfile_exclude_each_other(pem, capsys):
    with pytest.raises(SystemExit) as stopped:
        main(["ui", "--no-browser", "--certfile", str(pem["cert"]), "--no-tls"])
    assert stopped.value.code == 2
    last = capsys.readouterr().err.splitlines()[-1]
    assert last == "keen-import ui: error: argument --no-tls: not allowed with argument --certfile"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        pytest.param(
            ["--certfile", "{cert}"],
            "--certfile {cert} holds no private key: give --keyfile too",
            id="cert-without-key",
        ),
        pytest.param(
            ["--keyfile", "{key}"],
            "--keyfile needs --certfile (the certificate of that key)",
            id="key-without-cert",
        ),
        pytest.param(
            ["--certfile", "{missing}", "--keyfile", "{key}"],
            "cannot read --certfile {missing}: No such file or directory",
            id="missing-cert",
        ),
        pytest.param(
            ["--certfile", "{cert}", "--keyfile", "{missing}"],
            "cannot read --keyfile {missing}: No such file or directory",
            id="missing-key",
        ),
        pytest.param(
            ["--certfile", "{key}", "--keyfile", "{key}"],
            "--certfile {key} holds no PEM certificate",
            id="key-as-cert",
        ),
        pytest.param(
            ["--certfile", "{cert}", "--keyfile", "{cert}"],
            "--keyfile {cert} holds no PEM private key",
            id="cert-as-key",
        ),
        pytest.param(
            ["--certfile", "{cert}", "--keyfile", "{other}"],
            "the private key in {other} does not belong to the certificate in {cert}",
            id="key-of-another-certificate",
        ),
        pytest.param(
            ["--certfile", "{cert}", "--keyfile", "{garbage}"],
            "cannot use --certfile {cert} and --keyfile {garbage}: "
            "not a valid PEM certificate and private key",
            id="garbage-key",
        ),
        pytest.param(
            ["--certfile", "{cert}", "--keyfile", "{encrypted}"],
            "the private key in {encrypted} is protected by a passphrase: "
            "give a key file without one (readable by you alone)",
            id="key-with-passphrase",
        ),
    ],
)
def test_unusable_certificate_or_key_is_one_line_and_exit_2(
    tmp_path, pem, capsys, options, message
):
    names = {name: str(path) for name, path in pem.items()}
    names["missing"] = str(tmp_path / "missing.pem")
    command = ["ui", "--no-browser", "--workspace", str(tmp_path / "ws")]
    assert main([*command, *(option.format(**names) for option in options)]) == 2
    assert capsys.readouterr() == ("", f"error: {message.format(**names)}\n")


def test_a_bad_key_stops_the_real_command_without_traceback_or_key_bytes(tmp_path, pem):
    process = start_ui(tmp_path, "--certfile", str(pem["cert"]), "--keyfile", str(pem["garbage"]))
    out, err = process.communicate(timeout=30)
    assert (process.returncode, out) == (2, "")
    assert err == (
        f"error: cannot use --certfile {pem['cert']} and --keyfile {pem['garbage']}: "
        "not a valid PEM certificate and private key\n"
    )
    assert "Traceback" not in err and SECRET not in err
