"""A run left ``running`` by a process that died is marked ``interrupted`` as soon as its lock is
seen to be dead (gone, expired, taken by another owner, or held by a dead process of this host),
and never while its owner still holds a live lock."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

from sqlalchemy import Engine, select

from syncer.state.lock import TargetLock
from syncer.state.migrate import upgrade
from syncer.state.runs import INTERRUPTED, RUNNING, RUNS, RunResult, close_interrupted, start_run
from syncer.state.store import StateStore
from tests.sync.fakes import FakeClock


def dead_owner() -> str:
    """The owner label of a process of this host that has ended."""
    proc = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    return f"{socket.gethostname()}:{proc.stdout.strip()}:dead"


def running(engine: Engine, clock: FakeClock, owner: str, *, lock: bool, ttl: float = 120) -> int:
    """A run opened by ``owner`` (holding the target's lock if ``lock``); returns its id."""
    upgrade(engine)
    segment = f"VIP-{owner.replace(':', '-')}"
    tid = StateStore(engine).target(segment, "fake/L1/vip", clock.now())
    if lock:
        assert TargetLock(engine, tid, owner, clock, ttl=ttl).acquire() is None
    result = RunResult(segment, "fake/L1/vip", started_at=clock.now())
    return start_run(engine, result, target_id=tid, full=False, owner=owner)


def outcome(engine: Engine, run_id: int) -> tuple[str, str | None]:
    with engine.connect() as conn:
        row = conn.execute(select(RUNS.c.outcome, RUNS.c.error).where(RUNS.c.id == run_id)).one()
    return row.outcome, row.error


def test_run_of_a_killed_process_on_this_host_is_interrupted_at_once(engine: Engine) -> None:
    clock = FakeClock()
    run_id = running(engine, clock, dead_owner(), lock=True, ttl=600)
    assert close_interrupted(engine, clock.now()) == 1
    status, error = outcome(engine, run_id)
    assert status == INTERRUPTED
    assert error is not None and "interrupted" in error and "no longer runs" in error


def test_run_whose_lock_expired_or_is_gone_is_interrupted(engine: Engine) -> None:
    clock = FakeClock()
    expired = running(engine, clock, "otherhost:41:aaaa", lock=True, ttl=60)
    gone = running(engine, clock, "otherhost:42:bbbb", lock=False)
    clock.advance(61)
    assert close_interrupted(engine, clock.now()) == 2
    assert outcome(engine, expired)[0] == INTERRUPTED
    assert "expired" in (outcome(engine, expired)[1] or "")
    assert outcome(engine, gone)[0] == INTERRUPTED


def test_run_with_a_live_lock_stays_running(engine: Engine) -> None:
    clock = FakeClock()
    here = running(engine, clock, f"{socket.gethostname()}:{os.getpid()}:live", lock=True)
    elsewhere = running(engine, clock, "otherhost:43:cccc", lock=True, ttl=60)
    clock.advance(59)
    assert close_interrupted(engine, clock.now()) == 0
    assert outcome(engine, here) == (RUNNING, None)
    assert outcome(engine, elsewhere) == (RUNNING, None)


def test_upgrade_keeps_the_runs_and_makes_room_for_interrupted(engine: Engine) -> None:
    """A state database of the previous revision keeps its runs; the outcome fits after."""
    from sqlalchemy import column, insert, table

    from syncer.state.migrate import head_revision
    from syncer.state.store import TARGETS

    clock = FakeClock()
    upgrade(engine, "0003")
    with engine.begin() as conn:
        conn.execute(
            insert(TARGETS).values(id=1, segment="s", destination="d", created_at=clock.at)
        )
        old_runs = table(  # the run table as revision 0003 has it
            "syncer_runs", *(column(c) for c in (
                "target_id", "segment", "destination", "trigger", "full", "owner", "started_at",
                "outcome", "adds", "updates", "removes", "rejections", "retries", "api_calls",
                "pending",
            ))
        )  # fmt: skip
        conn.execute(
            insert(old_runs).values(
                target_id=1, segment="s", destination="d", trigger="cli", full=False,
                owner="otherhost:1:x", started_at=clock.at, outcome=RUNNING, adds=5, updates=0,
                removes=0, rejections=0, retries=0, api_calls=3, pending=0,
            )
        )  # fmt: skip
    assert upgrade(engine) == ("0003", head_revision())
    assert close_interrupted(engine, clock.now()) == 1
    with engine.connect() as conn:
        row = conn.execute(select(RUNS.c.outcome, RUNS.c.adds, RUNS.c.api_calls)).one()
    assert tuple(row) == (INTERRUPTED, 5, 3)
