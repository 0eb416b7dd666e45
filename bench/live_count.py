"""The web admin's live count against ``syncer segments count``: the time of one
``POST /segments/draft`` (the builder's request: the draft checked as ``segments validate``
checks a file, then counted with its consenting members) ÷ the time of the count query.

For every example segment, its rule posted as the builder's form to the admin app (in
process, logged in as an editor), after one warm-up of each: the median of ``repeat`` timed
runs, taken in turns (and the live count must equal the CLI's). The target (``TARGET``:
within 1.5x of the count) is for 100,000 customers.

Part of ``make bench``; on its own (the same data, generated once and reused):

    python -m bench.live_count --size 100000 --databases sqlite,postgresql --repeat 5
"""

from __future__ import annotations

import argparse
import re
import statistics
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from starlette.testclient import TestClient

from bench import report, targets
from bench.data import AS_OF, DATABASES, databases, prepare
from bench.evaluation import SEGMENTS_DIR, example_segments
from syncer.db import make_engine
from syncer.segments.compiler import count_query
from syncer.settings import Settings
from syncer.web.app import create_app
from syncer.web.auth import Users, hash_password
from syncer.web.segment_draft import form_fields
from syncer.web.yaml_files import load

TARGET = targets.LIVE_COUNT
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
LIVE = re.compile(r'id="live-count">([0-9,]+)<')
PASSWORD = "bench-live-count"


def _timed(run: Callable[[], Any]) -> float:
    started = time.perf_counter()
    run()
    return time.perf_counter() - started


def _medians(count: Callable[[], Any], post: Callable[[], Any], repeat: int) -> tuple[float, float]:
    """Median times of ``count`` and ``post``, after one warm-up of each, taken in turns (count,
    post, count, post, ...) so that a change of load on the machine weighs on both alike."""
    count()
    post()
    counts, posts = [], []
    for _ in range(repeat):
        counts.append(_timed(count))
        posts.append(_timed(post))
    return statistics.median(counts), statistics.median(posts)


def _client(url: str, as_of: datetime) -> tuple[TestClient, str]:
    settings = Settings(database_url=url, config_dir=SEGMENTS_DIR.parent)
    users = Users({"bench": (hash_password(PASSWORD), "editor")})
    env = {"SYNCER_WEB_SECRET_KEY": "bench"}
    client = TestClient(create_app(settings, env, users=users, as_of=as_of))
    found = TOKEN.search(client.get("/login").text)
    assert found is not None
    client.post("/login", data={"username": "bench", "password": PASSWORD, "csrf_token": found[1]})
    again = TOKEN.search(client.get("/segments").text)
    assert again is not None, "the bench could not log in to the admin"
    return client, again[1]


def run(url: str, as_of: datetime, *, repeat: int = 3) -> list[dict[str, Any]]:
    """One entry per example segment: members, the two medians (ms) and their ratio. Both sides
    count as of ``as_of``, the day the bench data ends (the admin served with ``--as-of``), so
    the windowed segments have their members rather than none."""
    segments = example_segments()
    engine = make_engine(url)
    client, token = _client(url, as_of)
    rows: list[dict[str, Any]] = []
    try:
        with client, engine.connect() as conn:
            for name, segment in segments.items():
                assert segment.source is not None
                rules = load(segment.source)["rules"]
                form = {"csrf_token": token, "name": name, "original": name,
                        **form_fields(rules)}  # fmt: skip
                query = count_query(segment, segments, as_of=as_of)
                members = int(conn.execute(query).scalar_one())

                def post(form: dict[str, str] = form, name: str = name, n: int = members) -> None:
                    answer = client.post("/segments/draft", data=form)
                    found = LIVE.search(answer.text)
                    if found is None:
                        raise RuntimeError(f"live count of {name!r} failed: {answer.text[-300:]}")
                    if int(found[1].replace(",", "")) != n:
                        raise RuntimeError(f"live count of {name!r} is {found[1]}, not {n:,}")

                def count(segment: Any = segment) -> None:
                    conn.execute(count_query(segment, segments, as_of=as_of)).all()

                count_s, live_s = _medians(count, post, repeat)
                rows.append({
                    "segment": name, "members": members,
                    "count_ms": round(count_s * 1000, 3), "live_ms": round(live_s * 1000, 3),
                    "ratio": round(live_s / count_s, 3) if count_s > 0 else 1.0,
                })  # fmt: skip
    finally:
        engine.dispose()
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.live_count", description=__doc__)
    parser.add_argument("--size", type=int, default=100_000, help="customers (default 100000)")
    parser.add_argument("--databases", default=",".join(DATABASES), help="sqlite,postgresql")
    parser.add_argument("--repeat", type=int, default=5, help="timed runs of each (median)")
    args = parser.parse_args(argv)

    worst = 0.0
    for db in databases([d for d in args.databases.split(",") if d]):
        rows = run(prepare(db, args.size), AS_OF, repeat=max(1, args.repeat))
        report.live_count(db.kind, args.size, rows)
        worst = max([worst, *(r["ratio"] for r in rows)])
    print(f"highest ratio: {worst} (target <= {TARGET})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
