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
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import Select, select

from bench.evaluation import example_segments
from providers.base import Provider
from providers.registry import provider_class
from syncer.db import make_engine
from syncer.sample.emulated import ACCOUNTS
from syncer.schema import CUSTOMERS
from syncer.segments.compiler import MEMBER_COLUMNS, members_query
from syncer.segments.model import DestinationConfig
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
    without_consent: Literal["skip", "non_subscribed"] = "skip"
    first: int | None = None  # the customers with id <= first, instead of the segment
    skip_every: int | None = None  # ... minus every skip_every-th of them
    confirm_wait: float = 2.0


def build_provider(provider: str, api_url: str) -> Provider:
    account = ACCOUNTS[provider]
    return provider_class(provider).from_credentials(account.credentials, base_url=api_url)


def _members(job: Job) -> Select[Any]:
    """The segment's compiled members query, or the slice ``Job.first``/``skip_every`` ask for."""
    if job.first is None:
        segments = example_segments()
        as_of = datetime.fromisoformat(job.as_of)
        return members_query(segments[job.segment], segments, as_of=as_of)
    c = CUSTOMERS.c
    q = select(*MEMBER_COLUMNS).where(c.id <= job.first)
    if job.skip_every:
        q = q.where(c.id % job.skip_every != 0)
    return q


def sync_once(job: Job) -> dict[str, Any]:
    """Sync ``job.segment`` once; the run's counts, seconds and outcome."""
    commerce = make_engine(job.commerce_url)
    state = make_engine(job.state_url)
    provider = build_provider(job.provider, job.api_url)
    engine = SyncEngine(
        commerce=commerce,
        state=state,
        providers=lambda _p: provider,
        confirm_wait=job.confirm_wait,
    )
    target = DestinationConfig(
        profile=f"bench-{job.provider}", list=ACCOUNTS[job.provider].list_id, tag=job.tag,
        without_consent=job.without_consent,
    )  # fmt: skip
    try:
        result = engine.sync(job.segment, target, _members(job), trigger="bench")
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
