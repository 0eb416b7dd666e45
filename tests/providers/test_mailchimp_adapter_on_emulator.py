"""The Mailchimp adapter against the local emulator: real HTTP, real SDK, counted calls."""

from __future__ import annotations

import math
from collections.abc import Iterator

import pytest
import requests

from emulators.base import EmulatorServer
from emulators.mailchimp import DEMO_API_KEY, MailchimpEmulator
from providers.base import Change, ChangeKind, Destination, Member, OnLeave, OutcomeStatus
from providers.errors import AuthenticationFailed, NotFound
from providers.http import RateLimiter, RetryPolicy
from providers.mailchimp import Mailchimp
from tests.providers.conftest import Sleeps

LIST = "demo-list"
DEST = Destination(LIST, "vip")
SETUP = 3  # GET the audience, GET its static segments, POST the new tag


@pytest.fixture
def emulator() -> Iterator[tuple[MailchimpEmulator, str]]:
    emu = MailchimpEmulator()
    with EmulatorServer(emu) as server:
        yield emu, f"{server.url}/3.0"


def adapter(base_url: str, key: str = DEMO_API_KEY) -> Mailchimp:
    return Mailchimp(
        key,
        base_url=base_url,
        sleep=lambda _s: None,
        retry=RetryPolicy(attempts=3),
        limiter=RateLimiter(0, 10),
    )


def member(i: int, consent: bool = True) -> Member:
    return Member(f"Person{i}@Example.com", str(i), first_name=f"P{i}", consent=consent)


def test_1200_adds_land_in_the_fewest_calls_and_removes_keep_the_contacts(
    emulator: tuple[MailchimpEmulator, str],
) -> None:
    emu, url = emulator
    emu.seed_member(LIST, "person7@example.com", "unsubscribed")  # left in the UI long ago
    emu.seed_member(LIST, "person8@example.com", "cleaned")
    mc = adapter(url)
    adds = [Change(ChangeKind.ADD, member(i, consent=i % 3 != 0)) for i in range(1200)]
    outcomes = [o for batch in mc.push(DEST, adds) for o in batch]

    assert len(outcomes) == 1200
    assert {o.status for o in outcomes} == {OutcomeStatus.APPLIED}
    calls = emu.stats()["calls"]
    batches = math.ceil(1200 / mc.limits.batch_size)
    assert calls["batch_subscribe"] == batches and calls["batch_segment"] == batches
    assert emu.total_calls == SETUP + 2 * batches == mc.stats.calls
    assert emu.stats()["peak_in_flight"] <= 10
    state = emu.state()[LIST]["members"]
    assert len(emu.tag_members(LIST, "vip")) == 1200
    assert state["person7@example.com"]["status"] == "unsubscribed"  # tagged, never resubscribed
    assert state["person8@example.com"]["status"] == "cleaned"
    assert state["person1@example.com"]["status"] == "subscribed"
    assert state["person3@example.com"]["status"] == "transactional"  # no consent
    assert state["person1@example.com"]["merge_fields"]["FNAME"] == "P1"

    before = emu.total_calls
    removes = [Change(ChangeKind.REMOVE, member(i)) for i in range(1200)]
    assert all(o.status is OutcomeStatus.APPLIED for b in mc.push(DEST, removes) for o in b)
    assert emu.total_calls - before == batches  # one members_to_remove call per batch
    after = emu.state()[LIST]["members"]
    assert emu.tag_members(LIST, "vip") == set()
    assert len(after) == 1200  # every contact is still in the audience, status unchanged
    assert {e: m["status"] for e, m in after.items()} == {e: m["status"] for e, m in state.items()}
    assert not any(m["archived"] for m in after.values())


def test_replayed_adds_and_removes_are_idempotent(
    emulator: tuple[MailchimpEmulator, str],
) -> None:
    emu, url = emulator
    mc = adapter(url)
    adds = [Change(ChangeKind.ADD, member(i)) for i in range(3)]
    mc.apply_batch(DEST, adds)
    again = mc.apply_batch(DEST, adds)  # a crash before settling: the same batch once more
    assert [o.status for o in again] == [OutcomeStatus.APPLIED] * 3
    removes = [Change(ChangeKind.REMOVE, member(i)) for i in range(3)]
    mc.apply_batch(DEST, removes)
    assert [o.status for o in mc.apply_batch(DEST, removes)] == [OutcomeStatus.APPLIED] * 3
    assert emu.tag_members(LIST, "vip") == set()


def test_rejections_updates_and_on_leave_against_the_emulator(
    emulator: tuple[MailchimpEmulator, str],
) -> None:
    emu, url = emulator
    emu.faults.reject = {"fake@example.com": "invalid", "gone@example.com": "forgotten"}
    mc = adapter(url)
    changes = [
        Change(ChangeKind.ADD, Member(e, e, consent=True))
        for e in ("ok@example.com", "fake@example.com", "gone@example.com")
    ]
    out = {o.email: o for o in mc.apply_batch(DEST, changes)}
    assert out["ok@example.com"].status is OutcomeStatus.APPLIED
    assert out["fake@example.com"].status is OutcomeStatus.REJECTED
    assert not out["fake@example.com"].retryable
    assert out["gone@example.com"].status is OutcomeStatus.REJECTED

    renamed = Member("ok@example.com", "ok", first_name="Zoe", last_name="Roe")
    (updated,) = mc.apply_batch(DEST, [Change(ChangeKind.UPDATE, renamed)])
    assert updated.status is OutcomeStatus.APPLIED
    state = emu.state()[LIST]["members"]["ok@example.com"]
    assert (state["merge_fields"]["FNAME"], state["status"]) == ("Zoe", "subscribed")

    leave = Destination(LIST, "vip", OnLeave.UNSUBSCRIBE)
    mc.apply_batch(leave, [Change(ChangeKind.REMOVE, renamed)])
    assert emu.state()[LIST]["members"]["ok@example.com"]["status"] == "unsubscribed"


def test_check_discover_and_errors_against_the_emulator(
    emulator: tuple[MailchimpEmulator, str],
) -> None:
    emu, url = emulator
    mc = Mailchimp.from_credentials({"api_key": DEMO_API_KEY}, base_url=url, sleep=lambda _s: None)
    assert mc.check().account == emu.account_name
    found = mc.discover()
    assert [a.id for a in found.lists] == [LIST]
    assert any(f.tag == "FNAME" for f in found.merge_fields)
    with pytest.raises(NotFound, match="'nope'"):
        mc.ensure_tag(Destination("nope", "vip"))
    with pytest.raises(AuthenticationFailed):
        adapter(url, key="wrong-us1").check()
    emu.faults.error_next = 1  # one 500, then the call goes through
    assert mc.ensure_tag(DEST) == mc.ensure_tag(DEST)
    assert mc.stats.retries == 1


def test_a_429_with_retry_after_is_waited_for_before_the_retry(
    emulator: tuple[MailchimpEmulator, str],
) -> None:
    _emu, url = emulator
    sleeps = Sleeps()
    mc = Mailchimp(
        DEMO_API_KEY,
        base_url=url,
        sleep=sleeps,
        retry=RetryPolicy(attempts=3),
        limiter=RateLimiter(0, 10, clock=sleeps.clock, sleep=sleeps),
    )
    mc.ensure_tag(DEST)
    faults = url.removesuffix("/3.0") + "/__emulator/faults"
    answer = requests.post(faults, json={"rate_limit_next": 1, "retry_after": 6}, timeout=5)
    answer.raise_for_status()
    (out,) = mc.apply_batch(DEST, [Change(ChangeKind.ADD, member(1))])
    assert out.status is OutcomeStatus.APPLIED
    assert sleeps.waits == [6.0]  # the provider's Retry-After, not an immediate retry
    assert (mc.stats.rate_limited, mc.stats.retries) == (1, 1)


def test_replayed_adds_are_confirmed_with_one_read_of_the_tag_not_one_per_member(
    emulator: tuple[MailchimpEmulator, str],
) -> None:
    """After a crash the outbox resends a batch Mailchimp had already applied: the segment call
    answers nothing for members already tagged, and they are confirmed from the provider's own
    list of the tag's members (one paged read) rather than one read each."""
    emu, url = emulator
    mc = adapter(url)
    adds = [Change(ChangeKind.ADD, member(i)) for i in range(300)]
    list(mc.push(DEST, adds))
    before = emu.total_calls
    outcomes = [o for batch in mc.push(DEST, adds) for o in batch]
    assert {o.status for o in outcomes} == {OutcomeStatus.APPLIED}
    # batch subscribe + segment add + segment info + one page of the tag's 300 members
    assert emu.total_calls - before == 4
    few = [Change(ChangeKind.ADD, member(i)) for i in range(2)]
    before = emu.total_calls
    assert {o.status for b in mc.push(DEST, few) for o in b} == {OutcomeStatus.APPLIED}
    assert emu.total_calls - before == 2 + 2  # two members: one read each


def test_a_tag_deleted_in_the_ui_is_recreated_in_the_same_process(
    emulator: tuple[MailchimpEmulator, str],
) -> None:
    emu, url = emulator
    mc = adapter(url)
    first = mc.apply_batch(DEST, [Change(ChangeKind.ADD, member(1))])
    assert first[0].status is OutcomeStatus.APPLIED
    old = mc.ensure_tag(DEST)
    with emu.lock:  # someone deletes the tag in Mailchimp's UI
        audience = emu.audiences[LIST]
        del audience.segments[int(old)]
        for m in audience.members.values():
            m.tags.discard(int(old))
    again = mc.apply_batch(DEST, [Change(ChangeKind.ADD, member(2))])
    assert again[0].status is OutcomeStatus.APPLIED
    assert mc.ensure_tag(DEST) != old
    assert list(mc.read_members(DEST)) == ["person2@example.com"]


def test_on_leave_unsubscribe_never_creates_an_absent_member(
    emulator: tuple[MailchimpEmulator, str],
) -> None:
    emu, url = emulator
    mc = adapter(url)
    dest = Destination(LIST, "vip", OnLeave.UNSUBSCRIBE)
    mc.apply_batch(dest, [Change(ChangeKind.ADD, member(1))])
    leaving = [Change(ChangeKind.REMOVE, member(i)) for i in (1, 2)]  # 2 was never added
    outcomes = mc.apply_batch(dest, leaving)
    assert [o.status for o in outcomes] == [OutcomeStatus.APPLIED] * 2
    members = emu.state()[LIST]["members"]
    assert "person2@example.com" not in members
    assert members["person1@example.com"]["status"] == "unsubscribed"
