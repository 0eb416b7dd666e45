"""The admin app: ``create_app(settings, env, users=load_users(env))``.

    from syncer.web.app import create_app
    app = create_app(Settings.from_env(), os.environ, users=load_users(os.environ))
    uvicorn.run(app, host="127.0.0.1", port=8080)          # what `syncer web` does

Middleware, outermost first: signed session cookie (HttpOnly, SameSite=strict; key from
``SYNCER_WEB_SECRET_KEY`` or a random one per process, with a warning: sessions then end when
the process does), CSRF check on every state-changing request, login required. Routes come
from the ``routes`` list of each module in ``pages/`` (see pages/__init__.py); a
``SyncerError`` raised by a handler becomes its one-line message (status 400), any other error
a plain 500 without details (the log has them).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

from syncer.errors import SyncerError
from syncer.schedule import SyncScheduler
from syncer.settings import Settings
from syncer.web.auth import LoginRequired, Users, random_key, secret_key
from syncer.web.context import WebContext
from syncer.web.csrf import CSRFProtect
from syncer.web.jobs import Jobs
from syncer.web.pages import ROUTES
from syncer.web.render import error

log = logging.getLogger("syncer.web")
STATIC = Path(__file__).parent / "static"
SESSION_COOKIE = "syncer_session"
SESSION_SECONDS = 8 * 3600


async def _syncer_error(request: Request, exc: Exception) -> Response:
    return error(request, str(exc))


def create_app(
    settings: Settings,
    env: Mapping[str, str],
    *,
    users: Users,
    scheduler: SyncScheduler | None = None,
    https_only: bool = False,
    as_of: datetime | None = None,
) -> Starlette:
    """The admin UI over ``settings`` (databases, config folder) and ``env`` (where profiles'
    ``${VAR}`` credentials are read). ``scheduler``: the worker, when one runs in this process
    (``/healthz`` then reports its heartbeat). ``https_only`` marks the cookie Secure.
    ``as_of``: evaluate segments as of that moment (UTC), as the CLI's ``--as-of``, not now."""
    key = secret_key(env)
    if key is None:
        log.warning(
            "SYNCER_WEB_SECRET_KEY is not set: sessions are signed with a random key and end "
            "when this process stops"
        )
        key = random_key()
    app = Starlette(
        routes=[*ROUTES, Mount("/static", app=StaticFiles(directory=STATIC), name="static")],
        middleware=[
            Middleware(
                SessionMiddleware,
                secret_key=key,
                session_cookie=SESSION_COOKIE,
                max_age=SESSION_SECONDS,
                same_site="strict",
                https_only=https_only,
            ),
            Middleware(CSRFProtect),
            Middleware(LoginRequired),
        ],
        exception_handlers={SyncerError: _syncer_error},
    )
    when = None if as_of is None else as_of.replace(tzinfo=as_of.tzinfo or UTC)
    app.state.web = WebContext(settings, env, users, Jobs(), scheduler, when)
    return app
