"""Each security rule of the local server, tested at the endpoint."""

from __future__ import annotations

import re
import socket

import pytest
from starlette.testclient import TestClient

from importer.ui.settings import UISettings
from ui.uihelpers import (
    API_KEY,
    ORIGIN,
    PORT,
    SAMPLE,
    check_file,
    csrf_of,
    import_id_of,
    post,
    upload,
)

PATHS = [
    "/",
    "/history",
    "/key",
    "/static/style.css",
    "/static/app.js",
    "/no/such/page",
    "/imports/20260101-000000-abcdef/files/results",
]


@pytest.mark.parametrize("path", PATHS)
def test_every_path_needs_the_token(anonymous, path):
    answer = anonymous.get(path)
    assert answer.status_code == 403
    assert answer.text == "missing or wrong token: open the address keen-import ui printed\n"


def test_wrong_token_is_refused(anonymous):
    assert anonymous.get("/?token=nope").status_code == 403
    assert anonymous.get("/", headers={"Authorization": "Bearer nope"}).status_code == 403
    assert anonymous.get("/", cookies={f"keen_import_token_{PORT}": "nope"}).status_code == 403


def test_token_in_url_becomes_an_httponly_strict_cookie(anonymous, settings):
    answer = anonymous.get(f"/history?token={settings.token}&x=1")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/history?x=1"  # the token leaves the address bar
    session_cookie, token_cookie = sorted(answer.headers.get_list("set-cookie"))
    assert token_cookie == (
        f"keen_import_token_{PORT}={settings.token}; Path=/; HttpOnly; SameSite=Strict"
    )
    assert re.fullmatch(
        rf"keen_import_session_{PORT}=[\w-]{{32}}; Path=/; HttpOnly; SameSite=Strict",
        session_cookie,
    )
    assert anonymous.get("/history").status_code == 200


def test_bearer_header_is_accepted(anonymous, settings):
    answer = anonymous.get("/history", headers={"Authorization": f"Bearer {settings.token}"})
    assert answer.status_code == 200


@pytest.mark.parametrize(
    "host",
    ["evil.example:8765", "127.0.0.1:8766", "127.0.0.1", "localhost", "attacker.localhost:8765"],
)
def test_foreign_host_header_is_refused_even_with_the_token(client, settings, host):
    answer = client.get("/", headers={"Host": host, "Authorization": f"Bearer {settings.token}"})
    assert answer.status_code == 400
    assert answer.text == "unknown Host: open the address keen-import ui printed\n"


def test_localhost_with_the_port_is_accepted(client):
    assert client.get("/", headers={"Host": f"localhost:{PORT}"}).status_code == 200


@pytest.mark.parametrize(
    ("bound", "host", "accepted"),
    [
        ("0.0.0.0", "192.168.1.20:8765", True),  # every address: a colleague types the IP
        ("0.0.0.0", "[fe80::1]:8765", True),
        ("::", "10.0.0.7:8765", True),
        ("0.0.0.0", "0.0.0.0:8765", True),
        ("0.0.0.0", f"{socket.gethostname()}:8765", True),  # this machine's own name
        ("0.0.0.0", "evil.example:8765", False),  # a name: could be DNS rebinding
        ("0.0.0.0", "192.168.1.20:8766", False),  # another port
        ("0.0.0.0", "192.168.1.20", False),
        ("0.0.0.0", "fe80::1:8765", False),  # an IPv6 Host is bracketed
        ("127.0.0.1", "192.168.1.20:8765", False),  # bound to one address: only that one
        ("192.168.1.20", "192.168.1.20:8765", True),
        ("192.168.1.20", "10.0.0.7:8765", False),
    ],
)
def test_listening_on_every_address_accepts_ip_hosts_and_this_machines_name(
    tmp_path, bound, host, accepted
):
    settings = UISettings(workspace=tmp_path, host=bound, port=8765)
    assert settings.accepts_host(host) is accepted


def test_listening_on_every_address_prints_a_reachable_address(tmp_path):
    settings = UISettings(workspace=tmp_path, host="0.0.0.0", port=8765)
    printed = re.match(r"^http://([^/]+)/\?token=", settings.url)
    assert printed and not printed[1].startswith("0.0.0.0")
    assert settings.accepts_host(printed[1])


def test_post_needs_same_origin(client, settings):
    for headers in ({"Origin": "http://evil.example"}, {"Sec-Fetch-Site": "cross-site"}, {}):
        answer = client.post(
            "/key", data={"csrf_token": csrf_of(client, settings), "api_key": "x"}, headers=headers
        )
        assert answer.status_code == 403, headers
        assert "did not come from this app" in answer.text
    assert settings.api_key.reveal() == API_KEY  # nothing changed


def test_sec_fetch_site_same_origin_is_enough_without_origin(client, settings):
    answer = client.post(
        "/key",
        data={"csrf_token": csrf_of(client, settings), "api_key": "k-1234"},
        headers={"Sec-Fetch-Site": "same-origin"},
    )
    assert answer.status_code == 303
    assert settings.api_key.reveal() == "k-1234"


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
def test_state_changes_need_the_csrf_token(client, settings, method):
    answer = client.request(method, "/key", data={"api_key": "x"}, headers={"Origin": ORIGIN})
    assert answer.status_code == 403
    assert answer.text == "refused: missing or wrong CSRF token; reload the page\n"
    wrong = client.request(method, "/key", data={"csrf_token": "nope"}, headers={"Origin": ORIGIN})
    assert wrong.status_code == 403
    assert settings.api_key.reveal() == API_KEY


def test_csrf_token_in_a_header_is_accepted(client, settings):
    answer = client.post(
        "/key",
        data={"api_key": "k-5678"},
        headers={"Origin": ORIGIN, "X-CSRF-Token": csrf_of(client, settings)},
    )
    assert answer.status_code == 303


def test_csrf_token_in_the_url_is_refused(client, settings):
    token = csrf_of(client, settings)
    answer = client.post(
        f"/key?csrf_token={token}", data={"api_key": "k-5678"}, headers={"Origin": ORIGIN}
    )
    assert answer.status_code == 403
    assert answer.text == "refused: missing or wrong CSRF token; reload the page\n"
    assert settings.api_key.reveal() == API_KEY


def test_pages_carry_the_csrf_token_as_a_hidden_field_never_in_a_url(client, settings, app):
    folder = app.state.workspace.new_import("march.csv")
    token = csrf_of(client, settings)
    for path in ("/", "/key"):
        page = client.get(path).text
        assert "csrf_token=" not in page
        assert f'<input type="hidden" name="csrf_token" value="{token}">' in page
    upload_form = re.search(r"<form [^>]*/upload[^>]*>(<input[^>]*>)", client.get("/").text)
    assert upload_form[1] == f'<input type="hidden" name="csrf_token" value="{token}">'
    assert folder.id  # (an import exists, so the history page lists it without a token)
    assert "csrf_token=" not in client.get("/history").text


def test_a_csrf_token_is_valid_only_in_its_own_browser_session(app, settings):
    first = TestClient(app, base_url=ORIGIN, follow_redirects=False)
    second = TestClient(app, base_url=ORIGIN, follow_redirects=False)
    for c in (first, second):
        assert c.get(f"/?token={settings.token}").status_code == 303
    assert csrf_of(first, settings) != csrf_of(second, settings)
    stolen = {"csrf_token": csrf_of(first, settings), "api_key": "k-0000"}
    answer = second.post("/key", data=stolen, headers={"Origin": ORIGIN})
    assert answer.status_code == 403
    assert settings.api_key.reveal() == API_KEY
    assert first.post("/key", data=stolen, headers={"Origin": ORIGIN}).status_code == 303


def test_upload_needs_the_csrf_field_first_in_the_multipart_body(client, settings, app):
    files = {"file": ("march.csv", b"Lead ID,Amount\n", "text/csv")}
    answer = client.post("/upload", files=files, headers={"Origin": ORIGIN})
    assert answer.status_code == 403
    assert answer.text == "refused: missing or wrong CSRF token; reload the page\n"
    wrong = client.post(
        "/upload", data={"csrf_token": "nope"}, files=files, headers={"Origin": ORIGIN}
    )
    assert wrong.status_code == 403
    assert app.state.workspace.all() == []
    assert post(client, settings, "/upload", files=files).status_code in (303, 400)


@pytest.mark.parametrize("path", ["/", "/history", "/static/app.js", "/nowhere"])
def test_security_headers_on_every_answer(client, anonymous, path):
    for answer in (client.get(path), anonymous.get(path), client.get(path, headers={"Host": "x"})):
        csp = answer.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in csp
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert answer.headers["x-frame-options"] == "DENY"
        assert answer.headers["referrer-policy"] == "same-origin"


def test_pages_have_no_inline_script(client):
    page = client.get("/").text
    assert '<script src="/static/app.js" defer></script>' in page
    assert page.count("<script") == 1
    assert " onclick=" not in page and " onload=" not in page


@pytest.mark.parametrize(
    "path",
    [
        "/imports/..%2F..%2Fetc/files/results",
        "/imports/20260101-000000-abcdef/files/..%2F..%2Fimport.json",
        "/imports/20260101-000000-abcdef/files/%2Fetc%2Fpasswd",
        "/imports/%2e%2e/files/upload",
        "/static/..%2F..%2Fcli.py",
        "/static/%2e%2e/settings.py",
    ],
)
def test_traversal_is_404(client, path):
    assert client.get(path).status_code == 404


def test_unknown_file_kind_is_404(client, app):
    folder = app.state.workspace.new_import("march.csv")
    folder.upload.write_text("a\n1\n")
    assert client.get(f"/imports/{folder.id}/files/upload").status_code == 200
    assert client.get(f"/imports/{folder.id}/files/import.json").status_code == 404
    assert client.get(f"/imports/{folder.id}/files/results").status_code == 404  # not yet


def test_the_review_page_shows_only_its_own_saved_message(client, settings):
    """?saved= names a message of the app, never text of the link's (content spoofing)."""
    import_id = import_id_of(upload(client, settings, SAMPLE))
    assert check_file(client, settings, import_id, {}).status_code == 303
    review = f"/imports/{import_id}/review"
    spoof = "Email your API key to help@evil.example"
    for query in (f"saved={spoof}", "saved=corrected"):  # nothing saved yet: no message either
        page = client.get(f"{review}?{query}").text
        assert "help@evil.example" not in page and "Saved the corrected file" not in page
    saved = post(client, settings, f"/imports/{import_id}/corrected")
    assert (saved.status_code, saved.headers["location"]) == (303, f"{review}?saved=corrected")
    name = "purchases_with_errors.corrected.csv"
    said = f'<p class="note" role="status">Saved the corrected file {name}.</p>'
    assert client.get(saved.headers["location"]).text.count(said) == 1
    page = client.get(f"{review}?saved={spoof}").text
    assert "help@evil.example" not in page and "Saved the corrected file" not in page


def test_upload_larger_than_the_limit_is_413_and_nothing_is_kept(client, settings, app):
    big = b"Lead ID,Amount\n" + b"x" * (settings.upload_limit + 1)
    answer = post(client, settings, "/upload", files={"file": ("big.csv", big, "text/csv")})
    assert answer.status_code == 413
    assert answer.text == f"the file is larger than the limit of {settings.upload_limit:,} bytes\n"
    assert app.state.workspace.all() == []


def test_streamed_body_over_the_limit_is_413(client, settings):
    def chunks():
        for _ in range(100):
            yield b"x" * 1024

    answer = client.post(
        "/key",
        content=chunks(),
        headers={
            "Origin": ORIGIN,
            "Content-Type": "application/x-www-form-urlencoded",
            "X-CSRF-Token": csrf_of(client, settings),
        },
    )
    assert answer.status_code == 413


def test_key_page_shows_only_the_last_four(client, settings):
    page = client.get("/key").text
    assert "A key is set, ending in …9abc." in page
    assert API_KEY not in page
    assert API_KEY[:-4] not in page


def test_every_page_names_an_inline_icon_so_no_favicon_request_is_made(client):
    for path in ("/", "/history", "/key"):
        assert '<link rel="icon" href="data:,">' in client.get(path).text
    csp = client.get("/").headers["content-security-policy"]
    assert "img-src 'self' data:" in csp  # the empty data: icon is allowed
