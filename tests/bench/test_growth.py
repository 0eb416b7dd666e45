"""``python -m bench`` at large sizes: its defaults, and the growth part at a tiny size."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench.__main__ import parse
from bench.growth import ratios

ROOT = Path(__file__).resolve().parents[2]


def test_ten_million_defaults_to_growth_and_the_largest_segment_on_postgresql() -> None:
    args = parse(["--size", "10000000"])
    assert (args.databases, args.only) == ("postgresql", ("growth", "scale"))
    assert (args.scale_segments, args.repeat) == (1, 1)
    given = parse(["--size", "10000000", "--databases", "sqlite", "--repeat", "3"])
    assert (given.databases, given.repeat, given.only) == ("sqlite", 3, ("growth", "scale"))


def test_smaller_sizes_keep_every_part_but_growth() -> None:
    args = parse(["--size", "1000"])
    assert args.databases == "sqlite,postgresql"
    assert "growth" not in args.only and {"evaluation", "scale", "queue"} <= set(args.only)
    assert (args.scale_segments, args.repeat) == (3, 5)


def test_ratios_refuse_segments_out_of_step() -> None:
    row = {"segment": "A", "members": 10, "compiled_ms": 2.0}
    assert ratios([{**row, "members": 100, "compiled_ms": 30.0}], [row]) == [
        {"segment": "A", "members": 10.0, "compiled_time": 15.0}
    ]
    with pytest.raises(ValueError, match="out of step"):
        ratios([{**row, "segment": "B"}], [row])


def test_growth_measures_both_sizes_in_one_run(tmp_path: Path) -> None:
    env = {**os.environ, "SYNCER_BENCH_DATA_DIR": str(tmp_path / "data")}
    args = [
        sys.executable, "-m", "bench", "--size", "200", "--databases", "sqlite",
        "--only", "growth", "--repeat", "1", "--out", str(tmp_path / "results"),
    ]  # fmt: skip
    proc = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "growth on sqlite, 200/20 customers" in proc.stdout
    (result,) = (tmp_path / "results").glob("*-200.json")
    growth = json.loads(result.read_text())["databases"]["sqlite"]["growth"]
    assert (growth["size"], growth["reference"], growth["time_target"]) == (200, 20, 10.0)
    segments = {p.stem for p in (ROOT / "config" / "segments").glob("*.yaml")}
    assert len(growth["ratios"]) == len(segments) == len(growth["evaluation"])
    grew = [r for r in growth["evaluation"] if r["members"] > 0]
    assert grew, "no segment has members at 200 customers"
    for big, small, r in zip(
        growth["evaluation"], growth["reference_evaluation"], growth["ratios"], strict=True
    ):
        assert big["segment"] == small["segment"] == r["segment"]
        assert small["members"] <= 20 and big["members"] <= 200
        if small["members"]:
            assert r["members"] == round(big["members"] / small["members"], 2)
    assert (
        "### Growth: segment evaluation at 200 ÷ at 20 customers"
        in result.with_suffix(".md").read_text()
    )
