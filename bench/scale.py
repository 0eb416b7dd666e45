"""Scale: first sync and no-change resync of three segments (large, medium, small audiences) to
the Mailchimp emulator, each run in a fresh process so its peak RSS is its own.

Measured at ``size`` and at a reference size (``size // 10``) in the same run, so the ratios
size/reference hold on a noisy machine: time should grow like the data (ratio ~ size/reference,
not more), peak memory not at all (~1).
"""

from __future__ import annotations

from typing import Any

from bench.data import Database, prepare
from bench.runner import Job, sync_in_subprocess
from syncer.sample.emulated import LocalProviders

# large (~half the customers), medium (~a fifth), small (~1-2%)
SEGMENTS = ("Product on sale", "Highlight a product", "VIP customers")
PROVIDER = "mailchimp"


def reference_size(size: int) -> int:
    """A tenth of ``size``: 10,000,000 is measured against 1,000,000, 1,000,000 against 100,000."""
    return max(1, size // 10)


def _slug(name: str) -> str:
    return "-".join(name.lower().split())


def measure(db: Database, size: int, segments: tuple[str, ...] = SEGMENTS) -> list[dict[str, Any]]:
    """One row per segment: first sync and resync (seconds, calls, peak RSS MiB)."""
    commerce = prepare(db, size)
    rows: list[dict[str, Any]] = []
    with LocalProviders([PROVIDER]) as fleet, db.scratch_state(f"scale-{size}") as state:
        for name in segments:
            job = Job(commerce, state, PROVIDER, fleet.api_url(PROVIDER), name, _slug(name))
            first = sync_in_subprocess(job)
            again = sync_in_subprocess(job)
            rows.append(
                {
                    "size": size,
                    "segment": name,
                    "adds": first["adds"],
                    "first_seconds": first["seconds"],
                    "first_calls": first["api_calls"],
                    "first_rss_mb": first["max_rss_mb"],
                    "first_outcome": first["outcome"],
                    "resync_seconds": again["seconds"],
                    "resync_calls": again["api_calls"],
                    "resync_rss_mb": again["max_rss_mb"],
                    "resync_changes": again["adds"] + again["removes"] + again["updates"],
                }
            )
    return rows


def ratios(big: list[dict[str, Any]], small: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per segment: big/small for first-sync and resync time and peak RSS."""
    out: list[dict[str, Any]] = []
    for b, s in zip(big, small, strict=True):

        def r(key: str, b: dict[str, Any] = b, s: dict[str, Any] = s) -> float:
            return round(b[key] / s[key], 2) if s[key] else 0.0

        out.append(
            {
                "segment": b["segment"],
                "sizes": f"{b['size']}/{s['size']}",
                "first_time": r("first_seconds"),
                "resync_time": r("resync_seconds"),
                "first_rss": r("first_rss_mb"),
                "resync_rss": r("resync_rss_mb"),
            }
        )
    return out


def run(db: Database, size: int, *, segments: int = len(SEGMENTS)) -> dict[str, Any]:
    """``segments``: how many of ``SEGMENTS`` to measure (the smoke test takes one)."""
    chosen = SEGMENTS[: max(1, segments)]
    big = measure(db, size, chosen)
    ref = reference_size(size)
    small = measure(db, ref, chosen)
    return {
        "size": size,
        "reference": ref,
        "rows": small + big,
        "ratios": ratios(big, small),
        "time_target": round(size / ref, 2),
        "rss_target": 1.0,
    }
