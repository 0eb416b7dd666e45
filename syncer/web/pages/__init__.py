"""The admin's pages. A page is one module here with:

- ``routes``: its Starlette routes (``Route(path, handler, methods=[...])``), added to ROUTES
  below; handlers are ``async``, run library calls with ``run_in_threadpool`` and answer with
  ``render.page(request, "<page>.html", {...})``;
- a full-page template ``templates/<page>.html`` that ``{% extends "base.html" %}``;
- its htmx partials in ``templates/<page>/_<part>.html``: a form posts with ``hx-post`` and
  swaps the partial the handler renders (``render.is_htmx(request)`` tells); the CSRF header is
  sent by htmx for the whole page (base.html), plain forms add the hidden ``csrf_token`` field;
- an entry in ``render.NAV`` when it belongs in the navigation bar.

Validation is the library's: call the same function the CLI calls and let its ``SyncerError``
propagate: the app shows its one-line message (the ``_error.html`` partial for htmx).
"""

from __future__ import annotations

from starlette.routing import BaseRoute

from syncer.web.pages import dashboard, health, login, profiles, runs, segments

ROUTES: list[BaseRoute] = [
    *login.routes,
    *health.routes,
    *dashboard.routes,
    *runs.routes,
    *profiles.routes,
    *segments.routes,
]
