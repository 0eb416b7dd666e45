"""Push: API calls against the minimum, and wall time under 100 ms of latency, per provider.

Calls: a first sync of ``adds`` customers (a plain id slice, every member sent, consent or not)
then a resync that drops every 20th (removes). The minimum per kind is ``ceil(changes /
batch_size)``; ``floor`` is what the provider's API makes possible at best (no bulk untag on
ActiveCampaign and Sendlane: one call per remove). ``routes`` says where every call went (the
emulator's own count per endpoint), which is what explains any excess.

Latency: a fresh tag, the emulator answering every call 100 ms late, ``latency_adds`` adds;
``ideal`` = calls x latency / max_concurrency (the adapter's allowed concurrency). Where the
provider's requests-per-second budget is the tighter bound, ``rate_bound`` = calls / rps says so.
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Any

from bench.data import Database, prepare
from bench.runner import Job, sync_once
from providers.registry import provider_class
from syncer.sample.emulated import LocalProviders

PROVIDERS = ("mailchimp", "activecampaign", "sendlane")
LATENCY = 0.1
REMOVE_EVERY = 20
BULK_REMOVE = {"mailchimp": True, "activecampaign": False, "sendlane": False}


def _minimum(changes: int, batch: int) -> int:
    return math.ceil(changes / batch) if changes else 0


def _routes(fleet: LocalProviders, provider: str, before: Counter[str]) -> dict[str, int]:
    now = fleet.emulators[provider].calls
    return {k: now[k] - before[k] for k in sorted(now) if now[k] - before[k]}


def calls(db: Database, size: int, provider: str, adds: int) -> dict[str, Any]:
    commerce = prepare(db, size)
    limits = provider_class(provider).limits
    out: dict[str, Any] = {"provider": provider, "batch_size": limits.batch_size}
    with LocalProviders([provider]) as fleet, db.scratch_state(f"push-{provider}") as state:
        url = fleet.api_url(provider)
        steps = (("adds", None), ("removes", REMOVE_EVERY))
        for kind, skip in steps:
            before = Counter(fleet.emulators[provider].calls)
            job = Job(
                commerce, state, provider, url, "bench slice", "bench-push",
                without_consent="non_subscribed", first=adds, skip_every=skip,
            )  # fmt: skip
            result = sync_once(job)
            changes = result["adds"] if kind == "adds" else result["removes"]
            minimum = _minimum(changes, limits.batch_size)
            floor = minimum if kind == "adds" or BULK_REMOVE[provider] else changes
            out[kind] = {
                "changes": changes,
                "calls": result["api_calls"],
                "minimum": minimum,
                "floor": floor,
                "ratio": round(result["api_calls"] / minimum, 2) if minimum else 0.0,
                "ratio_to_floor": round(result["api_calls"] / floor, 2) if floor else 0.0,
                "routes": _routes(fleet, provider, before),
                "outcome": result["outcome"],
                "seconds": result["seconds"],
            }
    return out


def latency(db: Database, size: int, provider: str, adds: int) -> dict[str, Any]:
    commerce = prepare(db, size)
    limits = provider_class(provider).limits
    with LocalProviders([provider]) as fleet, db.scratch_state(f"latency-{provider}") as state:
        fleet.set_faults(latency=LATENCY)
        before = Counter(fleet.emulators[provider].calls)
        job = Job(
            commerce, state, provider, fleet.api_url(provider), "bench slice", "bench-latency",
            without_consent="non_subscribed", first=adds,
        )  # fmt: skip
        result = sync_once(job)
        routes = _routes(fleet, provider, before)
    n = result["api_calls"]
    ideal = n * LATENCY / limits.max_concurrency
    rate_bound = n / limits.requests_per_second if limits.requests_per_second > 0 else 0.0
    wall = result["seconds"]
    return {
        "provider": provider,
        "adds": result["adds"],
        "calls": n,
        "latency_s": LATENCY,
        "max_concurrency": limits.max_concurrency,
        "requests_per_second": limits.requests_per_second,
        "wall_s": wall,
        "ideal_s": round(ideal, 3),
        "ratio": round(wall / ideal, 2) if ideal else 0.0,
        "rate_bound_s": round(rate_bound, 3),
        "ratio_to_bound": round(wall / max(ideal, rate_bound), 2) if n else 0.0,
        "routes": routes,
        "outcome": result["outcome"],
    }


def run(
    db: Database, size: int, *, adds: int, latency_adds: int, providers: tuple[str, ...]
) -> dict[str, Any]:
    data_size = max(size, adds, latency_adds)
    return {
        "calls": [calls(db, data_size, p, adds) for p in providers],
        "latency": [latency(db, data_size, p, latency_adds) for p in providers],
    }
