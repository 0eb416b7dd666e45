"""The diff: desired members (the segment) merged against the snapshot (what the provider was
last told), both sorted by customer id, one pass, memory independent of the audience size.

Per customer (D = desired row or none, S = snapshot row or none):

- D without consent and ``without_consent: skip`` counts as not desired. A customer who was
  pushed and then withdrew consent therefore *leaves* the destination: the tag is removed (and
  ``on_leave`` applied), so campaigns aimed at the tag stop reaching them. The contact's
  subscription status is never changed by that (unless ``on_leave`` says so).
- no D, S: remove S's address; if S was rejected (never reached the provider) just forget it.
- D, no S: add.
- D, S with another address (case-insensitive): remove the old address, add the new one.
- D, S with other merge fields (names, or any value of the destination's mapped ``fields``):
  update; if S was rejected, add again (the data changed,
  so the provider may now accept it). Same fields and rejected: nothing (not re-sent every run).
- Consent is not part of the fields hash: an existing contact's status is never changed, so a
  consent change alone sends nothing (with ``non_subscribed`` the contact stays as created).

Addresses are compared folded (``fold``: trimmed, lower-cased), as providers do: one provider
contact per folded address. Two customers sharing one each keep their own snapshot row; a remove
of an address another member still has is dropped before it is sent (``engine._unshared``).

Customers that still have pending (outbox) changes are skipped: their pending change is sent
again first, and the next run diffs them against the settled snapshot.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Literal, Protocol, TypeVar

from syncer.state.rows import REJECTED, PlanKind, Planned, Pushed, fold

WithoutConsent = Literal["skip", "non_subscribed"]


def fields_hash(
    first_name: str | None, last_name: str | None, merge_fields: Mapping[str, str] | None = None
) -> str:
    parts = [first_name or "", last_name or ""]
    parts += [f"{k}={v}" for k, v in sorted((merge_fields or {}).items())]
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class Desired:
    """One member of the segment, as the compiled query returns it."""

    customer_id: int
    email: str
    first_name: str | None = None
    last_name: str | None = None
    consent: bool = False
    # The destination's mapped fields: provider field -> value as text (``segments.fields``)
    fields: Mapping[str, str] = field(default_factory=dict)

    @property
    def fields_hash(self) -> str:
        return fields_hash(self.first_name, self.last_name, self.fields)


def _add(d: Desired, kind: PlanKind = "add", ref: str | None = None) -> Planned:
    return Planned(
        kind, d.customer_id, d.email, d.fields_hash, d.first_name, d.last_name, d.consent, ref,
        d.fields,
    )  # fmt: skip


def _remove(s: Pushed) -> Planned:
    kind: PlanKind = "forget" if s.status == REJECTED else "remove"
    return Planned(kind, s.customer_id, s.email, s.fields_hash, provider_ref=s.provider_ref)


def compare(d: Desired | None, s: Pushed | None, without_consent: WithoutConsent) -> list[Planned]:
    """The changes for one customer (see the module docstring)."""
    if d is not None and not d.consent and without_consent == "skip":
        d = None
    if d is None:
        return [] if s is None else [_remove(s)]
    if s is None:
        return [_add(d)]
    if fold(s.email) != fold(d.email):
        old = [] if s.status == REJECTED else [_remove(s)]
        return [*old, _add(d)]
    if s.fields_hash != d.fields_hash:
        return [_add(d, "add" if s.status == REJECTED else "update", s.provider_ref)]
    return []


class _Sorted:
    """Checks that a stream is in ascending customer-id order (dropping repeated ids)."""

    def __init__(self, what: str) -> None:
        self.what = what
        self.last: int | None = None

    def ok(self, key: int) -> bool:
        if self.last is not None:
            if key == self.last:
                return False
            if key < self.last:
                raise RuntimeError(
                    f"{self.what} not sorted by customer id ({key} after {self.last})"
                )
        self.last = key
        return True


class _Keyed(Protocol):
    @property
    def customer_id(self) -> int: ...


K = TypeVar("K", bound=_Keyed)


def _checked(rows: Iterable[K], what: str) -> Iterator[K]:
    check = _Sorted(what)
    for row in rows:
        if check.ok(row.customer_id):
            yield row


class _Skip:
    """Membership test against a sorted stream of ids, for ascending queries."""

    def __init__(self, ids: Iterable[int]) -> None:
        self._it = iter(ids)
        self._head = next(self._it, None)

    def __contains__(self, key: int) -> bool:
        while self._head is not None and self._head < key:
            self._head = next(self._it, None)
        return self._head == key


def diff(
    desired: Iterable[Desired],
    snapshot: Iterable[Pushed],
    pending: Iterable[int] = (),
    *,
    without_consent: WithoutConsent = "skip",
) -> Iterator[Planned]:
    """Sorted merge of ``desired`` and ``snapshot`` (both ascending by customer id); customers
    in ``pending`` (ascending ids) are skipped."""
    di = _checked(desired, "desired members")
    si = _checked(snapshot, "snapshot")
    skip = _Skip(pending)
    d = next(di, None)
    s = next(si, None)
    while d is not None or s is not None:
        cur_d: Desired | None = None
        cur_s: Pushed | None = None
        if d is not None and (s is None or d.customer_id < s.customer_id):
            key, cur_d = d.customer_id, d
            d = next(di, None)
        elif s is not None and (d is None or s.customer_id < d.customer_id):
            key, cur_s = s.customer_id, s
            s = next(si, None)
        else:
            assert d is not None and s is not None
            key, cur_d, cur_s = d.customer_id, d, s
            d, s = next(di, None), next(si, None)
        if key in skip:
            continue
        yield from compare(cur_d, cur_s, without_consent)
