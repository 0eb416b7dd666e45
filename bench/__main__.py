"""``python -m bench --size N [--databases sqlite,postgresql] [--only PARTS] [--out DIR]``.

Runs, for each database: segment evaluation (compiled vs hand-written), insights against
counting, scale (size and its
reference size), the naive baseline; then, once, the push measurements against the three
provider emulators, the mapped fields' calls (``bench.fields``), ``sync --full`` against
reading the tagged members (``bench.full_repair``) and the queue's (1 vs 4 `syncer worker`
processes, Redis). Prints the tables and writes ``<out>/<timestamp>-<size>.json``.
``--only evaluation`` (or any comma-separated list of ``PARTS``) runs just those parts:
``--only evaluation --databases postgresql`` times the compiled queries against the
hand-written ones and nothing else.

From ``BIG`` (10,000,000) customers the defaults change to what such a size is for: PostgreSQL
only, ``growth`` (evaluation at the size and at a tenth of it) and ``scale`` on the largest
segment, each repeated once; any option given explicitly wins.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import (
    baseline,
    evaluation,
    fields,
    full_repair,
    growth,
    insights,
    live_count,
    push,
    queue_workers,
    report,
    scale,
    woocommerce,
)
from bench.data import AS_OF, DATABASES, SEED, databases, prepare
from syncer.errors import SyncerError

ROOT = Path(__file__).resolve().parents[1]
PARTS = (
    "evaluation", "insights", "live_count", "scale", "baseline", "push", "fields", "full_repair",
    "queue", "woocommerce", "growth",
)  # fmt: skip
BIG = 10_000_000
BIG_DEFAULTS = {"databases": "postgresql", "only": "growth,scale", "scale_segments": 1, "repeat": 1}
DEFAULTS = {"databases": ",".join(DATABASES), "only": ",".join(PARTS[:-1]), "repeat": 5}


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--size", type=int, default=100_000, help="customers (default 100000)")
    parser.add_argument(
        "--databases", default=None, help="default sqlite,postgresql (from 10000000: postgresql)"
    )
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    parser.add_argument(
        "--repeat",
        type=int,
        default=None,
        help="timed runs per query, median (default 5; from 10000000: 1)",
    )
    parser.add_argument("--push-adds", type=int, default=None, help="default min(1000, size)")
    parser.add_argument("--latency-adds", type=int, default=None, help="default min(5000, size)")
    parser.add_argument("--providers", default=",".join(push.PROVIDERS), help="for push")
    parser.add_argument(
        "--scale-segments", type=int, default=None, help="1..3 (default 3; from 10000000: 1)"
    )
    parser.add_argument(
        "--queue-segments", type=int, default=8, help="queue: segments x 3 destinations; 0: off"
    )
    parser.add_argument("--queue-members", type=int, default=150, help="queue: per segment")
    parser.add_argument(
        "--fields-members", type=int, default=None, help="mapped fields: default min(3000, size)"
    )
    parser.add_argument(
        "--full-members", type=int, default=22_000, help="sync --full: members; 0: off"
    )
    parser.add_argument(
        "--queue-accounts",
        default="1,3",
        help="queue: the cases, accounts per provider (1: one shop, rate-bound; N: N shops)",
    )
    parser.add_argument(
        "--only",
        default=None,
        help=f"run only these parts ({','.join(PARTS)}); default: all but growth, and from "
        f"{BIG} growth,scale",
    )
    args = parser.parse_args(argv)
    if args.size < 10:
        parser.error(f"--size must be at least 10, not {args.size}")
    defaults: dict[str, Any] = {**DEFAULTS, "scale_segments": len(scale.SEGMENTS)}
    if args.size >= BIG:
        defaults.update(BIG_DEFAULTS)
    for key, value in defaults.items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    args.only = tuple(p for p in args.only.split(",") if p)
    unknown = [p for p in args.only if p not in PARTS]
    if unknown or not args.only:
        parser.error(f"--only: unknown {', '.join(unknown) or 'empty list'}; use {','.join(PARTS)}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse(sys.argv[1:] if argv is None else argv)
    started = datetime.now(UTC)
    t0 = time.perf_counter()
    size: int = args.size
    providers = tuple(p for p in args.providers.split(",") if p)
    unknown = [p for p in providers if p not in push.PROVIDERS]
    if unknown:
        print(f"error: --providers: unknown {', '.join(unknown)}; use {', '.join(push.PROVIDERS)}")
        return 2
    data: dict[str, Any] = {
        "size": size,
        "seed": SEED,
        "as_of": AS_OF.isoformat(),
        "started": started.isoformat(),
        "machine": report.machine(),
        "databases": {},
    }
    try:
        dbs = databases([d for d in args.databases.split(",") if d])
        if not dbs:
            print("error: no database to measure")
            return 2
        only = set(args.only)
        baselines: dict[str, dict[str, Any]] = {}
        for db in dbs:
            url = prepare(db, size)
            measured: dict[str, Any] = {}
            if "growth" in only:
                measured["growth"] = growth.run(db, size, AS_OF, repeat=args.repeat)
                report.growth(db.kind, measured["growth"])
            if "evaluation" in only:
                measured["evaluation"] = evaluation.run(url, AS_OF, repeat=args.repeat)
                report.evaluation(db.kind, size, measured["evaluation"])
            if "insights" in only:
                measured["insights"] = insights.run(url, AS_OF, repeat=max(1, min(args.repeat, 3)))
                report.insights(db.kind, size, measured["insights"])
            if "live_count" in only:
                repeat = max(1, min(args.repeat, 5))
                measured["live_count"] = live_count.run(url, AS_OF, repeat=repeat)
                report.live_count(db.kind, size, measured["live_count"])
            if "scale" in only:
                measured["scale"] = scale.run(db, size, segments=args.scale_segments)
                report.scale(db.kind, measured["scale"])
            if "baseline" in only:
                baselines[db.kind] = measured["baseline"] = baseline.run(db, size, AS_OF)
            data["databases"][db.kind] = measured
        if baselines:
            report.baseline(baselines)
        if "push" in only:
            adds = args.push_adds if args.push_adds is not None else min(1000, size)
            latency_adds = args.latency_adds if args.latency_adds is not None else min(5000, size)
            pushed = push.run(
                dbs[0], size, adds=adds, latency_adds=latency_adds, providers=providers
            )
            pushed["database"] = dbs[0].kind
            report.push(pushed)
            data["push"] = pushed
        members = args.fields_members if args.fields_members is not None else min(3000, size)
        if "fields" in only and members > 0:
            data["fields"] = fields.run(members, min(1000, members), providers)
            print(fields.table(data["fields"]))
        if "full_repair" in only and args.full_members > 0:
            full = full_repair.run(dbs[-1], size, members=args.full_members, providers=providers)
            report.full_repair(dbs[-1].kind, full)
            data["full_repair"] = {"database": dbs[-1].kind, "rows": full}
        if "queue" in only and args.queue_segments > 0:
            # the workers' state on PostgreSQL when it is measured (what workers on several
            # machines share), else SQLite
            pg = next((d for d in dbs if d.kind == "postgresql"), None)
            data["queue"] = queue_workers.run(
                segments=args.queue_segments,
                members=args.queue_members,
                accounts=tuple(int(a) for a in args.queue_accounts.split(",") if a),
                state=pg.scratch_state if pg is not None else None,
            )
            report.queue(data["queue"])
        wc_url = woocommerce.url() if "woocommerce" in only else None
        if wc_url is not None:  # the WooCommerce preset on MariaDB vs hand-written SQL
            wc_rows = woocommerce.run(wc_url, size, repeat=max(1, min(args.repeat, 3)))
            woocommerce.show(size, wc_rows)
            data["woocommerce_mariadb"] = wc_rows
    except SyncerError as err:
        print(f"error: {err}")
        return 1
    data["seconds"] = round(time.perf_counter() - t0, 1)
    path = report.save(data, args.out, size, started)
    print(f"results: {path} ({data['seconds']}s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
