from __future__ import annotations

import subprocess
import sys

from sqlalchemy import Engine

from syncer.state.lock import TargetLock, owner_label
from syncer.state.migrate import upgrade
from syncer.state.store import StateStore
from tests.sync.fakes import FakeClock


def target(engine: Engine, clock: FakeClock) -> int:
    upgrade(engine)
    return StateStore(engine).target("VIP", "fake/L1/vip", clock.now())


def test_second_holder_is_refused_and_told_who_holds_it(engine: Engine) -> None:
    clock = FakeClock()
    tid = target(engine, clock)
    first = TargetLock(engine, tid, "hostA:11:aaaa", clock, ttl=60)
    second = TargetLock(engine, tid, "hostB:22:bbbb", clock, ttl=60)
    assert first.acquire() is None
    holder = second.acquire()
    assert holder is not None and owner_label(holder.owner) == "hostA:11"
    first.release()
    assert second.acquire() is None


def test_expired_lock_is_taken_over_and_the_old_holder_notices(engine: Engine) -> None:
    clock = FakeClock()
    tid = target(engine, clock)
    first = TargetLock(engine, tid, "hostA:11:aaaa", clock, ttl=60)
    second = TargetLock(engine, tid, "hostB:22:bbbb", clock, ttl=60)
    assert first.acquire() is None
    clock.advance(30)
    assert first.refresh()  # heartbeat: expiry now at +90s
    clock.advance(50)
    assert second.acquire() is not None  # still alive thanks to the heartbeat
    clock.advance(61)
    assert second.acquire() is None
    assert second.taken_over is not None and second.taken_over.owner == "hostA:11:aaaa"
    assert not first.refresh() and first.lost
    first.release()  # releasing a lock it no longer owns leaves the new holder alone
    assert second.holder() is not None and second.holder().owner == "hostB:22:bbbb"


def test_lock_of_a_dead_process_on_this_host_is_taken_at_once(engine: Engine) -> None:
    import socket

    clock = FakeClock()
    tid = target(engine, clock)
    proc = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    dead = f"{socket.gethostname()}:{proc.stdout.strip()}:dead"
    assert TargetLock(engine, tid, dead, clock, ttl=600).acquire() is None
    assert TargetLock(engine, tid, "x:1:mine", clock, ttl=600).acquire() is None
