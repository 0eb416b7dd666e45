"""The queue end to end: Redis (SYNCER_TEST_REDIS_URL), `syncer worker` processes, the three
emulators and a shop whose segments are loyalty cards, each synced to every provider.

``QueueShop`` is one deployment: a commerce database (SQLite, or PostgreSQL when
SYNCER_TEST_POSTGRES_URL is set: several processes write its state), a config folder with one
segment per card and one destination per provider on each, workers started as processes, and
tasks enqueued the way `syncer schedule --queue` does.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from providers.base import Destination
from syncer.db import make_engine
from syncer.profiles import load_profiles
from syncer.queue.broker import open_queue
from syncer.queue.tasks import SyncTask, SyncTasks
from syncer.sample.emulated import ACCOUNTS, LocalProviders, profiles_yaml
from syncer.state.store import MEMBERS
from tests.dbs import scratch_database
from tests.redisdb import ScratchRedis, scratch_redis
from tests.sync.fakes import Shop

ROOT = Path(__file__).resolve().parents[2]
PROVIDERS = tuple(ACCOUNTS)
# The providers' own limits, as the emulators count them (Mailchimp: connections; the others'
# per-second quotas are counted by the emulator: ``over_rate``).
MAX_CONNECTIONS = {"mailchimp": 10}

SEGMENT = """\
name: {card}
rules:
  all:
    - {{field: loyalty_card, op: eq, value: {card}}}
destinations:
{destinations}
"""
DESTINATION = """\
  - profile: demo-{provider}
    list: "{list_id}"
    tag: {tag}
"""


@pytest.fixture
def scratch() -> Iterator[ScratchRedis]:
    with scratch_redis() as found:
        yield found


@pytest.fixture
def db_url(tmp_path: Path) -> Iterator[str]:
    backend = "postgresql" if os.environ.get("SYNCER_TEST_POSTGRES_URL") else "sqlite"
    with scratch_database(backend, tmp_path) as url:
        yield url


class QueueShop:
    def __init__(
        self, tmp_path: Path, db_url: str, scratch: ScratchRedis, fleet: LocalProviders
    ) -> None:
        self.tmp = tmp_path
        self.db_url = db_url
        self.redis = scratch
        self.fleet = fleet
        self.engine = make_engine(db_url)
        self.shop = Shop(self.engine)
        self.config = tmp_path / "config"
        (self.config / "segments").mkdir(parents=True)
        (self.config / "profiles.yaml").write_text(profiles_yaml(PROVIDERS))
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("SYNCER_")},
            **fleet.env,
            "SYNCER_DATABASE_URL": db_url,
            "SYNCER_CONFIG_DIR": str(self.config),
        }
        self.queue = open_queue(scratch.queue_url)
        self.tasks = SyncTasks(self.queue.broker)
        self.workers: list[subprocess.Popen[str]] = []
        self.segments: dict[str, list[str]] = {}  # card -> destination keys

    def add_segment(self, card: str, providers: tuple[str, ...] = PROVIDERS) -> None:
        tag = card.lower()
        dests = "".join(
            DESTINATION.format(provider=p, list_id=ACCOUNTS[p].list_id, tag=tag) for p in providers
        )
        text = SEGMENT.format(card=card, destinations=dests.rstrip("\n"))
        (self.config / "segments" / f"{tag}.yaml").write_text(text)
        self.segments[card] = [f"demo-{p}/{ACCOUNTS[p].list_id}/{tag}" for p in providers]

    def spawn_worker(self, *args: str) -> subprocess.Popen[str]:
        with open(self.tmp / f"worker-{len(self.workers)}.log", "w") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", "syncer", "worker", "--queue", self.redis.queue_url, *args],
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                text=True,
            )
        self.workers.append(proc)
        return proc

    def logs(self) -> str:
        return "\n".join(p.read_text()[-3000:] for p in sorted(self.tmp.glob("worker-*.log")))

    def enqueue_all(self) -> None:
        for card, keys in self.segments.items():
            for key in keys:
                self.tasks.enqueue(SyncTask(card, key))

    def runs(self) -> list[Any]:
        """Every run recorded in the state database ([] before its tables exist)."""
        from syncer.state.models import Run

        table = Run.__table__  # type: ignore[attr-defined]
        try:
            with self.engine.connect() as conn:
                return list(conn.execute(select(table)).mappings())
        except Exception:  # the tables are not created yet
            return []

    def settled(self) -> int:
        try:
            with self.engine.connect() as conn:
                return len(conn.execute(select(MEMBERS.c.customer_id)).all())
        except Exception:
            return 0

    def all_done(self) -> bool:
        ok = {(r["segment"], r["destination"]) for r in self.runs() if r["outcome"] == "ok"}
        return all((card, key) in ok for card, keys in self.segments.items() for key in keys)

    def wait(self, done: Callable[[], bool], seconds: float, what: str) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if done():
                return
            dead = [p for p in self.workers if p.poll() not in (None, -9)]
            assert not dead, f"a worker exited: {self.logs()}"
            time.sleep(0.2)
        raise AssertionError(f"{what} not within {seconds:g} s: {self.logs()}")

    def stop_workers(self) -> None:
        for proc in self.workers:
            if proc.poll() is None:
                proc.terminate()
        for proc in self.workers:
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def members(self, provider: str, card: str) -> list[str]:
        """Who carries the segment's tag, as the provider answers (every address as listed)."""
        profile = load_profiles(self.config / "profiles.yaml", self.env)[f"demo-{provider}"]
        client = profile.build()
        return list(client.read_members(Destination(ACCOUNTS[provider].list_id, card.lower())))

    def desired(self, card: str) -> set[str]:
        return self.shop.desired_emails(card)


@pytest.fixture
def fleet() -> Iterator[LocalProviders]:
    # the providers' rate quotas are counted (``over_rate``), not enforced: an excess shows in
    # the stats instead of turning into 429s and Retry-After pauses
    options = {p: {"enforce_rate_limits": False} for p in ("activecampaign", "sendlane")}
    with LocalProviders(PROVIDERS, options=options) as running:
        yield running


@pytest.fixture
def queue_shop(
    tmp_path: Path,
    db_url: str,
    scratch: ScratchRedis,
    fleet: LocalProviders,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[QueueShop]:
    for key, value in fleet.env.items():
        monkeypatch.setenv(key, value)
    shop = QueueShop(tmp_path, db_url, scratch, fleet)
    try:
        yield shop
    finally:
        shop.stop_workers()
        shop.queue.broker.close()
        shop.engine.dispose()
