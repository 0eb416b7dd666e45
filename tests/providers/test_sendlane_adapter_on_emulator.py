"""The Sendlane adapter against its emulator (real HTTP on 127.0.0.1): call counts, state."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from emulators.base import EmulatorServer
from emulators.sendlane import SendlaneEmulator
from providers.base import Change, ChangeKind, Destination, Member, OnLeave, Outcome, OutcomeStatus
from providers.sendlane import Sendlane, classify
from tests.providers.conftest import Sleeps, fast_client

pytestmark = pytest.mark.slow
TOKEN = "emu-token"
DEST = Destination(list_id="1", tag="vip")


@pytest.fixture
def emu() -> Iterator[tuple[SendlaneEmulator, str]]:
    emulator = SendlaneEmulator(api_token=TOKEN, enforce_rate_limits=False)
    with EmulatorServer(emulator) as server:
        yield emulator, f"{server.url}/v2"


def adapter(url: str, **kw: Any) -> Sendlane:
    http = fast_client(
        "sendlane",
        url,
        headers={"Authorization": f"Bearer {TOKEN}"},
        classify=classify,
        sleeps=Sleeps(),
        limits=Sendlane.limits,
    )
    return Sendlane(http, **kw)


def members(count: int, *, start: int = 0) -> list[Member]:
    return [
        Member(f"p{n}@shop.test", str(n), first_name=f"P{n}", consent=n % 5 != 0)
        for n in range(start, start + count)
    ]


def push(sl: Sendlane, changes: list[Change], dest: Destination = DEST) -> list[Outcome]:
    return [o for batch in sl.push(dest, changes) for o in batch]


def confirm_like_the_engine(sl: Sendlane, outcomes: list[Outcome]) -> list[Outcome]:
    """The sync engine confirms ACCEPTED members in chunks of the batch size."""
    size = sl.limits.batch_size
    pending = [Change(ChangeKind.ADD, o.change.member, o.provider_ref) for o in outcomes]
    return [
        o for i in range(0, len(pending), size) for o in sl.confirm(DEST, pending[i : i + size])
    ]


def unsubscribed(sl: Sendlane) -> set[str]:
    return {str(c["email"]).lower() for c in sl.pages("/lists/1/unsubscribed")}


def test_1200_adds_land_in_the_minimal_number_of_calls_and_are_confirmed(emu):
    emulator, url = emu
    sl = adapter(url)
    sl.ensure_tag(DEST)
    emulator.calls.clear()
    outcomes = push(sl, [Change(ChangeKind.ADD, m) for m in members(1200)])
    assert len(outcomes) == 1200
    assert {o.status for o in outcomes} == {OutcomeStatus.ACCEPTED}
    list_calls = -(-1200 // sl.limits.batch_size)  # 12 calls of 100 contacts
    # + the list's and the account's unsubscribed sets, each read once
    assert emulator.total_calls == list_calls + 2
    emulator.calls.clear()
    confirmed = confirm_like_the_engine(sl, outcomes)
    assert {o.status for o in confirmed} == {OutcomeStatus.APPLIED}
    assert all((o.provider_ref or "").startswith("c=") for o in confirmed)
    assert emulator.total_calls == -(-1200 // 100)  # one read-back of 1,200 carriers, 100 a page


def test_removes_untag_and_leave_the_contact_in_place(emu):
    emulator, url = emu
    sl = adapter(url)
    sl.ensure_tag(DEST)
    confirmed = confirm_like_the_engine(
        sl, push(sl, [Change(ChangeKind.ADD, m) for m in members(30)])
    )
    leaving = [Change(ChangeKind.REMOVE, o.change.member, o.provider_ref) for o in confirmed[:12]]
    emulator.calls.clear()
    removed = push(sl, leaving)
    assert {o.status for o in removed} == {OutcomeStatus.APPLIED}
    assert emulator.total_calls == 12  # one tag delete per member: ids came from the read-back
    assert len(list(sl.read_members(DEST))) == 18
    for change in leaving:
        assert sl.find_contact(change.member.email) is not None  # the contact is still there


def test_an_unsubscribed_contact_is_tagged_but_never_resubscribed(emu):
    _emulator, url = emu
    sl = adapter(url)
    member = Member("left@shop.test", "1", consent=True)
    confirm_like_the_engine(sl, push(sl, [Change(ChangeKind.ADD, member)]))
    contact_id = sl.find_contact(member.email)
    sl.http.request("POST", f"/contacts/{contact_id}/unsubscribe")  # the person unsubscribes
    sl.http.request("DELETE", f"/contacts/{contact_id}/tags/{sl.tag_id('vip')}")
    assert member.email in unsubscribed(sl)
    fresh = adapter(url)  # a later run: nothing cached
    [out] = fresh.apply_batch(DEST, [Change(ChangeKind.ADD, member)])
    assert (out.status, out.provider_ref) == (OutcomeStatus.APPLIED, f"c={contact_id}")
    assert member.email in unsubscribed(fresh)
    assert list(fresh.read_members(DEST)) == [member.email]


def test_on_leave_archive_leaves_the_list_and_keeps_the_contact(emu):
    _emulator, url = emu
    sl = adapter(url)
    dest = Destination("1", "vip", OnLeave.ARCHIVE)
    member = Member("archived@shop.test", "1", consent=True)
    [added] = confirm_like_the_engine(sl, push(sl, [Change(ChangeKind.ADD, member)], dest))
    [out] = sl.apply_batch(dest, [Change(ChangeKind.REMOVE, member, added.provider_ref)])
    assert out.status == OutcomeStatus.APPLIED
    in_list = {str(c["email"]) for c in sl.pages("/lists/1/contacts")}
    assert member.email not in in_list
    assert sl.find_contact(member.email) is not None


def test_a_tag_deleted_in_the_ui_is_recreated_in_the_same_process(emu):
    emulator, url = emu
    sl = adapter(url)
    first, second = members(2, start=1)
    push(sl, [Change(ChangeKind.ADD, first)])
    old = sl.tag_id("vip")
    with emulator.lock:  # someone deletes the tag in Sendlane's UI
        del emulator.account.tags[int(old)]
        for tags in emulator.account.tagged.values():
            tags.discard(int(old))
    [out] = push(sl, [Change(ChangeKind.ADD, second)])
    assert out.status == OutcomeStatus.ACCEPTED
    assert sl.tag_id("vip") != old
    [confirmed] = sl.confirm(DEST, [out.change])
    assert confirmed.status == OutcomeStatus.APPLIED
    assert list(sl.read_members(DEST)) == [second.email]
