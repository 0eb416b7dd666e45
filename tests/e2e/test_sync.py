"""The main job end to end, on each provider's emulator and each configured database."""

from __future__ import annotations

import pytest

from providers.base import Change, ChangeKind, Destination, Member
from tests.e2e.conftest import Workspace

pytestmark = pytest.mark.slow


def test_first_sync_then_no_change_resync_sends_nothing(workspace: Workspace, capsys) -> None:
    workspace.shop.add(30)
    workspace.shop.add(5, start=100, card="Silver")
    code, results = workspace.run(capsys, "sync", "VIP")
    assert code == 0, results
    assert (results[0]["outcome"], results[0]["adds"]) == ("ok", 30)
    assert workspace.tagged() == workspace.desired()
    calls = workspace.emulator.total_calls
    code, results = workspace.run(capsys, "sync", "VIP")
    assert code == 0 and results[0]["api_calls"] == 0
    assert workspace.emulator.total_calls == calls  # not one request reached the provider


def test_incremental_change_sends_only_the_difference(workspace: Workspace, capsys) -> None:
    shop = workspace.shop
    shop.add(12)
    assert workspace.run(capsys, "sync", "VIP")[0] == 0
    shop.set(2, loyalty_card="Silver")  # leaves
    shop.set(3, first_name="Renamed")  # merge field change
    shop.set(4, email="new4@example.com")  # email change: old address leaves, new one enters
    shop.add(2, start=50)  # join
    code, results = workspace.run(capsys, "sync", "VIP")
    assert code == 0, results
    r = results[0]
    assert (r["adds"], r["updates"], r["removes"]) == (3, 1, 2)
    tagged = workspace.tagged()
    assert tagged == workspace.desired()
    assert "c2@example.com" not in tagged and "c4@example.com" not in tagged


def test_customers_without_consent_are_never_subscribed(workspace: Workspace, capsys) -> None:
    workspace.shop.add(4, consent=False)
    workspace.shop.add(3, start=10)
    assert workspace.run(capsys, "sync", "VIP")[0] == 0
    assert workspace.tagged() == {f"c{i}@example.com" for i in (10, 11, 12)}


def test_dry_run_only_asks_for_the_list_and_writes_no_state(workspace: Workspace, capsys) -> None:
    workspace.shop.add(6)
    code, results = workspace.run(capsys, "sync", "VIP", "--dry-run")
    assert code == 0
    assert (results[0]["outcome"], results[0]["adds"]) == ("dry-run", 6)
    assert len(results[0]["samples"]["add"]) == 5
    assert workspace.emulator.total_calls == 1  # GET /lists/{id}: the list exists
    code, runs = workspace.run(capsys, "runs")
    assert runs["runs"] == []


def test_rate_limit_storms_and_server_errors_are_survived(workspace: Workspace, capsys) -> None:
    workspace.shop.add(25)
    workspace.emulator.faults.update({"rate_limit_every": 3, "error_next": 2})
    code, results = workspace.run(capsys, "sync", "VIP")
    assert code == 0, results
    assert results[0]["retries"] >= 2
    workspace.emulator.faults.clear()
    assert workspace.tagged() == workspace.desired()


def test_removes_leave_the_contact_in_place(workspace: Workspace, capsys) -> None:
    workspace.shop.add(3)
    assert workspace.run(capsys, "sync", "VIP")[0] == 0
    workspace.shop.set(1, loyalty_card="Silver")
    assert workspace.run(capsys, "sync", "VIP")[0] == 0
    assert "c1@example.com" not in workspace.tagged()
    assert "c1@example.com" in str(workspace.emulator.state()).lower()  # still a contact


def test_per_member_rejections_are_recorded_and_not_resent(workspace: Workspace, capsys) -> None:
    workspace.shop.add(5)
    workspace.emulator.faults.update({"reject": {"c3@example.com": "invalid"}})
    code, results = workspace.run(capsys, "sync", "VIP")
    assert code == 0, results
    assert (results[0]["adds"], results[0]["rejections"]) == (4, 1)
    _, runs = workspace.run(capsys, "runs", "--rejections")
    assert [r["email"] for r in runs["rejections"]] == ["c3@example.com"]
    assert runs["rejections"][0]["reason"]
    calls = workspace.emulator.total_calls
    code, results = workspace.run(capsys, "sync", "VIP")
    assert code == 0 and results[0]["api_calls"] == 0  # not resent every run
    assert workspace.emulator.total_calls == calls


def test_full_repairs_tags_changed_by_hand(workspace: Workspace, capsys) -> None:
    workspace.shop.add(4)
    assert workspace.run(capsys, "sync", "VIP")[0] == 0
    client = workspace.provider_client()
    dest = Destination(workspace.list_id, "vip")
    by_hand = [
        Change(ChangeKind.REMOVE, Member("c2@example.com", "2")),  # tag removed in the UI
        Change(ChangeKind.ADD, Member("stranger@example.com", "", consent=True)),  # added by hand
    ]
    for batch in client.push(dest, by_hand):
        assert all(o.status.value in ("applied", "accepted") for o in batch)
    if workspace.provider == "sendlane":
        client.confirm(dest, by_hand[1:])
    code, results = workspace.run(capsys, "sync", "VIP")
    assert results[0]["api_calls"] == 0  # a normal run trusts the snapshot
    code, results = workspace.run(capsys, "sync", "VIP", "--full")
    assert code == 0, results
    assert (results[0]["adds"], results[0]["removes"]) == (1, 1)
    assert workspace.tagged() == workspace.desired()


def test_a_leaver_sharing_a_folded_address_never_untags_the_member(
    workspace: Workspace, capsys
) -> None:
    """Providers treat addresses case-insensitively: two customers whose addresses differ only
    in case are one contact. One of them leaving must not untag the other, a member still."""
    shop = workspace.shop
    shop.add(6)
    shop.set(2, email="RILEY.HALL.2@EXAMPLE.COM")  # leaves below; the lower id of the pair
    shop.set(3, email="riley.hall.2@example.com")
    shop.set(4, email="morgan.lee@example.com")
    shop.set(5, email="Morgan.Lee@Example.com")  # leaves below; the higher id of the pair
    code, results = workspace.run(capsys, "sync", "VIP")
    assert (code, results[0]["outcome"]) == (0, "ok"), results
    assert {"riley.hall.2@example.com", "morgan.lee@example.com"} <= workspace.tagged()
    shop.set(2, loyalty_card="Silver")
    shop.set(5, loyalty_card="Silver")
    for _ in range(2):
        code, results = workspace.run(capsys, "sync", "VIP")
        assert (code, results[0]["outcome"]) == (0, "ok"), results
        assert workspace.tagged() == workspace.desired()
        assert {"riley.hall.2@example.com", "morgan.lee@example.com"} <= workspace.tagged()
    shop.set(3, loyalty_card="Silver")  # the last member with that address leaves: untagged
    code, results = workspace.run(capsys, "sync", "VIP")
    assert (code, results[0]["outcome"]) == (0, "ok"), results
    assert "riley.hall.2@example.com" not in workspace.tagged()
    assert workspace.tagged() == workspace.desired()
