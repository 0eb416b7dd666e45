"""`syncer sync` stopped by SIGTERM or SIGINT (Ctrl-C) mid-push: the batch in flight is finished,
the run recorded partial with its changes pending, exit 1; the next run completes."""

from __future__ import annotations

import signal
import time

import pytest

from tests.e2e.conftest import Workspace
from tests.e2e.test_crash_and_concurrency import counts

pytestmark = pytest.mark.slow
MEMBERS = 6000


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("provider", ["mailchimp"], indirect=True)
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_signal_mid_push_stops_cleanly_and_the_next_run_completes(
    workspace: Workspace, capsys, signum: signal.Signals
) -> None:
    # 12 batches of 500 with 4 in flight: a stop seen late (a loaded machine) still leaves some
    workspace.shop.add(MEMBERS)
    workspace.emulator.faults.update({"latency": 0.5})  # the push lasts long enough to stop
    proc = workspace.spawn("sync", "VIP")
    deadline = time.monotonic() + 120
    stopped_at = None
    while time.monotonic() < deadline and proc.poll() is None:
        settled, pending = counts(workspace.db_url)
        if settled and pending:  # some members settled, others still to send
            proc.send_signal(signum)
            stopped_at = (settled, pending)
            break
        time.sleep(0.05)
    _out, err = proc.communicate(timeout=60)
    assert stopped_at is not None, f"the push ended before it could be stopped: {err}"
    assert proc.returncode == 1, err
    assert f"{signum.name}: stopped after the batch in flight" in err
    assert "Traceback" not in err
    settled, pending = counts(workspace.db_url)
    assert pending > 0 and settled + pending >= MEMBERS
    _code, runs = workspace.run(capsys, "runs")
    last = runs["runs"][0]
    assert last["outcome"] == "partial" and last["pending"] == pending
    assert "stopped before the end" in last["error"]

    workspace.emulator.faults.clear()
    code, results = workspace.run(capsys, "sync", "VIP")
    assert code == 0, results
    assert results[0]["pending_before"] == pending
    assert counts(workspace.db_url) == (MEMBERS, 0)
    assert workspace.tagged() == workspace.desired()
