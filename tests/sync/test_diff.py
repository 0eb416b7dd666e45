from __future__ import annotations

import pytest

from syncer.state.rows import Pushed
from syncer.sync.diff import Desired, diff, fields_hash


def d(cid: int, email: str | None = None, first: str = "A", consent: bool = True) -> Desired:
    return Desired(cid, email or f"c{cid}@x.com", first, "Z", consent)


def s(cid: int, email: str | None = None, first: str = "A", status: str = "applied") -> Pushed:
    return Pushed(cid, email or f"c{cid}@x.com", fields_hash(first, "Z"), status, f"ref{cid}")


def kinds(plan) -> list[tuple[str, int | None, str]]:
    return [(p.kind, p.customer_id, p.email) for p in plan]


def test_adds_updates_removes_in_one_pass() -> None:
    desired = [d(1), d(2, first="B"), d(4)]
    snapshot = [s(2), s(3), s(4)]
    assert kinds(diff(desired, snapshot)) == [
        ("add", 1, "c1@x.com"),
        ("update", 2, "c2@x.com"),
        ("remove", 3, "c3@x.com"),
    ]


def test_update_and_remove_carry_the_provider_ref() -> None:
    plan = list(diff([d(2, first="B")], [s(2), s(3)]))
    assert [p.provider_ref for p in plan] == ["ref2", "ref3"]


def test_email_change_is_remove_old_then_add_new() -> None:
    plan = kinds(diff([d(1, "new@x.com")], [s(1, "old@x.com")]))
    assert plan == [("remove", 1, "old@x.com"), ("add", 1, "new@x.com")]


def test_email_case_change_alone_sends_nothing() -> None:
    assert list(diff([d(1, "C1@X.com")], [s(1, "c1@x.com")])) == []


def test_without_consent_skip_is_not_desired_and_pushed_ones_leave() -> None:
    plan = kinds(diff([d(1, consent=False), d(2, consent=False)], [s(2)]))
    assert plan == [("remove", 2, "c2@x.com")]


def test_without_consent_non_subscribed_is_pushed_with_consent_false() -> None:
    plan = list(diff([d(1, consent=False)], [], without_consent="non_subscribed"))
    assert [(p.kind, p.consent) for p in plan] == [("add", False)]


def test_consent_change_alone_sends_nothing_in_non_subscribed_mode() -> None:
    assert list(diff([d(1, consent=True)], [s(1)], without_consent="non_subscribed")) == []


def test_rejected_member_is_not_resent_unless_its_data_changes() -> None:
    assert list(diff([d(1)], [s(1, status="rejected")])) == []
    assert kinds(diff([d(1, first="New")], [s(1, status="rejected")])) == [("add", 1, "c1@x.com")]
    assert kinds(diff([d(1, "other@x.com")], [s(1, status="rejected")])) == [
        ("add", 1, "other@x.com")
    ]


def test_rejected_member_leaving_is_forgotten_without_a_provider_call() -> None:
    assert kinds(diff([], [s(1, status="rejected")])) == [("forget", 1, "c1@x.com")]


def test_accepted_member_unchanged_sends_nothing() -> None:
    assert list(diff([d(1)], [s(1, status="accepted")])) == []


def test_customers_with_pending_changes_are_skipped() -> None:
    plan = kinds(diff([d(1), d(2), d(3)], [s(4)], pending=[2, 4]))
    assert plan == [("add", 1, "c1@x.com"), ("add", 3, "c3@x.com")]


def test_unsorted_input_is_refused() -> None:
    with pytest.raises(RuntimeError, match="not sorted"):
        list(diff([d(2), d(1)], []))


def test_repeated_customer_rows_count_once() -> None:
    assert kinds(diff([d(1), d(1)], [])) == [("add", 1, "c1@x.com")]


def test_diff_is_lazy_and_streams() -> None:
    def desired():
        for i in range(1, 10**9):
            yield d(i)

    plan = diff(desired(), [])
    first = [next(plan) for _ in range(3)]
    assert [p.customer_id for p in first] == [1, 2, 3]
