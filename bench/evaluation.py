"""Segment evaluation: each example segment's compiled query against its hand-written twin.

For every segment both queries run once (checked to return exactly the same rows, which also
warms the caches), then ``repeat`` times each, alternating; the ratio is the compiled median
divided by the hand-written median. A segment above ``TARGET`` on PostgreSQL gets both plans
(EXPLAIN) in the result, so the report can say why.
"""

from __future__ import annotations

import statistics
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, Executable

from bench.handwritten import handwritten
from syncer.db import make_engine
from syncer.errors import SyncerError
from syncer.segments.compiler import members_query
from syncer.segments.loader import SegmentSet, load_segments

ROOT = Path(__file__).resolve().parents[1]
SEGMENTS_DIR = ROOT / "config" / "segments"
TARGET = 1.2  # compiled / hand-written, on PostgreSQL


class MismatchError(SyncerError):
    """A hand-written query does not return the compiled query's members."""


def example_segments() -> SegmentSet:
    return load_segments(SEGMENTS_DIR)


def _rows(conn: Connection, query: Executable) -> set[tuple[Any, ...]]:
    return {tuple(row) for row in conn.execute(query)}


def _timed(conn: Connection, query: Executable) -> float:
    started = time.perf_counter()
    for _row in conn.execute(query):
        pass
    return time.perf_counter() - started


def explain(conn: Connection, query: Executable) -> list[str]:
    """The database's plan for ``query`` (EXPLAIN, or EXPLAIN QUERY PLAN on SQLite)."""
    # expanding IN parameters rendered as one bound parameter per value (else "IN (__[POSTCOMPILE")
    compiled = query.compile(  # type: ignore[attr-defined]
        dialect=conn.dialect, compile_kwargs={"render_postcompile": True}
    )
    prefix = "EXPLAIN QUERY PLAN " if conn.dialect.name == "sqlite" else "EXPLAIN "
    params: Any = compiled.params
    if compiled.positiontup:  # SQLite's qmark style wants a sequence
        params = tuple(compiled.params[name] for name in compiled.positiontup)
    processors = compiled._bind_processors
    if isinstance(params, dict):
        params = {k: processors[k](v) if k in processors else v for k, v in params.items()}
    else:
        names = compiled.positiontup or ()
        params = tuple(
            processors[n](v) if n in processors else v for n, v in zip(names, params, strict=True)
        )
    result = conn.exec_driver_sql(prefix + compiled.string, params)
    return [" ".join(str(v) for v in row) for row in result]


def measure_segment(
    conn: Connection,
    name: str,
    segments: SegmentSet,
    as_of: datetime,
    repeat: int,
) -> dict[str, Any]:
    compiled = members_query(segments[name], segments, as_of=as_of)
    hand = handwritten(name, as_of)
    if hand is None:
        raise MismatchError(f"segment {name!r}: no hand-written query in bench/handwritten.py")
    compiled_rows, hand_rows = _rows(conn, compiled), _rows(conn, hand)
    if compiled_rows != hand_rows:
        only_c, only_h = len(compiled_rows - hand_rows), len(hand_rows - compiled_rows)
        raise MismatchError(
            f"segment {name!r}: hand-written query differs from the compiled one "
            f"({only_c} only compiled, {only_h} only hand-written); fix bench/handwritten.py"
        )
    compiled_times: list[float] = []
    hand_times: list[float] = []
    for _ in range(repeat):
        compiled_times.append(_timed(conn, compiled))
        hand_times.append(_timed(conn, hand))
    c_med, h_med = statistics.median(compiled_times), statistics.median(hand_times)
    ratio = c_med / h_med if h_med > 0 else 1.0
    entry: dict[str, Any] = {
        "segment": name,
        "members": len(compiled_rows),
        "compiled_ms": round(c_med * 1000, 3),
        "handwritten_ms": round(h_med * 1000, 3),
        "ratio": round(ratio, 3),
    }
    if conn.dialect.name == "postgresql" and ratio > TARGET:
        entry["explain_compiled"] = explain(conn, compiled)
        entry["explain_handwritten"] = explain(conn, hand)
    return entry


def run(url: str, as_of: datetime, *, repeat: int = 5) -> list[dict[str, Any]]:
    """One entry per example segment: members, both medians (ms) and their ratio."""
    segments = example_segments()
    engine: Engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return [measure_segment(conn, name, segments, as_of, repeat) for name in segments]
    finally:
        engine.dispose()
