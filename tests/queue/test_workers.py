"""Three worker processes on one queue: every destination ends equal to its segment, nothing
doubled, and each provider account's limits hold across the workers together."""

from __future__ import annotations

import signal
import time

import pytest

from providers.registry import provider_class
from tests.queue.conftest import MAX_CONNECTIONS, PROVIDERS, QueueShop

# Timing and limits (per-second peaks, connections): run alone, after the parallel part.
pytestmark = [pytest.mark.slow, pytest.mark.serial]

CARDS = {"Gold": 900, "Silver": 500, "Bronze": 300, "Platinum": 150}


def add_customers(queue_shop: QueueShop) -> None:
    start = 1
    for card, n in CARDS.items():
        queue_shop.add_segment(card)
        queue_shop.shop.add(n, start=start, card=card)
        start += n


def assert_equal_nothing_doubled(queue_shop: QueueShop) -> None:
    for card in queue_shop.segments:
        for provider in PROVIDERS:
            listed = queue_shop.members(provider, card)
            assert len(listed) == len(set(listed)), f"{provider} {card}: an address twice"
            assert set(listed) == queue_shop.desired(card), f"{provider} {card}"


def test_three_workers_sync_twelve_destinations_within_every_limit(
    queue_shop: QueueShop,
) -> None:
    add_customers(queue_shop)
    queue_shop.fleet.set_faults(latency=0.05)
    for _ in range(3):
        queue_shop.spawn_worker("--requeue-after", "5")
    queue_shop.enqueue_all()
    queue_shop.wait(queue_shop.all_done, 240, "every destination synced")
    stats = {p: e.stats()["accounts"] for p, e in queue_shop.fleet.emulators.items()}
    queue_shop.stop_workers()
    queue_shop.fleet.set_faults(latency=0.0)
    workers = {r["owner"].split(":")[1] for r in queue_shop.runs()}
    assert len(workers) >= 2, "the tasks were shared between the workers"
    assert_equal_nothing_doubled(queue_shop)
    adds = sum(r["adds"] for r in queue_shop.runs())
    assert adds == 3 * sum(CARDS.values())  # every member sent once per provider
    for provider, accounts in stats.items():
        (account,) = accounts.values()  # one account per provider
        # the account's limit as Syncer keeps it (under the provider's), all workers together
        assert account["peak_in_flight"] <= 4, (provider, account)
        assert account["peak_in_flight"] <= MAX_CONNECTIONS.get(provider, 10)
        assert account["over_rate"] == 0, (provider, account)
        rate = provider_class(provider).limits.requests_per_second
        if rate > 0:
            # Starts are reserved 1 / rate apart for all workers together (Redis), but a process
            # that wakes late on a loaded two-core machine sends its turn late, next to the
            # following one: arrivals can read N + 2 in one second (seen once in CI: 7 at 5 a
            # second, none over the quota above). Without the shared limiter three workers send
            # about three times the rate.
            assert account["peak_per_second"] <= rate + 2, (provider, account)


def test_a_task_delivered_twice_sends_nothing_twice(queue_shop: QueueShop) -> None:
    queue_shop.add_segment("Gold", ("mailchimp",))
    queue_shop.shop.add(1500, card="Gold")
    queue_shop.fleet.set_faults(latency=0.3)
    for _ in range(2):
        queue_shop.spawn_worker("--requeue-after", "5")
    queue_shop.enqueue_all()
    queue_shop.enqueue_all()  # the same task again: both workers get one

    def both_ran() -> bool:
        runs = queue_shop.runs()
        return len(runs) == 2 and all(r["outcome"] != "running" for r in runs)

    queue_shop.wait(both_ran, 120, "both deliveries run")
    queue_shop.fleet.set_faults(latency=0.0)
    runs = queue_shop.runs()
    # at once: one skipped (the lock); one after the other: the second found nothing to do
    assert sorted(r["outcome"] for r in runs) in (["ok", "skipped"], ["ok", "ok"]), runs
    assert sum(r["adds"] for r in runs) == 1500  # the second delivery added nobody again
    assert queue_shop.settled() == 1500
    listed = queue_shop.members("mailchimp", "Gold")
    assert len(listed) == len(set(listed)) and set(listed) == queue_shop.desired("Gold")


def test_a_worker_killed_mid_push_its_task_delivered_again_ends_equal(
    queue_shop: QueueShop,
) -> None:
    queue_shop.add_segment("Gold", ("mailchimp",))
    queue_shop.shop.add(2400, card="Gold")
    queue_shop.fleet.emulators["mailchimp"].faults.update({"latency": 0.5})
    first = queue_shop.spawn_worker("--requeue-after", "3")
    queue_shop.enqueue_all()
    queue_shop.wait(lambda: 0 < queue_shop.settled() < 2400, 120, "the push under way")
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=30)
    killed_at = queue_shop.settled()
    assert killed_at < 2400
    time.sleep(1)
    queue_shop.spawn_worker("--requeue-after", "3")  # takes the dead worker's task over
    queue_shop.wait(queue_shop.all_done, 180, "the re-delivered task completed")
    queue_shop.fleet.emulators["mailchimp"].faults.clear()
    runs = queue_shop.runs()
    assert [r["outcome"] for r in runs] == ["interrupted", "ok"], runs  # the killed one, the redo
    assert "interrupted" in (runs[0]["error"] or "")
    assert queue_shop.settled() == 2400
    listed = queue_shop.members("mailchimp", "Gold")
    assert len(listed) == len(set(listed)) and set(listed) == queue_shop.desired("Gold")
