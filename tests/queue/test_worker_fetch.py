"""How a worker takes tasks off the queue: never more than it has threads, so a task does not
wait behind a long run in one worker while another worker is idle."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
from dramatiq import Worker

from syncer.queue.broker import make_worker, open_queue
from syncer.queue.tasks import SyncTask, SyncTasks
from tests.redisdb import ScratchRedis

# Which worker takes a task depends on timing: run alone, after the parallel part.
pytestmark = pytest.mark.serial


class Recorder:
    """A worker process's task runner: remembers which worker ran what; ``hold`` keeps the
    task named ``Slow`` running until released."""

    def __init__(self) -> None:
        self.ran: dict[str, str] = {}  # segment -> worker name
        self.release = threading.Event()
        self.changed = threading.Condition()

    def runner(self, name: str) -> Callable[[SyncTask], None]:
        def run(task: SyncTask) -> None:
            with self.changed:
                self.ran[task.segment] = name
                self.changed.notify_all()
            if task.segment == "Slow":
                self.release.wait(30)

        return run

    def wait_for(self, segment: str, seconds: float) -> str | None:
        deadline = time.monotonic() + seconds
        with self.changed:
            while segment not in self.ran and time.monotonic() < deadline:
                self.changed.wait(0.1)
            return self.ran.get(segment)


@contextmanager
def worker(scratch: ScratchRedis, recorder: Recorder, name: str) -> Iterator[Worker]:
    queue = open_queue(scratch.queue_url)
    SyncTasks(queue.broker, run=recorder.runner(name))
    running = make_worker(queue, threads=1)
    running.start()
    try:
        yield running
    finally:
        recorder.release.set()
        running.stop(timeout=10_000)
        queue.broker.close()


def test_a_busy_worker_leaves_the_next_task_to_an_idle_one(scratch: ScratchRedis) -> None:
    queue = open_queue(scratch.queue_url)
    tasks = SyncTasks(queue.broker)
    recorder = Recorder()
    try:
        tasks.enqueue(SyncTask("Slow", "d/1/slow"))
        tasks.enqueue(SyncTask("Next", "d/1/next"))
        with worker(scratch, recorder, "first"):
            assert recorder.wait_for("Slow", 20) == "first"
            time.sleep(0.5)  # time enough for the first worker to take more than it can run
            with worker(scratch, recorder, "second"):
                # Dramatiq's default (twice the threads) had the first worker hold "Next" until
                # "Slow" ended: the second worker sat idle
                assert recorder.wait_for("Next", 10) == "second"
                assert "Slow" in recorder.ran and not recorder.release.is_set()
    finally:
        queue.broker.close()
