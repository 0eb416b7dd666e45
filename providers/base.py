"""The interface every provider implements, and the types it speaks.

The model (see the design notes on providers): a *destination* is (list, tag). Entering a
segment = the contact is in the list (created once, status from consent; an existing contact's
subscription status is never changed) and carries the tag. Leaving = the tag is removed; the
contact is unsubscribed or archived only when ``Destination.on_leave`` says so, never deleted.

The base class owns the batching loop (``push``): it cuts changes into batches of the provider's
size and hands each batch to ``apply_batch``, which returns exactly one ``Outcome`` per change.
Concrete providers implement the abstract methods and only translate.
"""

from __future__ import annotations

import enum
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar, Self

from providers.batching import chunks

if TYPE_CHECKING:
    import requests


class ChangeKind(enum.StrEnum):
    ADD = "add"  # enter the segment: ensure contact in list, add the tag
    UPDATE = "update"  # merge fields changed: update the contact, keep status and tag
    REMOVE = "remove"  # leave the segment: remove the tag (and on_leave extra, if asked)


class OnLeave(enum.StrEnum):
    UNTAG = "untag"
    UNSUBSCRIBE = "unsubscribe"
    ARCHIVE = "archive"


class OutcomeStatus(enum.StrEnum):
    APPLIED = "applied"  # the provider confirmed this member's change
    ACCEPTED = "accepted"  # queued by an asynchronous API; confirm later (``confirm``)
    REJECTED = "rejected"  # the provider refused this member; see ``reason``/``retryable``


@dataclass(frozen=True)
class Member:
    """One contact as the shop knows it."""

    email: str
    customer_id: str
    first_name: str | None = None
    last_name: str | None = None
    consent: bool = False  # accepts marketing email
    merge_fields: Mapping[str, str] = field(default_factory=dict)  # extra provider fields


@dataclass(frozen=True)
class Destination:
    """Where a segment goes on one provider: a list/audience and the tag carrying membership."""

    list_id: str
    tag: str
    on_leave: OnLeave = OnLeave.UNTAG


@dataclass(frozen=True)
class Change:
    kind: ChangeKind
    member: Member
    # What the provider answered earlier for this member (``Outcome.provider_ref``), e.g. the
    # ActiveCampaign contact id and contactTag association id a remove needs. None if unknown.
    provider_ref: str | None = None


@dataclass(frozen=True)
class Outcome:
    """The provider's answer for one change. Members are marked synced only from these."""

    change: Change
    status: OutcomeStatus
    reason: str | None = None  # the provider's words for a rejection
    retryable: bool = False  # for REJECTED: would a later retry help?
    provider_ref: str | None = None  # to store and hand back with the next change

    @property
    def email(self) -> str:
        return self.change.member.email


@dataclass(frozen=True)
class Limits:
    """What the provider allows. ``batch_size`` is members per batch handed to ``apply_batch``."""

    batch_size: int
    requests_per_second: float
    max_concurrency: int


@dataclass(frozen=True)
class ListInfo:
    id: str
    name: str
    member_count: int | None = None


@dataclass(frozen=True)
class TagInfo:
    id: str
    name: str
    list_id: str | None = None  # Mailchimp tags belong to a list; others are account-wide
    member_count: int | None = None


@dataclass(frozen=True)
class MergeFieldInfo:
    tag: str
    name: str
    type: str
    required: bool = False
    list_id: str | None = None


@dataclass(frozen=True)
class Discovery:
    lists: list[ListInfo]
    tags: list[TagInfo]
    merge_fields: list[MergeFieldInfo]


@dataclass(frozen=True)
class AccountInfo:
    """What ``check`` learns: the credentials work, and for whom."""

    provider: str
    account: str
    detail: str = ""


@dataclass
class CallStats:
    """Counts kept by the HTTP layer; the sync engine records them per run. Thread-safe through
    ``add`` (batches run concurrently)."""

    calls: int = 0
    retries: int = 0
    rate_limited: int = 0
    # Told the seconds of each Retry-After pause the account is about to wait (a run's progress
    # shows it); set by whoever watches, None when nobody does.
    on_wait: Callable[[float], None] | None = field(default=None, repr=False, compare=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(self, *, calls: int = 0, retries: int = 0, rate_limited: int = 0) -> None:
        with self._lock:
            self.calls += calls
            self.retries += retries
            self.rate_limited += rate_limited

    def wait(self, seconds: float) -> None:
        """The provider asked (Retry-After) that the account wait ``seconds``: tell ``on_wait``."""
        listener = self.on_wait
        if listener is not None:
            listener(seconds)


@dataclass(frozen=True)
class Connection:
    """How an account is reached: ``base_url`` replaces the API root (as the provider's docs
    write it: ``.../3.0``, ``.../api/3``, ``.../v2``), e.g. an emulator's; ``session`` and
    ``sleep`` are the caller's (tests inject them)."""

    base_url: str | None = None
    session: requests.Session | None = None
    sleep: Callable[[float], None] | None = None


class Provider(ABC):
    """One email provider. Subclasses set ``name`` and ``limits`` and implement the rest."""

    name: ClassVar[str]
    credential_keys: ClassVar[tuple[str, ...]] = ()  # what ``from_credentials`` needs
    # The profile options it takes, each a whole number from 1 to ``option_max(key)``:
    # ``batch_size`` (1 to ``limits.batch_size``) lowers the members per batch for every provider.
    option_keys: ClassVar[tuple[str, ...]] = ("batch_size",)
    on_leave_supported: ClassVar[tuple[OnLeave, ...]] = tuple(OnLeave)  # what leaving can do
    limits: Limits

    def __init__(self) -> None:
        self.stats = CallStats()

    @classmethod
    def from_credentials(
        cls,
        credentials: Mapping[str, str],
        *,
        base_url: str | None = None,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] | None = None,
    ) -> Self:
        """Build the provider for one account (``connect``), reached as ``Connection`` says.
        BadConfiguration if a credential is missing or malformed (the message names the key,
        never its value)."""
        return cls.connect(credentials, Connection(base_url, session, sleep))

    @classmethod
    def connect(cls, credentials: Mapping[str, str], via: Connection) -> Self:
        """``from_credentials``, implemented by each provider."""
        raise NotImplementedError(f"{cls.__name__} does not implement from_credentials")

    @classmethod
    def option_max(cls, key: str) -> int:
        """The largest value option ``key`` (one of ``option_keys``) takes."""
        if key == "batch_size":
            return cls.limits.batch_size
        raise KeyError(key)

    # --- account -------------------------------------------------------------------------
    @abstractmethod
    def check(self) -> AccountInfo:
        """Prove the credentials work; raise AuthenticationFailed if not."""

    @abstractmethod
    def discover(self) -> Discovery:
        """The account's lists, tags and merge fields."""

    def list_exists(self, list_id: str) -> bool:
        """Whether the account has the list/audience ``list_id`` (Syncer never creates lists):
        what a dry run and ``segments validate --online`` ask before anything is sent. One
        cheap call in each adapter; this default reads ``discover``."""
        return any(found.id == list_id for found in self.discover().lists)

    # --- mapped fields (a destination's ``fields``) -------------------------------------------
    def fields_of(self, list_id: str) -> list[MergeFieldInfo]:
        """The fields a member of ``list_id`` can carry (merge fields, custom fields), with
        their types: what ``segments validate --online`` checks a mapping against. This
        default reads ``discover``."""
        return [f for f in self.discover().merge_fields if f.list_id in (None, list_id)]

    def compatible(self, value_type: str, field_type: str) -> bool:
        """Whether a Syncer value of ``value_type`` (text, number, money, count, date,
        boolean) fits a provider field of ``field_type``. This default accepts any."""
        return True

    def create_field(self, list_id: str, name: str, value_type: str) -> MergeFieldInfo:
        """Create the field ``name`` for values of ``value_type`` (``--create-fields``)."""
        raise NotImplementedError(f"{self.name}: Syncer does not create fields; add it there")

    @abstractmethod
    def ensure_tag(self, destination: Destination) -> str:
        """Create the destination's tag if missing; return its provider id. Idempotent."""

    # --- membership ----------------------------------------------------------------------
    @abstractmethod
    def apply_batch(self, destination: Destination, changes: Sequence[Change]) -> list[Outcome]:
        """Send one batch (at most ``limits.batch_size`` changes, any mix of kinds).

        Return exactly one Outcome per change, in any order. Per-member refusals are outcomes,
        not exceptions; raise only for failures of the whole call (after the HTTP layer's
        retries): RetryableError, FatalError.
        """

    @abstractmethod
    def read_members(self, destination: Destination) -> Iterator[str]:
        """Lower-cased emails of the contacts that carry the destination's tag (for repairs)."""

    def confirm(self, destination: Destination, changes: Sequence[Change]) -> list[Outcome]:
        """Settle changes an asynchronous API only ACCEPTED. Synchronous providers never
        return ACCEPTED, so they never get here."""
        raise NotImplementedError(f"{self.name} answers synchronously; nothing to confirm")

    # --- the batching loop ---------------------------------------------------------------
    def batches(self, changes: Iterable[Change]) -> Iterator[list[Change]]:
        return chunks(changes, self.limits.batch_size)

    def push(self, destination: Destination, changes: Iterable[Change]) -> Iterator[list[Outcome]]:
        """Send ``changes`` in provider-sized batches, up to ``limits.max_concurrency`` at once.

        Yields each batch's outcomes as it completes (in submission order), so the caller can
        settle state batch by batch; ``changes`` is consumed lazily, a bounded number of
        batches ahead.
        """
        workers = max(1, self.limits.max_concurrency)
        if workers == 1:
            for batch in self.batches(changes):
                yield self.apply_batch(destination, batch)
            return
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix=self.name) as pool:
            in_flight: list[Future[list[Outcome]]] = []
            try:
                for batch in self.batches(changes):
                    in_flight.append(pool.submit(self.apply_batch, destination, batch))
                    if len(in_flight) >= workers:
                        yield in_flight.pop(0).result()
                while in_flight:
                    yield in_flight.pop(0).result()
            finally:
                for fut in in_flight:
                    fut.cancel()
