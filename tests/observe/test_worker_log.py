"""Every line the worker writes is JSON, the scheduler library's and the migration tool's
included (their routine lines dropped, their warnings and errors kept); ``text`` is for people."""

from __future__ import annotations

import io
import json
import logging
import threading
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest
from sqlalchemy import create_engine

from syncer.observe.logs import setup_logging
from syncer.schedule import SyncScheduler, log_line
from syncer.state.migrate import ensure_schema


@pytest.fixture
def stream() -> Iterator[io.StringIO]:
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    out = io.StringIO()
    yield out
    root.handlers[:], root.level = saved  # leave pytest's own handlers as they were
    for name in ("apscheduler", "alembic"):
        logging.getLogger(name).setLevel(logging.NOTSET)


class Segment:
    name, schedule, destinations = "VIP", "* * * * *", ["d"]


def test_the_worker_s_lines_and_the_libraries_lines_are_all_json(
    stream: io.StringIO, tmp_path: Path
) -> None:
    setup_logging("json", stream)
    ensure_schema(create_engine(f"sqlite:///{tmp_path / 'state.db'}"))  # a migration runs

    def run(_name: str, _stop: threading.Event) -> Iterator[Mapping[str, object]]:
        yield {"destination": "d", "outcome": "ok", "adds": 3}

    scheduler = SyncScheduler(lambda: {"VIP": Segment()}, run, [tmp_path], reload_seconds=0.5)
    scheduler.start()
    time.sleep(1.3)  # two reload ticks of the library's interval job
    scheduler._run("VIP")  # one run's lines, as the cron job writes them
    scheduler.shutdown()
    logging.getLogger("apscheduler.executors.default").error("Job 'VIP' raised an exception")
    logging.getLogger("alembic.runtime.migration").warning("a migration warning")

    lines = stream.getvalue().splitlines()
    records = [json.loads(line) for line in lines]  # every line parses
    assert all({"ts", "level", "logger", "message"} <= set(r) for r in records)
    loggers = {r["logger"] for r in records}
    assert not any(r["level"] == "info" and r["logger"].startswith(("apscheduler", "alembic"))
                   for r in records)  # fmt: skip
    assert "apscheduler.executors.default" in loggers  # its errors stay visible
    assert "alembic.runtime.migration" in loggers
    run_line = next(r for r in records if r.get("event") == "run")
    assert run_line["segment"] == "VIP" and run_line["adds"] == 3 and run_line["level"] == "info"
    assert run_line["logger"] == "syncer.schedule" and run_line["message"] == "run"


def test_text_format_is_one_readable_line_per_record(stream: io.StringIO) -> None:
    setup_logging("text", stream)
    log_line("run", segment="VIP", destination="d", outcome="ok", adds=3)
    (line,) = stream.getvalue().splitlines()
    assert not line.startswith("{")
    assert "INFO" in line and "run" in line and "segment=VIP" in line and "adds=3" in line


def test_secrets_in_urls_are_masked_in_every_line(stream: io.StringIO) -> None:
    setup_logging("json", stream)
    log_line("run_failed", error="cannot reach postgresql+psycopg://shop:hunter2@db/shop")
    logging.getLogger("alembic").warning("at postgresql://u:hunter2@db/x")
    text = stream.getvalue()
    assert "hunter2" not in text and text.count("***") == 2
