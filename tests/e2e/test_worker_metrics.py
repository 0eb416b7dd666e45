"""The worker as a process with --metrics-port: /healthz and /metrics answer over HTTP, the last
success recorded before it started is already in /metrics, and every stderr line is JSON."""

from __future__ import annotations

import json
import signal
import socket
import time

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.conftest import Workspace

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def get(url: str) -> requests.Response | None:
    try:
        return requests.get(url, timeout=2)
    except requests.ConnectionError:
        return None


@pytest.mark.serial  # a reload tick within a fixed 1.5 s: timing
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("provider", ["mailchimp"], indirect=True)
def test_worker_serves_metrics_and_health_and_logs_only_json(
    workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    workspace.shop.add(5)
    code, _ = workspace.run(capsys, "sync", "VIP")  # creates the state (a migration) and succeeds
    assert code == 0
    segment = workspace.config / "segments" / "vip.yaml"
    segment.write_text(segment.read_text() + 'schedule: "*/5 * * * *"\n')
    port = free_port()
    proc = workspace.spawn("schedule", "--reload-seconds", "0.5", "--metrics-port", str(port))
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        health = None
        while time.monotonic() < deadline and proc.poll() is None:
            health = get(f"{base}/healthz")
            # the server answers from before the scheduler runs: 503 "scheduler not running"
            if health is not None and health.status_code == 200:
                break
            time.sleep(0.2)
        assert health is not None and health.status_code == 200, health
        body = health.json()
        assert body["status"] == "ok" and body["jobs"] == ["VIP"] and body["last_tick"]

        segment.write_text(segment.read_text() + "\n")  # a reload tick that reloads
        time.sleep(1.5)
        scraped = requests.get(f"{base}/metrics", timeout=5).text
        families = {f.name: f for f in text_string_to_metric_families(scraped)}
        assert {"syncer_runs", "syncer_api_calls", "syncer_pending_changes"} <= set(families)
        (last,) = families["syncer_last_success_timestamp_seconds"].samples
        assert last.labels["segment"] == "VIP" and abs(last.value - time.time()) < 120
    finally:
        proc.send_signal(signal.SIGTERM)
        _out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    records = [json.loads(line) for line in err.splitlines()]  # every line is JSON
    events = [r.get("event") for r in records]
    assert events.count("scheduled") >= 2 and events[-1] == "stopped", events
    assert all(r["level"] != "info" for r in records if r["logger"].startswith("apscheduler"))
