"""``/healthz`` (no login): 200 ``{"status": "ok", ...}`` while the commerce and state databases
answer (and the worker's scheduler runs, when one runs in this process), else 503 saying what."""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from syncer.db import mask_url
from syncer.errors import SyncerError
from syncer.observe.health import database_problem, worker_health
from syncer.web.context import WebContext, web


def _health(context: WebContext) -> tuple[bool, dict[str, Any]]:
    for name in ("commerce", "state"):
        try:
            problem = database_problem(getattr(context, name))
        except (SyncerError, OSError) as err:  # the engine could not even be made
            problem = mask_url(str(err))
        if problem is not None:
            return False, {"status": f"{name} database does not answer: {problem}"}
    if context.scheduler is not None:
        return worker_health(context.scheduler, context.state)
    return True, {"status": "ok"}


async def healthz(request: Request) -> Response:
    healthy, body = await run_in_threadpool(_health, web(request))
    return JSONResponse(body, status_code=200 if healthy else 503)


routes = [Route("/healthz", healthz, methods=["GET"])]
