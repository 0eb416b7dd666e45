from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest

from syncer.errors import ConfigError
from syncer.observe.logs import JsonFormatter
from syncer.schedule import SyncScheduler, config_fingerprint


@dataclass
class Seg:
    name: str
    schedule: str | None
    destinations: list[str] = field(default_factory=lambda: ["d1"])
    tags: list[str] = field(default_factory=list)


class Config:
    def __init__(self, *segments: Seg) -> None:
        self.segments = {s.name: s for s in segments}
        self.broken = False

    def __call__(self) -> Mapping[str, Seg]:
        if self.broken:
            raise ConfigError("bad file", where="config/segments/x.yaml")
        return self.segments


def never_run(name: str, stop: threading.Event) -> Iterator[Mapping[str, object]]:
    raise AssertionError(f"{name} should not run")


def test_jobs_only_for_scheduled_segments_with_destinations(tmp_path: Path) -> None:
    cfg = Config(Seg("a", "*/5 * * * *"), Seg("b", None), Seg("c", "0 * * * *", destinations=[]))
    sched = SyncScheduler(cfg, never_run, [tmp_path])
    assert sched.reload()
    assert sched.schedules == {"a": "*/5 * * * *"}


def test_bad_config_keeps_previous_jobs_and_logs_one_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    cfg = Config(Seg("a", "*/5 * * * *"))
    sched = SyncScheduler(cfg, never_run, [tmp_path])
    sched.reload()
    cfg.broken = True
    with caplog.at_level(logging.INFO, logger="syncer.schedule"):
        assert not sched.reload()
    assert sched.schedules == {"a": "*/5 * * * *"}
    record = json.loads(JsonFormatter().format(caplog.records[-1]))
    assert record["event"] == "config_error" and "x.yaml" in record["error"]


def test_changed_schedule_replaces_job_and_removed_segment_drops_it(tmp_path: Path) -> None:
    cfg = Config(Seg("a", "*/5 * * * *"), Seg("b", "0 3 * * *"))
    sched = SyncScheduler(cfg, never_run, [tmp_path])
    sched.reload()
    cfg.segments = {"a": Seg("a", "0 * * * *")}
    sched.reload()
    assert sched.schedules == {"a": "0 * * * *"}


def test_a_worker_limited_to_tags_schedules_only_those_and_keeps_to_them_on_reload(
    tmp_path: Path,
) -> None:
    cfg = Config(
        Seg("a", "*/5 * * * *", tags=["EU", "vip"]),
        Seg("b", "*/5 * * * *", tags=["us"]),
        Seg("c", "*/5 * * * *"),
    )
    sched = SyncScheduler(cfg, never_run, [tmp_path], tags=["eu"])
    assert sched.reload()
    assert sched.schedules == {"a": "*/5 * * * *"}
    cfg.segments["b"] = Seg("b", "0 * * * *", tags=["us", "eu"])  # b now carries eu too
    cfg.segments["a"] = Seg("a", "*/5 * * * *", tags=["vip"])  # a no longer does
    assert sched.reload()
    assert sched.schedules == {"b": "0 * * * *"}
    assert {job.id for job in sched._scheduler.get_jobs()} == {"b"}


def test_fingerprint_changes_when_a_file_changes(tmp_path: Path) -> None:
    f = tmp_path / "s.yaml"
    f.write_text("a: 1")
    before = config_fingerprint([tmp_path])
    f.write_text("a: 22")
    assert config_fingerprint([tmp_path]) != before


def test_segment_never_overlaps_itself_and_shutdown_stops_the_run(tmp_path: Path) -> None:
    running = 0
    peak = 0
    started = threading.Event()
    lock = threading.Lock()

    def slow(name: str, stop: threading.Event) -> Iterator[Mapping[str, object]]:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        started.set()
        stop.wait(30)  # a long push that checks the stop event between batches
        with lock:
            running -= 1
        yield {"destination": "d1", "outcome": "stopped" if stop.is_set() else "ok"}

    cfg = Config(Seg("a", "* * * * *"))
    sched = SyncScheduler(cfg, slow, [tmp_path], reload_seconds=3600)
    sched.start()
    try:
        job = sched._scheduler.get_job("a")
        assert job is not None
        job.modify(next_run_time=datetime.now(UTC))
        assert started.wait(10)
        for _ in range(3):  # ask for more runs while one is in flight
            job.modify(next_run_time=datetime.now(UTC))
            sched._scheduler.wakeup()
            time.sleep(0.05)
    finally:
        sched.shutdown()
    assert peak == 1
    assert running == 0


def test_periodic_check_runs_at_start_and_again_and_survives_errors(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    calls: list[float] = []

    def check() -> None:
        calls.append(time.monotonic())
        if len(calls) == 2:
            raise ConfigError("state database gone")

    sched = SyncScheduler(
        Config(), never_run, [tmp_path], reload_seconds=3600, check=check, check_seconds=0.2
    )
    with caplog.at_level(logging.INFO, logger="syncer.schedule"):
        sched.start()
        try:
            deadline = time.monotonic() + 10
            while len(calls) < 3 and time.monotonic() < deadline:
                time.sleep(0.05)
        finally:
            sched.shutdown()
    assert len(calls) >= 3  # at start, then every check_seconds, an error not ending it
    failed = [
        json.loads(JsonFormatter().format(r))
        for r in caplog.records
        if "check_failed" in r.getMessage()
    ]
    assert failed and failed[0]["error"] == "state database gone"
