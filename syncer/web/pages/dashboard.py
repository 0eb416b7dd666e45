"""``/``: every destination with its last run, last success, STALE mark, pending changes,
rejections of its last run and next scheduled run; a failed run stands out."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from syncer.errors import SyncerError
from syncer.segments.loader import load_segments
from syncer.state.history import DestinationStatus, destination_status, last_runs, next_run
from syncer.state.migrate import current_revision
from syncer.web.context import WebContext, web
from syncer.web.render import page


@dataclass
class Row:
    status: DestinationStatus
    last: dict[str, Any] | None  # the latest run (list_runs' columns)
    next_run: datetime | None

    @property
    def failed(self) -> bool:
        return self.status.last_outcome in ("failed", "partial")


def overview(context: WebContext, now: datetime) -> tuple[list[Row], str | None]:
    """The rows and a problem loading the segments (the state is shown anyway)."""
    configured: dict[tuple[str, str], str | None] = {}
    problem = None
    try:
        for seg in load_segments(context.settings.segments_dir).values():
            for dest in seg.destinations:
                configured[(seg.name, dest.key)] = seg.schedule
    except SyncerError as err:
        problem = str(err)
    if current_revision(context.state) is None:
        statuses = destination_status_without_state(configured)
        latest: dict[tuple[str, str], dict[str, Any]] = {}
    else:
        statuses = destination_status(context.state, configured, now)
        latest = last_runs(context.state)
    rows = [
        Row(
            s,
            latest.get((s.segment, s.destination)),
            next_run(s.schedule, now) if s.schedule else None,
        )
        for s in statuses
    ]
    return rows, problem


def destination_status_without_state(
    configured: dict[tuple[str, str], str | None],
) -> list[DestinationStatus]:
    """No state tables yet (nothing ever synced): every scheduled destination is stale."""
    return [
        DestinationStatus(
            seg,
            dest,
            cron,
            None,
            None,
            None,
            bool(cron),
            "never synced successfully" if cron else "",
        )
        for (seg, dest), cron in sorted(configured.items())
    ]


async def dashboard(request: Request) -> Response:
    rows, problem = await run_in_threadpool(overview, web(request), datetime.now(UTC))
    return page(request, "dashboard.html", {"rows": rows, "problem": problem})


routes = [Route("/", dashboard, methods=["GET"])]
