"""One sync per (segment, destination) at a time, across processes and machines.

The lock is a row in ``syncer_locks`` (the state database: works the same on SQLite, PostgreSQL
and MariaDB): owner ``host:pid:token`` and an expiry. The holder's heartbeat thread pushes the
expiry forward every ``ttl / 3`` seconds; a crashed holder's lock expires after ``ttl`` and is
then taken over. A holder on this same host whose process is gone is taken over at once.
Expiry is judged with the clocks of the machines involved: keep them in sync (NTP), and keep
``ttl`` well above any clock skew.
"""

from __future__ import annotations

import os
import socket
import threading
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

from sqlalchemy import Engine, Table, delete, insert, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from syncer.state.models import Lock

LOCKS: Table = Lock.__table__  # type: ignore[attr-defined]


class Clock(Protocol):
    """What the lock needs of the engine's clock: the current time, timezone-aware UTC."""

    def now(self) -> datetime: ...


def make_owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def owner_label(owner: str) -> str:
    """``host:pid`` (the token is only there to tell apart two engines of one process)."""
    return owner.rsplit(":", 1)[0] if owner.count(":") >= 2 else owner


def _process_gone(owner: str) -> bool:
    host, _, rest = owner.partition(":")
    pid_text = rest.split(":", 1)[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def why_dead(owner: str, holder: str | None, expires_at: datetime | None, now: datetime) -> str:
    """Why a run opened by ``owner`` can no longer be running, given the target's lock row
    (``holder`` and ``expires_at``; None: no lock row); "" if its lock is still live."""
    if holder is None:
        return "its lock was released"
    if holder != owner:
        return f"its lock was taken over by {owner_label(holder)}"
    if expires_at is not None:
        expires = expires_at if expires_at.tzinfo else expires_at.replace(tzinfo=UTC)
        if expires <= now:
            return f"its lock expired at {expires:%Y-%m-%d %H:%M:%S} UTC"
    if _process_gone(owner):
        return f"process {owner_label(owner)} no longer runs"
    return ""


@dataclass(frozen=True)
class Holder:
    owner: str
    acquired_at: datetime
    expires_at: datetime


class TargetLock:
    """The lock of one target. ``acquire()`` returns None when taken, else the other holder."""

    def __init__(
        self, engine: Engine, target_id: int, owner: str, clock: Clock, *, ttl: float = 120.0
    ) -> None:
        self.engine = engine
        self.target_id = target_id
        self.owner = owner
        self.clock = clock
        self.ttl = timedelta(seconds=ttl)
        self.taken_over: Holder | None = None  # set when a stale lock was taken over
        self._lost = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def lost(self) -> bool:
        return self._lost.is_set()

    def acquire(self) -> Holder | None:
        for _ in range(3):
            now = self.clock.now()
            try:
                with self.engine.begin() as conn:
                    conn.execute(
                        insert(LOCKS).values(
                            target_id=self.target_id,
                            owner=self.owner,
                            acquired_at=now,
                            expires_at=now + self.ttl,
                        )
                    )
                return None
            except IntegrityError:
                pass
            with self.engine.begin() as conn:
                row = conn.execute(select(LOCKS).where(LOCKS.c.target_id == self.target_id)).first()
                if row is None:
                    continue  # released in between: try the insert again
                holder = Holder(row.owner, row.acquired_at, row.expires_at)
                alive = holder.expires_at > now and not _process_gone(holder.owner)
                if holder.owner != self.owner and alive:
                    return holder
                res = conn.execute(
                    update(LOCKS)
                    .where(
                        LOCKS.c.target_id == self.target_id,
                        LOCKS.c.owner == holder.owner,
                        LOCKS.c.expires_at == row.expires_at,
                    )
                    .values(owner=self.owner, acquired_at=now, expires_at=now + self.ttl)
                )
                if res.rowcount == 1:
                    self.taken_over = holder if holder.owner != self.owner else None
                    return None
        row_holder = self.holder()
        return row_holder or Holder("unknown", self.clock.now(), self.clock.now())

    def holder(self) -> Holder | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(LOCKS).where(LOCKS.c.target_id == self.target_id)).first()
        return None if row is None else Holder(row.owner, row.acquired_at, row.expires_at)

    def refresh(self) -> bool:
        """Push the expiry forward; False (and ``lost``) if another owner has the lock now."""
        now = self.clock.now()
        with self.engine.begin() as conn:
            res = conn.execute(
                update(LOCKS)
                .where(LOCKS.c.target_id == self.target_id, LOCKS.c.owner == self.owner)
                .values(expires_at=now + self.ttl)
            )
        if res.rowcount != 1:
            self._lost.set()
            return False
        return True

    def release(self) -> None:
        self.stop_heartbeat()
        with self.engine.begin() as conn:
            conn.execute(
                delete(LOCKS).where(
                    LOCKS.c.target_id == self.target_id, LOCKS.c.owner == self.owner
                )
            )

    # --- heartbeat ---------------------------------------------------------------------------
    def start_heartbeat(self) -> None:
        interval = max(self.ttl.total_seconds() / 3, 0.05)

        def beat() -> None:
            while not self._stop.wait(interval):
                try:
                    if not self.refresh():
                        return
                except SQLAlchemyError:
                    continue  # the database hiccuped; the next beat tries again

        self._thread = threading.Thread(target=beat, name="syncer-lock", daemon=True)
        self._thread.start()

    def stop_heartbeat(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
