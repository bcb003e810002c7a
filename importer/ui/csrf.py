"""Finding the CSRF token in a form's body before routing, without consuming the body.

The token travels as the form's first field, ``csrf_token`` (never in the URL, where it would
reach the address bar, history and logs). The middleware reads only as much of the body as it
needs, then hands the app a ``receive`` that replays those bytes first: a large upload is never
held in memory for this.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from starlette.datastructures import Headers
from starlette.types import Message, Receive

CSRF_FIELD = "csrf_token"
#: A urlencoded form larger than this is not one of this app's forms: no token is looked for.
FORM_LIMIT = 1024 * 1024
#: The first multipart field must be complete within this many bytes.
FIRST_PART_LIMIT = 64 * 1024


def session_cookie(port: int) -> str:
    """Name of the browser-session cookie the CSRF token is bound to (one per server port)."""
    return f"keen_import_session_{port}"


async def read_form_token(headers: Headers, receive: Receive) -> tuple[str | None, Receive]:
    """The ``csrf_token`` field of a form body (or None) and a receive replaying the body."""
    kind = headers.get("content-type", "")
    if kind.startswith("application/x-www-form-urlencoded"):
        body, more = await _read_until(receive, lambda seen: False, FORM_LIMIT)
        token = None if more else dict(parse_qsl(body.decode("latin-1"))).get(CSRF_FIELD)
        return token, _replay(body, more, receive)
    boundary = _boundary(kind) if kind.startswith("multipart/form-data") else None
    if boundary is None:
        return None, receive
    delimiter = b"\r\n--" + boundary
    body, more = await _read_until(
        receive, lambda seen: seen.find(delimiter, 2) != -1, FIRST_PART_LIMIT
    )
    return _first_part_token(body, boundary), _replay(body, more, receive)


def _boundary(content_type: str) -> bytes | None:
    for param in content_type.split(";")[1:]:
        name, _, value = param.strip().partition("=")
        if name.lower() == "boundary" and value:
            return value.strip('"').encode("latin-1")
    return None


def _first_part_token(body: bytes, boundary: bytes) -> str | None:
    """The value of the first multipart part when that part is the csrf_token field."""
    opening = b"--" + boundary + b"\r\n"
    if not body.startswith(opening):
        return None
    head_end = body.find(b"\r\n\r\n", len(opening))
    value_end = body.find(b"\r\n--" + boundary, head_end)
    if head_end == -1 or value_end == -1:
        return None
    part_headers = body[len(opening) : head_end].decode("latin-1").lower()
    if f'name="{CSRF_FIELD}"' not in part_headers or "filename=" in part_headers:
        return None
    return body[head_end + 4 : value_end].decode("latin-1")


async def _read_until(receive: Receive, enough, limit: int) -> tuple[bytes, bool]:
    """Body bytes read until ``enough(bytes)``, the end or ``limit``; and whether more follow."""
    body = b""
    more = True
    while more and len(body) <= limit and not enough(body):
        message = await receive()
        if message["type"] != "http.request":
            return body, False
        body += message.get("body", b"")
        more = message.get("more_body", False)
    return body, more


def _replay(body: bytes, more: bool, receive: Receive) -> Receive:
    replayed = False

    async def wrapped() -> Message:
        nonlocal replayed
        if not replayed:
            replayed = True
            return {"type": "http.request", "body": body, "more_body": more}
        return await receive()

    return wrapped
