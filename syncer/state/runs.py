"""Run records: one ``syncer_runs`` row per sync, opened at start and closed with the outcome.

A run whose process died (SIGKILL, a crash, the machine lost) cannot close its row itself.
``close_interrupted`` marks every ``running`` run whose lock is seen to be dead (no lock row,
another owner's, expired, or held by a process of this host that no longer runs) as
``interrupted``; ``syncer runs``, each ``syncer sync`` and the worker call it, and the next run of
the same target (which holds the lock, so the old one is surely gone) closes its own.

A run the provider stopped with a ``Retry-After`` longer than a run waits records the time it
asked for (``retry_not_before``); ``retry_not_before`` reads it back from the target's latest
finished run, and the worker does not start that target before then.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, Table, insert, select, update

from syncer.state.lock import LOCKS, why_dead
from syncer.state.models import Run

RUNS: Table = Run.__table__  # type: ignore[attr-defined]

OK, PARTIAL, FAILED, SKIPPED, RUNNING, DRY_RUN, INTERRUPTED = (
    "ok",
    "partial",
    "failed",
    "skipped",
    "running",
    "dry-run",
    "interrupted",  # only in the database: a run whose process died before it finished
)
INTERRUPTED_ERROR = "interrupted: the process ended before the run finished"


@dataclass
class RunResult:
    """What one ``SyncEngine.sync`` did (for the CLI table, the scheduler's log, benchmarks)."""

    segment: str
    destination: str
    outcome: str = RUNNING  # ok | partial | failed | skipped | dry-run
    run_id: int | None = None  # None for dry runs (nothing is recorded)
    trigger: str = "cli"
    started_at: datetime | None = None
    finished_at: datetime | None = None
    adds: int = 0
    updates: int = 0
    removes: int = 0
    rejections: int = 0
    retries: int = 0
    api_calls: int = 0
    rate_limited: int = 0
    accepted: int = 0  # members an asynchronous provider has queued but not yet confirmed
    pending: int = 0  # outbox rows left for the next run
    error: str | None = None
    retry_not_before: datetime | None = None  # the provider asked not to be called before this
    left_out: int = 0  # members the destination's ``require`` kept out (a value missing)
    exported: int | None = None  # a csv destination: rows written (planned, in a dry run)
    file: str | None = None  # a csv destination: the file written
    # dry run: planned counts and a few addresses per kind; pending rows from earlier runs
    samples: dict[str, list[str]] = field(default_factory=dict)
    pending_before: int = 0
    # dry run with mapped fields: a few updates, each {email, old, new} (the field values that
    # differ: what the provider was last sent, what it would get now)
    changed: list[dict[str, Any]] = field(default_factory=list)

    @property
    def seconds(self) -> float:
        if self.started_at is None or self.finished_at is None:
            return 0.0
        return (self.finished_at - self.started_at).total_seconds()

    @property
    def failed(self) -> bool:
        return self.outcome in (FAILED, PARTIAL)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["seconds"] = round(self.seconds, 3)
        return data


def start_run(engine: Engine, result: RunResult, *, target_id: int, full: bool, owner: str) -> int:
    with engine.begin() as conn:
        # found by a plain read, then updated by id: an UPDATE by target would lock the index
        # range (InnoDB's gap locks), and runs of other targets starting at once would deadlock
        left = conn.execute(
            select(RUNS.c.id).where(RUNS.c.target_id == target_id, RUNS.c.outcome == RUNNING)
        ).scalars()
        ids = list(left)
        if ids:
            conn.execute(
                update(RUNS)
                .where(RUNS.c.id.in_(ids), RUNS.c.outcome == RUNNING)
                .values(
                    outcome=INTERRUPTED,
                    finished_at=result.started_at,
                    error=INTERRUPTED_ERROR,
                )
            )
        return _insert(conn, result, target_id, full, owner, outcome=RUNNING)


def close_interrupted(engine: Engine, now: datetime) -> int:
    """Mark every ``running`` run whose lock is dead ``interrupted`` (the reason in its error);
    returns how many. A run whose owner still holds a live lock is left alone."""
    locks = LOCKS.c
    q = (
        select(RUNS.c.id, RUNS.c.owner, locks.owner.label("holder"), locks.expires_at)
        .select_from(RUNS)
        .outerjoin(LOCKS, locks.target_id == RUNS.c.target_id)
        .where(RUNS.c.outcome == RUNNING)
    )
    closed = 0
    with engine.begin() as conn:
        for row in conn.execute(q).all():
            why = why_dead(row.owner, row.holder, row.expires_at, now)
            if not why:
                continue
            res = conn.execute(
                update(RUNS)
                .where(RUNS.c.id == row.id, RUNS.c.outcome == RUNNING)
                .values(outcome=INTERRUPTED, finished_at=now, error=f"{INTERRUPTED_ERROR} ({why})")
            )
            closed += res.rowcount
    return closed


def finish_run(engine: Engine, result: RunResult) -> None:
    assert result.run_id is not None
    with engine.begin() as conn:
        conn.execute(
            update(RUNS)
            .where(RUNS.c.id == result.run_id)
            .values(
                finished_at=result.finished_at,
                outcome=result.outcome,
                adds=result.adds,
                updates=result.updates,
                removes=result.removes,
                rejections=result.rejections,
                retries=result.retries,
                api_calls=result.api_calls,
                pending=result.pending,
                error=(result.error or None) and result.error[:1000],
                retry_not_before=result.retry_not_before,
                left_out=result.left_out,
                exported=result.exported,
                file=result.file and result.file[:1000],
            )
        )


def retry_not_before(engine: Engine, target_id: int) -> datetime | None:
    """When the provider asked the target's latest finished run (skipped ones aside) to come
    back; None if it did not (or that run is older than a run that did not need to wait)."""
    q = (
        select(RUNS.c.retry_not_before)
        .where(
            RUNS.c.target_id == target_id,
            RUNS.c.outcome.not_in((SKIPPED, RUNNING)),
        )
        .order_by(RUNS.c.id.desc())
        .limit(1)
    )
    with engine.connect() as conn:
        value: datetime | None = conn.execute(q).scalar()
    if value is not None and value.tzinfo is None:  # SQLite and MariaDB keep no zone: UTC
        value = value.replace(tzinfo=UTC)
    return value


def record_skipped(
    engine: Engine, result: RunResult, *, target_id: int, owner: str, full: bool
) -> int:
    """A run that did not start because another process holds the lock."""
    with engine.begin() as conn:
        return _insert(
            conn, result, target_id, full, owner,
            outcome=SKIPPED, finished_at=result.finished_at, error=result.error,
        )  # fmt: skip


def _insert(
    conn: Connection, result: RunResult, target_id: int, full: bool, owner: str, **values: Any
) -> int:
    """A new run row of ``result``'s target; returns its id."""
    res = conn.execute(
        insert(RUNS).values(
            target_id=target_id,
            segment=result.segment,
            destination=result.destination,
            trigger=result.trigger,
            full=full,
            owner=owner,
            started_at=result.started_at,
            **values,
        )
    )
    return int(res.inserted_primary_key[0])  # type: ignore[index]
