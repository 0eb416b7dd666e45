"""A fake provider that records calls and can be told to refuse, fail or crash; a fake clock;
a destination and a hand-made members query (the compiler's columns, a simple WHERE)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, Select, insert, select

from providers.base import (
    AccountInfo,
    Change,
    ChangeKind,
    Destination,
    Discovery,
    Limits,
    Member,
    OnLeave,
    Outcome,
    OutcomeStatus,
    Provider,
)
from syncer.schema import Customer, create_commerce_schema
from syncer.segments.compiler import MEMBER_COLUMNS
from syncer.segments.model import DestinationConfig

CUSTOMERS = Customer.__table__  # type: ignore[attr-defined]


class Crash(Exception):
    """Stands for the process dying in the middle of a push."""


class FakeProvider(Provider):
    name = "fake"

    def __init__(self, batch_size: int = 3, concurrency: int = 1) -> None:
        super().__init__()
        self.limits = Limits(
            batch_size=batch_size, requests_per_second=100, max_concurrency=concurrency
        )
        self.tagged: dict[str, Member] = {}  # lower-cased email -> member carrying the tag
        self.status: dict[str, str] = {}  # lower-cased email -> subscribed | transactional | ...
        self.batches_sent: list[list[tuple[str, str]]] = []  # [(kind, email), ...] per call
        self.adds_seen: list[str] = []  # every add the provider received, in order
        self.removes_seen: list[str] = []
        self.reject: dict[str, tuple[str, bool]] = {}  # email -> (reason, retryable)
        self.raise_at: dict[int, Exception] = {}  # batch number -> raised before applying
        self.crash_after_apply_at: int | None = None  # applies that batch, then raises Crash
        self.asynchronous = False  # answer ACCEPTED for adds; confirm() settles them
        self.dropped: set[str] = set()  # accepted, then silently never applied (confirm says so)
        # When a dict: accepted adds wait here, applied only by ``drain()`` (as a provider's
        # queue does, on its own time); ``confirm`` then only reports who carries the tag.
        self.queue: dict[str, Member] | None = None
        self.ensure_tag_calls = 0
        self.missing_lists: set[str] = set()  # lists ``list_exists`` says are not there
        self.read_calls = 0
        self.confirm_calls = 0

    @property
    def calls(self) -> int:
        return self.stats.calls

    def check(self) -> AccountInfo:
        self.stats.calls += 1
        return AccountInfo("fake", "test")

    def discover(self) -> Discovery:
        self.stats.calls += 1
        return Discovery([], [], [])

    def list_exists(self, list_id: str) -> bool:
        self.stats.calls += 1
        return list_id not in self.missing_lists

    def ensure_tag(self, destination: Destination) -> str:
        self.stats.calls += 1
        self.ensure_tag_calls += 1
        return destination.tag

    def apply_batch(self, destination: Destination, changes: Sequence[Change]) -> list[Outcome]:
        number = len(self.batches_sent)
        self.batches_sent.append([(c.kind.value, c.member.email) for c in changes])
        self.stats.calls += 1
        if number in self.raise_at:
            raise self.raise_at[number]
        outcomes = [self._apply(destination, c) for c in changes]
        if self.crash_after_apply_at == number:
            raise Crash(f"killed after applying batch {number}")
        return outcomes

    def _apply(self, destination: Destination, change: Change) -> Outcome:
        email = change.member.email.lower()
        if email in self.reject:
            reason, retryable = self.reject[email]
            return Outcome(change, OutcomeStatus.REJECTED, reason=reason, retryable=retryable)
        if change.kind == ChangeKind.REMOVE:
            self.removes_seen.append(email)
            self.tagged.pop(email, None)
            if destination.on_leave == OnLeave.UNSUBSCRIBE and email in self.status:
                self.status[email] = "unsubscribed"
            return Outcome(change, OutcomeStatus.APPLIED)
        if change.kind == ChangeKind.ADD:
            self.adds_seen.append(email)
            self.status.setdefault(
                email, "subscribed" if change.member.consent else "transactional"
            )
        if self.asynchronous and change.kind == ChangeKind.ADD:
            if self.queue is not None:
                self.queue[email] = change.member
            return Outcome(change, OutcomeStatus.ACCEPTED, provider_ref=f"ref-{email}")
        self.tagged[email] = change.member
        return Outcome(change, OutcomeStatus.APPLIED, provider_ref=f"ref-{email}")

    def confirm(self, destination: Destination, changes: Sequence[Change]) -> list[Outcome]:
        self.stats.calls += 1
        self.confirm_calls += 1
        out = []
        for c in changes:
            if c.member.email.lower() in self.dropped:
                out.append(Outcome(c, OutcomeStatus.ACCEPTED))
                continue
            if self.queue is not None:
                seen = c.member.email.lower() in self.tagged
                out.append(Outcome(c, OutcomeStatus.APPLIED if seen else OutcomeStatus.ACCEPTED))
                continue
            self.tagged[c.member.email.lower()] = c.member
            out.append(Outcome(c, OutcomeStatus.APPLIED))
        return out

    def drain(self) -> None:
        """The provider applies every queued add (a remove sent meanwhile did not undo it)."""
        self.tagged.update(self.queue or {})
        self.queue = {}

    def read_members(self, destination: Destination) -> Iterator[str]:
        self.stats.calls += 1
        self.read_calls += 1
        yield from sorted(self.tagged)

    def sent(self, kind: str | None = None) -> list[str]:
        return [e for b in self.batches_sent for k, e in b if kind in (None, k)]


@dataclass
class FakeClock:
    at: datetime = field(default_factory=lambda: datetime(2026, 11, 24, 10, 0, tzinfo=UTC))
    slept: list[float] = field(default_factory=list)

    def now(self) -> datetime:
        return self.at

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.at += timedelta(seconds=seconds)

    def advance(self, seconds: float) -> None:
        self.at += timedelta(seconds=seconds)


def Dest(**values: Any) -> DestinationConfig:
    """A destination of the fake provider: ``fake/L1/vip`` unless ``values`` say otherwise."""
    return DestinationConfig(**{"profile": "fake", "list": "L1", "tag": "vip", **values})


def members(card: str = "Gold") -> Select[Any]:
    """The members query of a segment "customers whose loyalty_card is ``card``"."""
    return select(*MEMBER_COLUMNS).where(CUSTOMERS.c.loyalty_card == card)


SEG, DEST, QUERY = "VIP", Dest(), members()  # the segment most tests sync


class Shop:
    """A commerce database with a customers table the tests edit."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        create_commerce_schema(engine)

    def add(self, n: int, *, start: int = 1, card: str = "Gold", consent: bool = True) -> None:
        rows = [
            {
                "id": i, "email": f"c{i}@example.com", "first_name": f"F{i}", "last_name": "L",
                "loyalty_card": card, "accepts_marketing": consent,
                "created_at": datetime(2025, 1, 1, tzinfo=UTC),
            }
            for i in range(start, start + n)
        ]  # fmt: skip
        with self.engine.begin() as conn:
            conn.execute(insert(CUSTOMERS), rows)

    def set(self, customer_id: int, **values: Any) -> None:
        with self.engine.begin() as conn:
            conn.execute(CUSTOMERS.update().where(CUSTOMERS.c.id == customer_id).values(**values))

    def desired_emails(self, card: str = "Gold", *, consent_only: bool = True) -> set[str]:
        q = select(CUSTOMERS.c.email).where(CUSTOMERS.c.loyalty_card == card)
        if consent_only:
            q = q.where(CUSTOMERS.c.accepts_marketing.is_(True))
        with self.engine.connect() as conn:
            return {e.lower() for e in conn.execute(q).scalars()}


ProviderFactory = Callable[[str], Provider]
