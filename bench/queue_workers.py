"""Queue: the same destinations run by 1 and by 4 `syncer worker` processes on one Redis queue.

``destinations`` = segments x the three providers (24: 8 segments), ``members`` customers in
each segment, every emulator call ``latency`` late. The workers are started (and ready) before
the tasks are enqueued; the wall time is from the enqueue to the last run recorded ``ok``. The
emulators' per-account traffic of each measurement says whether the providers' limits held
(peak requests in flight, requests beyond the provider's per-second quota).

Redis: ``SYNCER_BENCH_REDIS_URL`` (default redis://127.0.0.1:6379/0), with a key prefix of its
own; a Redis that does not answer skips this measurement with the reason. ``rate_bound_s`` is
the least wall time the accounts' per-second limits allow (the busiest account's calls / its
requests per second): past it, more workers cannot help.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import redis
from sqlalchemy import insert, select

from providers.registry import provider_class
from syncer.db import make_engine
from syncer.queue.broker import open_queue
from syncer.queue.tasks import SyncTask, SyncTasks
from syncer.sample.emulated import ACCOUNTS, LocalProviders, profiles_yaml
from syncer.schema import CUSTOMERS, create_commerce_schema
from syncer.state.models import Run

ROOT = Path(__file__).resolve().parents[1]
PROVIDERS = tuple(ACCOUNTS)
LIMIT_IN_FLIGHT = {"mailchimp": 10}  # the provider's documented connections per account
RUNS = Run.__table__  # type: ignore[attr-defined]


def _config(folder: Path, segments: int) -> list[tuple[str, str]]:
    (folder / "segments").mkdir(parents=True)
    (folder / "profiles.yaml").write_text(profiles_yaml(PROVIDERS))
    pairs = []
    for i in range(segments):
        name = f"Q{i}"
        lines = [
            f"name: {name}",
            "rules:",
            f"  all: [{{field: loyalty_card, op: eq, value: {name}}}]",
        ]
        lines.append("destinations:")
        for p in PROVIDERS:
            tag = f"q{i}"
            lines += [
                f"  - profile: demo-{p}",
                f'    list: "{ACCOUNTS[p].list_id}"',
                f"    tag: {tag}",
            ]
            pairs.append((name, f"demo-{p}/{ACCOUNTS[p].list_id}/{tag}"))
        (folder / "segments" / f"q{i}.yaml").write_text("\n".join(lines) + "\n")
    return pairs


def _shop(url: str, segments: int, members: int) -> None:
    engine = make_engine(url)
    create_commerce_schema(engine)
    created = datetime(2025, 1, 1, tzinfo=UTC)
    rows = [
        {"id": i + 1, "email": f"q{i + 1}@example.com", "first_name": f"F{i}", "last_name": "L",
         "loyalty_card": f"Q{i % segments}", "accepts_marketing": True, "created_at": created}
        for i in range(segments * members)
    ]  # fmt: skip
    with engine.begin() as conn:
        conn.execute(insert(CUSTOMERS), rows)
    engine.dispose()


def measure(
    workers: int, queue_url: str, segments: int, members: int, latency: float
) -> dict[str, Any]:
    with (
        tempfile.TemporaryDirectory(prefix="syncer-bench-queue-") as tmp,
        LocalProviders(
            PROVIDERS, options={p: {"enforce_rate_limits": False} for p in PROVIDERS[1:]}
        ) as fleet,
    ):
        folder = Path(tmp)
        url = f"sqlite:///{folder / 'shop.db'}"
        pairs = _config(folder / "config", segments)
        _shop(url, segments, members)
        env = {**os.environ, **fleet.env, "SYNCER_DATABASE_URL": url}
        env["SYNCER_CONFIG_DIR"] = str(folder / "config")
        logs = [folder / f"worker-{i}.log" for i in range(workers)]
        procs = []
        for log in logs:
            with open(log, "w") as out:
                procs.append(subprocess.Popen(
                    [sys.executable, "-m", "syncer", "worker", "--queue", queue_url],
                    cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                ))  # fmt: skip
        try:
            deadline = time.monotonic() + 120
            while not all("worker_starting" in log.read_text() for log in logs):
                if time.monotonic() > deadline or any(p.poll() is not None for p in procs):
                    raise RuntimeError(f"the workers did not start: {logs[0].read_text()[-500:]}")
                time.sleep(0.1)
            fleet.set_faults(latency=latency)
            queue = open_queue(queue_url)
            tasks = SyncTasks(queue.broker)
            started = time.perf_counter()
            for segment, destination in pairs:
                tasks.enqueue(SyncTask(segment, destination, trigger="bench"))
            engine = make_engine(url)
            wanted = set(pairs)
            while True:
                try:
                    with engine.connect() as conn:
                        ok = {(r.segment, r.destination) for r in conn.execute(
                            select(RUNS.c.segment, RUNS.c.destination).where(RUNS.c.outcome == "ok")
                        )}  # fmt: skip
                except Exception:  # the state tables are not created yet
                    ok = set()
                if wanted <= ok:
                    break
                if time.perf_counter() - started > 900:
                    raise RuntimeError(f"not done in 900 s: {logs[0].read_text()[-500:]}")
                time.sleep(0.05)
            wall = time.perf_counter() - started
            engine.dispose()
            queue.broker.close()
            traffic: dict[str, dict[str, Any]] = {
                p: next(iter(e.stats()["accounts"].values()), {})
                for p, e in fleet.emulators.items()
            }
        finally:
            for p in procs:
                p.terminate()
            for p in procs:
                p.wait(timeout=60)
    return {
        "workers": workers,
        "destinations": len(pairs),
        "wall_s": round(wall, 2),
        "traffic": traffic,
    }


def run(
    *,
    workers: tuple[int, ...] = (1, 4),
    segments: int = 8,
    members: int = 150,
    latency: float = 0.1,
) -> dict[str, Any]:
    """Both measurements and their ratio; ``skipped`` (with the reason) without Redis."""
    url = os.environ.get("SYNCER_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
    prefix = f"bench{uuid.uuid4().hex[:8]}"
    client = redis.Redis.from_url(url)
    try:
        client.ping()
    except redis.RedisError as err:
        return {"skipped": f"Redis at {url} does not answer ({err}); set SYNCER_BENCH_REDIS_URL"}
    try:
        rows = [
            measure(
                n,
                f"{url}{'&' if '?' in url else '?'}prefix={prefix}{n}",
                segments,
                members,
                latency,
            )
            for n in workers
        ]
    finally:
        keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
        if keys:
            client.delete(*keys)
    for row in rows:
        # the accounts' per-second limits make this the least wall time possible
        row["rate_bound_s"] = round(max(
            t.get("calls", 0) / provider_class(p).limits.requests_per_second
            for p, t in row["traffic"].items()
            if provider_class(p).limits.requests_per_second > 0
        ), 2)  # fmt: skip
        row["within_limits"] = all(
            t.get("over_rate", 0) == 0
            and t.get("peak_in_flight", 0) <= LIMIT_IN_FLIGHT.get(p, t.get("peak_in_flight", 0))
            for p, t in row["traffic"].items()
        )
    return {
        "members_per_segment": members,
        "latency": latency,
        "runs": rows,
        "speedup": round(rows[0]["wall_s"] / rows[-1]["wall_s"], 2),
    }
