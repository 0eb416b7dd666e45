"""Rendering: ``page(request, "runs.html", {...})`` renders a template with what every template
gets (the user, the CSRF token, the navigation); ``is_htmx(request)`` tells a partial request.

NAV is the navigation bar of base.html, in order: a new page adds its (label, path) here.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.templating import Jinja2Templates

from syncer.web.auth import current_user
from syncer.web.csrf import csrf_token

TEMPLATES = Jinja2Templates(directory=Path(__file__).parent / "templates")  # autoescaped HTML

NAV: list[tuple[str, str]] = [
    ("Dashboard", "/"),
    ("Segments", "/segments"),
    ("Runs", "/runs"),
    ("Profiles", "/profiles"),
]


def when(value: datetime | None) -> str:
    """A time as the CLI writes it (UTC), ``-`` for none."""
    return value.strftime("%Y-%m-%d %H:%M:%S") if value else "-"


TEMPLATES.env.filters["when"] = when


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def page(
    request: Request,
    template: str,
    context: Mapping[str, Any] | None = None,
    *,
    status_code: int = 200,
) -> HTMLResponse:
    """``template`` rendered with ``context`` and: ``user`` (or None), ``csrf_token``, ``nav``
    and ``path`` (to mark the current page)."""
    base = {
        "user": current_user(request),
        "csrf_token": csrf_token(request),
        "nav": NAV,
        "path": request.url.path,
    }
    return TEMPLATES.TemplateResponse(
        request, template, {**base, **(context or {})}, status_code=status_code
    )


def error(request: Request, message: str, *, status_code: int = 400) -> HTMLResponse:
    """A one-line error (the library's message, which never holds a secret): the ``_error``
    partial for htmx, else the error page."""
    template = "_error.html" if is_htmx(request) else "error.html"
    return page(request, template, {"message": message}, status_code=status_code)
