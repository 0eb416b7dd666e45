"""`syncer worker --queue URL`: runs the sync tasks that `syncer schedule --queue URL` enqueues.

Each process takes tasks off the queue (Dramatiq on Redis), one per thread (``--threads``), and
runs each like `syncer sync` runs one destination: the state database's lock and outbox make a
task delivered twice, or re-delivered after a worker died mid-run, end with the provider equal
to the segment, nothing sent twice. Every provider account's limits (requests in flight,
requests per second, a Retry-After pause) are kept in the same Redis for all workers together.
``--processes N`` starts N such processes and stops them together. SIGTERM/SIGINT: no new task
is taken; the runs in flight end after their current batch (the rest stays pending).
``--metrics-port P`` serves Prometheus ``/metrics`` (the runs this process finished, as
`syncer schedule --metrics-port` counts them) and ``/healthz`` (the worker's threads alive, the
state database and the queue answering); with ``--processes N`` the i-th process serves on
``P + i``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from contextlib import suppress
from datetime import UTC, datetime
from http.server import ThreadingHTTPServer
from types import FrameType
from typing import TYPE_CHECKING

import typer
from sqlalchemy.exc import SQLAlchemyError

from syncer.cli.common import settings
from syncer.errors import ConfigError
from syncer.observe.logs import FORMATS, setup_logging
from syncer.observe.metrics import WorkerMetrics
from syncer.observe.server import HealthCheck, serve
from syncer.schedule import log_line, stop_on_signals
from syncer.settings import Settings
from syncer.state.history import destination_status
from syncer.state.migrate import current_revision

if TYPE_CHECKING:
    from syncer.sync.service import SyncService


def worker_cmd(
    ctx: typer.Context,
    queue_url: str = typer.Option(
        ..., "--queue", help="The queue: redis://HOST:PORT/DB[?prefix=NAME]."
    ),
    processes: int = typer.Option(1, "--processes", min=1, max=64, help="Worker processes."),
    threads: int = typer.Option(
        1, "--threads", min=1, max=64, help="Tasks run at once in each process."
    ),
    requeue_after: float = typer.Option(
        60.0,
        "--requeue-after",
        min=1.0,
        help="A worker silent this many seconds is taken for dead: its tasks are delivered "
        "again (use one value for every worker of a queue).",
    ),
    log_format: str = typer.Option(
        "json", "--log-format", help="json (one object a line, default) or text (for people)."
    ),
    metrics_port: int = typer.Option(
        0,
        "--metrics-port",
        min=0,
        max=65535,
        help="Serve Prometheus /metrics and /healthz on this port (0: off; with --processes N, "
        "the processes use this port and the N - 1 after it).",
    ),
    metrics_host: str = typer.Option(
        "127.0.0.1", "--metrics-host", help="The address /metrics and /healthz listen on."
    ),
) -> None:
    """Run queued sync tasks until stopped (SIGTERM / Ctrl-C)."""
    if log_format not in FORMATS:
        raise ConfigError(f"--log-format {log_format!r} is not a log format: use json or text")
    setup_logging(log_format)
    conf = settings(ctx)
    if processes > 1:
        if metrics_port and metrics_port + processes - 1 > 65535:
            raise ConfigError(
                f"--metrics-port {metrics_port} with --processes {processes} needs ports up to "
                f"{metrics_port + processes - 1}: choose a port at most {65536 - processes}"
            )
        args = ["--queue", queue_url, "--threads", str(threads)]
        args += ["--requeue-after", str(requeue_after), "--log-format", log_format]
        args += ["--metrics-host", metrics_host]
        ports = [metrics_port + i if metrics_port else 0 for i in range(processes)]
        raise typer.Exit(_run_processes(conf, args, ports))
    _run_worker(conf, queue_url, threads, requeue_after, (metrics_host, metrics_port))


def _run_worker(
    conf: Settings,
    queue_url: str,
    threads: int,
    requeue_after: float,
    metrics_at: tuple[str, int],
) -> None:
    from providers.http import use_limiter_factory
    from providers.redis_limits import redis_limiter_factory
    from syncer.queue.broker import make_worker, open_queue
    from syncer.queue.health import queue_worker_health
    from syncer.queue.tasks import SyncTasks, TaskRunner
    from syncer.sync.service import SyncService

    queue = open_queue(queue_url, requeue_after=requeue_after)  # unreachable: one line, exit 2
    service = SyncService(conf, os.environ)
    service.reload()  # bad config at start: one line and exit 2, before any task
    _ = service.engine  # built once, before the threads share it
    use_limiter_factory(redis_limiter_factory(queue.client, prefix=queue.url.prefix))
    stop = threading.Event()
    metrics = WorkerMetrics() if metrics_at[1] else None
    runner = TaskRunner(
        service,
        [conf.segments_dir, conf.profiles_file],
        stop,
        on_result=metrics.record if metrics is not None else None,
    )
    runner.warm_up()
    SyncTasks(queue.broker, run=runner.run)
    worker = make_worker(queue, threads)
    server = None
    if metrics is not None:
        health = lambda: queue_worker_health(  # noqa: E731
            worker, runner, stop, queue.client, service.engine.state
        )
        server = _serve(metrics, health, service, *metrics_at)
    queue.heartbeat(stop)
    log_line("worker_starting", queue=queue.url.redis_url, threads=threads, pid=os.getpid())
    try:
        with stop_on_signals(stop, lambda name: log_line("signal", signal=name)):
            worker.start()
            while not stop.wait(0.5):
                pass
    finally:
        stop.set()
        worker.stop()  # waits for the runs in flight (each ends after its current batch)
        if server is not None:
            server.shutdown()
            server.server_close()
        queue.broker.close()
        service.close()
        use_limiter_factory(None)
        log_line("stopped")


def _serve(
    metrics: WorkerMetrics, health: HealthCheck, service: SyncService, host: str, port: int
) -> ThreadingHTTPServer:
    """Serve /metrics and /healthz; the last success of each destination is read from the
    state database first (a restarted worker does not look as if it never succeeded)."""
    state = service.engine.state
    with suppress(SQLAlchemyError):  # an unreachable state database shows in /healthz
        if current_revision(state) is not None:
            metrics.seed(destination_status(state, {}, datetime.now(UTC)))
    server = serve(metrics.registry, health, host=host, port=port)
    log_line("serving", metrics=f"http://{host}:{port}/metrics", health="/healthz")
    return server


def _run_processes(conf: Settings, args: list[str], ports: list[int]) -> int:
    """Start one single-process worker per entry of ``ports`` (its metrics port, 0: none); pass
    SIGTERM/SIGINT on; the worst exit code."""
    env = {**os.environ, "SYNCER_DATABASE_URL": conf.database_url}
    env["SYNCER_CONFIG_DIR"] = str(conf.config_dir)
    if conf.state_url:
        env["SYNCER_STATE_URL"] = conf.state_url
    command = [sys.executable, "-m", "syncer", "worker", *args]
    children = [
        subprocess.Popen([*command, "--metrics-port", str(port)], env=env) for port in ports
    ]

    def forward(signum: int, _frame: FrameType | None) -> None:
        for child in children:
            if child.poll() is None:
                child.send_signal(signum)

    previous = {s: signal.signal(s, forward) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        codes = [child.wait() for child in children]
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
    return max((c for c in codes if c > 0), default=0 if all(c == 0 for c in codes) else 1)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the root app."""
    app.command("worker")(worker_cmd)
