"""A provider that answers ``Retry-After: 900``: the CLI run ends partial within seconds with the
changes pending and the provider's time recorded; the worker does not start the destination
before then; the next run after that time completes."""

from __future__ import annotations

import json
import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from syncer.settings import Settings
from syncer.state.runs import RUNS
from syncer.state.store import OUTBOX
from syncer.sync.clock import SystemClock
from syncer.sync.service import SyncService
from tests.e2e.conftest import Workspace

pytestmark = pytest.mark.slow


class ShiftedClock(SystemClock):
    """The real clock, ``offset`` ahead."""

    def __init__(self, offset: timedelta) -> None:
        self.offset = offset

    def now(self) -> datetime:
        return super().now() + self.offset


def run_count(service: SyncService) -> int:
    with service.engine.state.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(RUNS)).scalar_one())


@pytest.mark.serial  # a time limit
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_retry_after_900_ends_the_run_partial_and_the_worker_waits(
    workspace: Workspace, capsys
) -> None:
    workspace.shop.add(40)
    workspace.emulator.faults.update({"rate_limit_next": 10_000, "retry_after": 900})
    asked = datetime.now(UTC)
    started = time.monotonic()
    proc = workspace.spawn("sync", "VIP", "--json")
    try:
        out, err = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        pytest.fail("the run waited for the provider's Retry-After: 900")
    elapsed = time.monotonic() - started
    assert proc.returncode == 1, err
    (result,) = json.loads(out)
    assert result["outcome"] == "partial" and result["pending"] == 40
    until = datetime.fromisoformat(result["retry_not_before"])
    assert asked + timedelta(seconds=899) <= until <= asked + timedelta(seconds=900 + elapsed)
    assert "asked to wait until" in result["error"]
    assert elapsed < 30

    by_hand = workspace.spawn("sync", "VIP")  # tries anyway, and says what the provider asked
    _out, err = by_hand.communicate(timeout=60)
    assert by_hand.returncode == 1
    assert "the provider asked not to be called before" in " ".join(err.split())
    assert "trying now" in " ".join(err.split())

    _code, runs = workspace.run(capsys, "runs")
    assert runs["runs"][0]["retry_not_before"] is not None
    until = datetime.fromisoformat(runs["destinations"][0]["retry_not_before"])

    settings = Settings(database_url=workspace.db_url, config_dir=Path(workspace.config))
    now = SyncService(settings, workspace.env, clock=ShiftedClock(timedelta(0)))
    try:
        before = run_count(now)
        (line,) = list(now.run_segment("VIP"))
        assert line["outcome"] == "waiting" and line["retry_not_before"]
        assert "asked not to be called before" in line["error"]
        assert run_count(now) == before  # not started at all
    finally:
        now.close()

    workspace.emulator.faults.clear()
    later = until - datetime.now(UTC) + timedelta(seconds=1)
    service = SyncService(settings, workspace.env, clock=ShiftedClock(later))
    try:
        (line,) = list(service.run_segment("VIP"))
        assert line["outcome"] == "ok" and line["pending"] == 0, line
        with service.engine.state.connect() as conn:
            assert conn.execute(select(func.count()).select_from(OUTBOX)).scalar_one() == 0
    finally:
        service.close()
    assert workspace.tagged() == workspace.desired()
