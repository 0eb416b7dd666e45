"""A CSRF token per session, required on every state-changing request (403 otherwise).

Every form carries it as a hidden field (``<input type="hidden" name="csrf_token"
value="{{ csrf_token }}">``); htmx requests carry it as the ``X-CSRF-Token`` header, which
base.html sets for the whole page (``hx-headers`` on ``<body>``). The check is middleware, so a
new POST route cannot forget it. Forms are URL-encoded (the default ``enctype``): a body of
another type must send the header.
"""

from __future__ import annotations

import hmac
import secrets
from urllib.parse import parse_qs

from starlette.requests import HTTPConnection
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

FIELD = "csrf_token"
HEADER = "x-csrf-token"
SESSION_KEY = "csrf"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
MAX_FORM_BYTES = 1_000_000


def csrf_token(conn: HTTPConnection) -> str:
    """This session's token (made on first use)."""
    token = conn.session.get(SESSION_KEY)
    if not isinstance(token, str):
        token = conn.session[SESSION_KEY] = secrets.token_urlsafe(32)
    return token


def rotate(conn: HTTPConnection) -> str:
    """A new token (after logging in: a token seen before the login is worth nothing)."""
    conn.session[SESSION_KEY] = secrets.token_urlsafe(32)
    return str(conn.session[SESSION_KEY])


class CSRFProtect:
    """ASGI middleware (inside the session middleware): a POST/PUT/PATCH/DELETE whose token
    (header, or form field of a URL-encoded body) is not the session's is answered 403."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in SAFE_METHODS:
            await self.app(scope, receive, send)
            return
        conn = HTTPConnection(scope)
        expected = conn.session.get(SESSION_KEY)
        given = conn.headers.get(HEADER)
        body = b""
        if given is None:
            content_type = conn.headers.get("content-type", "").split(";")[0].strip()
            if content_type == "application/x-www-form-urlencoded":
                body = await _read(receive)
                values = parse_qs(body.decode("latin-1"), max_num_fields=1000).get(FIELD)
                given = values[0] if values else None
        if not isinstance(expected, str) or not given or not hmac.compare_digest(given, expected):
            await PlainTextResponse(
                "CSRF token missing or wrong: reload the page and try again", status_code=403
            )(scope, receive, send)
            return
        await self.app(scope, _replay(body, receive) if body else receive, send)


async def _read(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_FORM_BYTES:
            break
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that hands the already-read body to the app, then the real channel."""
    sent = False

    async def again() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return again
