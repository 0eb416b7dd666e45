"""State writes of a first sync, without a shop or a provider: how fast the state tables take
``members`` adds, per phase, and does it stay so as the tables grow.

    python -m bench.state_writes --members 345000 [--members 3450000] [--url URL]

Drives the real ``StateStore`` the way ``SyncEngine`` does on a first sync: the plan (every
member an add, ascending customer id, addresses in the sample shop's form, so in random order
relative to the ids) is written to the outbox (``write_plan``), statistics refreshed as the
engine does (``analyze``), then the outbox is read in the push's order (``outbox``, ascending
id) in provider-sized batches, each settled as if the provider had applied every member
(``settle``). Each phase is timed, and the plan and the push+settle phase in tenths (at least a
batch each), so a rate that falls as
the snapshot grows shows. Time is also summed per statement kind. On PostgreSQL the tables'
block reads and hits (``pg_statio_user_tables``) and index scans per index
(``pg_stat_user_indexes``) are reported per phase. The state lives in a scratch schema
(PostgreSQL, from ``--url`` or ``SYNCER_BENCH_POSTGRES_URL``/``SYNCER_TEST_POSTGRES_URL``) or a
scratch SQLite file, dropped at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
import uuid
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Engine, event, text
from sqlalchemy.engine import make_url

from bench.data import POSTGRES_VARS, Database
from providers.base import Change, ChangeKind, Member, Outcome, OutcomeStatus
from providers.batching import chunks
from syncer.db import make_engine
from syncer.sample.catalogue import FIRST_NAMES, LAST_NAMES
from syncer.state.migrate import ensure_schema
from syncer.state.rows import Planned
from syncer.state.store import StateStore
from syncer.sync.diff import fields_hash
from syncer.sync.engine import ADDS, ANALYZE_AFTER

BATCH = 500  # the Mailchimp adapter's batch
PAGE = 1000  # the engine's page size
TABLES = ("syncer_members", "syncer_outbox")
T = TypeVar("T")
SHARE = 0.345  # of the customers in the largest sample segment: ids are spread like theirs


def planned(members: int, seed: int = 1) -> Iterator[Planned]:
    """``members`` adds ascending by customer id, each address ``first.last.id@example.com``
    (the sample shop's), so the addresses' order is random relative to the ids."""
    rng = random.Random(seed)
    cid = 0
    for _ in range(members):
        cid += 1 + int(rng.random() * (2 / SHARE - 2) + 0.5)  # on average 1 / SHARE
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        email = f"{first}.{last}.{cid}@example.com".lower()
        yield Planned("add", cid, email, fields_hash(first, last), first, last, True)


class Timer:
    """Seconds and calls per statement kind (its first words), summed over a connection pool."""

    def __init__(self, engine: Engine) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)

    @staticmethod
    def kind(statement: str) -> str:
        words = statement.split()
        head = " ".join(words[:3]).upper()
        if head.startswith("SELECT"):
            upper = [w.upper() for w in words]
            table = words[upper.index("FROM") + 1] if "FROM" in upper[:-1] else ""
            return f"SELECT FROM {table}".strip()
        return head if not head.startswith("ANALYZE") else " ".join(words[:2])

    def _before(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        conn.info.setdefault("bench_t0", []).append(time.perf_counter())

    def _after(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        t0 = conn.info["bench_t0"].pop()
        key = self.kind(statement)
        self.seconds[key] += time.perf_counter() - t0
        self.calls[key] += 1

    def take(self) -> dict[str, dict[str, float]]:
        out = {
            k: {"seconds": round(s, 3), "calls": self.calls[k]}
            for k, s in sorted(self.seconds.items(), key=lambda kv: -kv[1])
        }
        self.seconds.clear()
        self.calls.clear()
        return out


def io_counters(engine: Engine) -> dict[str, int]:
    """PostgreSQL: block reads/hits of the state tables and scans per index (else empty)."""
    if engine.dialect.name != "postgresql":
        return {}
    out: dict[str, int] = {}
    with engine.connect() as conn:
        conn.execute(text("SELECT pg_stat_clear_snapshot()"))
        for row in conn.execute(
            text(
                "SELECT relname, heap_blks_read, heap_blks_hit, idx_blks_read, idx_blks_hit "
                "FROM pg_statio_user_tables WHERE schemaname = current_schema() "
                "AND relname = ANY(:t)"
            ),
            {"t": list(TABLES)},
        ):
            for col in ("heap_blks_read", "heap_blks_hit", "idx_blks_read", "idx_blks_hit"):
                out[f"{row.relname}.{col}"] = int(getattr(row, col) or 0)
        for row in conn.execute(
            text(
                "SELECT indexrelname, idx_scan FROM pg_stat_user_indexes "
                "WHERE schemaname = current_schema() AND relname = ANY(:t)"
            ),
            {"t": list(TABLES)},
        ):
            out[f"scans.{row.indexrelname}"] = int(row.idx_scan or 0)
    return out


def _delta(after: dict[str, int], before: dict[str, int]) -> dict[str, int]:
    return {k: v - before.get(k, 0) for k, v in after.items() if v - before.get(k, 0)}


def _wait_stats(engine: Engine) -> None:
    """PostgreSQL's cumulative statistics reach the views up to a second late."""
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            conn.execute(text("SELECT pg_stat_force_next_flush()"))
        time.sleep(1.1)


def measure(
    state_url: str,
    members: int,
    *,
    analyze_after: int = ANALYZE_AFTER,
    stop_after: float | None = None,
) -> dict[str, Any]:
    """One first sync's state writes for ``members`` adds into an empty state database."""
    engine = make_engine(state_url)
    try:
        ensure_schema(engine)
        store = StateStore(engine, page_size=PAGE)
        now = datetime.now(UTC)
        target = store.target("bench", f"state-writes-{members}", now)
        timer = Timer(engine)
        phases: dict[str, Any] = {}

        def phase(name: str, seconds: float, io0: dict[str, int], count: int = members) -> None:
            _wait_stats(engine)
            phases[name] = {
                "seconds": round(seconds, 2),
                "per_second": round(count / seconds) if seconds else None,
                "statements": timer.take(),
                "io": _delta(io_counters(engine), io0),
            }

        io0 = io_counters(engine)
        t0 = time.perf_counter()
        plan_tenths: list[int] = []
        counts = store.write_plan(target, _timed(planned(members), members, plan_tenths), now)
        if sum(counts.values()) >= analyze_after:
            store.analyze()
        phase("plan", time.perf_counter() - t0, io0)
        phases["plan"]["tenths_per_second"] = plan_tenths

        io0 = io_counters(engine)
        tenths: list[int] = []
        step = max(1, members // 10)
        done, mark, t0 = 0, 0, time.perf_counter()
        t_mark = t0
        for batch in chunks(store.outbox(target, ADDS), BATCH):
            pairs = [(row, _applied(row.email, row.customer_id)) for row in batch]
            store.settle(target, pairs, datetime.now(UTC), max_attempts=5)
            done += len(batch)
            if done - mark >= step:
                t = time.perf_counter()
                tenths.append(round((done - mark) / (t - t_mark)))
                mark, t_mark = done, t
            if stop_after is not None and time.perf_counter() - t0 > stop_after:
                break
        phase("push_settle", time.perf_counter() - t0, io0, done)
        phases["push_settle"]["tenths_per_second"] = tenths

        io0 = io_counters(engine)
        t0 = time.perf_counter()
        if done >= analyze_after:
            store.analyze()
        phase("finish", time.perf_counter() - t0, io0)
        total = sum(p["seconds"] for p in phases.values())
        return {
            "members": members,
            "settled": done,
            "seconds": round(total, 2),
            "per_second": round(members / total) if total and done == members else None,
            "phases": phases,
        }
    finally:
        engine.dispose()


def _timed(rows: Iterator[T], total: int, rates: list[int]) -> Iterator[T]:
    """``rows``, appending to ``rates`` the rate at which each tenth of ``total`` was taken."""
    step = max(1, total // 10)
    t_mark = time.perf_counter()
    for n, row in enumerate(rows, 1):
        yield row
        if n % step == 0:
            t = time.perf_counter()
            rates.append(round(step / (t - t_mark)))
            t_mark = t


def _applied(email: str, customer_id: int | None) -> Outcome:
    member = Member(email=email, customer_id=str(customer_id))
    return Outcome(Change(ChangeKind.ADD, member), OutcomeStatus.APPLIED)


@contextmanager
def scratch(url: str | None) -> Iterator[str]:
    """An empty state database: a scratch schema on the PostgreSQL server ``url``, or a scratch
    SQLite file when ``url`` is None."""
    label = uuid.uuid4().hex[:8]
    if url is None or make_url(url).get_backend_name() == "sqlite":
        path = Path(os.environ.get("TMPDIR", "/tmp")) / f"state-writes-{label}.db"
        try:
            yield f"sqlite:///{path}"
        finally:
            for suffix in ("", "-wal", "-shm", "-journal"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
        return
    db = Database("postgresql", url)
    schema = f"syncer_bench_state_writes_{label}"
    db.create_schema(schema, fresh=True)
    try:
        yield db._schema_url(schema)
    finally:
        db.drop_schema(schema)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.state_writes", description=__doc__)
    parser.add_argument("--members", type=int, action="append", required=True, help="repeatable")
    parser.add_argument("--url", default=None, help="PostgreSQL server URL; 'sqlite' for SQLite")
    parser.add_argument("--out", type=Path, default=None, help="also write the JSON here")
    parser.add_argument(
        "--stop-after", type=float, default=None, help="end the push after so many seconds"
    )
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    url = args.url or next((os.environ[v] for v in POSTGRES_VARS if os.environ.get(v)), None)
    if url == "sqlite":
        url = None
    results = []
    for members in args.members:
        with scratch(url) as state_url:
            result = measure(state_url, members, stop_after=args.stop_after)
        results.append(result)
        print(_line(result), flush=True)
    if args.out:
        args.out.write_text(json.dumps(results, indent=2) + "\n")
    else:
        print(json.dumps(results, indent=2))
    return 0


def _line(r: dict[str, Any]) -> str:
    rates = ", ".join(
        f"{k} {v['per_second']:,}/s"
        for k, v in r["phases"].items()
        if v["per_second"] and k != "finish"  # two ANALYZEs: no rate of members
    )
    total = f"{r['per_second']:,}/s" if r["per_second"] else f"stopped at {r['settled']:,}"
    return f"{r['members']:,} members: {r['seconds']} s, {total} ({rates})"


if __name__ == "__main__":
    raise SystemExit(main())
