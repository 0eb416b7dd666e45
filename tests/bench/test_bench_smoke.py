"""The benchmark at a tiny size, so its code cannot rot: every section is there and sane.

Never asserts a time: only that the numbers exist, are positive where they must be, and that
counts (members, changes, calls against their minimum) add up; members are checked against each
segment's count computed here, apart from the bench, on the database the bench generated.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bench.data import AS_OF
from syncer.db import make_engine
from syncer.segments.compiler import count_query
from syncer.segments.loader import load_segments

# The whole benchmark runs once in the first test's setup (every section at a tiny size, the
# mapped fields' among them): minutes on a loaded machine, so more than the default 300 s.
# Its queue section checks every provider's per-second limits: run alone, after the parallel part.
pytestmark = [pytest.mark.timeout(900), pytest.mark.serial]
ROOT = Path(__file__).resolve().parents[2]
SIZE = 400
PUSH_ADDS = 40
LATENCY_ADDS = 20
FULL_MEMBERS = 40  # sync --full: a slice of the customers, all tagged


@pytest.fixture(scope="module")
def result_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("bench")
    env = {**os.environ, "SYNCER_BENCH_DATA_DIR": str(tmp / "data")}
    args = [
        sys.executable, "-m", "bench", "--size", str(SIZE), "--databases", "sqlite",
        "--out", str(tmp / "results"), "--repeat", "1", "--scale-segments", "1",
        "--push-adds", str(PUSH_ADDS), "--latency-adds", str(LATENCY_ADDS),
        "--providers", "mailchimp,activecampaign", "--queue-segments", "2",
        "--queue-members", "10", "--queue-accounts", "2", "--fields-members", "30",
        "--full-members", str(FULL_MEMBERS),
    ]  # fmt: skip
    proc = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    files = list((tmp / "results").glob(f"*-{SIZE}.json"))
    assert len(files) == 1
    assert "evaluation on sqlite" in proc.stdout
    assert "Mapped fields: 30 members" in proc.stdout
    return files[0]


@pytest.fixture(scope="module")
def results(result_file: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(result_file.read_text())
    return data


@pytest.fixture(scope="module")
def markdown(result_file: Path) -> str:
    md = result_file.with_suffix(".md")
    assert md.is_file(), f"no Markdown next to {result_file.name}"
    return md.read_text()


def _section(markdown: str, start: str, end: str) -> list[str]:
    """The table rows (``| ...``, without heading and alignment rows) between two headings."""
    text = markdown[markdown.index(start) : markdown.index(end)]
    rows = [line for line in text.splitlines() if line.startswith("| ")]
    return rows[2:]


def test_evaluation_covers_every_example_segment(results: dict[str, Any]) -> None:
    rows = results["databases"]["sqlite"]["evaluation"]
    segments = {p.stem for p in (ROOT / "config" / "segments").glob("*.yaml")}
    assert len(rows) == len(segments)
    for row in rows:
        assert row["ratio"] > 0 and row["compiled_ms"] > 0 and row["handwritten_ms"] > 0


def test_evaluation_members_are_each_segments_own_count(
    result_file: Path, results: dict[str, Any]
) -> None:
    segments = load_segments(ROOT / "config" / "segments")
    data = result_file.parent.parent / "data" / f"commerce-{SIZE}.db"  # SYNCER_BENCH_DATA_DIR
    engine = make_engine(f"sqlite:///{data}")
    try:
        with engine.connect() as conn:
            counts = {
                name: conn.execute(count_query(seg, segments, as_of=AS_OF)).scalar_one()
                for name, seg in segments.items()
            }
    finally:
        engine.dispose()
    rows = results["databases"]["sqlite"]["evaluation"]
    assert {row["segment"]: row["members"] for row in rows} == counts
    assert 0 < max(counts.values()) < SIZE  # the seeded shop: some members, never everyone


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


def test_queue_runs_every_destination_with_1_and_4_workers_within_limits(
    results: dict[str, Any], markdown: str
) -> None:
    queue = results["queue"]
    if "skipped" in queue:
        pytest.skip(f"queue measurement skipped: {queue['skipped']}")
    assert [c["accounts"] for c in queue["cases"]] == [2]  # one case: the bench's time limit
    for case in queue["cases"]:
        assert [r["workers"] for r in case["runs"]] == [1, 4]
        shops = [f"shop{i}" for i in range(case["accounts"])]
        for run in case["runs"]:
            assert run["destinations"] == 6 and run["wall_s"] > 0 and run["runs"] == 6
            assert run["within_limits"], run["traffic"]
            assert set(run["traffic"]) == {
                f"{p}/{shop}" for p in ("mailchimp", "activecampaign", "sendlane") for shop in shops
            }
            assert all(t["calls"] > 0 for t in run["traffic"].values())  # every account used
            assert run["rate_bound_s"] > 0 and 0 < run["busy_share"] <= 1
        assert case["speedup"] > 0
    assert "### Queue: 6 destinations, every emulator call 100 ms late, 1 vs 4 workers" in markdown
    assert "| accounts per provider | workers | wall s | speedup | rate bound s |" in markdown
    assert "| 2 | 4 | sendlane/shop1 |" in markdown


def test_full_repair_reads_every_tagged_member_and_changes_nothing(
    results: dict[str, Any], markdown: str
) -> None:
    full = results["full_repair"]
    assert [r["provider"] for r in full["rows"]] == ["mailchimp", "activecampaign"]
    for row in full["rows"]:
        assert row["members"] == FULL_MEMBERS and row["tagged"] == FULL_MEMBERS, row  # all tagged
        assert row["full_outcome"] == "ok" and row["full_changes"] == 0, row
        assert row["ideal_calls"] > 0 and row["full_calls"] > 0, row
        assert row["full_s"] > 0 and row["ideal_s"] > 0 and row["ratio"] > 0
    assert "### sync --full ÷ its ideal on SQLite (target ≤ 1.3)" in markdown


def test_markdown_has_every_section_with_the_readme_headings(markdown: str) -> None:
    assert markdown.startswith(f"# Benchmark: {SIZE} customers on SQLite;")
    assert "whole run" in markdown
    for heading in (
        "### Evaluation: compiled query time ÷ hand-written query time",
        "| segment | members | SQLite ratio | SQLite compiled / hand-written ms |",
        "### Scale: first sync and no-change resync",
        f"Ratios {SIZE} ÷ {SIZE // 10} (time target ≈ 10, not more; memory target ≈ 1):",
        "| database | segment | first-sync time | resync time | first-sync peak RSS |",
        "### Push: API calls ÷ minimum",
        "| provider | kind | changes | calls | minimum | ratio | API floor | calls ÷ floor |",
        "With every emulator call 100 ms late",
        "| rate bound s | wall ÷ max(ideal, rate bound) |",
        "### Baseline: the naive first sync",
        "| database | members | naive s | naive calls | Syncer s | Syncer calls |",
    ):
        assert heading in markdown


def test_markdown_has_one_evaluation_row_per_example_segment(
    markdown: str, results: dict[str, Any]
) -> None:
    rows = _section(markdown, "### Evaluation", "### Scale")
    names = [r["segment"] for r in results["databases"]["sqlite"]["evaluation"]]
    assert len(rows) == len(list((ROOT / "config" / "segments").glob("*.yaml")))
    assert [row.split(" | ")[0].removeprefix("| ") for row in rows] == names


def test_markdown_rate_bound_is_a_dash_without_a_per_second_limit(
    markdown: str, results: dict[str, Any]
) -> None:
    rows = _section(markdown, "With every emulator call", "### Baseline")
    latency = results["push"]["latency"]
    assert len(rows) == len(latency)
    for row, entry in zip(rows, latency, strict=True):
        cells = [c.strip() for c in row.strip("|").split("|")]
        assert cells[0] == entry["provider"]
        assert (cells[7] == "-") == (entry["requests_per_second"] == 0)


def test_markdown_command_renders_an_existing_result(result_file: Path, markdown: str) -> None:
    args = [sys.executable, "-m", "bench.markdown", str(result_file)]
    proc = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == markdown


def test_insights_cover_every_example_segment_with_its_count(
    results: dict[str, Any], markdown: str
) -> None:
    evaluated = {r["segment"]: r["members"] for r in results["databases"]["sqlite"]["evaluation"]}
    rows = results["databases"]["sqlite"]["insights"]
    assert {r["segment"]: r["members"] for r in rows} == evaluated
    for row in rows:
        assert row["count_ms"] > 0 and row["insights_ms"] > 0 and row["ratio"] > 0
        assert row["ratio_with_overlap"] > 0 and row["exact_ms"] > 0 and row["exact_ratio"] > 0
    section = markdown[markdown.index("### Insights") :]
    section = section.split("\n### ")[0]  # up to the next table's heading
    head = "| database | segment | members | sampled | count ms | insights ms | insights ÷ count |"
    assert head in section
    assert len([line for line in section.splitlines() if line.startswith("| ")]) == len(rows) + 2


def test_live_count_covers_every_example_segment_with_its_count(
    results: dict[str, Any], markdown: str
) -> None:
    evaluated = {r["segment"] for r in results["databases"]["sqlite"]["evaluation"]}
    rows = results["databases"]["sqlite"]["live_count"]
    assert {r["segment"] for r in rows} == evaluated
    for row in rows:
        assert row["count_ms"] > 0 and row["live_ms"] > 0 and row["ratio"] > 0
    section = markdown[markdown.index("### Web admin") :].split("\n### ")[0]
    assert "| database | segment | members | count ms | live count ms | live ÷ count |" in section
    assert len([line for line in section.splitlines() if line.startswith("| ")]) == len(rows) + 2


def test_mapped_fields_cost_one_read_and_updates_go_in_bulk(results: dict[str, Any]) -> None:
    fields = results["fields"]
    assert fields["customers"] == 30 and len(fields["runs"]) == 2
    for run in fields["runs"]:
        assert run["fields"]["adds"] == run["plain"]["adds"] == 30, run
        assert run["overhead"] <= run["overhead_minimum"], run
        resync = run["resync"]
        assert resync["updates"] == 30 and resync["outcome"] == "ok", run
        assert 0 < resync["update_calls"] <= resync["update_calls_maximum"], run
