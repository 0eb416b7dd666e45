"""What a run tells its progress callback: the phase as it starts, members sent of the total,
the API calls and retries so far, and a provider's Retry-After while the run waits on it."""

from __future__ import annotations

from collections.abc import Sequence

from providers.base import Change, Destination, Outcome
from syncer.sync.engine import RunProgress
from tests.sync.fakes import DEST, QUERY, SEG, FakeProvider, Shop


def test_progress_names_each_phase_and_counts_members_sent_and_calls(
    shop: Shop, fake: FakeProvider, make_engine
) -> None:
    shop.add(7)
    seen: list[RunProgress] = []
    result = make_engine(fake).sync(SEG, DEST, QUERY, full=True, progress=seen.append)
    assert result.outcome == "ok"
    phases = [p.phase for p in seen]
    # told before the slow reads start, not only after the first batch is settled; --full's
    # repairs are planned (the tagged set read during the diff) before anything is sent
    assert phases.index("diff") < phases.index("repair") < phases.index("push")
    pushed = [p for p in seen if p.phase == "push"]
    assert [(p.done, p.total) for p in pushed] == [(0, 7), (3, 7), (6, 7), (7, 7)]
    assert pushed[-1].calls == 1 + 4  # the tagged read, then ensure_tag + three batches
    assert seen[-1].phase == "done" and seen[-1].calls == result.api_calls
    assert all(p.waiting == 0 for p in seen)


class WaitedOn(FakeProvider):
    """A provider whose second batch was answered 429 with Retry-After: 12 before it went through
    (the HTTP layer tells ``stats`` about the pause)."""

    def apply_batch(self, destination: Destination, changes: Sequence[Change]) -> list[Outcome]:
        if len(self.batches_sent) == 1:
            self.stats.add(retries=1)
            self.stats.wait(12.0)
        return super().apply_batch(destination, changes)


def test_progress_says_when_the_run_waits_on_a_retry_after(shop: Shop, make_engine) -> None:
    shop.add(7)
    provider = WaitedOn(batch_size=3)
    seen: list[RunProgress] = []
    make_engine(provider).sync(SEG, DEST, QUERY, progress=seen.append)
    waits = [p for p in seen if p.waiting]
    assert len(waits) == 1
    assert (waits[0].phase, waits[0].done, waits[0].total, waits[0].waiting) == ("push", 3, 7, 12)
    assert waits[0].retries == 1
    after = seen[seen.index(waits[0]) + 1]
    assert after.waiting == 0 and after.done == 6  # the next batch clears it
    assert provider.stats.on_wait is None  # the listener does not outlive the run


def test_no_progress_callback_no_listener(shop: Shop, make_engine) -> None:
    shop.add(4)
    provider = WaitedOn(batch_size=3)
    result = make_engine(provider).sync(SEG, DEST, QUERY)
    assert result.outcome == "ok" and provider.stats.on_wait is None
