"""What ``syncer runs`` shows: run history, per-member rejections, and each destination's
freshness (STALE when its last successful sync is older than twice its schedule interval); and
the audience each destination carried after each run (``syncer segments insights``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any

from apscheduler.triggers.cron import CronTrigger
from sqlalchemy import Engine, func, select

from syncer.state.runs import OK, RUNNING, RUNS, SKIPPED
from syncer.state.store import REJECTIONS, TARGETS

INTERVAL_SAMPLES = 12


def schedule_interval(cron: str, now: datetime) -> timedelta:
    """The longest gap between the next few fire times of ``cron`` (so a weekday-only schedule
    is not called stale over a weekend)."""
    trigger = CronTrigger.from_crontab(cron, timezone=UTC)
    fires: list[datetime] = []
    prev: datetime | None = None
    at = now
    for _ in range(INTERVAL_SAMPLES):
        nxt = trigger.get_next_fire_time(prev, at)
        if nxt is None:
            break
        fires.append(nxt)
        prev, at = nxt, nxt + timedelta(microseconds=1)
    gaps = [b - a for a, b in pairwise(fires)]
    return max(gaps) if gaps else timedelta(days=365)


def next_run(cron: str, now: datetime) -> datetime | None:
    """When ``cron`` (UTC) fires next after ``now`` (the worker's next run of it)."""
    fire: datetime | None = CronTrigger.from_crontab(cron, timezone=UTC).get_next_fire_time(
        None, now
    )
    return fire


def last_runs(engine: Engine) -> dict[tuple[str, str], dict[str, Any]]:
    """Each (segment, destination)'s latest run, as ``list_runs`` gives it (one query)."""
    latest = select(func.max(RUNS.c.id)).group_by(RUNS.c.target_id).scalar_subquery()
    q = select(RUNS).where(RUNS.c.id.in_(latest))
    with engine.connect() as conn:
        rows = conn.execute(q).mappings().all()
    return {(r["segment"], r["destination"]): dict(r) for r in rows}


def list_runs(
    engine: Engine, *, segment: str | None = None, limit: int = 20
) -> list[dict[str, Any]]:
    q = select(RUNS).order_by(RUNS.c.started_at.desc(), RUNS.c.id.desc()).limit(limit)
    if segment:
        q = q.where(RUNS.c.segment == segment)
    with engine.connect() as conn:
        rows = conn.execute(q).mappings().all()
    out = []
    for r in rows:
        item = dict(r)
        item.pop("target_id", None)
        started, finished = r["started_at"], r["finished_at"]
        item["seconds"] = round((finished - started).total_seconds(), 3) if finished else None
        out.append(item)
    return out


def list_rejections(
    engine: Engine, *, segment: str | None = None, limit: int = 100
) -> list[dict[str, Any]]:
    r, t = REJECTIONS.c, TARGETS.c
    q = (
        select(
            t.segment,
            t.destination,
            r.email,
            r.customer_id,
            r.kind,
            r.reason,
            r.retryable,
            r.first_seen,
            r.last_seen,
            r.count,
        )
        .join_from(REJECTIONS, TARGETS, r.target_id == t.id)
        .order_by(r.last_seen.desc(), r.id.desc())
        .limit(limit)
    )
    if segment:
        q = q.where(t.segment == segment)
    with engine.connect() as conn:
        return [dict(m) for m in conn.execute(q).mappings().all()]


@dataclass
class DestinationStatus:
    segment: str
    destination: str
    schedule: str | None
    last_run: datetime | None
    last_outcome: str | None
    last_success: datetime | None
    stale: bool
    reason: str = ""
    retry_not_before: datetime | None = None  # the last run's provider asked to wait until then

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def destination_status(
    engine: Engine,
    configured: Mapping[tuple[str, str], str | None],
    now: datetime,
    *,
    segment: str | None = None,
) -> list[DestinationStatus]:
    """One line per (segment, destination) known to the config (``configured``: key -> cron
    text or None) or to the state database. Scheduled ones whose last ``ok`` run is older than
    twice the schedule interval (or that never succeeded) are stale."""
    t = TARGETS.c
    last_ok = (
        select(RUNS.c.target_id, func.max(RUNS.c.started_at).label("at"))
        .where(RUNS.c.outcome == OK)
        .group_by(RUNS.c.target_id)
        .subquery()
    )
    last_any = (
        select(RUNS.c.target_id, func.max(RUNS.c.id).label("run_id"))
        .group_by(RUNS.c.target_id)
        .subquery()
    )
    q = (
        select(
            t.segment,
            t.destination,
            last_ok.c.at,
            RUNS.c.started_at,
            RUNS.c.outcome,
            RUNS.c.retry_not_before,
        )
        .select_from(TARGETS)
        .outerjoin(last_ok, last_ok.c.target_id == t.id)
        .outerjoin(last_any, last_any.c.target_id == t.id)
        .outerjoin(RUNS, RUNS.c.id == last_any.c.run_id)
    )
    with engine.connect() as conn:
        known = {(r.segment, r.destination): r for r in conn.execute(q).all()}
    out: list[DestinationStatus] = []
    for key in sorted(set(configured) | set(known)):
        if segment and key[0] != segment:
            continue
        row = known.get(key)
        cron = configured.get(key)
        success = row.at if row is not None else None
        status = DestinationStatus(
            key[0], key[1], cron,
            row.started_at if row is not None else None,
            row.outcome if row is not None else None,
            success, False,
        )  # fmt: skip
        until = row.retry_not_before if row is not None else None
        if until is not None:
            until = until if until.tzinfo else until.replace(tzinfo=UTC)
            status.retry_not_before = until if until > now else None
        if cron:
            interval = schedule_interval(cron, now)
            if success is None:
                status.stale, status.reason = True, "never synced successfully"
            elif now - success > 2 * interval:
                status.stale = True
                status.reason = (
                    f"last success {_ago(now - success)} ago; schedule every {_ago(interval)}"
                )
        out.append(status)
    return out


def _ago(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    if seconds >= 2 * 86400:
        return f"{seconds // 86400}d"
    if seconds >= 2 * 3600:
        return f"{seconds // 3600}h"
    if seconds >= 120:
        return f"{seconds // 60}m"
    return f"{seconds}s"


@dataclass(frozen=True)
class AudiencePoint:
    started_at: datetime
    outcome: str
    audience: int  # adds minus removes of this destination's runs, up to and with this one


def audience_history(
    engine: Engine, segment: str, *, until: datetime | None = None, limit: int = 30
) -> dict[str, list[AudiencePoint]]:
    """Per destination of ``segment``, oldest first: the audience after each of its last
    ``limit`` runs (started by ``until``). Skipped and unfinished runs change nothing and are
    left out; the running sum is the database's (one window query)."""
    r = RUNS.c
    total = func.sum(r.adds - r.removes).over(partition_by=r.target_id, order_by=r.id)
    q = (
        select(r.destination, r.started_at, r.outcome, total.label("audience"))
        .where(r.segment == segment, r.outcome.not_in((SKIPPED, RUNNING)))
        .order_by(r.destination, r.id)
    )
    if until is not None:
        q = q.where(r.started_at <= until)
    out: dict[str, list[AudiencePoint]] = {}
    with engine.connect() as conn:
        for row in conn.execute(q):
            started = (
                row.started_at if row.started_at.tzinfo else row.started_at.replace(tzinfo=UTC)
            )
            point = AudiencePoint(started, row.outcome, int(row.audience))
            out.setdefault(row.destination, []).append(point)
    return {dest: points[-limit:] for dest, points in out.items()}
