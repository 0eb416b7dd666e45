"""The web admin's live count against ``syncer segments count``: the time of one
``POST /segments/draft`` (the builder's request: the draft checked as ``segments validate``
checks a file, then counted with its consenting members) ÷ the time of the count query.

For every example segment, its rule posted as the builder's form to the admin app (in
process, logged in as an editor), after one warm-up of each: the median of ``repeat`` timed
runs. The target (``TARGET``: within 1.5x of the count) is for 100,000 customers.
"""

from __future__ import annotations

import re
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from starlette.testclient import TestClient

from bench.evaluation import SEGMENTS_DIR, example_segments
from syncer.db import make_engine
from syncer.segments.compiler import count_query
from syncer.settings import Settings
from syncer.web.app import create_app
from syncer.web.auth import Users, hash_password
from syncer.web.segment_draft import form_fields
from syncer.web.yaml_files import load

TARGET = 1.5
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
PASSWORD = "bench-live-count"


def _median(run: Callable[[], Any], repeat: int) -> float:
    run()  # warm-up
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def _client(url: str) -> tuple[TestClient, str]:
    settings = Settings(database_url=url, config_dir=SEGMENTS_DIR.parent)
    users = Users({"bench": (hash_password(PASSWORD), "editor")})
    client = TestClient(create_app(settings, {"SYNCER_WEB_SECRET_KEY": "bench"}, users=users))
    found = TOKEN.search(client.get("/login").text)
    assert found is not None
    client.post("/login", data={"username": "bench", "password": PASSWORD, "csrf_token": found[1]})
    again = TOKEN.search(client.get("/segments").text)
    assert again is not None, "the bench could not log in to the admin"
    return client, again[1]


def run(url: str, as_of: datetime, *, repeat: int = 3) -> list[dict[str, Any]]:
    """One entry per example segment: members, the two medians (ms) and their ratio. The live
    count is as of now (the builder's); the count query is timed as of now too."""
    del as_of  # the builder counts as of now; both sides use it
    segments = example_segments()
    engine = make_engine(url)
    client, token = _client(url)
    rows: list[dict[str, Any]] = []
    try:
        with client, engine.connect() as conn:
            for name, segment in segments.items():
                assert segment.source is not None
                rules = load(segment.source)["rules"]
                form = {"csrf_token": token, "name": name, "original": name,
                        **form_fields(rules)}  # fmt: skip
                now = datetime.now(UTC)
                members = int(conn.execute(count_query(segment, segments, as_of=now)).scalar_one())

                def post(form: dict[str, str] = form, name: str = name) -> None:
                    answer = client.post("/segments/draft", data=form)
                    if 'id="live-count"' not in answer.text:
                        raise RuntimeError(f"live count of {name!r} failed: {answer.text[-300:]}")

                def count(segment: Any = segment) -> None:
                    query = count_query(segment, segments, as_of=datetime.now(UTC))
                    conn.execute(query).all()

                count_s = _median(count, repeat)
                live_s = _median(post, repeat)
                rows.append({
                    "segment": name, "members": members,
                    "count_ms": round(count_s * 1000, 3), "live_ms": round(live_s * 1000, 3),
                    "ratio": round(live_s / count_s, 3) if count_s > 0 else 1.0,
                })  # fmt: skip
    finally:
        engine.dispose()
    return rows
