"""A run killed mid-push (SIGKILL) shows `interrupted` at once and is completed by the next run;
two processes never both push."""

from __future__ import annotations

import json
import signal
import socket
import threading
import time

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from syncer.db import make_engine
from syncer.state.lock import LOCKS
from syncer.state.store import MEMBERS, OUTBOX
from tests.e2e.conftest import Workspace

pytestmark = pytest.mark.slow


def counts(url: str) -> tuple[int, int]:
    """(settled snapshot rows, pending outbox rows); (0, 0) before the state tables exist."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            settled = conn.execute(select(func.count()).select_from(MEMBERS)).scalar() or 0
            pending = conn.execute(select(func.count()).select_from(OUTBOX)).scalar() or 0
            return int(settled), int(pending)
    except SQLAlchemyError:  # the state tables are not created yet
        return 0, 0
    finally:
        engine.dispose()


def test_run_killed_mid_push_is_completed_by_the_next_run(workspace: Workspace, capsys) -> None:
    workspace.shop.add(2400)
    workspace.emulator.faults.update({"latency": 0.5})  # the push lasts long enough to kill
    proc = workspace.spawn("sync", "VIP")
    deadline = time.monotonic() + 120
    killed_at = None
    while time.monotonic() < deadline and proc.poll() is None:
        settled, pending = counts(workspace.db_url)
        if settled and pending:  # some members settled, others still to send
            proc.send_signal(signal.SIGKILL)
            killed_at = (settled, pending)
            break
        time.sleep(0.05)
    _out, err = proc.communicate(timeout=30)
    assert killed_at is not None, f"the push ended before it could be killed: {err}"
    assert proc.returncode == -signal.SIGKILL
    # Right after the kill, before any other run: the dead process's run is not `running`.
    _, shown = workspace.run(capsys, "runs")
    assert [r["outcome"] for r in shown["runs"]] == ["interrupted"], shown["runs"]
    assert f"process {socket.gethostname()}:{proc.pid} no longer runs" in shown["runs"][0]["error"]
    workspace.emulator.faults.clear()
    code, results = workspace.run(capsys, "sync", "VIP")
    assert code == 0, results
    assert results[0]["pending_before"] > 0  # the killed run's outbox was sent first
    assert counts(workspace.db_url) == (2400, 0)
    assert workspace.tagged() == workspace.desired()
    _, runs = workspace.run(capsys, "runs")
    assert [r["outcome"] for r in runs["runs"]] == ["ok", "interrupted"]


def locked(url: str) -> bool:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return bool(conn.execute(select(func.count()).select_from(LOCKS)).scalar())
    except SQLAlchemyError:
        return False
    finally:
        engine.dispose()


# Two processes racing for one segment: run alone, after the parallel part (beside the workers
# the second once started only after the first had finished; the emulator now holds the first).
@pytest.mark.serial
def test_two_processes_on_one_segment_only_one_pushes(workspace: Workspace) -> None:
    workspace.shop.add(600)
    workspace.emulator.faults.update({"latency": 1.0})  # the first push lasts several seconds
    first = workspace.spawn("sync", "VIP", "--json")
    deadline = time.monotonic() + 60
    while not locked(workspace.db_url) and time.monotonic() < deadline and first.poll() is None:
        time.sleep(0.05)
    assert locked(workspace.db_url), "the first process never took the lock"
    # from now on the first push's calls wait at the emulator until the second process is done,
    # however long that one takes to start on a busy machine
    release = threading.Event()
    workspace.emulator.sleep = lambda _seconds: release.wait(timeout=120)
    second = workspace.spawn("sync", "VIP", "--json")  # starts while the first one pushes
    try:
        second_output = second.communicate(timeout=180)
    finally:
        release.set()
        workspace.emulator.sleep = time.sleep
        workspace.emulator.faults.update({"latency": 0})
    outputs = [first.communicate(timeout=180), second_output]
    results = [json.loads(out)[0] for out, _err in outputs]
    assert [r["outcome"] for r in results] == ["ok", "skipped"], [e for _o, e in outputs]
    assert results[1]["api_calls"] == 0 and "being synced by" in results[1]["error"]
    assert workspace.tagged() == workspace.desired()
