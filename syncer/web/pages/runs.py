"""``/runs``: each destination with "dry run", "resync now" and "full resync"; the run history
(counts, API calls, errors) and the members providers refused, with their reasons.

``POST /runs/start`` starts a run (``jobs.Jobs``: the CLI's ``SyncService.sync`` in a thread)
and answers the ``runs/_job.html`` partial, which polls ``GET /runs/jobs/{id}`` every second
until the run is over.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from syncer.state.history import list_rejections, list_runs
from syncer.state.migrate import current_revision
from syncer.web.context import WebContext, web
from syncer.web.jobs import MODES
from syncer.web.pages.dashboard import overview
from syncer.web.render import error, page


def _history(context: WebContext, segment: str | None) -> dict[str, Any]:
    rows, problem = overview(context, datetime.now(UTC))
    if segment:
        rows = [r for r in rows if r.status.segment == segment]
    if current_revision(context.state) is None:
        return {"rows": rows, "problem": problem, "runs": [], "rejections": []}
    return {
        "rows": rows,
        "problem": problem,
        "runs": list_runs(context.state, segment=segment, limit=50),
        "rejections": list_rejections(context.state, segment=segment),
    }


async def runs_page(request: Request) -> Response:
    segment = request.query_params.get("segment") or None
    data = await run_in_threadpool(_history, web(request), segment)
    return page(request, "runs.html", {**data, "segment": segment, "modes": list(MODES)})


async def start(request: Request) -> Response:
    form = await request.form()
    context = web(request)
    job = await run_in_threadpool(
        context.jobs.start,
        context.settings,
        context.env,
        str(form.get("segment", "")),
        str(form.get("destination", "")),
        str(form.get("mode", "")),
    )
    return page(request, "runs/_job.html", {"job": job})


async def job_status(request: Request) -> Response:
    job = web(request).jobs.get(request.path_params["job_id"])
    if job is None:
        return error(
            request, "no such run in this process (it may have been restarted)", status_code=404
        )
    return page(request, "runs/_job.html", {"job": job})


routes = [
    Route("/runs", runs_page, methods=["GET"]),
    Route("/runs/start", start, methods=["POST"]),
    Route("/runs/jobs/{job_id}", job_status, methods=["GET"]),
]
