"""``sync --full`` reads the provider's tagged members while it diffs, then plans its repairs
with the diff's plan in the outbox and sends both as one push: the plan's own changes are never
repaired twice, a planned update of an untagged member becomes its add, a failed read still lets
the plan through, and nothing is sent until the read is over."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import Engine, func, select

from providers.base import Destination
from providers.errors import RateLimited, TransientError
from syncer.state.tagged import TAGGED
from syncer.sync.engine import SyncEngine
from tests.sync.fakes import DEST, QUERY, SEG, FakeProvider, Shop

MakeEngine = Callable[..., SyncEngine]


def staged(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(TAGGED)).scalar_one())


def test_the_plan_and_the_drift_repaired_in_one_push_nothing_twice(
    shop: Shop, fake: FakeProvider, make_engine: MakeEngine, engine: Engine
) -> None:
    shop.add(6)
    sync = make_engine(fake)
    sync.sync(SEG, DEST, QUERY)
    fake.adds_seen.clear()
    shop.set(1, loyalty_card="Silver")  # leaves: the plan removes it
    del fake.tagged["c2@example.com"]  # tag removed by hand: added again
    shop.set(3, first_name="Renamed")  # the plan updates it...
    del fake.tagged["c3@example.com"]  # ...and its tag was removed by hand: one add instead
    shop.add(1, start=7)  # enters: the plan adds it...
    fake.tagged["c7@example.com"] = fake.tagged["c4@example.com"]  # ...already tagged by hand
    fake.tagged["stranger@example.com"] = fake.tagged["c4@example.com"]  # tagged by hand
    result = sync.sync(SEG, DEST, QUERY, full=True)
    assert result.outcome == "ok", result.error
    assert set(fake.tagged) == shop.desired_emails()
    assert sorted(fake.removes_seen) == ["c1@example.com", "stranger@example.com"]
    assert sorted(fake.adds_seen) == ["c2@example.com", "c3@example.com", "c7@example.com"]
    assert fake.sent("update") == []  # c3's update went as its add
    assert fake.tagged["c3@example.com"].first_name == "Renamed"
    assert staged(engine) == 0
    again = sync.sync(SEG, DEST, QUERY, full=True)
    assert (again.adds, again.updates, again.removes) == (0, 0, 0)


def test_nothing_is_sent_before_the_tagged_read_is_over(
    shop: Shop, make_engine: MakeEngine
) -> None:
    class Watched(FakeProvider):
        sent_while_reading: list[int] = []

        def read_members(self, destination: Destination) -> Iterator[str]:
            for email in super().read_members(destination):
                self.sent_while_reading.append(len(self.batches_sent))
                yield email
            self.sent_while_reading.append(len(self.batches_sent))

    provider = Watched(batch_size=3)
    shop.add(5)
    sync = make_engine(provider)
    sync.sync(SEG, DEST, QUERY)
    shop.add(4, start=6)  # four to add
    del provider.tagged["c1@example.com"]  # one to repair
    batches = len(provider.batches_sent)
    result = sync.sync(SEG, DEST, QUERY, full=True)
    assert result.outcome == "ok" and result.adds == 5
    assert provider.sent_while_reading and set(provider.sent_while_reading) == {batches}
    assert len(provider.batches_sent) == batches + 2  # five adds, three a batch


def test_a_failed_read_repairs_nothing_but_the_plan_is_sent(
    shop: Shop, make_engine: MakeEngine, engine: Engine
) -> None:
    class Unreadable(FakeProvider):
        fail = True

        def read_members(self, destination: Destination) -> Iterator[str]:
            if self.fail:
                raise TransientError("GET /tags/vip/members: 503 (after retries)", provider="fake")
            return super().read_members(destination)

    provider = Unreadable(batch_size=3)
    shop.add(3)
    sync = make_engine(provider)
    sync.sync(SEG, DEST, QUERY)
    shop.add(2, start=4)
    del provider.tagged["c1@example.com"]
    result = sync.sync(SEG, DEST, QUERY, full=True)
    assert result.outcome == "partial" and "503" in (result.error or "")
    assert result.adds == 2 and "c1@example.com" not in provider.tagged  # the plan, no repair
    assert result.pending == 0 and staged(engine) == 0
    provider.fail = False
    repaired = sync.sync(SEG, DEST, QUERY, full=True)
    assert repaired.outcome == "ok" and repaired.adds == 1
    assert set(provider.tagged) == shop.desired_emails()


def test_a_diff_that_fails_stops_the_read_and_drops_what_it_staged(
    shop: Shop, fake: FakeProvider, engine: Engine, clock: object
) -> None:
    from sqlalchemy import column, table

    from syncer.errors import DatabaseError

    shop.add(3)
    sync = SyncEngine(commerce=engine, state=engine, providers=lambda _p: fake, clock=clock)  # type: ignore[arg-type]
    sync.sync(SEG, DEST, QUERY)
    broken = select(column("customer_id")).select_from(table("no_such_table"))
    try:
        sync.sync(SEG, DEST, broken, full=True)
    except DatabaseError as err:
        assert "database error" in str(err)
    else:
        raise AssertionError("a members query over a missing table must fail the run")
    assert staged(engine) == 0 and len(fake.batches_sent) == 1


def test_a_pending_change_of_an_earlier_address_does_not_hide_a_missing_tag(
    shop: Shop, fake: FakeProvider, make_engine: MakeEngine
) -> None:
    shop.add(3)
    sync = make_engine(fake)
    sync.sync(SEG, DEST, QUERY)
    shop.set(1, email="new1@example.com")  # a remove of c1@, an add of new1@
    fake.reject["c1@example.com"] = ("contact locked", True)  # the remove stays pending
    sync.sync(SEG, DEST, QUERY)
    assert "new1@example.com" in fake.tagged
    del fake.tagged["new1@example.com"]  # tag removed by hand
    result = sync.sync(SEG, DEST, QUERY, full=True)
    assert "new1@example.com" in fake.tagged, result.error
    assert result.pending == 1  # c1@'s remove, still refused


class SetsWhileReading(FakeProvider):
    """A provider whose read of the tagged members sets ``event`` (a stop, a lost lock) and then
    goes on slowly, so the run sees it before the read ends."""

    def __init__(self, event: threading.Event, batch_size: int) -> None:
        super().__init__(batch_size=batch_size)
        self.event = event

    def read_members(self, destination: Destination) -> Iterator[str]:
        for email in super().read_members(destination):
            self.event.set()
            time.sleep(0.05)
            yield email


def test_a_stop_while_the_tags_are_read_ends_the_run_with_the_plan_pending(
    shop: Shop, make_engine: MakeEngine, engine: Engine
) -> None:
    stop = threading.Event()
    provider = SetsWhileReading(stop, batch_size=3)  # SIGTERM arrives while the read goes on
    shop.add(20)
    sync = make_engine(provider)
    sync.sync(SEG, DEST, QUERY)
    shop.add(2, start=30)
    batches = len(provider.batches_sent)
    result = sync.sync(SEG, DEST, QUERY, full=True, stop=stop)
    assert result.outcome == "partial" and "stopped" in (result.error or "")
    assert len(provider.batches_sent) == batches and result.pending == 2
    assert staged(engine) == 0
    stop.clear()
    done = sync.sync(SEG, DEST, QUERY)
    assert done.outcome == "ok" and set(provider.tagged) == shop.desired_emails()


def test_a_read_told_to_wait_sends_nothing_and_keeps_the_plan(
    shop: Shop, make_engine: MakeEngine
) -> None:
    class Limited(FakeProvider):
        def read_members(self, destination: Destination) -> Iterator[str]:
            raise RateLimited("GET /tags/vip/members: 429", provider="fake", retry_after=3600)

    provider = Limited(batch_size=3)
    shop.add(3)
    sync = make_engine(provider)
    sync.sync(SEG, DEST, QUERY)
    batches = len(provider.batches_sent)
    shop.add(2, start=10)
    result = sync.sync(SEG, DEST, QUERY, full=True)
    assert result.outcome == "partial" and result.retry_not_before is not None
    assert len(provider.batches_sent) == batches and result.pending == 2


def test_addresses_beyond_ascii_are_compared_folded(
    shop: Shop, fake: FakeProvider, make_engine: MakeEngine
) -> None:
    shop.add(2)
    shop.set(1, email="JÜRGEN@example.com")
    sync = make_engine(fake)
    sync.sync(SEG, DEST, QUERY)
    sent = len(fake.batches_sent)
    result = sync.sync(SEG, DEST, QUERY, full=True)  # no drift: nothing to send
    assert result.outcome == "ok" and len(fake.batches_sent) == sent


def test_a_lock_lost_while_the_tags_are_read_sends_nothing(
    shop: Shop, make_engine: MakeEngine, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    from syncer.state.lock import TargetLock

    taken = threading.Event()
    monkeypatch.setattr(TargetLock, "lost", property(lambda _lock: taken.is_set()))
    provider = SetsWhileReading(taken, batch_size=3)  # another worker takes the lock over
    shop.add(20)
    sync = make_engine(provider)
    sync.sync(SEG, DEST, QUERY)
    shop.add(2, start=30)
    batches = len(provider.batches_sent)
    result = sync.sync(SEG, DEST, QUERY, full=True)
    assert result.outcome == "failed" and "lost the sync lock" in (result.error or "")
    assert len(provider.batches_sent) == batches and result.pending == 2
    assert staged(engine) == 0
