"""A provider that asks to be left alone for longer than a run waits (Retry-After: 900): the run
ends partial at once, its changes pending and the provider's time recorded; the worker does not
start that destination before then; the next run after it completes."""

from __future__ import annotations

from datetime import timedelta

import pytest
from alembic import command
from sqlalchemy import Engine, inspect, select

from providers.errors import RateLimited
from syncer.errors import ConfigError
from syncer.state.lock import TargetLock
from syncer.state.migrate import _config, ensure_schema, head_revision, upgrade
from syncer.state.runs import RUNS
from syncer.state.store import OUTBOX
from syncer.sync.service import deferred_until
from tests.sync.fakes import DEST, QUERY, SEG, FakeClock, FakeProvider, Shop


def long_wait(clock: FakeClock, seconds: float = 900) -> RateLimited:
    """What the HTTP layer raises for a Retry-After beyond its budget."""
    err = RateLimited("rate limited: slow down", provider="fake", status=429)
    err.asked_to_wait(seconds, now=clock.now())
    err.beyond_budget = True
    return err


def test_long_retry_after_ends_partial_and_the_worker_waits_until_then(
    shop: Shop, fake: FakeProvider, make_engine, engine: Engine, clock: FakeClock
) -> None:
    shop.add(7)
    fake.raise_at[1] = long_wait(clock)
    sync = make_engine(fake)
    until = clock.now() + timedelta(seconds=900)
    result = sync.sync(SEG, DEST, QUERY, trigger="schedule")
    assert result.outcome == "partial" and result.pending == 4  # batch 0 (3) settled
    assert result.retry_not_before == until
    assert result.error is not None
    assert "the provider asked to wait until 2026-11-24 10:15:00 UTC" in result.error
    with engine.connect() as conn:
        recorded = conn.execute(select(RUNS.c.retry_not_before)).scalar_one()
        assert conn.execute(select(OUTBOX.c.id)).all() != []
    assert recorded.replace(tzinfo=until.tzinfo) == until
    assert sync.retry_not_before(SEG, DEST.key) == until

    assert deferred_until(sync, SEG, DEST.key) == until
    clock.advance(899)
    assert deferred_until(sync, SEG, DEST.key) == until
    clock.advance(2)
    assert deferred_until(sync, SEG, DEST.key) is None

    fake.raise_at.clear()
    again = sync.sync(SEG, DEST, QUERY, trigger="schedule")
    assert (again.outcome, again.pending, again.retry_not_before) == ("ok", 0, None)
    assert set(fake.tagged) == shop.desired_emails()
    assert sync.retry_not_before(SEG, DEST.key) is None


def test_a_short_wait_spent_on_retries_does_not_hold_the_worker_back(
    shop: Shop, fake: FakeProvider, make_engine, clock: FakeClock
) -> None:
    shop.add(2)
    fake.raise_at[0] = RateLimited("rate limited", provider="fake", status=429)
    sync = make_engine(fake)
    result = sync.sync(SEG, DEST, QUERY)
    assert result.outcome == "partial" and result.retry_not_before is None
    assert deferred_until(sync, SEG, DEST.key) is None


def test_a_skipped_run_does_not_clear_the_wait(
    shop: Shop, fake: FakeProvider, make_engine, clock: FakeClock
) -> None:
    shop.add(4)
    fake.raise_at[0] = long_wait(clock, 600)
    first = make_engine(fake)
    first.sync(SEG, DEST, QUERY)
    # another process holds the lock: its run is recorded as skipped
    other = make_engine(fake, owner="other-host:1")
    holder = other.store.find_target(SEG, DEST.key)
    assert holder is not None
    assert TargetLock(other.state, holder, "other-host:1", clock).acquire() is None
    assert first.sync(SEG, DEST, QUERY).outcome == "skipped"
    assert deferred_until(first, SEG, DEST.key) == clock.now() + timedelta(seconds=600)


def test_upgrade_from_0001_adds_the_column_and_downgrades(engine: Engine) -> None:
    upgrade(engine, "0001")
    with pytest.raises(ConfigError, match="syncer db upgrade"):
        ensure_schema(engine)
    assert upgrade(engine) == ("0001", head_revision())
    assert "retry_not_before" in {c["name"] for c in inspect(engine).get_columns("syncer_runs")}
    with engine.begin() as conn:
        cfg = _config(engine)
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0001")
    assert "retry_not_before" not in {c["name"] for c in inspect(engine).get_columns("syncer_runs")}
