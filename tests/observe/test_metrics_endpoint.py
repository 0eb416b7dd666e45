"""The worker's /metrics and /healthz: scraped over HTTP from a server on a free port, the text
parsed with prometheus_client's own parser."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import create_engine

from syncer.errors import ConfigError
from syncer.observe.health import worker_health
from syncer.observe.metrics import WorkerMetrics
from syncer.observe.server import serve
from syncer.schedule import SyncScheduler
from syncer.state.runs import RunResult

START = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
TARGET = {"segment": "VIP", "destination": "shop-mailchimp/L1/vip"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def scrape(url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of /metrics: (name, sorted labels) -> value."""
    answer = requests.get(f"{url}/metrics", timeout=5)
    assert answer.status_code == 200
    assert answer.headers["Content-Type"].startswith("text/plain")
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(answer.text)
        for s in family.samples
    }


def value(samples: Mapping[tuple[str, tuple[tuple[str, str], ...]], float], name: str,
          **labels: str) -> float:  # fmt: skip
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def result(outcome: str, *, adds: int = 0, removes: int = 0, seconds: float = 2.5) -> RunResult:
    r = RunResult("VIP", "shop-mailchimp/L1/vip", outcome=outcome, adds=adds, removes=removes)
    r.updates, r.rejections, r.api_calls, r.retries, r.pending = 2, 1, 7, 3, 4
    r.started_at, r.finished_at = START, START + timedelta(seconds=seconds)
    return r


class Up:
    """A health check whose answer the test sets."""

    ok = True

    def __call__(self) -> tuple[bool, dict[str, object]]:
        return self.ok, {"status": "ok" if self.ok else "down"}


@pytest.fixture
def served() -> Iterator[tuple[str, WorkerMetrics, Up]]:
    metrics, up = WorkerMetrics(), Up()
    port = free_port()
    server = serve(metrics.registry, up, host="127.0.0.1", port=port)
    try:
        yield f"http://127.0.0.1:{port}", metrics, up
    finally:
        server.shutdown()
        server.server_close()


def test_a_run_moves_each_counter_by_its_own_amount(
    served: tuple[str, WorkerMetrics, Up],
) -> None:
    url, metrics, _up = served
    before = scrape(url)
    metrics.record(result("ok", adds=5, removes=3, seconds=2.5), provider="mailchimp")
    metrics.record(result("partial", adds=1), provider="mailchimp")
    after = scrape(url)

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved("syncer_runs_total", outcome="ok", **TARGET) == 1
    assert moved("syncer_runs_total", outcome="partial", **TARGET) == 1
    assert moved("syncer_members_added_total", **TARGET) == 6
    assert moved("syncer_members_removed_total", **TARGET) == 3
    assert moved("syncer_members_updated_total", **TARGET) == 4
    assert moved("syncer_rejections_total", **TARGET) == 2
    assert moved("syncer_api_calls_total", provider="mailchimp") == 14
    assert moved("syncer_api_retries_total", provider="mailchimp") == 6
    assert moved("syncer_run_duration_seconds_count", **TARGET) == 2
    assert moved("syncer_run_duration_seconds_sum", **TARGET) == 5.0
    # gauges: the last success (the partial run after it does not move it), pending now
    assert (
        value(after, "syncer_last_success_timestamp_seconds", **TARGET)
        == (START + timedelta(seconds=2.5)).timestamp()
    )
    assert value(after, "syncer_pending_changes", **TARGET) == 4


def test_a_skipped_run_counts_as_a_run_and_nothing_else(
    served: tuple[str, WorkerMetrics, Up],
) -> None:
    url, metrics, _up = served
    metrics.record(result("skipped", adds=0), provider="mailchimp")
    after = scrape(url)
    assert value(after, "syncer_runs_total", outcome="skipped", **TARGET) == 1
    assert value(after, "syncer_api_calls_total", provider="mailchimp") == 0
    assert value(after, "syncer_run_duration_seconds_count", **TARGET) == 0


def test_healthz_is_200_with_json_when_up_and_503_when_not(
    served: tuple[str, WorkerMetrics, Up],
) -> None:
    url, _metrics, up = served
    answer = requests.get(f"{url}/healthz", timeout=5)
    assert (answer.status_code, answer.json()) == (200, {"status": "ok"})
    up.ok = False
    answer = requests.get(f"{url}/healthz", timeout=5)
    assert (answer.status_code, answer.json()) == (503, {"status": "down"})
    assert requests.get(f"{url}/nope", timeout=5).status_code == 404


def test_worker_health_needs_a_live_scheduler_loop_and_an_answering_state_database(
    tmp_path: Path,
) -> None:
    def run_nothing(_name: str, _stop: threading.Event) -> Iterator[Mapping[str, object]]:
        yield from ()

    state = create_engine(f"sqlite:///{tmp_path / 'state.db'}")
    scheduler = SyncScheduler(dict, run_nothing, [tmp_path], reload_seconds=0.5)
    ok, body = worker_health(scheduler, state)
    assert not ok and body["status"] == "scheduler not running"
    scheduler.start()
    try:
        ok, body = worker_health(scheduler, state)
        assert ok, body
        assert body["status"] == "ok" and body["jobs"] == [] and body["last_tick"]
        gone = create_engine(f"sqlite:///{tmp_path / 'no' / 'such' / 'dir.db'}")
        ok, body = worker_health(scheduler, gone)
        assert not ok and str(body["status"]).startswith("state database does not answer")
    finally:
        scheduler.shutdown()
    ok, body = worker_health(scheduler, state)
    assert not ok and body["status"] == "scheduler not running"


def test_a_port_in_use_is_one_line_saying_what_to_do() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(ConfigError) as info:
            serve(WorkerMetrics().registry, Up(), host="127.0.0.1", port=port)
    message = str(info.value)
    assert f"127.0.0.1:{port}" in message and "--metrics-port" in message
    assert "\n" not in message
