"""`syncer schedule`: the long-running worker (also ``python scheduler.py``).

Runs each segment's syncs on the cron ``schedule:`` in its file; reloads changed config files;
alerts (``config/alerts.yaml``) as runs end and for STALE destinations (checked periodically);
logs one JSON line per event on stderr (``--log-format text`` for people), the scheduler
library's and the migration tool's lines included; with ``--metrics-port`` serves Prometheus
``/metrics`` and ``/healthz``; stops cleanly on SIGTERM/SIGINT (the batch in flight is
finished, the rest stays pending for the next run). Up to ``--concurrency`` destinations
(default 4) are synced at once, whichever segments they belong to; each provider account's
limits hold across all of them.
"""

from __future__ import annotations

import os
from contextlib import suppress
from datetime import UTC, datetime
from http.server import ThreadingHTTPServer
from typing import TYPE_CHECKING

import typer
from sqlalchemy.exc import SQLAlchemyError

from syncer.cli.common import CONCURRENCY_OPTION, settings
from syncer.errors import ConfigError
from syncer.observe.health import worker_health
from syncer.observe.logs import FORMATS, setup_logging
from syncer.observe.metrics import WorkerMetrics
from syncer.observe.server import serve
from syncer.schedule import SegmentRunner, SyncScheduler, log_line
from syncer.segments.tags import check_tags
from syncer.state.history import destination_status
from syncer.state.migrate import current_revision

if TYPE_CHECKING:
    from syncer.sync.service import SyncService


def schedule_cmd(
    ctx: typer.Context,
    reload_seconds: float = typer.Option(
        10.0, "--reload-seconds", min=0.5, help="How often config files are checked for changes."
    ),
    misfire_grace: int = typer.Option(
        3600,
        "--misfire-grace",
        min=1,
        help="A run missed by up to this many seconds (worker down) still runs once on start.",
    ),
    tags: list[str] = typer.Option(
        [],
        "--tag",
        help="Only segments with this tag (repeatable: any of them); kept on every reload.",
    ),
    metrics_port: int = typer.Option(
        0,
        "--metrics-port",
        min=0,
        max=65535,
        help="Serve Prometheus /metrics and /healthz on this port (0: off).",
    ),
    metrics_host: str = typer.Option(
        "127.0.0.1", "--metrics-host", help="The address /metrics and /healthz listen on."
    ),
    log_format: str = typer.Option(
        "json", "--log-format", help="json (one object a line, default) or text (for people)."
    ),
    check_seconds: float = typer.Option(
        60.0,
        "--check-seconds",
        min=1.0,
        help="How often STALE destinations are alerted and runs of dead processes marked "
        "interrupted.",
    ),
    queue_url: str | None = typer.Option(
        None,
        "--queue",
        help="Enqueue one task per destination on this queue (redis://HOST:PORT/DB) for "
        "`syncer worker` processes, instead of running the syncs here.",
    ),
    concurrency: int = CONCURRENCY_OPTION,
) -> None:
    """Run every scheduled segment on its cron schedule until stopped (SIGTERM / Ctrl-C)."""
    from syncer.sync.service import SyncService  # the segment engine loads only when needed

    if log_format not in FORMATS:
        raise ConfigError(f"--log-format {log_format!r} is not a log format: use json or text")
    setup_logging(log_format)
    conf = settings(ctx)
    service = SyncService(conf, os.environ, concurrency=concurrency)
    segments = service.reload()  # bad config at start: one line and exit 2, before any run
    check_tags(segments.values(), tags)
    metrics = WorkerMetrics() if metrics_port else None
    observe = metrics.record if metrics is not None else None
    run: SegmentRunner = lambda name, stop: service.run_segment(  # noqa: E731
        name, stop, trigger="schedule", on_result=observe
    )
    if queue_url is not None:
        run = _enqueuer(queue_url, service)
    scheduler = SyncScheduler(
        service.reload,
        run,
        [conf.segments_dir, conf.profiles_file, conf.alerts_file],
        reload_seconds=reload_seconds,
        misfire_grace_seconds=misfire_grace,
        tags=tags,
        check=service.check,
        check_seconds=check_seconds,
    )
    server = None
    if metrics is not None:
        server = _serve(metrics, scheduler, service, metrics_host, metrics_port)
    log_line("starting", config=str(conf.config_dir), pid=os.getpid())
    try:
        scheduler.serve_forever()
    finally:
        if server is not None:
            server.shutdown()
            server.server_close()
        service.close()


def _enqueuer(queue_url: str, service: SyncService) -> SegmentRunner:
    """The job of each segment with ``--queue``: one task per destination, for the workers."""
    from syncer.queue.broker import open_queue
    from syncer.queue.tasks import SyncTasks, enqueue_segment

    tasks = SyncTasks(open_queue(queue_url).broker)  # unreachable: one line, exit 2
    log_line("queue", queue=queue_url)
    return lambda name, _stop: enqueue_segment(service, tasks, name)


def _serve(
    metrics: WorkerMetrics, scheduler: SyncScheduler, service: SyncService, host: str, port: int
) -> ThreadingHTTPServer:
    """Serve /metrics and /healthz; the last success of each destination is read from the
    state database first (a restarted worker does not look as if it never succeeded)."""
    state = service.engine.state
    with suppress(SQLAlchemyError):  # an unreachable state database shows in /healthz
        if current_revision(state) is not None:
            metrics.seed(destination_status(state, {}, datetime.now(UTC)))
    server = serve(metrics.registry, lambda: worker_health(scheduler, state), host=host, port=port)
    log_line("serving", metrics=f"http://{host}:{port}/metrics", health="/healthz")
    return server


def register(app: typer.Typer) -> None:
    """Add this module's commands to the root app."""
    app.command("schedule")(schedule_cmd)
