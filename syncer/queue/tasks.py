"""The one task: sync one segment to one destination. Enqueued by the scheduler
(``syncer schedule --queue URL``), run by workers (``syncer worker --queue URL``).

A task names the segment and the destination key (``profile/list/tag``), the trigger recorded in
the run history and, optionally, the as-of time of the segment. The worker reads both from its
own config (reloaded when a file changes), so a task outlives nothing but names: a segment or
destination removed since it was enqueued is one ``task_dropped`` line, not a failure.

The worker's lines are the scheduler's (``syncer.schedule.log_line``): ``run`` with the run's
summary, ``waiting`` when the provider asked not to be called yet, ``run_failed`` /
``run_crashed`` with the error. A destination busy in another process (``skipped``: its lock is
held) is retried later (``broker.busy_retry``): the holder may have died on another machine, and
its lock expires.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import dramatiq
from dramatiq.brokers.redis import RedisBroker
from sqlalchemy.exc import SQLAlchemyError

from providers.errors import ProviderError
from providers.registry import provider_class
from syncer.db import mask_url
from syncer.errors import SyncerError
from syncer.queue.broker import QUEUE, busy_retry
from syncer.schedule import config_fingerprint, log_line
from syncer.state.migrate import ensure_schema
from syncer.sync.service import RunObserver, SyncService, deferred_until, summary, waiting

ACTOR = "sync_destination"


@dataclass(frozen=True)
class SyncTask:
    segment: str
    destination: str  # DestinationConfig.key
    trigger: str = "queue"
    as_of: str | None = None  # ISO 8601; None: the time the task runs


class SyncTasks:
    """The task's actor on ``broker``; ``run`` executes a task (workers only)."""

    def __init__(self, broker: RedisBroker, run: Callable[[SyncTask], None] | None = None) -> None:
        self._run = run

        def sync_destination(**fields: Any) -> None:
            if self._run is None:
                raise RuntimeError("this process only enqueues tasks")
            self._run(SyncTask(**fields))

        self.actor: dramatiq.Actor[..., None] = dramatiq.Actor(
            sync_destination,
            broker=broker,
            actor_name=ACTOR,
            queue_name=QUEUE,
            priority=0,
            options={},
        )

    def enqueue(self, task: SyncTask) -> str:
        """Put ``task`` on the queue; its message id."""
        return self.actor.send_with_options(kwargs=asdict(task)).message_id


class TaskRunner:
    """Runs tasks through one ``SyncService`` (one per worker process, shared by its threads)."""

    def __init__(
        self,
        service: SyncService,
        watch: Sequence[Path],
        stop: threading.Event,
        *,
        on_result: RunObserver | None = None,
    ) -> None:
        self.service = service
        self.stop = stop
        self.on_result = on_result
        self._watch = list(watch)
        self._fingerprint = config_fingerprint(self._watch)
        self._guard = threading.Lock()
        self._count = threading.Lock()
        self.running = 0  # tasks being run now (for /healthz)
        self.finished = 0  # tasks run to an end since the start

    def warm_up(self) -> None:
        """Before the first task: the state tables exist (created or upgraded once here, not
        by the first task of every worker at once) and the configured providers' modules are
        imported, so a worker's first task costs what the others do. A state database that does
        not answer yet is one line; its tasks will say more."""
        try:
            ensure_schema(self.service.engine.state)
        except (SQLAlchemyError, SyncerError) as err:
            first = (str(err).splitlines() or [type(err).__name__])[0]
            log_line("state_not_ready", error=mask_url(first))
        for provider in sorted({p.provider for p in self.service.profiles.values()}):
            try:
                provider_class(provider)
            except ProviderError as err:  # the profile's check says more when it is used
                log_line("provider_not_loaded", provider=provider, error=str(err))

    def _reload_if_changed(self) -> None:
        with self._guard:
            now = config_fingerprint(self._watch)
            if now != self._fingerprint:
                self._fingerprint = now
                try:
                    self.service.reload()
                except SyncerError as err:  # keep the previous config, as the scheduler does
                    log_line("config_error", error=str(err))

    def run(self, task: SyncTask) -> None:
        """Run ``task`` once; raises ``Retry`` when its destination is busy elsewhere."""
        if self.stop.is_set():
            raise busy_retry()  # stopping: leave it to another worker
        with self._count:
            self.running += 1
        try:
            self._run(task)
        finally:
            with self._count:
                self.running -= 1
                self.finished += 1

    def _run(self, task: SyncTask) -> None:
        self._reload_if_changed()
        where = {"segment": task.segment, "destination": task.destination}
        try:
            pairs = [
                (seg, dest)
                for seg, dest in self.service.select([task.segment])
                if dest.key == task.destination
            ]
            if not pairs:
                log_line("task_dropped", **where, error="no such destination in the config now")
                return
            segment, destination = pairs[0]
            until = deferred_until(self.service.engine, segment.name, destination.key)
            if until is not None:
                log_line("run", segment=segment.name, **waiting(destination.key, until))
                return
            as_of = datetime.fromisoformat(task.as_of) if task.as_of else None
            result = self.service.sync(
                segment, destination, trigger=task.trigger, as_of=as_of, stop=self.stop
            )
        except SyncerError as err:
            log_line("run_failed", **where, error=str(err))
            return
        except Exception as err:  # a worker must outlive one failing run
            log_line("run_crashed", **where, error=mask_url(f"{type(err).__name__}: {err}"))
            return
        if self.on_result is not None:
            self.on_result(result, self.service.kind(destination))
        log_line("run", segment=segment.name, **summary(result))
        if result.outcome == "skipped":
            raise busy_retry()


def enqueue_segment(
    service: SyncService, tasks: SyncTasks, name: str, *, trigger: str = "schedule"
) -> Iterator[dict[str, Any]]:
    """Enqueue one task per destination of segment ``name`` (the scheduler's job with
    ``--queue``); one summary per destination (``outcome: enqueued``)."""
    for segment, destination in service.select([name]):
        message_id = tasks.enqueue(SyncTask(segment.name, destination.key, trigger))
        yield {"destination": destination.key, "outcome": "enqueued", "message_id": message_id}
