"""Queue: the same destinations run by 1 and by 4 `syncer worker` processes on one Redis queue.

``destinations`` = segments x the three providers (24: 8 segments), ``members`` customers in
each segment, every emulator call ``latency`` late. The workers are started (and ready) before
the tasks are enqueued; the wall time is from the enqueue to the last run recorded ``ok``. The
emulators' per-account traffic of each measurement says whether the providers' limits held
(peak requests in flight, requests beyond the provider's per-second quota).

Two cases, each measured with 1 and with 4 workers:

- **one account per provider** (one shop): every Sendlane destination shares one account and its
  4 requests a second, so the busiest account's calls / its requests per second (``rate_bound_s``)
  is a floor no number of workers can go under: this case is rate-bound;
- **several shops** (``accounts`` > 1): the same segments spread over that many accounts per
  provider (segment i synced to shop i mod N's accounts), each account an emulator of its own
  with its own limits, kept by the workers and recorded by the emulator. The rate bound is N
  times lower, so it answers "do more workers go faster without exceeding any account's limit".

Redis: ``SYNCER_BENCH_REDIS_URL`` (default redis://127.0.0.1:6379/0), with a key prefix of its
own; a Redis that does not answer skips this measurement with the reason. ``busy_share`` is the
runs' summed durations / (workers x wall): the share of the time the workers spent inside a run
(the rest: waiting for a task, fetching it, starting it).
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager, nullcontext
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import redis
from sqlalchemy import insert, make_url, select

from providers.registry import provider_class
from syncer.db import make_engine
from syncer.queue.broker import open_queue
from syncer.queue.tasks import SyncTask, SyncTasks
from syncer.sample.emulated import ACCOUNTS, LocalProviders
from syncer.schema import CUSTOMERS, create_commerce_schema
from syncer.state.models import Run

ROOT = Path(__file__).resolve().parents[1]
PROVIDERS = tuple(ACCOUNTS)
LIMIT_IN_FLIGHT = {"mailchimp": 10}  # the provider's documented connections per account
RUNS = Run.__table__  # type: ignore[attr-defined]
# label -> a context giving an empty state database's URL (the bench's PostgreSQL, as a queue
# deployment's workers on several machines would share); None: SQLite next to the shop
StateDatabase = Callable[[str], AbstractContextManager[str]]
# Each shop's demo credentials (not secrets), as the emulator of that account accepts them.
CREDENTIALS = {
    "mailchimp": lambda shop: {"api_key": f"shop{shop}-us1"},
    "activecampaign": lambda shop: {"api_token": f"shop{shop}-token"},
    "sendlane": lambda shop: {"api_token": f"shop{shop}-token"},
}


@contextmanager
def _fleets(accounts: int) -> Iterator[list[LocalProviders]]:
    """One emulator per provider and shop. The per-second quotas are counted (``over_rate``),
    not enforced: an excess shows in the stats instead of turning into 429s."""
    with ExitStack() as stack:
        fleets = []
        for shop in range(accounts):
            options: dict[str, dict[str, Any]] = {p: CREDENTIALS[p](shop) for p in PROVIDERS}
            for p in PROVIDERS[1:]:
                options[p]["enforce_rate_limits"] = False
            fleets.append(stack.enter_context(LocalProviders(PROVIDERS, options=options)))
        yield fleets


def _profiles(fleets: list[LocalProviders]) -> str:
    lines = ["profiles:"]
    for shop, fleet in enumerate(fleets):
        for p in PROVIDERS:
            creds = {**ACCOUNTS[p].credentials, **CREDENTIALS[p](shop)}
            lines += [f"  shop{shop}-{p}:", f"    provider: {p}", "    credentials:"]
            for key, value in creds.items():
                lines.append(
                    f"      {key}: ${{BENCH_SHOP{shop}_{p.upper()}_{key.upper()}:-{value}}}"
                )
            lines.append(f"    base_url: {fleet.api_url(p)}")
    return "\n".join(lines) + "\n"


def _config(folder: Path, segments: int, fleets: list[LocalProviders]) -> list[tuple[str, str]]:
    (folder / "segments").mkdir(parents=True)
    (folder / "profiles.yaml").write_text(_profiles(fleets))
    pairs = []
    for i in range(segments):
        name, tag, shop = f"Q{i}", f"q{i}", i % len(fleets)
        lines = [
            f"name: {name}",
            "rules:",
            f"  all: [{{field: loyalty_card, op: eq, value: {name}}}]",
        ]
        lines.append("destinations:")
        for p in PROVIDERS:
            lines += [
                f"  - profile: shop{shop}-{p}",
                f'    list: "{ACCOUNTS[p].list_id}"',
                f"    tag: {tag}",
            ]
            pairs.append((name, f"shop{shop}-{p}/{ACCOUNTS[p].list_id}/{tag}"))
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


def _wait_done(url: str, pairs: list[tuple[str, str]], started: float, log: Path) -> None:
    engine = make_engine(url)
    wanted = set(pairs)
    try:
        while True:
            try:
                with engine.connect() as conn:
                    ok = {(r.segment, r.destination) for r in conn.execute(
                        select(RUNS.c.segment, RUNS.c.destination).where(RUNS.c.outcome == "ok")
                    )}  # fmt: skip
            except Exception:  # the state tables are not created yet
                ok = set()
            if wanted <= ok:
                return
            if time.perf_counter() - started > 900:
                raise RuntimeError(f"not done in 900 s: {log.read_text()[-500:]}")
            time.sleep(0.05)
    finally:
        engine.dispose()


def _run_times(url: str, enqueued: datetime) -> tuple[list[float], list[float], list[float]]:
    """Each run's duration as the state database recorded it, and each gap in a worker between
    the end of a run and the start of its next (taking the task, reading the config, compiling
    the segment's query), and each worker's wait from the enqueue to its first run."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                select(RUNS.c.owner, RUNS.c.started_at, RUNS.c.finished_at).order_by(
                    RUNS.c.started_at
                )
            ).all()
    finally:
        engine.dispose()
    durations = [(f - s).total_seconds() for _o, s, f in rows if f is not None]
    gaps: list[float] = []
    firsts: list[float] = []
    last: dict[str, datetime] = {}
    for owner, started, finished in rows:
        worker = owner.split(":")[1]
        if worker in last:
            gaps.append((started - last[worker]).total_seconds())
        else:
            at = started if started.tzinfo else started.replace(tzinfo=UTC)
            firsts.append((at - enqueued).total_seconds())
        last[worker] = finished or started
    return durations, gaps, firsts


def measure(
    workers: int,
    queue_url: str,
    segments: int,
    members: int,
    latency: float,
    accounts: int = 1,
    state: StateDatabase | None = None,
) -> dict[str, Any]:
    label = f"queue_{uuid.uuid4().hex[:8]}"
    with (
        tempfile.TemporaryDirectory(prefix="syncer-bench-queue-") as tmp,
        _fleets(accounts) as fleets,
        nullcontext(None) if state is None else state(label) as state_url,
    ):
        folder = Path(tmp)
        url = f"sqlite:///{folder / 'shop.db'}"
        pairs = _config(folder / "config", segments, fleets)
        _shop(url, segments, members)
        env = {**os.environ, "SYNCER_DATABASE_URL": url}
        env.pop("SYNCER_STATE_URL", None)
        if state_url is not None:
            env["SYNCER_STATE_URL"] = state_url
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
            for fleet in fleets:
                fleet.set_faults(latency=latency)
            queue = open_queue(queue_url)
            tasks = SyncTasks(queue.broker)
            started = time.perf_counter()
            enqueued = datetime.now(UTC)
            cpu0 = time.process_time()  # this process: the emulators serving
            for segment, destination in pairs:
                tasks.enqueue(SyncTask(segment, destination, trigger="bench"))
            _wait_done(state_url or url, pairs, started, logs[0])
            wall = time.perf_counter() - started
            emulators_cpu = time.process_time() - cpu0
            queue.broker.close()
            traffic: dict[str, dict[str, Any]] = {}
            for shop, fleet in enumerate(fleets):
                for name, emulator in fleet.emulators.items():
                    counted: dict[str, Any] = next(iter(emulator.stats()["accounts"].values()), {})
                    traffic[f"{name}/shop{shop}"] = {"provider": name, **counted}
            runs, gaps, firsts = _run_times(state_url or url, enqueued)
        finally:
            children0 = resource.getrusage(resource.RUSAGE_CHILDREN)
            for p in procs:
                p.terminate()
            for p in procs:
                p.wait(timeout=60)
            children = resource.getrusage(resource.RUSAGE_CHILDREN)
    workers_cpu = sum(
        getattr(children, f) - getattr(children0, f) for f in ("ru_utime", "ru_stime")
    )
    return {
        "workers": workers,
        "accounts": accounts,
        "state": "sqlite" if state_url is None else make_url(state_url).get_backend_name(),
        "destinations": len(pairs),
        "wall_s": round(wall, 2),
        "runs": len(runs),
        "run_s_mean": round(sum(runs) / max(len(runs), 1), 3),
        "busy_share": round(sum(runs) / (workers * wall), 2),
        "between_runs_s_mean": round(sum(gaps) / max(len(gaps), 1), 3),
        "first_run_after_s_mean": round(sum(firsts) / max(len(firsts), 1), 3),
        # CPU seconds: the workers' whole lives (start-up included), the emulators' during the run
        "workers_cpu_s": round(workers_cpu, 1),
        "emulators_cpu_s": round(emulators_cpu, 1),
        "traffic": traffic,
    }


def _rate_bound(traffic: dict[str, Any]) -> float:
    """The least wall time the accounts' per-second limits allow: the busiest account's calls /
    its requests per second (each account's limits are its own)."""
    bounds = [0.0]
    for counted in traffic.values():
        rate = provider_class(counted["provider"]).limits.requests_per_second
        if rate > 0:
            counted["rate_bound_s"] = round(counted.get("calls", 0) / rate, 2)
            bounds.append(counted["rate_bound_s"])
    return round(max(bounds), 2)


def _within_limits(counted: dict[str, Any]) -> bool:
    peak = int(counted.get("peak_in_flight", 0))
    return int(counted.get("over_rate", 0)) == 0 and peak <= LIMIT_IN_FLIGHT.get(
        counted["provider"], peak
    )


def run(
    *,
    workers: tuple[int, ...] = (1, 4),
    accounts: tuple[int, ...] = (1, 3),
    segments: int = 8,
    members: int = 150,
    latency: float = 0.1,
    state: StateDatabase | None = None,
) -> dict[str, Any]:
    """Each case (accounts per provider) with each number of workers, and the speedups;
    ``skipped`` (with the reason) without Redis."""
    url = os.environ.get("SYNCER_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
    prefix = f"bench{uuid.uuid4().hex[:8]}"
    client = redis.Redis.from_url(url)
    try:
        client.ping()
    except redis.RedisError as err:
        return {"skipped": f"Redis at {url} does not answer ({err}); set SYNCER_BENCH_REDIS_URL"}
    shops = sorted({min(max(a, 1), segments) for a in accounts})
    cases: list[dict[str, Any]] = []
    try:
        for n_accounts in shops:
            rows = []
            for n in workers:
                queue_url = f"{url}{'&' if '?' in url else '?'}prefix={prefix}a{n_accounts}w{n}"
                rows.append(measure(n, queue_url, segments, members, latency, n_accounts, state))
            cases.append({"accounts": n_accounts, "runs": rows})
    finally:
        keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
        if keys:
            client.delete(*keys)
    for case in cases:
        for row in case["runs"]:
            row["rate_bound_s"] = _rate_bound(row["traffic"])
            row["within_limits"] = all(_within_limits(t) for t in row["traffic"].values())
        runs = case["runs"]
        case["speedup"] = round(runs[0]["wall_s"] / runs[-1]["wall_s"], 2)
        # the best speedup the rate bound allows, 1 worker's time / the bound
        case["speedup_bound"] = round(runs[0]["wall_s"] / max(runs[-1]["rate_bound_s"], 1e-9), 2)
    return {
        "members_per_segment": members,
        "latency": latency,
        "segments": segments,
        "cases": cases,
    }
