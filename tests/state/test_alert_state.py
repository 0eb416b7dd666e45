"""Alert de-duplication in the state database: one alert per repeat interval while a condition
holds, a new one after the interval or after a recovery, shared by several workers."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine

from syncer.state.alerts import FAILING, STALE, claim, release, resolve
from syncer.state.migrate import upgrade
from tests.sync.fakes import FakeClock

HOUR = timedelta(hours=1)


def test_second_event_within_the_interval_is_suppressed_then_a_new_alert(engine: Engine) -> None:
    upgrade(engine)
    clock = FakeClock()
    first = claim(engine, "VIP", "d", FAILING, clock.now(), HOUR)
    assert first is not None and (first.sends, first.suppressed) == (1, 0)
    clock.advance(60)
    assert claim(engine, "VIP", "d", FAILING, clock.now(), HOUR) is None
    clock.advance(60)
    assert claim(engine, "VIP", "d", FAILING, clock.now(), HOUR) is None
    clock.advance(3600)
    again = claim(engine, "VIP", "d", FAILING, clock.now(), HOUR)
    assert again is not None and (again.sends, again.suppressed) == (2, 2)
    assert again.since == first.since  # the same spell


def test_recovery_ends_the_spell_and_the_next_failure_alerts_at_once(engine: Engine) -> None:
    upgrade(engine)
    clock = FakeClock()
    assert claim(engine, "VIP", "d", FAILING, clock.now(), HOUR) is not None
    clock.advance(60)
    assert resolve(engine, "VIP", "d", FAILING) is not None
    assert resolve(engine, "VIP", "d", FAILING) is None  # resolved once only
    clock.advance(60)
    new = claim(engine, "VIP", "d", FAILING, clock.now(), HOUR)
    assert new is not None and new.since == clock.now()
    # conditions and destinations are independent
    assert claim(engine, "VIP", "d", STALE, clock.now(), HOUR) is not None
    assert claim(engine, "VIP", "other", FAILING, clock.now(), HOUR) is not None


def test_released_claim_lets_the_next_event_try_again(engine: Engine) -> None:
    upgrade(engine)
    clock = FakeClock()
    taken = claim(engine, "VIP", "d", FAILING, clock.now(), HOUR)
    assert taken is not None
    release(engine, taken)  # the receiver was down
    clock.advance(60)
    assert claim(engine, "VIP", "d", FAILING, clock.now(), HOUR) is not None


def test_two_workers_deciding_on_one_event_send_one_alert(engine: Engine) -> None:
    upgrade(engine)
    clock = FakeClock()
    assert claim(engine, "VIP", "d", FAILING, clock.now(), HOUR) is not None
    clock.advance(7200)
    decisions = [claim(engine, "VIP", "d", FAILING, clock.now(), HOUR) for _ in range(2)]
    assert [d is not None for d in decisions] == [True, False]
