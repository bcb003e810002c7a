"""Every request passes these checks before routing, so no page can forget one.

Host header      the bound address or localhost, with the port (DNS rebinding)  -> 400
                 (on 0.0.0.0 or ::, also an IP address or this machine's name)
token            ?token= once (then a cookie), the cookie, or a Bearer header   -> 403
state changes    POST/PUT/PATCH/DELETE: same origin and the CSRF token          -> 403
                 of this browser session (an X-CSRF-Token header or the form's first
                 field, csrf_token; never the URL)
upload size      a body larger than the limit                                   -> 413
headers          CSP without inline script, frame-ancestors 'none', nosniff,
                 same-origin referrer and no-store on every answer, refusals included

Under TLS (``--certfile``) the same origin is the https one and every cookie is ``Secure``.
"""

from __future__ import annotations

import hmac
import secrets
from http.cookies import SimpleCookie
from urllib.parse import parse_qsl, urlencode

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from importer.ui.csrf import read_form_token, session_cookie
from importer.ui.settings import UISettings

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
CSRF_HEADER = "x-csrf-token"
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; "
    "object-src 'none'"
)
SECURITY_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"cache-control", b"no-store"),
]


def cookie_name(settings: UISettings) -> str:
    """Cookies do not separate ports: each server names its own."""
    return f"keen_import_token_{settings.port}"


def _same(given: str | None, expected: str) -> bool:
    return given is not None and hmac.compare_digest(given.encode(), expected.encode())


class BodyTooLarge(Exception):
    """The request body passed the upload limit while it was being read."""


class SecurityMiddleware:
    """The security rules of the local server, as one ASGI middleware."""

    def __init__(self, app: ASGIApp, settings: UISettings) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self.app(scope, receive, send)
            return
        if scope["type"] != "http":  # no websockets: nothing here uses them
            return
        send = _with_security_headers(send)
        headers = Headers(scope=scope)
        query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))
        cookies = _cookies(headers)
        browser_session = cookies.get(session_cookie(self.settings.port))
        refusal = self._refusal(scope, headers, query, cookies)
        if refusal is None and scope["method"] in UNSAFE_METHODS:
            refusal, receive = await self._csrf_refusal(headers, receive, browser_session)
        if refusal is not None:
            await _plain(send, *refusal)
            return
        if browser_session is None:
            browser_session = secrets.token_urlsafe(24)
            send = _with_cookie(send, self._session_cookie(browser_session))
        scope.setdefault("state", {})["csrf_token"] = self.settings.csrf_token_for(browser_session)
        if query.get("token") is not None and scope["method"] in ("GET", "HEAD"):
            await self._set_cookie_and_redirect(scope, query, send)
            return
        limit = self.settings.upload_limit
        length = headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > limit:
            await _plain(send, 413, f"the file is larger than the limit of {limit:,} bytes")
            return
        # A body that passes the limit while streaming raises BodyTooLarge: the app's
        # exception handler turns it into a 413 (see app.py).
        await self.app(scope, _limited(receive, limit), send)

    def _refusal(
        self, scope: Scope, headers: Headers, query: dict, cookies: dict[str, str]
    ) -> tuple[int, str] | None:
        """(status, message) of the first rule (before CSRF) the request breaks, or None."""
        host = headers.get("host", "")
        if not self.settings.accepts_host(host):
            return 400, "unknown Host: open the address keen-import ui printed"
        if not self._has_token(headers, query, cookies):
            return 403, "missing or wrong token: open the address keen-import ui printed"
        origin = f"{self.settings.scheme}://{host}"
        if scope["method"] in UNSAFE_METHODS and not _same_origin(headers, origin):
            return 403, "refused: the request did not come from this app's own pages"
        return None

    async def _csrf_refusal(
        self, headers: Headers, receive: Receive, browser_session: str | None
    ) -> tuple[tuple[int, str] | None, Receive]:
        """The CSRF refusal (or None) and the receive that still yields the whole body."""
        given = headers.get(CSRF_HEADER)
        if given is None:
            given, receive = await read_form_token(headers, receive)
        expected = self.settings.csrf_token_for(browser_session) if browser_session else None
        if expected is None or not _same(given, expected):
            return (403, "refused: missing or wrong CSRF token; reload the page"), receive
        return None, receive

    def _session_cookie(self, value: str) -> str:
        return self._cookie(session_cookie(self.settings.port), value)

    def _cookie(self, name: str, value: str) -> str:
        """A Set-Cookie value: HttpOnly, SameSite=Strict, and Secure when served over TLS."""
        secure = "; Secure" if self.settings.tls is not None else ""
        return f"{name}={value}; Path=/; HttpOnly; SameSite=Strict{secure}"

    def _has_token(self, headers: Headers, query: dict, cookies: dict[str, str]) -> bool:
        token = self.settings.token
        auth = headers.get("authorization", "")
        if auth.lower().startswith("bearer ") and _same(auth[7:].strip(), token):
            return True
        if _same(query.get("token"), token):
            return True
        return _same(cookies.get(cookie_name(self.settings)), token)

    async def _set_cookie_and_redirect(self, scope: Scope, query: dict, send: Send) -> None:
        """The token leaves the address bar (and history) at once: a cookie carries it on."""
        rest = {k: v for k, v in query.items() if k != "token"}
        location = scope["path"] + (("?" + urlencode(rest)) if rest else "")
        cookie = self._cookie(cookie_name(self.settings), self.settings.token)
        await send(
            {
                "type": "http.response.start",
                "status": 303,
                "headers": [
                    (b"location", location.encode("latin-1")),
                    (b"set-cookie", cookie.encode("latin-1")),
                    (b"content-length", b"0"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": b""})


def _cookies(headers: Headers) -> dict[str, str]:
    """The request's cookies by name; a malformed Cookie header is simply no cookies."""
    jar = SimpleCookie()
    try:
        jar.load(headers.get("cookie", ""))
    except Exception:
        return {}
    return {name: morsel.value for name, morsel in jar.items()}


def _with_cookie(send: Send, cookie: str) -> Send:
    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            extra = (b"set-cookie", cookie.encode("latin-1"))
            message = {**message, "headers": [*message.get("headers", []), extra]}
        await send(message)

    return wrapped


def _same_origin(headers: Headers, expected: str) -> bool:
    origin = headers.get("origin")
    if origin is not None:
        return origin == expected
    return headers.get("sec-fetch-site") == "same-origin"


def _with_security_headers(send: Send) -> Send:
    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            names = {name.lower() for name, _ in message.get("headers", [])}
            extra = [(n, v) for n, v in SECURITY_HEADERS if n not in names]
            message = {**message, "headers": [*message.get("headers", []), *extra]}
        await send(message)

    return wrapped


def _limited(receive: Receive, limit: int) -> Receive:
    seen = 0

    async def wrapped() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                raise BodyTooLarge
        return message

    return wrapped


async def _plain(send: Send, status: int, text: str) -> None:
    body = (text + "\n").encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
