"""Segment insights against counting the segment: ``syncer segments insights`` ÷ ``count``.

For every example segment, after one warm-up of each: the median of ``repeat`` timed runs of
the count query, of the insights without the overlap (every figure of one segment) and of the
full insights (plus the overlap: one query per other segment, so it grows with their number).
The target (``TARGET``: within 3x of the count) is for a 50,000-member segment over 1,000,000
customers.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from bench.evaluation import example_segments
from syncer.db import make_engine
from syncer.segments.compiler import count_query
from syncer.segments.insights import insights

TARGET = 3.0


def _median(run: Callable[[], Any], repeat: int) -> float:
    run()  # warm-up
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def measure(conn: Connection, name: str, as_of: datetime, repeat: int) -> dict[str, Any]:
    segments = example_segments()
    segment = segments[name]
    members = int(conn.execute(count_query(segment, segments, as_of=as_of)).scalar_one())
    count_s = _median(
        lambda: conn.execute(count_query(segment, segments, as_of=as_of)).all(), repeat
    )
    profile_s = _median(
        lambda: insights(conn, segment, segments, as_of=as_of, overlaps=False), repeat
    )
    full_s = _median(lambda: insights(conn, segment, segments, as_of=as_of), repeat)
    return {
        "segment": name,
        "members": members,
        "count_ms": round(count_s * 1000, 3),
        "insights_ms": round(profile_s * 1000, 3),
        "with_overlap_ms": round(full_s * 1000, 3),
        "ratio": round(profile_s / count_s, 3) if count_s > 0 else 1.0,
        "ratio_with_overlap": round(full_s / count_s, 3) if count_s > 0 else 1.0,
    }


def run(url: str, as_of: datetime, *, repeat: int = 3) -> list[dict[str, Any]]:
    """One entry per example segment: members, the three medians (ms) and the two ratios."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return [measure(conn, name, as_of, repeat) for name in example_segments()]
    finally:
        engine.dispose()
