"""The benchmark's result as Markdown: the tables of the README's Performance section.

    text = render(data)                      # data: the dict ``python -m bench`` saves as JSON
    python -m bench.markdown RESULT.json     # an existing result file, on stdout

Sections (each a ``###`` heading, as in the README): evaluation ratios per segment and database;
growth (evaluation at the size ÷ at a tenth of it); scale (first sync and no-change resync) with
the size / reference-size ratios; push calls against the minimum and the API floor, then the wall
time under 100 ms of latency with the rate bound ("-" where the provider has no per-second limit);
the naive baseline; the web admin's live count against counting; segment insights against counting;
1 vs 4 queue workers. A one-line header names the size, databases, machine and total run time.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from bench.evaluation import TARGET
from bench.targets import INSIGHTS as INSIGHTS_TARGET
from bench.targets import LIVE_COUNT as LIVE_TARGET

NAMES = {"sqlite": "SQLite", "postgresql": "PostgreSQL", "mariadb": "MariaDB"}
TIMES = "\N{MULTIPLICATION SIGN}"  # spelled out: ruff flags the bare sign as ambiguous
TARGET_DB = "postgresql"  # where the evaluation target applies (bench.evaluation.TARGET)


def _name(kind: str) -> str:
    return NAMES.get(kind, kind)


def _int(value: Any) -> str:
    return f"{int(value):,}"


def _f2(value: Any) -> str:
    return f"{float(value):.2f}"


def _or_dash(show: Any, value: Any) -> str:
    """``show(value)``, or "-" for a figure an older result file does not have."""
    return "-" if value is None else str(show(value))


def _ms(value: Any) -> str:
    return f"{float(value):.0f}"


def _mib(value: Any) -> str:
    return f"{float(value):.0f}"


def _num(value: Any) -> str:
    """A stored ratio as it is (``2.5``, ``1.0``)."""
    return str(value)


def _target(value: Any) -> str:
    """A target without a trailing ``.0`` (``10``, ``1``)."""
    return f"{float(value):g}"


def table(columns: Sequence[str], rows: Sequence[Sequence[str]], *, left: int = 1) -> list[str]:
    """A Markdown table; the first ``left`` columns left-aligned, the others right-aligned."""
    align = ["---" if i < left else "---:" for i in range(len(columns))]
    lines = ["| " + " | ".join(columns) + " |", "| " + " | ".join(align) + " |"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


def header(data: dict[str, Any]) -> str:
    dbs = [_name(k) for k in data.get("databases", {})]
    machine = data.get("machine", {})
    seconds = float(data.get("seconds", 0))
    took = f"{seconds:,.0f} s" + (f" ({seconds / 60:.0f} min)" if seconds >= 600 else "")
    started = str(data.get("started", ""))
    try:
        when = f", started {datetime.fromisoformat(started):%Y-%m-%d %H:%M} UTC"
    except ValueError:
        when = ""
    return (
        f"# Benchmark: {_int(data['size'])} customers on {' and '.join(dbs) or 'no database'}; "
        f"machine {machine.get('cpus', '?')} cores, Python {machine.get('python', '?')}, "
        f"{machine.get('system', '?')}; whole run {took}{when}"
    )


def evaluation(data: dict[str, Any]) -> list[str]:
    dbs: dict[str, Any] = data["databases"]
    kinds = [k for k in dbs if dbs[k].get("evaluation")]
    if not kinds:
        return []
    timed = TARGET_DB if TARGET_DB in kinds else kinds[-1]
    by_db = {k: {r["segment"]: r for r in dbs[k]["evaluation"]} for k in kinds}
    columns = ["segment", "members"] + [f"{_name(k)} ratio" for k in kinds]
    columns.append(f"{_name(timed)} compiled / hand-written ms")
    rows = []
    for r in dbs[kinds[0]]["evaluation"]:
        seg = r["segment"]
        ratios = [_f2(by_db[k][seg]["ratio"]) if seg in by_db[k] else "-" for k in kinds]
        t = by_db[timed].get(seg)
        ms = f"{_ms(t['compiled_ms'])} / {_ms(t['handwritten_ms'])}" if t else "-"
        rows.append([seg, _int(r["members"]), *ratios, ms])
    return [
        "### Evaluation: compiled query time ÷ hand-written query time "
        f"({_int(data['size'])} customers)",
        "",
        f"Median of warm runs each; the hand-written queries are `bench/sql/*.sql`. "
        f"Target ≤ {TARGET} on {_name(TARGET_DB)}.",
        "",
        *table(columns, rows),
    ]


def growth(data: dict[str, Any]) -> list[str]:
    dbs = {k: v["growth"] for k, v in data["databases"].items() if v.get("growth")}
    if not dbs:
        return []
    first = next(iter(dbs.values()))
    big, ref = _int(first["size"]), _int(first["reference"])
    columns = ["database", "segment", f"members at {ref}", f"members at {big}",
               f"compiled ms at {ref}", f"compiled ms at {big}", "time ratio",
               f"compiled ÷ hand-written at {big}"]  # fmt: skip
    rows = []
    for db, g in dbs.items():
        for small, large, r in zip(g["reference_evaluation"], g["evaluation"], g["ratios"],
                                   strict=True):  # fmt: skip
            rows.append(
                [_name(db), r["segment"], _int(small["members"]), _int(large["members"]),
                 _ms(small["compiled_ms"]), _ms(large["compiled_ms"]), _num(r["compiled_time"]),
                 _f2(large["ratio"])]
            )  # fmt: skip
    return [
        f"### Growth: segment evaluation at {big} ÷ at {ref} customers",
        "",
        f"Compiled query time, median of warm runs. Time target ≈ {_target(first['time_target'])}"
        ", not more.",
        "",
        *table(columns, rows, left=2),
    ]


def insights(data: dict[str, Any]) -> list[str]:
    dbs = {k: v["insights"] for k, v in data["databases"].items() if v.get("insights")}
    if not dbs:
        return []
    columns = ["database", "segment", "members", "sampled", "count ms", "insights ms",
               "insights ÷ count", "with overlap ms", "with overlap ÷ count", "exact ms",
               "exact ÷ count"]  # fmt: skip
    rows = [
        [_name(db), r["segment"], _int(r["members"]), "yes" if r.get("sampled") else "no",
         _ms(r["count_ms"]), _ms(r["insights_ms"]), _f2(r["ratio"]), _ms(r["with_overlap_ms"]),
         _f2(r["ratio_with_overlap"]), _or_dash(_ms, r.get("exact_ms")),
         _or_dash(_f2, r.get("exact_ratio"))]
        for db, items in dbs.items()
        for r in items
    ]  # fmt: skip
    samples = {r.get("sample") for items in dbs.values() for r in items} - {None}
    sample = f"{samples.pop():,}" if len(samples) == 1 else "the default"
    return [
        f"### Insights: `segments insights` time ÷ `segments count` time ({_int(data['size'])} "
        "customers)",
        "",
        f"Median of warm runs. Target ≤ {_target(INSIGHTS_TARGET)} for a 50,000-member segment "
        "of 1,000,000 customers; the overlap adds one query per other segment. A segment of more "
        f"than {sample} members is read from a sample of {sample} (sampled: yes), as "
        "`segments insights` does; exact is `--exact`, every member read.",
        "",
        *table(columns, rows, left=2),
    ]


def scale(data: dict[str, Any]) -> list[str]:
    dbs = {k: v["scale"] for k, v in data["databases"].items() if v.get("scale")}
    if not dbs:
        return []
    first = next(iter(dbs.values()))
    columns = ["database", "segment", "customers", "adds", "first sync s", "calls", "peak MiB",
               "resync s", "resync calls", "peak MiB"]  # fmt: skip
    rows = [
        [db, r["segment"], _int(r["size"]), _int(r["adds"]), _f2(r["first_seconds"]),
         str(r["first_calls"]), _mib(r["first_rss_mb"]), _f2(r["resync_seconds"]),
         str(r["resync_calls"]), _mib(r["resync_rss_mb"])]
        for db, s in dbs.items()
        for r in s["rows"]
    ]  # fmt: skip
    ratio_columns = ["database", "segment", "first-sync time", "resync time",
                     "first-sync peak RSS", "resync peak RSS"]  # fmt: skip
    ratio_rows = [
        [db, r["segment"], _num(r["first_time"]), _num(r["resync_time"]), _num(r["first_rss"]),
         _num(r["resync_rss"])]
        for db, s in dbs.items()
        for r in s["ratios"]
    ]  # fmt: skip
    return [
        "### Scale: first sync and no-change resync to the Mailchimp emulator "
        "(each in a fresh process)",
        "",
        *table(columns, rows, left=2),
        "",
        f"Ratios {_int(first['size'])} ÷ {_int(first['reference'])} (time target "
        f"≈ {_target(first['time_target'])}, not more; "
        f"memory target ≈ {_target(first['rss_target'])}):",
        "",
        *table(ratio_columns, ratio_rows, left=2),
    ]


def push(data: dict[str, Any]) -> list[str]:
    pushed = data.get("push")
    if not pushed:
        return []
    rows = []
    for p in pushed["calls"]:
        for kind in ("adds", "removes"):
            k = p[kind]
            rows.append(
                [p["provider"], kind, _int(k["changes"]), str(k["calls"]), str(k["minimum"]),
                 _f2(k["ratio"]), str(k["floor"]), _f2(k["ratio_to_floor"])]
            )  # fmt: skip
    columns = ["provider", "kind", "changes", "calls", "minimum", "ratio", "API floor",
               "calls ÷ floor"]  # fmt: skip
    out = [
        "### Push: API calls ÷ minimum (minimum = ceil(changes ÷ batch size) per kind; "
        "target 1.00)",
        "",
        *table(columns, rows, left=2),
    ]
    latency = pushed.get("latency") or []
    if latency:
        lat = float(latency[0].get("latency_s", 0.1))
        lat_columns = ["provider", "adds", "calls", "concurrency", "wall s", "ideal s", "ratio",
                       "rate bound s", "wall ÷ max(ideal, rate bound)"]  # fmt: skip
        lat_rows = [
            [r["provider"], _int(r["adds"]), str(r["calls"]), str(r["max_concurrency"]),
             _f2(r["wall_s"]), _f2(r["ideal_s"]), _f2(r["ratio"]),
             _f2(r["rate_bound_s"]) if r["rate_bound_s"] else "-", _f2(r["ratio_to_bound"])]
            for r in latency
        ]  # fmt: skip
        out += [
            "",
            f"With every emulator call {lat * 1000:.0f} ms late (target wall ÷ ideal ≤ 1.3, "
            f"ideal = calls {TIMES} {lat:g} s ÷ allowed concurrency; the rate bound is calls ÷ the "
            "provider's requests per second, - where it has no per-second limit):",
            "",
            *table(lat_columns, lat_rows),
        ]
    return out


def queue(data: dict[str, Any]) -> list[str]:
    """1 vs N `syncer worker` processes on one queue, per case (accounts per provider), and
    each provider account's traffic meanwhile."""
    q = data.get("queue")
    if not q or "cases" not in q:
        return []
    cases = q["cases"]
    first = cases[0]["runs"]
    columns = ["accounts per provider", "workers", "wall s", "speedup", "rate bound s",
               "wall ÷ rate bound", "mean run s", "busy share",
               "peak in flight (most on one account)", "calls over the rate quota",
               "within limits"]  # fmt: skip
    rows = [
        [str(c["accounts"]), str(r["workers"]), _f2(r["wall_s"]),
         _f2(c["runs"][0]["wall_s"] / r["wall_s"]), _f2(r["rate_bound_s"]),
         _f2(r["wall_s"] / r["rate_bound_s"]), _f2(r["run_s_mean"]), _f2(r["busy_share"]),
         str(max(t.get("peak_in_flight", 0) for t in r["traffic"].values())),
         str(sum(t.get("over_rate", 0) for t in r["traffic"].values())),
         "yes" if r["within_limits"] else "no"]
        for c in cases
        for r in c["runs"]
    ]  # fmt: skip
    per_account = ["accounts per provider", "workers", "account", "calls", "rate bound s",
                   "peak in flight", "peak per second", "calls over the rate quota"]  # fmt: skip
    account_rows = [
        [str(c["accounts"]), str(r["workers"]), key, str(t.get("calls", 0)),
         _f2(t["rate_bound_s"]) if "rate_bound_s" in t else "-",
         str(t.get("peak_in_flight", 0)), str(t.get("peak_per_second", 0)),
         str(t.get("over_rate", 0))]
        for c in cases
        for r in c["runs"]
        for key, t in r["traffic"].items()
    ]  # fmt: skip
    speedups = ", ".join(
        f"{c['accounts']} account(s) per provider {_f2(c['speedup'])}{TIMES}" for c in cases
    )
    return [
        f"### Queue: {first[0]['destinations']} destinations, every emulator call "
        f"{q['latency'] * 1000:.0f} ms late, 1 vs {first[-1]['workers']} workers: {speedups} "
        "(target ≥ 3, limits never exceeded)",
        "",
        f"{q['members_per_segment']} members per segment, the workers' state on "
        f"{first[0].get('state', 'sqlite')}. The rate bound is the busiest account's calls ÷ its "
        "requests per second, the least wall time its limit allows (Sendlane: 4 a second, "
        "ActiveCampaign: 5; Mailchimp limits connections only). One account per provider: "
        "every Sendlane destination shares one account, whose rate bound is a floor no number "
        "of workers goes under. Several "
        "accounts per provider (several shops, segment i on shop i mod N, each account an "
        "emulator of its own): the rate bound is N times lower. Busy share: the runs' summed "
        f"durations ÷ (workers {TIMES} wall).",
        "",
        *table(columns, rows),
        "",
        "Each account's traffic as its emulator recorded it:",
        "",
        *table(per_account, account_rows),
    ]


def full_repair(data: dict[str, Any]) -> list[str]:
    """``sync --full`` ÷ its ideal: reading the tagged members at the largest page, plus the
    diff (``bench.full_repair``)."""
    full = data.get("full_repair")
    if not full or not full.get("rows"):
        return []
    columns = ["provider", "members", "full s", "ideal read s", "diff s",
               "full ÷ (read + diff)", "full calls", "read calls", "calls ratio"]  # fmt: skip
    rows = [
        [r["provider"], _int(r["members"]), _f2(r["full_s"]), _f2(r["ideal_s"]),
         _f2(r["diff_s"]), _f2(r["ratio"]), str(r["full_calls"]), str(r["ideal_calls"]),
         _f2(r["calls_ratio"])]
        for r in full["rows"]
    ]  # fmt: skip
    return [
        f"### sync --full ÷ its ideal on {_name(full['database'])} (target ≤ 1.3)",
        "",
        "No change since the last run; the ideal is a fresh provider paging through the tagged "
        "members at its largest page size, plus a plain sync's diff.",
        "",
        *table(columns, rows),
    ]


def baseline(data: dict[str, Any]) -> list[str]:
    dbs = {k: v["baseline"] for k, v in data["databases"].items() if v.get("baseline")}
    if not dbs:
        return []
    first = next(iter(dbs.values()))
    columns = ["database", "members", "naive s", "naive calls", "Syncer s", "Syncer calls",
               "time ratio", "calls ratio"]  # fmt: skip
    rows = [
        [db, _int(r["members"]), _f2(r["naive_seconds"]), _int(r["naive_calls"]),
         _f2(r["syncer_seconds"]), str(r["syncer_calls"]), _num(r["time_ratio"]),
         _num(r["calls_ratio"])]
        for db, r in dbs.items()
    ]  # fmt: skip
    return [
        "### Baseline: the naive first sync (every row into Python, filter there, one PUT + one "
        f"tag POST per member) vs Syncer, {_int(first['customers'])} customers, "
        f'"{first["segment"]}"',
        "",
        *table(columns, rows),
    ]


def live_count(data: dict[str, Any]) -> list[str]:
    dbs = {k: v["live_count"] for k, v in data["databases"].items() if v.get("live_count")}
    if not dbs:
        return []
    columns = ["database", "segment", "members", "count ms", "live count ms", "live ÷ count"]
    rows = [
        [_name(db), r["segment"], _int(r["members"]), _ms(r["count_ms"]), _ms(r["live_ms"]),
         _f2(r["ratio"])]
        for db, items in dbs.items()
        for r in items
    ]  # fmt: skip
    return [
        "### Web admin: the builder's live count ÷ `segments count` "
        f"({_int(data['size'])} customers)",
        "",
        f"Median of warm runs of `POST /segments/draft` (validation, count and consenting "
        f"members). Target ≤ {_target(LIVE_TARGET)} at 100,000 customers.",
        "",
        *table(columns, rows, left=2),
    ]


def render(data: dict[str, Any]) -> str:
    """The whole result as Markdown (sections missing from ``data`` are left out)."""
    parts = [[header(data)], evaluation(data), growth(data), scale(data), push(data),
             baseline(data), live_count(data), insights(data), queue(data),
             full_repair(data)]  # fmt: skip
    return "\n\n".join("\n".join(p) for p in parts if p) + "\n"


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m bench.markdown RESULT.json", file=sys.stderr)
        return 2
    path = Path(argv[0])
    try:
        data = json.loads(path.read_text())
        text = render(data)
    except OSError as err:
        print(
            f"error: {path}: cannot read ({err.strerror}); give a file from bench/results/",
            file=sys.stderr,
        )
        return 2
    except (ValueError, KeyError, TypeError, AttributeError) as err:
        print(f"error: {path}: not a benchmark result ({type(err).__name__}: {err}); "
              "give a JSON file written by python -m bench", file=sys.stderr)  # fmt: skip
        return 2
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
