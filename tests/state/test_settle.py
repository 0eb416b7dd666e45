"""The settlement of one provider batch, decided without a database: per member, from its outbox
row and the provider's outcome, what the snapshot, the outbox and the rejections list become."""

from __future__ import annotations

from providers.base import Outcome, OutcomeStatus
from syncer.state.rows import ACCEPTED, APPLIED, REJECTED, OutboxRow, Pushed
from syncer.state.settle import Refusal, Retry, decide

MAX = 5


def row(oid: int, kind: str = "add", cid: int | None = None, *, attempts: int = 0) -> OutboxRow:
    cid = oid if cid is None else cid
    return OutboxRow(
        oid, kind, cid, f"c{cid}@example.com", "Ana", "Lee", True, f"h{cid}", "old-ref", attempts
    )


def answer(
    r: OutboxRow,
    status: OutcomeStatus,
    reason: str | None = None,
    *,
    retryable: bool = False,
    ref: str | None = None,
) -> Outcome:
    return Outcome(r.to_change(), status, reason, retryable, ref)


def test_an_applied_add_becomes_an_applied_snapshot_row_and_leaves_the_outbox() -> None:
    add = row(1)
    s = decide([(add, answer(add, OutcomeStatus.APPLIED, ref="new-ref"))], max_attempts=MAX)
    assert s.snapshot == [Pushed(1, "c1@example.com", "h1", APPLIED, "new-ref")]
    assert s.finished == [1] and s.cleared == ["c1@example.com"]
    assert (s.dropped, s.rehashed, s.refusals, s.retries) == ([], [], [], [])
    assert (s.counts.done["add"], s.counts.accepted, s.counts.rejected, s.counts.retried) == (
        1,
        0,
        0,
        0,
    )


def test_an_applied_update_keeps_the_rows_provider_ref_when_the_answer_has_none() -> None:
    upd = row(2, "update")
    s = decide([(upd, answer(upd, OutcomeStatus.APPLIED))], max_attempts=MAX)
    assert s.snapshot == [Pushed(2, "c2@example.com", "h2", APPLIED, "old-ref")]
    assert s.counts.done["update"] == 1 and s.finished == [2]


def test_an_empty_provider_ref_is_stored_as_none() -> None:
    add = OutboxRow(3, "add", 3, "c3@example.com", None, None, False, "h3", "", 0)
    s = decide([(add, answer(add, OutcomeStatus.APPLIED, ref=""))], max_attempts=MAX)
    assert s.snapshot == [Pushed(3, "c3@example.com", "h3", APPLIED, None)]


def test_an_accepted_add_is_stored_accepted_and_counted() -> None:
    add = row(4)
    s = decide([(add, answer(add, OutcomeStatus.ACCEPTED))], max_attempts=MAX)
    assert s.snapshot == [Pushed(4, "c4@example.com", "h4", ACCEPTED, "old-ref")]
    assert (s.counts.accepted, s.counts.done["add"], s.finished) == (1, 1, [4])
    assert s.cleared == ["c4@example.com"]


def test_an_applied_remove_drops_the_snapshot_row_of_that_customer_and_address() -> None:
    rem = row(5, "remove", 50)
    s = decide([(rem, answer(rem, OutcomeStatus.APPLIED))], max_attempts=MAX)
    assert s.dropped == [(50, "c50@example.com")] and s.snapshot == []
    assert (s.counts.done["remove"], s.finished, s.cleared) == (1, [5], ["c50@example.com"])


def test_a_permanently_rejected_add_is_stored_rejected_and_listed() -> None:
    add = row(6)
    s = decide(
        [(add, answer(add, OutcomeStatus.REJECTED, "looks fake", ref="r6"))], max_attempts=MAX
    )
    assert s.snapshot == [Pushed(6, "c6@example.com", "h6", REJECTED, "r6")]
    assert s.refusals == [Refusal(6, "c6@example.com", "add", "looks fake", False)]
    assert (s.counts.rejected, s.counts.retried, s.counts.done["add"]) == (1, 0, 0)
    assert s.finished == [6] and s.cleared == [] and s.retries == []


def test_a_permanently_rejected_update_keeps_the_status_and_remembers_the_hash() -> None:
    upd = row(7, "update")
    s = decide([(upd, answer(upd, OutcomeStatus.REJECTED))], max_attempts=MAX)
    assert s.snapshot == [] and s.rehashed == [(7, "h7", {})]
    assert s.refusals == [Refusal(7, "c7@example.com", "update", "rejected by the provider", False)]
    assert (s.counts.rejected, s.finished) == (1, [7])


def test_a_retryable_refusal_with_attempts_left_stays_pending() -> None:
    add = row(8, attempts=MAX - 2)
    s = decide(
        [(add, answer(add, OutcomeStatus.REJECTED, "busy", retryable=True))], max_attempts=MAX
    )
    assert s.retries == [Retry(8, "busy")]
    assert (s.counts.retried, s.counts.rejected) == (1, 0)
    assert (s.finished, s.snapshot, s.refusals, s.rehashed) == ([], [], [], [])


def test_a_retryable_refusal_without_a_reason_says_so() -> None:
    add = row(9)
    s = decide([(add, answer(add, OutcomeStatus.REJECTED, retryable=True))], max_attempts=MAX)
    assert s.retries == [Retry(9, "retryable")]


def test_a_retryable_refusal_on_its_last_attempt_is_given_up_as_rejected() -> None:
    add = row(10, attempts=MAX - 1)
    s = decide(
        [(add, answer(add, OutcomeStatus.REJECTED, "busy", retryable=True))], max_attempts=MAX
    )
    assert s.retries == [] and s.finished == [10]
    assert s.snapshot == [Pushed(10, "c10@example.com", "h10", REJECTED, "old-ref")]
    assert s.refusals == [Refusal(10, "c10@example.com", "add", "busy", True)]
    assert s.counts.rejected == 1


def test_a_rejected_remove_is_never_given_up_and_is_listed_once_permanent() -> None:
    rem = row(11, "remove", attempts=0)
    s = decide([(rem, answer(rem, OutcomeStatus.REJECTED, "temporarily locked"))], max_attempts=MAX)
    assert s.retries == [Retry(11, "temporarily locked")]
    assert s.refusals == [Refusal(11, "c11@example.com", "remove", "temporarily locked", False)]
    assert s.finished == [] and s.dropped == [] and s.snapshot == []
    assert (s.counts.retried, s.counts.rejected) == (1, 0)


def test_a_retryable_refused_remove_is_listed_only_once_its_attempts_are_spent() -> None:
    early, late = row(12, "remove", attempts=0), row(13, "remove", attempts=MAX - 1)
    s = decide(
        [
            (early, answer(early, OutcomeStatus.REJECTED, retryable=True)),
            (late, answer(late, OutcomeStatus.REJECTED, "slow", retryable=True)),
        ],
        max_attempts=MAX,
    )
    assert s.retries == [Retry(12, "refused"), Retry(13, "slow")]
    assert s.refusals == [Refusal(13, "c13@example.com", "remove", "slow", True)]
    assert s.finished == [] and s.counts.retried == 2 and s.counts.rejected == 0


def test_each_member_of_a_batch_is_settled_on_its_own() -> None:
    a, b, c, d = row(21), row(22, "update"), row(23, "remove"), row(24)
    s = decide(
        [
            (a, answer(a, OutcomeStatus.APPLIED)),
            (b, answer(b, OutcomeStatus.REJECTED, "bad name")),
            (c, answer(c, OutcomeStatus.REJECTED, "locked", retryable=True)),
            (d, answer(d, OutcomeStatus.ACCEPTED)),
        ],
        max_attempts=MAX,
    )
    assert [(p.customer_id, p.status) for p in s.snapshot] == [(21, APPLIED), (24, ACCEPTED)]
    assert s.rehashed == [(22, "h22", {})]
    assert s.retries == [Retry(23, "locked")]
    assert [r.email for r in s.refusals] == ["c22@example.com"]
    assert s.finished == [21, 22, 24]
    assert s.cleared == ["c21@example.com", "c24@example.com"]
    assert (s.counts.done["add"], s.counts.accepted, s.counts.rejected, s.counts.retried) == (
        2,
        1,
        1,
        1,
    )


def test_one_snapshot_row_per_customer_the_last_answer_wins() -> None:
    first, again = row(31, cid=30), row(32, cid=30)
    s = decide(
        [
            (first, answer(first, OutcomeStatus.ACCEPTED)),
            (again, answer(again, OutcomeStatus.APPLIED, ref="r")),
        ],
        max_attempts=MAX,
    )
    assert s.snapshot == [Pushed(30, "c30@example.com", "h30", APPLIED, "r")]
    assert s.finished == [31, 32]


def test_long_reasons_are_cut_to_the_columns_width() -> None:
    add, rem = row(41), row(42, "remove")
    long = "x" * 900
    s = decide(
        [
            (add, answer(add, OutcomeStatus.REJECTED, long)),
            (rem, answer(rem, OutcomeStatus.REJECTED, long, retryable=True)),
        ],
        max_attempts=MAX,
    )
    assert [len(r.reason) for r in s.refusals] == [500]
    assert [len(r.error) for r in s.retries] == [500]
