"""`syncer worker --queue URL --metrics-port P`: /metrics counts the runs of the tasks this worker
ran, /healthz says the worker is alive and its state database and queue answer."""

from __future__ import annotations

import socket
import time

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from tests.queue.conftest import QueueShop

# Timing and limits (per-second peaks, connections): run alone, after the parallel part.
pytestmark = [pytest.mark.slow, pytest.mark.serial]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def health(base: str) -> requests.Response | None:
    try:
        return requests.get(f"{base}/healthz", timeout=2)
    except requests.ConnectionError:
        return None


def samples(base: str, family: str) -> list[tuple[dict[str, str], float]]:
    scraped = requests.get(f"{base}/metrics", timeout=5).text
    for f in text_string_to_metric_families(scraped):
        if f.name == family:
            return [(s.labels, s.value) for s in f.samples if s.name == f"{family}_total"]
    return []


def test_a_queue_worker_serves_its_runs_and_its_health(queue_shop: QueueShop) -> None:
    queue_shop.add_segment("Gold", ("mailchimp", "sendlane"))
    queue_shop.shop.add(30, card="Gold")
    port = free_port()
    queue_shop.spawn_worker("--metrics-port", str(port))
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    answer = health(base)
    while (answer is None or answer.json()["status"] == "starting") and time.monotonic() < deadline:
        time.sleep(0.2)
        answer = health(base)
    assert answer is not None, queue_shop.logs()
    assert answer.status_code == 200 and answer.json()["status"] == "ok", answer.text
    assert answer.json()["threads"] == 1 and answer.json()["finished"] == 0
    assert samples(base, "syncer_runs") == []  # nothing run yet

    queue_shop.enqueue_all()
    queue_shop.wait(queue_shop.all_done, 120, "both destinations synced")
    deadline = time.monotonic() + 10  # the run is recorded just before the task returns
    while len(runs := samples(base, "syncer_runs")) < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert sorted((labels["destination"], labels["outcome"], value) for labels, value in runs) == [
        (key, "ok", 1.0) for key in sorted(queue_shop.segments["Gold"])
    ]
    calls = {labels["provider"]: value for labels, value in samples(base, "syncer_api_calls")}
    assert set(calls) == {"mailchimp", "sendlane"} and min(calls.values()) > 0
    added = samples(base, "syncer_members_added")
    assert sorted(value for _labels, value in added) == [30.0, 30.0]
    after = health(base)
    assert after is not None and after.status_code == 200
    assert after.json()["finished"] == 2 and after.json()["running"] == 0
