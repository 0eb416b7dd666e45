"""Growth: segment evaluation at ``size`` against the same at its reference size (``size // 10``).

Both run in one invocation, so the ratios hold on a noisy machine: each example segment's
compiled query time at ``size`` ÷ at the reference should be about size/reference (the data
grows tenfold, the work with it), not more. The evaluation rows at ``size`` (compiled ÷
hand-written) come with it, so a 10,000,000-customer run also checks the compiler's target.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bench import evaluation
from bench.data import Database, prepare
from bench.scale import reference_size


def ratios(big: list[dict[str, Any]], small: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per segment: members and compiled time at the big size ÷ at the reference."""
    out: list[dict[str, Any]] = []
    for b, s in zip(big, small, strict=True):
        if b["segment"] != s["segment"]:
            raise ValueError(f"segments out of step: {b['segment']!r} / {s['segment']!r}")
        out.append(
            {
                "segment": b["segment"],
                "members": round(b["members"] / s["members"], 2) if s["members"] else 0.0,
                "compiled_time": round(b["compiled_ms"] / s["compiled_ms"], 2)
                if s["compiled_ms"]
                else 0.0,
            }
        )
    return out


def run(db: Database, size: int, as_of: datetime, *, repeat: int) -> dict[str, Any]:
    ref = reference_size(size)
    small = evaluation.run(prepare(db, ref), as_of, repeat=repeat)
    big = evaluation.run(prepare(db, size), as_of, repeat=repeat)
    return {
        "size": size,
        "reference": ref,
        "evaluation": big,
        "reference_evaluation": small,
        "ratios": ratios(big, small),
        "time_target": round(size / ref, 2),
    }
