"""A member who leaves while the provider still has their add queued (Sendlane's 202 list adds,
ActiveCampaign's bulk imports): the remove must wait for the add, never be settled against it.

The emulators apply a queued add after a number of reads (Sendlane: GET requests; ActiveCampaign:
polls of the import) and/or once their clock has passed a delay; the tests drive both. Each run
is the real CLI; a run that ends while the add is still queued must say so (``partial``, the remove
pending, exit 1), and once the queue drains the next runs make the tag carriers equal the segment.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import insert

from providers.activecampaign.bulk import BulkImporter
from syncer.sample.emulated import LocalProviders
from syncer.schema import Order
from syncer.sync.clock import SystemClock
from tests.e2e.conftest import FAST, Workspace

pytestmark = pytest.mark.slow
ORDERS = Order.__table__  # type: ignore[attr-defined]
LEAVER = "c2@example.com"
MAX_RUNS = 12  # each run is bounded; this many runs always outlast the queues set below

# Gold card holders who never had an order refunded: a refund makes a member leave.
SEGMENT = """\
name: VIP
rules:
  all:
    - {{field: loyalty_card, op: eq, value: Gold}}
    - {{field: refunded_orders, op: eq, value: 0}}
destinations:
  - profile: demo-{provider}
    list: "{list_id}"
    tag: vip
"""


class Clock:
    """The emulator's clock, moved by the test (a queued add's delay passes only when told)."""

    def __init__(self) -> None:
        self.at = 0.0

    def __call__(self) -> float:
        return self.at


@pytest.fixture
def emulator_clock() -> Clock:
    return Clock()


@pytest.fixture
def fleet(provider: str, queue: dict[str, Any], emulator_clock: Clock) -> Iterator[LocalProviders]:
    options = {**FAST[provider], **queue, "clock": emulator_clock}
    with LocalProviders([provider], options={provider: options}) as running:
        yield running


@pytest.fixture(autouse=True)
def no_waiting(monkeypatch: pytest.MonkeyPatch) -> None:
    """The waits (the engine's ``confirm_wait``, the import polls' interval) cost only time
    here: the queues move on reads and on the emulator's clock, not on the wall clock."""
    monkeypatch.setattr(SystemClock, "sleep", lambda _self, _seconds: None)
    init = BulkImporter.__init__

    def quick(self: BulkImporter, provider: Any, **kw: Any) -> None:
        init(self, provider, **{**kw, "sleep": lambda _seconds: None})

    monkeypatch.setattr(BulkImporter, "__init__", quick)


def refund(workspace: Workspace, customer_id: int) -> None:
    at = datetime(2025, 6, 1, tzinfo=UTC)
    with workspace.shop.engine.begin() as conn:
        conn.execute(
            insert(ORDERS).values(
                customer_id=customer_id, placed_at=at, total_cents=5000, status="refunded",
                refunded_cents=5000,
            )
        )  # fmt: skip


def withdraw_consent(workspace: Workspace, customer_id: int) -> None:
    workspace.shop.set(customer_id, accepts_marketing=False)


LEAVES: dict[str, Callable[[Workspace, int], None]] = {
    "refund": refund,
    "consent": withdraw_consent,
}


def queued(workspace: Workspace) -> bool:
    """Does the provider still hold an add it has not applied?"""
    state = workspace.emulator.state()
    if workspace.provider == "sendlane":
        return bool(state["queued"])
    return any(b["status"] != "completed" for b in state["imports"].values())


def converge(
    workspace: Workspace, capsys: pytest.CaptureFixture[str], tick: Callable[[], None]
) -> list[dict[str, Any]]:
    """Run the sync until a run is ``ok`` with nothing pending and nothing queued; every run that
    ends with the add still queued must report the remove as pending. ``tick`` runs between
    runs (time passing on the provider's side)."""
    seen: list[dict[str, Any]] = []
    for _ in range(MAX_RUNS):
        code, results = workspace.run(capsys, "sync", "VIP")
        r = results[0]
        seen.append(r)
        if queued(workspace):
            assert (code, r["outcome"]) == (1, "partial"), seen
            assert r["pending"] >= 1 and "queued add" in r["error"], seen
        elif code == 0 and r["outcome"] == "ok" and not r["pending"]:
            return seen
        tick()
    raise AssertionError(f"not settled after {MAX_RUNS} runs: {seen}")


def scenario(
    workspace: Workspace,
    capsys: pytest.CaptureFixture[str],
    leave: str,
    members: int,
    tick: Callable[[], None] = lambda: None,
) -> list[dict[str, Any]]:
    (workspace.config / "segments" / "vip.yaml").write_text(
        SEGMENT.format(provider=workspace.provider, list_id=workspace.list_id)
    )
    workspace.shop.add(members)
    code, results = workspace.run(capsys, "sync", "VIP")
    assert code in (0, 1) and results[0]["adds"] == members, results
    LEAVES[leave](workspace, 2)  # leaves before (or just after) the provider applied the add
    seen = converge(workspace, capsys, tick)
    assert not queued(workspace)
    tagged = workspace.tagged()
    assert LEAVER not in tagged
    assert tagged == workspace.desired() - {LEAVER}
    calls = workspace.emulator.total_calls
    code, results = workspace.run(capsys, "sync", "VIP")  # settled: nothing left to do
    assert (code, results[0]["outcome"], results[0]["pending"]) == (0, "ok", 0)
    assert results[0]["api_calls"] == 0 and workspace.emulator.total_calls == calls
    return seen


@pytest.mark.parametrize("leave", sorted(LEAVES))
@pytest.mark.parametrize(
    "queue", [{"add_reads": n} for n in (1, 3, 6)], ids=lambda q: f"reads{q['add_reads']}"
)
@pytest.mark.parametrize("provider", ["sendlane"])
def test_sendlane_leaver_whose_add_is_still_queued_is_untagged(
    workspace: Workspace, capsys: pytest.CaptureFixture[str], leave: str, queue: dict[str, Any]
) -> None:
    seen = scenario(workspace, capsys, leave, members=4)
    if queue["add_reads"] == 6:  # still queued after the leave: at least one run held it
        assert seen[0]["outcome"] == "partial"


@pytest.mark.parametrize("leave", sorted(LEAVES))
@pytest.mark.parametrize("queue", [{"add_delay": 30.0}], ids=["delay30s"])
@pytest.mark.parametrize("provider", ["sendlane"])
def test_sendlane_leaver_whose_add_waits_on_a_delay_is_untagged(
    workspace: Workspace,
    capsys: pytest.CaptureFixture[str],
    leave: str,
    emulator_clock: Clock,
) -> None:
    def tick() -> None:
        emulator_clock.at += 10.0  # applied during the fourth run after the leave

    seen = scenario(workspace, capsys, leave, members=4, tick=tick)
    assert [r["outcome"] for r in seen[:3]] == ["partial"] * 3


@pytest.mark.parametrize("leave", sorted(LEAVES))
@pytest.mark.parametrize(
    "queue",
    [{"import_polls": n} for n in (11, 16)] + [{"import_delay": 30.0}],
    ids=lambda q: "-".join(f"{k}{v:g}" for k, v in q.items()),
)
@pytest.mark.parametrize("provider", ["activecampaign"])
def test_activecampaign_leaver_whose_import_is_still_running_is_untagged(
    workspace: Workspace,
    capsys: pytest.CaptureFixture[str],
    leave: str,
    queue: dict[str, Any],
    emulator_clock: Clock,
) -> None:
    def tick() -> None:
        emulator_clock.at += 10.0

    # 12 members: enough for the bulk importer (10 at least). Its 10 polls end with the import
    # still running, so the members are ACCEPTED with the import's batch id; the run's confirm
    # polls once more (11 polls: completed in the first run), and each later run once or twice.
    seen = scenario(workspace, capsys, leave, members=12, tick=tick)
    if queue.get("import_polls", 16) == 16:  # still running after the leave: held
        assert seen[0]["outcome"] == "partial"
