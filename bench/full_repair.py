"""``sync --full`` against its ideal: reading the provider's tagged members, plus the diff.

For each provider: ``members`` customers (a plain id slice, every one sent) are synced to a fresh
tag on the emulator, then a settling run confirms what an asynchronous provider queued. Then,
nothing having changed:

- ``full``: one ``sync --full`` run (the engine's, as the CLI runs it): its wall time and calls;
- ``ideal``: a fresh provider of the same account just paging through the tag's members
  (``read_members``, at the provider's largest page size), and nothing else: its time and calls;
- ``diff``: one plain sync (the diff and nothing to send): what ``--full`` adds to it should be
  the tagged read, no more.

The three are measured ``repeat`` times in turn (default 3) and their medians kept: one run of
each at 22,000 members takes about a second, and alone moved by 30 % between rounds.

The emulator serves from a process of its own (``syncer emulator serve``), as a provider does:
in this process its thread would build every answer on the interpreter lock the sync's own
staging needs, a cost the ideal read (nothing else running) does not pay.

``ratio`` = full / (ideal + diff) for the wall time (target: at most 1.3), and full calls /
ideal calls. ``latency`` (seconds per emulator answer, default 0: the emulator's own speed)
makes the tagged read's share what it is against a real API.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import select

from bench.data import Database, prepare
from bench.runner import build_provider
from providers.base import Destination
from syncer.db import make_engine
from syncer.errors import SyncerError
from syncer.sample.emulated import ACCOUNTS
from syncer.schema import CUSTOMERS
from syncer.segments.compiler import MEMBER_COLUMNS
from syncer.segments.model import DestinationConfig
from syncer.sync.engine import SyncEngine

PROVIDERS = ("mailchimp", "activecampaign", "sendlane")
TAG = "bench-full"


@contextmanager
def served(provider: str) -> Iterator[str]:
    """The provider's emulator in a process of its own (any free port); yields its server URL.
    Its errors go to a file, not a pipe nobody reads while it serves."""
    args = [sys.executable, "-m", "syncer", "emulator", "serve", "--provider", provider]
    with tempfile.TemporaryFile("w+") as errors:
        proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=errors, text=True)
        try:
            assert proc.stdout is not None
            first = proc.stdout.readline().strip()  # "<provider> emulator listening on <url>"
            if " on http" not in first:
                proc.wait(timeout=10)
                errors.seek(0)
                why = first or errors.read().strip() or f"exit {proc.returncode}"
                raise SyncerError(f"emulator {provider} did not start: {why}")
            yield first.rsplit(" ", 1)[1]
        finally:
            proc.terminate()
            proc.wait(timeout=10)
            if proc.stdout is not None:
                proc.stdout.close()


def set_latency(server: str, latency: float) -> None:
    """Every answer of the emulator at ``server`` ``latency`` seconds late (its faults route)."""
    body = json.dumps({"latency": latency}).encode()
    url = f"{server}/__emulator/faults"
    request = urllib.request.Request(url, data=body, method="POST")
    request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            answer.read()
    except (OSError, ValueError) as err:  # URLError and HTTPError are OSErrors
        raise SyncerError(
            f"POST {url}: the emulator did not take latency {latency}: {err}"
        ) from err


def measure(
    db: Database,
    size: int,
    provider: str,
    members: int,
    *,
    latency: float = 0.0,
    repeat: int = 3,
) -> dict[str, Any]:
    commerce_url = prepare(db, size)
    slice_ = select(*MEMBER_COLUMNS).where(CUSTOMERS.c.id <= members)
    with served(provider) as server, db.scratch_state(f"full-{provider}") as state_url:
        api = server + ACCOUNTS[provider].api_root
        commerce, state = make_engine(commerce_url), make_engine(state_url)
        client = build_provider(provider, api)
        engine = SyncEngine(
            commerce=commerce, state=state, providers=lambda _p: client, confirm_wait=2.0
        )
        target = DestinationConfig(
            profile=f"bench-{provider}", list=ACCOUNTS[provider].list_id, tag=TAG,
            without_consent="non_subscribed",
        )  # fmt: skip
        diff_s, full_s, ideal_s = [], [], []
        try:
            first = engine.sync("bench full", target, slice_, trigger="bench")
            engine.sync("bench full", target, slice_, trigger="bench")  # settles queued adds
            set_latency(server, latency)
            for _ in range(max(1, repeat)):
                diff_run = engine.sync("bench full", target, slice_, trigger="bench")
                full_run = engine.sync("bench full", target, slice_, trigger="bench", full=True)
                reader = build_provider(provider, api)
                t0 = time.perf_counter()
                tagged = sum(1 for _ in reader.read_members(Destination(target.list, TAG)))
                ideal_s.append(time.perf_counter() - t0)
                diff_s.append(diff_run.seconds)
                full_s.append(full_run.seconds)
        finally:
            commerce.dispose()
            state.dispose()
    ideal_calls = reader.stats.calls
    full, ideal, diff = (statistics.median(x) for x in (full_s, ideal_s, diff_s))
    bound = ideal + diff
    return {
        "provider": provider,
        "members": members,
        "tagged": tagged,
        "first_sync": first.outcome,
        "latency_s": latency,
        "full_s": round(full, 3),
        "full_calls": full_run.api_calls,
        "full_outcome": full_run.outcome,
        "full_changes": full_run.adds + full_run.updates + full_run.removes,
        "ideal_s": round(ideal, 3),
        "ideal_calls": ideal_calls,
        "diff_s": round(diff, 3),
        "ratio": round(full / bound, 2) if bound else 0.0,
        "calls_ratio": round(full_run.api_calls / ideal_calls, 2) if ideal_calls else 0.0,
        "repeat": len(full_s),
    }


def run(
    db: Database,
    size: int,
    *,
    members: int,
    providers: tuple[str, ...] = PROVIDERS,
    latency: float = 0.0,
    repeat: int = 3,
) -> list[dict[str, Any]]:
    n = min(members, size)
    return [measure(db, size, p, n, latency=latency, repeat=repeat) for p in providers]


def main(argv: list[str] | None = None) -> int:
    """``python -m bench.full_repair [--size N] [--members M] [--databases ...]``."""
    import argparse

    from bench import report
    from bench.data import databases

    parser = argparse.ArgumentParser(prog="python -m bench.full_repair", description=__doc__)
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--members", type=int, default=22_000)
    parser.add_argument("--databases", default="postgresql")
    parser.add_argument("--providers", default=",".join(PROVIDERS))
    parser.add_argument("--latency", type=float, default=0.0)
    parser.add_argument("--repeat", type=int, default=3, help="rounds; medians kept")
    args = parser.parse_args(argv)
    providers = tuple(p for p in args.providers.split(",") if p)
    for db in databases([d for d in args.databases.split(",") if d]):
        rows = run(
            db, args.size, members=args.members, providers=providers, latency=args.latency,
            repeat=args.repeat,
        )  # fmt: skip
        report.full_repair(db.kind, rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
