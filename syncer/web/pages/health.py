"""``/healthz`` (no login): 200 ``{"status": "ok", ...}`` while the commerce and state databases
answer (and the worker's scheduler runs, when one runs in this process), else 503 saying what."""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from syncer.observe.health import database_problem, worker_health
from syncer.web.context import WebContext, web


def _health(context: WebContext) -> tuple[bool, dict[str, Any]]:
    body: dict[str, Any] = {"status": "ok"}
    problem = database_problem(context.commerce)
    if problem is not None:
        return False, {"status": f"commerce database does not answer: {problem}"}
    if context.scheduler is not None:
        return worker_health(context.scheduler, context.state)
    problem = database_problem(context.state)
    if problem is not None:
        return False, {"status": f"state database does not answer: {problem}"}
    return True, body


async def healthz(request: Request) -> Response:
    healthy, body = await run_in_threadpool(_health, web(request))
    return JSONResponse(body, status_code=200 if healthy else 503)


routes = [Route("/healthz", healthz, methods=["GET"])]
