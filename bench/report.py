"""The benchmark's tables on stdout (rich), and its JSON file under bench/results/ with the same
tables as Markdown next to it (``bench.markdown``)."""

from __future__ import annotations

import json
import os
import platform
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from bench import markdown
from bench.evaluation import TARGET
from bench.targets import INSIGHTS as INSIGHTS_TARGET
from bench.targets import LIVE_COUNT as LIVE_TARGET

console = Console(width=None if sys.stdout.isatty() else 160)


def machine() -> dict[str, Any]:
    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "system": platform.platform(),
    }


def _table(title: str, columns: list[str], rows: list[list[Any]]) -> None:
    table = Table(title=title)
    for i, col in enumerate(columns):
        table.add_column(col, justify="left" if i == 0 else "right")
    for row in rows:
        table.add_row(*(str(v) for v in row))
    console.print(table)


def evaluation(db: str, size: int, rows: list[dict[str, Any]]) -> None:
    _table(
        f"evaluation on {db}, {size:,} customers (compiled / hand-written, median; target "
        f"<= {TARGET} on postgresql)",
        ["segment", "members", "compiled ms", "hand-written ms", "ratio"],
        [
            [r["segment"], f"{r['members']:,}", r["compiled_ms"], r["handwritten_ms"], r["ratio"]]
            for r in rows
        ],
    )


def growth(db: str, data: dict[str, Any]) -> None:
    evaluation(db, data["size"], data["evaluation"])
    _table(
        f"growth on {db}, {data['size']:,}/{data['reference']:,} customers (compiled query "
        f"time, median; target ~{data['time_target']}, not more)",
        ["segment", "members ratio", "time ratio"],
        [[r["segment"], r["members"], r["compiled_time"]] for r in data["ratios"]],
    )


def insights(db: str, size: int, rows: list[dict[str, Any]]) -> None:
    _table(
        f"insights on {db}, {size:,} customers (insights / count, median; target "
        f"<= {INSIGHTS_TARGET} for 50,000 members of 1,000,000 customers)",
        ["segment", "members", "sampled", "count ms", "insights ms", "ratio",
         "with overlap ms", "ratio with overlap", "exact ms", "exact ratio"],
        [
            [r["segment"], f"{r['members']:,}", "yes" if r.get("sampled") else "no",
             r["count_ms"], r["insights_ms"], r["ratio"], r["with_overlap_ms"],
             r["ratio_with_overlap"], r["exact_ms"], r["exact_ratio"]]
            for r in rows
        ],
    )  # fmt: skip


def live_count(db: str, size: int, rows: list[dict[str, Any]]) -> None:
    _table(
        f"web admin live count on {db}, {size:,} customers (POST /segments/draft / "
        f"`segments count`, median; target <= {LIVE_TARGET} at 100,000 customers)",
        ["segment", "members", "count ms", "live count ms", "ratio"],
        [[r["segment"], f"{r['members']:,}", r["count_ms"], r["live_ms"], r["ratio"]]
         for r in rows],
    )  # fmt: skip


def scale(db: str, data: dict[str, Any]) -> None:
    _table(
        f"scale on {db}: first sync and no-change resync to the mailchimp emulator "
        "(each in a fresh process)",
        ["segment", "customers", "adds", "first s", "first calls", "first MiB", "resync s",
         "resync calls", "resync MiB"],
        [
            [r["segment"], f"{r['size']:,}", f"{r['adds']:,}", r["first_seconds"],
             r["first_calls"], r["first_rss_mb"], r["resync_seconds"], r["resync_calls"],
             r["resync_rss_mb"]]
            for r in data["rows"]
        ],
    )  # fmt: skip
    _table(
        f"scale ratios on {db}, {data['size']:,}/{data['reference']:,} (time target "
        f"~{data['time_target']}, not more; memory target ~1)",
        ["segment", "first time", "resync time", "first RSS", "resync RSS"],
        [
            [r["segment"], r["first_time"], r["resync_time"], r["first_rss"], r["resync_rss"]]
            for r in data["ratios"]
        ],
    )


def push(data: dict[str, Any]) -> None:
    rows = []
    for p in data["calls"]:
        for kind in ("adds", "removes"):
            k = p[kind]
            rows.append(
                [p["provider"], kind, f"{k['changes']:,}", k["calls"], k["minimum"], k["ratio"],
                 k["floor"], k["ratio_to_floor"]]
            )  # fmt: skip
    _table(
        "push: API calls / minimum (ceil(changes / batch size); floor: the API's best, "
        "no bulk untag on activecampaign and sendlane); target 1.00",
        ["provider", "kind", "changes", "calls", "minimum", "ratio", "floor", "ratio to floor"],
        rows,
    )
    _table(
        "push under 100 ms latency: wall / (calls x latency / concurrency); target <= 1.3",
        ["provider", "adds", "calls", "concurrency", "wall s", "ideal s", "ratio",
         "rate bound s", "ratio to max(ideal, rate)"],
        [
            [r["provider"], f"{r['adds']:,}", r["calls"], r["max_concurrency"], r["wall_s"],
             r["ideal_s"], r["ratio"], r["rate_bound_s"] or "-", r["ratio_to_bound"]]
            for r in data["latency"]
        ],
    )  # fmt: skip


def queue(data: dict[str, Any]) -> None:
    if "skipped" in data:
        print(f"\nqueue: skipped: {data['skipped']}")
        return
    for case in data["cases"]:
        runs = case["runs"]
        rows = [
            [r["workers"], r["destinations"], r["wall_s"], r["rate_bound_s"], r["busy_share"],
             ", ".join(f"{k} {t.get('peak_in_flight', 0)}" for k, t in r["traffic"].items()),
             ", ".join(f"{k} {t.get('over_rate', 0)}" for k, t in r["traffic"].items()),
             "yes" if r["within_limits"] else "NO"]
            for r in runs
        ]  # fmt: skip
        _table(
            f"queue: {runs[0]['destinations']} destinations on {case['accounts']} account(s) per "
            f"provider, {data['latency'] * 1000:g} ms latency, 1 vs {runs[-1]['workers']} "
            f"workers: speedup {case['speedup']} (target >= 3; limits never exceeded; the rate "
            f"bound allows {case['speedup_bound']})",
            ["workers", "destinations", "wall s", "rate bound s", "busy share",
             "peak in flight", "calls over the rate quota", "within limits"],
            rows,
        )  # fmt: skip


def full_repair(db: str, rows: list[dict[str, Any]]) -> None:
    """``sync --full`` against reading the tagged members (``bench.full_repair``)."""
    _table(
        f"{db}: sync --full vs its ideal (tagged read at the largest page + the diff; "
        "target ratio <= 1.3)",
        ["provider", "members", "latency", "full s", "ideal read s", "diff s", "ratio",
         "full calls", "ideal calls", "calls ratio"],
        [
            [r["provider"], f"{r['members']:,}", r["latency_s"], r["full_s"], r["ideal_s"],
             r["diff_s"], r["ratio"], r["full_calls"], r["ideal_calls"], r["calls_ratio"]]
            for r in rows
        ],
    )  # fmt: skip


def baseline(rows: dict[str, dict[str, Any]]) -> None:
    _table(
        "baseline: naive first sync (all rows into Python, one PUT + one tag POST per member) "
        "vs Syncer",
        ["database", "customers", "members", "naive s", "naive calls", "syncer s",
         "syncer calls", "time ratio", "calls ratio"],
        [
            [db, f"{r['customers']:,}", f"{r['members']:,}", r["naive_seconds"],
             f"{r['naive_calls']:,}", r["syncer_seconds"], r["syncer_calls"], r["time_ratio"],
             r["calls_ratio"]]
            for db, r in rows.items()
        ],
    )  # fmt: skip


def save(data: dict[str, Any], out: Path, size: int, started: datetime) -> Path:
    """Write ``<out>/<timestamp>-<size>.json`` and the same run as ``.md``; the JSON's path."""
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{started:%Y%m%dT%H%M%S}-{size}.json"
    text = json.dumps(data, indent=2, default=str) + "\n"
    path.write_text(text)
    path.with_suffix(".md").write_text(markdown.render(json.loads(text)))
    return path
