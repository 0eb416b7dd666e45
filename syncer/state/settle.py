"""Settling one provider batch, decided: from the outbox rows sent and the provider's outcome
for each, what to write. No database here; ``StateStore.settle`` writes the decision in one
transaction.

Per member:

- APPLIED or ACCEPTED: done. An add/update becomes a snapshot row with that status (one per
  customer, the last answer wins), a remove drops the customer's snapshot row of that address;
  a rejection listed for the address is cleared.
- REJECTED remove: never given up. It stays pending (and the run partial) until the provider
  confirms it; once the provider calls it permanent, or it has failed ``max_attempts`` times,
  it is also listed with the rejections for a person to see.
- REJECTED add/update, retryable and attempts left: stays pending, tried again next run.
- REJECTED otherwise: given up and listed. A refused add is stored REJECTED (not resent until
  its data changes); a refused update keeps the member's status and remembers the new fields
  hash (so the same data is not resent every run).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from providers.base import Outcome, OutcomeStatus
from syncer.state.rows import ACCEPTED, APPLIED, REJECTED, OutboxRow, Pushed

REASON_WIDTH = 500  # the width of the rejections' ``reason`` and the outbox's ``last_error``


@dataclass
class Settled:
    """What one settlement did, by kind: applied/accepted counts, rejections, retries."""

    done: Counter[str]
    accepted: int = 0
    rejected: int = 0
    retried: int = 0


@dataclass(frozen=True, slots=True)
class Refusal:
    """One entry of the rejections list: a member the provider refused, and why."""

    customer_id: int | None
    email: str
    kind: str
    reason: str
    retryable: bool = False

    @classmethod
    def of(cls, kind: str, customer_id: int | None, email: str, out: Outcome) -> Refusal:
        reason = (out.reason or "rejected by the provider")[:REASON_WIDTH]
        return cls(customer_id, email, kind, reason, out.retryable)


@dataclass(frozen=True, slots=True)
class Retry:
    """An outbox row that stays pending: one more attempt, and the provider's last words."""

    outbox_id: int
    error: str


@dataclass
class Settlement:
    """What to write for one batch (see the module docstring)."""

    counts: Settled = field(default_factory=lambda: Settled(Counter()))
    snapshot: list[Pushed] = field(default_factory=list)  # rows to write (replacing the old)
    dropped: list[tuple[int | None, str]] = field(default_factory=list)  # (customer, email)
    # (customer, fields hash, mapped values): a refused update's data, remembered as sent
    rehashed: list[tuple[int | None, str, Mapping[str, str]]] = field(default_factory=list)
    cleared: list[str] = field(default_factory=list)  # addresses whose rejection is cleared
    refusals: list[Refusal] = field(default_factory=list)
    retries: list[Retry] = field(default_factory=list)
    finished: list[int] = field(default_factory=list)  # outbox rows to delete


def decide(pairs: Iterable[tuple[OutboxRow, Outcome]], *, max_attempts: int) -> Settlement:
    """The settlement of one batch: each outbox row with the provider's outcome for it."""
    s = Settlement()
    snapshot: dict[int, Pushed] = {}
    for row, out in pairs:
        last_try = row.attempts + 1 >= max_attempts
        if out.status in (OutcomeStatus.APPLIED, OutcomeStatus.ACCEPTED):
            status = APPLIED if out.status == OutcomeStatus.APPLIED else ACCEPTED
            s.counts.done[row.kind] += 1
            s.counts.accepted += status == ACCEPTED
            s.cleared.append(row.email)
            if row.kind == "remove":
                s.dropped.append((row.customer_id, row.email))
            else:
                snapshot[row.customer_id or 0] = _pushed(row, status, out)
            s.finished.append(row.id)
        elif row.kind == "remove":
            s.counts.retried += 1
            s.retries.append(Retry(row.id, (out.reason or "refused")[:REASON_WIDTH]))
            if not out.retryable or last_try:
                s.refusals.append(Refusal.of(row.kind, row.customer_id, row.email, out))
        elif out.retryable and not last_try:
            s.counts.retried += 1
            s.retries.append(Retry(row.id, (out.reason or "retryable")[:REASON_WIDTH]))
        else:
            s.counts.rejected += 1
            s.refusals.append(Refusal.of(row.kind, row.customer_id, row.email, out))
            if row.kind == "add":
                snapshot[row.customer_id or 0] = _pushed(row, REJECTED, out)
            else:
                s.rehashed.append((row.customer_id, row.fields_hash, row.fields))
            s.finished.append(row.id)
    s.snapshot = [p for cid, p in snapshot.items() if cid]
    return s


def _pushed(row: OutboxRow, status: str, out: Outcome) -> Pushed:
    ref = out.provider_ref or row.provider_ref or None
    return Pushed(row.customer_id or 0, row.email, row.fields_hash, status, ref, row.fields)
