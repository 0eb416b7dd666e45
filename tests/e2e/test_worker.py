"""The long-running worker as a process: starts, schedules, stops cleanly on SIGTERM."""

from __future__ import annotations

import json
import signal
import time

import pytest

from tests.e2e.conftest import Workspace

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("provider", ["mailchimp"], indirect=True)
def test_worker_schedules_each_segment_and_stops_cleanly_on_sigterm(workspace: Workspace) -> None:
    text = (workspace.config / "segments" / "vip.yaml").read_text()
    (workspace.config / "segments" / "vip.yaml").write_text(text + 'schedule: "*/5 * * * *"\n')
    proc = workspace.spawn("schedule", "--reload-seconds", "1")
    lines: list[dict[str, object]] = []
    assert proc.stderr is not None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if not line:
            break
        if line.startswith("{"):
            lines.append(json.loads(line))
        if lines and lines[-1].get("event") == "scheduled":
            break
    assert lines[-1]["event"] == "scheduled", lines
    assert lines[-1]["segments"] == {"VIP": "*/5 * * * *"}
    proc.send_signal(signal.SIGTERM)
    _out, rest = proc.communicate(timeout=30)
    events = [json.loads(x).get("event") for x in rest.splitlines() if x.startswith("{")]
    assert proc.returncode == 0
    assert events[-2:] == ["signal", "stopped"] or events[-1] == "stopped", events
