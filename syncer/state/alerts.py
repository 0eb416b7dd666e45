"""What alerts were sent: one ``syncer_alerts`` row per (segment, destination, condition).

A condition (``failing``: the last run failed or was partial; ``stale``; ``rejections``: a run
refused more members than the threshold) is *active* from the first event until it is resolved
(a successful run, a run under the threshold). ``claim`` decides whether an event is alerted:
the first event of an active spell is, a later one only once ``repeat_after`` has passed since
the last alert; the others are counted as suppressed. The decision is one conditional UPDATE (or
INSERT) in the state database, so several workers sharing it send one alert, not one each, and
it survives restarts. ``release`` gives a claim back when no channel took the alert, so the next
event tries again; ``resolve`` ends the spell (a recovery) exactly once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Engine, Table, insert, select, update
from sqlalchemy.exc import IntegrityError

from syncer.state.models import AlertState

ALERTS: Table = AlertState.__table__  # type: ignore[attr-defined]

FAILING, STALE, REJECTIONS = "failing", "stale", "rejections"


@dataclass(frozen=True)
class Claim:
    """This process sends the alert: the ``sends``-th about the condition, active since
    ``since``, ``suppressed`` events not alerted since the previous one."""

    segment: str
    destination: str
    condition: str
    sends: int
    since: datetime
    suppressed: int


def claim(
    engine: Engine,
    segment: str,
    destination: str,
    condition: str,
    now: datetime,
    repeat_after: timedelta,
) -> Claim | None:
    """The condition happened at ``now``: a Claim if an alert is due (this caller sends it),
    None if one went out less than ``repeat_after`` ago (the event is counted as suppressed)."""
    key = _key(segment, destination, condition)
    for _ in range(3):
        with engine.connect() as conn:
            row = conn.execute(select(ALERTS).where(*key)).first()
        if row is None:
            try:
                with engine.begin() as conn:
                    conn.execute(
                        insert(ALERTS).values(
                            segment=segment, destination=destination, condition=condition,
                            active=True, since=now, last_sent_at=now, sends=1, suppressed=0,
                        )
                    )  # fmt: skip
            except IntegrityError:
                continue  # another worker inserted it first: decide again on its row
            return Claim(segment, destination, condition, 1, now, 0)
        last = _utc(row.last_sent_at)
        if row.active and last is not None and now - last < repeat_after:
            with engine.begin() as conn:
                conn.execute(update(ALERTS).where(*key).values(suppressed=ALERTS.c.suppressed + 1))
            return None
        since = (_utc(row.since) or now) if row.active else now
        with engine.begin() as conn:
            res = conn.execute(
                update(ALERTS)
                .where(*key, ALERTS.c.sends == row.sends)
                .values(
                    active=True, since=since, last_sent_at=now, sends=row.sends + 1, suppressed=0
                )
            )
        if res.rowcount == 1:
            suppressed = int(row.suppressed) if row.active else 0
            return Claim(segment, destination, condition, row.sends + 1, since, suppressed)
    return None


def release(engine: Engine, taken: Claim) -> None:
    """No channel took the alert of ``taken``: the next event of the condition sends again."""
    with engine.begin() as conn:
        conn.execute(
            update(ALERTS)
            .where(
                *_key(taken.segment, taken.destination, taken.condition),
                ALERTS.c.sends == taken.sends,
            )
            .values(last_sent_at=None)
        )


def resolve(engine: Engine, segment: str, destination: str, condition: str) -> datetime | None:
    """End the condition's active spell; since when it was active, or None if it was not (or
    another worker resolved it first)."""
    key = _key(segment, destination, condition)
    with engine.connect() as conn:
        row = conn.execute(select(ALERTS).where(*key, ALERTS.c.active.is_(True))).first()
    if row is None:
        return None
    with engine.begin() as conn:
        res = conn.execute(
            update(ALERTS)
            .where(*key, ALERTS.c.active.is_(True), ALERTS.c.sends == row.sends)
            .values(active=False, suppressed=0)
        )
    return _utc(row.since) if res.rowcount == 1 else None


def _key(segment: str, destination: str, condition: str) -> tuple[ColumnElement[Any], ...]:
    c = ALERTS.c
    return (c.segment == segment, c.destination == destination, c.condition == condition)


def _utc(value: datetime | None) -> datetime | None:
    """SQLite and MariaDB keep no time zone: their times are UTC."""
    return value if value is None or value.tzinfo else value.replace(tzinfo=UTC)
