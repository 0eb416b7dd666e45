"""One Syncer sync against an emulator, in this process or in a fresh one (for peak memory).

    result = sync_once(Job(commerce_url=..., state_url=..., provider="mailchimp", api_url=...,
                           segment="VIP customers", tag="bench-vip"))
    result = sync_in_subprocess(job)   # same, in ``python -m bench.runner``; adds max_rss_mb

The engine is the real one (``SyncEngine``) with the real adapter, built from the emulator
account's demo credentials, as ``syncer sync`` would build it from a profile. ``Job.first``
and ``Job.skip_every`` replace the segment by a plain slice of the customers table (ids up to
``first``, minus every ``skip_every``-th), for the push measurements that need exact counts.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Select, select

from bench.evaluation import example_segments
from providers.base import OnLeave, Provider
from providers.registry import provider_class
from syncer.db import make_engine
from syncer.sample.emulated import ACCOUNTS
from syncer.schema import CUSTOMERS
from syncer.sync.engine import SyncEngine

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Job:
    commerce_url: str
    state_url: str
    provider: str
    api_url: str
    segment: str
    tag: str
    as_of: str = "2025-06-01T00:00:00+00:00"
    without_consent: str = "skip"
    first: int | None = None  # the customers with id <= first, instead of the segment
    skip_every: int | None = None  # ... minus every skip_every-th of them
    confirm_wait: float = 2.0


@dataclass(frozen=True)
class Target:
    """The destination (a ``DestinationLike``): the emulator account's list and a tag."""

    profile: str
    list: str
    tag: str
    on_leave: OnLeave = OnLeave.UNTAG
    without_consent: str = "skip"

    @property
    def key(self) -> str:
        return f"{self.profile}/{self.list}/{self.tag}"


@dataclass(frozen=True)
class Named:
    name: str


def build_provider(provider: str, api_url: str) -> Provider:
    account = ACCOUNTS[provider]
    return provider_class(provider).from_credentials(account.credentials, base_url=api_url)


def _slice(job: Job) -> Any:
    def query(_segment: Any, _segments: Mapping[str, Any], _as_of: datetime) -> Select[Any]:
        c = CUSTOMERS.c
        q = select(
            c.id.label("customer_id"), c.email, c.first_name, c.last_name, c.accepts_marketing
        ).where(c.id <= job.first)
        if job.skip_every:
            q = q.where(c.id % job.skip_every != 0)
        return q

    return query


def sync_once(job: Job) -> dict[str, Any]:
    """Sync ``job.segment`` once; the run's counts, seconds and outcome."""
    commerce = make_engine(job.commerce_url)
    state = make_engine(job.state_url)
    provider = build_provider(job.provider, job.api_url)
    options: dict[str, Any] = {"confirm_wait": job.confirm_wait}
    if job.first is not None:
        options["query"] = _slice(job)
        segment: Any = Named(job.segment)
        segments: Mapping[str, Any] = {}
    else:
        segments = example_segments()
        segment = segments[job.segment]
    engine = SyncEngine(commerce=commerce, state=state, providers=lambda _p: provider, **options)
    target = Target(
        f"bench-{job.provider}", ACCOUNTS[job.provider].list_id, job.tag,
        without_consent=job.without_consent,
    )  # fmt: skip
    try:
        result = engine.sync(
            segment,
            target,
            segments=segments or None,
            trigger="bench",
            as_of=datetime.fromisoformat(job.as_of),
        )
    finally:
        commerce.dispose()
        state.dispose()
    return {
        "outcome": result.outcome,
        "error": result.error,
        "adds": result.adds,
        "updates": result.updates,
        "removes": result.removes,
        "rejections": result.rejections,
        "api_calls": result.api_calls,
        "retries": result.retries,
        "rate_limited": result.rate_limited,
        "pending": result.pending,
        "seconds": round(result.seconds, 3),
    }


def max_rss_mb() -> float:
    """This process's peak resident set in MiB: VmHWM on Linux (ru_maxrss there survives exec,
    so a child forked from a big parent would report the parent's peak), else ru_maxrss."""
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def sync_in_subprocess(job: Job) -> dict[str, Any]:
    """``sync_once`` in a fresh ``python -m bench.runner``; adds its peak RSS (``max_rss_mb``)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [sys.executable, "-m", "bench.runner", json.dumps(asdict(job))],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise RuntimeError(f"bench sync of {job.segment!r} failed: {tail}")
    data: dict[str, Any] = json.loads(lines[-1])
    return data


def main(argv: list[str]) -> int:
    job = Job(**json.loads(argv[0]))
    data = sync_once(job)
    data["max_rss_mb"] = max_rss_mb()
    print(json.dumps(data))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
