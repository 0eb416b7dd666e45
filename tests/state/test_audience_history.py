"""The audience a destination carries after each run: adds minus removes, summed run by run."""

from __future__ import annotations

from datetime import timedelta

from syncer.state.history import audience_history
from tests.sync.fakes import DEST, QUERY, SEG


def test_audience_after_each_run_per_destination(shop, fake, make_engine, engine, clock):
    shop.add(3)
    sync = make_engine(fake)
    sync.sync(SEG, DEST, QUERY)  # 3 adds
    clock.advance(60)
    shop.set(1, loyalty_card="Silver")  # leaves
    sync.sync(SEG, DEST, QUERY)
    clock.advance(60)
    shop.add(2, start=4)
    sync.sync(SEG, DEST, QUERY)
    history = audience_history(engine, SEG)
    assert list(history) == [DEST.key]
    points = history[DEST.key]
    assert [p.audience for p in points] == [3, 2, 4]
    assert [p.outcome for p in points] == ["ok", "ok", "ok"]
    assert points[0].started_at < points[1].started_at < points[2].started_at
    assert audience_history(engine, "Other") == {}
    # as of a moment: only the runs started by then; the last N runs
    until = points[1].started_at + timedelta(seconds=1)
    assert [p.audience for p in audience_history(engine, SEG, until=until)[DEST.key]] == [3, 2]
    assert [p.audience for p in audience_history(engine, SEG, limit=2)[DEST.key]] == [2, 4]
