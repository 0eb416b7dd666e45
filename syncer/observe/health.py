"""The worker's health: its scheduler loop is alive and its state database answers."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError

from syncer.db import mask_url
from syncer.schedule import SyncScheduler


def worker_health(scheduler: SyncScheduler, state: Engine) -> tuple[bool, dict[str, Any]]:
    """(healthy, ``{status, last_tick, jobs}``): ``status`` is ``ok`` or what is wrong."""
    tick = scheduler.last_tick
    body: dict[str, Any] = {
        "status": "ok",
        "last_tick": tick.isoformat(timespec="seconds") if tick else None,
        "jobs": sorted(scheduler.schedules),
    }
    if not scheduler.alive():
        body["status"] = "scheduler not running"
        return False, body
    problem = database_problem(state)
    if problem is not None:
        body["status"] = f"state database does not answer: {problem}"
        return False, body
    return True, body


def database_problem(engine: Engine) -> str | None:
    """None if ``engine``'s database answers ``SELECT 1``, else the first line of why (masked)."""
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except SQLAlchemyError as err:
        first = (str(getattr(err, "orig", None) or err).splitlines() or ["?"])[0]
        return mask_url(first)
    return None
