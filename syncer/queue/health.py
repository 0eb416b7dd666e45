"""A queue worker's health (``syncer worker --queue URL --metrics-port N``, ``/healthz``): its
Dramatiq threads are alive (it takes and runs tasks), the state database answers (every run
needs its lock and outbox) and so does the queue's Redis (no task arrives without it)."""

from __future__ import annotations

import threading
from typing import Any

import redis
from dramatiq import Worker
from sqlalchemy import Engine

from syncer.db import mask_url
from syncer.observe.health import database_problem
from syncer.queue.tasks import TaskRunner


def queue_worker_health(
    worker: Worker,
    runner: TaskRunner,
    stop: threading.Event,
    client: redis.Redis,
    state: Engine,
) -> tuple[bool, dict[str, Any]]:
    """(healthy, ``{status, threads, running, finished}``): ``status`` is ``ok`` or what is
    wrong; ``running`` tasks now, ``finished`` since the worker started."""
    threads = [*worker.workers, *worker.consumers.values()]
    body: dict[str, Any] = {
        "status": "ok",
        "threads": sum(t.is_alive() for t in worker.workers),
        "running": runner.running,
        "finished": runner.finished,
    }
    if stop.is_set():
        body["status"] = "stopping"
        return False, body
    if not threads:
        body["status"] = "starting"
        return False, body
    if not all(t.is_alive() for t in threads):
        body["status"] = "worker threads not running"
        return False, body
    problem = database_problem(state)
    if problem is not None:
        body["status"] = f"state database does not answer: {problem}"
        return False, body
    try:
        client.ping()
    except redis.RedisError as err:
        first = (str(err).splitlines() or [type(err).__name__])[0]
        body["status"] = f"the queue does not answer: {mask_url(first)}"
        return False, body
    return True, body
