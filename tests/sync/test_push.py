from __future__ import annotations

from typing import get_args

import pytest
from sqlalchemy import Engine, func, select

from providers.base import OnLeave
from providers.errors import AuthenticationFailed, TransientError
from syncer.segments.model import LeaveAction
from syncer.state.lock import TargetLock
from syncer.state.migrate import upgrade
from syncer.state.runs import RUNS
from syncer.state.store import MEMBERS, OUTBOX, REJECTIONS, StateStore
from tests.sync.fakes import DEST, QUERY, SEG, Crash, Dest, FakeProvider, Shop


def count(engine: Engine, table, **where) -> int:
    q = select(func.count()).select_from(table)
    for k, v in where.items():
        q = q.where(table.c[k] == v)
    with engine.connect() as conn:
        return int(conn.execute(q).scalar() or 0)


def test_first_sync_adds_everyone_in_batches_and_records_the_run(shop, fake, make_engine, engine):
    shop.add(7)
    shop.add(2, start=100, card="Silver")
    result = make_engine(fake).sync(SEG, DEST, QUERY)
    assert result.outcome == "ok"
    assert set(fake.tagged) == shop.desired_emails()
    assert (result.adds, result.updates, result.removes) == (7, 0, 0)
    assert [len(b) for b in fake.batches_sent] == [3, 3, 1]
    assert result.api_calls == fake.calls == 4  # ensure_tag + 3 batches
    assert count(engine, MEMBERS) == 7 and count(engine, OUTBOX) == 0
    with engine.connect() as conn:
        run = conn.execute(select(RUNS)).one()
    assert (run.outcome, run.adds, run.api_calls, run.trigger) == ("ok", 7, 4, "cli")


def test_no_change_resync_calls_the_provider_zero_times(shop, fake, make_engine):
    shop.add(5)
    sync = make_engine(fake)
    sync.sync(SEG, DEST, QUERY)
    before = fake.calls
    result = sync.sync(SEG, DEST, QUERY)
    assert fake.calls == before and result.api_calls == 0
    assert (result.outcome, result.adds, result.removes) == ("ok", 0, 0)


def test_incremental_change_sends_only_the_difference(shop, fake, make_engine):
    shop.add(6)
    sync = make_engine(fake)
    sync.sync(SEG, DEST, QUERY)
    fake.batches_sent.clear()
    shop.set(2, loyalty_card="Silver")  # leaves
    shop.set(3, first_name="Renamed")  # update
    shop.set(4, email="new4@example.com")  # email change
    shop.add(1, start=50)  # joins
    result = sync.sync(SEG, DEST, QUERY)
    assert fake.batches_sent == [
        [("remove", "c2@example.com"), ("remove", "c4@example.com")],
        [("update", "c3@example.com"), ("add", "new4@example.com"), ("add", "c50@example.com")],
    ]
    assert (result.adds, result.updates, result.removes) == (2, 1, 2)
    assert set(fake.tagged) == shop.desired_emails()
    assert fake.tagged["c3@example.com"].first_name == "Renamed"


def test_consent_skip_and_non_subscribed(shop, fake, make_engine):
    shop.add(2, consent=False)
    shop.add(1, start=3)
    sync = make_engine(fake)
    sync.sync(SEG, DEST, QUERY)
    assert set(fake.tagged) == {"c3@example.com"}
    fake2 = FakeProvider()
    make_engine(fake2).sync(SEG, Dest(tag="all", without_consent="non_subscribed"), QUERY)
    assert set(fake2.tagged) == {"c1@example.com", "c2@example.com", "c3@example.com"}
    assert fake2.status["c1@example.com"] == "transactional"
    assert fake2.status["c3@example.com"] == "subscribed"


def test_withdrawn_consent_removes_the_tag_and_never_unsubscribes(shop, fake, make_engine):
    shop.add(2)
    sync = make_engine(fake)
    sync.sync(SEG, DEST, QUERY)
    shop.set(1, accepts_marketing=False)
    result = sync.sync(SEG, DEST, QUERY)
    assert result.removes == 1 and "c1@example.com" not in fake.tagged
    assert fake.status["c1@example.com"] == "subscribed"  # untag only (on_leave default)


def test_on_leave_is_passed_to_the_provider(shop, fake, make_engine):
    shop.add(2)
    dest = Dest(on_leave="unsubscribe")
    sync = make_engine(fake)
    sync.sync(SEG, dest, QUERY)
    shop.set(1, loyalty_card="Silver")
    sync.sync(SEG, dest, QUERY)
    assert fake.status["c1@example.com"] == "unsubscribed"


@pytest.mark.parametrize("on_leave", get_args(LeaveAction))
def test_each_on_leave_of_a_segment_reaches_the_provider_as_its_own(shop, make_engine, on_leave):
    """The segment's ``on_leave`` values are the provider's ``OnLeave`` values, one for one."""
    assert set(get_args(LeaveAction)) == {o.value for o in OnLeave}
    seen: list[OnLeave] = []

    class Seeing(FakeProvider):
        def ensure_tag(self, destination):
            seen.append(destination.on_leave)
            return super().ensure_tag(destination)

    shop.add(1)
    make_engine(Seeing()).sync(SEG, Dest(on_leave=on_leave), QUERY)
    assert seen == [OnLeave(on_leave)] and isinstance(seen[0], OnLeave)


def test_permanent_rejection_recorded_once_and_not_resent(shop, fake, make_engine, engine):
    shop.add(3)
    fake.reject["c2@example.com"] = ("looks fake or invalid", False)
    sync = make_engine(fake)
    result = sync.sync(SEG, DEST, QUERY)
    assert (result.outcome, result.adds, result.rejections) == ("ok", 2, 1)
    with engine.connect() as conn:
        rej = conn.execute(select(REJECTIONS)).one()
    assert (rej.email, rej.reason, rej.retryable) == (
        "c2@example.com",
        "looks fake or invalid",
        False,
    )
    fake.batches_sent.clear()
    sync.sync(SEG, DEST, QUERY)
    assert fake.batches_sent == []  # not retried every run
    del fake.reject["c2@example.com"]
    shop.set(2, first_name="Fixed")  # the data changed: sent again
    result = sync.sync(SEG, DEST, QUERY)
    assert fake.sent() == ["c2@example.com"] and result.adds == 1
    assert count(engine, REJECTIONS) == 0


def test_rejected_member_leaving_costs_no_call(shop, fake, make_engine, engine):
    shop.add(2)
    fake.reject["c2@example.com"] = ("compliance state", False)
    sync = make_engine(fake)
    sync.sync(SEG, DEST, QUERY)
    fake.batches_sent.clear()
    shop.set(2, loyalty_card="Silver")
    sync.sync(SEG, DEST, QUERY)
    assert fake.batches_sent == [] and count(engine, MEMBERS) == 1


def test_retryable_refusal_stays_pending_then_gives_up(shop, fake, make_engine, engine):
    shop.add(2)
    fake.reject["c1@example.com"] = ("busy", True)
    sync = make_engine(fake, max_attempts=3)
    first = sync.sync(SEG, DEST, QUERY)
    assert (first.outcome, first.pending, first.retries) == ("partial", 1, 1)
    assert count(engine, OUTBOX) == 1
    sync.sync(SEG, DEST, QUERY)
    assert count(engine, OUTBOX) == 1  # attempt 2
    third = sync.sync(SEG, DEST, QUERY)
    assert (third.outcome, third.rejections, count(engine, OUTBOX)) == ("ok", 1, 0)
    assert fake.sent().count("c1@example.com") == 3


def test_a_refused_remove_is_never_given_up(shop, fake, make_engine, engine):
    """A remove the provider refuses, even permanently, stays pending run after run (and is
    listed with the rejections) until the provider confirms it: a lost remove would leave a
    customer in an audience they left."""
    shop.add(2)
    sync = make_engine(fake, max_attempts=2)
    sync.sync(SEG, DEST, QUERY)
    shop.set(2, loyalty_card="Silver")
    fake.reject["c2@example.com"] = ("temporarily locked", False)
    for _ in range(3):
        result = sync.sync(SEG, DEST, QUERY)
        assert (result.outcome, result.pending) == ("partial", 1)
        assert "c2@example.com" in fake.tagged and count(engine, OUTBOX, kind="remove") == 1
    assert count(engine, REJECTIONS, email="c2@example.com") == 1
    del fake.reject["c2@example.com"]
    result = sync.sync(SEG, DEST, QUERY)
    assert (result.outcome, result.removes, result.pending) == ("ok", 1, 0)
    assert "c2@example.com" not in fake.tagged
    assert count(engine, REJECTIONS) == 0 and count(engine, MEMBERS) == 1


def test_outbox_is_written_before_sending(shop, engine, make_engine):
    shop.add(5)
    seen: list[int] = []

    class Peeking(FakeProvider):
        def apply_batch(self, destination, changes):
            seen.append(count(engine, OUTBOX))
            return super().apply_batch(destination, changes)

    make_engine(Peeking()).sync(SEG, DEST, QUERY)
    assert seen[0] == 5  # every change recorded before the first call


def test_crash_mid_push_leaves_pending_and_rerun_completes(shop, make_engine, engine):
    shop.add(7)
    fake = FakeProvider(batch_size=3)
    fake.crash_after_apply_at = 1  # batch 1 reached the provider, its answer was lost
    with pytest.raises(Crash):
        make_engine(fake).sync(SEG, DEST, QUERY)
    assert count(engine, OUTBOX) == 4  # batch 1 (applied, unsettled) + batch 2 (never sent)
    with engine.connect() as conn:
        assert conn.execute(select(RUNS.c.outcome)).scalar() == "failed"
    fake.crash_after_apply_at = None
    result = make_engine(fake).sync(SEG, DEST, QUERY)
    assert result.outcome == "ok" and count(engine, OUTBOX) == 0
    assert set(fake.tagged) == shop.desired_emails()
    assert count(engine, MEMBERS) == 7
    resent = fake.adds_seen
    assert len(resent) == 10 and len(set(resent)) == 7  # batch 1 replayed; upserts are idempotent


def test_pending_changes_are_brought_up_to_date_before_they_are_resent(shop, make_engine, engine):
    """A run stops with adds pending; before the next run resends them the shop changes: one
    customer withdraws consent, one leaves, one changes address, one is renamed. The resent
    changes follow the shop, not the stale rows: nobody is subscribed who no longer consents."""
    shop.add(6)
    fake = FakeProvider(batch_size=3)
    fake.crash_after_apply_at = 0  # batch 0 (c1..c3) reached the provider, its answer was lost
    with pytest.raises(Crash):
        make_engine(fake).sync(SEG, DEST, QUERY)
    assert count(engine, OUTBOX) == 6
    shop.set(1, accepts_marketing=False)  # applied before the crash, consent now withdrawn
    shop.set(4, accepts_marketing=False)  # never sent; consent withdrawn
    shop.set(5, loyalty_card="Silver")  # never sent; left the segment
    shop.set(6, email="new6@example.com")  # never sent; new address
    shop.set(3, first_name="Renamed")
    fake.crash_after_apply_at = None
    fake.batches_sent.clear()
    result = make_engine(fake).sync(SEG, DEST, QUERY)
    assert result.outcome == "ok" and count(engine, OUTBOX) == 0
    assert set(fake.tagged) == shop.desired_emails() == {
        "c2@example.com", "c3@example.com", "new6@example.com"
    }  # fmt: skip
    sent_adds = set(fake.sent("add"))
    assert not sent_adds & {"c1@example.com", "c4@example.com", "c5@example.com"}
    assert fake.tagged["c3@example.com"].first_name == "Renamed"
    assert "c4@example.com" not in fake.status  # never created, so never subscribed


def test_crash_during_removes_loses_no_remove(shop, make_engine, engine):
    shop.add(6)
    fake = FakeProvider(batch_size=2)
    make_engine(fake).sync(SEG, DEST, QUERY)
    for i in range(1, 6):
        shop.set(i, loyalty_card="Silver")
    fake.batches_sent.clear()
    fake.raise_at = {1: Crash("killed")}
    with pytest.raises(Crash):
        make_engine(fake).sync(SEG, DEST, QUERY)
    shop.set(1, loyalty_card="Gold")  # meanwhile customer 1 came back
    fake.raise_at = {}
    result = make_engine(fake).sync(SEG, DEST, QUERY)
    assert result.outcome == "ok"
    assert set(fake.tagged) == shop.desired_emails() == {"c1@example.com", "c6@example.com"}


def test_retryable_whole_call_failure_ends_partial_with_pending_kept(
    shop, fake, make_engine, engine
):
    shop.add(5)
    fake.raise_at = {1: TransientError("server error", provider="fake", status=503)}
    result = make_engine(fake).sync(SEG, DEST, QUERY)
    assert result.outcome == "partial" and "server error" in (result.error or "")
    assert result.pending == 2 and count(engine, OUTBOX) == 2
    fake.raise_at = {}
    assert make_engine(fake).sync(SEG, DEST, QUERY).outcome == "ok"
    assert set(fake.tagged) == shop.desired_emails()


def test_fatal_error_fails_the_run_with_one_line(shop, fake, make_engine, engine):
    shop.add(2)
    fake.raise_at = {0: AuthenticationFailed("API Key Invalid", provider="fake", status=401)}
    result = make_engine(fake).sync(SEG, DEST, QUERY)
    assert result.outcome == "failed" and result.failed
    assert result.error == "fake: API Key Invalid (HTTP 401)"
    with engine.connect() as conn:
        assert conn.execute(select(RUNS.c.error)).scalar() == result.error


def test_concurrent_provider_batches_settle_every_member(shop, make_engine, engine):
    shop.add(25)
    fake = FakeProvider(batch_size=2, concurrency=4)
    result = make_engine(fake).sync(SEG, DEST, QUERY)
    assert result.outcome == "ok" and result.adds == 25
    assert count(engine, MEMBERS) == 25 and count(engine, OUTBOX) == 0


def test_async_provider_members_accepted_then_confirmed(shop, make_engine, engine, clock):
    shop.add(3)
    fake = FakeProvider()
    fake.asynchronous = True
    result = make_engine(fake, confirm_wait=1.5).sync(SEG, DEST, QUERY)
    assert fake.confirm_calls == 1 and clock.slept == [1.5]
    assert count(engine, MEMBERS, status="applied") == 3 and result.accepted == 0


def test_accepted_but_never_applied_members_are_rejected_after_the_timeout(
    shop, make_engine, engine, clock
):
    shop.add(3)
    fake = FakeProvider()
    fake.asynchronous = True
    fake.dropped = {"c2@example.com"}  # the provider queued it, then dropped it silently
    sync = make_engine(fake, accept_timeout=3600)
    first = sync.sync(SEG, DEST, QUERY)
    assert (first.outcome, first.accepted) == ("ok", 1)
    clock.advance(600)
    assert sync.sync(SEG, DEST, QUERY).accepted == 1  # still waiting: confirmed again next run
    clock.advance(3600)
    third = sync.sync(SEG, DEST, QUERY)
    assert (third.rejections, third.accepted) == (1, 0)
    assert count(engine, MEMBERS, status="rejected") == 1
    with engine.connect() as conn:
        assert "never applied" in conn.execute(select(REJECTIONS.c.reason)).scalar_one()
    calls = fake.confirm_calls
    assert sync.sync(SEG, DEST, QUERY).api_calls == 0 and fake.confirm_calls == calls


@pytest.mark.parametrize("leave", [{"loyalty_card": "Silver"}, {"accepts_marketing": False}])
def test_a_remove_waits_while_the_members_add_is_still_queued(shop, make_engine, engine, leave):
    shop.add(3)
    fake = FakeProvider()
    fake.asynchronous, fake.queue = True, {}  # adds are applied only when the queue drains
    sync = make_engine(fake)
    assert sync.sync(SEG, DEST, QUERY).accepted == 3
    shop.set(2, **leave)  # leaves (a refund, consent withdrawn) before the add was applied
    for _ in range(3):  # however many runs pass while the add is queued
        held = sync.sync(SEG, DEST, QUERY)
        assert (held.outcome, held.pending, held.removes) == ("partial", 1, 0)
        assert "queued add" in (held.error or "")
    fake.drain()  # the provider applies the queued adds, c2's included
    done = sync.sync(SEG, DEST, QUERY)
    assert (done.outcome, done.pending, done.removes) == ("ok", 0, 1)
    assert set(fake.tagged) == shop.desired_emails()
    assert count(engine, OUTBOX) == 0 and count(engine, MEMBERS, status="applied") == 2
    calls = fake.calls
    assert sync.sync(SEG, DEST, QUERY).outcome == "ok" and fake.calls == calls


def test_a_held_remove_of_an_old_address_waits_for_the_customers_add(shop, make_engine):
    shop.add(2)
    fake = FakeProvider()
    fake.asynchronous, fake.queue = True, {}
    sync = make_engine(fake)
    sync.sync(SEG, DEST, QUERY)
    shop.set(1, email="new1@example.com")  # the old address leaves while its add is queued
    assert sync.sync(SEG, DEST, QUERY).pending == 1
    fake.drain()
    sync.sync(SEG, DEST, QUERY)  # confirms the new address's add; the old address's remove is sent
    assert sync.sync(SEG, DEST, QUERY).outcome == "ok"
    assert set(fake.tagged) == shop.desired_emails() == {"new1@example.com", "c2@example.com"}


def test_a_held_remove_is_sent_once_the_add_is_given_up(shop, make_engine, engine, clock):
    shop.add(2)
    fake = FakeProvider()
    fake.asynchronous, fake.queue = True, {}
    sync = make_engine(fake, accept_timeout=3600)
    sync.sync(SEG, DEST, QUERY)
    shop.set(2, loyalty_card="Silver")
    assert sync.sync(SEG, DEST, QUERY).pending == 1
    clock.advance(3601)  # never confirmed: the add is taken as dropped, the remove goes out
    last = sync.sync(SEG, DEST, QUERY)
    assert (last.removes, last.pending) == (1, 0)
    assert "c2@example.com" in fake.removes_seen and count(engine, OUTBOX) == 0


def test_stop_event_ends_after_the_current_batch(shop, fake, make_engine, engine):
    import threading

    shop.add(7)
    stop = threading.Event()
    stop.set()
    result = make_engine(fake).sync(SEG, DEST, QUERY, stop=stop)
    assert result.outcome == "partial" and len(fake.batches_sent) == 1
    assert count(engine, OUTBOX) == 4


def test_dry_run_only_asks_whether_the_list_exists_and_writes_nothing(
    shop, fake, make_engine, engine
):
    shop.add(4)
    sync = make_engine(fake)
    preview = sync.sync(SEG, DEST, QUERY, dry_run=True)
    assert (preview.outcome, preview.adds) == ("dry-run", 4)
    assert preview.samples["add"][:2] == ["c1@example.com", "c2@example.com"]
    assert fake.calls == 1 and preview.run_id is None
    sync.sync(SEG, DEST, QUERY)
    shop.set(1, loyalty_card="Silver")
    calls = fake.calls
    with engine.connect() as conn:
        runs = conn.execute(select(func.count()).select_from(RUNS)).scalar()
    preview = sync.sync(SEG, DEST, QUERY, dry_run=True)
    assert (preview.adds, preview.removes) == (0, 1) and fake.calls == calls + 1
    assert count(engine, RUNS) == runs and count(engine, OUTBOX) == 0


def test_a_dry_run_to_a_list_that_does_not_exist_fails_in_one_line(shop, fake, make_engine, engine):
    shop.add(4)
    fake.missing_lists.add(DEST.list)
    preview = make_engine(fake).sync(SEG, DEST, QUERY, dry_run=True)
    assert preview.outcome == "failed" and preview.failed and preview.adds == 4
    assert f"list {DEST.list!r} does not exist" in preview.error
    assert "syncer profiles discover" in preview.error and "\n" not in preview.error


def test_full_repairs_drift_both_ways(shop, fake, make_engine):
    shop.add(4)
    sync = make_engine(fake)
    sync.sync(SEG, DEST, QUERY)
    del fake.tagged["c2@example.com"]  # tag removed by hand
    fake.tagged["stranger@example.com"] = fake.tagged["c1@example.com"]  # tagged by hand
    plain = sync.sync(SEG, DEST, QUERY)
    assert plain.api_calls == 0  # without --full nobody looks
    result = sync.sync(SEG, DEST, QUERY, full=True)
    assert result.outcome == "ok" and (result.adds, result.removes) == (1, 1)
    assert set(fake.tagged) == shop.desired_emails()


def test_provider_that_cannot_be_built_fails_the_run(shop, engine, clock):
    from providers.errors import BadConfiguration
    from syncer.sync.engine import SyncEngine

    def factory(_profile):
        raise BadConfiguration("unknown provider 'nope'; known: fake")

    sync = SyncEngine(commerce=engine, state=engine, providers=factory, clock=clock)
    result = sync.sync(SEG, DEST, QUERY)
    assert result.outcome == "failed" and "unknown provider" in (result.error or "")
    with engine.connect() as conn:
        assert conn.execute(select(RUNS.c.outcome)).scalar() == "failed"


def test_provider_returning_copies_of_changes_is_still_settled(shop, make_engine, engine):
    import dataclasses

    class Copying(FakeProvider):
        def apply_batch(self, destination, changes):
            outcomes = super().apply_batch(destination, changes)
            return [dataclasses.replace(o, change=dataclasses.replace(o.change)) for o in outcomes]

    shop.add(5)
    result = make_engine(Copying()).sync(SEG, DEST, QUERY)
    assert result.adds == 5 and count(engine, OUTBOX) == 0 and count(engine, MEMBERS) == 5


def test_state_database_failure_is_one_line(shop, fake, engine, clock):
    from sqlalchemy import column, table

    from syncer.errors import DatabaseError
    from syncer.sync.engine import SyncEngine

    broken = select(column("customer_id")).select_from(table("no_such_table"))
    shop.add(1)
    sync = SyncEngine(commerce=engine, state=engine, providers=lambda _p: fake, clock=clock)
    with pytest.raises(DatabaseError) as info:
        sync.sync(SEG, DEST, broken)
    assert "\n" not in str(info.value) and "database error" in str(info.value)
    with engine.connect() as conn:
        assert conn.execute(select(RUNS.c.outcome)).scalar() == "failed"


def test_statistics_are_refreshed_after_writing_or_settling_many_rows(shop, fake, make_engine):
    shop.add(6)
    sync = make_engine(fake, analyze_after=5)
    calls: list[bool] = []
    refresh = sync.store.analyze
    sync.store.analyze = lambda: calls.append(refresh()) or True  # type: ignore[method-assign]
    sync.sync(SEG, DEST, QUERY)
    assert calls == [True, True]  # after writing the 6-row plan, and after settling 6 changes
    calls.clear()
    sync.sync(SEG, DEST, QUERY)  # nothing changed: nothing to refresh
    assert calls == []


@pytest.fixture
def case_shop(engine, tmp_path):
    """A shop whose addresses may differ only in case, and an engine builder syncing it. On
    MariaDB the commerce table's unique email is case-insensitive, so such a shop cannot exist
    there: it is kept on SQLite while the state tables stay on MariaDB."""
    from syncer.db import make_engine as connect

    commerce = (
        connect(f"sqlite:///{tmp_path / 'shop.db'}") if engine.dialect.name == "mysql" else engine
    )
    yield Shop(commerce), commerce
    if commerce is not engine:
        commerce.dispose()


def test_a_leaver_sharing_a_folded_address_never_untags_a_member(
    case_shop, fake, make_engine, engine
):
    """Addresses differing only in case are one provider contact: it keeps the tag while any
    customer with that folded address is a member, whichever of them (lower or higher id)
    leaves; the last one leaving removes it."""
    shop, commerce = case_shop
    shop.add(6)
    shop.set(2, email="RILEY.HALL.2@EXAMPLE.COM")  # leaves: the lower id of its pair
    shop.set(3, email="riley.hall.2@example.com")
    shop.set(4, email="morgan.lee@example.com")
    shop.set(5, email="Morgan.Lee@Example.com")  # leaves: the higher id of its pair
    sync = make_engine(fake, commerce=commerce)
    assert sync.sync(SEG, DEST, QUERY).outcome == "ok"
    shop.set(2, loyalty_card="Silver")
    shop.set(5, loyalty_card="Silver")
    for _ in range(2):
        result = sync.sync(SEG, DEST, QUERY)
        assert (result.outcome, result.pending) == ("ok", 0)
        assert set(fake.tagged) == shop.desired_emails()
        assert {"riley.hall.2@example.com", "morgan.lee@example.com"} <= set(fake.tagged)
    assert fake.removes_seen == []  # the provider was never asked to untag the shared contact
    assert count(engine, MEMBERS) == 4 and count(engine, OUTBOX) == 0
    shop.set(3, loyalty_card="Silver")  # the last member with that address leaves
    result = sync.sync(SEG, DEST, QUERY)
    assert (result.outcome, result.removes) == ("ok", 1)
    assert set(fake.tagged) == shop.desired_emails()
    assert "riley.hall.2@example.com" not in fake.tagged


def test_an_email_change_never_untags_a_contact_another_member_shares(case_shop, fake, make_engine):
    shop, commerce = case_shop
    shop.add(3)
    shop.set(1, email="Shared@Example.com")
    shop.set(2, email="shared@example.com")
    sync = make_engine(fake, commerce=commerce)
    sync.sync(SEG, DEST, QUERY)
    shop.set(1, email="moved@example.com")  # the lower id moves away; 2 still has the address
    result = sync.sync(SEG, DEST, QUERY)
    assert (result.outcome, result.adds, result.removes) == ("ok", 1, 0)
    assert set(fake.tagged) == shop.desired_emails() >= {"shared@example.com"}
    assert fake.removes_seen == []


def test_a_pending_remove_is_not_sent_once_another_member_has_the_address(
    case_shop, fake, make_engine, engine
):
    """A remove left pending by an earlier run is checked again before it is sent: if a
    customer who joined meanwhile has the same address (in another case), it is dropped."""
    shop, commerce = case_shop
    shop.add(2)
    sync = make_engine(fake, commerce=commerce)
    sync.sync(SEG, DEST, QUERY)
    shop.set(1, loyalty_card="Silver")
    fake.reject["c1@example.com"] = ("busy", True)
    assert sync.sync(SEG, DEST, QUERY).outcome == "partial"  # the remove stays pending
    del fake.reject["c1@example.com"]
    shop.add(1, start=9)
    shop.set(9, email="C1@EXAMPLE.COM")  # joins with the leaver's address
    fake.removes_seen.clear()
    result = sync.sync(SEG, DEST, QUERY)
    assert (result.outcome, result.pending) == ("ok", 0)
    assert fake.removes_seen == [] and "c1@example.com" in fake.tagged
    assert set(fake.tagged) == shop.desired_emails()
    assert count(engine, OUTBOX) == 0 and count(engine, MEMBERS) == 2


def test_locked_target_run_is_recorded_as_skipped(engine, shop, fake, make_engine, clock) -> None:
    shop.add(3)
    upgrade(engine)
    tid = StateStore(engine).target("VIP", "fake/L1/vip", clock.now())
    other = TargetLock(engine, tid, "otherhost:4242:zzzz", clock, ttl=600)
    assert other.acquire() is None
    result = make_engine(fake).sync(SEG, DEST, QUERY)
    assert result.outcome == "skipped" and fake.calls == 0 and not result.failed
    assert result.error == (
        "segment 'VIP' → destination fake/L1/vip is being synced by otherhost:4242 "
        "since 2026-11-24 10:00:00 UTC; skipped"
    )
    with engine.connect() as conn:
        assert conn.execute(select(RUNS.c.outcome)).scalar() == "skipped"
    other.release()
    assert make_engine(fake).sync(SEG, DEST, QUERY).outcome == "ok"
