"""`syncer schedule`: the long-running worker (also ``python scheduler.py``).

Runs each segment's syncs on the cron ``schedule:`` in its file; reloads changed config files;
alerts (``config/alerts.yaml``) as runs end and for STALE destinations (checked periodically);
logs one JSON line per event on stderr; stops cleanly on SIGTERM/SIGINT (the batch in flight is
finished, the rest stays pending for the next run).
"""

from __future__ import annotations

import logging
import os
import sys

import typer

from syncer.cli.common import settings
from syncer.schedule import SyncScheduler, log_line


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
    check_seconds: float = typer.Option(
        60.0,
        "--check-seconds",
        min=1.0,
        help="How often STALE destinations are alerted and runs of dead processes marked "
        "interrupted.",
    ),
) -> None:
    """Run every scheduled segment on its cron schedule until stopped (SIGTERM / Ctrl-C)."""
    from syncer.sync.service import SyncService  # the segment engine loads only when needed

    logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(message)s")
    conf = settings(ctx)
    service = SyncService(conf, os.environ)
    service.reload()  # bad config at start: one line and exit 2, before anything runs
    scheduler = SyncScheduler(
        service.reload,
        lambda name, stop: service.run_segment(name, stop, trigger="schedule"),
        [conf.segments_dir, conf.profiles_file, conf.alerts_file],
        reload_seconds=reload_seconds,
        misfire_grace_seconds=misfire_grace,
        check=service.check,
        check_seconds=check_seconds,
    )
    log_line("starting", config=str(conf.config_dir), pid=os.getpid())
    try:
        scheduler.serve_forever()
    finally:
        service.close()


def register(app: typer.Typer) -> None:
    """Add this module's commands to the root app."""
    app.command("schedule")(schedule_cmd)
