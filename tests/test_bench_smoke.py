"""The benchmark at a tiny size, so its code cannot rot: every section is there and sane.

Never asserts a time: only that the numbers exist, are positive where they must be, and that
counts (members, changes, calls against their minimum) add up.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
SIZE = 400
PUSH_ADDS = 40
LATENCY_ADDS = 20


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("bench")
    env = {**os.environ, "SYNCER_BENCH_DATA_DIR": str(tmp / "data")}
    args = [
        sys.executable, "-m", "bench", "--size", str(SIZE), "--databases", "sqlite",
        "--out", str(tmp / "results"), "--repeat", "1", "--scale-segments", "1",
        "--push-adds", str(PUSH_ADDS), "--latency-adds", str(LATENCY_ADDS),
        "--providers", "mailchimp,activecampaign",
    ]  # fmt: skip
    proc = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    files = list((tmp / "results").glob(f"*-{SIZE}.json"))
    assert len(files) == 1
    assert "evaluation on sqlite" in proc.stdout
    data: dict[str, Any] = json.loads(files[0].read_text())
    return data


def test_evaluation_covers_every_example_segment(results: dict[str, Any]) -> None:
    rows = results["databases"]["sqlite"]["evaluation"]
    segments = {p.stem for p in (ROOT / "config" / "segments").glob("*.yaml")}
    assert len(rows) == len(segments)
    for row in rows:
        assert row["ratio"] > 0 and row["compiled_ms"] > 0 and row["handwritten_ms"] > 0
        assert row["members"] >= 0


def test_scale_measures_size_and_reference_with_quiet_resyncs(results: dict[str, Any]) -> None:
    scale = results["databases"]["sqlite"]["scale"]
    assert (scale["size"], scale["reference"]) == (SIZE, SIZE // 10)
    assert {r["size"] for r in scale["rows"]} == {SIZE, SIZE // 10}
    for row in scale["rows"]:
        assert row["first_outcome"] == "ok"
        assert row["first_rss_mb"] > 0 and row["resync_rss_mb"] > 0
        assert row["resync_calls"] == 0 and row["resync_changes"] == 0
    for ratio in scale["ratios"]:
        assert ratio["first_time"] > 0 and ratio["first_rss"] > 0 and ratio["resync_rss"] > 0


def test_push_calls_are_at_least_the_minimum(results: dict[str, Any]) -> None:
    push = results["push"]
    assert [p["provider"] for p in push["calls"]] == ["mailchimp", "activecampaign"]
    for p in push["calls"]:
        assert p["adds"]["changes"] == PUSH_ADDS
        assert p["removes"]["changes"] == PUSH_ADDS // 20
        for kind in ("adds", "removes"):
            entry = p[kind]
            assert entry["calls"] >= entry["minimum"] >= 1
            assert entry["ratio"] >= 1.0
            assert sum(entry["routes"].values()) == entry["calls"]
    for row in push["latency"]:
        assert row["adds"] == LATENCY_ADDS and row["outcome"] == "ok"
        assert row["calls"] > 0 and row["ratio"] > 0 and row["ideal_s"] > 0


def test_baseline_sends_the_same_members_both_ways(results: dict[str, Any]) -> None:
    base = results["databases"]["sqlite"]["baseline"]
    assert base["customers"] == SIZE
    assert base["syncer_adds"] == base["members"] > 0
    assert base["naive_calls"] == 2 * base["members"]
    assert base["calls_ratio"] > 1 and base["time_ratio"] > 0
