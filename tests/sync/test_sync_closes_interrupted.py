"""A sync that starts marks runs of processes that died (any target) ``interrupted``."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Engine, select

from syncer.state.runs import INTERRUPTED, RUNS
from syncer.sync.engine import SyncEngine
from tests.state.test_interrupted import dead_owner, running
from tests.sync.fakes import DEST, QUERY, SEG, FakeClock, FakeProvider, Shop


def test_next_sync_marks_a_dead_processes_run_interrupted(
    engine: Engine, shop: Shop, fake: FakeProvider, clock: FakeClock,
    make_engine: Callable[..., SyncEngine],
) -> None:  # fmt: skip
    shop.add(3)
    dead = running(engine, clock, dead_owner(), lock=True, ttl=600)  # another segment's run
    assert make_engine(fake).sync(SEG, DEST, QUERY).outcome == "ok"
    with engine.connect() as conn:
        outcome = conn.execute(select(RUNS.c.outcome).where(RUNS.c.id == dead)).scalar_one()
    assert outcome == INTERRUPTED
