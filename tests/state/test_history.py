from __future__ import annotations

from datetime import UTC, datetime, timedelta

from syncer.state.history import destination_status, list_rejections, list_runs, schedule_interval
from tests.sync.fakes import DEST, QUERY, SEG

KEY = ("VIP", "fake/L1/vip")


def test_schedule_interval_from_cron_text() -> None:
    now = datetime(2026, 11, 24, 10, 7, tzinfo=UTC)  # a Tuesday
    assert schedule_interval("*/30 * * * *", now) == timedelta(minutes=30)
    assert schedule_interval("0 9 * * *", now) == timedelta(days=1)
    assert schedule_interval("0 9 * * 1-5", now) == timedelta(days=3)  # Friday -> Monday


def test_runs_history_newest_first_with_counts_and_errors(shop, fake, make_engine, engine, clock):
    shop.add(3)
    fake.reject["c3@example.com"] = ("looks fake or invalid", False)
    sync = make_engine(fake)
    sync.sync(SEG, DEST, QUERY, trigger="schedule")
    clock.advance(60)
    shop.set(1, loyalty_card="Silver")
    sync.sync(SEG, DEST, QUERY)
    runs = list_runs(engine)
    assert [(r["outcome"], r["adds"], r["removes"], r["rejections"]) for r in runs] == [
        ("ok", 0, 1, 0),
        ("ok", 2, 0, 1),
    ]
    assert runs[1]["trigger"] == "schedule" and runs[0]["segment"] == "VIP"
    assert list_runs(engine, segment="Other") == []
    assert len(list_runs(engine, limit=1)) == 1
    rejections = list_rejections(engine)
    assert [(r["email"], r["reason"], r["segment"]) for r in rejections] == [
        ("c3@example.com", "looks fake or invalid", "VIP")
    ]


def test_stale_when_last_success_older_than_twice_the_interval(
    shop, fake, make_engine, engine, clock
):
    shop.add(2)
    sync = make_engine(fake)
    sync.sync(SEG, DEST, QUERY)
    schedules = {KEY: "*/30 * * * *", ("Other", "fake/L1/other"): "0 * * * *"}
    fresh = {
        (s.segment, s.destination): s
        for s in destination_status(engine, schedules, clock.now() + timedelta(minutes=59))
    }
    assert not fresh[KEY].stale and fresh[KEY].last_outcome == "ok"
    assert fresh[("Other", "fake/L1/other")].stale  # configured, never synced
    later = clock.now() + timedelta(minutes=61)
    status = {(s.segment, s.destination): s for s in destination_status(engine, schedules, later)}
    assert status[KEY].stale and "schedule every 30m" in status[KEY].reason
    unscheduled = destination_status(engine, {KEY: None}, later)
    assert [s.stale for s in unscheduled] == [False]


def test_failed_runs_do_not_count_as_success(shop, fake, make_engine, engine, clock):
    from providers.errors import AuthenticationFailed

    shop.add(2)
    sync = make_engine(fake)
    sync.sync(SEG, DEST, QUERY)
    clock.advance(3700)
    fake.raise_at = {
        len(fake.batches_sent): AuthenticationFailed("API Key Invalid", provider="fake")
    }
    shop.add(1, start=9)
    assert sync.sync(SEG, DEST, QUERY).outcome == "failed"
    [status] = destination_status(engine, {KEY: "*/30 * * * *"}, clock.now())
    assert status.last_outcome == "failed" and status.stale
