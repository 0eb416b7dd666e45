"""The queue's URL and its Dramatiq broker on Redis.

``redis://HOST:PORT/DB[?prefix=NAME]``: the Redis server and database; ``prefix`` (default
``syncer``) starts every key Syncer writes there, the queue's (``NAME:queue:...``) and the shared
rate limits' (``NAME:limits:...``), so deployments (or test runs) can share one Redis. Any other
query parameter is the Redis client's (``socket_timeout=5``, ``password=...``).

The broker is Dramatiq's Redis broker with late acknowledgement (a message is acknowledged after
the task returns): a worker that dies mid-task stops sending heartbeats, and after
``requeue_after`` seconds another worker puts its unacknowledged tasks back on the queue. Only the
``Retries`` middleware is kept: no time limit (a first sync of millions of members may take an
hour) and no age limit (a queued task is always worth running: it reads the shop as it is then).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import redis
from dramatiq import Worker
from dramatiq.brokers.redis import MAINTENANCE_SCALE, RedisBroker
from dramatiq.errors import Retry
from dramatiq.middleware import Retries

from syncer.db import mask_url
from syncer.errors import ConfigError

QUEUE = "syncer"  # the Dramatiq queue name
DEFAULT_PREFIX = "syncer"
DEFAULT_REQUEUE_AFTER = 60.0
# Tasks retried when the destination was busy (its lock held): up to this many times, this far
# apart, which outlasts the lock of a holder that died on another machine (120 s).
BUSY_RETRIES = 6
BUSY_DELAY_SECONDS = 30.0
# How long an idle consumer sleeps at most between two looks at the queue (Dramatiq's default,
# 1 s, is also how long a worker that just finished a task may wait before fetching the next).
POLL_MS = 50


@dataclass(frozen=True)
class QueueUrl:
    redis_url: str  # without ``prefix``
    prefix: str

    @classmethod
    def parse(cls, url: str) -> QueueUrl:
        parts = urlsplit(url)
        if parts.scheme not in ("redis", "rediss", "unix"):
            raise ConfigError(
                f"--queue {mask_url(url)!r} is not a Redis URL",
                hint="use redis://HOST:PORT/DB, e.g. redis://127.0.0.1:6379/0.",
            )
        query = parse_qsl(parts.query, keep_blank_values=True)
        prefixes = [v for k, v in query if k == "prefix"]
        prefix = prefixes[-1] if prefixes else DEFAULT_PREFIX
        if not prefix or ":" in prefix:
            raise ConfigError(
                f"--queue {mask_url(url)!r}: prefix must be a non-empty name without ':'"
            )
        rest = urlencode([(k, v) for k, v in query if k != "prefix"])
        return cls(urlunsplit(parts._replace(query=rest)), prefix)


@dataclass
class Queue:
    url: QueueUrl
    client: redis.Redis
    broker: RedisBroker
    requeue_after: float

    def heartbeat(self, stop: threading.Event) -> threading.Thread:
        """Tell the broker this worker is alive every few seconds, also while every thread is
        busy with a long run (Dramatiq's Redis broker only hears from a worker when it fetches;
        a worker that fetches nothing for ``requeue_after`` would be taken for dead and its
        tasks delivered again)."""
        interval = max(self.requeue_after / 4, 0.2)

        def beat() -> None:
            while not stop.wait(interval):
                try:
                    self.broker.do_qsize(QUEUE)  # any broker command counts as a heartbeat
                except redis.RedisError:
                    continue  # Redis hiccuped; the next beat tries again

        thread = threading.Thread(target=beat, name="syncer-queue-heartbeat", daemon=True)
        thread.start()
        return thread


def open_queue(url: str, *, requeue_after: float = DEFAULT_REQUEUE_AFTER) -> Queue:
    """The queue at ``url``; ConfigError (exit 2) when the URL is bad or Redis does not answer."""
    parsed = QueueUrl.parse(url)
    try:
        client = redis.Redis.from_url(parsed.redis_url)
        client.ping()
    except (redis.RedisError, ValueError, TypeError) as err:
        first = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise ConfigError(
            f"the queue {mask_url(parsed.redis_url)} does not answer: {first}",
            hint="start Redis (redis-server) or fix --queue.",
        ) from None
    broker = RedisBroker(  # type: ignore[no-untyped-call]
        client=client,
        namespace=f"{parsed.prefix}:queue",
        middleware=[Retries(retry_when=_retry_when)],
        heartbeat_timeout=int(requeue_after * 1000),
        # every broker command also puts dead workers' tasks back (cheap: a look at the
        # heartbeats; the default, one command in a thousand, would leave them for minutes)
        maintenance_chance=MAINTENANCE_SCALE,
    )
    return Queue(parsed, client, broker, requeue_after)


def make_worker(queue: Queue, threads: int) -> Worker:
    """A Dramatiq worker on ``queue`` running ``threads`` tasks at once.

    It holds no more tasks than it has threads (Dramatiq prefetches twice as many: a task
    would wait behind a long run here while another worker sits idle), and looks at the queue
    every ``POLL_MS`` at most when it has room for a task (a run lasts seconds; a look is one
    small Redis command)."""
    worker = Worker(queue.broker, queues={QUEUE}, worker_threads=threads, worker_timeout=POLL_MS)
    worker.queue_prefetch = threads
    return worker


def _retry_when(retries: int, error: BaseException) -> bool:
    """Only a busy destination (``Retry``) is retried; a task's own failures are recorded as
    its run's outcome and the next scheduled run completes what is pending."""
    return isinstance(error, Retry) and retries < BUSY_RETRIES


def busy_retry() -> Retry:
    return Retry("the destination is being synced elsewhere", delay=int(BUSY_DELAY_SECONDS * 1000))
