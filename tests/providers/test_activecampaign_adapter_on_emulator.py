"""The ActiveCampaign adapter against its emulator (real HTTP on 127.0.0.1): call counts, state."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from emulators.activecampaign import ActiveCampaignEmulator
from emulators.base import EmulatorServer
from providers.activecampaign import ActiveCampaign, classify
from providers.activecampaign.answers import Contact
from providers.base import Change, ChangeKind, Destination, Member, OnLeave, OutcomeStatus
from tests.providers.conftest import Sleeps, fast_client

pytestmark = pytest.mark.slow
TOKEN = "emu-token"
DEST = Destination(list_id="1", tag="vip")


@pytest.fixture
def emu() -> Iterator[tuple[ActiveCampaignEmulator, str]]:
    emulator = ActiveCampaignEmulator(api_token=TOKEN, enforce_rate_limits=False)
    with EmulatorServer(emulator) as server:
        yield emulator, f"{server.url}/api/3"


def adapter(url: str, **kw: Any) -> ActiveCampaign:
    http = fast_client(
        "activecampaign",
        url,
        headers={"Api-Token": TOKEN},
        classify=classify,
        sleeps=Sleeps(),
        limits=ActiveCampaign.limits,
    )
    return ActiveCampaign(http, sleep=Sleeps(), **kw)


def members(count: int, *, start: int = 0) -> list[Member]:
    return [
        Member(f"p{n}@shop.test", str(n), first_name=f"P{n}", consent=n % 5 != 0)
        for n in range(start, start + count)
    ]


def push(ac: ActiveCampaign, dest: Destination, changes: list[Change]) -> list[Any]:
    return [o for batch in ac.push(dest, changes) for o in batch]


def test_1200_adds_land_in_the_minimal_number_of_imports(emu):
    emulator, url = emu
    ac = adapter(url)
    ac.ensure_tag(DEST)
    emulator.calls.clear()
    before = ac.stats.calls
    outcomes = push(ac, DEST, [Change(ChangeKind.ADD, m) for m in members(1200)])
    assert len(outcomes) == 1200
    assert {o.status for o in outcomes} == {OutcomeStatus.APPLIED}
    assert all((o.provider_ref or "").startswith("c=") for o in outcomes)
    calls = emulator.stats()["calls"]
    imports = -(-1200 // ActiveCampaign.limits.batch_size)  # 5 imports of at most 250
    id_pages = 4 * 3 + 1 * 2  # 250 ids -> 3 pages of 100, the last 200 -> 2
    assert sum(v for k, v in calls.items() if "bulk" in k or "import" in k) == imports * 2
    assert emulator.total_calls == imports * 2 + id_pages
    assert ac.stats.calls - before == emulator.total_calls  # the adapter counts what it sends
    assert sorted(ac.read_members(DEST)) == sorted(m.email for m in members(1200))


def test_removes_untag_and_leave_the_contact_in_place(emu):
    emulator, url = emu
    ac = adapter(url)
    ac.ensure_tag(DEST)
    added = push(ac, DEST, [Change(ChangeKind.ADD, m) for m in members(30)])
    leaving = [Change(ChangeKind.REMOVE, o.change.member, o.provider_ref) for o in added[:12]]
    emulator.calls.clear()
    removed = push(ac, DEST, leaving)
    assert {o.status for o in removed} == {OutcomeStatus.APPLIED}
    # association lookup + delete per member, and the tag checked once for the batch
    assert emulator.total_calls == 12 * 2 + 1
    assert len(list(ac.read_members(DEST))) == 18
    contacts = {c.email for c in ac.pages("/contacts", "contacts", Contact)}
    assert {m.email for m in members(30)} <= contacts  # every contact is still there


def test_one_member_adds_never_resubscribe_and_removes_by_association(emu):
    _emulator, url = emu
    ac = adapter(url)
    member = Member("gone@shop.test", "1", consent=True)
    [first] = ac.apply_batch(DEST, [Change(ChangeKind.ADD, member)])
    contact_id = first.provider_ref.split(";")[0][2:]  # type: ignore[union-attr]
    ac.list_status("1", contact_id, 2)  # the person unsubscribes in the provider
    removed = ac.apply_batch(DEST, [Change(ChangeKind.REMOVE, member, first.provider_ref)])
    assert removed[0].status == OutcomeStatus.APPLIED
    [again] = ac.apply_batch(DEST, [Change(ChangeKind.ADD, member)])
    assert again.status == OutcomeStatus.APPLIED
    lists = ac.http.json("GET", f"/contacts/{contact_id}/contactLists")["contactLists"]
    assert [str(x["status"]) for x in lists if str(x["list"]) == "1"] == ["2"]
    assert list(ac.read_members(DEST)) == ["gone@shop.test"]


def test_bulk_import_keeps_an_unsubscribe(emu):
    _emulator, url = emu
    ac = adapter(url)
    batch = members(10, start=100)
    [first] = ac.apply_batch(DEST, [Change(ChangeKind.ADD, batch[1])])
    contact_id = (first.provider_ref or "").split(";")[0][2:]
    ac.list_status("1", contact_id, 2)
    outcomes = ac.apply_batch(DEST, [Change(ChangeKind.ADD, m) for m in batch])
    assert {o.status for o in outcomes} == {OutcomeStatus.APPLIED}
    lists = ac.http.json("GET", f"/contacts/{contact_id}/contactLists")["contactLists"]
    assert [str(x["status"]) for x in lists if str(x["list"]) == "1"] == ["2"]


def test_on_leave_unsubscribe_against_the_emulator(emu):
    _emulator, url = emu
    ac = adapter(url)
    dest = Destination("1", "vip", OnLeave.UNSUBSCRIBE)
    member = Member("leaver@shop.test", "1", consent=True)
    [added] = ac.apply_batch(dest, [Change(ChangeKind.ADD, member)])
    [out] = ac.apply_batch(dest, [Change(ChangeKind.REMOVE, member, added.provider_ref)])
    assert out.status == OutcomeStatus.APPLIED
    contact_id = (out.provider_ref or "")[2:]
    lists = ac.http.json("GET", f"/contacts/{contact_id}/contactLists")["contactLists"]
    assert [str(x["status"]) for x in lists] == ["2"]
    assert list(ac.read_members(dest)) == []


def test_a_tag_deleted_in_the_ui_is_recreated_in_the_same_process(emu):
    emulator, url = emu
    ac = adapter(url)
    first, second = Member("a@shop.test", "1", consent=True), Member("b@shop.test", "2")
    assert ac.apply_batch(DEST, [Change(ChangeKind.ADD, first)])[0].status == "applied"
    old_id = ac.tag_id("vip")
    with emulator.lock:  # someone deletes the tag in the ActiveCampaign UI
        del emulator.tags[old_id]
        emulator.associations.clear()
    [again] = ac.apply_batch(DEST, [Change(ChangeKind.ADD, second)])
    assert again.status == OutcomeStatus.APPLIED
    assert ac.tag_id("vip") != old_id
    assert list(ac.read_members(DEST)) == ["b@shop.test"]
    [out] = ac.apply_batch(DEST, [Change(ChangeKind.REMOVE, second, again.provider_ref)])
    assert out.status == OutcomeStatus.APPLIED
    assert list(ac.read_members(DEST)) == []
