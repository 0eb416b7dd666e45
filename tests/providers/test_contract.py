"""The contract every provider adapter keeps, proven against its local emulator (real HTTP).

Each provider is built the way Syncer builds it (``from_credentials`` with the emulator's URL as
``base_url``) with a recording sleep, so backoffs and rate-limit spacing cost no time. Adapters
and emulators are imported directly: a broken import fails the suite, it is never skipped.

The contract: adding twice leaves one tagged member; removing an absent member is APPLIED; a 429
is retried and then succeeds; refused credentials are a fatal AuthenticationFailed; a batch gets
exactly one Outcome per Change (a refused address is REJECTED, not an exception).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from emulators.activecampaign import ActiveCampaignEmulator
from emulators.base import Emulator, EmulatorServer
from emulators.mailchimp import MailchimpEmulator
from emulators.sendlane import SendlaneEmulator
from providers.activecampaign import ActiveCampaign
from providers.base import Change, ChangeKind, Destination, Member, Outcome, OutcomeStatus, Provider
from providers.errors import AuthenticationFailed
from providers.mailchimp import Mailchimp
from providers.registry import provider_class
from providers.sendlane import Sendlane
from tests.providers.conftest import Sleeps

pytestmark = pytest.mark.slow


@dataclass(frozen=True)
class Harness:
    provider: str
    adapter: type[Provider]
    emulator: type[Emulator]
    emulator_kw: dict[str, Any]
    root: str
    credentials: dict[str, str]
    bad_credentials: dict[str, str]
    list_id: str
    retry_after: float | None = None  # what the provider's 429 says
    extra: dict[str, Any] = field(default_factory=dict)


HARNESSES = [
    Harness(
        "mailchimp",
        Mailchimp,
        MailchimpEmulator,
        {"api_key": "demo-us1"},
        "/3.0",
        {"api_key": "demo-us1"},
        {"api_key": "wrong-us1"},
        "demo-list",
    ),
    Harness(
        "activecampaign",
        ActiveCampaign,
        ActiveCampaignEmulator,
        {"api_token": "emu-token", "enforce_rate_limits": False},
        "/api/3",
        {"api_url": "https://shop.api-us1.com", "api_token": "emu-token"},
        {"api_url": "https://shop.api-us1.com", "api_token": "wrong-token"},
        "1",
        retry_after=1.0,
    ),
    Harness(
        "sendlane",
        Sendlane,
        SendlaneEmulator,
        {"api_token": "emu-token", "enforce_rate_limits": False},
        "/v2",
        {"api_token": "emu-token"},
        {"api_token": "wrong-token"},
        "1",
    ),
]


@dataclass
class Rig:
    harness: Harness
    emulator: Emulator
    url: str
    sleeps: Sleeps

    def provider(self, credentials: dict[str, str] | None = None) -> Provider:
        cls = provider_class(self.harness.provider)
        return cls.from_credentials(
            credentials or self.harness.credentials,
            base_url=self.url + self.harness.root,
            sleep=self.sleeps,
        )

    @property
    def destination(self) -> Destination:
        return Destination(self.harness.list_id, "contract-vip")


@pytest.fixture(params=HARNESSES, ids=lambda h: h.provider)
def rig(request: pytest.FixtureRequest) -> Iterator[Rig]:
    harness: Harness = request.param
    assert provider_class(harness.provider) is harness.adapter  # the registry builds this one
    emulator = harness.emulator(**harness.emulator_kw)
    with EmulatorServer(emulator) as server:
        yield Rig(harness, emulator, server.url, Sleeps())


def settle(provider: Provider, dest: Destination, outcomes: list[Outcome]) -> list[Outcome]:
    """Confirm what an asynchronous provider only ACCEPTED (a few rounds at most)."""
    done = [o for o in outcomes if o.status != OutcomeStatus.ACCEPTED]
    waiting = [o for o in outcomes if o.status == OutcomeStatus.ACCEPTED]
    for _ in range(3):
        if not waiting:
            break
        again = [Change(ChangeKind.ADD, o.change.member, o.provider_ref) for o in waiting]
        answers = provider.confirm(dest, again)
        done += [o for o in answers if o.status != OutcomeStatus.ACCEPTED]
        waiting = [o for o in answers if o.status == OutcomeStatus.ACCEPTED]
    return done + waiting


def add(provider: Provider, dest: Destination, members: list[Member]) -> list[Outcome]:
    changes = [Change(ChangeKind.ADD, m) for m in members]
    outcomes = [o for batch in provider.push(dest, changes) for o in batch]
    return settle(provider, dest, outcomes)


def test_adding_twice_leaves_one_tagged_member(rig):
    provider = rig.provider()
    dest = rig.destination
    provider.ensure_tag(dest)
    member = Member("twice@shop.test", "1", first_name="Twice", consent=True)
    first = add(provider, dest, [member])
    second = add(provider, dest, [member])
    assert [o.status for o in first + second] == [OutcomeStatus.APPLIED] * 2
    assert list(provider.read_members(dest)) == ["twice@shop.test"]


def test_removing_an_absent_member_is_applied(rig):
    provider = rig.provider()
    dest = rig.destination
    provider.ensure_tag(dest)
    absent = Change(ChangeKind.REMOVE, Member("nobody@shop.test", "9"))
    [out] = provider.apply_batch(dest, [absent])
    assert out.status == OutcomeStatus.APPLIED and out.change is absent


def test_429_is_retried_then_succeeds(rig):
    provider = rig.provider()
    rig.emulator.faults.rate_limit_next = 1
    rig.emulator.faults.retry_after = rig.harness.retry_after
    assert provider.check().provider == rig.harness.provider
    assert provider.stats.rate_limited == 1
    if rig.harness.retry_after:
        assert rig.harness.retry_after in [round(s, 3) for s in rig.sleeps]


def test_refused_credentials_are_fatal(rig):
    provider = rig.provider(rig.harness.bad_credentials)
    with pytest.raises(AuthenticationFailed):
        provider.check()
    assert provider.stats.calls == 1  # never retried


def test_a_batch_gets_exactly_one_outcome_per_change(rig):
    provider = rig.provider()
    dest = rig.destination
    provider.ensure_tag(dest)
    rig.emulator.faults.reject = {"broken@shop.test": "invalid"}
    batch = [
        Change(ChangeKind.ADD, Member("a@shop.test", "1", consent=True)),
        Change(ChangeKind.ADD, Member("broken@shop.test", "2", consent=True)),
        Change(ChangeKind.ADD, Member("b@shop.test", "3", consent=False)),
        Change(ChangeKind.REMOVE, Member("gone@shop.test", "4")),
    ]
    outcomes = provider.apply_batch(dest, batch)
    assert sorted(id(o.change) for o in outcomes) == sorted(id(c) for c in batch)
    by_email = {o.email: o for o in outcomes}
    assert by_email["broken@shop.test"].status == OutcomeStatus.REJECTED
    assert by_email["broken@shop.test"].reason
    assert by_email["gone@shop.test"].status == OutcomeStatus.APPLIED
    assert by_email["a@shop.test"].status in (OutcomeStatus.APPLIED, OutcomeStatus.ACCEPTED)


def test_list_exists_says_which_lists_the_account_has(rig):
    provider = rig.provider()
    assert provider.list_exists(rig.harness.list_id) is True
    assert provider.list_exists("987654") is False
