"""Segment insights against counting the segment: ``syncer segments insights`` ÷ ``count``.

    python -m bench.insights --size 1000000 --databases postgresql [--segments "Abandoned cart"]

(also part of ``python -m bench --size N``, i.e. ``make bench``). For every example segment,
after one warm-up of each, the median of ``repeat`` timed runs of:

* count: the segment's ``count_query`` (one evaluation over every customer);
* insights: ``insights(..., overlaps=False)``: the members evaluated once into a temporary
  table, then the profile (sizes, totals, histograms, quantiles: one query), the top products,
  collections, vendors and countries, and the devices, each over the members only;
* with overlap: the full ``insights``, i.e. the above plus, for each other example segment, how
  many members are also in it (its rule evaluated over the members only, one query each);
* exact: the full ``insights`` over every member (``sample=None``, ``--exact``); the two above
  read a sample of ``SAMPLE`` members of a larger segment, as ``segments insights`` does
  unless asked for ``--exact``.

The ratios are insights ÷ count, with overlap ÷ count and exact ÷ count, within one run. The target
(``TARGET``: the full insights within 3x of the count) is for a 50,000-member segment over
1,000,000 customers ("Product A or B buyers" and "Abandoned cart" at that size).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from bench import report, targets
from bench.data import AS_OF, DATABASES, databases, prepare
from bench.evaluation import example_segments
from syncer.db import make_engine
from syncer.errors import SyncerError
from syncer.segments.compiler import count_query
from syncer.segments.insights import SAMPLE, insights

TARGET = targets.INSIGHTS


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
    exact_s = _median(lambda: insights(conn, segment, segments, as_of=as_of, sample=None), repeat)
    return {
        "segment": name,
        "members": members,
        "count_ms": round(count_s * 1000, 3),
        "insights_ms": round(profile_s * 1000, 3),
        "with_overlap_ms": round(full_s * 1000, 3),
        "ratio": round(profile_s / count_s, 3) if count_s > 0 else 1.0,
        "ratio_with_overlap": round(full_s / count_s, 3) if count_s > 0 else 1.0,
        "sample": SAMPLE,  # the members read of a larger segment, in this run
        "sampled": members > SAMPLE,
        "exact_ms": round(exact_s * 1000, 3),
        "exact_ratio": round(exact_s / count_s, 3) if count_s > 0 else 1.0,
    }


def run(
    url: str, as_of: datetime, *, repeat: int = 3, names: list[str] | None = None
) -> list[dict[str, Any]]:
    """One entry per example segment (or per one of ``names``): members, the three medians
    (ms) and the two ratios."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            wanted = list(example_segments()) if names is None else names
            return [measure(conn, name, as_of, repeat) for name in wanted]
    finally:
        engine.dispose()


def main(argv: list[str] | None = None) -> int:
    """``python -m bench.insights --size N [--databases sqlite,postgresql] [--repeat R]``."""
    parser = argparse.ArgumentParser(prog="python -m bench.insights", description=__doc__)
    parser.add_argument("--size", type=int, default=100_000, help="customers (default 100000)")
    parser.add_argument("--databases", default=",".join(DATABASES), help="sqlite,postgresql")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per query (median)")
    parser.add_argument("--segments", default="", help="comma-separated names (default: all)")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)

    names = [n for n in args.segments.split(",") if n] or None
    unknown = sorted(set(names or ()) - set(example_segments()))
    if unknown:
        print(f"error: --segments: no example segment {', '.join(map(repr, unknown))}")
        return 2
    try:
        for db in databases([d for d in args.databases.split(",") if d]):
            rows = run(prepare(db, args.size), AS_OF, repeat=args.repeat, names=names)
            report.insights(db.kind, args.size, rows)
    except SyncerError as err:
        print(f"error: {err}")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
