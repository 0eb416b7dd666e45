"""``/login`` and ``/logout``: a session for a user of ``auth.Users``."""

from __future__ import annotations

import logging

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from syncer.web.auth import SESSION_USER
from syncer.web.context import web
from syncer.web.csrf import rotate
from syncer.web.render import page

log = logging.getLogger("syncer.web")


def _next(target: object) -> str:
    """Only a path of this site (``/runs``), never another site (``//evil``, ``https://...``)."""
    if isinstance(target, str) and target.startswith("/") and not target.startswith("//"):
        return target
    return "/"


async def login_form(request: Request) -> Response:
    return page(request, "login.html", {"next": _next(request.query_params.get("next"))})


async def login(request: Request) -> Response:
    form = await request.form()
    name, password = str(form.get("username", "")), str(form.get("password", ""))
    user = await run_in_threadpool(web(request).users.authenticate, name, password)
    if user is None:
        log.warning("failed login for user %r", name[:100])
        context = {"next": _next(form.get("next")), "failed": True, "username": name}
        return page(request, "login.html", context, status_code=401)
    request.session.clear()
    request.session[SESSION_USER] = user.name
    rotate(request)
    return RedirectResponse(_next(form.get("next")), status_code=303)


async def logout(request: Request) -> Response:
    request.session.clear()
    return RedirectResponse("/login", status_code=303)


routes = [
    Route("/login", login_form, methods=["GET"]),
    Route("/login", login, methods=["POST"]),
    Route("/logout", logout, methods=["POST"]),
]
